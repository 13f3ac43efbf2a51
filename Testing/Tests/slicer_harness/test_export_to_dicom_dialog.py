"""FAExport in Slicer's "Export to DICOM..." dialog: the plugins of DICOMFAExportPlugin.py on slicer-core's real MRML.

The subject hierarchy, volume nodes and storage nodes are Slicer's own (PyPI slicer-core); the dialog, the
exportable, DICOMLib's base class and Slicer's scalar volume exporter are the stand-ins of
dicom_export_standins.py, written from Slicer's source. Files are read back with dcm2niix, dcmqi and pydicom.
"""

import importlib
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

from FAExport import FAExportLogic
from slicer_harness.conftest import POSITION_TOLERANCE_MM, load_case, place_in_dicom_study

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, PACKAGE_ROOT, map_values, write_volume
from dicom_export_standins import ExportDialog, ScalarVolumeExporterModel, install
from readers import compare, read_dcm2niix
from slicer_standins import ctkDICOMDatabase
from test_pm_sc_values_and_geometry import read_dcmqi

import slicer
from FAExportLib import FAExportError
from slicer import vtkMRMLSubjectHierarchyNode

FAEXPORT_ROWS = ["MR (FAExport)", "MR + Parametric Map (FAExport)", "Parametric Map (FAExport)", "SC (FAExport)"]
PATIENT = {"DICOM.PatientName": "Doe^Jane", "DICOM.PatientID": "MRN-0042", "DICOM.PatientSex": "F", "DICOM.PatientBirthDate": "19700101"}
STUDY = {"StudyInstanceUID": "1.2.826.0.1.3680043.8.498.11", "DICOM.StudyInstanceUID": "1.2.826.0.1.3680043.8.498.11", "DICOM.StudyDescription": "Brain DTI", "DICOM.StudyDate": "20260102", "DICOM.StudyTime": "101500"}
MR_STORAGE, PM_STORAGE = "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.30"


@pytest.fixture
def scene(monkeypatch):
    scene = slicer.vtkMRMLScene()
    install(monkeypatch, scene)
    yield scene
    scene.Clear(True)


@pytest.fixture
def registration(scene):
    """Start-up: Slicer's scalar volume exporter is registered, then FAExport's hidden module registers its plugins."""
    import DICOMFAExportPlugin

    slicer.modules.dicomPlugins = {ScalarVolumeExporterModel.pluginKey: ScalarVolumeExporterModel}
    parent = types.SimpleNamespace()
    DICOMFAExportPlugin.DICOMFAExportPlugin(parent)
    return parent


@pytest.fixture
def database(tmp_path, monkeypatch):
    standIn = ctkDICOMDatabase(tmp_path / "SlicerDICOMDatabase")
    monkeypatch.setattr(slicer, "dicomDatabase", standIn, raising=False)
    return standIn


def item_of(scene, volumeNode) -> int:
    return vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene).GetItemByDataNode(volumeNode)


def map_in_study(tmp_path, scene, geometry="axial", values_kind="fa", series_uid="1.2.826.0.1.3680043.8.498.12"):
    """A float map loaded from NIfTI and placed under a DICOM patient and study, as after loading its source from DICOM.

    DICOMPlugin.addSeriesInSubjectHierarchy sets the study item's UID and its DICOM.StudyInstanceUID attribute.
    """
    volumeNode, values, affine = load_case(tmp_path, scene, geometry, values_kind=values_kind)
    place_in_dicom_study(scene, volumeNode, PATIENT, STUDY, seriesUID=series_uid)
    return volumeNode, values, affine


def volume_from_values(tmp_path, scene, name: str, values: np.ndarray, file_suffix=".nii.gz"):
    """A volume with the given voxels (i, j, k), loaded through Slicer's storage node, under a study."""
    geometry = GEOMETRIES["axial"]
    node = FAExportLogic.readVolumeFile(write_volume(tmp_path / f"{name}{file_suffix}", values, geometry.affine), scene)
    place_in_dicom_study(scene, node, PATIENT, STUDY, seriesUID=f"1.2.826.0.1.3680043.8.498.{abs(hash(name)) % 10**8}")
    return node


def export_row(scene, volumeNode, pluginClass: str, folder: Path, edits=()):
    """Select the volume, pick the row, apply tag edits (name, value, series?), export into a folder; return the dialog."""
    dialog = ExportDialog(scene)
    rows = {row.pluginClass: row for row in dialog.examine(item_of(scene, volumeNode))}
    assert dialog.select(rows[pluginClass]) == ""
    for tagName, value, isSeriesTag in edits:
        dialog.editTag(tagName, value, dialog.exportables[0] if isSeriesTag else None)
    dialog.export(folder)
    return dialog


def datasets_by_series(folder: Path) -> dict[str, list]:
    series: dict[str, list] = {}
    for path in sorted(folder.iterdir()):
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        series.setdefault(dataset.SeriesInstanceUID, []).append((path, dataset))
    return series


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# --- the list of exporters


def test_float_map_rows_rank_above_slicers_scalar_volume_exporter(tmp_path, scene, registration):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    rows = ExportDialog(scene).examine(item_of(scene, volumeNode))
    assert [row.pluginClass for row in rows] == [*FAEXPORT_ROWS, "DICOMScalarVolumePlugin"]
    assert [row.text for row in rows] == [
        "MR images, int16 + rescale (any PACS) (80%, 1 series) (MR (FAExport))",
        "MR images + Parametric Map (75%, 1 series) (MR + Parametric Map (FAExport))",
        "Parametric Map, exact float32 (70%, 1 series) (Parametric Map (FAExport))",
        "Secondary Capture, multi-frame + rescale (60%, 1 series) (SC (FAExport))",
        "Scalar Volume (50%, 1 series) (DICOMScalarVolumePlugin)",
    ]
    mr = rows[0].exportables[0]  # the preselected row
    assert mr.tooltip.splitlines()[1] == FAExportLogic().previewText(volumeNode, mode="mr", scale="auto")
    assert mr.tooltip.splitlines()[1].startswith("Values 0 to 1 are stored as integers 0 to 32767 (RescaleSlope ")
    seriesTags = ExportDialog(scene).seriesTags
    assert seriesTags(mr) == {"Quantity": "FA", "SeriesDescription": "FA map", "SeriesNumber": "1001", "FrameOfReferenceUID": "", "SeriesInstanceUID": "", "Scale": "auto"}
    assert seriesTags(rows[1].exportables[0]) == {"Quantity": "FA", "SeriesDescription": "FA map", "SeriesNumber": "1001", "FrameOfReferenceUID": "", "Scale": "auto"}
    assert seriesTags(rows[2].exportables[0]) == {"Quantity": "FA", "SeriesDescription": "FA map", "SeriesNumber": "1003", "FrameOfReferenceUID": "", "SeriesInstanceUID": ""}


@pytest.mark.parametrize(
    ("case", "dtype", "low", "high", "faexport_on_top"),
    [
        ("int16 CT", np.int16, -1024, 3071, False),
        ("uint8", np.uint8, 0, 255, False),
        ("float holding whole numbers in int16's range", np.float32, -1024, 3071, False),
        ("uint16 beyond int16", np.uint16, 0, 60000, True),
        ("int32 beyond int16", np.int32, -70000, 70000, True),
        ("double", np.float64, -0.5, 2.25, True),
    ],
)
def test_only_values_that_do_not_survive_int16_put_faexport_on_top(tmp_path, scene, registration, case, dtype, low, high, faexport_on_top):
    shape = GEOMETRIES["axial"].shape
    values = np.linspace(low, high, int(np.prod(shape))).reshape(shape)
    values = (values if np.issubdtype(dtype, np.floating) and case == "double" else np.round(values)).astype(dtype)
    node = volume_from_values(tmp_path, scene, "volume", values)
    rows = ExportDialog(scene).examine(item_of(scene, node))
    confidences = {row.pluginClass: row.confidence for row in rows}
    assert confidences["DICOMScalarVolumePlugin"] == 0.5
    assert set(confidences) == {*FAEXPORT_ROWS, "DICOMScalarVolumePlugin"}
    if faexport_on_top:
        assert [row.pluginClass for row in rows][:4] == FAEXPORT_ROWS
        assert min(confidences[name] for name in FAEXPORT_ROWS) > 0.5
    else:
        assert rows[0].pluginClass == "DICOMScalarVolumePlugin"
        assert max(confidences[name] for name in FAEXPORT_ROWS) < 0.5


def test_labelmaps_vectors_and_non_volumes_are_not_offered(tmp_path, scene, registration):
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")
    slicer.util.updateVolumeFromArray(labelmap, np.zeros((3, 4, 5), dtype=np.int16))
    vector = scene.AddNewNodeByClass("vtkMRMLVectorVolumeNode", "rgb")
    slicer.util.updateVolumeFromArray(vector, np.zeros((3, 4, 5, 3), dtype=np.uint8))
    model = scene.AddNewNodeByClass("vtkMRMLModelNode", "surface")
    items = {node.GetName(): shNode.CreateItem(shNode.GetSceneItemID(), node) for node in (labelmap, vector, model)}  # the application's SH plugins would
    dialog = ExportDialog(scene)
    # Slicer's exporter offers both (they derive from the scalar volume node); FAExport refuses labels and vectors as maps.
    assert [row.pluginClass for row in dialog.examine(items["labels"])] == ["DICOMScalarVolumePlugin"]
    assert [row.pluginClass for row in dialog.examine(items["rgb"])] == ["DICOMScalarVolumePlugin"]
    assert dialog.examine(items["surface"]) == []


def two_maps_in_one_study(tmp_path, scene):
    """Two maps (axial, LAS) under one DICOM study item: (first node, second node, study item)."""
    first, _, _ = map_in_study(tmp_path, scene)
    (tmp_path / "second").mkdir()
    second, _, _ = load_case(tmp_path / "second", scene, "las")
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    studyItem = shNode.GetItemParent(item_of(scene, first))
    shNode.CreateItem(studyItem, second)
    return first, second, studyItem


def test_a_selected_study_offers_each_map_as_one_series_of_the_row(tmp_path, scene, registration):
    first, second, studyItem = two_maps_in_one_study(tmp_path, scene)
    rows = ExportDialog(scene).examine(studyItem)
    assert rows[0].text == "MR images, int16 + rescale (any PACS) (80%, 2 series) (MR (FAExport))"
    assert sorted(e.subjectHierarchyItemID for e in rows[0].exportables) == sorted([item_of(scene, first), item_of(scene, second)])


def test_a_rows_series_come_in_reverse_order_of_the_studys_children(tmp_path, scene, registration):
    """qSlicerDICOMExportDialog groups exportables in a QMultiMap, whose values(key) list the newest first."""
    first, second, studyItem = two_maps_in_one_study(tmp_path, scene)
    for row in ExportDialog(scene).examine(studyItem):
        assert [e.subjectHierarchyItemID for e in row.exportables] == [item_of(scene, second), item_of(scene, first)], row.pluginClass


# --- tags


def test_an_exportables_tags_are_a_copy_as_through_pythonqt(scene):
    exportable = slicer.qSlicerDICOMExportable()
    exportable.setTag("SeriesNumber", "7")
    exportable.tags["SeriesNumber"] = "8"
    assert exportable.tag("SeriesNumber") == "7"
    assert exportable.tag("Absent") == ""  # a null QString; the map now holds it, as QMap::operator[] inserts
    assert exportable.tags == {"SeriesNumber": "7", "Absent": ""}


def test_an_exportables_properties_convert_as_pythonqt_writes_them(scene):
    exportable = slicer.qSlicerDICOMExportable()
    assert (exportable.name, exportable.confidence, exportable.subjectHierarchyItemID, exportable.directory) == ("Unknown exporter", 0.0, 0, "")
    exportable.name, exportable.confidence, exportable.subjectHierarchyItemID = 5, 1, np.int64(12)
    assert (exportable.name, exportable.confidence, exportable.subjectHierarchyItemID) == ("5", 1.0, 12)
    exportable.setTag("SeriesNumber", 1001)
    assert exportable.tag("SeriesNumber") == "1001"
    with pytest.raises(AttributeError, match="Property 'confidence' of type 'double' does not accept an object of type str"):
        exportable.confidence = "0.8"
    with pytest.raises(AttributeError, match="Property 'subjectHierarchyItemID' of type 'vtkIdType'"):
        exportable.subjectHierarchyItemID = None


def test_maps_of_one_study_exported_together_share_a_new_study_when_it_has_none(tmp_path, scene, registration):
    """A study made by hand (no UID, as the dialog's "create study" makes it): one new study, not one per series."""
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    studyItem = shNode.CreateStudyItem(shNode.CreateSubjectItem(shNode.GetSceneItemID(), "Subject"), "Study")
    for name in ("axial", "las"):
        (tmp_path / name).mkdir()
        node, _, _ = load_case(tmp_path / name, scene, name)
        shNode.CreateItem(studyItem, node)
    dialog = ExportDialog(scene)
    (row,) = [row for row in dialog.examine(studyItem) if row.pluginClass == "Parametric Map (FAExport)"]
    assert dialog.select(row) == ""
    dialog.editTag("PatientName", "Roe^Richard")
    assert dialog.export(tmp_path / "out"), dialog.errorLabel
    datasets = [dataset for series in datasets_by_series(tmp_path / "out").values() for _, dataset in series]
    assert len(datasets) == 2
    assert len({(ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime, ds.PatientID, str(ds.PatientName)) for ds in datasets}) == 1
    assert str(datasets[0].PatientName) == "Roe^Richard"
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 2


def test_edited_tags_win_over_the_subject_hierarchy_and_stay_in_the_dialog(tmp_path, scene, registration):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    edits = [
        ("PatientName", "Edited^Name", False),
        ("StudyDescription", "Edited study", False),
        ("SeriesDescription", "FA edited", True),
        ("SeriesNumber", "77", True),
    ]
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out", edits)
    assert dialog.errorLabel == ""
    ((_, datasets),) = datasets_by_series(tmp_path / "out").items()
    dataset = datasets[0][1]
    assert (str(dataset.PatientName), dataset.StudyDescription, dataset.SeriesDescription, dataset.SeriesNumber) == ("Edited^Name", "Edited study", "FA edited", 77)
    # Unedited: from the subject hierarchy (the study UID is the study item's UID, not one of its attributes).
    assert (dataset.PatientID, dataset.PatientSex, dataset.PatientBirthDate) == ("MRN-0042", "F", "19700101")
    assert (dataset.StudyInstanceUID, dataset.StudyDate, dataset.StudyTime) == (STUDY["StudyInstanceUID"], "20260102", "101500")
    # "Save tags" unchecked: the scene keeps its values.
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    assert shNode.GetItemAttribute(dialog.patientItemID, "DICOM.PatientName") == "Doe^Jane"
    assert shNode.GetItemAttribute(dialog.studyItemID, "DICOM.StudyDescription") == "Brain DTI"


def test_a_tag_emptied_in_the_dialog_is_written_empty_not_refilled_from_the_subject_hierarchy(tmp_path, scene, registration):
    """What the table shows is what is written: emptying identifying tags (to share a map) must not bring them back."""
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    edits = [("PatientName", "", False), ("PatientID", "", False), ("PatientBirthDate", "", False), ("PatientSex", "", False), ("StudyDescription", "", False), ("StudyDate", "", False)]
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out", edits)
    assert dialog.errorLabel == ""
    ((_, datasets),) = datasets_by_series(tmp_path / "out").items()
    dataset = datasets[0][1]
    assert (str(dataset.PatientName), dataset.PatientBirthDate, dataset.PatientSex, dataset.get("StudyDescription", "")) == ("Anonymous^", "", "", "")
    assert dataset.PatientID.startswith("FAX") and dataset.StudyDate != "20260102"
    assert dataset.StudyInstanceUID == STUDY["StudyInstanceUID"]  # not emptied: still the study the map sits in


def test_after_the_dialogs_no_patient_error_export_still_runs_and_writes_an_anonymous_new_study(tmp_path, scene, registration):
    """A map at the top of the hierarchy, selected in the dialog's own tree: "No patient found", the Export button still works."""
    volumeNode = FAExportLogic.readVolumeFile(write_volume(tmp_path / "top.nii.gz", map_values("fa", GEOMETRIES["axial"].shape), GEOMETRIES["axial"].affine), scene)
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    shNode.CreateItem(shNode.GetSceneItemID(), volumeNode)
    dialog = ExportDialog(scene)
    rows = {row.pluginClass: row for row in dialog.examine(item_of(scene, volumeNode))}
    assert dialog.select(rows["MR (FAExport)"]) == "No patient found"
    assert dialog.export(tmp_path / "out"), dialog.errorLabel
    ((_, datasets),) = datasets_by_series(tmp_path / "out").items()
    assert (str(datasets[0][1].PatientName), datasets[0][1].PatientID[:3]) == ("Anonymous^", "FAX")


def test_an_emptied_study_uid_that_the_table_showed_makes_a_new_study(tmp_path, scene, registration):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "kept")
    export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "new", [("StudyInstanceUID", "", False)])
    ((_, kept),) = datasets_by_series(tmp_path / "kept").items()
    ((_, new),) = datasets_by_series(tmp_path / "new").items()
    assert kept[0][1].StudyInstanceUID == STUDY["StudyInstanceUID"]
    assert new[0][1].StudyInstanceUID != STUDY["StudyInstanceUID"]
    assert str(new[0][1].PatientName) == "Doe^Jane"


def test_a_study_known_only_by_its_item_uid_shows_an_empty_study_uid_and_gets_a_new_one(tmp_path, scene, registration):
    """A script's hierarchy (InsertDicomSeriesInHierarchy, no DICOM.* attributes): the table shows no StudyInstanceUID, as for Slicer's exporter."""
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    shNode.RemoveItemAttribute(shNode.GetItemParent(item_of(scene, volumeNode)), "DICOM.StudyInstanceUID")
    dialog = export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "out")
    assert dialog.exportables[0].tag("StudyInstanceUID") == ""
    ((_, datasets),) = datasets_by_series(tmp_path / "out").items()
    assert datasets[0][1].StudyInstanceUID != STUDY["StudyInstanceUID"]
    assert (str(datasets[0][1].PatientName), datasets[0][1].StudyDescription) == ("Doe^Jane", "Brain DTI")


def test_exported_without_the_dialogs_tag_editor_the_volume_joins_its_study(tmp_path, scene, registration):
    """A script may examine and export directly: the exportable then carries the patient and study of the subject hierarchy."""
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    plugin = slicer.modules.dicomPlugins["MR (FAExport)"]()
    (exportable,) = plugin.examineForExport(item_of(scene, volumeNode))
    assert {name: exportable.tag(name) for name in ("PatientName", "PatientID", "StudyDescription", "StudyDate")} == {
        "PatientName": "Doe^Jane",
        "PatientID": "MRN-0042",
        "StudyDescription": "Brain DTI",
        "StudyDate": "20260102",
    }
    exportable.directory = str(tmp_path / "out")
    assert plugin.export([exportable]) == ""
    ((_, datasets),) = datasets_by_series(tmp_path / "out").items()
    dataset = datasets[0][1]
    assert (str(dataset.PatientName), dataset.PatientID, dataset.StudyInstanceUID, dataset.StudyDescription) == ("Doe^Jane", "MRN-0042", STUDY["StudyInstanceUID"], "Brain DTI")


def test_saved_series_tags_are_the_next_exports_defaults(tmp_path, scene, registration):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    dialog = ExportDialog(scene)
    dialog.saveTags = True
    rows = {row.pluginClass: row for row in dialog.examine(item_of(scene, volumeNode))}
    dialog.select(rows["Parametric Map (FAExport)"])
    dialog.editTag("SeriesDescription", "FA saved", dialog.exportables[0])
    assert dialog.export(tmp_path / "first")
    again = ExportDialog(scene)
    rows = {row.pluginClass: row for row in again.examine(item_of(scene, volumeNode))}
    again.select(rows["MR (FAExport)"])
    assert again.seriesTags(again.exportables[0])["SeriesDescription"] == "FA saved"
    assert again.export(tmp_path / "second")
    ((_, datasets),) = datasets_by_series(tmp_path / "second").items()
    assert datasets[0][1].SeriesDescription == "FA saved"


def test_quantity_and_scale_tags_choose_what_is_written(tmp_path, scene, registration):
    volumeNode, _, _ = map_in_study(tmp_path, scene, values_kind="diffusivity")
    quantity, units = slicer.vtkCodedEntry(), slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning("113202", "DCM", "Mean Diffusivity")
    units.SetValueSchemeMeaning("mm2/s", "UCUM", "mm2/s")
    volumeNode.SetVoxelValueQuantity(quantity)
    volumeNode.SetVoxelValueUnits(units)
    dialog = ExportDialog(scene)
    rows = {row.pluginClass: row for row in dialog.examine(item_of(scene, volumeNode))}
    assert {name: rows["MR + Parametric Map (FAExport)"].exportables[0].tags[name] for name in ("Quantity", "SeriesDescription")} == {"Quantity": "MD", "SeriesDescription": "MD map (mm2/s)"}
    dialog.select(rows["MR + Parametric Map (FAExport)"])
    dialog.editTag("Quantity", "ADC", dialog.exportables[0])
    dialog.editTag("Scale", "100000", dialog.exportables[0])
    assert dialog.export(tmp_path / "out"), dialog.errorLabel
    written = {datasets[0][1].SOPClassUID: datasets for datasets in datasets_by_series(tmp_path / "out").values()}
    mr = written[MR_STORAGE][0][1]
    assert (mr.SeriesDescription, float(mr.RescaleSlope)) == ("ADC map (mm2/s)", 1e-05)
    pm = pydicom.dcmread(written[PM_STORAGE][0][0], stop_before_pixels=True)
    assert pm.SeriesDescription == "ADC map (mm2/s) (Parametric Map)"
    mapping = pm.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    assert mapping.QuantityDefinitionSequence[0].ConceptCodeSequence[0].CodeValue == "113041"  # ADC


# --- files


def test_mr_and_pm_land_flat_in_the_folder_and_read_back_within_bound(tmp_path, scene, registration):
    volumeNode, values, affine = map_in_study(tmp_path, scene, geometry="oblique")
    dialog = export_row(scene, volumeNode, "MR + Parametric Map (FAExport)", tmp_path / "out")
    assert dialog.errorLabel == ""
    entries = list((tmp_path / "out").iterdir())
    assert entries and all(path.is_file() and not path.name.startswith(".") for path in entries), "only files, flat"
    written = {datasets[0][1].SOPClassUID: datasets for datasets in datasets_by_series(tmp_path / "out").values()}
    assert set(written) == {MR_STORAGE, PM_STORAGE}
    mrFiles = [path for path, _ in written[MR_STORAGE]]
    assert len(mrFiles) == values.shape[2] and len(written[PM_STORAGE]) == 1
    assert {dataset.StudyInstanceUID for datasets in written.values() for _, dataset in datasets} == {STUDY["StudyInstanceUID"]}
    # MR: within half a rescale step (plus dcm2niix's float32 slope); PM: exact through dcmqi, Slicer's loader.
    seriesOnly = tmp_path / "mr-only"
    seriesOnly.mkdir()
    for path in mrFiles:
        shutil.copy(path, seriesOnly)
    bound = float(written[MR_STORAGE][0][1].RescaleSlope) / 2
    mrRead = compare(values, affine, read_dcm2niix(seriesOnly, tmp_path / "dcm2niix"))
    assert mrRead.max_value_error <= bound + float(np.spacing(np.float32(1.0)))
    assert mrRead.max_position_error_mm <= POSITION_TOLERANCE_MM
    pmReadBack, meta = read_dcmqi(written[PM_STORAGE][0][0], tmp_path / "dcmqi")
    pmRead = compare(values, affine, pmReadBack)
    assert pmRead.max_value_error == 0.0
    assert pmRead.max_position_error_mm <= POSITION_TOLERANCE_MM
    assert meta["QuantityValueCode"]["CodeValue"] == "110808"  # Fractional Anisotropy


def test_export_to_the_database_indexes_every_file_and_leaves_no_temporary_folder(tmp_path, scene, registration, database):
    volumeNode, values, _ = map_in_study(tmp_path, scene)
    dialog = ExportDialog(scene, database)
    rows = {row.pluginClass: row for row in dialog.examine(item_of(scene, volumeNode))}
    dialog.select(rows["MR + Parametric Map (FAExport)"])
    assert dialog.export(None, temporaryPath=tmp_path / "SlicerTemp"), dialog.errorLabel
    assert leftovers(tmp_path / "SlicerTemp") == [], "the dialog removes only top-level files: nothing else may be there"
    assert len(database.seriesUIDs()) == 2
    assert sorted(len(database.filesForSeries(uid)) for uid in database.seriesUIDs()) == [1, values.shape[2]]


def test_the_dialog_deletes_only_visible_top_level_files_of_its_temporary_folder(tmp_path, scene, database):
    """Why FAExport writes flat, visible files: hidden files and sub-folders stay behind, and so does the folder."""

    class WritesEverywhere(ScalarVolumeExporterModel):
        pluginKey = "WritesEverywhere"

        def export(self, exportables) -> str:
            folder = Path(exportables[0].directory)
            (folder / "sub").mkdir()
            for path in (folder / "visible", folder / ".hidden", folder / "sub" / "nested"):
                path.write_text("not DICOM")
            return ""

    slicer.modules.dicomPlugins = {"WritesEverywhere": WritesEverywhere}
    volumeNode = volume_from_values(tmp_path, scene, "volume", np.zeros((4, 5, 6), dtype=np.int16))
    dialog = ExportDialog(scene, database)
    (row,) = dialog.examine(item_of(scene, volumeNode))
    assert dialog.select(row) == ""
    assert dialog.export(None, temporaryPath=tmp_path / "SlicerTemp"), dialog.errorLabel
    (temporary,) = (tmp_path / "SlicerTemp").iterdir()
    assert leftovers(temporary) == [".hidden", "sub"]
    assert database.seriesUIDs() == set()


# --- errors come back as the message, with nothing left behind


def test_a_failing_series_returns_its_message_and_removes_the_series_already_written(tmp_path, scene, registration):
    good, _, _ = map_in_study(tmp_path, scene)
    broken = map_values("fa", GEOMETRIES["axial"].shape)
    broken[1, 2, 3] = np.nan
    (tmp_path / "b").mkdir()
    bad = FAExportLogic.readVolumeFile(write_volume(tmp_path / "b" / "broken.nrrd", broken, GEOMETRIES["axial"].affine), scene)  # NRRD keeps NaN
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    studyItem = shNode.GetItemParent(item_of(scene, good))
    shNode.CreateItem(studyItem, bad)
    shNode.SetItemParent(item_of(scene, good), shNode.GetSceneItemID())
    shNode.SetItemParent(item_of(scene, good), studyItem)  # now the last child: the dialog's row lists it first
    dialog = ExportDialog(scene)
    (row,) = [row for row in dialog.examine(studyItem) if row.pluginClass == "MR (FAExport)"]
    assert [e.subjectHierarchyItemID for e in row.exportables] == [item_of(scene, good), item_of(scene, bad)]
    assert row.exportables[1].tooltip.splitlines()[1].startswith("Cannot export: 1 voxel is NaN or infinite (at IJK 1,2,3)")
    dialog.select(row)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "earlier.dcm").write_bytes(b"not ours")
    assert not dialog.export(tmp_path / "out")
    assert dialog.errorLabel == (
        "Series 'broken': 1 voxel is NaN or infinite (at IJK 1,2,3); fix the map, or replace them explicitly with a value "
        "(replaceNonFinite=VALUE); the dialog has no tag for replaceNonFinite: give it to FAExportLogic().exportVolume in the Python console"
    )
    assert leftovers(tmp_path / "out") == ["earlier.dcm"]


@pytest.mark.parametrize(
    ("tag", "value", "message"),
    [
        ("StudyDate", "2026-01-02", "Series 'axial': StudyDate must be a date written YYYYMMDD (e.g. 20240131), not '2026-01-02'"),
        ("PatientSex", "female", "Series 'axial': PatientSex must be M, F, O or empty, not 'female'"),
        ("SeriesNumber", "twelve", "Series 'axial': SeriesNumber must be a whole number, not 'twelve'"),
        ("Scale", "fine", "Series 'axial': the Scale tag must be auto, 1000, 32000 or a number, not 'fine'"),
        ("Scale", "1000000", "Series 'axial': {scale_error}"),
        ("Quantity", "F/A", "Series 'axial': {quantity_error}"),
        ("SeriesInstanceUID", "1.2.03", "Series 'axial': SeriesInstanceUID '1.2.03' is not a valid DICOM UID (digits and dots, no leading zeros, at most 64 characters); leave it out to generate one"),
    ],
)
def test_a_bad_tag_is_named_in_the_message_and_nothing_is_written(tmp_path, scene, registration, tag, value, message):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    # The encoder's own refusals, as the console gives them.
    message = message.format(
        scale_error=error_of(lambda: FAExportLogic().previewText(volumeNode, mode="mr", scale=1000000.0)),
        quantity_error=error_of(lambda: FAExportLogic().exportVolume(volumeNode, quantity="F/A", outputFolder=tmp_path / "console", addToDatabase=False)),
    )
    isSeriesTag = not tag.startswith(("Study", "Patient"))
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out", [(tag, value, isSeriesTag)])
    assert dialog.errorLabel == message
    assert leftovers(tmp_path / "out") == []


def error_of(call) -> str:
    with pytest.raises(FAExportError) as raised:
        call()
    return str(raised.value)


def test_a_series_uid_already_in_the_database_is_refused(tmp_path, scene, registration, database):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    first = FAExportLogic().exportVolume(volumeNode, mode="pm").series[0]
    dialog = export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "out", [("SeriesInstanceUID", first.series_instance_uid, True)])
    assert dialog.errorLabel == (
        f"Series 'axial': a series with SeriesInstanceUID {first.series_instance_uid} is already in Slicer's DICOM database; "
        "clear the SeriesInstanceUID tag to generate a new one"
    )
    assert leftovers(tmp_path / "out") == []


def test_two_series_of_one_export_may_not_share_a_typed_series_uid(tmp_path, scene, registration):
    _, _, studyItem = two_maps_in_one_study(tmp_path, scene)
    dialog = ExportDialog(scene)
    (row,) = [row for row in dialog.examine(studyItem) if row.pluginClass == "MR (FAExport)"]
    assert dialog.select(row) == ""
    for index, exportable in enumerate(dialog.exportables):
        dialog.editTag("SeriesInstanceUID", "1.2.826.0.1.3680043.8.498.77", exportable)
        dialog.editTag("SeriesDescription", f"FA {index}", exportable)  # different files: the copies would all be written
    assert not dialog.export(tmp_path / "out")
    assert dialog.errorLabel == (
        "Series 'axial': SeriesInstanceUID 1.2.826.0.1.3680043.8.498.77 is also the tag of another series of this export; "
        "give each series its own, or clear the tag to generate one"
    )
    assert leftovers(tmp_path / "out") == []


def test_files_already_in_the_folder_are_never_overwritten(tmp_path, scene, registration):
    """Exported again into the same folder with the same typed SeriesInstanceUID (no database to refuse it): same file names."""
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    uid = [("SeriesInstanceUID", "1.2.826.0.1.3680043.8.498.78", True)]
    assert export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out", uid).errorLabel == ""
    before = {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()}
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out", [*uid, ("Scale", "32000", True)])
    assert dialog.errorLabel.startswith(f"Series 'axial': {tmp_path / 'out'}/")
    assert dialog.errorLabel.endswith(" already exists; it is never overwritten: export into an empty folder")
    assert {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()} == before


def test_an_unexpected_failure_is_a_message_too(tmp_path, scene, registration, monkeypatch):
    volumeNode, _, _ = map_in_study(tmp_path, scene)

    def failsAfterWriting(self, node, outputFolder, **options):
        (Path(outputFolder) / "half.dcm").write_bytes(b"partial")
        raise MemoryError("out of memory")

    # The FAExport module the plugin imports now: a panel test's harness may have replaced the one imported above.
    monkeypatch.setattr(importlib.import_module("FAExport").FAExportLogic, "exportVolume", failsAfterWriting)
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out")
    assert dialog.errorLabel == "Series 'axial': FAExport failed (out of memory); see the application log for details"
    assert leftovers(tmp_path / "out") == []


# --- registration


def test_the_hidden_module_registers_one_plugin_per_encoding(registration):
    import DICOMFAExportPlugin

    assert registration.hidden is True
    assert registration.dependencies == ["DICOM", "FAExport"]
    assert registration.categories == ["Developer Tools.DICOM Plugins"]
    plugins = slicer.modules.dicomPlugins
    assert set(plugins) == {*FAEXPORT_ROWS, "DICOMScalarVolumePlugin"}
    for key in FAEXPORT_ROWS:
        assert issubclass(plugins[key], DICOMFAExportPlugin.FAExportDICOMPluginClass)
        assert plugins[key].pluginKey == key  # the dialog calls slicer.modules.dicomPlugins[exportable.pluginClass]
        assert plugins[key]().export([]) == ""


def test_the_plugins_offer_nothing_when_the_dicom_browser_examines_files_to_load(tmp_path, scene, registration):
    """Every registered plugin is asked while loading (DICOMUtils.getLoadablesFromFileLists: examineForImport, then examine)."""
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    series = FAExportLogic().exportVolume(volumeNode, mode="mr+pm", outputFolder=tmp_path / "out", addToDatabase=False).series
    fileLists = [list(item.files) for item in series]
    for key in FAEXPORT_ROWS:
        plugin = slicer.modules.dicomPlugins[key]()
        assert plugin.examineForImport(fileLists) == [] and plugin.examine(fileLists) == []
        assert plugin.loadType == key  # how the browser names the plugin in its messages


def test_constructing_the_plugins_imports_no_encoder(tmp_path):
    """The DICOM module instantiates every plugin at start-up: that must not load FAExport, pydicom or highdicom."""
    code = (
        "import sys, types\n"
        "lib = types.ModuleType('DICOMLib')\n"
        "lib.DICOMPlugin = type('DICOMPlugin', (), {'__init__': lambda self: setattr(self, 'tags', {})})\n"
        "sys.modules['DICOMLib'] = lib\n"
        "import slicer\n"
        "slicer.modules = types.SimpleNamespace()\n"
        "import DICOMFAExportPlugin\n"
        "DICOMFAExportPlugin.DICOMFAExportPlugin(types.SimpleNamespace())\n"
        "plugins = [cls() for cls in slicer.modules.dicomPlugins.values()]\n"
        "print(len(plugins), sorted(name for name in ('FAExport', 'FAExportLib', 'pydicom', 'highdicom') if name in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT)), check=False, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "4 []"
