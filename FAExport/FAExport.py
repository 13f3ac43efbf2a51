"""FAExport: export computed quantitative maps (e.g. diffusion FA) from Slicer to DICOM without losing values.

The encoding is done by the bundled, Slicer-free package ``FAExportLib``. This file is the Slicer module: its
registration, its parameter node, the panel's wiring, the logic's public methods and the in-Slicer test. What they call
in Slicer (scene, DICOM database, requirements, the panel's sections) is in the sibling package ``FAExportSlicerLib``.

Console use::

    import FAExport
    result = FAExport.FAExportLogic().exportVolume(getNode("FA"), mode="mr+pm")
    print(result.summary())

Slicer imports every module file when it starts, so this file imports only what the module registry needs:
numpy, pydicom and FAExportLib (the encoder) are imported where an export or a preview uses them.
"""

import enum
import logging
import os
from typing import TYPE_CHECKING, Annotated

from FAExportSlicerLib import database, labels, scene
from FAExportSlicerLib.options import FAExportOptions
from FAExportSlicerLib.requirements import ensureSendLibrary, slicerVersionProblem
from FAExportSlicerLib.result import FAExportResult

import slicer
import vtk
from slicer import vtkMRMLScalarVolumeNode

if TYPE_CHECKING:
    from FAExportLib import SeriesResult
    from FAExportLib.send import DimseDestination, SendResult, StowDestination

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
else:  # PyPI slicer-core or PythonSlicer: MRML without Qt; only FAExportLogic is used there
    from FAExportSlicerLib.i18n import _, translate
    from FAExportSlicerLib.without_application import ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget, VTKObservationMixin, WithinRange, parameterNodeWrapper

# FAExportLib's errors, as attributes of this module for console users (``except FAExport.InputError``), imported on
# first use (PEP 562) so that Slicer's start-up does not import the encoder.
LAZY_EXPORTS = ("FAExportError", "InputError", "OutputError", "ScaleError", "ExportCancelled", "VerificationError")


def __getattr__(name: str):
    if name in LAZY_EXPORTS:
        import FAExportLib

        return getattr(FAExportLib, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DOCUMENTATION_URL = "https://github.com/FAExport/FAExport#readme"
# Custom scale limits, the same in FAExport.ui (3 decimals): the smallest is still > 0 at the spin box's precision.
CUSTOM_SCALE_RANGE = (0.001, 1e9)


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
    quantity: str = ""  # a known quantity name, "other" (code and unit typed), or "" (the volume's own, else FA); filled from FAExportLib
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
    """The module panel: pick a volume, a mode and a scale, see the error, export.

    Each section's behaviour is a class of FAExportSlicerLib (quantity, study, encoding, output, send); this class
    connects them to the widgets, the parameter node and the scene.
    """

    def __init__(self, parent=None) -> None:
        # Members first: without a parent the base class calls setup() from its own __init__
        # (Base/Python/slicer/ScriptedLoadableModule.py), so they must exist then and must not be reset afterwards.
        # The base class's super().__init__() also initializes VTKObservationMixin (cooperative inheritance).
        self.logic = None
        self.ui = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._observedVolume = None
        self._exporting = False
        self._shownSeriesUIDs: list[str] = []
        ScriptedLoadableModuleWidget.__init__(self, parent)

    def setup(self) -> None:
        from FAExportSlicerLib.encoding_section import EncodingSection
        from FAExportSlicerLib.output_section import OutputSection
        from FAExportSlicerLib.quantity_section import QuantitySection
        from FAExportSlicerLib.send_section import SendSection
        from FAExportSlicerLib.study_section import StudySection

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
        self.quantitySection, self.studySection, self.encodingSection = QuantitySection(self.ui), StudySection(self.ui), EncodingSection(self.ui, self.logic)
        self.outputSection, self.sendSection = OutputSection(self.ui), SendSection(self.ui)
        self.quantitySection.populate()
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
        self.sendSection.alignLabels()
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
        self.sendSection.prefillLastDestination(self._parameterNode)

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameterNodeModified)
            self.observeVolume(None)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self.encodingSection.previewKey = None
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.onParameterNodeModified)
            self.onParameterNodeModified()

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
            self.quantitySection.prefillFromVolume(self._parameterNode, volumeNode)

    # --- slots

    def onVolumeModified(self, caller=None, event=None) -> None:
        self.updatePanel()

    def onParameterNodeModified(self, caller=None, event=None) -> None:
        if self._parameterNode is None:
            return
        self.observeVolume(self._parameterNode.inputVolume)
        self.updatePanel()

    def onQuantityComboBox(self, index: int) -> None:
        self.quantitySection.choose(self._parameterNode, index)

    def onOutputFolderChanged(self, path: str) -> None:
        self.outputSection.setFolder(self._parameterNode, path)

    def onSendDestinationComboBox(self, index: int) -> None:
        self.sendSection.choose(self._parameterNode, index)

    def onCredentialsChanged(self, text: str = "") -> None:
        self.updatePanel()

    def populateSendDestinations(self) -> None:
        self.sendSection.populate()
        if self._parameterNode is not None:
            self.updatePanel()

    def updatePanel(self) -> None:
        """Every widget state that follows from the parameters; the preview is recomputed only when it can change."""
        parameters = self._parameterNode
        if parameters is None or self.ui is None:
            return
        self.outputSection.update(parameters)
        self.quantitySection.update(parameters)
        self.studySection.update(parameters)
        self.sendSection.update(parameters)
        text, reason = self.encodingSection.update(parameters, self.quantitySection.previewQuantity(parameters))
        if not reason:
            quantity, send = self.quantitySection, self.sendSection
            reason = self.outputSection.problem(parameters) or quantity.missingCode(parameters) or quantity.problem(parameters) or send.problem(parameters)
        self.ui.previewLabel.text = text or ""
        self.ui.exportButton.enabled = not reason and not self._exporting
        self.ui.exportButton.toolTip = reason or _("Write the DICOM series; they appear complete or not at all.")
        self.ui.disabledReasonLabel.text = reason
        self.ui.disabledReasonLabel.visible = bool(reason)

    # --- export

    def exportOptions(self) -> dict:
        """The logic's keyword arguments for what the panel shows (the send destination included when sending)."""
        parameters = self._parameterNode
        return {
            **self.encodingSection.options(parameters),
            "sourceVolumeNode": parameters.sourceVolume,
            **self.outputSection.options(parameters),
            **self.quantitySection.options(parameters),
            **self.sendSection.options(parameters),
            **self.studySection.options(parameters),
        }

    def onExportButton(self) -> None:
        if self._exporting:
            return  # a second press while exporting (cannot happen with the modal dialog; kept as a guard)
        from FAExportSlicerLib.progress import ExportProgress

        from FAExportLib import ExportCancelled, FAExportError

        parameters = self._parameterNode
        self._exporting = True
        self.ui.exportButton.enabled = False
        self.ui.resultLabel.text = ""
        self.ui.showInBrowserButton.enabled = False
        progress = ExportProgress()
        try:
            with slicer.util.tryWithErrorDisplay(_("Export failed."), waitCursor=True):
                if "pm" in parameters.exportMode.value:
                    slicer.packaging.pip_ensure(slicer.packaging.load_requirements(self.resourcePath("requirements.txt")), requester="FAExport")
                progress.open()  # modal: nothing else in Slicer (Export again, closing the scene) can run while the files are written
                try:
                    options = self.exportOptions()
                    result = self.logic.exportVolume(parameters.inputVolume, progressCallback=progress.report, **options)
                except ExportCancelled:
                    self.ui.resultLabel.text = _("Export cancelled; nothing was written.")
                    return
                except FAExportError as error:  # shown by tryWithErrorDisplay: in the panel's words, not the console's
                    error.args = (labels.inPanelWords(self.ui, error),)
                    raise
                if "sendTo" in options:
                    self.sendSection.remember(parameters, options["sendTo"])
                self.showResult(result)
        finally:
            progress.close()
            self._exporting = False
            self.updatePanel()

    def showResult(self, result: FAExportResult) -> None:
        self.ui.resultLabel.text = result.summary(labels.panelLabel(self.ui))
        self._shownSeriesUIDs = [item.series_instance_uid for item in result.series] if result.addedToDatabase else []
        self.ui.showInBrowserButton.enabled = bool(self._shownSeriesUIDs)

    def onShowInBrowserButton(self) -> None:
        """Open the DICOM module with the exported series' patient, study and series selected in its browser."""
        with slicer.util.tryWithErrorDisplay(_("Cannot show the series in the DICOM browser.")):
            database.showSeriesInBrowser(self._shownSeriesUIDs)


#
# Logic
#


class FAExportLogic(ScriptedLoadableModuleLogic):
    """Export scalar volume nodes to DICOM files and to Slicer's DICOM database.

    Usable from the panel, the Python console and batch mode; needs no Qt (it runs under PyPI slicer-core). The scene,
    database and requirement helpers it uses are FAExportSlicerLib's, also reachable here as static methods.
    """

    firstScalarVolume = staticmethod(scene.firstScalarVolume)
    voxelArray = staticmethod(scene.voxelArray)
    worldIJKToRAS = staticmethod(scene.worldIJKToRAS)
    quantityOf = staticmethod(scene.quantityOf)
    subjectHierarchyMetadata = staticmethod(scene.subjectHierarchyMetadata)
    exportMetadata = staticmethod(scene.exportMetadata)
    sourceSeries = staticmethod(scene.sourceSeries)
    sourceFiles = staticmethod(scene.sourceFiles)
    readVolumeFile = staticmethod(scene.readVolumeFile)
    checkNonFiniteNIfTI = staticmethod(scene.checkNonFiniteNIfTI)
    dicomDatabase = staticmethod(database.dicomDatabase)
    addToDatabase = staticmethod(database.addToDatabase)
    refreshDICOMBrowser = staticmethod(database.refreshDICOMBrowser)
    _inDatabase = staticmethod(database.inDatabase)
    ensureSendLibrary = staticmethod(ensureSendLibrary)

    def __init__(self) -> None:
        if hasattr(slicer, "app"):
            ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return FAExportParameterNode(super().getParameterNode())

    # --- preview

    def preview(self, volumeNode: vtkMRMLScalarVolumeNode, options: FAExportOptions | None = None, **keywords):
        """What exporting ``volumeNode`` would store, before anything is written: FAExportLib's ``Preview`` (value range,
        rescale or plain-integer factor, ``warnings``). ``options`` and ``keywords`` as for exportVolume (mode, scale,
        replaceNonFinite, allowCoarseScale, quantity, plainIntegers apply). Raises what the export would raise for the
        values (NaN/infinite voxels, values that do not fit, a scale too coarse).
        """
        from FAExportSlicerLib.export import inConsoleWords

        from FAExportLib import preview

        options = (options or FAExportOptions()).updated(**keywords)
        with inConsoleWords():
            return preview(
                self.voxelArray(volumeNode),
                "auto" if options.mode == "pm" else options.scale,
                options.replaceNonFinite,
                allow_coarse_scale=options.allowCoarseScale,
                quantity=options.quantity or self.quantityOf(volumeNode) or "FA",
                plain_integers=options.plainIntegers and options.mode != "pm",
            )

    def previewText(self, volumeNode: vtkMRMLScalarVolumeNode, options: FAExportOptions | None = None, **keywords) -> str:
        """The panel's preview: the value range, the stored integers and the worst-case error, then one line per warning."""
        options = (options or FAExportOptions()).updated(**keywords)
        return labels.previewText(self.preview(volumeNode, options), options.mode, options.plainIntegers and options.mode != "pm")

    # --- export

    def exportVolume(self, volumeNode: vtkMRMLScalarVolumeNode, options: FAExportOptions | None = None, **keywords) -> FAExportResult:
        """Export ``volumeNode`` as DICOM into Slicer's DICOM database and/or a folder, and send it if asked.

        ``options`` is an FAExportOptions (every option documented there); ``keywords`` are its fields, alone or to
        change some of ``options`` (``exportVolume(node, mode="mr+pm", outputFolder="/data/dicom")``). Raises
        FAExportError, with nothing written or added, on bad input, failure or cancel; the result's ``warnings`` say
        what to check, ``sent`` what reached the archive and ``sendError`` why a send failed (the export stands).
        """
        from FAExportSlicerLib.export import exportNode

        return exportNode(volumeNode, (options or FAExportOptions()).updated(**keywords))

    def sendSeries(self, exported: "FAExportResult | list[SeriesResult]", destination: "DimseDestination | StowDestination", progressCallback=None) -> "SendResult":
        """Send the series of an earlier export (as written and verified) to an archive; one result per instance.

        Never retries and never changes the local files. To fall back to another mode when the archive refuses the
        Parametric Map, send with the export itself (``exportVolume(..., sendTo=..., fallback="sc")``): that has the volume.
        """
        from FAExportSlicerLib.export import inConsoleWords, logResult

        from FAExportLib.workflow import send_series

        self.ensureSendLibrary(destination)
        series = exported.series if isinstance(exported, FAExportResult) else list(exported)
        with inConsoleWords():
            sent = send_series(series, destination, progress=progressCallback)
        logResult(FAExportResult(series=[], sent=sent))
        return sent

    # --- files

    def exportFile(self, path: str | os.PathLike, options: FAExportOptions | None = None, **keywords) -> FAExportResult:
        """Read a NIfTI/NRRD file with Slicer's reader into a private scene and export it; options as for exportVolume."""
        from FAExportSlicerLib.export import inConsoleWords

        from FAExportLib.volume_files import nifti_header_warnings

        options = (options or FAExportOptions()).updated(**keywords)
        with inConsoleWords():
            self.checkNonFiniteNIfTI(path, options.replaceNonFinite)
        fileWarnings = nifti_header_warnings(path)  # which NIfTI transform Slicer's reader used, if the other differs
        for warning in fileWarnings:
            logging.warning("FAExport: %s", warning)
        privateScene = slicer.vtkMRMLScene()  # the user's scene is untouched, and this one freed after each file
        try:
            result = self.exportVolume(self.readVolumeFile(path, privateScene), options)
        finally:
            privateScene.Clear(True)
        result.warnings[:0] = fileWarnings
        return result

    def exportFiles(self, paths, options: FAExportOptions | None = None, **keywords) -> "list[tuple[str, FAExportResult | Exception]]":
        """Export many files, each on its own (no failure stops the others); returns (path, result or error).

        An unexpected error (a bug, not a refused input) is logged with its traceback and reported like the others.
        """
        from FAExportLib import FAExportError

        options = (options or FAExportOptions()).updated(**keywords)
        outcomes = []
        for path in paths:
            try:
                outcomes.append((str(path), self.exportFile(path, options)))
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
