"""The module panel, run as Slicer runs it: the unmodified FAExport.py and FAExport.ui under real Qt (offscreen).

The harness (Testing/Harness/slicer_app) gives PyQt5 PythonQt's idioms and stands in for CTK, the qMRML widgets,
ScriptedLoadableModule and parameterNodeWrapper over slicer-core's real MRML scene; slicer.dicomDatabase is the
CTK-modelled stand-in of slicer_standins.py. Each scenario drives the widgets as a user would, reads what the panel
shows, and reads the written files back with an independent reader (vtkITK/GDCM as Slicer loads DICOM, dcm2niix,
dcmqi's paramap2itkimage, pydicom).
"""

import logging
from pathlib import Path

import numpy as np
import pytest
import slicer_app
from conftest import GEOMETRIES, PACKAGE_ROOT, map_values, write_volume
from readers import compare, dciodvfy_errors, read_dcm2niix, read_pydicom_multiframe, read_vtkitk
from slicer_standins import ctkDICOMDatabase
from test_pm_sc_values_and_geometry import read_dcmqi

MODULE_FILE = PACKAGE_ROOT / "FAExport.py"
POSITION_TOLERANCE_MM = 1e-4
SCREENSHOT = PACKAGE_ROOT.parent / "Docs" / "panel.png"


@pytest.fixture(scope="module")
def application():
    slicer = slicer_app.install()
    yield slicer
    slicer_app.uninstall()


@pytest.fixture
def slicer(application, tmp_path, monkeypatch):
    """A fresh scene and DICOM database per test; fails the test on any exception raised in a Qt slot."""
    import qt

    application.mrmlScene = application.vtkMRMLScene()
    monkeypatch.setattr(application, "dicomDatabase", ctkDICOMDatabase(tmp_path / "SlicerDICOMDatabase"), raising=False)
    qt.SLOT_EXCEPTIONS.clear()
    yield application
    unexpected = list(qt.SLOT_EXCEPTIONS)
    qt.SLOT_EXCEPTIONS.clear()
    assert not unexpected, "an exception escaped a Qt slot (PythonQt prints it and the panel goes on half-updated):\n" + "\n".join(unexpected)


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


def read_back(series, work: Path):
    """Values and geometry of one written series by a reader that is not FAExportLib."""
    if series.mode == "pm":
        return read_dcmqi(Path(series.files[0]), work)[0]
    if series.mode == "sc":
        return read_pydicom_multiframe(Path(series.files[0]))[0]
    return read_vtkitk(series.files)


# ---------------------------------------------------------------------------------------------------------------
# Scenarios


@pytest.mark.parametrize("mode_label", ["MR images (", "Secondary Capture", "Parametric Map", "MR images + Parametric Map"])
def test_every_mode_from_the_panel_into_the_database(slicer, panel, tmp_path, mode_label):
    node, values, affine = load_map(slicer, tmp_path, "oblique")
    assert panel.ui.inputVolumeSelector.currentNode() is node
    choose(panel.ui.exportModeComboBox, mode_label)
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    panel.ui.exportButton.click()
    database = slicer.dicomDatabase
    assert database.seriesUIDs(), panel.ui.resultLabel.text
    shown = panel.ui.resultLabel.text
    assert panel.ui.showInBrowserButton.enabled
    expected_modes = {"MR images (": ["mr"], "Secondary Capture": ["sc"], "Parametric Map": ["pm"], "MR images + Parametric Map": ["mr", "pm"]}[mode_label]
    series_by_mode = {}
    for seriesUID in database.seriesUIDs():
        files = sorted(database.filesForSeries(seriesUID))
        import pydicom

        modality = pydicom.dcmread(files[0], stop_before_pixels=True).SOPClassUID
        mode = {"1.2.840.10008.5.1.4.1.1.4": "mr", "1.2.840.10008.5.1.4.1.1.7.3": "sc", "1.2.840.10008.5.1.4.1.1.30": "pm"}[modality]
        series_by_mode[mode] = files
    assert sorted(series_by_mode) == sorted(expected_modes)
    for mode, files in series_by_mode.items():
        assert f'{mode.upper()} "' in shown and "in Slicer's DICOM database" in shown
        assert dciodvfy_errors(files[0]) == []
        series = type("S", (), {"mode": mode, "files": files})
        readBack = read_back(series, tmp_path / f"read-{mode}")
        comparison = compare(values, affine, readBack)
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
        assert comparison.max_value_error <= (0.0 if mode == "pm" else 1.0 / 32000 / 2 + 1e-7), (mode, shown)
    # What the DICOM browser lists: every series with its patient, study and series columns filled.
    displayed = database.displayedSeries()
    assert set(displayed) == database.seriesUIDs()
    assert all(fields["PatientsName"] and fields["StudyDescription"] is not None and fields["SeriesDescription"].startswith("FA") and fields["Modality"] for fields in displayed.values()), displayed
    assert database.databaseChangedCount >= 1


@pytest.mark.parametrize("mode_label", ["MR images (", "Secondary Capture", "Parametric Map", "MR images + Parametric Map"])
def test_every_mode_from_the_panel_into_a_folder_only(slicer, panel, tmp_path, mode_label):
    _, values, affine = load_map(slicer, tmp_path, "las")
    choose(panel.ui.exportModeComboBox, mode_label)
    panel.ui.addToDatabaseCheckBox.checked = False
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == "Choose where to export: the DICOM database, a folder, or both."
    panel.ui.writeToFolderCheckBox.checked = True
    assert panel.ui.disabledReasonLabel.text == "Choose the output folder."
    panel.ui.outputFolderPathLineEdit.currentPath = str(tmp_path / "out")
    assert panel.ui.exportButton.enabled
    panel.ui.exportButton.click()
    assert slicer.dicomDatabase.seriesUIDs() == set()
    folders = sorted((tmp_path / "out").iterdir())
    assert len(folders) == (2 if "+" in mode_label else 1)
    assert str(tmp_path / "out") in panel.ui.resultLabel.text
    assert not panel.ui.showInBrowserButton.enabled
    for folder in folders:
        files = sorted(str(p) for p in folder.iterdir())
        import pydicom

        sop = pydicom.dcmread(files[0], stop_before_pixels=True).SOPClassUID
        if sop == "1.2.840.10008.5.1.4.1.1.4":
            readBack = read_dcm2niix(folder, tmp_path / "dcm2niix")
            allowance = 1.0 / 32000 / 2 + float(np.spacing(np.float32(1.0)))
        else:
            mode = "pm" if sop == "1.2.840.10008.5.1.4.1.1.30" else "sc"
            readBack = read_back(type("S", (), {"mode": mode, "files": files}), tmp_path / f"read-{folder.name}")
            allowance = 0.0 if mode == "pm" else 1.0 / 32000 / 2 + 1e-7
        comparison = compare(values, affine, readBack)
        assert comparison.max_value_error <= allowance
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM


def test_scale_choice_and_custom_scale_show_their_error_and_reach_the_files(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", kind="signed")  # -3..5
    choose(panel.ui.scaleComboBox, "x1000")
    first, warning = panel.ui.previewLabel.text.splitlines()
    assert first == "Values -3 to 5 are stored as integers -3000 to 5000 (RescaleSlope 0.001); worst-case quantization error 0.0005."
    assert warning.startswith("Warning: 4617 voxels of the FA map lie outside 0 to 1, what FA means")  # the default quantity is FA
    choose(panel.ui.scaleComboBox, "x32000")
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text.startswith("Cannot export: the largest value 5 ")
    assert panel.ui.previewLabel.text == ""
    choose(panel.ui.scaleComboBox, "custom")
    assert panel.ui.customScaleSpinBox.enabled
    panel.ui.customScaleSpinBox.value = 250.0
    assert panel.parameters.customScale == 250.0
    assert panel.ui.previewLabel.text.splitlines()[0] == "Values -3 to 5 are stored as integers -750 to 1250 (RescaleSlope 0.004); worst-case quantization error 0.002."
    panel.ui.exportButton.click()
    (seriesUID,) = slicer.dicomDatabase.seriesUIDs()
    import pydicom

    dataset = pydicom.dcmread(slicer.dicomDatabase.filesForSeries(seriesUID)[0], stop_before_pixels=True)
    assert float(dataset.RescaleSlope) == 0.004
    assert "RescaleSlope 0.004" in panel.ui.resultLabel.text


def test_quantity_other_with_code_and_unit_reaches_the_parametric_map(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", kind="diffusivity")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert not panel.ui.quantityCodeLineEdit.enabled
    choose(panel.ui.quantityComboBox, "other")
    assert panel.ui.quantityCodeLineEdit.enabled and panel.ui.quantityUnitLineEdit.enabled
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text.startswith("Enter the quantity's code as VALUE,SCHEME,MEANING")
    panel.ui.quantityCodeLineEdit.text = "113209,DCM,Fractional Anisotropy Derived"
    panel.ui.quantityUnitLineEdit.text = "mm2/s,UCUM,mm2/s"
    assert panel.ui.exportButton.enabled
    panel.ui.exportButton.click()
    (seriesUID,) = slicer.dicomDatabase.seriesUIDs()
    _, meta = read_dcmqi(Path(slicer.dicomDatabase.filesForSeries(seriesUID)[0]), tmp_path / "dcmqi")
    assert meta["QuantityValueCode"]["CodeValue"] == "113209"
    assert meta["MeasurementUnitsCode"]["CodeValue"] == "mm2/s"


def test_quantity_is_prefilled_from_the_nodes_voxel_value_quantity(slicer, panel, tmp_path):
    node, _, _ = load_map(slicer, tmp_path, "axial", kind="diffusivity", name="md")
    quantity, units = slicer.vtkCodedEntry(), slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning("113202", "DCM", "Mean Diffusivity")
    units.SetValueSchemeMeaning("mm2/s", "UCUM", "mm2/s")
    node.SetVoxelValueQuantity(quantity)
    node.SetVoxelValueUnits(units)
    other, _, _ = load_map(slicer, tmp_path, "axial", kind="fa", name="custom")
    local = slicer.vtkCodedEntry()
    local.SetValueSchemeMeaning("99X1", "99LOCAL", "Local index")
    other.SetVoxelValueQuantity(local)
    panel.ui.inputVolumeSelector.setCurrentNode(other)
    assert panel.ui.quantityComboBox.currentText.startswith("other")
    assert panel.ui.quantityCodeLineEdit.text == "99X1,99LOCAL,Local index"
    panel.ui.inputVolumeSelector.setCurrentNode(node)
    assert panel.ui.quantityComboBox.currentText.startswith("MD (Mean Diffusivity)")
    assert panel.ui.quantityUnitLineEdit.text == "mm2/s"  # the UCUM code alone, as the field takes it


def test_patient_and_study_are_editable_for_a_new_study_and_read_only_when_joining_one(slicer, panel, tmp_path):
    node, _, _ = load_map(slicer, tmp_path, "axial")
    assert not panel.ui.patientNameLineEdit.readOnly
    assert panel.ui.studyLabel.text == "A new study is created with these fields."
    panel.ui.patientNameLineEdit.text = "Roe^Richard"
    panel.ui.patientIDLineEdit.text = "R-1"
    panel.ui.studyDescriptionLineEdit.text = "Research DTI"
    panel.ui.seriesDescriptionLineEdit.text = "FA (TBSS)"
    panel.ui.seriesNumberSpinBox.value = 1201
    panel.ui.exportButton.click()
    import pydicom

    (seriesUID,) = slicer.dicomDatabase.seriesUIDs()
    dataset = pydicom.dcmread(slicer.dicomDatabase.filesForSeries(seriesUID)[0], stop_before_pixels=True)
    assert (str(dataset.PatientName), dataset.PatientID, dataset.StudyDescription, dataset.SeriesDescription, int(dataset.SeriesNumber)) == (
        "Roe^Richard", "R-1", "Research DTI", "FA (TBSS)", 1201,
    )
    # The same map placed under a DICOM study (as Slicer's DICOM loader builds it): the fields show it, read-only.
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
    seriesItem = shNode.GetItemByDataNode(node) or shNode.CreateItem(shNode.GetSceneItemID(), node)
    shNode.SetItemUID(seriesItem, "DICOM", "1.2.826.0.1.3680043.8.498.72")
    slicer.vtkSlicerSubjectHierarchyModuleLogic.InsertDicomSeriesInHierarchy(shNode, "MRN-9", "1.2.826.0.1.3680043.8.498.71", "1.2.826.0.1.3680043.8.498.72")
    studyItem = shNode.GetItemByUID("DICOM", "1.2.826.0.1.3680043.8.498.71")
    shNode.SetItemAttribute(shNode.GetItemParent(studyItem), "DICOM.PatientName", "Doe^Jane")
    shNode.SetItemAttribute(studyItem, "DICOM.StudyDescription", "Brain DTI")
    panel.parameters.seriesDescription = "FA joined"  # any parameter change refreshes the panel
    assert panel.ui.patientNameLineEdit.readOnly and panel.ui.patientNameLineEdit.text == "Doe^Jane"
    assert panel.ui.patientIDLineEdit.text == "MRN-9"
    assert panel.ui.studyLabel.text == "Joins the existing study Brain DTI (patient and study come from it)."
    panel.ui.exportButton.click()
    joined = [uid for uid in slicer.dicomDatabase.seriesUIDs() if uid != seriesUID]
    dataset = pydicom.dcmread(slicer.dicomDatabase.filesForSeries(joined[0])[0], stop_before_pixels=True)
    assert (str(dataset.PatientName), dataset.PatientID, dataset.StudyInstanceUID) == ("Doe^Jane", "MRN-9", "1.2.826.0.1.3680043.8.498.71")


def test_cancel_through_the_progress_dialog_writes_nothing_and_says_so(slicer, panel, tmp_path, caplog):
    import qt

    load_map(slicer, tmp_path, "axial")
    panel.ui.resultLabel.text = "an earlier result"
    pressed = []

    def pressCancel():
        dialog = qt.QApplication.activeModalWidget()
        if dialog is None:  # QProgressDialog shows itself from a timer once minimumDuration (0) has passed
            qt.QTimer.singleShot(0, pressCancel)
            return
        pressed.append(dialog)
        dialog.cancel()

    qt.QTimer.singleShot(0, pressCancel)  # runs in the export's event processing, as a click during the export does
    with caplog.at_level(logging.ERROR):
        panel.ui.exportButton.click()
    assert isinstance(pressed[0], qt.QProgressDialog)
    assert panel.ui.resultLabel.text == "Export cancelled; nothing was written."
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], "a cancel is not an error"
    assert slicer.dicomDatabase.seriesUIDs() == set()
    assert slicer.dicomDatabase.insertCalls == []
    assert panel.ui.exportButton.enabled


def test_export_is_modal_and_cannot_be_started_twice(slicer, panel, tmp_path):
    import qt

    load_map(slicer, tmp_path, "axial")
    seen = {}

    def duringExport():
        dialog = qt.QApplication.activeModalWidget()
        if dialog is None:
            qt.QTimer.singleShot(0, duringExport)
            return
        seen["modal dialog"] = isinstance(dialog, qt.QProgressDialog) and dialog.windowModality == qt.Qt.ApplicationModal
        seen["export enabled"] = panel.ui.exportButton.enabled
        panel.ui.exportButton.click()  # a disabled button ignores the click
        panel.widget.onExportButton()  # and the slot itself refuses to run twice

    qt.QTimer.singleShot(0, duringExport)
    panel.ui.exportButton.click()
    assert seen == {"modal dialog": True, "export enabled": False}
    assert len(slicer.dicomDatabase.seriesUIDs()) == 1
    assert panel.ui.exportButton.enabled


def test_close_and_reopen_the_scene(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial")
    panel.ui.exportButton.click()
    assert panel.ui.resultLabel.text
    slicer.mrmlScene.Clear(0)
    assert panel.ui.resultLabel.text == ""
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == "Select the map to export."
    node, _, _ = load_map(slicer, tmp_path, "las")
    panel.widget.initializeParameterNode()  # what enter() does when the user comes back to the module
    assert panel.ui.inputVolumeSelector.currentNode() is node
    assert panel.ui.exportButton.enabled


def test_screenshot_after_an_mr_pm_export(slicer, panel, tmp_path):
    """Docs/panel.png: the panel as a user sees it after exporting MR images + a Parametric Map into the database."""
    import qt

    load_map(slicer, tmp_path, "oblique", name="FA")
    choose(panel.ui.exportModeComboBox, "MR images + Parametric Map")
    panel.ui.seriesDescriptionLineEdit.text = "FA map"
    panel.ui.exportButton.click()
    assert panel.ui.resultLabel.text.count("in Slicer's DICOM database") == 2
    panel.representation.resize(460, panel.representation.layout().totalHeightForWidth(460))
    qt.QApplication.processEvents()
    image = panel.representation.grab()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    written = tmp_path / "panel.png"
    assert image.save(str(written))
    assert image.width() >= 400 and image.height() >= 400
    if not SCREENSHOT.exists():
        written.replace(SCREENSHOT)  # the committed picture is regenerated by deleting it and running this test


def test_nan_voxels_block_the_export_until_the_user_accepts_zero(slicer, panel, tmp_path):
    values = map_values("fa", GEOMETRIES["axial"].shape)
    values[1, 2, 3], values[4, 5, 6] = np.nan, np.inf
    path = write_volume(tmp_path / "nan.nrrd", values, GEOMETRIES["axial"].affine)  # Slicer's NRRD reader keeps NaN
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "nan")
    storage = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    assert panel.ui.inputVolumeSelector.currentNode() is node
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == 'Cannot export: 2 voxels are NaN or infinite; fix the map, or tick "Replace NaN/infinite voxels with 0"'
    panel.ui.replaceNonFiniteCheckBox.checked = True
    assert panel.ui.exportButton.enabled
    assert panel.ui.previewLabel.text.startswith("Values 0 to 1 are stored as integers 0 to ")
    panel.ui.exportButton.click()
    (seriesUID,) = slicer.dicomDatabase.seriesUIDs()
    readBack = read_vtkitk(slicer.dicomDatabase.filesForSeries(seriesUID))
    expected = np.where(np.isfinite(values), values, 0.0)
    assert compare(expected, GEOMETRIES["axial"].affine, readBack).max_value_error <= 1.0 / 32000


def test_show_in_dicom_browser_selects_the_new_series(slicer, panel, tmp_path, monkeypatch):
    import types

    load_map(slicer, tmp_path, "axial")
    assert not panel.ui.showInBrowserButton.enabled
    for index in range(panel.ui.exportModeComboBox.count):
        if panel.ui.exportModeComboBox.itemText(index).startswith("MR images + Parametric Map"):
            panel.ui.exportModeComboBox.currentIndex = index
    panel.ui.exportButton.click()
    selections, selected = {}, []

    def table(name):
        return types.SimpleNamespace(setCurrentSelection=lambda uids: selections.__setitem__(name, list(uids)))

    tables = types.SimpleNamespace(patientsTable=lambda: table("patients"), studiesTable=lambda: table("studies"), seriesTable=lambda: table("series"), updateTableViews=lambda: None)

    def selectModule(name):  # what opening the DICOM module makes: its instance with a browser
        selected.append(name)
        slicer.modules.DICOMInstance = types.SimpleNamespace(browserWidget=types.SimpleNamespace(dicomBrowser=types.SimpleNamespace(dicomTableManager=lambda: tables)))

    monkeypatch.setattr(slicer.util, "selectModule", selectModule)
    try:
        panel.ui.showInBrowserButton.click()
    finally:
        vars(slicer.modules).pop("DICOMInstance", None)
    database = slicer.dicomDatabase
    (studyUID,) = {database.studyForSeries(uid) for uid in database.seriesUIDs()}
    assert selected == ["DICOM"]
    assert selections["patients"] == [database.patientForStudy(studyUID)]
    assert selections["studies"] == [studyUID]
    assert sorted(selections["series"]) == sorted(database.seriesUIDs()) and len(selections["series"]) == 2
