"""The panel's send section: the DICOM module's configured servers, the destination chosen or typed, Slicer's last
send destination, and the credentials (typed only, kept in neither the scene nor the settings).

Slicer's settings keys. The DICOM module's two browsers keep a server list each (CTK at the commit Slicer 5.12.3 pins,
Libs/DICOM/Widgets/); both are offered, one entry per host, port and called AE title:
- the visual browser's ctkDICOMServerNodeWidget2 (saveSettings, ctkDICOMServerNodeWidget2.cpp:1374-1417, the row from
  serverNodeParameters, :484-530) writes "DICOM/ServerNodeCount" and one indented JSON document per row under
  "DICOM/ServerNodes/N": "Name", "Address", "Port" as text, "Called AETitle", "Calling AETitle", "Timeout", and its
  Storage column as "StorageCheckState" 0/2, which becomes ctkDICOMServer::storageEnabled (:828; Libs/DICOM/Core/
  ctkDICOMServer.h:68-72): only rows with Storage ticked are offered.
- the classic browser, Slicer's default (Modules/Scripted/DICOM/DICOM.py:474, "DICOM/UseVisualDICOMBrowser" False),
  keeps the servers of its query/retrieve dialog with ctkDICOMServerNodeWidget (saveSettings/readSettings,
  ctkDICOMServerNodeWidget.cpp:161-231, the row from serverNodeParameters, :328-352): "ServerNodeCount" and
  "ServerNodes/N" at the top level of the settings, each a QVariantMap of the table's columns ("Name", "AETitle" = the
  called AE title, "Address", "Port" as text, "CGET" 0/2) and "CheckState" 0/2, which only selects the server for
  the next query (ctkDICOMQueryRetrieveWidget.cpp:217-233); one calling AE title for all, "CallingAETitle". It records
  nothing about storage, so every row is offered but CTK's two examples (readSettings, :197-215).
The last destination of Slicer's own send dialog: Modules/Scripted/DICOMLib/DICOMSendDialog.py.
"""

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from FAExportSlicerLib.i18n import _
from FAExportSlicerLib.labels import inPanelWords

import qt

if TYPE_CHECKING:
    from FAExportLib.send import DimseDestination, StowDestination

VISUAL_BROWSER, CLASSIC_BROWSER = "visual", "classic"  # a server's "Source"
SERVER_COUNT_KEY = "DICOM/ServerNodeCount"
SERVER_NODE_KEY = "DICOM/ServerNodes/{row}"
CLASSIC_SERVER_COUNT_KEY = "ServerNodeCount"
CLASSIC_SERVER_NODE_KEY = "ServerNodes/{row}"
CLASSIC_CALLING_AE_KEY = "CallingAETitle"
# The rows ctkDICOMServerNodeWidget::readSettings puts in an empty list, saved with it on the first change: a made-up
# host and a public test archive, not servers the user configured (Name, AETitle, Address, Port).
CTK_EXAMPLE_SERVERS = {("ExampleHost", "AETITLE", "dicom.example.com", "11112"), ("MedicalConnections", "ANYAE", "dicomserver.co.uk", "104")}
LAST_SEND_KEYS = {"url": "DICOM/Send/URL", "aeTitle": "DICOM/Send/AETitle", "protocol": "DICOM/Send/Protocol"}
TYPED_DIMSE, TYPED_STOW, SERVER_PREFIX = "dimse", "stow", "server:"


def rowCount(settings, key: str) -> int:
    """A browser's number of servers (0 when absent or not a number)."""
    try:
        return max(int(settings.value(key, 0) or 0), 0)
    except (TypeError, ValueError):
        return 0


def storedNode(value) -> dict | None:
    """A server row as stored: a QVariantMap (the classic browser) or a JSON document in a QByteArray (the visual one)."""
    if isinstance(value, dict):
        return value
    if hasattr(value, "data"):  # QByteArray
        value = value.data()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    try:
        node = json.loads(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
    return node if isinstance(node, dict) else None


def isChecked(value) -> bool:
    """A stored Qt::CheckState (0 unchecked, 1 partially, 2 checked; an int, or text in an INI file) is not 0."""
    try:
        return int(value or 0) != 0
    except (TypeError, ValueError):
        return False


def visualBrowserServers(settings) -> Iterator[dict]:
    """The visual browser's servers, as stored (with Storage ticked or not)."""
    for row in range(rowCount(settings, SERVER_COUNT_KEY)):
        node = storedNode(settings.value(SERVER_NODE_KEY.format(row=row)))
        if node and node.get("Name") and node.get("Address"):
            yield {**node, "Source": VISUAL_BROWSER}


def classicBrowserServers(settings) -> Iterator[dict]:
    """The classic browser's servers in the visual browser's keys (no timeout: the send's default)."""
    callingAE = str(settings.value(CLASSIC_CALLING_AE_KEY, "") or "").strip()
    for row in range(rowCount(settings, CLASSIC_SERVER_COUNT_KEY)):
        node = storedNode(settings.value(CLASSIC_SERVER_NODE_KEY.format(row=row)))
        if not node or not node.get("Name") or not node.get("Address"):
            continue
        name, called, address, port = (str(node.get(key) or "").strip() for key in ("Name", "AETitle", "Address", "Port"))
        if (name, called, address, port) in CTK_EXAMPLE_SERVERS:
            continue
        yield {"Name": name, "Address": address, "Port": port, "Called AETitle": called, "Calling AETitle": callingAE, "Source": CLASSIC_BROWSER}


def serverIdentity(node: dict) -> tuple[str, str, str]:
    """What makes two rows the same archive: host (any case), port (as a number when it is one) and called AE title."""
    port = str(node.get("Port") or "").strip()
    return (str(node["Address"]).strip().lower(), str(int(port)) if port.isdigit() else port, str(node.get("Called AETitle") or "ANY-SCP").strip())


def configuredServers() -> list[dict]:
    """The DICOM module's servers that may take a C-STORE (see the module's docstring), in the visual browser's keys
    plus "Source", each archive once. An archive in both lists is the visual browser's: it says whether the server
    stores (unticked, it is not offered at all) and has the calling AE title and the timeout for it.
    """
    settings = qt.QSettings()
    visual = list(visualBrowserServers(settings))
    storing = [node for node in visual if isChecked(node.get("StorageCheckState"))]
    notStoring = {serverIdentity(node) for node in visual} - {serverIdentity(node) for node in storing}
    servers, seen = [], set(notStoring)
    for node in (*storing, *classicBrowserServers(settings)):
        if serverIdentity(node) not in seen:
            seen.add(serverIdentity(node))
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
            self.servers = {}
            for node in configuredServers():
                text = _("{name} ({called}@{address}:{port})").format(name=node["Name"], called=node.get("Called AETitle") or "ANY-SCP", address=node["Address"], port=node.get("Port", ""))
                key = node["Name"] if node["Name"] not in self.servers else text  # two archives of one name, one in each browser
                self.servers[key] = node
                combo.addItem(text, SERVER_PREFIX + key)
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
            if server.get("Source") == CLASSIC_BROWSER:  # the only list that cannot say whether the server stores
                self.ui.sendServerDescriptionLabel.text += "\n" + _("From the DICOM browser's query servers, which do not say whether a server accepts storage.")
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
