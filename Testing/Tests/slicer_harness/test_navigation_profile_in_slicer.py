"""The navigation profile and the reader-trap report in Slicer: the console, the panel and the Export-to-DICOM dialog.

Files are read back by pydicom (stored integers and the Real World Value Mapping) against the map's own values; the
panel runs under the harness's real Qt, the dialog on its stand-in written from Slicer's source (dicom_export_standins.py).
"""

import types

from FAExport import FAExportLogic
from slicer_harness.conftest import choose, load_case, load_map, place_in_dicom_study

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES
from dicom_export_standins import ExportDialog, ScalarVolumeExporterModel, install
from readers import compare, read_pydicom

import slicer
from FAExportLib import InputError
from slicer import vtkMRMLSubjectHierarchyNode

NAVIGATION_ROW = "MR for navigation (FAExport)"


def navigation_values(files) -> tuple[np.ndarray, set]:
    """pydicom: the stored values in file order, and each file's (RescaleSlope, value mapping slope)."""
    slopes = set()
    for path in files:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        slopes.add((str(ds.RescaleSlope), ds.RealWorldValueMappingSequence[0].RealWorldValueSlope))
    return read_pydicom(files), slopes


# --- the console


@pytest.fixture
def scene():
    scene = slicer.vtkMRMLScene()
    yield scene
    scene.Clear(True)


def test_console_exports_the_navigation_profile(tmp_path, scene):
    node, values, affine = load_case(tmp_path, scene, "axial")
    result = FAExportLogic().exportVolume(node, profile="navigation", outputFolder=tmp_path / "out", addToDatabase=False)
    (series,) = result.series
    assert (series.profile, series.value_scale, series.mode) == ("navigation", 10000.0, "mr")
    read, slopes = navigation_values(series.files)
    assert slopes == {("1", 1.0 / 10000.0)}
    assert compare(np.rint(values.astype(np.float64) * 10000.0), affine, read).max_value_error == 0.0
    assert "fractional-slope" in {item.trap.key for item in series.reader_traps if not item.applies}


def test_console_refusals_name_the_console_options(tmp_path, scene):
    node, _, _ = load_case(tmp_path, scene, "axial")
    with pytest.raises(InputError) as refused:
        FAExportLogic().exportVolume(node, profile="navigation", mode="pm", outputFolder=tmp_path / "out", addToDatabase=False)
    from FAExportSlicerLib.field_names import consoleLabel

    assert refused.value.render(consoleLabel) == (
        "profile='navigation' writes classic MR images (one file per slice), and mode pm writes other series; leave mode out, or give mr"
    )
    square, _, _ = load_case(tmp_path, scene, "nonsquare")
    with pytest.raises(InputError, match=r"profile='navigation' needs square in-plane pixels .* 0\.8 mm wide and 1\.3 mm high"):
        FAExportLogic().preview(square, profile="navigation")
    assert not (tmp_path / "out").exists()


# --- the panel


def test_panel_profile_fixes_mr_and_shows_the_factor_and_no_slope_traps(slicer, panel, tmp_path):
    _, values, affine = load_map(slicer, tmp_path, "axial", name="FA")
    choose(panel.ui.exportModeComboBox, "MR images (")
    before = panel.ui.previewLabel.text
    assert "Reader traps: Weasis, vtk-dicom and others (see the tooltip)" in before, before  # FA at the auto slope: below 1
    assert "Reader trap: Weasis: RescaleSlope 3.05185e-05: measurements may show stored integers" in panel.ui.previewLabel.toolTip
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    panel.ui.navigationProfileCheckBox.checked = True
    assert panel.parameters.navigationProfile
    assert not panel.ui.exportModeComboBox.enabled and not panel.ui.plainIntegersCheckBox.enabled
    preview = panel.ui.previewLabel.text
    assert "plain integers 0 to 10000 = value x 10000 (RescaleSlope 1)" in preview, preview
    assert "Navigation profile: a Real World Value Mapping in every file gives the values back." in preview
    assert "cornerstone3D" not in preview and "Reader traps: dcm2niix, SimpleITK/GDCM (see the tooltip)" in preview
    assert "cornerstone3D" not in panel.ui.previewLabel.toolTip
    assert "Reader trap: dcm2niix, SimpleITK/GDCM: they read the stored values, the map x 10000" in panel.ui.previewLabel.toolTip
    (tmp_path / "out").mkdir()
    panel.ui.writeToFolderCheckBox.checked = True
    panel.ui.outputFolderPathLineEdit.currentPath = str(tmp_path / "out")
    panel.ui.addToDatabaseCheckBox.checked = False
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    panel.ui.exportButton.click()
    (folder,) = [path for path in (tmp_path / "out").iterdir() if path.is_dir()]
    read, slopes = navigation_values(sorted(folder.glob("*.dcm")))
    assert slopes == {("1", 1.0 / 10000.0)}
    assert compare(np.rint(values.astype(np.float64) * 10000.0), affine, read).max_value_error == 0.0
    panel.ui.navigationProfileCheckBox.checked = False  # the user's mode comes back
    assert panel.ui.exportModeComboBox.enabled and panel.ui.exportModeComboBox.currentText.startswith("Parametric Map")


def test_panel_refuses_non_square_pixels_in_its_own_words(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "nonsquare", name="FA")
    panel.ui.navigationProfileCheckBox.checked = True
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == (
        'Cannot export: "Navigation profile" needs square in-plane pixels (Brainlab does not take others), and these slices\' pixels are 0.8 mm '
        'wide and 1.3 mm high; resample the map to square in-plane pixels (e.g. 0.8 mm) first, or export it without "Navigation profile"'
    )


# --- the Export-to-DICOM dialog


@pytest.fixture
def dialog_scene(monkeypatch):
    scene = slicer.vtkMRMLScene()
    install(monkeypatch, scene)
    import DICOMFAExportPlugin

    slicer.modules.dicomPlugins = {ScalarVolumeExporterModel.pluginKey: ScalarVolumeExporterModel}
    DICOMFAExportPlugin.DICOMFAExportPlugin(types.SimpleNamespace())
    yield scene
    scene.Clear(True)


def test_dialog_offers_the_navigation_row_with_its_traps_and_writes_it(tmp_path, dialog_scene):
    node, values, affine = load_case(tmp_path, dialog_scene, "axial")
    place_in_dicom_study(dialog_scene, node, {"DICOM.PatientName": "Doe^Jane", "DICOM.PatientID": "MRN-1"}, {"StudyInstanceUID": "1.2.3.4", "DICOM.StudyInstanceUID": "1.2.3.4"}, seriesUID="1.2.3.5")
    dialog = ExportDialog(dialog_scene)
    rows = {row.pluginClass: row for row in dialog.examine(vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(dialog_scene).GetItemByDataNode(node))}
    navigation, mr = rows[NAVIGATION_ROW].exportables[0], rows["MR (FAExport)"].exportables[0]
    assert "plain integers 0 to 10000 = value x 10000" in navigation.tooltip
    assert "Reader trap: Weasis" not in navigation.tooltip and "Reader trap: Weasis: RescaleSlope" in mr.tooltip
    assert rows[NAVIGATION_ROW].confidence > rows["DICOMScalarVolumePlugin"].confidence  # a float map: above Slicer's exporter
    assert dialog.select(rows[NAVIGATION_ROW]) == ""
    dialog.export(tmp_path / "dialog")
    files = sorted((tmp_path / "dialog").glob("*.dcm"))
    read, slopes = navigation_values(files)
    assert slopes == {("1", 1.0 / 10000.0)}
    assert compare(np.rint(values.astype(np.float64) * 10000.0), affine, read).max_value_error == 0.0
    assert GEOMETRIES["axial"].shape[2] == len(files)


def test_panel_offers_resampling_only_with_a_source_and_names_it_in_its_words(slicer, panel, tmp_path):
    """The checkbox under "Computed from" is enabled only once a source volume is chosen; the logic's refusal without a
    source names the panel's fields.
    """
    node, _, _ = load_map(slicer, tmp_path, "axial", name="FA")
    assert not panel.ui.resampleToSourceCheckBox.enabled
    panel.ui.resampleToSourceCheckBox.checked = True
    assert panel.parameters.resampleToSource
    assert panel.widget.exportOptions().resampleToSource is False  # no source chosen: nothing to resample onto
    from FAExportSlicerLib.labels import inPanelWords

    with pytest.raises(InputError) as refused:
        FAExportLogic().preview(node, mode="pm", resampleToSource=True)
    assert inPanelWords(panel.ui, refused.value) == (
        '"Resample onto its grid" resamples the map onto the grid of the series it was computed from, and none is given; give it with "Computed from"'
    )


def test_panel_resamples_the_map_onto_its_source_and_the_parametric_map_references_each_source_image(slicer, panel, tmp_path):
    """FA on a 1 x 1 x 1.5 mm grid computed from a b0 on another grid, chosen as "Computed from" with resampling ticked:
    the Parametric Map in Slicer's database has the b0's grid and each frame names the b0 image at its position.
    """
    import FAExport
    from slicer_harness.conftest import written_files

    from test_source_series import dwi_loaded_like_slicerdmri

    source, _, _ = load_map(slicer, tmp_path, "anisotropic", name="b0")
    sourceSeries = FAExport.FAExportLogic().exportVolume(source, mode="mr", quantity="DWI", metadata={"patient_name": "Doe^Jane", "patient_id": "MRN-7"}).series[0]
    at_position = {}
    for path in sourceSeries.files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        at_position[tuple(round(float(v), 3) for v in ds.ImagePositionPatient)] = ds.SOPInstanceUID
    dwi = dwi_loaded_like_slicerdmri(slicer, tmp_path, slicer.mrmlScene, sourceSeries.series_instance_uid, list(at_position.values()))
    node, _, _ = load_map(slicer, tmp_path, "axial", name="FA")
    panel.ui.inputVolumeSelector.setCurrentNode(node)
    panel.ui.sourceVolumeSelector.setCurrentNode(dwi)
    assert panel.ui.resampleToSourceCheckBox.enabled
    panel.ui.resampleToSourceCheckBox.checked = True
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert "OHIF" not in panel.ui.previewLabel.text  # on the source's grid once resampled: no overlay trap
    panel.ui.exportButton.click()
    assert "resampled onto the source series' grid (14 x 18 x 10 voxels) by trilinear interpolation" in panel.ui.resultLabel.text, panel.ui.resultLabel.text
    ((file,),) = [files for sop, files in written_files(slicer).items() if sop == "1.2.840.10008.5.1.4.1.1.30"]
    ds = pydicom.dcmread(file)
    assert (ds.Columns, ds.Rows, int(ds.NumberOfFrames)) == (14, 18, 10)
    for frame in ds.PerFrameFunctionalGroupsSequence:
        position = tuple(round(float(v), 3) for v in frame.PlanePositionSequence[0].ImagePositionPatient)
        assert frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID == at_position[position]


# --- the dialog's study: the Parametric Map references the study's series on the map's grid


@pytest.fixture
def dialog_database(tmp_path, monkeypatch):
    from dicom_database_views import open_database_in

    database = open_database_in(tmp_path / "SlicerDICOMDatabase")
    monkeypatch.setattr(slicer, "dicomDatabase", database, raising=False)
    return database


def b0_and_fa_in_one_study(tmp_path, scene):
    """A b0 exported into Slicer's database and loaded under its study, and the FA map computed from it (same grid) placed
    in that study, as a user has them before right-clicking the FA map.
    """
    b0, _, _ = load_case(tmp_path / "b0", scene, "axial")
    source = FAExportLogic().exportVolume(b0, mode="mr", quantity="DWI", metadata={"patient_name": "Doe^Jane", "patient_id": "MRN-1"}).series[0]
    patient = {"DICOM.PatientName": "Doe^Jane", "DICOM.PatientID": "MRN-1"}
    study = {"StudyInstanceUID": source.study_instance_uid, "DICOM.StudyInstanceUID": source.study_instance_uid}
    place_in_dicom_study(scene, b0, patient, study, seriesUID=source.series_instance_uid)
    fa, _, _ = load_case(tmp_path / "fa", scene, "axial")
    place_in_dicom_study(scene, fa, patient, study, seriesUID="1.2.826.0.1.3680043.8.498.77")
    return source, fa


def test_dialog_parametric_map_references_the_studys_series_on_its_grid(tmp_path, dialog_scene, dialog_database):
    (tmp_path / "b0").mkdir()
    (tmp_path / "fa").mkdir()
    source, fa = b0_and_fa_in_one_study(tmp_path, dialog_scene)
    dialog = ExportDialog(dialog_scene)
    rows = {row.pluginClass: row for row in dialog.examine(vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(dialog_scene).GetItemByDataNode(fa))}
    pm = rows["Parametric Map (FAExport)"]
    assert f"SourceSeriesInstanceUID empty: the study's series on the map's grid ({source.series_instance_uid})" in pm.exportables[0].tooltip
    assert dialog.select(pm) == ""
    dialog.export(tmp_path / "dialog")
    (file,) = sorted((tmp_path / "dialog").glob("*.dcm"))
    ds = pydicom.dcmread(str(file))
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == source.series_instance_uid
    at_position = {}
    for path in source.files:
        image = pydicom.dcmread(path, stop_before_pixels=True)
        at_position[tuple(round(float(v), 3) for v in image.ImagePositionPatient)] = image.SOPInstanceUID
    for frame in ds.PerFrameFunctionalGroupsSequence:
        position = tuple(round(float(v), 3) for v in frame.PlanePositionSequence[0].ImagePositionPatient)
        assert frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID == at_position[position]


def test_dialog_refuses_a_source_whose_patient_the_table_changed(tmp_path, dialog_scene, dialog_database):
    """Anonymised in the table, the map must not join a source that would write the real name: refused, nothing written;
    "none" in SourceSeriesInstanceUID keeps the table's values and references nothing.
    """
    (tmp_path / "b0").mkdir()
    (tmp_path / "fa").mkdir()
    source, fa = b0_and_fa_in_one_study(tmp_path, dialog_scene)
    dialog = ExportDialog(dialog_scene)
    rows = {row.pluginClass: row for row in dialog.examine(vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(dialog_scene).GetItemByDataNode(fa))}
    assert dialog.select(rows["Parametric Map (FAExport)"]) == ""
    dialog.editTag("PatientName", "Anonymous")
    dialog.export(tmp_path / "refused")
    assert dialog.errorLabel == (
        f"Series 'axial': the source series {source.series_instance_uid} is of PatientName 'Doe^Jane', and the table gives 'Anonymous': the map "
        "joins its source; write none in SourceSeriesInstanceUID to keep the table's values, or make them the source's"
    )
    assert not list((tmp_path / "refused").glob("*.dcm"))
    dialog.editTag("SourceSeriesInstanceUID", "none", dialog.exportables[0])
    dialog.export(tmp_path / "anonymous")
    (file,) = sorted((tmp_path / "anonymous").glob("*.dcm"))
    ds = pydicom.dcmread(str(file), stop_before_pixels=True)
    assert str(ds.PatientName) == "Anonymous" and "ReferencedSeriesSequence" not in ds
