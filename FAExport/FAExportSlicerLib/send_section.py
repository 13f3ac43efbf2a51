"""The panel's send section: the DICOM module's configured servers, the destination chosen or typed, Slicer's last
send destination, and the credentials (typed only, kept in neither the scene nor the settings).

Slicer's settings keys. The DICOM module's servers: CTK's ctkDICOMServerNodeWidget2 (Libs/DICOM/Widgets/
ctkDICOMServerNodeWidget2.cpp at the CTK commit Slicer 5.12.3 pins, saveSettings/readSettings) writes the count and one
JSON object per row ("Name", "Address", "Port" as text, "Called AETitle", "Calling AETitle", "StorageCheckState" 0/2,
"Timeout"). The last destination of Slicer's own send dialog: Modules/Scripted/DICOMLib/DICOMSendDialog.py.
"""

import json
from typing import TYPE_CHECKING

from FAExportSlicerLib.i18n import _
from FAExportSlicerLib.labels import inPanelWords

import qt

if TYPE_CHECKING:
    from FAExportLib.send import DimseDestination, StowDestination

SERVER_COUNT_KEY = "DICOM/ServerNodeCount"
SERVER_NODE_KEY = "DICOM/ServerNodes/{row}"
LAST_SEND_KEYS = {"url": "DICOM/Send/URL", "aeTitle": "DICOM/Send/AETitle", "protocol": "DICOM/Send/Protocol"}
TYPED_DIMSE, TYPED_STOW, SERVER_PREFIX = "dimse", "stow", "server:"


def configuredServers() -> list[dict]:
    """The DICOM module's servers with Storage ticked, as CTK saves them in Slicer's settings (see SERVER_NODE_KEY)."""
    settings = qt.QSettings()
    try:
        count = int(settings.value(SERVER_COUNT_KEY, 0) or 0)
    except (TypeError, ValueError):
        return []
    servers = []
    for row in range(count):
        value = settings.value(SERVER_NODE_KEY.format(row=row))
        if hasattr(value, "data"):  # QByteArray, as CTK writes it
            value = value.data()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        try:
            node = json.loads(value) if value else None
        except ValueError:
            continue
        if not isinstance(node, dict) or not node.get("Name") or not node.get("Address"):
            continue
        try:
            if int(node.get("StorageCheckState") or 0) == 0:
                continue
        except (TypeError, ValueError):
            continue
        servers.append(node)
    return servers


class SendSection:
    """The send section's widgets and the servers its destination combo lists (read when the panel opens or is entered)."""

    def __init__(self, ui) -> None:
        self.ui = ui
        self.servers: dict[str, dict] = {}

    def populate(self) -> None:
        """The destination combo: the configured servers, then C-STORE or STOW-RS to what is typed."""
        combo = self.ui.sendDestinationComboBox
        wasBlocking = combo.blockSignals(True)
        try:
            combo.clear()
            self.servers = {node["Name"]: node for node in configuredServers()}
            for name, node in self.servers.items():
                combo.addItem(_("{name} ({called}@{address}:{port})").format(name=name, called=node.get("Called AETitle") or "ANY-SCP", address=node["Address"], port=node.get("Port", "")), SERVER_PREFIX + name)
            combo.addItem(_("C-STORE to an address"), TYPED_DIMSE)
            combo.addItem(_("DICOMweb STOW-RS to a URL"), TYPED_STOW)
        finally:
            combo.blockSignals(wasBlocking)

    def prefillLastDestination(self, parameters) -> None:
        """Empty typed fields start from the last destination of Slicer's DICOM send dialog (DICOMSendDialog.py keys)."""
        if parameters.sendAddress or parameters.sendURL or parameters.sendDestination:
            return
        settings = qt.QSettings()
        url = str(settings.value(LAST_SEND_KEYS["url"], "") or "")
        if not url:
            return
        wasModifying = parameters.StartModify()
        try:
            if str(settings.value(LAST_SEND_KEYS["protocol"], "DIMSE")) == "DICOMweb":
                parameters.sendURL = url
            else:
                parameters.sendAddress = url
                parameters.sendCalledAE = str(settings.value(LAST_SEND_KEYS["aeTitle"], "") or "")
        finally:
            parameters.EndModify(wasModifying)

    def alignLabels(self) -> None:
        """The send section's labels in one column, although the typed fields sit in frames of their own."""
        labels = (
            self.ui.sendDestinationLabel, self.ui.sendFallbackLabel, self.ui.sendAddressLabel, self.ui.sendCalledAELabel,
            self.ui.sendCallingAELabel, self.ui.sendURLLabel, self.ui.sendUserLabel, self.ui.sendPasswordLabel, self.ui.sendTokenLabel,
        )
        width = max(label.sizeHint.width() for label in labels)
        for label in labels:
            label.minimumWidth = width

    def choose(self, parameters, index: int) -> None:
        """The destination picked in the combo."""
        if parameters is not None and index >= 0:
            parameters.sendDestination = self.ui.sendDestinationComboBox.itemData(index) or ""

    def destinationKind(self, parameters) -> str:
        """The chosen destination's data: "server:NAME", "dimse" or "stow" (the first item when none is chosen yet)."""
        combo = self.ui.sendDestinationComboBox
        index = combo.findData(parameters.sendDestination) if parameters.sendDestination else -1
        return combo.itemData(index if index >= 0 else 0) or TYPED_DIMSE

    def destination(self, parameters) -> "DimseDestination | StowDestination":
        """The destination the panel shows; SendError (in the panel's words) when it is incomplete or wrong."""
        from FAExportLib.send import DEFAULT_TIMEOUT, DimseDestination, SendError, StowDestination

        kind = self.destinationKind(parameters)
        if kind.startswith(SERVER_PREFIX):
            node = self.servers.get(kind[len(SERVER_PREFIX) :])
            if node is None:
                raise SendError(_("the server {name} is no longer configured in the DICOM module; choose another destination").format(name=kind[len(SERVER_PREFIX) :]))
            host = str(node["Address"]).strip()
            try:
                timeout = float(node.get("Timeout") or DEFAULT_TIMEOUT)
            except (TypeError, ValueError):
                timeout = DEFAULT_TIMEOUT
            return DimseDestination.parse(
                f"[{host}]:{node.get('Port', '')}" if ":" in host else f"{host}:{node.get('Port', '')}",
                str(node.get("Called AETitle") or "ANY-SCP"),
                str(node.get("Calling AETitle") or "FAEXPORT"),
                timeout if timeout > 0 else DEFAULT_TIMEOUT,
            )
        if kind == TYPED_STOW:
            if not parameters.sendURL.strip():
                raise SendError(_("enter the DICOMweb base URL to send to (e.g. https://pacs.example.org/dicom-web)"))
            user, password, token = (self.ui.sendUserLineEdit.text.strip(), self.ui.sendPasswordLineEdit.text, self.ui.sendTokenLineEdit.text.strip())
            if user and not password:
                raise SendError(_("enter the password of {user}, or clear the user name").format(user=user))
            return StowDestination.parse(parameters.sendURL, user or None, password or None, token or None)
        if not parameters.sendAddress.strip():
            raise SendError(_("enter the archive's address as host:port (e.g. pacs.example.org:104)"))
        return DimseDestination.parse(parameters.sendAddress, parameters.sendCalledAE.strip() or "ANY-SCP", parameters.sendCallingAE.strip() or "FAEXPORT")

    def options(self, parameters) -> dict:
        """The logic's send arguments (none when not sending); SendError as ``destination``."""
        if not parameters.sendAfterExport:
            return {}
        options = {"sendTo": self.destination(parameters)}
        if "pm" in parameters.exportMode.value and parameters.sendFallback.value:
            options["fallback"] = parameters.sendFallback.value
        return options

    def remember(self, parameters, destination: "DimseDestination | StowDestination") -> None:
        """A typed destination becomes Slicer's last send destination, as its DICOM send dialog stores it (no credentials)."""
        if self.destinationKind(parameters).startswith(SERVER_PREFIX):
            return
        settings = qt.QSettings()
        if destination.protocol == "stow":
            settings.setValue(LAST_SEND_KEYS["url"], destination.url)
            settings.setValue(LAST_SEND_KEYS["protocol"], "DICOMweb")
        else:
            settings.setValue(LAST_SEND_KEYS["url"], parameters.sendAddress.strip())
            settings.setValue(LAST_SEND_KEYS["aeTitle"], destination.called_ae)
            settings.setValue(LAST_SEND_KEYS["protocol"], "DIMSE")

    def update(self, parameters) -> None:
        """Show the fields of the chosen destination; enable them when sending is ticked."""
        combo = self.ui.sendDestinationComboBox
        kind = self.destinationKind(parameters)
        index = combo.findData(kind)
        if index >= 0 and index != combo.currentIndex:
            wasBlocking = combo.blockSignals(True)
            combo.currentIndex = index
            combo.blockSignals(wasBlocking)
        server = self.servers.get(kind[len(SERVER_PREFIX) :]) if kind.startswith(SERVER_PREFIX) else None
        # One frame per kind of destination: a hidden row of a QFormLayout would still leave its spacing (Qt 5).
        frames = {"server": self.ui.sendServerDescriptionLabel, TYPED_DIMSE: self.ui.sendDimseFrame, TYPED_STOW: self.ui.sendStowFrame}
        shown = "server" if server is not None else kind
        for key, frame in frames.items():
            frame.visible = key == shown
        if server is not None:
            self.ui.sendServerDescriptionLabel.text = _("C-STORE to {called} at {address}:{port}, calling AE title {calling}, timeout {timeout} s").format(
                called=server.get("Called AETitle") or "ANY-SCP",
                address=server["Address"],
                port=server.get("Port", ""),
                calling=server.get("Calling AETitle") or "FAEXPORT",
                timeout=server.get("Timeout") or 30,
            )
        sending = parameters.sendAfterExport
        for widget in (self.ui.sendDestinationLabel, self.ui.sendDestinationComboBox, *frames.values()):
            widget.enabled = sending
        writesMap = "pm" in parameters.exportMode.value
        self.ui.sendFallbackComboBox.enabled = sending and writesMap
        self.ui.sendFallbackLabel.enabled = sending and writesMap
        self.ui.sendFallbackComboBox.toolTip = (
            _("When the archive refuses the Parametric Map class, send the same values re-encoded as Secondary Capture or MR images instead (same study and frame of reference), or only report the refusal.")
            if writesMap
            else _("Only for a Parametric Map: this export writes no Parametric Map.")
        )

    def problem(self, parameters) -> str:
        """Why the chosen destination cannot be used (empty when it can, or when not sending)."""
        from FAExportLib import FAExportError

        if not parameters.sendAfterExport:
            return ""
        try:
            self.destination(parameters)
        except FAExportError as error:
            return _("Cannot send: {error}").format(error=inPanelWords(self.ui, error))
        return ""
