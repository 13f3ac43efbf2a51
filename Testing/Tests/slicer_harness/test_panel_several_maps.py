"""The panel's "Also export" list: other maps checked in it are exported with the scalar map as series of one study.

Run as Slicer runs the panel (the unmodified FAExport.py and FAExport.ui under real Qt, offscreen; the fixtures are in
this folder's conftest.py): maps are checked by clicking them in the list's popup, the panel is read as a user reads
it, and the written series are read back by SimpleITK (GDCM) from Slicer's DICOM database (CTK's own, ctk_dicom_core.py).
"""

from pathlib import Path

from slicer_harness.conftest import POSITION_TOLERANCE_MM, choose, load_map, place_in_dicom_study

import pydicom
from dicom_database_views import displayed_series, series_uids
from PyQt5 import QtCore, QtTest
from readers import compare, read_simpleitk

SCREENSHOT = Path("/tmp/panel-several-maps.png")
SINGLE_MAP_DESCRIPTION_TIP = ""  # FAExport.ui gives the series description field no tooltip of its own


def click_in_list(combo, name: str) -> None:
    """Open the list's popup and click the map's row, as a user checks it."""
    view, model = combo.view(), combo.model()
    combo.showPopup()
    rows = [row for row in range(model.rowCount()) if model.item(row).text() == name]
    assert rows, f"{name} is not listed: {[model.item(row).text() for row in range(model.rowCount())]}"
    center = view.visualRect(model.index(rows[0], 0)).center()
    QtTest.QTest.mouseClick(view.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, center)
    combo.hidePopup()


def names(nodes) -> list[str]:
    return [node.GetName() for node in nodes]


def test_checking_md_exports_fa_and_md_as_two_series_of_one_study(slicer, panel, tmp_path):
    import qt

    fa, faValues, faAffine = load_map(slicer, tmp_path, "oblique", "fa", name="FA")
    _, mdValues, mdAffine = load_map(slicer, tmp_path, "anisotropic", "diffusivity", name="MD")
    assert panel.ui.inputVolumeSelector.currentNode() is fa
    assert not panel.ui.severalMapsLabel.visible
    click_in_list(panel.ui.alsoExportSelector, "MD")
    assert names(panel.ui.alsoExportSelector.checkedNodes()) == ["MD"]
    assert names(panel.parameters.alsoExportVolumes) == ["MD"]
    assert panel.ui.severalMapsLabel.visible
    assert panel.ui.severalMapsLabel.text == "One study, each map as its own quantity:\nFA: FA (from its name)\nMD: MD (from its name)"
    preview = panel.ui.previewLabel.text.split("\n")
    assert preview[0].startswith("FA: Values 0 to 1 are stored as integers 0 to 32767 ")
    assert preview[1] == "FA: Reader traps: Weasis, vtk-dicom and others (see the tooltip)"
    assert preview[2].startswith("MD: Values 0 to 0.003 are stored as integers 0 to 32767 ")
    assert preview[-1] == "2 maps: 2 series are written into one study."
    assert not panel.ui.seriesDescriptionLineEdit.enabled
    assert panel.ui.seriesDescriptionLineEdit.toolTip.startswith("With several maps each series is described by its quantity")
    assert not panel.ui.quantityUnitLineEdit.enabled and not panel.ui.quantityCodeLineEdit.enabled
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    panel.ui.exportButton.click()
    database = slicer.dicomDatabase
    shown = panel.ui.resultLabel.text
    assert len(series_uids(database)) == 2, shown
    assert shown.count("in Slicer's DICOM database") == 2
    headers = {}
    for seriesUID in series_uids(database):
        files = sorted(database.filesForSeries(seriesUID))
        headers[seriesUID] = pydicom.dcmread(files[0], stop_before_pixels=True)
        values, affine = (faValues, faAffine) if headers[seriesUID].SeriesDescription == "FA map" else (mdValues, mdAffine)
        comparison = compare(values, affine, read_simpleitk(Path(files[0]).parent))
        assert comparison.max_value_error <= float(headers[seriesUID].RescaleSlope) / 2 * (1 + 1e-6)  # half a stored step
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
    assert sorted(header.SeriesDescription for header in headers.values()) == ["FA map", "MD map (mm2/s)"]
    assert len({(header.PatientID, header.StudyInstanceUID, header.FrameOfReferenceUID) for header in headers.values()}) == 1
    # The browser's tables list both series under one study, their displayed fields filled.
    listed = displayed_series(database)
    assert {uid: (fields["Count"], fields["NumberOfSeries"]) for uid, fields in listed.items()} == {uid: (len(database.filesForSeries(uid)), 2) for uid in headers}
    assert sorted(int(header.SeriesNumber) for header in headers.values()) == [1001, 1002]
    assert panel.ui.showInBrowserButton.enabled
    # What the user sees after the export, for a human look (the test does not compare pixels).
    panel.representation.resize(460, panel.representation.layout().totalHeightForWidth(460))
    qt.QApplication.processEvents()
    image = panel.representation.grab()
    assert image.save(str(SCREENSHOT))
    assert image.width() >= 400 and image.height() >= 400


def test_unchecking_the_other_maps_gives_back_the_single_map_fields(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", "fa", name="FA")
    load_map(slicer, tmp_path, "axial", "diffusivity", name="MD")
    tips = {name: getattr(panel.ui, name).toolTip for name in ("quantityCodeLineEdit", "quantityUnitLineEdit", "seriesDescriptionLineEdit", "quantityComboBox")}
    assert tips["seriesDescriptionLineEdit"] == SINGLE_MAP_DESCRIPTION_TIP
    click_in_list(panel.ui.alsoExportSelector, "MD")
    assert panel.ui.quantityComboBox.itemText(0) == "each map's own"
    assert panel.ui.quantityUnitLineEdit.placeholderText == "each map's own"
    assert panel.ui.quantityComboBox.toolTip.startswith("With several maps: the quantity of the maps whose volume states none")
    click_in_list(panel.ui.alsoExportSelector, "MD")
    assert panel.parameters.alsoExportVolumes == []
    assert not panel.ui.severalMapsLabel.visible
    assert panel.ui.seriesDescriptionLineEdit.enabled and panel.ui.quantityUnitLineEdit.enabled
    assert {name: getattr(panel.ui, name).toolTip for name in tips} == tips
    assert panel.ui.quantityComboBox.itemText(0) == "from the volume, else FA"
    assert panel.ui.quantityUnitLineEdit.placeholderText == "1 (the unit of FA)"
    assert "maps:" not in panel.ui.previewLabel.text


def test_the_scalar_map_is_not_exported_twice_when_it_is_also_checked(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", "fa", name="FA")
    md, mdValues, affine = load_map(slicer, tmp_path, "axial", "diffusivity", name="MD")
    click_in_list(panel.ui.alsoExportSelector, "MD")
    panel.ui.inputVolumeSelector.setCurrentNode(md)  # the checked map becomes the scalar map
    assert names(panel.ui.alsoExportSelector.checkedNodes()) == []
    assert not panel.ui.severalMapsLabel.visible
    for _ in range(2):  # the scalar map checked in the list is unchecked at once (the list held it, then not)
        click_in_list(panel.ui.alsoExportSelector, "MD")
        assert names(panel.ui.alsoExportSelector.checkedNodes()) == []
    assert panel.parameters.alsoExportVolumes == []
    assert panel.ui.previewLabel.text.startswith("Values 0 to 0.003 ")
    panel.ui.exportButton.click()
    (seriesUID,) = series_uids(slicer.dicomDatabase)
    files = slicer.dicomDatabase.filesForSeries(seriesUID)
    comparison = compare(mdValues, affine, read_simpleitk(Path(files[0]).parent))  # MD's voxels, written once
    assert comparison.max_value_error <= float(pydicom.dcmread(files[0], stop_before_pixels=True).RescaleSlope) / 2 * (1 + 1e-6)


def test_maps_under_different_studies_disable_export_with_the_reason(slicer, panel, tmp_path):
    fa, _, _ = load_map(slicer, tmp_path, "axial", "fa", name="FA")
    md, _, _ = load_map(slicer, tmp_path, "axial", "diffusivity", name="MD")
    patient = {"DICOM.PatientName": "Doe^Jane", "DICOM.PatientID": "MRN-7"}
    place_in_dicom_study(slicer.mrmlScene, fa, patient, {"StudyInstanceUID": "1.2.826.0.1.3680043.8.498.41"}, seriesUID="1.2.826.0.1.3680043.8.498.42")
    place_in_dicom_study(slicer.mrmlScene, md, patient, {"StudyInstanceUID": "1.2.826.0.1.3680043.8.498.51"}, seriesUID="1.2.826.0.1.3680043.8.498.52")
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
    study = {uid: shNode.GetItemName(shNode.GetItemByUID("DICOM", uid)) for uid in ("1.2.826.0.1.3680043.8.498.41", "1.2.826.0.1.3680043.8.498.51")}
    click_in_list(panel.ui.alsoExportSelector, "MD")
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == (
        f'Cannot export: the volumes sit under 2 different studies in the subject hierarchy ("FA" under study "{study["1.2.826.0.1.3680043.8.498.41"]}" '
        f'(1.2.826.0.1.3680043.8.498.41), "MD" under study "{study["1.2.826.0.1.3680043.8.498.51"]}" (1.2.826.0.1.3680043.8.498.51)), '
        "and one export writes one study; move them under one study (Data module), or export each study's volumes separately"
    )


def test_a_map_whose_quantity_is_not_known_takes_the_quantity_field(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", "fa", name="FA")
    load_map(slicer, tmp_path, "axial", "diffusivity", name="Volume")
    click_in_list(panel.ui.alsoExportSelector, "Volume")
    assert not panel.ui.exportButton.enabled
    assert panel.ui.severalMapsLabel.text.split("\n")[-1] == "Volume: quantity not known"
    assert panel.ui.disabledReasonLabel.text == (
        'Cannot export: the quantity of volume "Volume" is not known: it has no VoxelValueQuantity, and no part of its name names a quantity; '
        'rename it after its quantity (e.g. FA, dti_MD, T1map), or set "Quantity" for the maps that state none'
    )
    choose(panel.ui.quantityComboBox, "MD (")
    assert panel.ui.severalMapsLabel.text.split("\n")[1:] == ["FA: FA (from its name)", "Volume: MD (from the Quantity field)"]
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    panel.ui.exportButton.click()
    descriptions = sorted(pydicom.dcmread(slicer.dicomDatabase.filesForSeries(uid)[0], stop_before_pixels=True).SeriesDescription for uid in series_uids(slicer.dicomDatabase))
    assert descriptions == ["FA map", "MD map (mm2/s)"]


def test_the_checked_maps_are_kept_in_the_parameter_node_and_a_removed_map_drops_out(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", "fa", name="FA")
    md, _, _ = load_map(slicer, tmp_path, "axial", "diffusivity", name="MD")
    ad, _, _ = load_map(slicer, tmp_path, "axial", "diffusivity", name="AD")
    click_in_list(panel.ui.alsoExportSelector, "MD")
    click_in_list(panel.ui.alsoExportSelector, "AD")
    node = panel.parameters.parameterNode
    assert (node.GetParameter("alsoExportVolumes.len"), node.GetNodeReferenceID("alsoExportVolumes.0"), node.GetNodeReferenceID("alsoExportVolumes.1")) == ("2", md.GetID(), ad.GetID())
    panel.representation.exit()
    panel.representation.enter()  # the module entered again: the list shows the parameter node's maps
    assert names(panel.ui.alsoExportSelector.checkedNodes()) == ["MD", "AD"]
    slicer.mrmlScene.RemoveNode(md)
    panel.parameters.seriesNumber = 10  # any parameter change refreshes the panel
    assert names(panel.widget.severalMapsSection.volumes(panel.parameters)) == ["FA", "AD"]
    assert panel.ui.previewLabel.text.split("\n")[-1] == "2 maps: 2 series are written into one study."


def test_an_other_maps_nan_voxels_disable_export_naming_it_until_replaced(slicer, panel, tmp_path):
    import numpy as np

    load_map(slicer, tmp_path, "axial", "fa", name="FA")
    md, _, _ = load_map(slicer, tmp_path, "axial", "diffusivity", name="MD")
    slicer.util.arrayFromVolume(md)[2, 3, 4] = np.nan
    slicer.util.arrayFromVolumeModified(md)
    click_in_list(panel.ui.alsoExportSelector, "MD")
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == 'Cannot export "MD": 1 voxel is NaN or infinite (at IJK 4,3,2); fix the map, or tick "Replace NaN/infinite voxels with 0"'
    panel.ui.replaceNonFiniteCheckBox.checked = True
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text


def test_mr_and_parametric_map_of_two_maps_are_four_series(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", "fa", name="FA")
    load_map(slicer, tmp_path, "axial", "diffusivity", name="MD")
    click_in_list(panel.ui.alsoExportSelector, "MD")
    choose(panel.ui.exportModeComboBox, "MR images + Parametric Map")
    assert panel.ui.previewLabel.text.split("\n")[-1] == "2 maps: 4 series are written into one study."
    panel.ui.exportButton.click()
    headers = [pydicom.dcmread(slicer.dicomDatabase.filesForSeries(uid)[0], stop_before_pixels=True) for uid in series_uids(slicer.dicomDatabase)]
    assert sorted((int(header.SeriesNumber), header.SeriesDescription) for header in headers) == [
        (1001, "FA map"), (1002, "FA map (Parametric Map)"), (1003, "MD map (mm2/s)"), (1004, "MD map (mm2/s) (Parametric Map)"),
    ]
    assert len({header.StudyInstanceUID for header in headers}) == 1
