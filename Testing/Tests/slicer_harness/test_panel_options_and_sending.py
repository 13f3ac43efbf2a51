"""The panel as the complete way to use plain integers, quantities and units (issue 13) and sending (issue 14).

Run through the same harness as test_panel.py (the unmodified FAExport.py and .ui under real Qt, offscreen): each
scenario drives the widgets as a user would, asserts what the panel shows, and reads what was written or sent back
with a reader that is not FAExportLib (pydicom, dcm2niix, dcmqi; Orthanc's REST API, dcmtk's storescp).
"""

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from archives import Orthanc, require_servers
from readers import compare, read_dcm2niix, read_pydicom
from test_panel_exports import application, choose, load_map, panel, slicer  # noqa: F401 -- the harness's fixtures
from test_pm_sc_values_and_geometry import read_dcmqi
from test_send_after_export import SECRET as PASSWORD
from test_send_after_export import classic_only, guarded_orthanc, orthanc  # noqa: F401 -- the archives test_send starts, started again here

from FAExportLib import known_quantities

PARAMETRIC_MAP_STORAGE = "1.2.840.10008.5.1.4.1.1.30"
SECONDARY_CAPTURE_WORD = "1.2.840.10008.5.1.4.1.1.7.3"
USER = "faexport"  # guarded_orthanc's account
TOKEN = "t0ken-Panel-abc123"


def written_files(slicer) -> dict[str, list[str]]:
    """SOP class UID -> the files Slicer's DICOM database holds."""
    found: dict[str, list[str]] = {}
    for seriesUID in slicer.dicomDatabase.seriesUIDs():
        files = sorted(slicer.dicomDatabase.filesForSeries(seriesUID))
        found.setdefault(pydicom.dcmread(files[0], stop_before_pixels=True).SOPClassUID, []).extend(files)
    return found


# ---------------------------------------------------------------------------------------------------------------
# Issue 13: plain integers, units, quantities


def test_plain_integers_only_for_integer_modes_preview_states_the_factor_and_files_hold_value_times_factor(slicer, panel, tmp_path):
    _, values, affine = load_map(slicer, tmp_path, "oblique", name="FA")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert not panel.ui.plainIntegersCheckBox.enabled
    assert panel.ui.plainIntegersCheckBox.toolTip.startswith("Only for MR images or Secondary Capture")
    choose(panel.ui.exportModeComboBox, "MR images (")
    assert panel.ui.plainIntegersCheckBox.enabled
    choose(panel.ui.scaleComboBox, "x1000")
    panel.ui.plainIntegersCheckBox.checked = True
    assert panel.parameters.plainIntegers
    preview = panel.ui.previewLabel.text
    assert "plain integers 0 to 1000 = value x 1000 (RescaleSlope 1)" in preview, preview
    assert "readers get the values multiplied by 1000" in preview
    panel.ui.writeToFolderCheckBox.checked = True
    panel.ui.outputFolderPathLineEdit.currentPath = str(tmp_path / "out")
    (tmp_path / "out").mkdir()
    panel.ui.addToDatabaseCheckBox.checked = False
    panel.ui.exportButton.click()
    assert "plain integers: readers get FA x 1000 (RescaleSlope 1)" in panel.ui.resultLabel.text, panel.ui.resultLabel.text
    (seriesFolder,) = [path for path in (tmp_path / "out").iterdir() if path.is_dir()]
    files = sorted(seriesFolder.glob("*.dcm"))
    first = pydicom.dcmread(files[0])
    assert float(first.RescaleSlope) == 1.0 and float(first.RescaleIntercept) == 0.0
    assert "x1000" in first.SeriesDescription.replace(" ", "")
    expected = np.rint(values.astype(np.float64) * 1000)
    assert compare(expected, affine, read_pydicom(files)).max_value_error == 0.0
    assert compare(expected, affine, read_dcm2niix(seriesFolder, tmp_path / "dcm2niix")).max_value_error == 0.0
    # Back to a Parametric Map: the ticked option no longer applies and the preview says float32 again.
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert "float32" in panel.ui.previewLabel.text and "plain integers" not in panel.ui.previewLabel.text


def test_unit_typed_as_a_ucum_code_and_refusals_name_the_panels_fields(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", kind="fa", name="T1map")
    choose(panel.ui.quantityComboBox, "T1")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert panel.ui.quantityUnitLineEdit.enabled
    assert panel.ui.quantityUnitLineEdit.placeholderText == "UCUM code: ms or s"
    reason = panel.ui.disabledReasonLabel.text
    assert not panel.ui.exportButton.enabled
    assert reason == 'Cannot export: a Parametric Map needs the unit of the T1 values, which T1 does not fix: give "Unit" ms (or s)', reason
    panel.ui.quantityUnitLineEdit.text = "msec"
    assert panel.ui.disabledReasonLabel.text.startswith("Cannot export: unit 'msec' is not a UCUM code FAExport knows")
    panel.ui.quantityUnitLineEdit.text = "ms"
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    panel.ui.exportButton.click()
    (files,) = written_files(slicer).values()
    _, meta = read_dcmqi(Path(files[0]), tmp_path / "dcmqi")
    assert meta["QuantityValueCode"]["CodeMeaning"] == "T1"
    assert (meta["MeasurementUnitsCode"]["CodeValue"], meta["MeasurementUnitsCode"]["CodingSchemeDesignator"]) == ("ms", "UCUM")
    # Another quantity: the unit typed for T1 does not follow it.
    choose(panel.ui.quantityComboBox, "MD (")
    assert panel.ui.quantityUnitLineEdit.text == ""
    assert panel.ui.quantityUnitLineEdit.placeholderText == "mm2/s (the unit of MD)"


def test_a_known_quantity_without_a_dicom_code_takes_a_typed_code_for_a_parametric_map(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", kind="fa", name="m0")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    choose(panel.ui.quantityComboBox, "M0 (no DICOM code)")
    assert panel.ui.quantityCodeLineEdit.enabled
    assert '"Quantity code" VALUE,SCHEME,MEANING and "Unit"' in panel.ui.disabledReasonLabel.text, panel.ui.disabledReasonLabel.text
    assert "--" not in panel.ui.disabledReasonLabel.text
    panel.ui.quantityCodeLineEdit.text = "99M0,99LOCAL,Equilibrium magnetization"
    panel.ui.quantityUnitLineEdit.text = "[arb'U]"
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    panel.ui.exportButton.click()
    (files,) = written_files(slicer).values()
    _, meta = read_dcmqi(Path(files[0]), tmp_path / "dcmqi")
    assert meta["QuantityValueCode"]["CodeValue"] == "99M0"


def test_the_quantity_list_holds_every_known_quantity_once_and_reads_well(slicer, panel):
    combo = panel.ui.quantityComboBox
    texts = [combo.itemText(index) for index in range(combo.count)]
    known = known_quantities()
    assert len(texts) == len(known) + 2 and len(set(texts)) == len(texts)
    assert texts[0] == "from the volume, else FA" and texts[-1] == "other (enter code and unit)"
    assert [combo.itemData(index) for index in range(1, combo.count - 1)] == list(known)
    assert "MD (Mean Diffusivity)" in texts and "T1" in texts and "T1 (T1)" not in texts
    assert all(len(text) <= 48 for text in texts), max(texts, key=len)
    assert combo.maxVisibleItems >= 20


# ---------------------------------------------------------------------------------------------------------------
# Issue 14: send after export


def configure_servers(nodes: list[dict]) -> None:
    """Write the DICOM module's server list as CTK's ctkDICOMServerNodeWidget2::saveSettings does: the count, and each
    row as an indented JSON document stored as a QByteArray (Port as text, check states 0/2).
    """
    from PyQt5 import QtCore

    settings = QtCore.QSettings()
    settings.remove("DICOM/ServerNodes")
    settings.setValue("DICOM/ServerNodeCount", len(nodes))
    for row, node in enumerate(nodes):
        settings.setValue(f"DICOM/ServerNodes/{row}", QtCore.QByteArray(json.dumps(node, indent=4).encode()))
    settings.sync()


def server_node(name: str, port: int, called: str, storage: bool = True) -> dict:
    return {
        "Name": name,
        "Verification": "unknown",
        "QueryRetrieveCheckState": 0,
        "StorageCheckState": 2 if storage else 0,
        "TrustedCheckState": 0,
        "Calling AETitle": "SLICERPANEL",
        "Called AETitle": called,
        "Address": "127.0.0.1",
        "Port": str(port),
        "Retrieve Protocol": "CGET",
        "Timeout": 10,
        "Retrieve Proxy": "",
    }


@pytest.fixture
def clean_settings():
    from PyQt5 import QtCore

    QtCore.QSettings().clear()
    yield QtCore.QSettings()
    QtCore.QSettings().clear()


def settings_text() -> str:
    from PyQt5 import QtCore

    settings = QtCore.QSettings()
    settings.sync()
    return Path(settings.fileName()).read_text() if Path(settings.fileName()).exists() else ""


def test_destinations_come_from_the_dicom_modules_servers_and_typed_fields_are_checked(slicer, clean_settings, tmp_path):
    from test_panel import Panel

    configure_servers([server_node("Archive", 11112, "ARCHIVE"), server_node("QueryOnly", 11113, "QR", storage=False)])
    clean_settings.setValue("DICOM/Send/URL", "pacs.example.org:104")  # Slicer's send dialog's last destination
    clean_settings.setValue("DICOM/Send/AETitle", "LASTPACS")
    opened = Panel(slicer)
    try:
        ui = opened.ui
        load_map(slicer, tmp_path, "axial")
        items = [ui.sendDestinationComboBox.itemText(index) for index in range(ui.sendDestinationComboBox.count)]
        assert items == ["Archive (ARCHIVE@127.0.0.1:11112)", "C-STORE to an address", "DICOMweb STOW-RS to a URL"]
        assert not ui.sendDestinationComboBox.enabled  # until sending is ticked
        ui.sendCheckBox.checked = True
        assert ui.sendServerDescriptionLabel.visible and not ui.sendDimseFrame.visible
        assert ui.sendServerDescriptionLabel.text == "C-STORE to ARCHIVE at 127.0.0.1:11112, calling AE title SLICERPANEL, timeout 10 s"
        assert ui.exportButton.enabled
        assert not ui.sendFallbackComboBox.enabled and ui.sendFallbackComboBox.toolTip.startswith("Only for a Parametric Map")
        choose(ui.exportModeComboBox, "Parametric Map")
        assert ui.sendFallbackComboBox.enabled
        choose(ui.sendDestinationComboBox, "C-STORE to an address")
        assert ui.sendDimseFrame.visible and not ui.sendStowFrame.visible
        assert (ui.sendAddressLineEdit.text, ui.sendCalledAELineEdit.text) == ("pacs.example.org:104", "LASTPACS")
        ui.sendAddressLineEdit.text = ""
        assert ui.disabledReasonLabel.text == "Cannot send: enter the archive's address as host:port (e.g. pacs.example.org:104)"
        ui.sendAddressLineEdit.text = "127.0.0.1:104"
        ui.sendCalledAELineEdit.text = "NAME\\WITH BACKSLASH"
        assert ui.disabledReasonLabel.text.startswith('Cannot send: "Called AE title" ')
        ui.sendCalledAELineEdit.text = "PACS"
        choose(ui.sendDestinationComboBox, "DICOMweb")
        assert ui.sendStowFrame.visible and not ui.sendDimseFrame.visible
        ui.sendURLLineEdit.text = "http://pacs.example.org/dicom-web"
        ui.sendUserLineEdit.text = "radiology"
        assert ui.disabledReasonLabel.text == "Cannot send: enter the password of radiology, or clear the user name"
        ui.sendPasswordLineEdit.text = PASSWORD
        assert ui.disabledReasonLabel.text == "Cannot send: refusing to send credentials in clear text to pacs.example.org over http; use an https URL"
        ui.sendURLLineEdit.text = "https://pacs.example.org/dicom-web"
        assert ui.exportButton.enabled, ui.disabledReasonLabel.text
        ui.sendTokenLineEdit.text = TOKEN
        assert ui.disabledReasonLabel.text == "Cannot send: give either a user name and password or a bearer token for STOW-RS, not both"
        ui.sendUserLineEdit.text = ui.sendPasswordLineEdit.text = ""
        assert ui.exportButton.enabled, ui.disabledReasonLabel.text
        ui.sendUserLineEdit.text, ui.sendPasswordLineEdit.text = "radiology", PASSWORD
        ui.sendTokenLineEdit.text = ""
        # The credentials are neither in the parameter node (saved with the scene) nor in Slicer's settings.
        slicer.mrmlScene.SetSaveToXMLString(1)
        slicer.mrmlScene.Commit()
        scene = slicer.mrmlScene.GetSceneXMLString()
        assert "https://pacs.example.org/dicom-web" in scene and PASSWORD not in scene and "radiology" not in scene and TOKEN not in scene
        assert PASSWORD not in settings_text() and TOKEN not in settings_text()
    finally:
        opened.close()


def orthanc_files(orthanc: Orthanc) -> dict[str, bytes]:
    """SOPInstanceUID -> the file Orthanc holds, through its REST API."""
    return {orthanc.get(f"/instances/{iid}")["MainDicomTags"]["SOPInstanceUID"]: orthanc.get(f"/instances/{iid}/file") for iid in orthanc.get("/instances")}


def pixel_bytes(data: bytes) -> bytes:
    import io

    dataset = pydicom.dcmread(io.BytesIO(data))
    return bytes(dataset.get("PixelData", b"") or dataset.get("FloatPixelData", b""))


@require_servers()
def test_send_to_a_configured_server_from_the_panel_arrives_identical(slicer, clean_settings, orthanc, tmp_path):
    from test_panel import Panel

    configure_servers([server_node("Orthanc", orthanc.dicom_port, orthanc.aet)])
    opened = Panel(slicer)
    try:
        load_map(slicer, tmp_path, "oblique", name="FA")
        choose(opened.ui.exportModeComboBox, "MR images + Parametric Map")
        opened.ui.sendCheckBox.checked = True
        assert opened.ui.sendDestinationComboBox.currentText.startswith(f"Orthanc ({orthanc.aet}@127.0.0.1:")
        opened.ui.exportButton.click()
        shown = opened.ui.resultLabel.text
        local = {pydicom.dcmread(path).SOPInstanceUID: Path(path).read_bytes() for files in written_files(slicer).values() for path in files}
        assert f"Sent to {orthanc.aet}@127.0.0.1:{orthanc.dicom_port} (C-STORE): {len(local)} of {len(local)} instances stored" in shown, shown
        arrived = orthanc_files(orthanc)
        assert set(local) <= set(arrived)
        assert all(pixel_bytes(arrived[uid]) == pixel_bytes(data) for uid, data in local.items())
        assert "DICOM/Send/URL" not in settings_text()  # a configured server is not a typed destination to remember
    finally:
        opened.close()


@require_servers()
def test_stow_with_a_password_typed_in_the_panel_arrives_and_the_password_is_kept_nowhere(slicer, panel, clean_settings, guarded_orthanc, tmp_path):
    load_map(slicer, tmp_path, "axial", name="FA")
    choose(panel.ui.exportModeComboBox, "Secondary Capture")
    panel.ui.sendCheckBox.checked = True
    choose(panel.ui.sendDestinationComboBox, "DICOMweb")
    panel.ui.sendURLLineEdit.text = guarded_orthanc.dicomweb
    panel.ui.sendUserLineEdit.text = USER
    panel.ui.sendPasswordLineEdit.text = PASSWORD
    panel.ui.exportButton.click()
    shown = panel.ui.resultLabel.text
    ((sopClass, files),) = written_files(slicer).items()
    assert sopClass == SECONDARY_CAPTURE_WORD
    assert f"Sent to {guarded_orthanc.dicomweb} (STOW-RS): 1 of 1 instances stored" in shown, shown
    uid = pydicom.dcmread(files[0]).SOPInstanceUID
    assert pixel_bytes(orthanc_files(guarded_orthanc)[uid]) == pixel_bytes(Path(files[0]).read_bytes())
    slicer.mrmlScene.SetSaveToXMLString(1)
    slicer.mrmlScene.Commit()
    stored = settings_text()
    assert PASSWORD not in slicer.mrmlScene.GetSceneXMLString() and PASSWORD not in stored and PASSWORD not in shown
    assert guarded_orthanc.dicomweb in stored and "DICOMweb" in stored  # remembered as Slicer's send dialog does


@require_servers()
def test_an_archive_refusing_the_parametric_map_shows_the_message_and_the_fallback_sends_sc(slicer, panel, clean_settings, classic_only, tmp_path):
    _, values, affine = load_map(slicer, tmp_path, "oblique", name="FA")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    panel.ui.sendCheckBox.checked = True
    choose(panel.ui.sendDestinationComboBox, "C-STORE to an address")
    panel.ui.sendAddressLineEdit.text = f"127.0.0.1:{classic_only.port}"
    panel.ui.sendCalledAELineEdit.text = classic_only.aet
    received_before = len(classic_only.received_files())
    panel.ui.exportButton.click()
    shown = panel.ui.resultLabel.text
    assert "0 of 1 instances stored" in shown, shown
    assert "the archive refused Parametric Map Storage (1.2.840.10008.5.1.4.1.1.30)" in shown
    assert '(or send with "If refused" sc|mr)' in shown and "--" not in shown
    ((sopClass, pmFiles),) = written_files(slicer).items()
    assert sopClass == PARAMETRIC_MAP_STORAGE and Path(pmFiles[0]).is_file()  # the local series stays
    assert len(classic_only.received_files()) == received_before

    choose(panel.ui.sendFallbackComboBox, "send SC instead")
    panel.ui.exportButton.click()
    shown = panel.ui.resultLabel.text
    assert "fallback: sent the SC series (same study and frame of reference) instead of the Parametric Map" in shown, shown
    received = classic_only.received_files()[received_before:]
    assert [pydicom.dcmread(path, stop_before_pixels=True).SOPClassUID for path in received] == [SECONDARY_CAPTURE_WORD]
    scInDatabase = written_files(slicer)[SECONDARY_CAPTURE_WORD]
    arrived = pydicom.dcmread(received[0])
    assert arrived.SOPInstanceUID == pydicom.dcmread(scInDatabase[0]).SOPInstanceUID
    (secondPM,) = [pydicom.dcmread(path, stop_before_pixels=True) for path in written_files(slicer)[PARAMETRIC_MAP_STORAGE] if path != pmFiles[0]]
    assert (arrived.StudyInstanceUID, arrived.FrameOfReferenceUID) == (secondPM.StudyInstanceUID, secondPM.FrameOfReferenceUID)
    from readers import read_pydicom_multiframe

    readBack = read_pydicom_multiframe(received[0])[0]
    assert compare(values, affine, readBack).max_value_error <= 1.0 / 32000 / 2 + 1e-7



# ---------------------------------------------------------------------------------------------------------------
# Issue 12 in the panel: coarse scales, laterality, warnings


def test_a_coarse_scale_is_refused_until_the_override_shown_for_it_is_ticked(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", name="FA")
    assert not panel.ui.allowCoarseScaleCheckBox.visible
    choose(panel.ui.scaleComboBox, "custom")
    panel.ui.customScaleSpinBox.value = 1.0
    reason = panel.ui.disabledReasonLabel.text
    assert not panel.ui.exportButton.enabled and reason.startswith("Cannot export: "), reason
    assert reason.endswith('to export anyway, allow coarse scales ("Allow a coarse scale")') and "--" not in reason, reason
    assert panel.ui.allowCoarseScaleCheckBox.visible
    panel.ui.allowCoarseScaleCheckBox.checked = True
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    assert "\nWarning: " in panel.ui.previewLabel.text  # the coarse scale allowed is still said
    panel.ui.exportButton.click()
    ((_, files),) = written_files(slicer).items()
    assert "Warning: " in panel.ui.resultLabel.text
    stored = np.concatenate([pydicom.dcmread(path).pixel_array.ravel() for path in files])
    assert set(np.unique(stored)) <= {0, 1} and float(pydicom.dcmread(files[0]).RescaleSlope) == 1.0  # what the user allowed
    choose(panel.ui.scaleComboBox, "auto")
    panel.ui.allowCoarseScaleCheckBox.checked = False
    assert not panel.ui.allowCoarseScaleCheckBox.visible  # a fine scale: no override to offer


def test_laterality_chosen_in_the_panel_is_written(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", name="FA")
    items = [panel.ui.lateralityComboBox.itemText(index) for index in range(panel.ui.lateralityComboBox.count)]
    assert items == ["not given", "L (left)", "R (right)", "B (both)", "U (unpaired)"]
    choose(panel.ui.lateralityComboBox, "L (left)")
    choose(panel.ui.exportModeComboBox, "MR images + Parametric Map")
    panel.ui.exportButton.click()
    found = written_files(slicer)
    mr = pydicom.dcmread(found["1.2.840.10008.5.1.4.1.1.4"][0], stop_before_pixels=True)
    assert "L" in (mr.get("Laterality"), mr.get("ImageLaterality"))
    pm = pydicom.dcmread(found[PARAMETRIC_MAP_STORAGE][0], stop_before_pixels=True)
    frameLateralities = {str(dataset.FrameLaterality) for dataset in _datasets(pm) if "FrameLaterality" in dataset}
    assert frameLateralities == {"L"}


def _datasets(dataset):
    """Every dataset nested in ``dataset`` (sequence items), itself included."""
    yield dataset
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                yield from _datasets(item)


def test_a_nifti_whose_sform_and_qform_disagree_is_named_in_the_preview(slicer, panel, tmp_path):
    import nibabel

    values = np.linspace(0, 1, 4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    image = nibabel.Nifti1Image(values, np.diag([1.0, 1.0, 2.0, 1.0]))
    qform = np.diag([1.0, 1.0, 2.0, 1.0])
    qform[:3, 3] = [10, 0, 0]
    image.set_qform(qform, code=1)
    image.set_sform(np.diag([1.0, 1.0, 2.0, 1.0]), code=2)
    path = tmp_path / "disagree.nii.gz"
    nibabel.save(image, path)
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "disagree")
    storage = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    node.SetAndObserveStorageNodeID(storage.GetID())
    panel.ui.inputVolumeSelector.setCurrentNode(node)
    warning = panel.ui.previewLabel.text.splitlines()[-1]
    assert warning.startswith("Warning: disagree.nii.gz: its sform (code 2, aligned) and qform (code 1, scanner) place the map up to 10 mm apart"), warning
    assert panel.ui.exportButton.enabled  # a warning, not a refusal
