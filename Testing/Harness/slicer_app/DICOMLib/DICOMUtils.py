"""``DICOMLib.DICOMUtils`` stand-in (Slicer v5.12.3 Modules/Scripted/DICOMLib/DICOMUtils.py), for FAExportTest.

- ``TemporaryDICOMDatabase()``: as Slicer's (``openTemporaryDatabase``/``closeTemporaryDatabase``, lines 351-415):
  ``slicer.dicomDatabase`` (CTK's own ctkDICOMDatabase, Testing/Harness/ctk_dicom_core.py) is reopened on an emptied
  database in a folder under the temporary path, the settings name that folder meanwhile; on exit the database is
  emptied and closed, and the original folder reopened if it exists.
- ``allSeriesUIDsInDatabase()``: every series UID, by patient and study.
- ``loadSeriesByUID([uid])``: loads a series as Slicer's plugins would and returns the new node IDs. Modelled,
  not Slicer's plugin machinery: a Parametric Map as DICOMParametricMapPlugin does (dcmqi ``paramap2itkimage`` to
  ``pmap.nrrd``, then Slicer's volume storage node), anything else as DICOMScalarVolumePlugin does (Slicer's
  vtkITK series reader with GDCM, through vtkMRMLVolumeArchetypeStorageNode, which applies the rescale).
"""

import logging
import os
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
        self.originalDatabaseDir = None

    def __enter__(self):
        import qt

        folder = self.directory or tempfile.mkdtemp(prefix="TempDICOMDatabase-", dir=slicer.app.temporaryPath)
        os.makedirs(folder, exist_ok=True)
        settings = qt.QSettings()
        self.originalDatabaseDir = settings.value(slicer.dicomDatabaseDirectorySettingsKey)
        settings.setValue(slicer.dicomDatabaseDirectorySettingsKey, folder)
        slicer.dicomDatabase.openDatabase(folder + "/ctkDICOM.sql")
        if not slicer.dicomDatabase.isOpen:
            logging.error("Unable to open DICOM database " + folder)
        slicer.dicomDatabase.initializeDatabase()
        return slicer.dicomDatabase

    def __exit__(self, exceptionType, value, traceback):
        import qt

        if slicer.dicomDatabase.isOpen:
            slicer.dicomDatabase.initializeDatabase()
            slicer.dicomDatabase.closeDatabase()
        if self.originalDatabaseDir is None:
            return
        qt.QSettings().setValue(slicer.dicomDatabaseDirectorySettingsKey, self.originalDatabaseDir)
        if os.access(self.originalDatabaseDir, os.F_OK):
            slicer.dicomDatabase.openDatabase(self.originalDatabaseDir + "/ctkDICOM.sql")


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
