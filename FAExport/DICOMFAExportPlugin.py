"""FAExport's encodings as exporters in Slicer's own "Export to DICOM..." dialog.

How the dialog uses DICOM plugins (Slicer v5.12.3, Modules/Scripted/DICOMLib/Widgets/qSlicerDICOMExportDialog.cxx):
it instantiates every class in ``slicer.modules.dicomPlugins`` and calls ``examineForExport(itemID)``, groups the
returned exportables by ``pluginClass`` into one row per plugin ordered by mean confidence (the top row is
preselected), lets the user edit the tags, sets ``exportable.directory`` and calls
``slicer.modules.dicomPlugins[pluginClass]().export(exportables)``, which returns "" or an error message. So each
encoding FAExport offers is its own registered class, keyed by its ``pluginClass``.

Slicer's scalar volume exporter offers every scalar volume at confidence 0.5
(Modules/Scripted/DICOMPlugins/DICOMScalarVolumePlugin.py) and writes it through CreateDICOMSeries, which casts
the voxels to int16 without a rescale: a float map arrives as integers. FAExport's rows rank above it exactly for
the volumes whose values would not survive that cast, and below it for every other volume.

This file is a hidden scripted module (the pattern of Slicer's DICOMPlugins and SlicerDMRI's
Modules/Loadable/TractIO/DICOMTractographyPlugin.py): Slicer instantiates ``DICOMFAExportPlugin`` at start-up,
which registers the plugin classes. The DICOM module instantiates every plugin class too (to collect ``tags``),
so constructors are cheap and the encoder is imported only when examining or exporting.
"""

import logging
import os
import shutil
import tempfile
from pathlib import Path

import slicer
from DICOMLib import DICOMPlugin
from slicer import vtkMRMLSubjectHierarchyConstants, vtkMRMLSubjectHierarchyNode

try:
    from slicer.i18n import tr as _
except ImportError:  # PyPI slicer-core (the tests): no translation machinery

    def _(text: str) -> str:
        return text


INT16_MIN, INT16_MAX = -32768, 32767
# Patient and study tags the dialog's tag editor copies into every exportable from the subject hierarchy
# (qSlicerDICOMTagEditorWidget.cxx, setExportables) -> ExportMetadata fields. PatientComments has no field.
PATIENT_STUDY_TAGS = {
    "PatientName": "patient_name",
    "PatientID": "patient_id",
    "PatientBirthDate": "patient_birth_date",
    "PatientSex": "patient_sex",
    "StudyInstanceUID": "study_instance_uid",
    "StudyID": "study_id",
    "StudyDescription": "study_description",
    "StudyDate": "study_date",
    "StudyTime": "study_time",
}
# Series tags offered for editing -> ExportMetadata fields.
SERIES_TAGS = {
    "SeriesDescription": "series_description",
    "SeriesNumber": "series_number",
    "SeriesInstanceUID": "series_instance_uid",
    "FrameOfReferenceUID": "frame_of_reference_uid",
}
QUANTITY_TAG = "Quantity"  # FA, MD, AD, RD, ADC or a short label: what the voxels are
SCALE_TAG = "Scale"  # auto, 1000, 32000 or a number: how MR/SC store floats as integers


class FAExportDICOMPluginClass(DICOMPlugin):
    """One FAExport encoding as a DICOM export plugin; the classes of ENCODINGS below fix these attributes."""

    mode = ""  # FAExportLib's export mode
    pluginKey = ""  # the key in slicer.modules.dicomPlugins, and every exportable's pluginClass
    exportName = ""
    exportTooltip = ""
    # Confidence for volumes whose values do not survive an int16 cast (above the scalar volume plugin's 0.5),
    # and for those that do (below it: ordinary integer CT/MR stays with Slicer's exporter).
    confidenceLossy = 0.0
    confidenceInt16 = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.loadType = self.pluginKey

    @property
    def writesIntegers(self) -> bool:
        return self.mode != "pm"

    # --- examine

    def examineForExport(self, subjectHierarchyItemID: int) -> list:
        """One exportable for a scalar volume FAExport can export, none for anything else."""
        shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
        volumeNode = shNode.GetItemDataNode(subjectHierarchyItemID) if shNode else None
        if not isExportableVolume(volumeNode):
            return []
        from FAExport import FAExportLogic

        from FAExportLib import FAExportError

        exportable = slicer.qSlicerDICOMExportable()
        exportable.name = self.exportName
        exportable.subjectHierarchyItemID = subjectHierarchyItemID
        exportable.pluginClass = self.pluginKey
        exportable.confidence = self.confidenceInt16 if valuesSurviveInt16(volumeNode) else self.confidenceLossy
        try:
            preview = FAExportLogic().previewText(volumeNode, mode=self.mode, scale="auto")
        except FAExportError as error:
            preview = _("Cannot export: {error}").format(error=inDialogWords(error))
        exportable.tooltip = f"{self.exportTooltip}\n{preview}"
        for tagName, value in self.defaultSeriesTags(volumeNode).items():
            exportable.setTag(tagName, value)
        # The dialog's tag editor replaces these by the same attributes (then by the user's edits); a script that
        # exports without the dialog gets what the dialog would have shown.
        for tagName, value in patientAndStudyTags(shNode, subjectHierarchyItemID).items():
            exportable.setTag(tagName, value)
        return [exportable]

    def defaultSeriesTags(self, volumeNode) -> dict[str, str]:
        """The series tags the dialog shows, with FAExport's defaults (the dialog puts the series item's saved values over them)."""
        tags = {
            QUANTITY_TAG: defaultQuantityName(volumeNode),
            "SeriesDescription": defaultSeriesDescription(volumeNode),
            "SeriesNumber": str(self.defaultSeriesNumber()),
            "FrameOfReferenceUID": "",
        }
        if self.mode != "mr+pm":  # two series cannot share one SeriesInstanceUID
            tags["SeriesInstanceUID"] = ""
        if self.writesIntegers:
            tags[SCALE_TAG] = "auto"
        return tags

    def defaultSeriesNumber(self) -> int:
        from FAExportLib.pipeline import ENCODERS, MODES

        return ENCODERS[MODES[self.mode][0]].SERIES_NUMBER

    # --- export

    def export(self, exportables) -> str:
        """Write every exportable's series flat into its directory; "" on success, else the error (nothing left behind)."""
        from FAExportLib import FAExportError

        moved: list[Path] = []
        studyDefaults: dict[int, dict] = {}
        seriesUIDs: set[str] = set()
        name = ""
        try:
            for exportable in exportables:
                name = self._itemName(exportable)
                self._exportOne(exportable, moved, studyDefaults, seriesUIDs)
        except FAExportError as error:
            message = _("Series '{name}': {error}").format(name=name, error=inDialogWords(error))
        except Exception as error:  # the dialog shows a returned message; a raised one becomes a generic failure
            logging.exception("FAExport: export of '%s' failed", name)
            message = _("Series '{name}': FAExport failed ({error}); see the application log for details").format(name=name, error=error)
        else:
            return ""
        for path in moved:
            path.unlink(missing_ok=True)
        logging.error("FAExport: %s", message)
        return message

    @staticmethod
    def _itemName(exportable) -> str:
        shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
        return shNode.GetItemName(exportable.subjectHierarchyItemID) if shNode else ""

    def _exportOne(self, exportable, moved: list[Path], studyDefaults: dict[int, dict], seriesUIDs: set[str]) -> None:
        """Export into a private folder inside ``exportable.directory``, then move the verified files up, flat.

        Flat, because the dialog indexes the folder into the database and then deletes only its top-level files;
        the private folder sits on the same file system, so the moves are renames.
        """
        from FAExport import FAExportLogic

        from FAExportLib import InputError, OutputError

        shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
        volumeNode = shNode.GetItemDataNode(exportable.subjectHierarchyItemID) if shNode else None
        if not isExportableVolume(volumeNode):
            raise InputError("it is not a scalar volume; FAExport exports scalar maps")
        metadata = self.metadataFromTags(exportable, volumeNode, studyDefaults.setdefault(shNode.GetItemParent(exportable.subjectHierarchyItemID), newStudyDefaults()))
        database = FAExportLogic.dicomDatabase()
        seriesUID = metadata.get("series_instance_uid")
        if seriesUID in seriesUIDs:  # two maps typed the same: one series of mixed images (the database sees them only after the export)
            raise InputError(f"SeriesInstanceUID {seriesUID} is also the tag of another series of this export; give each series its own, or clear the tag to generate one")
        if seriesUID and database is not None and database.filesForSeries(seriesUID):
            raise InputError(f"a series with SeriesInstanceUID {seriesUID} is already in Slicer's DICOM database; clear the SeriesInstanceUID tag to generate a new one")
        directory = Path(exportable.directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=".FAExport-", dir=directory))
        except OSError as error:
            raise OutputError(f"cannot write into the export folder {directory}: {error.strerror or error}; choose a folder you can write to") from None
        try:
            result = FAExportLogic().exportVolume(
                volumeNode,
                mode=self.mode,
                scale=self.scaleFromTag(exportable),
                quantity=self.quantityFromTag(exportable, volumeNode),
                metadata=metadata,
                outputFolder=work,
                addToDatabase=False,
                joinSubjectHierarchyStudy=False,
            )
            for series in result.series:
                seriesUIDs.add(series.series_instance_uid)
                for file in series.files:
                    target = directory / f"{Path(series.directory).name}_{Path(file).name}"
                    if target.exists():
                        raise OutputError(f"{target} already exists; it is never overwritten: export into an empty folder")
                    os.rename(file, target)
                    moved.append(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # --- tags -> export options

    def metadataFromTags(self, exportable, volumeNode, studyDefaults: dict | None = None) -> dict:
        """Patient, study and series fields from the exportable's tags alone: what the dialog's table shows is written.

        The tag editor filled the patient and study tags from the subject hierarchy, then the user edited them
        ("Save tags" unchecked: only there). An empty tag is written empty or gets FAExportLib's default (a generated
        UID or patient ID, "Anonymous^"), never the subject hierarchy's value again: emptying identifying tags must
        take them out of the files. ``studyDefaults`` (a new StudyInstanceUID, date and time) fill an empty study,
        shared by the maps of one study exported together.
        """
        from FAExportLib import InputError

        fields = {}
        for tagName, field in {**PATIENT_STUDY_TAGS, **SERIES_TAGS}.items():
            value = exportable.tag(tagName).strip()
            if value:
                fields[field] = value
        for field, value in (studyDefaults or {}).items():
            fields.setdefault(field, value)
        if exportable.tag("PatientComments").strip():
            logging.warning("FAExport: PatientComments is not written (FAExport writes no patient comments)")
        if fields.get("series_description") == defaultSeriesDescription(volumeNode):
            del fields["series_description"]  # an unedited default follows the Quantity tag
        if "series_number" in fields:
            try:
                fields["series_number"] = int(fields["series_number"])
            except ValueError:
                raise InputError(f"SeriesNumber must be a whole number, not {fields['series_number']!r}") from None
        if self.mode == "mr+pm":
            fields.pop("series_instance_uid", None)
        return fields

    def scaleFromTag(self, exportable) -> str | float:
        from FAExportLib import InputError

        text = exportable.tag(SCALE_TAG).strip().lower() if self.writesIntegers else ""
        if text in ("", "auto", "1000", "32000"):
            return text or "auto"
        try:
            return float(text)
        except ValueError:
            raise InputError(f"the Scale tag must be auto, 1000, 32000 or a number, not {text!r}") from None

    @staticmethod
    def quantityFromTag(exportable, volumeNode) -> str | None:
        """The Quantity tag, or None (the node's VoxelValueQuantity with its code and units, else FA) when it names that."""
        text = exportable.tag(QUANTITY_TAG).strip()
        if not text or text.upper() == defaultQuantityName(volumeNode).upper():
            return None
        return text


# One plugin class per encoding, in the order of the dialog's rows for a float map:
# (class name, mode, plugin key, row name, tooltip, confidence when values do not survive int16, when they do).
ENCODINGS = (
    (
        "FAExportMRDICOMPluginClass", "mr", "MR (FAExport)", _("MR images, int16 + rescale (any PACS)"),
        _("FAExport: classic MR image series; float values stored as integers with one rescale, within the error below."), 0.8, 0.4,
    ),
    (
        "FAExportMRPMDICOMPluginClass", "mr+pm", "MR + Parametric Map (FAExport)", _("MR images + Parametric Map"),
        _("FAExport: an MR image series (any PACS) and an exact float32 Parametric Map, in the same study."), 0.75, 0.35,
    ),
    (
        "FAExportPMDICOMPluginClass", "pm", "Parametric Map (FAExport)", _("Parametric Map, exact float32"),
        _("FAExport: a DICOM Parametric Map (float32 voxels, quantity and unit codes); Slicer 5.12+ loads it with dcmqi."), 0.7, 0.3,
    ),
    (
        "FAExportSCDICOMPluginClass", "sc", "SC (FAExport)", _("Secondary Capture, multi-frame + rescale"),
        _("FAExport: one multi-frame grayscale Secondary Capture file; float values stored as integers with one rescale."), 0.6, 0.2,
    ),
)
PLUGIN_CLASSES = tuple(
    type(className, (FAExportDICOMPluginClass,), {"mode": mode, "pluginKey": key, "exportName": name, "exportTooltip": tooltip, "confidenceLossy": lossy, "confidenceInt16": kept})
    for className, mode, key, name, tooltip, lossy, kept in ENCODINGS
)


# --- volume inspection (shared by every plugin class)


def isExportableVolume(volumeNode) -> bool:
    """A scalar volume with one value per voxel (not a labelmap, vector or tensor volume); the cheap checks only."""
    if volumeNode is None or not volumeNode.IsA("vtkMRMLScalarVolumeNode") or volumeNode.IsA("vtkMRMLLabelMapVolumeNode"):
        return False
    imageData = volumeNode.GetImageData()
    return imageData is not None and imageData.GetPointData().GetScalars() is not None and imageData.GetNumberOfScalarComponents() == 1


def valuesSurviveInt16(volumeNode) -> bool:
    """True if every voxel is a whole number in int16's range: what Slicer's scalar volume exporter keeps intact."""
    import numpy as np

    values = slicer.util.arrayFromVolume(volumeNode)
    if values.size == 0:
        return True
    if np.issubdtype(values.dtype, np.integer):
        return INT16_MIN <= int(values.min()) and int(values.max()) <= INT16_MAX
    if not np.isfinite(values).all():
        return False
    return INT16_MIN <= float(values.min()) and float(values.max()) <= INT16_MAX and bool(np.all(values == np.round(values)))


def defaultQuantity(volumeNode):
    """The node's VoxelValueQuantity/Units (FA, MD, ... by code, or as coded), else FA: what the logic uses without a Quantity."""
    from FAExport import FAExportLogic

    from FAExportLib import quantity_by_name

    return FAExportLogic.quantityOf(volumeNode) or quantity_by_name("FA")


def defaultQuantityName(volumeNode) -> str:
    return defaultQuantity(volumeNode).name


def defaultSeriesDescription(volumeNode) -> str:
    return defaultQuantity(volumeNode).description


def patientAndStudyTags(shNode, seriesItemID: int) -> dict[str, str]:
    """The patient and study tags the dialog's tag editor copies into an exportable, "" where absent.

    They are the DICOM.* attributes of the series item's parent (the study) and grandparent (the patient):
    qSlicerDICOMTagEditorWidget.cxx, setExportables.
    """
    prefix = vtkMRMLSubjectHierarchyConstants.GetDICOMAttributePrefix()
    studyItemID = shNode.GetItemParent(seriesItemID)
    patientItemID = shNode.GetItemParent(studyItemID) if studyItemID else 0
    tags = {}
    for itemID, tagNames in ((patientItemID, vtkMRMLSubjectHierarchyConstants.GetDICOMPatientTagNames()), (studyItemID, vtkMRMLSubjectHierarchyConstants.GetDICOMStudyTagNames())):
        if itemID:
            tags |= {tagName: shNode.GetItemAttribute(itemID, prefix + tagName) for tagName in tagNames}
    return tags


def newStudyDefaults() -> dict:
    """A new study (UID, date, time) for maps whose study has none: Slicer's exporter would make one per series."""
    import datetime

    from pydicom.uid import generate_uid

    now = datetime.datetime.now()
    return {"study_instance_uid": generate_uid(), "study_date": now.strftime("%Y%m%d"), "study_time": now.strftime("%H%M%S")}


def inDialogWords(error) -> str:
    """An FAExportLib error with its fields named as the dialog shows them: tags (StudyDate, Quantity, Scale). A field
    the dialog has no tag for is named as the Python console gives it, and the message ends by saying where that is.
    """
    from FAExportSlicerLib.field_names import CONSOLE_NAMES, consoleLabel

    tags = {field: tagName for tagName, field in {**PATIENT_STUDY_TAGS, **SERIES_TAGS}.items()} | {"quantity": QUANTITY_TAG, "scale": SCALE_TAG}
    untagged = []

    def label(field) -> str:
        tagName = tags.get(field.name)
        if tagName is None:
            untagged.append(CONSOLE_NAMES.get(field.name, field.name))
            return consoleLabel(field)
        return tagName if field.value is None else f"{tagName} {field.value}"

    text = error.render(label)
    if untagged:
        text += _("; the dialog has no tag for {names}: give it to FAExportLogic().exportVolume in the Python console").format(names=", ".join(dict.fromkeys(untagged)))
    return text


#
# DICOMFAExportPlugin: the hidden module that registers the plugin classes
#


class DICOMFAExportPlugin:
    """The hook through which Slicer finds the plugins: a scripted module with no panel."""

    def __init__(self, parent):
        # no tr (only visible to developers, as in Slicer's own DICOM plugins)
        parent.title = "DICOM FAExport Plugin"
        parent.categories = ["Developer Tools.DICOM Plugins"]
        parent.dependencies = ["DICOM", "FAExport"]
        parent.contributors = ["FAExport developers"]
        parent.helpText = (
            "Adds FAExport's encodings (MR, Parametric Map, MR + Parametric Map, Secondary Capture) to the "
            "Export to DICOM dialog. No module interface here: right-click a volume in the Data module, Export to DICOM."
        )
        parent.acknowledgementText = "Part of the FAExport extension."
        parent.hidden = True  # it only appears in the DICOM export dialog
        # This module may be discovered before the DICOM module: create the registry if it is not there yet.
        if not hasattr(slicer.modules, "dicomPlugins"):
            slicer.modules.dicomPlugins = {}
        for pluginClass in PLUGIN_CLASSES:
            slicer.modules.dicomPlugins[pluginClass.pluginKey] = pluginClass
