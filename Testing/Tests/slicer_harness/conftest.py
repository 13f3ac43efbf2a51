"""Fixtures and helpers shared by the Slicer-harness tests: the application and its scene, the module's panel as Slicer
makes it, maps loaded as Slicer loads them, the batch script, and real archives on loopback for the send scenarios.

The harness (Testing/Harness/slicer_app) gives PyQt5 PythonQt's idioms and stands in for CTK, the qMRML widgets,
ScriptedLoadableModule and parameterNodeWrapper over slicer-core's real MRML scene; slicer.dicomDatabase is CTK's
own ctkDICOMDatabase (ctk_dicom_core.py), closed as on a fresh Slicer profile until something creates it. Test modules get the fixtures from here and import the helpers with
``from slicer_harness.conftest import ...``.
"""

import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
import slicer_app
from archives import classic_only_fixture, orthanc_fixture
from conftest import GEOMETRIES, PACKAGE_ROOT, map_values, write_volume
from dicom_database_views import series_uids

MODULE_FILE = PACKAGE_ROOT / "FAExport.py"
BATCH_SCRIPT = PACKAGE_ROOT / "Resources" / "Scripts" / "FAExportBatch.py"
POSITION_TOLERANCE_MM = 1e-4
STOW_USER, STOW_PASSWORD = "faexport", "s3cret-Pa55word"  # guarded_orthanc's account


# --- the application and the panel


@pytest.fixture(scope="module")
def application():
    slicer = slicer_app.install()
    yield slicer
    slicer_app.uninstall()


@pytest.fixture
def slicer(application, tmp_path):
    """A fresh scene and a fresh Slicer profile per test: the DICOM module's database is not created yet (its folder
    is ``<tmp_path>/Documents/SlicerDICOMDatabase``). Fails the test on any exception raised in a Qt slot.
    """
    import qt

    application.mrmlScene = application.vtkMRMLScene()
    qt.QSettings().clear()
    slicer_app.initializeDICOMDatabase(tmp_path / "Documents")
    qt.SLOT_EXCEPTIONS.clear()
    yield application
    unexpected = list(qt.SLOT_EXCEPTIONS)
    qt.SLOT_EXCEPTIONS.clear()
    assert not unexpected, "an exception escaped a Qt slot (PythonQt prints it and the panel goes on half-updated):\n" + "\n".join(unexpected)


def used_dicom_database(slicer):
    """Slicer's DICOM database on a profile that has one (DICOM was imported before): its folder exists and the DICOM
    module opened it at start-up. The ``slicer`` fixture's profile is fresh (no database) otherwise.
    """
    import qt

    folder = Path(qt.QSettings().value(slicer.dicomDatabaseDirectorySettingsKey))
    folder.mkdir(parents=True, exist_ok=True)
    assert slicer.dicomDatabase.openDatabase(str(folder / "ctkDICOM.sql"))
    return slicer.dicomDatabase


class Panel:
    """The module's panel as the user sees it, made the way Slicer makes it (module -> widget representation -> enter)."""

    def __init__(self, slicer):
        self.module = slicer_app.loadModule(MODULE_FILE)
        self.representation = self.module.widgetRepresentation()
        self.representation.resize(440, 900)
        self.representation.show()
        self.representation.enter()
        self.widget = self.representation.self()
        self.ui = self.widget.ui
        self.FAExport = __import__("FAExport")

    @property
    def parameters(self):
        return self.widget._parameterNode

    def close(self):
        self.representation.exit()
        self.widget.cleanup()
        self.representation.close()
        self.representation.deleteLater()


@pytest.fixture
def panel(slicer):
    opened = Panel(slicer)
    yield opened
    opened.close()


def load_map(slicer, tmp_path: Path, geometry: str = "axial", kind: str = "fa", name: str | None = None):
    """Write a map to a NIfTI file and load it into the scene with Slicer's storage node, as File > Add data does."""
    values = map_values(kind, GEOMETRIES[geometry].shape)
    path = write_volume(tmp_path / f"{name or geometry}.nii.gz", values, GEOMETRIES[geometry].affine)
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name or geometry)
    storage = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    node.SetAndObserveStorageNodeID(storage.GetID())
    return node, values, GEOMETRIES[geometry].affine


def choose(combo, text_start: str) -> None:
    """Pick a combo box item by the start of its text, as a user would."""
    for index in range(combo.count):
        if combo.itemText(index).startswith(text_start):
            combo.currentIndex = index
            return
    raise AssertionError(f"no item starting with {text_start!r} in {[combo.itemText(i) for i in range(combo.count)]}")


def written_files(slicer) -> dict[str, list[str]]:
    """SOP class UID -> the files Slicer's DICOM database holds."""
    found: dict[str, list[str]] = {}
    for seriesUID in series_uids(slicer.dicomDatabase):
        files = sorted(slicer.dicomDatabase.filesForSeries(seriesUID))
        found.setdefault(pydicom.dcmread(files[0], stop_before_pixels=True).SOPClassUID, []).extend(files)
    return found


# --- the logic on slicer-core's scene, without the application


def load_case(tmp_path: Path, scene, geometry_name: str, file_format: str = "nii", values_kind: str = "fa"):
    """Write a test map to a file and load it with Slicer's storage node; return (node, truth values, truth affine)."""
    from FAExport import FAExportLogic

    geometry = GEOMETRIES[geometry_name]
    values = map_values(values_kind, geometry.shape)
    path = write_volume(tmp_path / f"{geometry_name}{'.nii.gz' if file_format == 'nii' else '.nrrd'}", values, geometry.affine)
    return FAExportLogic.readVolumeFile(path, scene), values, geometry.affine


def place_in_dicom_study(scene, volumeNode, patient: dict, study: dict, seriesUID: str) -> None:
    """Put the volume under patient and study items the way DICOMPlugin.addSeriesInSubjectHierarchy does."""
    from slicer import vtkMRMLSubjectHierarchyNode, vtkSlicerSubjectHierarchyModuleLogic

    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    seriesItem = shNode.CreateItem(shNode.GetSceneItemID(), volumeNode)
    shNode.SetItemUID(seriesItem, "DICOM", seriesUID)
    vtkSlicerSubjectHierarchyModuleLogic.InsertDicomSeriesInHierarchy(shNode, patient["DICOM.PatientID"], study["StudyInstanceUID"], seriesUID)
    patientItem = shNode.GetItemByUID("DICOM", patient["DICOM.PatientID"])
    studyItem = shNode.GetItemByUID("DICOM", study["StudyInstanceUID"])
    for name, value in patient.items():
        shNode.SetItemAttribute(patientItem, name, value)
    for name, value in study.items():
        if name != "StudyInstanceUID":
            shNode.SetItemAttribute(studyItem, name, value)
    assert shNode.GetItemParent(seriesItem) == studyItem and shNode.GetItemParent(studyItem) == patientItem


def only_entries(folder: Path) -> list[str]:
    """The names in ``folder`` (none when it does not exist)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def run_batch(*args: str) -> subprocess.CompletedProcess:
    """The batch script as Slicer runs it with --python-script, here under plain Python with slicer-core."""
    return subprocess.run([sys.executable, str(BATCH_SCRIPT), "--", *args], capture_output=True, text=True, check=False, timeout=300)


# --- real archives on loopback (Testing/Harness/archives.py; the tests using them are marked require_servers())


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    yield from orthanc_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def guarded_orthanc(tmp_path_factory):
    """Orthanc whose DICOMweb service asks for STOW_USER's password."""
    yield from orthanc_fixture(tmp_path_factory, "guarded", users={STOW_USER: STOW_PASSWORD})


@pytest.fixture(scope="module")
def classic_only(tmp_path_factory):
    """dcmtk storescp accepting only MR, CT and Secondary Capture storage (no Parametric Map)."""
    yield from classic_only_fixture(tmp_path_factory)
