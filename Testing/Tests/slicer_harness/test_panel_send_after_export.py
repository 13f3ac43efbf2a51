"""Sending from the panel after the export: destinations from the DICOM module's server lists (the classic and the visual
browser's, in Slicer's settings as CTK writes them; each archive once) or typed and checked, credentials kept in neither the scene nor the settings; C-STORE to a configured
Orthanc and STOW-RS with a password arrive identical (compared through Orthanc's REST API), and an archive refusing the
Parametric Map gives its message in the panel's words, then the SC fallback in the same study and frame of reference.

The archives are real servers on loopback (Orthanc, dcmtk's storescp; Testing/Harness/archives.py), started by this
folder's conftest.py; their scenarios are skipped where the servers are not installed.
"""

import json
from pathlib import Path

from slicer_harness.conftest import STOW_PASSWORD, STOW_USER, Panel, choose, load_map, written_files

import pydicom
import pytest
from archives import Orthanc, require_servers
from readers import compare

PARAMETRIC_MAP_STORAGE = "1.2.840.10008.5.1.4.1.1.30"
SECONDARY_CAPTURE_WORD = "1.2.840.10008.5.1.4.1.1.7.3"
TOKEN = "t0ken-Panel-abc123"


# --- the DICOM module's servers, Slicer's settings


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


def server_node(name: str, port: int, called: str, storage: bool = True, address: str = "127.0.0.1") -> dict:
    return {
        "Name": name,
        "Verification": "unknown",
        "QueryRetrieveCheckState": 0,
        "StorageCheckState": 2 if storage else 0,
        "TrustedCheckState": 0,
        "Calling AETitle": "SLICERPANEL",
        "Called AETitle": called,
        "Address": address,
        "Port": str(port),
        "Retrieve Protocol": "CGET",
        "Timeout": 10,
        "Retrieve Proxy": "",
    }


def configure_classic_servers(nodes: list[dict], calling_ae: str = "CTKSTORE") -> None:
    """Write the classic DICOM browser's server list as CTK's ctkDICOMServerNodeWidget::saveSettings does
    (ctkDICOMServerNodeWidget.cpp:161-178): at the settings' top level, the count, each row as a QVariantMap (PyQt5
    stores a dict of str keys as one, as QVariant(QMap<QString, QVariant>) does) and the widget's AE titles and port.
    """
    from PyQt5 import QtCore

    settings = QtCore.QSettings()
    settings.setValue("ServerNodeCount", len(nodes))
    for row, node in enumerate(nodes):
        settings.setValue(f"ServerNodes/{row}", node)
    settings.setValue("CallingAETitle", calling_ae)
    settings.setValue("StorageAETitle", "CTKSTORE")
    settings.setValue("StoragePort", 11112)
    settings.sync()


def classic_server_node(name: str, port: int, called: str, address: str = "127.0.0.1", query: bool = False) -> dict:
    """A row of the classic browser's table (ctkDICOMServerNodeWidget::serverNodeParameters, :328-352): the columns'
    texts by header ("Port" as text), "CheckState" = selected for the next query, "CGET" = retrieve with C-GET.
    """
    return {"Name": name, "AETitle": called, "Address": address, "Port": str(port), "CheckState": 2 if query else 0, "CGET": 0}


# The two rows ctkDICOMServerNodeWidget::readSettings puts in an empty list (:197-215), saved with the first change.
CTK_CLASSIC_EXAMPLES = [
    {"Name": "ExampleHost", "AETitle": "AETITLE", "Address": "dicom.example.com", "Port": "11112", "CheckState": 0, "CGET": 0},
    {"Name": "MedicalConnections", "AETitle": "ANYAE", "Address": "dicomserver.co.uk", "Port": "104", "CheckState": 0, "CGET": 2},
]
CLASSIC_NOTE = "From the DICOM browser's query servers, which do not say whether a server accepts storage."


def destination_items(ui) -> list[str]:
    return [ui.sendDestinationComboBox.itemText(index) for index in range(ui.sendDestinationComboBox.count)]


@pytest.fixture
def clean_settings(slicer):
    """Slicer's settings as the ``slicer`` fixture leaves them: a fresh profile's (only the DICOM database folder)."""
    from PyQt5 import QtCore

    yield QtCore.QSettings()
    QtCore.QSettings().clear()


def settings_text() -> str:
    from PyQt5 import QtCore

    settings = QtCore.QSettings()
    settings.sync()
    return Path(settings.fileName()).read_text() if Path(settings.fileName()).exists() else ""


# --- destinations and credentials


def test_destinations_come_from_the_dicom_modules_servers_and_typed_fields_are_checked(slicer, clean_settings, tmp_path):
    configure_servers([server_node("Archive", 11112, "ARCHIVE"), server_node("QueryOnly", 11113, "QR", storage=False)])
    clean_settings.setValue("DICOM/Send/URL", "pacs.example.org:104")  # Slicer's send dialog's last destination
    clean_settings.setValue("DICOM/Send/AETitle", "LASTPACS")
    opened = Panel(slicer)
    try:
        ui = opened.ui
        load_map(slicer, tmp_path, "axial")
        assert destination_items(ui) == ["Archive (ARCHIVE@127.0.0.1:11112)", "C-STORE to an address", "DICOMweb STOW-RS to a URL"]
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
        ui.sendPasswordLineEdit.text = STOW_PASSWORD
        assert ui.disabledReasonLabel.text == "Cannot send: refusing to send credentials in clear text to pacs.example.org over http; use an https URL"
        ui.sendURLLineEdit.text = "https://pacs.example.org/dicom-web"
        assert ui.exportButton.enabled, ui.disabledReasonLabel.text
        ui.sendTokenLineEdit.text = TOKEN
        assert ui.disabledReasonLabel.text == "Cannot send: give either a user name and password or a bearer token for STOW-RS, not both"
        ui.sendUserLineEdit.text = ui.sendPasswordLineEdit.text = ""
        assert ui.exportButton.enabled, ui.disabledReasonLabel.text
        ui.sendUserLineEdit.text, ui.sendPasswordLineEdit.text = "radiology", STOW_PASSWORD
        ui.sendTokenLineEdit.text = ""
        # The credentials are neither in the parameter node (saved with the scene) nor in Slicer's settings.
        slicer.mrmlScene.SetSaveToXMLString(1)
        slicer.mrmlScene.Commit()
        scene = slicer.mrmlScene.GetSceneXMLString()
        assert "https://pacs.example.org/dicom-web" in scene and STOW_PASSWORD not in scene and "radiology" not in scene and TOKEN not in scene
        assert STOW_PASSWORD not in settings_text() and TOKEN not in settings_text()
    finally:
        opened.close()


def test_the_default_browsers_servers_are_offered_with_its_calling_ae_title(slicer, clean_settings, tmp_path):
    configure_classic_servers([classic_server_node("PACS", 11104, "PACSAE", query=True), *CTK_CLASSIC_EXAMPLES], calling_ae="SLICERQR")
    assert "[ServerNodes]\n0=@Variant(" in settings_text()  # a QVariantMap, as Slicer's settings hold CTK's rows
    opened = Panel(slicer)
    try:
        ui = opened.ui
        load_map(slicer, tmp_path, "axial")
        # CTK's examples (a made-up host and a public test archive) are not the user's servers.
        assert destination_items(ui) == ["PACS (PACSAE@127.0.0.1:11104)", "C-STORE to an address", "DICOMweb STOW-RS to a URL"]
        ui.sendCheckBox.checked = True
        assert ui.sendServerDescriptionLabel.text == f"C-STORE to PACSAE at 127.0.0.1:11104, calling AE title SLICERQR, timeout 30 s\n{CLASSIC_NOTE}"
        destination = opened.widget.sendSection.destination(opened.parameters)
        assert (destination.host, destination.port, destination.called_ae, destination.calling_ae, destination.timeout) == ("127.0.0.1", 11104, "PACSAE", "SLICERQR", 30.0)
        assert ui.exportButton.enabled, ui.disabledReasonLabel.text
    finally:
        opened.close()


def test_both_browsers_servers_are_offered_once_per_archive(slicer, clean_settings, tmp_path):
    configure_servers([server_node("Archive", 11112, "ARCHIVE", address="pacs.example.org"), server_node("QueryOnly", 11113, "QR", storage=False)])
    configure_classic_servers(
        [
            classic_server_node("Archive (classic)", 11112, "ARCHIVE", address="PACS.Example.org"),  # the visual list's Archive
            classic_server_node("QueryOnly", 11113, "QR"),  # the visual list says it does not store
            classic_server_node("Archive", 11115, "ARCH2"),  # another archive of the same name
            classic_server_node("Other", 11114, "OTHER"),
        ],
        calling_ae="SLICERQR",
    )
    opened = Panel(slicer)
    try:
        ui = opened.ui
        load_map(slicer, tmp_path, "axial")
        assert destination_items(ui) == [
            "Archive (ARCHIVE@pacs.example.org:11112)",
            "Archive (ARCH2@127.0.0.1:11115)",
            "Other (OTHER@127.0.0.1:11114)",
            "C-STORE to an address",
            "DICOMweb STOW-RS to a URL",
        ]
        ui.sendCheckBox.checked = True
        assert ui.sendServerDescriptionLabel.text == "C-STORE to ARCHIVE at pacs.example.org:11112, calling AE title SLICERPANEL, timeout 10 s"
        choose(ui.sendDestinationComboBox, "Archive (ARCH2@")
        assert ui.sendServerDescriptionLabel.text == f"C-STORE to ARCH2 at 127.0.0.1:11115, calling AE title SLICERQR, timeout 30 s\n{CLASSIC_NOTE}"
        destination = opened.widget.sendSection.destination(opened.parameters)
        assert (destination.port, destination.called_ae, destination.calling_ae) == (11115, "ARCH2", "SLICERQR")
        choose(ui.sendDestinationComboBox, "Archive (ARCHIVE@")
        destination = opened.widget.sendSection.destination(opened.parameters)
        assert (destination.host, destination.port, destination.called_ae, destination.calling_ae, destination.timeout) == ("pacs.example.org", 11112, "ARCHIVE", "SLICERPANEL", 10.0)
    finally:
        opened.close()


# --- what arrives


def orthanc_files(orthanc: Orthanc) -> dict[str, bytes]:
    """SOPInstanceUID -> the file Orthanc holds, through its REST API."""
    return {orthanc.get(f"/instances/{iid}")["MainDicomTags"]["SOPInstanceUID"]: orthanc.get(f"/instances/{iid}/file") for iid in orthanc.get("/instances")}


def pixel_bytes(data: bytes) -> bytes:
    import io

    dataset = pydicom.dcmread(io.BytesIO(data))
    return bytes(dataset.get("PixelData", b"") or dataset.get("FloatPixelData", b""))


@require_servers()
def test_send_to_a_configured_server_from_the_panel_arrives_identical(slicer, clean_settings, orthanc, tmp_path):
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
    panel.ui.sendUserLineEdit.text = STOW_USER
    panel.ui.sendPasswordLineEdit.text = STOW_PASSWORD
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
    assert STOW_PASSWORD not in slicer.mrmlScene.GetSceneXMLString() and STOW_PASSWORD not in stored and STOW_PASSWORD not in shown
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
    assert '(or send with "If refused" sc or mr)' in shown and "--" not in shown
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
