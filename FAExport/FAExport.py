"""FAExport: export computed quantitative maps (e.g. diffusion FA) from Slicer to DICOM without losing values.

The encoding is done by the bundled, Slicer-free package ``FAExportLib``. This file is the Slicer module: its
registration, its parameter node, the panel's wiring, the logic's public methods and the in-Slicer test. What they call
in Slicer (scene, DICOM database, requirements, the panel's sections) is in the sibling package ``FAExportSlicerLib``.

Console use::

    import FAExport
    result = FAExport.FAExportLogic().exportVolume(getNode("FA"), mode="mr+pm")
    print(result.summary())
    # several maps as series of one study
    result = FAExport.FAExportLogic().exportVolumes([getNode("FA"), getNode("MD")], mode="pm")

Slicer imports every module file when it starts, so this file imports only what the module registry needs:
numpy, pydicom and FAExportLib (the encoder) are imported where an export or a preview uses them.
"""

import logging
import os
from typing import TYPE_CHECKING, Annotated

from FAExportSlicerLib import database, export, labels, scene
from FAExportSlicerLib.options import FAExportOptions
from FAExportSlicerLib.parameters import ExportMode, Laterality, ScaleChoice, SendFallback
from FAExportSlicerLib.requirements import slicerVersionProblem
from FAExportSlicerLib.result import FAExportResult

import slicer
import vtk
from slicer import vtkMRMLScalarVolumeNode

if TYPE_CHECKING:
    from FAExportLib import Preview, SeriesResult
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
LAZY_EXPORTS = ("FAExportError", "InputError", "OutputError", "ScaleError", "CoarseScaleError", "SendError", "ExportCancelled", "VerificationError")


def __getattr__(name: str):
    if name in LAZY_EXPORTS:
        import FAExportLib

        return getattr(FAExportLib, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DOCUMENTATION_URL = "https://github.com/FAExport/FAExport/blob/main/Docs/slicer.md"
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
        # Next to SlicerDMRI's converters (TRXFile, TractographyExportPLY, DICOMTract_to_VTK are under "Diffusion.Import and
        # Export"; its DICOM plugins, like FAExport's, under "Developer Tools.DICOM Plugins").
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Diffusion.Import and Export")]
        self.parent.dependencies = ["DICOM"]
        self.parent.contributors = ["FAExport Maintainers (FAExport project)"]  # "First Last (Organization)", as the template writes it
        self.parent.helpText = _(
            "Export a computed scalar map (e.g. diffusion FA, MD, ADC) to DICOM without losing values: classic MR images "
            "with one rescale per series, multi-frame Secondary Capture, or an exact float32 Parametric Map. "
            "The quantization error is shown before exporting, and values that do not fit are never clipped. "
            'See the <a href="{url}">module documentation</a>.',
        ).format(url=DOCUMENTATION_URL)
        self.parent.acknowledgementText = _("FAExport uses pydicom, and is checked against dcm2niix, dcmqi, highdicom, GDCM and dciodvfy.")
        problem = slicerVersionProblem()
        if problem:
            logging.error(problem)
            self.parent.helpText = problem + "\n\n" + self.parent.helpText


#
# Parameter node
#


@parameterNodeWrapper
class FAExportParameterNode:
    """The panel's state, saved with the scene."""

    inputVolume: vtkMRMLScalarVolumeNode
    # Other maps exported with it as series of one study ("Also export"). A list of nodes is stored as parameterNodeWrapper's
    # ListSerializer stores one (Slicer 5.12.3 Base/Python/slicer/parameterNodeWrapper/serializers.py: "<name>.len" and
    # a node reference per element); synced in code: no GUI connector takes a list.
    alsoExportVolumes: list[vtkMRMLScalarVolumeNode]
    sourceVolume: vtkMRMLScalarVolumeNode
    resampleToSource: bool = False  # resample the map onto the source series' grid first (a Parametric Map OHIF can overlay)
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
    navigationProfile: bool = False  # MR for navigation systems and web viewers (FAExportLib/navigation.py); the mode is MR then
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
        from FAExportSlicerLib.several_maps_section import SeveralMapsSection
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
        self.severalMapsSection = SeveralMapsSection(self.ui, self.logic)  # after populate: it keeps the quantity list's first item
        self.populateSendDestinations()
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.exportButton.connect("clicked(bool)", self.onExportButton)
        self.ui.showInBrowserButton.connect("clicked(bool)", self.onShowInBrowserButton)
        self.ui.quantityComboBox.connect("currentIndexChanged(int)", self.onQuantityComboBox)
        self.ui.alsoExportSelector.connect("checkedNodesChanged()", self.onAlsoExportChanged)
        self.ui.outputFolderPathLineEdit.connect("currentPathChanged(QString)", self.onOutputFolderChanged)
        # An emptied field emits no currentPathChanged (CTK's validator ".+"): validInputChanged(false) is the only sign.
        self.ui.outputFolderPathLineEdit.connect("validInputChanged(bool)", self.onOutputFolderValidity)
        self.ui.sendDestinationComboBox.connect("currentIndexChanged(int)", self.onSendDestinationComboBox)
        # Credentials are not parameters (the scene would save them): their fields update the panel themselves.
        for lineEdit in (self.ui.sendUserLineEdit, self.ui.sendPasswordLineEdit, self.ui.sendTokenLineEdit):
            lineEdit.connect("textChanged(QString)", self.onCredentialsChanged)
        self.ui.showInBrowserButton.enabled = False
        self.sendSection.alignLabels()
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()

    def onReload(self) -> None:
        """Developer mode's Reload: the helpers of FAExportSlicerLib too, not only this file."""
        import FAExportSlicerLib

        FAExportSlicerLib.reloadHelpers()
        ScriptedLoadableModuleWidget.onReload(self)

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
            firstVolume = scene.firstScalarVolume(slicer.mrmlScene)
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

    def onAlsoExportChanged(self) -> None:
        self.severalMapsSection.setChecked(self._parameterNode)

    def onOutputFolderChanged(self, path: str) -> None:
        self.outputSection.setFolder(self._parameterNode, path)

    def onOutputFolderValidity(self, valid: bool) -> None:
        self.outputSection.setFolder(self._parameterNode, self.ui.outputFolderPathLineEdit.currentPath)

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
        several, given = self.severalMapsSection, self.quantitySection.previewQuantity(parameters)
        self.outputSection.update(parameters)
        self.quantitySection.update(parameters)
        several.update(parameters, given)
        self.ui.resampleToSourceCheckBox.enabled = parameters.sourceVolume is not None
        self.studySection.update(parameters)
        self.sendSection.update(parameters)
        manyMaps = several.several(parameters)
        text, reason = self.encodingSection.update(parameters, several.mainQuantity(parameters, given) if manyMaps else given)
        encoding = self.encodingSection.options(parameters)
        if not reason:
            quantity, send = self.quantitySection, self.sendSection
            reason = (
                self.outputSection.problem(parameters) or quantity.missingCode(parameters) or quantity.problem(parameters, oneMap=not manyMaps)
                or (several.problem(parameters, given, encoding) if manyMaps else "") or send.problem(parameters)
            )  # fmt: skip
        if text and manyMaps:
            text = several.previewText(parameters, given, encoding, text)
        self.ui.previewLabel.text = text or ""
        self.ui.exportButton.enabled = not reason and not self._exporting
        self.ui.exportButton.toolTip = reason or _("Write the DICOM series; they appear complete or not at all.")
        self.ui.disabledReasonLabel.text = reason
        self.ui.disabledReasonLabel.visible = bool(reason)

    # --- export

    def exportOptions(self) -> FAExportOptions:
        """The logic's options for what the panel shows (the send destination included when sending)."""
        parameters = self._parameterNode
        options = {
            **self.encodingSection.options(parameters),
            "sourceVolumeNode": parameters.sourceVolume,
            "resampleToSource": parameters.resampleToSource and parameters.sourceVolume is not None,
            **self.outputSection.options(parameters),
            **self.quantitySection.options(parameters),
            **self.sendSection.options(parameters),
            **self.studySection.options(parameters),
        }
        if self.severalMapsSection.several(parameters):
            options = self.severalMapsSection.restricted(options)
        return FAExportOptions().updated(**options)

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
                slicer.packaging.pip_ensure(slicer.packaging.load_requirements(self.resourcePath("requirements.txt")), requester="FAExport")
                progress.open()  # modal: nothing else in Slicer (Export again, closing the scene) can run while the files are written
                try:
                    options = self.exportOptions()
                    volumes = self.severalMapsSection.volumes(parameters)
                    result = self.logic.exportVolumes(volumes, options, progressCallback=progress.report)
                except ExportCancelled:
                    self.ui.resultLabel.text = _("Export cancelled; nothing was written.")
                    return
                except FAExportError as error:  # shown by tryWithErrorDisplay: in the panel's words, not the console's
                    error.args = (labels.inPanelWords(self.ui, error),)
                    raise
                if options.sendTo is not None:
                    self.sendSection.remember(parameters, options.sendTo)
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

    Usable from the panel, the Python console and batch mode; needs no Qt (it runs under PyPI slicer-core). What it
    does is FAExportSlicerLib's (export.py); the helpers a console user may want are also here as static methods.
    """

    voxelArray = staticmethod(scene.voxelArray)  # the node's voxels as array[k, j, i], a view (no copy)
    quantityOf = staticmethod(scene.quantityOf)  # the node's VoxelValueQuantity as an FAExportLib Quantity, or None
    readVolumeFile = staticmethod(scene.readVolumeFile)  # a NIfTI/NRRD file read by Slicer's reader into a scene
    dicomDatabase = staticmethod(database.dicomDatabase)  # slicer.dicomDatabase when it is open, else None

    def __init__(self) -> None:
        if hasattr(slicer, "app"):
            ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return FAExportParameterNode(super().getParameterNode())

    # --- the console API: each option of FAExportOptions, given as an object or as keywords (see Docs/slicer.md)

    def preview(self, volumeNode: vtkMRMLScalarVolumeNode, options: FAExportOptions | None = None, **keywords) -> "Preview":
        """What exporting ``volumeNode`` would store, before anything is written (value range, rescale, ``warnings``);
        raises what the export would raise for the values (NaN/infinite voxels, values that do not fit, a coarse scale).
        """
        return export.previewNode(volumeNode, FAExportOptions.of(options, keywords))

    def previewText(self, volumeNode: vtkMRMLScalarVolumeNode, options: FAExportOptions | None = None, **keywords) -> str:
        """The preview as the panel shows it: value range, stored integers, worst-case error, one line per warning."""
        options = FAExportOptions.of(options, keywords)
        return labels.previewText(self.preview(volumeNode, options), options.mode, options.profile)

    def exportVolume(self, volumeNode: vtkMRMLScalarVolumeNode, options: FAExportOptions | None = None, **keywords) -> FAExportResult:
        """Export ``volumeNode`` into Slicer's DICOM database and/or a folder, and send it if asked (FAExportOptions).

        Raises FAExportError, with nothing written or added, on bad input, failure or cancel; the result's ``warnings``
        say what to check, ``sent`` what reached the archive and ``sendError`` why a send failed (the export stands).
        """
        return export.exportNode(volumeNode, FAExportOptions.of(options, keywords))

    def exportVolumes(self, volumeNodes: "list[vtkMRMLScalarVolumeNode]", options: FAExportOptions | None = None, **keywords) -> FAExportResult:
        """Export several maps (e.g. FA, MD, AD, RD) as series of one study: one patient, study and frame of reference,
        consecutive series numbers, each series written, verified and added as ``exportVolume`` does, all or none.

        Each map is exported as its own quantity: its VoxelValueQuantity, else the one its name tells (FA, dti_MD,
        T1map, ...), else ``quantity`` (which names the quantity of the maps that state none); refused when none says.
        The maps join the subject-hierarchy study they sit under (refused when they sit under different ones).
        ``metadata["series_description"]`` names one series and is refused; ``quantityCode`` is refused for maps of
        several quantities, ``unit`` when every map's quantity has its own. Maps on different grids are fine: every
        node is in the scene's one RAS space.
        """
        return export.exportNodes(volumeNodes, FAExportOptions.of(options, keywords))

    def sendSeries(self, exported: "FAExportResult | list[SeriesResult]", destination: "DimseDestination | StowDestination", progressCallback=None) -> "SendResult":
        """Send an earlier export's series, as written and verified, to an archive; one result per instance (to fall back
        when the archive refuses the Parametric Map, send with the export: ``exportVolume(..., sendTo=..., fallback="sc")``).
        """
        return export.sendExported(exported, destination, progressCallback)

    def exportFile(self, path: str | os.PathLike, options: FAExportOptions | None = None, **keywords) -> FAExportResult:
        """Read a NIfTI/NRRD file with Slicer's reader into a private scene and export it as ``exportVolume`` does."""
        return export.exportFile(self, path, FAExportOptions.of(options, keywords))

    def exportFiles(self, paths, options: FAExportOptions | None = None, **keywords) -> "list[tuple[str, FAExportResult | Exception]]":
        """Export many files, each on its own (no failure stops the others); returns (path, result or error) pairs."""
        return export.exportFiles(self, paths, FAExportOptions.of(options, keywords))


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
        self.setUp()
        self.test_PanelExportsSeveralMapsAsOneStudy()

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

    def test_PanelExportsSeveralMapsAsOneStudy(self):
        """FA checked with MD under "Also export": two series of one study, each loaded back with its values."""
        import numpy as np

        import qt
        from DICOMLib import DICOMUtils

        values = {
            "FA": np.linspace(0.0, 1.0, 6 * 7 * 8, dtype=np.float32).reshape(6, 7, 8),
            "MD": np.linspace(0.0, 0.003, 5 * 7 * 8, dtype=np.float32).reshape(5, 7, 8),  # another grid: one scene, one space
        }
        nodes = {name: slicer.util.addVolumeFromArray(array, ijkToRAS=np.diag([0.9, 1.1, 2.0, 1.0]), name=name) for name, array in values.items()}
        widget = FAExportWidget()
        try:
            parameters = widget._parameterNode
            self.assertEqual(parameters.inputVolume, nodes["FA"])
            widget.ui.alsoExportSelector.setCheckState(nodes["MD"], qt.Qt.Checked)
            self.assertEqual(list(parameters.alsoExportVolumes), [nodes["MD"]])
            self.assertFalse(widget.ui.seriesDescriptionLineEdit.enabled)
            self.assertTrue(widget.ui.exportButton.enabled, widget.ui.disabledReasonLabel.text)
            with DICOMUtils.TemporaryDICOMDatabase():
                widget.ui.exportButton.click()
                added = DICOMUtils.allSeriesUIDsInDatabase()
                self.assertEqual(len(added), 2, widget.ui.resultLabel.text)
                self.assertEqual(len({slicer.dicomDatabase.studyForSeries(seriesUID) for seriesUID in added}), 1)
                for seriesUID in added:
                    (loadedNodeID,) = DICOMUtils.loadSeriesByUID([seriesUID])
                    loaded = slicer.util.arrayFromVolume(slicer.mrmlScene.GetNodeByID(loadedNodeID)).astype(np.float64)
                    name = "FA" if loaded.shape == values["FA"].shape else "MD"
                    bound = float(values[name].max()) / 32767 / 2 * 1.001
                    self.assertLessEqual(float(np.abs(loaded - values[name]).max()), bound)
        finally:
            widget.cleanup()
            widget.parent.deleteLater()
        self.delayDisplay("FAExport several maps test passed")
