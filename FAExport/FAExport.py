"""FAExport: export computed quantitative maps (e.g. diffusion FA) from Slicer to DICOM without losing values.

The encoding is done by the bundled, Slicer-free package ``FAExportLib``; this file is the Slicer glue:
volume node and subject hierarchy in, Slicer's DICOM database out, plus the module panel.

Console use::

    import FAExport
    result = FAExport.FAExportLogic().exportVolume(getNode("FA"), mode="mr+pm")
    print(result.summary())
"""

import enum
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

import numpy as np
import pydicom

import slicer
import vtk
from FAExportLib import Code, ExportMetadata, FAExportError, InputError, OutputError, Quantity, SeriesResult, export_volume, preview
from FAExportLib.codes import KNOWN_QUANTITIES
from FAExportLib.sources import SourceSeries
from FAExportLib.volume_files import nifti_header_warnings, nifti_nonfinite_count
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSubjectHierarchyConstants, vtkMRMLSubjectHierarchyNode

try:
    # Present only inside the Slicer application. Under PyPI slicer-core (MRML without Qt) the module's
    # logic must still import and run, so the panel's base classes fall back to plain objects.
    from slicer.i18n import tr as _
    from slicer.i18n import translate
    from slicer.parameterNodeWrapper import WithinRange, parameterNodeWrapper
    from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget
    from slicer.util import VTKObservationMixin

    HAVE_APPLICATION = True
except ImportError:
    HAVE_APPLICATION = False
    # Empty stand-ins for the application's base classes: only FAExportLogic is used without the application.
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


REQUIREMENTS_FILE = Path(__file__).resolve().parent / "Resources" / "requirements.txt"
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


#
# FAExport
#


class FAExport(ScriptedLoadableModule):
    """Module description for Slicer's module registry."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("FA Export")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Diffusion"), translate("qSlicerAbstractCoreModule", "Informatics")]
        self.parent.dependencies = ["DICOM"]
        self.parent.contributors = ["FAExport developers"]
        self.parent.helpText = _(
            "Export a computed scalar map (e.g. diffusion FA, MD, ADC) to DICOM without losing values: classic MR images "
            "with one rescale per series, multi-frame Secondary Capture, or an exact float32 Parametric Map. "
            "The quantization error is shown before exporting, and values that do not fit are never clipped.",
        )
        self.parent.acknowledgementText = _("FAExport uses pydicom and highdicom, and is checked against dcm2niix, dcmqi, GDCM and dciodvfy.")


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


@parameterNodeWrapper
class FAExportParameterNode:
    """The panel's state, saved with the scene."""

    inputVolume: vtkMRMLScalarVolumeNode
    sourceVolume: vtkMRMLScalarVolumeNode
    exportMode: ExportMode = ExportMode.MR
    scaleChoice: ScaleChoice = ScaleChoice.AUTO
    customScale: Annotated[float, WithinRange(1e-9, 1e12)] = 1000.0
    quantity: str = ""
    seriesDescription: str = ""
    addToDatabase: bool = True
    writeToFolder: bool = False
    outputFolder: Path = Path()


#
# Widget
#


class FAExportWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """The module panel: pick a volume, a mode and a scale, see the error, export."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/FAExport.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = FAExportLogic()
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.exportButton.connect("clicked(bool)", self.onExportButton)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        self.setParameterNode(None)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.inputVolume:
            firstVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if firstVolume:
                self._parameterNode.inputVolume = firstVolume

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updatePreview)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updatePreview)
            self.updatePreview()

    def scale(self):
        """The scale the panel asks for: 'auto', '1000', '32000' or the custom number."""
        choice = self._parameterNode.scaleChoice
        return self._parameterNode.customScale if choice == ScaleChoice.CUSTOM else choice.value

    def updatePreview(self, caller=None, event=None) -> None:
        """Show the quantization error of the chosen scale before anything is written; refuse what would clip."""
        parameters = self._parameterNode
        self.ui.customScaleSpinBox.enabled = parameters.scaleChoice == ScaleChoice.CUSTOM
        self.ui.outputFolderPathLineEdit.enabled = parameters.writeToFolder
        self.ui.exportButton.enabled = False
        if not parameters.inputVolume:
            self.ui.previewLabel.text = _("Select the map to export.")
            return
        if not (parameters.addToDatabase or parameters.writeToFolder):
            self.ui.previewLabel.text = _("Choose where to export: the DICOM database, a folder, or both.")
            return
        if parameters.writeToFolder and str(parameters.outputFolder) in ("", "."):
            self.ui.previewLabel.text = _("Choose the output folder.")
            return
        try:
            self.ui.previewLabel.text = self.logic.previewText(parameters.inputVolume, parameters.exportMode.value, self.scale())
        except FAExportError as error:
            self.ui.previewLabel.text = _("Cannot export: {error}").format(error=error)
            return
        self.ui.exportButton.enabled = True

    def onExportButton(self) -> None:
        parameters = self._parameterNode
        with slicer.util.tryWithErrorDisplay(_("Export failed."), waitCursor=True):
            if "pm" in parameters.exportMode.value:
                slicer.packaging.pip_ensure(slicer.packaging.load_requirements(self.resourcePath("requirements.txt")), requester="FAExport")
            progressDialog = slicer.util.createProgressDialog(windowTitle=_("Exporting to DICOM"), labelText=_("Preparing..."), maximum=0)

            def onProgress(message: str, filesDone: int) -> bool:
                progressDialog.labelText = message
                slicer.app.processEvents()
                return progressDialog.wasCanceled

            try:
                result = self.logic.exportVolume(
                    parameters.inputVolume,
                    mode=parameters.exportMode.value,
                    scale=self.scale(),
                    quantity=parameters.quantity or None,
                    metadata={"series_description": parameters.seriesDescription} if parameters.seriesDescription else None,
                    sourceVolumeNode=parameters.sourceVolume,
                    outputFolder=str(parameters.outputFolder) if parameters.writeToFolder else None,
                    addToDatabase=parameters.addToDatabase,
                    progressCallback=onProgress,
                )
            finally:
                progressDialog.setParent(None)
                progressDialog.close()
            self.ui.resultLabel.text = result.summary()


#
# Logic
#


@dataclass
class FAExportResult:
    """What one export wrote: each series (files at their final place) and whether Slicer's database has them."""

    series: list[SeriesResult]
    addedToDatabase: bool = False
    outputFolder: str | None = None
    warnings: list[str] = field(default_factory=list)  # what the user should check (FAExportLib's, and the file's)

    def summary(self) -> str:
        """A few lines for the panel or the console, warnings last."""
        lines = []
        for item in self.series:
            where = "Slicer's DICOM database" if self.addedToDatabase and self.outputFolder is None else item.directory
            lines.append(f'{item.mode.upper()} "{item.series_description}": {len(item.files)} files in {where}')
            if item.rescale_slope is not None:
                lines.append(f"  RescaleSlope {item.rescale_slope:.12g}, RescaleIntercept {item.rescale_intercept:.12g}")
            lines.append(f"  worst-case error {item.max_quantization_error:.3g}, measured {item.measured_max_error:.3g}")
        lines.extend(f"Warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)


class FAExportLogic(ScriptedLoadableModuleLogic):
    """Export scalar volume nodes to DICOM files and to Slicer's DICOM database.

    Usable from the panel, the Python console and batch mode; needs no Qt (it runs under PyPI slicer-core).
    """

    def __init__(self) -> None:
        if HAVE_APPLICATION:
            ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self):
        return FAExportParameterNode(super().getParameterNode())

    def preview(self, volumeNode: vtkMRMLScalarVolumeNode, mode: str, scale, allowCoarseScale: bool = False, quantity: str | None = None):
        """FAExportLib.preview of the node: value range, rescale and ``warnings``; refuses NaN, clipping and coarse scales."""
        nodeQuantity = quantity or self.quantityOf(volumeNode) or "FA"
        return preview(self.voxelArray(volumeNode), "auto" if mode == "pm" else scale, allow_coarse_scale=allowCoarseScale, quantity=nodeQuantity)

    def previewText(self, volumeNode: vtkMRMLScalarVolumeNode, mode: str, scale, allowCoarseScale: bool = False, quantity: str | None = None) -> str:
        """The panel's text: the value range and the worst-case error the chosen scale gives, then any warnings."""
        checked = self.preview(volumeNode, mode, scale, allowCoarseScale, quantity)
        if mode == "pm":
            text = _("Values {low:.6g} to {high:.6g}; the Parametric Map stores them as float32 (exact for a float32 map).").format(
                low=checked.value_range.minimum,
                high=checked.value_range.maximum,
            )
        else:
            text = _("Values {low:.6g} to {high:.6g}; RescaleSlope {slope}; worst-case quantization error {error:.3g}.").format(
                low=checked.value_range.minimum,
                high=checked.value_range.maximum,
                slope=checked.rescale.slope_text,
                error=checked.max_quantization_error,
            )
        return "\n".join([text, *(_("Warning: {warning}").format(warning=warning) for warning in checked.warnings)])

    # --- inputs from the scene

    @staticmethod
    def voxelArray(volumeNode: vtkMRMLScalarVolumeNode) -> np.ndarray:
        """The node's voxels as array[k, j, i], a view of its image data (no copy); refuses what is not one scalar map."""
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
    def worldIJKToRAS(volumeNode: vtkMRMLScalarVolumeNode) -> np.ndarray:
        """IJK-to-RAS where the user sees the volume: with its parent transforms applied, which must be linear."""
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
    def quantityOf(volumeNode: vtkMRMLScalarVolumeNode) -> Quantity | None:
        """The node's VoxelValueQuantity/Units as a Quantity (known ones by code), or None when not set."""
        coded = volumeNode.GetVoxelValueQuantity()
        if coded is None or coded.IsEmpty():
            return None
        code = Code(coded.GetCodeValue(), coded.GetCodingSchemeDesignator(), coded.GetCodeMeaning())
        quantity = next((q for q in KNOWN_QUANTITIES.values() if q.code and (q.code.value, q.code.scheme) == (code.value, code.scheme)), None)
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
    def sourceSeries(sourceVolumeNode: vtkMRMLScalarVolumeNode | None = None, sourceSeriesInstanceUID: str | None = None) -> SourceSeries | None:
        """The DICOM series the map was computed from, read from Slicer's DICOM database."""
        if sourceVolumeNode is None and not sourceSeriesInstanceUID:
            return None
        database = FAExportLogic.dicomDatabase()
        if database is None:
            raise InputError("a source series was given but Slicer's DICOM database is not open; open the DICOM module first")
        if sourceVolumeNode is not None:
            instanceUIDs = (sourceVolumeNode.GetAttribute("DICOM.instanceUIDs") or "").split()
            if not instanceUIDs:
                raise InputError(f'the source volume "{sourceVolumeNode.GetName()}" was not loaded from DICOM; choose a volume loaded from the DICOM database')
            files = [database.fileForInstance(uid) for uid in instanceUIDs]
        else:
            files = list(database.filesForSeries(sourceSeriesInstanceUID))
        missing = [path for path in files if not path or not os.path.isfile(path)]
        if not files or missing:
            raise InputError("the source series' files are not in Slicer's DICOM database any more; re-import the source DICOM series")
        return SourceSeries.from_datasets([pydicom.dcmread(path, stop_before_pixels=True) for path in files])

    # --- export

    def exportVolume(
        self,
        volumeNode: vtkMRMLScalarVolumeNode,
        mode: str = "mr",
        scale: str | float = "auto",
        quantity: str | None = None,
        quantityCode: Code | str | None = None,
        unit: Code | str | None = None,
        methodCode: Code | str | None = None,
        metadata: ExportMetadata | dict | None = None,
        sourceVolumeNode: vtkMRMLScalarVolumeNode | None = None,
        sourceSeriesInstanceUID: str | None = None,
        outputFolder: str | os.PathLike | None = None,
        addToDatabase: bool = True,
        replaceNonFinite: float | None = None,
        progressCallback: Callable[[str, int], bool] | None = None,
        allowCoarseScale: bool = False,
        laterality: str | None = None,
    ) -> FAExportResult:
        """Export ``volumeNode`` as DICOM into Slicer's DICOM database and/or ``outputFolder``.

        ``mode``: mr, sc, pm or mr+pm. ``scale``: auto, 1000, 32000 or a number. ``quantity`` (FA, MD, ...) and the
        codes (objects or "VALUE,SCHEME,MEANING") override the node's VoxelValueQuantity/Units. ``metadata`` holds
        patient/study/series fields (ExportMetadata or a dict of its field names); a source series or the subject
        hierarchy study of the volume takes precedence for patient and study (see README). ``allowCoarseScale`` exports
        with a scale too coarse for the values (refused otherwise); ``laterality`` (L, R, B, U) is the side of a paired
        body part. Raises FAExportError with nothing written or added on bad input, failure or cancel; the result's
        ``warnings`` say what to check (they are also logged).
        """
        if not (addToDatabase or outputFolder):
            raise OutputError("nothing to export to: give an output folder, or addToDatabase=True")
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
        codes = {name: Code.parse(value) if isinstance(value, str) else value for name, value in (("quantity_code", quantityCode), ("unit", unit), ("method", methodCode))}
        if quantity is None and codes["quantity_code"] is None:
            nodeQuantity = self.quantityOf(volumeNode)
            quantity = nodeQuantity if nodeQuantity is not None else "FA"
        metadata = self.exportMetadata(volumeNode, metadata)
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
        logging.info("FAExport: %s", exported.summary())
        for warning in exported.warnings:
            logging.warning("FAExport: %s", warning)
        return exported

    @staticmethod
    def exportMetadata(volumeNode: vtkMRMLScalarVolumeNode, metadata: ExportMetadata | dict | None) -> ExportMetadata:
        """The user's fields, with the patient and study of the volume's subject-hierarchy study when it has one."""
        if isinstance(metadata, dict):
            try:
                metadata = ExportMetadata(**metadata)
            except TypeError as error:
                raise InputError(f"metadata: {error}; use the field names of FAExportLib.ExportMetadata") from None
        metadata = metadata or ExportMetadata()
        return replace(metadata, **FAExportLogic.subjectHierarchyMetadata(volumeNode))

    @staticmethod
    def dicomDatabase():
        """Slicer's DICOM database when it is open (the DICOM module creates it), else None."""
        database = getattr(slicer, "dicomDatabase", None)
        return database if database is not None and database.isOpen else None

    @staticmethod
    def addToDatabase(database, series: list[SeriesResult]) -> None:
        """Insert every file the way Slicer's exporters do (the database keeps its own copy); all series or none.

        ctkDICOMDatabase.insert reports no errors, so each series is checked by counting what the database holds;
        on any failure every series of this export is removed again.
        """
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
        try:
            from DICOMLib import DICOMUtils

            DICOMUtils.refreshDICOMWidget()
        except ImportError:
            pass  # no application (batch under slicer-core): no browser to refresh

    @staticmethod
    def _inDatabase(database, item: SeriesResult) -> SeriesResult:
        """The same series, with the file paths the database stored."""
        files = sorted(database.filesForSeries(item.series_instance_uid))
        return replace(item, files=files, directory=os.path.commonpath(files) if len(files) > 1 else os.path.dirname(files[0]))

    # --- files

    @staticmethod
    def readVolumeFile(path: str | os.PathLike, scene) -> vtkMRMLScalarVolumeNode:
        """Read a NIfTI/NRRD file into ``scene`` with Slicer's own volume reader (the geometry Slicer shows)."""
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
        if not str(path).lower().endswith((".nii", ".nii.gz")):
            return  # Slicer's NRRD reader keeps them, and exportVolume refuses them
        count = nifti_nonfinite_count(path)
        if count and replaceNonFinite != 0:
            raise InputError(
                f"{count} voxel{'s' if count > 1 else ''} of {path} {'are' if count > 1 else 'is'} NaN or infinite, and Slicer's NIfTI reader turns them "
                "into 0 when loading; fix the map, or accept 0 for them explicitly (--replace-nonfinite 0)",
            )

    def exportFiles(self, paths, **options) -> list[tuple[str, FAExportResult | FAExportError]]:
        """Export many files, each on its own (one failure does not stop the others); returns (path, result or error)."""
        outcomes = []
        for path in paths:
            try:
                outcomes.append((str(path), self.exportFile(path, **options)))
            except FAExportError as error:
                logging.error("FAExport: %s: %s", path, error)
                outcomes.append((str(path), error))
        return outcomes


#
# Test (runs inside Slicer: Developer mode "Reload and Test", or the Self Tests module)
#


class FAExportTest(ScriptedLoadableModuleTest):
    """Export a synthetic FA map through Slicer's DICOM database and load it back with Slicer's DICOM plugins."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_ExportMR()

    def test_ExportMR(self):
        from DICOMLib import DICOMUtils

        values = np.linspace(0.0, 1.0, 6 * 7 * 8, dtype=np.float32).reshape(6, 7, 8)
        volumeNode = slicer.util.addVolumeFromArray(values, ijkToRAS=np.diag([0.9, 1.1, 2.0, 1.0]), name="FA")
        with DICOMUtils.TemporaryDICOMDatabase():
            result = FAExportLogic().exportVolume(volumeNode, mode="mr")
            loadedNodeIDs = DICOMUtils.loadSeriesByUID([result.series[0].series_instance_uid])
            self.assertEqual(len(loadedNodeIDs), 1)
            loaded = slicer.util.arrayFromVolume(slicer.mrmlScene.GetNodeByID(loadedNodeIDs[0]))
            self.assertLessEqual(float(np.abs(loaded - values).max()), result.series[0].max_quantization_error + 1e-6)
        self.delayDisplay("FAExport MR export test passed")
