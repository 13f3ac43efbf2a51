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
from xml.etree import ElementTree

from FAExport import FAExportLogic
from slicer_harness.conftest import POSITION_TOLERANCE_MM, load_case, place_in_dicom_study

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, PACKAGE_ROOT, map_values, write_volume
from dicom_database_views import count_signal, displayed_series, open_database_in, series_uids
from dicom_export_standins import ExportDialog, ScalarVolumeExporterModel, install
from readers import compare, read_dcm2niix
from test_pm_sc_values_and_geometry import read_dcmqi

import slicer
from FAExportLib import FAExportError
from slicer import vtkMRMLSubjectHierarchyNode

FAEXPORT_ROWS = ["MR (FAExport)", "MR + Parametric Map (FAExport)", "Parametric Map (FAExport)", "SC (FAExport)", "MR for navigation (FAExport)"]
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
    """Slicer's DICOM database: CTK's own ctkDICOMDatabase (ctk_dicom_core.py), opened in its folder."""
    database = open_database_in(tmp_path / "SlicerDICOMDatabase")
    monkeypatch.setattr(slicer, "dicomDatabase", database, raising=False)
    return database


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


def export_row(scene, volumeNode, pluginClass: str, folder: Path, edits=(), saveTags=True):
    """Select the volume, pick the row, apply tag edits (name, value, series?), export into a folder; return the dialog.

    ``saveTags``: "Save modified tags", checked when the dialog opens as in Slicer.
    """
    dialog = ExportDialog(scene)
    dialog.saveTags = saveTags
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
        "MR for navigation systems, integers x factor (55%, 1 series) (MR for navigation (FAExport))",
        "Scalar Volume (50%, 1 series) (DICOMScalarVolumePlugin)",
    ]
    mr = rows[0].exportables[0]  # the preselected row
    preview = FAExportLogic().previewText(volumeNode, mode="mr", scale="auto").splitlines()
    assert mr.tooltip.splitlines()[1 : 1 + len(preview)] == preview
    assert mr.tooltip.splitlines()[1].startswith("Values 0 to 1 are stored as integers 0 to 32767 (RescaleSlope ")
    # The defaults mean "automatic" (saved by "Save modified tags", they stay so); the tooltip says what they give.
    seriesTags = ExportDialog(scene).seriesTags
    assert seriesTags(mr) == {"Quantity": "auto", "SeriesDescription": "", "SeriesNumber": "", "FrameOfReferenceUID": "", "SeriesInstanceUID": "", "Scale": "auto"}
    assert seriesTags(rows[1].exportables[0]) == {"Quantity": "auto", "SeriesDescription": "", "SeriesNumber": "", "FrameOfReferenceUID": "", "Scale": "auto", "SourceSeriesInstanceUID": ""}
    assert seriesTags(rows[2].exportables[0]) == {"Quantity": "auto", "SeriesDescription": "", "SeriesNumber": "", "FrameOfReferenceUID": "", "SeriesInstanceUID": "", "SourceSeriesInstanceUID": ""}


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
        assert [row.pluginClass for row in rows][: len(FAEXPORT_ROWS)] == FAEXPORT_ROWS
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


# --- a volume a row cannot export: ranked below every row that can, with the reason and what to do instead

REFUSED_ROWS = [
    "MR images, int16 + rescale (any PACS) (cannot export this volume) (4%, 1 series) (MR (FAExport))",
    "MR images + Parametric Map (cannot export this volume) (3%, 1 series) (MR + Parametric Map (FAExport))",
    "Parametric Map, exact float32 (cannot export this volume) (2%, 1 series) (Parametric Map (FAExport))",
    "Secondary Capture, multi-frame + rescale (cannot export this volume) (1%, 1 series) (SC (FAExport))",
    "MR for navigation systems, integers x factor (cannot export this volume) (0%, 1 series) (MR for navigation (FAExport))",
]
NOT_IN_THE_DIALOG = "in the FA Export module and export from there, or give it to FAExportLogic().exportVolume in the Python console"


def map_with_nan(tmp_path, scene):
    values = map_values("fa", GEOMETRIES["axial"].shape)
    values[1, 2, 3] = np.nan
    return volume_from_values(tmp_path, scene, "broken", values, file_suffix=".nrrd")  # NRRD keeps NaN


def test_a_map_with_nan_voxels_ranks_every_faexport_row_below_slicers_exporter_and_says_what_to_do(tmp_path, scene, registration):
    volumeNode = map_with_nan(tmp_path, scene)
    dialog = ExportDialog(scene)
    rows = dialog.examine(item_of(scene, volumeNode))
    assert [row.text for row in rows] == ["Scalar Volume (50%, 1 series) (DICOMScalarVolumePlugin)", *REFUSED_ROWS]
    assert dialog.exportables == rows[0].exportables, "the preselected row is one that can export"
    for row in rows[1:]:
        assert row.tooltip.splitlines()[1] == (
            "Cannot export: 1 voxel is NaN or infinite (at IJK 1,2,3); fix the map, or replace them explicitly with a value (replaceNonFinite=VALUE); "
            f'the dialog has no tag for replaceNonFinite: tick "Replace NaN/infinite voxels with 0" {NOT_IN_THE_DIALOG}'
        )
    # The way out it names works.
    assert FAExportLogic().exportVolume(volumeNode, mode="pm", replaceNonFinite=0.0, outputFolder=tmp_path / "console", addToDatabase=False).series


def test_a_map_too_narrow_for_int16_offers_the_parametric_map_first_and_the_integer_rows_last(tmp_path, scene, registration):
    """10000 to 10000.01: no int16 scale keeps these values apart, float32 does; the Parametric Map exports them."""
    shape = GEOMETRIES["axial"].shape
    values = (10000.0 + np.linspace(0.0, 0.01, int(np.prod(shape)))).reshape(shape).astype(np.float32)
    volumeNode = volume_from_values(tmp_path, scene, "narrow", values)
    dialog = ExportDialog(scene)
    rows = dialog.examine(item_of(scene, volumeNode))
    assert [row.text for row in rows] == [
        "Parametric Map, exact float32 (70%, 1 series) (Parametric Map (FAExport))",
        "Scalar Volume (50%, 1 series) (DICOMScalarVolumePlugin)",
        *[text for text in REFUSED_ROWS if not text.endswith("(Parametric Map (FAExport))")],
    ]
    # Its preview says nothing of the int16 scale it does not use.
    assert rows[0].tooltip.splitlines()[1:3] == [
        "Values 10000 to 10000; the Parametric Map stores them as float32 (exact for a float32 map).",
        f"Warning: {values.size} voxels of the FA map lie outside 0 to 1, what FA means (values 10000 to 10000; first at IJK 0,0,0); exported as they are: check the map",
    ]
    for row in rows[2:]:
        refusal = row.tooltip.splitlines()[1]
        if row.pluginClass == "MR for navigation (FAExport)":  # its auto factor is the largest power of ten that fits
            assert refusal.startswith("Cannot export: scale 1 is too coarse for values 10000 to 10000: its step 1 leaves")
            continue
        assert refusal.startswith("Cannot export: scale auto is too coarse for values 10000 to 10000: its step 0.305")
        assert refusal.endswith(f'allow coarse scales (allowCoarseScale); the dialog has no tag for allowCoarseScale: tick "Allow a coarse scale (export anyway)" {NOT_IN_THE_DIALOG}')
    assert dialog.export(tmp_path / "out"), dialog.errorLabel  # the preselected Parametric Map
    ((_, datasets),) = datasets_by_series(tmp_path / "out").items()
    assert datasets[0][1].SOPClassUID == PM_STORAGE


def test_rows_are_examined_with_the_tags_saved_on_the_series_item(tmp_path, scene, registration):
    """A Scale saved by an earlier export ("Save modified tags") is what the table will show and the export use."""
    volumeNode, _, _ = map_in_study(tmp_path, scene, values_kind="signed")  # -3 to 5: x 32000 does not fit int16
    failed = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out", [("Scale", "32000", True)])
    assert failed.errorLabel.startswith("Series 'axial': ")
    rows = ExportDialog(scene).examine(item_of(scene, volumeNode))
    assert [row.pluginClass for row in rows] == ["Parametric Map (FAExport)", "DICOMScalarVolumePlugin", "MR (FAExport)", "MR + Parametric Map (FAExport)", "SC (FAExport)", "MR for navigation (FAExport)"]
    for row in rows[2:5]:
        assert row.tooltip.splitlines()[1] == "Cannot export: " + failed.errorLabel.removeprefix("Series 'axial': ")
    assert rows[5].tooltip.splitlines()[1] == (
        "Cannot export: the values -3 to 5 do not fit int16 at scale 32000 of the navigation row: int16 stores -1.024 to 1.023969 at that factor; "
        "use auto or a scale up to 1000"
    )


def test_the_dialog_points_to_the_panels_own_checkboxes(registration):
    """The texts the dialog's messages quote are those of FAExport.ui, the options' panel."""
    import DICOMFAExportPlugin
    from FAExportSlicerLib.labels import PANEL_FIELDS

    form = ElementTree.parse(PACKAGE_ROOT / "Resources" / "UI" / "FAExport.ui")
    texts = {widget.get("name"): widget.findtext("./property[@name='text']/string") for widget in form.iter("widget")}
    assert DICOMFAExportPlugin.PANEL_OPTIONS == {name: texts[PANEL_FIELDS[name]] for name in ("replace_nonfinite", "allow_coarse_scale")}


def test_one_selection_scans_the_map_once_per_kind_of_preview_and_again_only_when_it_changes(tmp_path, scene, registration, monkeypatch):
    """The integer and Parametric Map rows share one preview (one scan of the voxels); the navigation profile's factor
    is its own (a second scan). Neither is repeated until the voxels or the quantity change.
    """
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    logic = importlib.import_module("FAExport").FAExportLogic  # the module the plugins import now (a panel test may have replaced it)
    scans = []
    preview = logic.preview

    def counted(self, node, options=None, **keywords):
        scans.append(node.GetID())
        return preview(self, node, options, **keywords)

    monkeypatch.setattr(logic, "preview", counted)
    dialog = ExportDialog(scene)
    item = item_of(scene, volumeNode)
    first = [row.text for row in dialog.examine(item)]
    assert len(scans) == 2
    dialog.export(tmp_path / "out")  # saves the table's tags onto the items: the voxels are the same
    assert [row.text for row in dialog.examine(item)] == first
    assert len(scans) == 2
    # Voxels edited in place (and announced, as slicer.util.arrayFromVolumeModified does): scanned again.
    slicer.util.arrayFromVolume(volumeNode)[3, 2, 1] = np.inf
    slicer.util.arrayFromVolumeModified(volumeNode)
    rows = dialog.examine(item)
    assert len(scans) == 4
    assert [row.text for row in rows] == ["Scalar Volume (50%, 1 series) (DICOMScalarVolumePlugin)", *REFUSED_ROWS]
    assert rows[1].tooltip.splitlines()[1].startswith("Cannot export: 1 voxel is NaN or infinite (at IJK 1,2,3)")
    # The node's quantity changed (the preview checks the values against what it means): scanned again.
    slicer.util.arrayFromVolume(volumeNode)[3, 2, 1] = 0.5
    slicer.util.arrayFromVolumeModified(volumeNode)
    dialog.examine(item)
    quantity = slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning("113202", "DCM", "Mean Diffusivity")
    volumeNode.SetVoxelValueQuantity(quantity)
    rows = dialog.examine(item)
    assert len(scans) == 8
    assert "Quantity auto: MD (the volume's quantity; FA when it names none)" in rows[0].tooltip.splitlines()


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
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out", edits, saveTags=False)
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
    mrpm = rows["MR + Parametric Map (FAExport)"]
    assert {name: mrpm.exportables[0].tags[name] for name in ("Quantity", "SeriesDescription")} == {"Quantity": "auto", "SeriesDescription": ""}
    assert "Quantity auto: MD (the volume's quantity; FA when it names none)" in mrpm.tooltip.splitlines()
    assert 'SeriesDescription empty (or "No series description", the default of Slicer\'s own exporter): "MD map (mm2/s)", from the quantity' in mrpm.tooltip.splitlines()
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


# --- "Save modified tags" (checked when the dialog opens): what the table saves onto the series item


def written(folder: Path) -> list:
    """The first dataset of each series in the folder, by SeriesNumber."""
    return sorted((datasets[0][1] for datasets in datasets_by_series(folder).values()), key=lambda dataset: dataset.SeriesNumber)


def pm_quantity_code(folder: Path) -> str:
    (path,) = [datasets[0][0] for datasets in datasets_by_series(folder).values() if datasets[0][1].SOPClassUID == PM_STORAGE]
    mapping = pydicom.dcmread(path, stop_before_pixels=True).SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    return mapping.QuantityDefinitionSequence[0].ConceptCodeSequence[0].CodeValue


def saved_series_tags(scene, volumeNode) -> dict[str, str]:
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    item = item_of(scene, volumeNode)
    return {name[len("DICOM.") :]: shNode.GetItemAttribute(item, name) for name in shNode.GetItemAttributeNames(item) if name.startswith("DICOM.")}


def test_save_modified_tags_is_checked_when_the_dialog_opens(scene):
    assert ExportDialog(scene).saveTags is True


@pytest.mark.parametrize("saveTags", [True, False], ids=["saved", "not saved"])
def test_mr_then_pm_of_one_map_each_get_their_own_series_number(tmp_path, scene, registration, saveTags):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    for pluginClass, folder in (("MR (FAExport)", "mr"), ("Parametric Map (FAExport)", "pm"), ("MR + Parametric Map (FAExport)", "mr+pm")):
        assert export_row(scene, volumeNode, pluginClass, tmp_path / folder, saveTags=saveTags).errorLabel == ""
    assert [dataset.SeriesNumber for dataset in written(tmp_path / "mr")] == [1001]
    assert [dataset.SeriesNumber for dataset in written(tmp_path / "pm")] == [1003]
    assert [dataset.SeriesNumber for dataset in written(tmp_path / "mr+pm")] == [1001, 1003]
    # Saved, the automatic values stay automatic.
    automatic = {"Quantity": "auto", "SeriesDescription": "", "SeriesNumber": "", "FrameOfReferenceUID": "", "SeriesInstanceUID": "", "Scale": "auto", "SourceSeriesInstanceUID": ""}
    assert saved_series_tags(scene, volumeNode) == (automatic if saveTags else {})


@pytest.mark.parametrize(("saveTags", "numbers"), [(True, ([77], [77, 78])), (False, ([1003], [1001, 1003]))], ids=["saved", "not saved"])
def test_a_typed_series_number_is_kept_for_the_next_exports_when_saved(tmp_path, scene, registration, saveTags, numbers):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    assert export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "mr", [("SeriesNumber", "77", True)], saveTags=saveTags).errorLabel == ""
    assert export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "pm", saveTags=saveTags).errorLabel == ""
    assert export_row(scene, volumeNode, "MR + Parametric Map (FAExport)", tmp_path / "mr+pm", saveTags=saveTags).errorLabel == ""
    assert ([dataset.SeriesNumber for dataset in written(tmp_path / "mr")]) == [77]
    assert ([dataset.SeriesNumber for dataset in written(tmp_path / "pm")], [dataset.SeriesNumber for dataset in written(tmp_path / "mr+pm")]) == numbers


def set_mean_diffusivity(volumeNode) -> None:
    quantity, units = slicer.vtkCodedEntry(), slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning("113202", "DCM", "Mean Diffusivity")
    units.SetValueSchemeMeaning("mm2/s", "UCUM", "mm2/s")
    volumeNode.SetVoxelValueQuantity(quantity)
    volumeNode.SetVoxelValueUnits(units)


@pytest.mark.parametrize("saveTags", [True, False], ids=["saved", "not saved"])
def test_the_volumes_quantity_changed_between_two_exports_is_what_the_second_writes(tmp_path, scene, registration, saveTags):
    volumeNode, _, _ = map_in_study(tmp_path, scene, values_kind="diffusivity")
    assert export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "first", saveTags=saveTags).errorLabel == ""
    set_mean_diffusivity(volumeNode)
    assert export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "second", saveTags=saveTags).errorLabel == ""
    assert (written(tmp_path / "first")[0].SeriesDescription, pm_quantity_code(tmp_path / "first")) == ("FA map", "110808")
    assert (written(tmp_path / "second")[0].SeriesDescription, pm_quantity_code(tmp_path / "second")) == ("MD map (mm2/s)", "113202")


def test_a_typed_and_saved_quantity_stays_over_the_volumes(tmp_path, scene, registration):
    volumeNode, _, _ = map_in_study(tmp_path, scene, values_kind="diffusivity")
    assert export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "first", [("Quantity", "ADC", True)]).errorLabel == ""
    set_mean_diffusivity(volumeNode)
    dialog = export_row(scene, volumeNode, "Parametric Map (FAExport)", tmp_path / "second")
    assert dialog.seriesTags(dialog.exportables[0])["Quantity"] == "ADC"
    assert (written(tmp_path / "second")[0].SeriesDescription, pm_quantity_code(tmp_path / "second")) == ("ADC map (mm2/s)", "113041")


@pytest.mark.parametrize(
    ("edits", "description"),
    [((), "FA map"), ((("SeriesDescription", "DTI FA, typed in Slicer's exporter", True),), "DTI FA, typed in Slicer's exporter")],
    ids=["its defaults", "a typed description"],
)
def test_after_slicers_own_exporter_saved_its_tags_faexport_writes_its_own_number_and_keeps_a_typed_description(tmp_path, scene, registration, edits, description):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    assert export_row(scene, volumeNode, "DICOMScalarVolumePlugin", tmp_path / "slicer", edits).errorLabel == ""
    (handed,) = ScalarVolumeExporterModel.handed
    assert (handed["SeriesNumber"], handed["SeriesDescription"]) == ("301", description if edits else "No series description")
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "mr")
    assert dialog.errorLabel == ""
    assert dialog.seriesTags(dialog.exportables[0])["SeriesNumber"] == "301"  # the table shows the saved value, as Slicer's tag editor does
    (dataset,) = written(tmp_path / "mr")
    assert (dataset.SeriesNumber, dataset.SeriesDescription) == (1001, description)


def test_a_saved_series_uid_is_used_by_one_export_only(tmp_path, scene, registration):
    """Typed with "Save modified tags": the export that writes it clears the saved copy; one that fails keeps it."""
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    uid = "1.2.826.0.1.3680043.8.498.79"
    failed = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "failed", [("SeriesInstanceUID", uid, True), ("Scale", "fine", True)])
    assert failed.errorLabel == "Series 'axial': the Scale tag must be auto, 1000, 32000 or a number, not 'fine'"
    assert saved_series_tags(scene, volumeNode)["SeriesInstanceUID"] == uid
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "mr", [("Scale", "auto", True)])
    assert dialog.errorLabel == ""
    assert [dataset.SeriesInstanceUID for dataset in written(tmp_path / "mr")] == [uid]
    assert saved_series_tags(scene, volumeNode)["SeriesInstanceUID"] == ""
    for pluginClass, folder in (("Parametric Map (FAExport)", "pm"), ("MR (FAExport)", "mr again")):
        assert export_row(scene, volumeNode, pluginClass, tmp_path / folder).errorLabel == ""
        assert [dataset.SeriesInstanceUID for dataset in written(tmp_path / folder)] != [uid]


def test_each_rows_tooltip_says_what_its_automatic_tags_give(tmp_path, scene, registration):
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    rows = {row.pluginClass: row for row in ExportDialog(scene).examine(item_of(scene, volumeNode))}
    header = ['Automatic tags (they stay automatic when "Save modified tags" saves them):', "Quantity auto: FA (the volume's quantity; FA when it names none)", 'SeriesDescription empty (or "No series description", the default of Slicer\'s own exporter): "FA map", from the quantity']
    scale = "Scale auto: the finest scale that fits the values"
    uid = "SeriesInstanceUID empty: a new one; a UID typed here is used for one export, then its saved copy is cleared"
    number = "SeriesNumber empty (or 301, the default of Slicer's own exporter): "

    def automatic(row) -> list[str]:
        lines = row.tooltip.splitlines()
        return lines[lines.index(header[0]) :]  # after the row's description and its preview (and reader traps)

    assert automatic(rows["MR (FAExport)"]) == [*header, number + "1001", scale, uid]
    assert automatic(rows["SC (FAExport)"]) == [*header, number + "1002", scale, uid]
    source = 'SourceSeriesInstanceUID empty: the study\'s series on the map\'s grid (none in this study), which the Parametric Map then references (OHIF overlays it there); "none" for none'
    assert automatic(rows["Parametric Map (FAExport)"]) == [*header, number + "1003", uid, source]
    assert automatic(rows["MR + Parametric Map (FAExport)"]) == [*header, number + "1001 (MR) and 1003 (Parametric Map); a number N gives N and N+1", scale, source]
    navigation = "Scale auto: the factor of the quantity's unit (navigation profile: FA x10000, mm2/s x1000000, ms x1)"
    assert automatic(rows["MR for navigation (FAExport)"]) == [*header, number + "1001", navigation, uid]


def test_ticking_save_modified_tags_saves_the_table_at_once(tmp_path, scene, registration):
    """qSlicerDICOMExportDialog::onSaveTagsCheckBoxToggled commits the table when the box is ticked."""
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    dialog = ExportDialog(scene)
    dialog.saveTags = False
    dialog.examine(item_of(scene, volumeNode))  # the MR row, preselected
    dialog.editTag("SeriesNumber", "5", dialog.exportables[0])
    dialog.editTag("StudyDescription", "Typed study")
    assert saved_series_tags(scene, volumeNode) == {}
    dialog.setSaveTags(True)
    assert saved_series_tags(scene, volumeNode)["SeriesNumber"] == "5"
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    assert shNode.GetItemAttribute(dialog.studyItemID, "DICOM.StudyDescription") == "Typed study"


def test_only_the_tables_rows_are_saved_not_a_tag_the_plugin_read_later(tmp_path, scene, registration):
    """The table is filled once (setExportables) and committed row by row; MR + PM offers no SeriesInstanceUID, so
    none is saved, even after its export read that tag (which inserts it into the exportable's map).
    """
    volumeNode, _, _ = map_in_study(tmp_path, scene)
    dialog = ExportDialog(scene)
    dialog.saveTags = True
    rows = {row.pluginClass: row for row in dialog.examine(item_of(scene, volumeNode))}
    dialog.select(rows["MR + Parametric Map (FAExport)"])
    dialog.editTag("SeriesNumber", "twelve", dialog.exportables[0])
    assert not dialog.export(tmp_path / "out")
    assert "SeriesInstanceUID" in dialog.exportables[0].tags
    dialog.editTag("SeriesNumber", "12", dialog.exportables[0])
    assert dialog.export(tmp_path / "out"), dialog.errorLabel
    assert "SeriesInstanceUID" not in saved_series_tags(scene, volumeNode)
    assert [dataset.SeriesNumber for dataset in written(tmp_path / "out")] == [12, 13]


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
    updated = count_signal(database, "displayedFieldsUpdated()")
    assert dialog.export(None, temporaryPath=tmp_path / "SlicerTemp"), dialog.errorLabel
    assert leftovers(tmp_path / "SlicerTemp") == [], "the dialog removes only top-level files: nothing else may be there"
    assert len(series_uids(database)) == 2
    assert sorted(len(database.filesForSeries(uid)) for uid in series_uids(database)) == [1, values.shape[2]]
    # CTK's indexer inserted through its own connection and filled the displayed fields there
    # (ctkDICOMIndexerPrivateWorker::start calls updateDisplayedFields), not through the application's.
    shown = displayed_series(database)
    assert set(shown) == series_uids(database)
    assert sorted(fields["Count"] for fields in shown.values()) == [1, values.shape[2]]
    assert {(fields["PatientsName"], fields["PatientID"], fields["StudyDescription"], fields["NumberOfSeries"], fields["NumberOfStudies"]) for fields in shown.values()} == {("Doe, Jane", "MRN-0042", "Brain DTI", 2, 1)}  # CTK formats the name
    assert updated == []


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
    assert series_uids(database) == set()


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
        '(replaceNonFinite=VALUE); the dialog has no tag for replaceNonFinite: tick "Replace NaN/infinite voxels with 0" in the FA Export module '
        "and export from there, or give it to FAExportLogic().exportVolume in the Python console"
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
    assert completed.stdout.strip() == "5 []"


# --- a study whose source left patient values empty: Slicer's placeholders in the tag table


def test_slicers_placeholder_tags_are_written_as_the_studys_own_values(tmp_path, scene, registration, database):
    """The tag editor shows "No name", "Patient-<StudyUID>", "No study description" (DICOMPlugin's text for empty source
    values); the files get the study's values (empty), so the series stays under its study's patient.
    """
    from test_subject_hierarchy_study import write_source_series

    studyUID = "1.2.826.0.1.3680043.8.498.77"
    for path in write_source_series(tmp_path / "incoming", studyUID, PatientName="", PatientID="", StudyDescription=""):
        database.insert(path, True, True, True)
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    patient = {"DICOM.PatientID": "Patient-" + studyUID, "DICOM.PatientName": "No name"}
    study = {"StudyInstanceUID": studyUID, "DICOM.StudyInstanceUID": studyUID, "DICOM.StudyDescription": "No study description"}
    place_in_dicom_study(scene, volumeNode, patient, study, seriesUID="1.2.826.0.1.3680043.8.498.78")
    dialog = export_row(scene, volumeNode, "MR (FAExport)", tmp_path / "out")
    assert dialog.errorLabel == ""
    assert {dialog.exportables[0].tag(name) for name in ("PatientName", "PatientID", "StudyDescription")} == {"No name", "Patient-" + studyUID, "No study description"}
    ((_, written),) = datasets_by_series(tmp_path / "out").items()
    for _, dataset in written:
        assert (dataset.PatientName, dataset.PatientID, dataset.get("StudyDescription", ""), dataset.StudyInstanceUID) == ("", "", "", studyUID)
    for path, _ in written:
        database.insert(str(path), True, True, True)
    (patientKey,) = database.patients()
    assert database.studiesForPatient(patientKey) == (studyUID,) and len(database.seriesForStudy(studyUID)) == 2
