"""``DICOMLib.DICOMUtils`` stand-in (Slicer v5.12.3 Modules/Scripted/DICOMLib/DICOMUtils.py), for FAExportTest.

- ``TemporaryDICOMDatabase()``: swaps ``slicer.dicomDatabase`` for an empty database in a temporary folder and
  restores it on exit (there: ``openTemporaryDatabase``/``closeTemporaryDatabase``); here the database is the
  CTK-modelled stand-in of Testing/Harness/slicer_standins.py.
- ``allSeriesUIDsInDatabase()``: every series UID, by patient and study.
- ``loadSeriesByUID([uid])``: loads a series as Slicer's plugins would and returns the new node IDs. Modelled,
  not Slicer's plugin machinery: a Parametric Map as DICOMParametricMapPlugin does (dcmqi ``paramap2itkimage`` to
  ``pmap.nrrd``, then Slicer's volume storage node), anything else as DICOMScalarVolumePlugin does (Slicer's
  vtkITK series reader with GDCM, through vtkMRMLVolumeArchetypeStorageNode, which applies the rescale).
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pydicom

import slicer

PARAMETRIC_MAP = "1.2.840.10008.5.1.4.1.1.30"


class TemporaryDICOMDatabase:
    def __init__(self, directory=None):
        self.directory = directory
        self.original = None
        self.folder = None

    def __enter__(self):
        from slicer_standins import ctkDICOMDatabase

        self.original = getattr(slicer, "dicomDatabase", None)
        self.folder = self.directory or tempfile.mkdtemp(prefix="TempDICOMDatabase-", dir=slicer.app.temporaryPath)
        slicer.dicomDatabase = ctkDICOMDatabase(self.folder)
        return slicer.dicomDatabase

    def __exit__(self, exceptionType, value, traceback):
        slicer.dicomDatabase = self.original
        if self.directory is None:
            shutil.rmtree(self.folder, ignore_errors=True)


def allSeriesUIDsInDatabase(database=None):
    database = database or slicer.dicomDatabase
    return [series for patient in database.patients() for study in database.studiesForPatient(patient) for series in database.seriesForStudy(study)]


def _readVolume(paths: list[str], name: str):
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    storage = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(paths[0])
    if len(paths) > 1:
        for path in paths:  # the file list holds the archetype too
            storage.AddFileName(path)
    storage.SetSingleFile(1 if len(paths) == 1 else 0)
    if not storage.ReadData(node):
        raise RuntimeError(f"could not load {paths[0]}")
    return node


def loadSeriesByUID(seriesUIDs, messages=None, progressCallback=None, enabledPluginClassNames=None):
    if not isinstance(seriesUIDs, list) or not seriesUIDs:
        raise ValueError("SeriesUIDs must contain a list")
    loaded = []
    for seriesUID in seriesUIDs:
        files = sorted(slicer.dicomDatabase.filesForSeries(seriesUID))
        header = pydicom.dcmread(files[0], stop_before_pixels=True)
        name = str(header.get("SeriesDescription", "") or seriesUID)
        if header.SOPClassUID == PARAMETRIC_MAP:
            work = Path(tempfile.mkdtemp(prefix="pmap-", dir=slicer.app.temporaryPath))
            tool = Path(sys.executable).parent / "paramap2itkimage"
            subprocess.run([str(tool) if tool.exists() else "paramap2itkimage", "--inputDICOM", files[0], "--outputDirectory", str(work)], check=True, capture_output=True)
            node = _readVolume([str(work / "pmap.nrrd")], name)
        else:
            positions = {path: float(pydicom.dcmread(path, stop_before_pixels=True).get("InstanceNumber", 0)) for path in files}
            node = _readVolume(sorted(files, key=positions.get), name)
        loaded.append(node.GetID())
    return loaded
