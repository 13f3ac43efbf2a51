"""FAExport: export computed quantitative maps (e.g. diffusion FA) from Slicer to DICOM without losing values.

The encoding is done by the bundled, Slicer-free package ``FAExportLib``; this file is the Slicer glue:
volume node and subject hierarchy in, Slicer's DICOM database out, plus the module panel.

Console use::

    import FAExport
    result = FAExport.FAExportLogic().exportVolume(getNode("FA"), mode="mr+pm")
    print(result.summary())

Slicer imports every module file when it starts, so this file imports only what the module registry needs:
numpy, pydicom and FAExportLib (the encoder) are imported where an export or a preview uses them.
"""

import enum
import importlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import slicer
import vtk
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSubjectHierarchyConstants, vtkMRMLSubjectHierarchyNode

if TYPE_CHECKING:
    import numpy as np

    from FAExportLib import Code, ExportMetadata, Quantity, SeriesResult
    from FAExportLib.send import DimseDestination, SendResult, StowDestination
    from FAExportLib.sources import SourceSeries

# Slicer releases FAExport runs on: 5.12 bundles pydicom 3.0.2 and highdicom 0.27 and has slicer.packaging (5.11+).
# Slicer 5.10 bundles pydicom 2.4 (no pydicom.pixels, which FAExportLib needs) and has neither.
MINIMUM_SLICER_VERSION = (5, 12)


def slicerVersionProblem() -> str | None:
    """Why this Slicer cannot run FAExport (None when it can, or outside the application)."""
    if not hasattr(slicer, "app"):
        return None
    version = (int(slicer.app.majorVersion), int(slicer.app.minorVersion))
    if version >= MINIMUM_SLICER_VERSION:
        return None
    return (
        f"FAExport needs 3D Slicer {MINIMUM_SLICER_VERSION[0]}.{MINIMUM_SLICER_VERSION[1]} or later; this is Slicer {version[0]}.{version[1]}, "
        "whose bundled pydicom is too old and which has no slicer.packaging. Install the current Slicer release to use FAExport."
    )


# The application is detected by slicer.app (Base/Python/slicer/__init__.py: set only inside the application), not by
# catching ImportError: a real import failure inside Slicer must show, not turn the module into a panel-less one.
if hasattr(slicer, "app"):
    from slicer.i18n import tr as _
    from slicer.i18n import translate
    from slicer.parameterNodeWrapper import WithinRange, parameterNodeWrapper
    from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget
    from slicer.util import VTKObservationMixin

    if slicerVersionProblem() is None:
        import slicer.packaging  # Slicer 5.11+; not imported by slicer/__init__.py, so import it here
else:
    # PyPI slicer-core or PythonSlicer: MRML without Qt. Only FAExportLogic is used there; the panel's base classes are
    # empty stand-ins.
    ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget, VTKObservationMixin = (
        type(name, (), {}) for name in ("ScriptedLoadableModule", "ScriptedLoadableModuleLogic", "ScriptedLoadableModuleTest", "ScriptedLoadableModuleWidget", "VTKObservationMixin")
    )

    def _(text: str) -> str:
        return text

    def translate(context: str, text: str) -> str:
        return text

    def parameterNodeWrapper(cls):
        return cls

    def WithinRange(minimum, maximum):  # noqa: N802 -- Slicer's name
        return None


# FAExportLib's errors, as attributes of this module for console users (``except FAExport.InputError``), imported on
# first use (PEP 562) so that Slicer's start-up does not import the encoder.
LAZY_EXPORTS = ("FAExportError", "InputError", "OutputError", "ScaleError", "ExportCancelled", "VerificationError")


def __getattr__(name: str):
    if name in LAZY_EXPORTS:
        import FAExportLib

        return getattr(FAExportLib, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


REQUIREMENTS_FILE = Path(__file__).resolve().parent / "Resources" / "requirements.txt"
SEND_REQUIREMENTS_FILE = Path(__file__).resolve().parent / "Resources" / "requirements-send.txt"
# Sending: protocol -> (module, pip requirement). Slicer bundles dicomweb-client; pynetdicom is installed on demand.
SEND_LIBRARIES = {"dimse": ("pynetdicom", "pynetdicom>=2.1"), "stow": ("dicomweb_client", "dicomweb-client>=0.59")}
DOCUMENTATION_URL = "https://github.com/FAExport/FAExport#readme"
HIGHDICOM_MISSING = (
    "mode {mode} writes a Parametric Map, which needs the Python package highdicom (bundled with Slicer 5.12 and later). "
    "Install it once from Slicer's Python console with: slicer.util.pip_install('highdicom>=0.27') and restart Slicer; "
    "or choose mode mr or sc"
)
NON_SCALAR_NODE_CLASSES = {
    "vtkMRMLLabelMapVolumeNode": "a labelmap (its voxels are segment labels, not measurements)",
    # Checked in this order: Slicer's vector volume node derives from its tensor volume node.
    "vtkMRMLVectorVolumeNode": "a vector or RGB volume (extract one scalar component first)",
    "vtkMRMLTensorVolumeNode": "a tensor volume (compute a scalar map such as FA from it first)",
}
# Slicer's settings keys. The DICOM module's servers: CTK's ctkDICOMServerNodeWidget2 (Libs/DICOM/Widgets/
# ctkDICOMServerNodeWidget2.cpp at the CTK commit Slicer 5.12.3 pins, saveSettings/readSettings) writes the count and one
# JSON object per row ("Name", "Address", "Port" as text, "Called AETitle", "Calling AETitle", "StorageCheckState" 0/2,
# "Timeout"). The last destination of Slicer's own send dialog: Modules/Scripted/DICOMLib/DICOMSendDialog.py.
SERVER_COUNT_KEY = "DICOM/ServerNodeCount"
SERVER_NODE_KEY = "DICOM/ServerNodes/{row}"
LAST_SEND_KEYS = {"url": "DICOM/Send/URL", "aeTitle": "DICOM/Send/AETitle", "protocol": "DICOM/Send/Protocol"}
TYPED_DIMSE, TYPED_STOW, SERVER_PREFIX = "dimse", "stow", "server:"
# Custom scale limits, the same in FAExport.ui (3 decimals): the smallest is still > 0 at the spin box's precision.
CUSTOM_SCALE_RANGE = (0.001, 1e9)
OTHER_QUANTITY = "other"


#
# FAExport
#


class FAExport(ScriptedLoadableModule):
    """Module description for Slicer's module registry."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("FA Export")
        # SlicerDMRI files its DICOM plugins under "Diffusion.Import and Export"; this module belongs next to them.
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Diffusion.Import and Export")]
        self.parent.dependencies = ["DICOM"]
        self.parent.contributors = ["FAExport Maintainers (FAExport project)"]  # "First Last (Organization)", as the template writes it
        self.parent.helpText = _(
            "Export a computed scalar map (e.g. diffusion FA, MD, ADC) to DICOM without losing values: classic MR images "
            "with one rescale per series, multi-frame Secondary Capture, or an exact float32 Parametric Map. "
            "The quantization error is shown before exporting, and values that do not fit are never clipped. "
            'See the <a href="{url}">module documentation</a>.',
        ).format(url=DOCUMENTATION_URL)
        self.parent.acknowledgementText = _("FAExport uses pydicom and highdicom, and is checked against dcm2niix, dcmqi, GDCM and dciodvfy.")
        problem = slicerVersionProblem()
        if problem:
            logging.error(problem)
            self.parent.helpText = problem + "\n\n" + self.parent.helpText


#
# Parameter node
#


class ExportMode(enum.Enum):
    """What to write; the values are FAExportLib's mode names."""

    MR = "mr"
    SC = "sc"
    PM = "pm"
    MR_PM = "mr+pm"

    def label(self) -> str:
        return {
            "mr": _("MR images (int16 + rescale, any PACS)"),
            "sc": _("Secondary Capture (multi-frame, rescale)"),
            "pm": _("Parametric Map (exact float32)"),
            "mr+pm": _("MR images + Parametric Map"),
        }[self.value]


class ScaleChoice(enum.Enum):
    """How float values become integers in the MR and SC modes."""

    AUTO = "auto"
    X1000 = "1000"
    X32000 = "32000"
    CUSTOM = "custom"

    def label(self) -> str:
        return {"auto": _("auto (finest that fits)"), "1000": "x1000", "32000": "x32000", "custom": _("custom")}[self.value]


class Laterality(enum.Enum):
    """The side of a paired body part; the values are FAExportLib's (--laterality)."""

    NONE = ""
    L = "L"
    R = "R"
    B = "B"
    U = "U"

    def label(self) -> str:
        return {"": _("not given"), "L": _("L (left)"), "R": _("R (right)"), "B": _("B (both)"), "U": _("U (unpaired)")}[self.value]


class SendFallback(enum.Enum):
    """What to send when the archive refuses the Parametric Map; the values are FAExportLib's fallback modes."""

    NONE = ""
    SC = "sc"
    MR = "mr"

    def label(self) -> str:
        return {
            "": _("report it, send nothing else"),
            "sc": _("send SC instead (sc)"),
            "mr": _("send MR instead (mr)"),
        }[self.value]


@parameterNodeWrapper
class FAExportParameterNode:
    """The panel's state, saved with the scene."""

    inputVolume: vtkMRMLScalarVolumeNode
    sourceVolume: vtkMRMLScalarVolumeNode
    exportMode: ExportMode = ExportMode.MR
    scaleChoice: ScaleChoice = ScaleChoice.AUTO
    customScale: Annotated[float, WithinRange(*CUSTOM_SCALE_RANGE)] = 1000.0
    quantity: str = ""  # a known quantity name, OTHER_QUANTITY, or "" (the volume's own, else FA); the combo is filled from FAExportLib
    quantityCode: str = ""
    quantityUnit: str = ""
    patientName: str = ""
    patientID: str = ""
    studyDescription: str = ""
    seriesDescription: str = ""
    seriesNumber: Annotated[int, WithinRange(0, 99999)] = 0
    replaceNonFinite: bool = False  # export NaN/infinite voxels as 0 (else they block the export)
    plainIntegers: bool = False  # mr/sc: stored = round(value x scale), RescaleSlope 1
    allowCoarseScale: bool = False  # export with a scale the preview refuses as too coarse for the values
    laterality: Laterality = Laterality.NONE
    addToDatabase: bool = True
    writeToFolder: bool = False
    outputFolder: str = ""  # synced in code: a Path parameter would show "." in the empty folder field
    # Sending. No user name, password or token here: the parameter node is saved with the scene.
    sendAfterExport: bool = False
    sendDestination: str = ""  # synced in code (the combo lists the DICOM module's servers): "server:NAME", "dimse" or "stow"
    sendAddress: str = ""
    sendCalledAE: str = ""
    sendCallingAE: str = ""
    sendURL: str = ""
    sendFallback: SendFallback = SendFallback.NONE


#
# Widget
#


class FAExportWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """The module panel: pick a volume, a mode and a scale, see the error, export."""

    def __init__(self, parent=None) -> None:
        # Members first: without a parent the base class calls setup() from its own __init__
        # (Base/Python/slicer/ScriptedLoadableModule.py), so they must exist then and must not be reset afterwards.
        # The base class's super().__init__() also initializes VTKObservationMixin (cooperative inheritance).
        self.logic = None
        self.ui = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._observedVolume = None
        self._previewKey = None
        self._previewState = (None, "")
        self._exporting = False
        self._shownSeriesUIDs: list[str] = []
        self._servers: dict[str, dict] = {}
        self._coarseScaleRefused = False
        ScriptedLoadableModuleWidget.__init__(self, parent)

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/FAExport.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        problem = slicerVersionProblem()
        if problem:
            for section in (self.ui.inputsCollapsibleButton, self.ui.studyCollapsibleButton, self.ui.encodingCollapsibleButton, self.ui.outputCollapsibleButton):
                section.enabled = False
            self.ui.exportButton.enabled = False
            self.ui.resultLabel.text = problem
            return
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = FAExportLogic()
        self.populateQuantityComboBox()
        self.populateSendDestinations()
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.exportButton.connect("clicked(bool)", self.onExportButton)
        self.ui.showInBrowserButton.connect("clicked(bool)", self.onShowInBrowserButton)
        self.ui.quantityComboBox.connect("currentIndexChanged(int)", self.onQuantityComboBox)
        self.ui.outputFolderPathLineEdit.connect("currentPathChanged(QString)", self.onOutputFolderChanged)
        self.ui.sendDestinationComboBox.connect("currentIndexChanged(int)", self.onSendDestinationComboBox)
        # Credentials are not parameters (the scene would save them): their fields update the panel themselves.
        for lineEdit in (self.ui.sendUserLineEdit, self.ui.sendPasswordLineEdit, self.ui.sendTokenLineEdit):
            lineEdit.connect("textChanged(QString)", self.onCredentialsChanged)
        self.ui.showInBrowserButton.enabled = False
        self.alignSendLabels()
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()

    def enter(self) -> None:
        if self.logic is not None:
            self.populateSendDestinations()  # servers may have been configured in the DICOM module meanwhile
            self.initializeParameterNode()

    def exit(self) -> None:
        self.setParameterNode(None)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        self.ui.resultLabel.text = ""
        self.ui.showInBrowserButton.enabled = False
        if getattr(self.parent, "isEntered", True):  # a widget made without a module (console, tests) has no isEntered
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.inputVolume:
            firstVolume = self.logic.firstScalarVolume(slicer.mrmlScene)
            if firstVolume:
                self._parameterNode.inputVolume = firstVolume
        self.prefillLastSendDestination()

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameterNodeModified)
            self.observeVolume(None)
        self._parameterNode = inputParameterNode
        self._previewKey = None
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameterNodeModified)
            self.onParameterNodeModified()

    # --- reacting to the parameters and to the map's voxels

    def observeVolume(self, volumeNode) -> None:
        """Follow the selected map's voxels: a processing module may fill or change them after it was selected."""
        if volumeNode is self._observedVolume:
            return
        # New image data fires ImageDataModifiedEvent; voxels edited in place (slicer.util.arrayFromVolumeModified)
        # only modify the scalars array and the node. The preview key (modification times) tells which changed.
        events = (slicer.vtkMRMLVolumeNode.ImageDataModifiedEvent, vtk.vtkCommand.ModifiedEvent)
        if self._observedVolume is not None:
            for event in events:
                self.removeObserver(self._observedVolume, event, self.onVolumeModified)
        self._observedVolume = volumeNode
        if volumeNode is not None:
            for event in events:
                self.addObserver(volumeNode, event, self.onVolumeModified)
            self.prefillFromVolume(volumeNode)

    def onVolumeModified(self, caller=None, event=None) -> None:
        self.updatePanel()

    def onParameterNodeModified(self, caller=None, event=None) -> None:
        if self._parameterNode is None:
            return
        self.observeVolume(self._parameterNode.inputVolume)
        self.updatePanel()

    def prefillFromVolume(self, volumeNode) -> None:
        """Quantity, code and unit from the node's VoxelValueQuantity/Units, when it has them."""
        quantity = self.logic.quantityOf(volumeNode)
        if quantity is None:
            return
        from FAExportLib import known_quantities

        known = known_quantities()
        parameters = self._parameterNode
        wasModifying = parameters.StartModify()
        try:
            if quantity.name in known and known[quantity.name].code == quantity.code:
                parameters.quantity = quantity.name
            else:
                parameters.quantity = OTHER_QUANTITY
            parameters.quantityCode = codeText(quantity.code) if quantity.code else ""
            parameters.quantityUnit = unitText(quantity.unit) if quantity.unit else ""
        finally:
            parameters.EndModify(wasModifying)

    def populateQuantityComboBox(self) -> None:
        """The known quantities, then "other" (code and unit typed in). Slicer starts without FAExportLib; setup may import it."""
        from FAExportLib import known_quantities

        combo = self.ui.quantityComboBox
        combo.clear()
        combo.addItem(_("from the volume, else FA"), "")
        for name, quantity in known_quantities().items():
            combo.addItem(quantityLabel(name, quantity), name)
        combo.addItem(_("other (enter code and unit)"), OTHER_QUANTITY)
        combo.maxVisibleItems = 20  # about 40 entries: show half of them at once, not Qt's 10

    def onQuantityComboBox(self, index: int) -> None:
        parameters = self._parameterNode
        if parameters is None or index < 0:
            return
        quantity = self.ui.quantityComboBox.itemData(index) or ""
        if quantity == parameters.quantity:
            return
        wasModifying = parameters.StartModify()
        try:
            parameters.quantity = quantity
            parameters.quantityUnit = ""  # the previous quantity's unit would be wrong for this one: its own default applies
            if quantity != OTHER_QUANTITY:
                parameters.quantityCode = ""
        finally:
            parameters.EndModify(wasModifying)

    # --- sending: destinations

    @staticmethod
    def configuredServers() -> list[dict]:
        """The DICOM module's servers with Storage ticked, as CTK saves them in Slicer's settings (see SERVER_NODE_KEY)."""
        import qt

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

    def populateSendDestinations(self) -> None:
        """The destination combo: the configured servers, then C-STORE or STOW-RS to what is typed."""
        combo = self.ui.sendDestinationComboBox
        wasBlocking = combo.blockSignals(True)
        try:
            combo.clear()
            self._servers = {node["Name"]: node for node in self.configuredServers()}
            for name, node in self._servers.items():
                combo.addItem(_("{name} ({called}@{address}:{port})").format(name=name, called=node.get("Called AETitle") or "ANY-SCP", address=node["Address"], port=node.get("Port", "")), SERVER_PREFIX + name)
            combo.addItem(_("C-STORE to an address"), TYPED_DIMSE)
            combo.addItem(_("DICOMweb STOW-RS to a URL"), TYPED_STOW)
        finally:
            combo.blockSignals(wasBlocking)
        if self._parameterNode is not None:
            self.updatePanel()

    def prefillLastSendDestination(self) -> None:
        """Empty typed fields start from the last destination of Slicer's DICOM send dialog (DICOMSendDialog.py keys)."""
        import qt

        parameters = self._parameterNode
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

    def alignSendLabels(self) -> None:
        """The send section's labels in one column, although the typed fields sit in frames of their own."""
        labels = (
            self.ui.sendDestinationLabel, self.ui.sendFallbackLabel, self.ui.sendAddressLabel, self.ui.sendCalledAELabel,
            self.ui.sendCallingAELabel, self.ui.sendURLLabel, self.ui.sendUserLabel, self.ui.sendPasswordLabel, self.ui.sendTokenLabel,
        )
        width = max(label.sizeHint.width() for label in labels)
        for label in labels:
            label.minimumWidth = width

    def onSendDestinationComboBox(self, index: int) -> None:
        if self._parameterNode is not None and index >= 0:
            self._parameterNode.sendDestination = self.ui.sendDestinationComboBox.itemData(index) or ""

    def onCredentialsChanged(self, text: str = "") -> None:
        self.updatePanel()

    def sendDestinationKind(self) -> str:
        """The chosen destination's data: "server:NAME", "dimse" or "stow" (the first item when none is chosen yet)."""
        combo = self.ui.sendDestinationComboBox
        index = combo.findData(self._parameterNode.sendDestination) if self._parameterNode.sendDestination else -1
        return combo.itemData(index if index >= 0 else 0) or TYPED_DIMSE

    def sendDestination(self) -> "DimseDestination | StowDestination":
        """The destination the panel shows; SendError (in the panel's words) when it is incomplete or wrong."""
        from FAExportLib.send import DEFAULT_TIMEOUT, DimseDestination, SendError, StowDestination

        parameters = self._parameterNode
        kind = self.sendDestinationKind()
        if kind.startswith(SERVER_PREFIX):
            node = self._servers.get(kind[len(SERVER_PREFIX) :])
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

    def rememberSendDestination(self, destination: "DimseDestination | StowDestination") -> None:
        """A typed destination becomes Slicer's last send destination, as its DICOM send dialog stores it (no credentials)."""
        import qt

        if self.sendDestinationKind().startswith(SERVER_PREFIX):
            return
        settings = qt.QSettings()
        if destination.protocol == "stow":
            settings.setValue(LAST_SEND_KEYS["url"], destination.url)
            settings.setValue(LAST_SEND_KEYS["protocol"], "DICOMweb")
        else:
            settings.setValue(LAST_SEND_KEYS["url"], self._parameterNode.sendAddress.strip())
            settings.setValue(LAST_SEND_KEYS["aeTitle"], destination.called_ae)
            settings.setValue(LAST_SEND_KEYS["protocol"], "DIMSE")

    def updateSendSection(self) -> None:
        """Show the fields of the chosen destination; enable them when sending is ticked."""
        parameters = self._parameterNode
        combo = self.ui.sendDestinationComboBox
        kind = self.sendDestinationKind()
        index = combo.findData(kind)
        if index >= 0 and index != combo.currentIndex:
            wasBlocking = combo.blockSignals(True)
            combo.currentIndex = index
            combo.blockSignals(wasBlocking)
        server = self._servers.get(kind[len(SERVER_PREFIX) :]) if kind.startswith(SERVER_PREFIX) else None
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

    def sendProblem(self) -> str:
        """Why the chosen destination cannot be used (empty when it can, or when not sending)."""
        from FAExportLib import FAExportError

        if not self._parameterNode.sendAfterExport:
            return ""
        try:
            self.sendDestination()
        except FAExportError as error:
            return _("Cannot send: {error}").format(error=self.inPanelTerms(str(error)))
        return ""

    def panelFieldNames(self) -> dict[str, str]:
        """Command-line options (which FAExportLib's messages name) -> this panel's field labels, quoted."""
        labels = {
            "--quantity": self.ui.quantityLabel,
            "--quantity-code": self.ui.quantityCodeLabel,
            "--unit": self.ui.quantityUnitLabel,
            "--scale": self.ui.scaleLabel,
            "--plain-integers": self.ui.plainIntegersCheckBox,
            "--allow-coarse-scale": self.ui.allowCoarseScaleCheckBox,
            "--laterality": self.ui.lateralityLabel,
            "--series-description": self.ui.seriesDescriptionLabel,
            "--series-number": self.ui.seriesNumberLabel,
            "--patient-name": self.ui.patientNameLabel,
            "--patient-id": self.ui.patientIDLabel,
            "--study-description": self.ui.studyDescriptionLabel,
            "--fallback": self.ui.sendFallbackLabel,
            "--called-ae": self.ui.sendCalledAELabel,
            "--calling-ae": self.ui.sendCallingAELabel,
            "--stow-user": self.ui.sendUserLabel,
            "--stow-password": self.ui.sendPasswordLabel,
            "--stow-token": self.ui.sendTokenLabel,
            "--send-dimse": self.ui.sendAddressLabel,
            "--send-stow": self.ui.sendURLLabel,
        }
        # A checkbox's text is long ("Plain integers (readers get value x scale)"): its name is the part before "(".
        return {option: '"' + widget.text.split("(")[0].strip().rstrip(":") + '"' for option, widget in labels.items()}

    def inPanelTerms(self, message: str) -> str:
        """A message of FAExportLib with the panel's field names for the command-line options it mentions."""
        from FAExportLib.errors import name_options

        message = message.replace("FAEXPORT_STOW_PASSWORD (or --stow-password)", "--stow-password")
        message = message.replace("--stow-user and FAEXPORT_STOW_PASSWORD", "--stow-user and --stow-password")
        return name_options(message, self.panelFieldNames())

    def onOutputFolderChanged(self, path: str) -> None:
        if self._parameterNode is not None and self._parameterNode.outputFolder != path:
            self._parameterNode.outputFolder = path

    def scale(self):
        """The scale the panel asks for: 'auto', '1000', '32000' or the custom number."""
        choice = self._parameterNode.scaleChoice
        return self._parameterNode.customScale if choice == ScaleChoice.CUSTOM else choice.value

    def joinedStudy(self) -> dict:
        """Patient and study the export joins: those of the source series, else of the map's own DICOM study."""
        parameters = self._parameterNode
        for volumeNode in (parameters.sourceVolume, parameters.inputVolume):
            if volumeNode is not None:
                values = self.logic.subjectHierarchyMetadata(volumeNode)
                if values:
                    return values
        return {}

    def updatePanel(self) -> None:
        """Every widget state that follows from the parameters; the preview is recomputed only when it can change."""
        parameters = self._parameterNode
        if parameters is None or self.ui is None:
            return
        self.ui.customScaleSpinBox.enabled = parameters.scaleChoice == ScaleChoice.CUSTOM and parameters.exportMode != ExportMode.PM
        self.ui.scaleComboBox.enabled = parameters.exportMode != ExportMode.PM
        self.ui.outputFolderPathLineEdit.enabled = parameters.writeToFolder
        if self.ui.outputFolderPathLineEdit.currentPath != parameters.outputFolder:
            self.ui.outputFolderPathLineEdit.currentPath = parameters.outputFolder
        index = self.ui.quantityComboBox.findData(parameters.quantity)
        if index >= 0 and index != self.ui.quantityComboBox.currentIndex:
            self.ui.quantityComboBox.currentIndex = index
        other = parameters.quantity == OTHER_QUANTITY
        self.ui.quantityCodeLineEdit.enabled = other or self.quantityNeedsCode()
        self.ui.quantityUnitLineEdit.placeholderText = self.unitPlaceholder()
        integers = parameters.exportMode != ExportMode.PM
        self.ui.plainIntegersCheckBox.enabled = integers
        self.ui.plainIntegersCheckBox.toolTip = (
            _("Store round(value x scale) with RescaleSlope 1, for viewers that mishandle a fractional slope (OHIF/cornerstone3D) or round the window (Horos). Readers then get the values multiplied by the scale, which the series description states.")
            if integers
            else _("Only for MR images or Secondary Capture: a Parametric Map stores the exact float32 values.")
        )
        self.updateStudyFields()
        self.updateSendSection()
        text, reason = self.preview()
        # The override appears only when the preview refuses a coarse scale (and stays while it is ticked).
        self.ui.allowCoarseScaleCheckBox.visible = self._coarseScaleRefused or parameters.allowCoarseScale
        if not reason:
            reason = self.destinationProblem() or self.quantityProblem() or self.sendProblem()
        self.ui.previewLabel.text = text or ""
        self.ui.exportButton.enabled = not reason and not self._exporting
        self.ui.exportButton.toolTip = reason or _("Write the DICOM series; they appear complete or not at all.")
        self.ui.disabledReasonLabel.text = reason
        self.ui.disabledReasonLabel.visible = bool(reason)

    def updateStudyFields(self) -> None:
        joined = self.joinedStudy()
        for lineEdit, key in (
            (self.ui.patientNameLineEdit, "patient_name"),
            (self.ui.patientIDLineEdit, "patient_id"),
            (self.ui.studyDescriptionLineEdit, "study_description"),
        ):
            lineEdit.readOnly = bool(joined)
            if joined:
                lineEdit.text = joined.get(key, "")
        if joined:
            self.ui.studyLabel.text = _("Joins the existing study {study} (patient and study come from it).").format(study=joined.get("study_description") or joined["study_instance_uid"])
        else:
            self.ui.studyLabel.text = _("A new study is created with these fields.")

    def preview(self) -> tuple[str | None, str]:
        """(preview text, reason Export is disabled) for the current map, mode and scale; cached on what it depends on."""
        parameters = self._parameterNode
        volumeNode = parameters.inputVolume
        if volumeNode is None:
            return None, _("Select the map to export.")
        imageData = volumeNode.GetImageData()
        scalars = imageData.GetPointData().GetScalars() if imageData is not None else None
        voxelsTime = max(imageData.GetMTime() if imageData is not None else 0, scalars.GetMTime() if scalars is not None else 0)
        replacement = 0.0 if parameters.replaceNonFinite else None
        plainIntegers = self.plainIntegers()
        try:
            quantity = self.quantityOptions().get("quantity")
        except ValueError:
            quantity = None  # a malformed typed code: quantityProblem says so
        allowCoarse = parameters.allowCoarseScale
        key = (volumeNode.GetID(), voxelsTime, parameters.exportMode, self.scale(), replacement, plainIntegers, str(quantity), allowCoarse, self.volumeFile(volumeNode))
        if key != self._previewKey:
            from FAExportLib import CoarseScaleError, FAExportError
            from FAExportLib.volume_files import nifti_header_warnings

            self._coarseScaleRefused = False
            try:
                advice = _('fix the map, or tick "Replace NaN/infinite voxels with 0"')
                text = self.logic.previewText(
                    volumeNode, parameters.exportMode.value, self.scale(), replacement, nonFiniteAdvice=advice,
                    allowCoarseScale=allowCoarse, quantity=quantity, plainIntegers=plainIntegers,
                )
                # The file the map was loaded from: which NIfTI transform Slicer's reader used, when the other differs.
                fileWarnings = nifti_header_warnings(self.volumeFile(volumeNode)) if self.volumeFile(volumeNode) else []
                text = "\n".join([text, *(_("Warning: {warning}").format(warning=warning) for warning in fileWarnings)])
                self._previewState = (self.inPanelTerms(text), "")
            except CoarseScaleError as error:
                self._coarseScaleRefused = True
                self._previewState = (None, _("Cannot export: {error}").format(error=self.inPanelTerms(str(error))))
            except FAExportError as error:
                self._previewState = (None, _("Cannot export: {error}").format(error=self.inPanelTerms(str(error))))
            self._previewKey = key
        return self._previewState

    @staticmethod
    def volumeFile(volumeNode) -> str:
        """The file the map was loaded from (its storage node's), or "" for a map computed in the scene."""
        storageNode = volumeNode.GetStorageNode()
        return (storageNode.GetFileName() or "") if storageNode is not None else ""

    def plainIntegers(self) -> bool:
        """Plain integers as the export will use them: ticked, and the mode writes integers."""
        return self._parameterNode.plainIntegers and self._parameterNode.exportMode != ExportMode.PM

    def unitPlaceholder(self) -> str:
        """What an empty unit field means for the chosen quantity: its own unit, or the UCUM codes it takes."""
        from FAExportLib import InputError
        from FAExportLib.quantities import quantity_by_name

        name = self._parameterNode.quantity
        if name == OTHER_QUANTITY:
            return _("UCUM code, e.g. ms or mm2/s")
        if not name:
            quantity = self.logic.quantityOf(self._parameterNode.inputVolume) if self._parameterNode.inputVolume else None
            name = quantity.name if quantity is not None else "FA"
        try:
            quantity = quantity_by_name(name)
        except (InputError, ValueError):
            return _("UCUM code, e.g. ms or mm2/s")
        if quantity.unit is not None:
            return _("{unit} (the unit of {quantity})").format(unit=unitText(quantity.unit), quantity=quantity.name)
        if quantity.units:
            return _("UCUM code: {units}").format(units=_(" or ").join(quantity.units))
        return _("UCUM code, e.g. ms or mm2/s")

    def quantityProblem(self) -> str:
        """The unit field's text when it is not a unit; for a Parametric Map, a quantity without code or unit."""
        from FAExportLib import FAExportError
        from FAExportLib.pm import check_quantity
        from FAExportLib.quantities import parse_unit

        parameters = self._parameterNode
        if parameters.quantityUnit.strip():
            try:
                parse_unit(parameters.quantityUnit)
            except ValueError as error:
                return _("Cannot export: {error}").format(error=self.inPanelTerms(str(error)))
        if "pm" not in parameters.exportMode.value or parameters.inputVolume is None:
            return ""
        try:
            options = self.quantityOptions()
            quantity = options.get("quantity")
            if quantity is None:
                quantity = self.logic.quantityOf(parameters.inputVolume) or "FA"
            from FAExportLib.pipeline import resolve_quantity

            check_quantity(resolve_quantity(quantity, quantity_code=options.get("quantityCode"), unit=options.get("unit"), method=None))
        except (FAExportError, ValueError) as error:
            return _("Cannot export: {error}").format(error=self.inPanelTerms(str(error)))
        return ""

    def destinationProblem(self) -> str:
        parameters = self._parameterNode
        if not (parameters.addToDatabase or parameters.writeToFolder):
            return _("Choose where to export: the DICOM database, a folder, or both.")
        if parameters.writeToFolder and not parameters.outputFolder.strip():
            return _("Choose the output folder.")
        if parameters.quantity == OTHER_QUANTITY and not parameters.quantityCode.strip():
            return _("Enter the quantity's code as VALUE,SCHEME,MEANING (e.g. 110808,DCM,Fractional Anisotropy).")
        return ""

    # --- export

    def quantityNeedsCode(self) -> bool:
        """The chosen known quantity has no code in DICOM's vocabulary (a Parametric Map then needs one typed)."""
        from FAExportLib import known_quantities

        quantity = known_quantities().get(self._parameterNode.quantity)
        return quantity is not None and quantity.code is None

    def quantityOptions(self) -> dict:
        """The logic's quantity and unit arguments for the quantity, code and unit fields (ValueError for a bad code)."""
        from FAExportLib import Code, Quantity
        from FAExportLib.quantities import parse_unit

        parameters = self._parameterNode
        unit = parameters.quantityUnit.strip()
        if parameters.quantity == OTHER_QUANTITY:
            code = Code.parse(parameters.quantityCode)
            return {"quantity": Quantity(code.meaning or code.value, code=code, unit=parse_unit(unit) if unit else None)}
        options = {"quantity": parameters.quantity} if parameters.quantity else {}
        if parameters.quantityCode.strip() and self.quantityNeedsCode():
            options["quantityCode"] = parameters.quantityCode.strip()
        if unit:
            options["unit"] = unit  # a UCUM code or VALUE,SCHEME,MEANING: exportVolume parses it
        return options

    def exportOptions(self) -> dict:
        """The logic's keyword arguments for what the panel shows (the send destination included when sending)."""
        parameters = self._parameterNode
        options = {
            "mode": parameters.exportMode.value,
            "scale": self.scale(),
            "sourceVolumeNode": parameters.sourceVolume,
            "outputFolder": parameters.outputFolder.strip() if parameters.writeToFolder else None,
            "addToDatabase": parameters.addToDatabase,
            "replaceNonFinite": 0.0 if parameters.replaceNonFinite else None,
            "plainIntegers": self.plainIntegers(),
            "allowCoarseScale": self._parameterNode.allowCoarseScale,
            "laterality": self._parameterNode.laterality.value or None,
            **self.quantityOptions(),
        }
        if parameters.sendAfterExport:
            options["sendTo"] = self.sendDestination()
            if "pm" in parameters.exportMode.value and parameters.sendFallback != SendFallback.NONE:
                options["fallback"] = parameters.sendFallback.value
        metadata = {}
        if parameters.seriesDescription:
            metadata["series_description"] = parameters.seriesDescription
        if parameters.seriesNumber:
            metadata["series_number"] = parameters.seriesNumber
        if not self.joinedStudy():
            for key, value in (("patient_name", parameters.patientName), ("patient_id", parameters.patientID), ("study_description", parameters.studyDescription)):
                if value.strip():
                    metadata[key] = value.strip()
        options["metadata"] = metadata or None
        return options

    def onExportButton(self) -> None:
        if self._exporting:
            return  # a second press while exporting (cannot happen with the modal dialog; kept as a guard)
        from FAExportLib import ExportCancelled, FAExportError

        parameters = self._parameterNode
        self._exporting = True
        self.ui.exportButton.enabled = False
        self.ui.resultLabel.text = ""
        self.ui.showInBrowserButton.enabled = False
        progressDialog = None
        try:
            with slicer.util.tryWithErrorDisplay(_("Export failed."), waitCursor=True):
                if "pm" in parameters.exportMode.value:
                    slicer.packaging.pip_ensure(slicer.packaging.load_requirements(self.resourcePath("requirements.txt")), requester="FAExport")
                # Modal: nothing else in Slicer (Export again, closing the scene) can run while the files are written.
                progressDialog = slicer.util.createProgressDialog(
                    windowTitle=_("Exporting to DICOM"),
                    labelText=_("Preparing..."),
                    maximum=0,
                    windowModality=qtApplicationModal(),
                )

                def onProgress(message: str, filesDone: int) -> bool:
                    progressDialog.labelText = message
                    slicer.app.processEvents()
                    return progressDialog.wasCanceled

                try:
                    options = self.exportOptions()
                    result = self.logic.exportVolume(parameters.inputVolume, progressCallback=onProgress, **options)
                except ExportCancelled:
                    self.ui.resultLabel.text = _("Export cancelled; nothing was written.")
                    return
                except FAExportError as error:  # shown by tryWithErrorDisplay: in the panel's words, not the command line's
                    raise type(error)(self.inPanelTerms(str(error))) from error
                if "sendTo" in options:
                    self.rememberSendDestination(options["sendTo"])
                self.showResult(result)
        finally:
            if progressDialog is not None:
                progressDialog.setParent(None)
                progressDialog.close()
            self._exporting = False
            self.updatePanel()

    def showResult(self, result: "FAExportResult") -> None:
        self.ui.resultLabel.text = self.inPanelTerms(result.summary())
        self._shownSeriesUIDs = [item.series_instance_uid for item in result.series] if result.addedToDatabase else []
        self.ui.showInBrowserButton.enabled = bool(self._shownSeriesUIDs)

    def onShowInBrowserButton(self) -> None:
        """Open the DICOM module with the exported series' patient, study and series selected in its browser."""
        with slicer.util.tryWithErrorDisplay(_("Cannot show the series in the DICOM browser.")):
            slicer.util.selectModule("DICOM")  # creates the browser (slicer.modules.DICOMInstance.browserWidget) if needed
            FAExportLogic.refreshDICOMBrowser()
            database = FAExportLogic.dicomDatabase()
            if database is None or not self._shownSeriesUIDs:
                return
            # ctkDICOMTableManager/ctkDICOMTableView (CTK Libs/DICOM/Widgets): setCurrentSelection(uids) per table.
            tables = slicer.modules.DICOMInstance.browserWidget.dicomBrowser.dicomTableManager()
            studyUID = database.studyForSeries(self._shownSeriesUIDs[0])
            tables.patientsTable().setCurrentSelection([database.patientForStudy(studyUID)])
            tables.studiesTable().setCurrentSelection([studyUID])
            tables.seriesTable().setCurrentSelection(self._shownSeriesUIDs)


def codeText(code: "Code") -> str:
    """A code as the panel's fields show it (and Code.parse reads it): VALUE,SCHEME,MEANING."""
    return f"{code.value},{code.scheme},{code.meaning}"


def quantityLabel(name: str, quantity: "Quantity") -> str:
    """A quantity as the combo lists it: name and DICOM meaning ("MD (Mean Diffusivity)"), the meaning alone when it
    only spells the name differently ("Tmax"), and a note when DICOM has no code for it (mr/sc only, or a code typed).
    """
    if quantity.code is None:
        return _("{name} (no DICOM code)").format(name=name)
    if quantity.code.meaning.lower() == name.lower():
        return quantity.code.meaning
    return f"{name} ({quantity.code.meaning})"


def unitText(unit: "Code") -> str:
    """A unit as the panel's unit field shows it: the UCUM code alone (parse_unit reads it back), else VALUE,SCHEME,MEANING."""
    from FAExportLib.quantities import parse_unit

    if unit.scheme == "UCUM":
        try:
            parsed = parse_unit(unit.value)
            if (parsed.value, parsed.scheme) == (unit.value, unit.scheme):
                return unit.value
        except ValueError:
            pass
    return codeText(unit)


def qtApplicationModal():
    """qt.Qt.ApplicationModal, imported when needed (qt exists only in the application)."""
    import qt

    return qt.Qt.ApplicationModal


#
# Logic
#


@dataclass
class FAExportResult:
    """What one export wrote: each series (files at their final place) and whether Slicer's database has them."""

    series: "list[SeriesResult]"
    addedToDatabase: bool = False
    outputFolder: str | None = None
    sent: "SendResult | None" = None  # when sent to an archive (exportVolume's sendTo, or sendSeries)
    warnings: list[str] = field(default_factory=list)  # what the user should check (FAExportLib's, and the file's)

    def summary(self) -> str:
        """A few lines for the panel or the console, warnings last."""
        lines = []
        for item in self.series:
            count = len(item.files)
            files = _("1 file") if count == 1 else _("{count} files").format(count=count)
            if self.addedToDatabase and self.outputFolder is None:
                lines.append(_('{mode} "{description}": {files} in Slicer\'s DICOM database').format(mode=item.mode.upper(), description=item.series_description, files=files))
            elif self.addedToDatabase:
                lines.append(_('{mode} "{description}": {files} in {folder} and in Slicer\'s DICOM database').format(mode=item.mode.upper(), description=item.series_description, files=files, folder=item.directory))
            else:
                lines.append(_('{mode} "{description}": {files} in {folder}').format(mode=item.mode.upper(), description=item.series_description, files=files, folder=item.directory))
            if item.plain_integers:
                lines.append("  " + _("plain integers: readers get {quantity} x {factor:.12g} (RescaleSlope 1)").format(quantity=item.quantity, factor=item.value_scale))
            elif item.rescale_slope is not None:
                lines.append("  " + _("RescaleSlope {slope:.12g}, RescaleIntercept {intercept:.12g}").format(slope=item.rescale_slope, intercept=item.rescale_intercept))
            lines.append("  " + _("worst-case error {bound:.3g}, measured {measured:.3g}").format(bound=item.max_quantization_error, measured=item.measured_max_error))
        if self.sent is not None:
            lines.append(self.sent.summary())
        lines.extend(_("Warning: {warning}").format(warning=warning) for warning in self.warnings)
        return "\n".join(lines)


class FAExportLogic(ScriptedLoadableModuleLogic):
    """Export scalar volume nodes to DICOM files and to Slicer's DICOM database.

    Usable from the panel, the Python console and batch mode; needs no Qt (it runs under PyPI slicer-core).
    """

    def __init__(self) -> None:
        if hasattr(slicer, "app"):
            ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return FAExportParameterNode(super().getParameterNode())

    def preview(
        self,
        volumeNode: vtkMRMLScalarVolumeNode,
        mode: str,
        scale,
        replaceNonFinite: float | None = None,
        nonFiniteAdvice: str | None = None,
        allowCoarseScale: bool = False,
        quantity: "str | Quantity | None" = None,
        plainIntegers: bool = False,
    ):
        """FAExportLib.preview of the node: value range, rescale (or plain-integer factor) and ``warnings``.

        Raises InputError/ScaleError/CoarseScaleError saying why the export would be refused (NaN/infinite voxels,
        values that do not fit, a scale too coarse). ``nonFiniteAdvice`` replaces the library's way out for
        NaN/infinite voxels (which names the command-line option).
        """
        import numpy as np

        from FAExportLib import InputError, preview

        array = self.voxelArray(volumeNode)
        if nonFiniteAdvice and replaceNonFinite is None and np.issubdtype(array.dtype, np.floating):
            count = int(array.size - np.count_nonzero(np.isfinite(array)))
            if count:
                what = _("1 voxel is NaN or infinite") if count == 1 else _("{count} voxels are NaN or infinite").format(count=count)
                raise InputError(f"{what}; {nonFiniteAdvice}")
        return preview(
            array,
            "auto" if mode == "pm" else scale,
            replaceNonFinite,
            allow_coarse_scale=allowCoarseScale,
            quantity=quantity or self.quantityOf(volumeNode) or "FA",
            plain_integers=plainIntegers and mode != "pm",
        )

    def previewText(
        self,
        volumeNode: vtkMRMLScalarVolumeNode,
        mode: str,
        scale,
        replaceNonFinite: float | None = None,
        nonFiniteAdvice: str | None = None,
        allowCoarseScale: bool = False,
        quantity: "str | Quantity | None" = None,
        plainIntegers: bool = False,
    ) -> str:
        """The panel's text: the value range, the stored integers and the worst-case error the chosen scale gives, then
        one line per warning. Raises what ``preview`` raises.

        ``plainIntegers`` (mr, sc, mr+pm): the factor, and that readers get the values multiplied by it (RescaleSlope 1).
        """
        plainIntegers = plainIntegers and mode != "pm"
        checked = self.preview(volumeNode, mode, scale, replaceNonFinite, nonFiniteAdvice, allowCoarseScale, quantity, plainIntegers)
        values = {
            "low": checked.value_range.minimum,
            "high": checked.value_range.maximum,
            "lowStored": checked.rescale.stored_value(checked.value_range.minimum),
            "highStored": checked.rescale.stored_value(checked.value_range.maximum),
            "error": checked.max_quantization_error,
        }
        if mode == "pm":
            text = _("Values {low:.6g} to {high:.6g}; the Parametric Map stores them as float32 (exact for a float32 map).").format(**values)
        elif plainIntegers:
            text = _(
                "Values {low:.6g} to {high:.6g} are stored as plain integers {lowStored:.0f} to {highStored:.0f} = value x {factor} (RescaleSlope 1): "
                "readers get the values multiplied by {factor}, and the series description says so; worst-case error {error:.3g} (in the original units).",
            ).format(factor=checked.rescale.scale_label, **values)
            if mode == "mr+pm":
                text += " " + _("The Parametric Map keeps the values themselves (float32).")
        else:
            text = _("Values {low:.6g} to {high:.6g} are stored as integers {lowStored:.0f} to {highStored:.0f} (RescaleSlope {slope}); worst-case quantization error {error:.3g}.").format(
                slope=checked.rescale.slope_text,
                **values,
            )
            if mode == "mr+pm":
                text += " " + _("The Parametric Map keeps them exactly (float32).")
        return "\n".join([text, *(_("Warning: {warning}").format(warning=warning) for warning in checked.warnings)])

    # --- inputs from the scene

    @staticmethod
    def firstScalarVolume(scene):
        """The first node that is exactly a scalar volume, as the panel's selector lists them (not a DWI, DTI or labelmap)."""
        for index in range(scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")):
            node = scene.GetNthNodeByClass(index, "vtkMRMLScalarVolumeNode")
            if node.GetClassName() == "vtkMRMLScalarVolumeNode" and not node.GetHideFromEditors():
                return node
        return None

    @staticmethod
    def voxelArray(volumeNode: vtkMRMLScalarVolumeNode) -> "np.ndarray":
        """The node's voxels as array[k, j, i], a view of its image data (no copy); refuses what is not one scalar map."""
        from FAExportLib import InputError

        if volumeNode is None:
            raise InputError("no volume was given; select the scalar map to export")
        name = volumeNode.GetName()
        for className, what in NON_SCALAR_NODE_CLASSES.items():
            if volumeNode.IsA(className):
                raise InputError(f'volume "{name}" is {what}; FAExport exports scalar maps')
        imageData = volumeNode.GetImageData()
        if imageData is None or imageData.GetPointData().GetScalars() is None:
            raise InputError(f'volume "{name}" has no voxels (no image data); load or compute the map first')
        components = imageData.GetNumberOfScalarComponents()
        if components != 1:
            raise InputError(f'volume "{name}" has {components} values per voxel; FAExport exports scalar maps (one value per voxel)')
        return slicer.util.arrayFromVolume(volumeNode)

    @staticmethod
    def worldIJKToRAS(volumeNode: vtkMRMLScalarVolumeNode) -> "np.ndarray":
        """IJK-to-RAS where the user sees the volume: with its parent transforms applied, which must be linear."""
        from FAExportLib import InputError

        ijkToRAS = vtk.vtkMatrix4x4()
        volumeNode.GetIJKToRASMatrix(ijkToRAS)
        matrix = slicer.util.arrayFromVTKMatrix(ijkToRAS)
        transformNode = volumeNode.GetParentTransformNode()
        if transformNode is None:
            return matrix
        if not transformNode.IsTransformToWorldLinear():
            raise InputError(
                f'volume "{volumeNode.GetName()}" is under the non-linear transform "{transformNode.GetName()}"; DICOM images '
                "cannot carry a warp: harden the transform (Data module, right-click the volume, Harden transform) to resample "
                "the map, or remove the transform",
            )
        toWorld = vtk.vtkMatrix4x4()
        transformNode.GetMatrixTransformToWorld(toWorld)
        return slicer.util.arrayFromVTKMatrix(toWorld) @ matrix

    @staticmethod
    def quantityOf(volumeNode: vtkMRMLScalarVolumeNode) -> "Quantity | None":
        """The node's VoxelValueQuantity/Units as a Quantity (known ones by code), or None when not set."""
        from FAExportLib import Code, Quantity
        from FAExportLib.quantities import quantity_by_code

        coded = volumeNode.GetVoxelValueQuantity()
        if coded is None or coded.IsEmpty():
            return None
        code = Code(coded.GetCodeValue(), coded.GetCodingSchemeDesignator(), coded.GetCodeMeaning())
        quantity = quantity_by_code(code)  # FAExport's names and DICOM's vocabulary
        if quantity is None:
            quantity = Quantity(code.meaning or code.value, code=code, unit=None)
        units = volumeNode.GetVoxelValueUnits()
        if units is not None and not units.IsEmpty():
            quantity = replace(quantity, unit=Code(units.GetCodeValue(), units.GetCodingSchemeDesignator(), units.GetCodeMeaning()))
        return quantity

    @staticmethod
    def subjectHierarchyMetadata(volumeNode: vtkMRMLScalarVolumeNode) -> dict:
        """Patient and study attributes of the study the volume sits under in the subject hierarchy (empty if none)."""
        scene = volumeNode.GetScene()
        shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene) if scene else None
        if shNode is None:
            return {}
        item = shNode.GetItemByDataNode(volumeNode)
        constants = vtkMRMLSubjectHierarchyConstants
        studyItem = shNode.GetItemAncestorAtLevel(item, constants.GetDICOMLevelStudy()) if item else 0
        if not studyItem:
            return {}
        studyUID = shNode.GetItemUID(studyItem, constants.GetDICOMUIDName()) or shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyInstanceUIDAttributeName())
        if not studyUID:
            return {}  # a study folder made by hand, not from DICOM: nothing to join
        values = {
            "study_instance_uid": studyUID,
            "study_id": shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyIDAttributeName()),
            "study_date": shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyDateAttributeName()),
            "study_time": shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyTimeAttributeName()),
            "study_description": shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyDescriptionAttributeName()),
        }
        patientItem = shNode.GetItemAncestorAtLevel(studyItem, constants.GetDICOMLevelPatient())
        if patientItem:
            values.update(
                patient_name=shNode.GetItemAttribute(patientItem, constants.GetDICOMPatientNameAttributeName()),
                patient_id=shNode.GetItemAttribute(patientItem, constants.GetDICOMPatientIDAttributeName()) or shNode.GetItemUID(patientItem, constants.GetDICOMUIDName()),
                patient_sex=shNode.GetItemAttribute(patientItem, constants.GetDICOMPatientSexAttributeName()),
                patient_birth_date=shNode.GetItemAttribute(patientItem, constants.GetDICOMPatientBirthDateAttributeName()),
            )
        # Empty attributes stay defaults; the study UID alone is enough to join the study.
        return {key: value for key, value in values.items() if value}

    @staticmethod
    def sourceSeries(sourceVolumeNode: vtkMRMLScalarVolumeNode | None = None, sourceSeriesInstanceUID: str | None = None) -> "SourceSeries | None":
        """The DICOM series the map was computed from, read from Slicer's DICOM database."""
        if sourceVolumeNode is None and not sourceSeriesInstanceUID:
            return None
        import pydicom

        from FAExportLib import InputError
        from FAExportLib.sources import SourceSeries

        database = FAExportLogic.dicomDatabase()
        if database is None:
            raise InputError("a source series was given but Slicer's DICOM database is not open; open the DICOM module first")
        if sourceVolumeNode is not None:
            files = FAExportLogic.sourceFiles(database, sourceVolumeNode)
            if not files:
                raise InputError(f'the source volume "{sourceVolumeNode.GetName()}" was not loaded from DICOM; choose a volume loaded from the DICOM database')
        else:
            files = list(database.filesForSeries(sourceSeriesInstanceUID))
        missing = [path for path in files if not path or not os.path.isfile(path)]
        if not files or missing:
            raise InputError("the source series' files are not in Slicer's DICOM database any more; re-import the source DICOM series")
        return SourceSeries.from_datasets([pydicom.dcmread(path, stop_before_pixels=True) for path in files])

    @staticmethod
    def sourceFiles(database, volumeNode: vtkMRMLScalarVolumeNode) -> list[str]:
        """The DICOM files a volume was loaded from, as each loader records them.

        Slicer's scalar volume plugin sets the node attribute ``DICOM.instanceUIDs``
        (Modules/Scripted/DICOMPlugins/DICOMScalarVolumePlugin.py). Other plugins, such as SlicerDMRI's diffusion one
        (Modules/Scripted/DMRIPlugins/DICOMDiffusionVolumePlugin.py), only call DICOMPlugin.addSeriesInSubjectHierarchy
        (Modules/Scripted/DICOMLib/DICOMPlugin.py), which records the instance UIDs (UID name ``DICOMInstanceUID``) and
        the series UID (UID name ``DICOM``) on the series' subject hierarchy item.
        """
        instanceUIDs = (volumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
        seriesUID = ""
        scene = volumeNode.GetScene()
        shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene) if scene else None
        item = shNode.GetItemByDataNode(volumeNode) if shNode else 0
        if not instanceUIDs and item:
            instanceUIDs = (shNode.GetItemUID(item, vtkMRMLSubjectHierarchyConstants.GetDICOMInstanceUIDName()) or "").split()
            seriesUID = shNode.GetItemUID(item, vtkMRMLSubjectHierarchyConstants.GetDICOMUIDName()) or ""
        if instanceUIDs:
            return [database.fileForInstance(uid) for uid in instanceUIDs]
        return list(database.filesForSeries(seriesUID)) if seriesUID else []

    # --- export

    def exportVolume(
        self,
        volumeNode: vtkMRMLScalarVolumeNode,
        mode: str = "mr",
        scale: str | float = "auto",
        quantity: "str | Quantity | None" = None,
        quantityCode: "Code | str | None" = None,
        unit: "Code | str | None" = None,
        methodCode: "Code | str | None" = None,
        metadata: "ExportMetadata | dict | None" = None,
        sourceVolumeNode: vtkMRMLScalarVolumeNode | None = None,
        sourceSeriesInstanceUID: str | None = None,
        outputFolder: str | os.PathLike | None = None,
        addToDatabase: bool = True,
        replaceNonFinite: float | None = None,
        progressCallback: Callable[[str, int], bool] | None = None,
        joinSubjectHierarchyStudy: bool = True,
        plainIntegers: bool = False,
        sendTo: "DimseDestination | StowDestination | None" = None,
        fallback: str | None = None,
        allowCoarseScale: bool = False,
        laterality: str | None = None,
    ) -> FAExportResult:
        """Export ``volumeNode`` as DICOM into Slicer's DICOM database and/or ``outputFolder``.

        ``mode``: mr, sc, pm or mr+pm. ``scale``: auto, 1000, 32000 or a number. ``quantity`` (FA, MD, ...) and the
        codes (objects or "VALUE,SCHEME,MEANING"; ``unit`` also a UCUM code such as "ms") override the node's
        VoxelValueQuantity/Units. ``plainIntegers`` (mr, sc): stored = round(value x scale), RescaleSlope 1, the factor in
        the series description. ``metadata`` holds patient/study/series fields (ExportMetadata or a dict of its field names); a source series or the subject
        hierarchy study of the volume takes precedence for patient and study (see README); with
        ``joinSubjectHierarchyStudy=False`` only a source series does (Slicer's export dialog passes the tags the
        user edited, which must win). ``allowCoarseScale`` exports with a scale too coarse for the values (refused
        otherwise); ``laterality`` (L, R, B, U) is the side of a paired body part. Raises FAExportError with nothing
        written or added on bad input, failure or cancel; the result's ``warnings`` say what to check (they are also logged).

        ``sendTo`` (a DimseDestination or StowDestination) sends the written and verified series to an archive; the
        result's ``sent`` says what arrived (a failed send raises nothing: the export stands). ``fallback`` (sc or
        mr) re-exports and sends that mode, in the same study and frame of reference, if the archive refuses the
        Parametric Map.
        """
        from FAExportLib import Code, InputError, OutputError, export_volume
        from FAExportLib.quantities import parse_unit
        from FAExportLib.send import SendError, fallback_metadata

        problem = slicerVersionProblem()
        if problem:
            raise InputError(problem)
        if not (addToDatabase or outputFolder):
            raise OutputError("nothing to export to: give an output folder, or addToDatabase=True")
        if fallback is not None and (sendTo is None or "pm" not in mode):
            raise SendError("fallback replaces a refused Parametric Map when sending: give sendTo and mode pm or mr+pm")
        if sendTo is not None:
            self.ensureSendLibrary(sendTo)  # before exporting: asks to install pynetdicom, or explains
        if "pm" in mode:
            try:
                import highdicom  # noqa: F401
            except ImportError:
                raise InputError(HIGHDICOM_MISSING.format(mode=mode)) from None
        database = self.dicomDatabase() if addToDatabase else None
        if addToDatabase and database is None:
            raise OutputError("Slicer's DICOM database is not open; open the DICOM module (it creates the database), or export to a folder only")
        array = self.voxelArray(volumeNode)
        ijkToRAS = self.worldIJKToRAS(volumeNode)
        codes = {name: (parse_unit if name == "unit" else Code.parse)(value) if isinstance(value, str) else value for name, value in (("quantity_code", quantityCode), ("unit", unit), ("method", methodCode))}
        if quantity is None and codes["quantity_code"] is None:
            nodeQuantity = self.quantityOf(volumeNode)
            quantity = nodeQuantity if nodeQuantity is not None else "FA"
        metadata = self.exportMetadata(volumeNode, metadata, joinSubjectHierarchyStudy)
        if laterality is not None:
            metadata = replace(metadata, laterality=laterality)
        source = self.sourceSeries(sourceVolumeNode, sourceSeriesInstanceUID)
        workFolder = None if outputFolder else tempfile.mkdtemp(prefix="FAExport-")
        try:
            result = export_volume(
                array,
                ijkToRAS,
                outputFolder or workFolder,
                mode=mode,
                scale=scale,
                quantity=quantity,
                **codes,
                metadata=metadata,
                source=source,
                replace_nonfinite=replaceNonFinite,
                progress=progressCallback,
                plain_integers=plainIntegers,
                allow_coarse_scale=allowCoarseScale,
            )
            exported = FAExportResult(series=list(result.series), outputFolder=str(outputFolder) if outputFolder else None, warnings=list(result.warnings))
            if database is not None:
                self.addToDatabase(database, exported.series)
                exported.addedToDatabase = True
                if outputFolder is None:
                    exported.series = [self._inDatabase(database, item) for item in exported.series]
        finally:
            if workFolder is not None:
                shutil.rmtree(workFolder, ignore_errors=True)
        if sendTo is not None:
            def reencode(fallbackMode: str, parametricMap: "SeriesResult") -> "list[SeriesResult]":
                options = dict(scale=scale, quantity=quantity, quantityCode=quantityCode, unit=unit, methodCode=methodCode, replaceNonFinite=replaceNonFinite, plainIntegers=plainIntegers, allowCoarseScale=allowCoarseScale, laterality=laterality)
                again = self.exportVolume(
                    volumeNode,
                    mode=fallbackMode,
                    metadata=fallback_metadata(metadata, parametricMap),  # already joined and with its laterality
                    sourceVolumeNode=sourceVolumeNode,
                    sourceSeriesInstanceUID=sourceSeriesInstanceUID,
                    outputFolder=outputFolder,
                    addToDatabase=addToDatabase,
                    progressCallback=progressCallback,
                    joinSubjectHierarchyStudy=joinSubjectHierarchyStudy,
                    **options,
                )
                return again.series

            exported.sent = self.sendSeries(exported, sendTo, fallback=fallback, reencode=reencode, progressCallback=progressCallback)
        logging.info("FAExport: %s", exported.summary())
        for warning in exported.warnings:
            logging.warning("FAExport: %s", warning)
        return exported

    # --- sending

    @staticmethod
    def ensureSendLibrary(destination: "DimseDestination | StowDestination") -> None:
        """Make the library for ``destination`` importable: pynetdicom is installed on demand, after asking the user."""
        from FAExportLib.send import SendError

        module, requirement = SEND_LIBRARIES[destination.protocol]
        try:
            importlib.import_module(module)
            return
        except ImportError:
            pass
        how = f"install it once from Slicer's Python console: slicer.packaging.pip_install('{requirement}')"
        mainWindow = slicer.util.mainWindow() if hasattr(slicer, "app") else None
        if mainWindow is None:  # batch mode or plain Python: nobody to ask
            raise SendError(f"sending with {'C-STORE' if destination.protocol == 'dimse' else 'STOW-RS'} needs the Python package {requirement}; {how}")
        try:
            slicer.packaging.pip_ensure(slicer.packaging.load_requirements(str(SEND_REQUIREMENTS_FILE)), requester="FAExport")  # shows a confirmation first
        except RuntimeError:
            raise SendError(f"installing {requirement} was declined, so nothing was sent; the series are kept (or {how})") from None
        importlib.import_module(module)

    def sendSeries(
        self,
        exported: "FAExportResult | list[SeriesResult]",
        destination: "DimseDestination | StowDestination",
        fallback: str | None = None,
        reencode: "Callable[[str, SeriesResult], list[SeriesResult]] | None" = None,
        progressCallback: Callable[[str, int], bool] | None = None,
    ) -> "SendResult":
        """Send the series of an export (as written and verified) to an archive; one result per instance.

        Never retries and never changes the local files. ``fallback`` needs ``reencode`` (exportVolume passes one).
        """
        from FAExportLib.send import send_series

        self.ensureSendLibrary(destination)
        series = exported.series if isinstance(exported, FAExportResult) else list(exported)
        sent = send_series(series, destination, fallback=fallback, reencode=reencode, progress=progressCallback)
        for line in sent.messages():
            (logging.info if sent.complete else logging.error)("FAExport: %s", line)
        return sent

    @staticmethod
    def exportMetadata(volumeNode: vtkMRMLScalarVolumeNode, metadata: "ExportMetadata | dict | None", joinSubjectHierarchyStudy: bool = True) -> "ExportMetadata":
        """The user's fields, with the patient and study of the volume's subject-hierarchy study when it has one (unless told not to join it)."""
        from FAExportLib import ExportMetadata, InputError

        if isinstance(metadata, dict):
            try:
                metadata = ExportMetadata(**metadata)
            except TypeError as error:
                raise InputError(f"metadata: {error}; use the field names of FAExportLib.ExportMetadata") from None
        metadata = metadata or ExportMetadata()
        if not joinSubjectHierarchyStudy:
            return metadata
        return replace(metadata, **FAExportLogic.subjectHierarchyMetadata(volumeNode))

    @staticmethod
    def dicomDatabase():
        """Slicer's DICOM database when it is open (the DICOM module creates it), else None."""
        database = getattr(slicer, "dicomDatabase", None)
        return database if database is not None and database.isOpen else None

    @staticmethod
    def addToDatabase(database, series: "list[SeriesResult]") -> None:
        """Insert every file into the database (which keeps its own copy), then refresh what the browser shows; all series or none.

        ctkDICOMDatabase.insert reports no errors, so each series is checked by counting what the database holds;
        on any failure every series of this export is removed again. insert() alone neither fills the displayed
        fields (patient/study/series columns) nor emits databaseChanged for an on-disk database (CTK
        Libs/DICOM/Core/ctkDICOMDatabase.cpp, ctkDICOMDatabasePrivate::insert); ctkDICOMIndexer, which Slicer's export
        dialog uses, calls updateDisplayedFields() after inserting (Libs/DICOM/Core/ctkDICOMIndexer.cpp), and that emits
        databaseChanged, which the DICOM module listens to (Modules/Scripted/DICOM/DICOM.py onDatabaseChanged).
        """
        from FAExportLib import FAExportError, OutputError

        inserted = []
        try:
            for item in series:
                inserted.append(item.series_instance_uid)
                for path in item.files:
                    database.insert(path, True, True, True)
                held = database.filesForSeries(item.series_instance_uid)
                if len(held) != len(item.files):
                    raise OutputError(
                        f"Slicer's DICOM database holds {len(held)} of the {len(item.files)} files of series {item.series_description!r} "
                        "after inserting them; check the database folder's free space and permissions",
                    )
        except Exception as error:
            for seriesUID in inserted:
                database.removeSeries(seriesUID)
            if isinstance(error, FAExportError):
                raise
            raise OutputError(f"Slicer's DICOM database refused the series ({error}); nothing was added") from error
        database.updateDisplayedFields()
        FAExportLogic.refreshDICOMBrowser()

    @staticmethod
    def refreshDICOMBrowser() -> bool:
        """Update the DICOM browser's tables when the browser exists (not in batch mode, nor before the DICOM module was opened).

        The same call as DICOMUtils.refreshDICOMWidget (Modules/Scripted/DICOMLib/DICOMUtils.py), which logs an error
        whenever the browser does not exist yet.
        """
        dicomModule = getattr(getattr(slicer, "modules", None), "DICOMInstance", None)
        browserWidget = getattr(dicomModule, "browserWidget", None)
        if not browserWidget:
            return False
        browserWidget.dicomBrowser.dicomTableManager().updateTableViews()
        return True

    @staticmethod
    def _inDatabase(database, item: "SeriesResult") -> "SeriesResult":
        """The same series, with the file paths the database stored."""
        files = sorted(database.filesForSeries(item.series_instance_uid))
        return replace(item, files=files, directory=os.path.commonpath(files) if len(files) > 1 else os.path.dirname(files[0]))

    # --- files

    @staticmethod
    def readVolumeFile(path: str | os.PathLike, scene) -> vtkMRMLScalarVolumeNode:
        """Read a NIfTI/NRRD file into ``scene`` with Slicer's own volume reader (the geometry Slicer shows)."""
        from FAExportLib import InputError

        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path} does not exist or is not a file")
        volumeNode = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", path.name.split(".")[0])
        storageNode = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
        storageNode.SetFileName(str(path))
        storageNode.SetSingleFile(1)
        if not storageNode.ReadData(volumeNode):
            raise InputError(f"Slicer could not read {path} as a scalar volume; give a NIfTI (.nii, .nii.gz) or NRRD (.nrrd, .nhdr) file")
        return volumeNode

    def exportFile(self, path: str | os.PathLike, **options) -> FAExportResult:
        """Read a NIfTI/NRRD file with Slicer's reader into a private scene and export it; ``options`` as for exportVolume."""
        from FAExportLib.volume_files import nifti_header_warnings

        self.checkNonFiniteNIfTI(path, options.get("replaceNonFinite"))
        fileWarnings = nifti_header_warnings(path)  # which NIfTI transform Slicer's reader used, if the other differs
        for warning in fileWarnings:
            logging.warning("FAExport: %s", warning)
        scene = slicer.vtkMRMLScene()  # private: the user's scene is untouched, and freed after each file
        try:
            result = self.exportVolume(self.readVolumeFile(path, scene), **options)
        finally:
            scene.Clear(True)
        result.warnings[:0] = fileWarnings
        return result

    @staticmethod
    def checkNonFiniteNIfTI(path: str | os.PathLike, replaceNonFinite: float | None) -> None:
        """Refuse NaN/infinite voxels of a NIfTI file: Slicer's (ITK's) reader silently turns them into 0."""
        from FAExportLib import InputError
        from FAExportLib.volume_files import nifti_nonfinite_count

        if not str(path).lower().endswith((".nii", ".nii.gz")):
            return  # Slicer's NRRD reader keeps them, and exportVolume refuses them
        count = nifti_nonfinite_count(path)
        if count and replaceNonFinite != 0:
            raise InputError(
                f"{count} voxel{'s' if count > 1 else ''} of {path} {'are' if count > 1 else 'is'} NaN or infinite, and Slicer's NIfTI reader turns them "
                "into 0 when loading; fix the map, or accept 0 for them explicitly (--replace-nonfinite 0)",
            )

    def exportFiles(self, paths, **options) -> "list[tuple[str, FAExportResult | Exception]]":
        """Export many files, each on its own (no failure stops the others); returns (path, result or error).

        An unexpected error (a bug, not a refused input) is logged with its traceback and reported like the others.
        """
        from FAExportLib import FAExportError

        outcomes = []
        for path in paths:
            try:
                outcomes.append((str(path), self.exportFile(path, **options)))
            except FAExportError as error:
                logging.error("FAExport: %s: %s", path, error)
                outcomes.append((str(path), error))
            except Exception as error:
                logging.exception("FAExport: %s: unexpected error", path)
                outcomes.append((str(path), error))
        return outcomes


#
# Test (runs inside Slicer: Developer mode "Reload and Test", or the Self Tests module)
#


class FAExportTest(ScriptedLoadableModuleTest):
    """Drive the panel through every mode into a temporary DICOM database and load each series back with Slicer's plugins.

    Runs inside Slicer (Developer mode "Reload and Test", the Self Tests module, or ctest): it checks what only the
    application has (PythonQt, CTK's widgets, the DICOM database and its plugins) on top of what the test suite's
    harness already checks.
    """

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_PanelExportsEveryMode()

    def test_PanelExportsEveryMode(self):
        import numpy as np

        from DICOMLib import DICOMUtils

        values = np.linspace(0.0, 1.0, 6 * 7 * 8, dtype=np.float32).reshape(6, 7, 8)
        volumeNode = slicer.util.addVolumeFromArray(values, ijkToRAS=np.diag([0.9, 1.1, 2.0, 1.0]), name="FA")
        widget = FAExportWidget()
        try:
            parameters = widget._parameterNode
            self.assertEqual(parameters.inputVolume, volumeNode)
            with DICOMUtils.TemporaryDICOMDatabase():
                for mode in ExportMode:
                    self.delayDisplay(f"Export {mode.value} from the panel")
                    parameters.exportMode = mode
                    self.assertTrue(widget.ui.exportButton.enabled, widget.ui.disabledReasonLabel.text)
                    before = set(DICOMUtils.allSeriesUIDsInDatabase())
                    widget.ui.exportButton.click()
                    added = sorted(set(DICOMUtils.allSeriesUIDsInDatabase()) - before)
                    self.assertEqual(len(added), 2 if mode == ExportMode.MR_PM else 1, widget.ui.resultLabel.text)
                    self.assertTrue(widget.ui.showInBrowserButton.enabled)
                    for seriesUID in added:
                        loadedNodeIDs = DICOMUtils.loadSeriesByUID([seriesUID])
                        self.assertEqual(len(loadedNodeIDs), 1)
                        loaded = slicer.util.arrayFromVolume(slicer.mrmlScene.GetNodeByID(loadedNodeIDs[0]))
                        bound = 1e-6 if mode == ExportMode.PM else 5e-4 + 1e-6
                        self.assertLessEqual(float(np.abs(loaded.astype(np.float64) - values).max()), bound)
        finally:
            widget.cleanup()
            widget.parent.deleteLater()
        self.delayDisplay("FAExport panel test passed")
