"""The module panel, run as Slicer runs it: the unmodified FAExport.py and FAExport.ui under real Qt (offscreen).

The harness (Testing/Harness/slicer_app; the fixtures are in this folder's conftest.py) gives PyQt5 PythonQt's idioms
and stands in for CTK, the qMRML widgets, ScriptedLoadableModule and parameterNodeWrapper over slicer-core's real MRML
scene; slicer.dicomDatabase is CTK's own ctkDICOMDatabase (ctk_dicom_core.py). Each scenario drives the widgets as a
user would, reads what the panel shows, and reads the written files back with an independent reader (vtkITK/GDCM as
Slicer loads DICOM, dcm2niix, dcmqi's paramap2itkimage, pydicom).
"""

from pathlib import Path

from slicer_harness.conftest import POSITION_TOLERANCE_MM, choose, load_map

import numpy as np
import pytest
from conftest import PACKAGE_ROOT
from dicom_database_views import count_signal, displayed_series, series_uids
from readers import compare, dciodvfy_errors, read_dcm2niix, read_pydicom_multiframe, read_vtkitk
from test_pm_sc_values_and_geometry import read_dcmqi

SCREENSHOT = PACKAGE_ROOT.parent / "Docs" / "panel.png"


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
    updated = count_signal(slicer.dicomDatabase, "displayedFieldsUpdated()")
    panel.ui.exportButton.click()
    database = slicer.dicomDatabase
    assert series_uids(database), panel.ui.resultLabel.text
    shown = panel.ui.resultLabel.text
    assert panel.ui.showInBrowserButton.enabled
    expected_modes = {"MR images (": ["mr"], "Secondary Capture": ["sc"], "Parametric Map": ["pm"], "MR images + Parametric Map": ["mr", "pm"]}[mode_label]
    series_by_mode = {}
    for seriesUID in series_uids(database):
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
    # What the DICOM browser lists: every series with its patient, study and series columns filled (CTK's displayed
    # fields, which the logic's one updateDisplayedFields() call filled).
    displayed = displayed_series(database)
    assert set(displayed) == series_uids(database)
    for seriesUID, fields in displayed.items():
        assert fields["PatientsName"] and fields["SeriesDescription"].startswith("FA") and fields["Modality"], fields
        assert (fields["Count"], fields["NumberOfSeries"], fields["NumberOfStudies"]) == (len(database.filesForSeries(seriesUID)), len(expected_modes), 1)
    assert updated == [()]


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
    assert series_uids(slicer.dicomDatabase) == set()
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

    (seriesUID,) = series_uids(slicer.dicomDatabase)
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
    joined = [uid for uid in series_uids(slicer.dicomDatabase) if uid != seriesUID]
    dataset = pydicom.dcmread(slicer.dicomDatabase.filesForSeries(joined[0])[0], stop_before_pixels=True)
    assert (str(dataset.PatientName), dataset.PatientID, dataset.StudyInstanceUID) == ("Doe^Jane", "MRN-9", "1.2.826.0.1.3680043.8.498.71")


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
