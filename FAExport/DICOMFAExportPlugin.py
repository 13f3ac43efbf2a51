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

A row whose preview refuses the volume as its tags stand (NaN/infinite voxels, a scale too coarse for the values)
ranks below every row that can export, says why in its tooltip and what to do instead: the dialog preselects the top
row, which must not be one that fails on Export. The dialog examines every plugin class for every selection: the
voxels are scanned once per selection for the four classes (VolumeScans), and again only when the node or its voxels
change.

"Save modified tags" is checked by default (Resources/UI/qSlicerDICOMExportDialog.ui, SaveTagsCheckBox): the dialog
then saves every series tag of the table onto the series item as a DICOM.* attribute (qSlicerDICOMTagEditorWidget.cxx,
commitChangesToItems, lines 568-584), and the next examination of any exporter shows the saved value instead of the
plugin's default (setExportables, lines 516-528). So FAExport's defaults are values that mean "automatic" (Quantity and
Scale "auto", SeriesNumber and SeriesDescription empty): saved, they stay automatic, while a value typed on purpose is
kept. A saved SeriesInstanceUID is used by one export only.

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
QUANTITY_TAG = "Quantity"  # auto (the volume's), or FA, MD, AD, RD, ADC or a short label: what the voxels are
SCALE_TAG = "Scale"  # auto, 1000, 32000 or a number: how MR/SC store floats as integers
# Parametric Map rows: the series the map was computed from, which the map then references (so that OHIF can overlay
# it): empty means the one other series of the map's study on the map's grid, if there is one; "none" means none.
SOURCE_TAG = "SourceSeriesInstanceUID"
NO_SOURCE = "none"
# The source's patient and study are written (the map joins it): the table's, where given, must be the same.
SOURCE_IDENTITY_TAGS = {"PatientName": "0010,0010", "PatientID": "0010,0020", "StudyInstanceUID": "0020,000D"}
AUTO = "auto"
# Slicer's scalar volume exporter offers these series tags (DICOMScalarVolumePlugin.py, examineForExport, lines 654 and
# 665); "Save modified tags" saves them onto the series item, where FAExport's table then shows them. They are that
# exporter's placeholders, nobody's choice: FAExport reads them as "automatic".
SLICER_EXPORTER_DEFAULTS = {"SeriesDescription": "No series description", "SeriesNumber": "301"}
# Options the dialog has no tag for, which the FA Export module's panel offers: the checkboxes' text in
# Resources/UI/FAExport.ui (replaceNonFiniteCheckBox, allowCoarseScaleCheckBox), keyed by FAExportLib's field names.
PANEL_OPTIONS = {
    "replace_nonfinite": _("Replace NaN/infinite voxels with 0"),
    "allow_coarse_scale": _("Allow a coarse scale (export anyway)"),
}


class FAExportDICOMPluginClass(DICOMPlugin):
    """One FAExport encoding as a DICOM export plugin; the classes of ENCODINGS below fix these attributes."""

    mode = ""  # FAExportLib's export mode
    profile = None  # FAExportLib's export profile ("navigation"), or None
    pluginKey = ""  # the key in slicer.modules.dicomPlugins, and every exportable's pluginClass
    exportName = ""
    exportTooltip = ""
    # Confidence for volumes whose values do not survive an int16 cast (above the scalar volume plugin's 0.5),
    # and for those that do (below it: ordinary integer CT/MR stays with Slicer's exporter).
    confidenceLossy = 0.0
    confidenceInt16 = 0.0
    # Confidence when the preview refuses the volume as the tags stand: below every row that can export, so that the
    # dialog, which preselects its top row (qSlicerDICOMExportDialog.cxx, line 337), never preselects one that fails.
    confidenceRefused = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.loadType = self.pluginKey

    @property
    def writesIntegers(self) -> bool:
        return self.mode != "pm"

    # --- examine

    def examineForExport(self, subjectHierarchyItemID: int) -> list:
        """One exportable for a scalar volume, none for anything else; ranked and described by the preview of the
        volume with the tags the dialog's table will show (a value saved on the series item over the defaults).
        """
        shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
        volumeNode = shNode.GetItemDataNode(subjectHierarchyItemID) if shNode else None
        if not isExportableVolume(volumeNode):
            return []
        defaults = self.defaultSeriesTags()
        outcome, survivesInt16 = self.examineVolume(volumeNode, tagsAsShown(shNode, subjectHierarchyItemID, defaults))
        exportable = slicer.qSlicerDICOMExportable()
        exportable.subjectHierarchyItemID = subjectHierarchyItemID
        exportable.pluginClass = self.pluginKey
        if isinstance(outcome, Exception):
            exportable.name = _("{name} (cannot export this volume)").format(name=self.exportName)
            exportable.confidence = self.confidenceRefused
            preview = _("Cannot export: {error}").format(error=inDialogWords(outcome))
        else:
            from FAExportSlicerLib.labels import previewText

            exportable.name = self.exportName
            exportable.confidence = self.confidenceInt16 if survivesInt16 else self.confidenceLossy
            preview = previewText(outcome, self.mode, self.profile)
        exportable.tooltip = "\n".join([self.exportTooltip, preview, self.automaticTagsText(volumeNode)])
        for tagName, value in defaults.items():
            exportable.setTag(tagName, value)
        # The dialog's tag editor replaces these by the same attributes (then by the user's edits); a script that
        # exports without the dialog gets what the dialog would have shown.
        for tagName, value in patientAndStudyTags(shNode, subjectHierarchyItemID).items():
            exportable.setTag(tagName, value)
        return [exportable]

    def examineVolume(self, volumeNode, shownTags: dict[str, str]) -> tuple:
        """(the preview, or the FAExportError the export would raise; whether the values survive an int16 cast), from
        the one scan of the voxels that every plugin class shares for a selection.
        """
        from FAExportLib import FAExportError

        scan = VOLUME_SCANS.of(volumeNode)
        try:
            quantity = quantityFromText(shownTags[QUANTITY_TAG], volumeNode)
            scale = self.scaleFromText(shownTags.get(SCALE_TAG, ""))
        except FAExportError as error:
            return error, scan.survivesInt16(volumeNode, None)
        return scan.preview(volumeNode, self.mode, scale, quantity, self.profile), scan.survivesInt16(volumeNode, quantity)

    def defaultSeriesTags(self) -> dict[str, str]:
        """The series tags the dialog shows, each with the value that means "automatic": saved onto the series item
        ("Save modified tags"), they stay automatic for the next export, whichever encoding it uses.
        """
        tags = {QUANTITY_TAG: AUTO, "SeriesDescription": "", "SeriesNumber": "", "FrameOfReferenceUID": ""}
        if self.mode != "mr+pm":  # two series cannot share one SeriesInstanceUID
            tags["SeriesInstanceUID"] = ""
        if self.writesIntegers:
            tags[SCALE_TAG] = AUTO
        if "pm" in self.mode:
            tags[SOURCE_TAG] = ""
        return tags

    def defaultSeriesNumbers(self) -> list[int]:
        """This encoding's own SeriesNumber for each series it writes (what an automatic SeriesNumber gives)."""
        from FAExportLib.pipeline import ENCODERS, MODES

        return [ENCODERS[encoding].SERIES_NUMBER for encoding in MODES[self.mode]]

    def automaticTagsText(self, volumeNode) -> str:
        """What each tag left automatic gives for this volume, for the row's tooltip (the tag table itself has none)."""
        numbers = self.defaultSeriesNumbers()
        if len(numbers) > 1:
            number = _("{mr} (MR) and {pm} (Parametric Map); a number N gives N and N+1").format(mr=numbers[0], pm=numbers[1])
        else:
            number = str(numbers[0])
        lines = [
            _('Automatic tags (they stay automatic when "Save modified tags" saves them):'),
            _("Quantity auto: {quantity} (the volume's quantity; FA when it names none)").format(quantity=defaultQuantityName(volumeNode)),
            _('SeriesDescription empty (or "{placeholder}", the default of Slicer\'s own exporter): "{description}", from the quantity').format(
                placeholder=SLICER_EXPORTER_DEFAULTS["SeriesDescription"],
                description=defaultSeriesDescription(volumeNode),
            ),
            _("SeriesNumber empty (or {placeholder}, the default of Slicer's own exporter): {number}").format(placeholder=SLICER_EXPORTER_DEFAULTS["SeriesNumber"], number=number),
        ]
        if self.profile:
            lines.append(_("Scale auto: the factor of the quantity's unit (navigation profile: FA x10000, mm2/s x1000000, ms x1)"))
        elif self.writesIntegers:
            lines.append(_("Scale auto: the finest scale that fits the values"))
        if self.mode != "mr+pm":
            lines.append(_("SeriesInstanceUID empty: a new one; a UID typed here is used for one export, then its saved copy is cleared"))
        if "pm" in self.mode:
            candidate = sourceCandidate(volumeNode) or _("none in this study")
            lines.append(_('SourceSeriesInstanceUID empty: the study\'s series on the map\'s grid ({candidate}), which the Parametric Map then references (OHIF overlays it there); "{none}" for none').format(candidate=candidate, none=NO_SOURCE))
        return "\n".join(lines)

    # --- export

    def export(self, exportables) -> str:
        """Write every exportable's series flat into its directory; "" on success, else the error (nothing left behind)."""
        from FAExportLib import FAExportError

        moved: list[Path] = []
        studyDefaults: dict[int, dict] = {}
        seriesUIDs: set[str] = set()
        typedUIDs: list[tuple[int, str]] = []
        name = ""
        try:
            for exportable in exportables:
                name = self._itemName(exportable)
                typedUID = self._exportOne(exportable, moved, studyDefaults, seriesUIDs)
                if typedUID:
                    typedUIDs.append((exportable.subjectHierarchyItemID, typedUID))
        except FAExportError as error:
            message = _("Series '{name}': {error}").format(name=name, error=inDialogWords(error))
        except Exception as error:  # the dialog shows a returned message; a raised one becomes a generic failure
            logging.exception("FAExport: export of '%s' failed", name)
            message = _("Series '{name}': FAExport failed ({error}); see the application log for details").format(name=name, error=error)
        else:
            for itemID, uid in typedUIDs:
                forgetUsedSeriesUID(itemID, uid)
            return ""
        for path in moved:
            path.unlink(missing_ok=True)
        logging.error("FAExport: %s", message)
        return message

    @staticmethod
    def _itemName(exportable) -> str:
        shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
        return shNode.GetItemName(exportable.subjectHierarchyItemID) if shNode else ""

    def _exportOne(self, exportable, moved: list[Path], studyDefaults: dict[int, dict], seriesUIDs: set[str]) -> str | None:
        """Export into a private folder inside ``exportable.directory``, then move the verified files up, flat; returns
        the SeriesInstanceUID the tag gave (None: generated).

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
                profile=self.profile,
                scale=self.scaleFromTag(exportable),
                quantity=self.quantityFromTag(exportable, volumeNode),
                metadata=metadata,
                sourceSeriesInstanceUID=self.sourceFromTag(exportable, volumeNode, database),
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
        return seriesUID

    # --- tags -> export options

    def metadataFromTags(self, exportable, volumeNode, studyDefaults: dict | None = None) -> dict:
        """Patient, study and series fields from the exportable's tags alone: what the dialog's table shows is written,
        except that a series tag left automatic (see isAutomatic) gets FAExport's value.

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
            if value and not (tagName in SERIES_TAGS and isAutomatic(tagName, value, volumeNode)):
                fields[field] = value
        fields |= placeholderReplacements(exportable, volumeNode)
        for field, value in (studyDefaults or {}).items():
            fields.setdefault(field, value)
        if exportable.tag("PatientComments").strip():
            logging.warning("FAExport: PatientComments is not written (FAExport writes no patient comments)")
        if "series_number" in fields:
            try:
                fields["series_number"] = int(fields["series_number"])
            except ValueError:
                raise InputError(f"SeriesNumber must be a whole number, not {fields['series_number']!r}") from None
        if self.mode == "mr+pm":
            fields.pop("series_instance_uid", None)
        return fields

    def scaleFromTag(self, exportable) -> str | float:
        return self.scaleFromText(exportable.tag(SCALE_TAG) if self.writesIntegers else "")

    def scaleFromText(self, text: str) -> str | float:
        """The Scale tag as the logic takes it: auto (also empty), 1000, 32000 or a number; "auto" for a Parametric Map."""
        from FAExportLib import InputError

        text = text.strip().lower() if self.writesIntegers else ""
        if text in ("", AUTO, "1000", "32000"):
            return text or AUTO
        try:
            return float(text)
        except ValueError:
            raise InputError(f"the Scale tag must be auto, 1000, 32000 or a number, not {text!r}") from None

    def sourceFromTag(self, exportable, volumeNode, database) -> str | None:
        """The source series the Parametric Map references: the tag's UID, else (empty) the study's candidate; None for
        "none", for the integer rows, and without a candidate. Refused when the table's patient or study is not the
        source's: the map joins the source, whose values would replace what the table shows.
        """
        from FAExportLib import InputError

        if "pm" not in self.mode:
            return None
        text = exportable.tag(SOURCE_TAG).strip()
        if text.lower() == NO_SOURCE:
            return None
        uid = text or sourceCandidate(volumeNode)
        if not uid:
            return None
        files = list(database.filesForSeries(uid)) if database is not None else []
        if not files:
            raise InputError(f"the SourceSeriesInstanceUID tag names {uid}, which is not in Slicer's DICOM database; clear the tag, or write {NO_SOURCE}")
        for tagName, tag in SOURCE_IDENTITY_TAGS.items():
            shown, source = exportable.tag(tagName).strip(), database.fileValue(files[0], tag).strip()
            if shown and shown != source:
                raise InputError(
                    f"the source series {uid} is of {tagName} {source!r}, and the table gives {shown!r}: the map joins its source; "
                    f"write {NO_SOURCE} in SourceSeriesInstanceUID to keep the table's values, or make them the source's",
                )
        return uid

    @staticmethod
    def quantityFromTag(exportable, volumeNode) -> str | None:
        return quantityFromText(exportable.tag(QUANTITY_TAG), volumeNode)


# One plugin class per encoding, in the order of the dialog's rows for a float map: (class name, mode, profile, plugin
# key, row name, tooltip, confidence when values do not survive int16, when they do, when the preview refuses the volume).
ENCODINGS = (
    (
        "FAExportMRDICOMPluginClass", "mr", None, "MR (FAExport)", _("MR images, int16 + rescale (any PACS)"),
        _("FAExport: classic MR image series; float values stored as integers with one rescale, within the error below."), 0.8, 0.4, 0.04,
    ),
    (
        "FAExportMRPMDICOMPluginClass", "mr+pm", None, "MR + Parametric Map (FAExport)", _("MR images + Parametric Map"),
        _("FAExport: an MR image series (any PACS) and an exact float32 Parametric Map, in the same study."), 0.75, 0.35, 0.03,
    ),
    (
        "FAExportPMDICOMPluginClass", "pm", None, "Parametric Map (FAExport)", _("Parametric Map, exact float32"),
        _("FAExport: a DICOM Parametric Map (float32 voxels, quantity and unit codes); Slicer 5.12+ loads it with dcmqi."), 0.7, 0.3, 0.02,
    ),
    (
        "FAExportSCDICOMPluginClass", "sc", None, "SC (FAExport)", _("Secondary Capture, multi-frame + rescale"),
        _("FAExport: one multi-frame grayscale Secondary Capture file; float values stored as integers with one rescale."), 0.6, 0.2, 0.01,
    ),
    (
        "FAExportNavigationDICOMPluginClass", "mr", "navigation", "MR for navigation (FAExport)", _("MR for navigation systems, integers x factor"),
        _("FAExport: MR images for surgical navigation and web viewers: plain integers at the factor of the quantity's unit (FA x10000), RescaleSlope 1, "
          "a Real World Value Mapping in every file; square in-plane pixels only."), 0.55, 0.15, 0.005,
    ),
)
PLUGIN_CLASSES = tuple(
    type(
        className,
        (FAExportDICOMPluginClass,),
        {"mode": mode, "profile": profile, "pluginKey": key, "exportName": name, "exportTooltip": tooltip, "confidenceLossy": lossy, "confidenceInt16": kept, "confidenceRefused": refused},
    )
    for className, mode, profile, key, name, tooltip, lossy, kept, refused in ENCODINGS
)


# --- volume inspection (shared by every plugin class)


def isExportableVolume(volumeNode) -> bool:
    """A scalar volume with one value per voxel (not a labelmap, vector or tensor volume); the cheap checks only."""
    if volumeNode is None or not volumeNode.IsA("vtkMRMLScalarVolumeNode") or volumeNode.IsA("vtkMRMLLabelMapVolumeNode"):
        return False
    imageData = volumeNode.GetImageData()
    return imageData is not None and imageData.GetPointData().GetScalars() is not None and imageData.GetNumberOfScalarComponents() == 1


class VolumeScan:
    """The previews of one volume as it is now (``key``), each computed once and shared by the four plugin classes.

    The dialog instantiates and examines every plugin class for every series of every selection
    (qSlicerDICOMExportDialog.cxx, examineSelectedItem, lines 258-273); each preview is a pass over the voxels.
    Outcomes are a ``Preview`` or the ``FAExportError`` the export would raise, kept without its traceback (whose
    frames hold the voxels).
    """

    def __init__(self, key: tuple) -> None:
        self.key = key
        self.outcomes: dict[tuple, object] = {}

    def preview(self, volumeNode, mode: str, scale: str | float, quantity: str | None, profile: str | None = None):
        """FAExportLogic's preview for ``mode`` (the error it raises, returned): one for the integer encodings at a scale
        (FAExportSlicerLib/export.py, previewNode: the same for mr, sc and mr+pm; it holds every encoding's reader traps),
        one for the navigation profile, one for the Parametric Map.
        """
        key = ("pm", quantity) if mode == "pm" else ("integers", scale, quantity, profile)
        if key not in self.outcomes:
            self.outcomes[key] = self._parametricMapPreview(volumeNode, quantity) if mode == "pm" else logicPreview(volumeNode, mode="mr", scale=scale, quantity=quantity, profile=profile)
        return self.outcomes[key]

    def survivesInt16(self, volumeNode, quantity: str | None) -> bool:
        """True if every voxel is a whole number in int16's range: what Slicer's scalar volume exporter keeps intact.
        Measured by the Parametric Map's preview, which needs no scale; a volume no preview takes (NaN) does not.
        """
        outcome = self.preview(volumeNode, "pm", AUTO, quantity)
        if isinstance(outcome, Exception):
            return False
        values = outcome.value_range
        return values.integral and INT16_MIN <= values.minimum and values.maximum <= INT16_MAX

    def _parametricMapPreview(self, volumeNode, quantity: str | None):
        """The int16 preview's scan serves the Parametric Map too (same value range, same refusals), except a scale too
        coarse for the values: a Parametric Map stores float32 and uses no scale, so only then is it previewed itself.
        """
        from FAExportLib import CoarseScaleError

        outcome = self.preview(volumeNode, "mr", AUTO, quantity)
        return logicPreview(volumeNode, mode="pm", quantity=quantity) if isinstance(outcome, CoarseScaleError) else outcome


class VolumeScans:
    """The scans of the volumes examined lately, by node ID; a scan is replaced when the node or its voxels change
    (their modified times: slicer.util.arrayFromVolumeModified and SetVoxelValueQuantity both advance them).
    """

    KEPT = 8  # volumes; each scan holds a few small previews, never voxels

    def __init__(self) -> None:
        self.scans: dict[str, VolumeScan] = {}

    def of(self, volumeNode) -> VolumeScan:
        imageData = volumeNode.GetImageData()
        key = (volumeNode.GetID(), volumeNode.GetMTime(), imageData.GetMTime(), imageData.GetPointData().GetScalars().GetMTime())
        scan = self.scans.pop(volumeNode.GetID(), None)
        if scan is None or scan.key != key:
            scan = VolumeScan(key)
        self.scans[volumeNode.GetID()] = scan  # the most recent last
        while len(self.scans) > self.KEPT:
            del self.scans[next(iter(self.scans))]
        return scan


VOLUME_SCANS = VolumeScans()


def logicPreview(volumeNode, **options):
    """FAExportLogic's preview of the volume with ``options``, or the FAExportError it raises (kept without its traceback)."""
    from FAExport import FAExportLogic

    from FAExportLib import FAExportError

    try:
        return FAExportLogic().preview(volumeNode, **options)
    except FAExportError as error:
        return withoutTraceback(error)


def withoutTraceback(error: Exception) -> Exception:
    """The error, to keep: its traceback's frames (and so the voxel arrays they hold) let go."""
    error.__traceback__ = None
    error.__context__ = None
    return error


# --- tags


def tagsAsShown(shNode, seriesItemID: int, defaults: dict[str, str]) -> dict[str, str]:
    """The series tags as the dialog's tag editor will show them: a value saved on the series item replaces the
    plugin's default (qSlicerDICOMTagEditorWidget.cxx, setExportables, lines 516-528).
    """
    prefix = vtkMRMLSubjectHierarchyConstants.GetDICOMAttributePrefix()
    return {name: shNode.GetItemAttribute(seriesItemID, prefix + name) if shNode.HasItemAttribute(seriesItemID, prefix + name) else value for name, value in defaults.items()}


def isAutomatic(tagName: str, text: str, volumeNode) -> bool:
    """A series tag whose value means "FAExport's own": the defaults this plugin offers, Slicer's own exporter's
    placeholders, and a description that is the automatic one (it then follows the Quantity tag).
    """
    text = text.strip()
    if tagName in (QUANTITY_TAG, SCALE_TAG):
        return text.lower() in ("", AUTO)
    if tagName == "SeriesDescription" and text == defaultSeriesDescription(volumeNode):
        return True
    return text in ("", SLICER_EXPORTER_DEFAULTS.get(tagName, ""))


def sourceCandidate(volumeNode) -> str:
    """The SeriesInstanceUID of the one other DICOM series of the map's study whose volume is on the map's grid (the
    series it was computed from, as far as the study tells), or "" when there is none or more than one.
    """
    import vtk

    scene = volumeNode.GetScene()
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene) if scene else None
    item = shNode.GetItemByDataNode(volumeNode) if shNode else 0
    study = shNode.GetItemParent(item) if item else 0
    if not study:
        return ""
    children = vtk.vtkIdList()
    shNode.GetItemChildren(study, children)
    found = []
    for index in range(children.GetNumberOfIds()):
        child = children.GetId(index)
        node, uid = shNode.GetItemDataNode(child), shNode.GetItemUID(child, "DICOM")
        if child != item and uid and node is not None and node.IsA("vtkMRMLVolumeNode") and node.GetImageData() is not None and sameGrid(node, volumeNode):
            found.append(uid)
    return found[0] if len(found) == 1 else ""


def sameGrid(first, second) -> bool:
    """Two volumes on one grid: the same spatial dimensions (a DWI's components aside) and IJK-to-RAS matrix, to the
    tolerance FAExportLib takes maps to be on one grid with (pipeline.SAME_GRID_TOLERANCE).
    """
    import numpy as np

    import vtk
    from FAExportLib.pipeline import SAME_GRID_TOLERANCE

    if first.GetImageData().GetDimensions() != second.GetImageData().GetDimensions():
        return False
    matrices = []
    for node in (first, second):
        matrix = vtk.vtkMatrix4x4()
        node.GetIJKToRASMatrix(matrix)
        matrices.append(slicer.util.arrayFromVTKMatrix(matrix))
    return bool(np.allclose(matrices[0], matrices[1], rtol=0.0, atol=SAME_GRID_TOLERANCE))


def quantityFromText(text: str, volumeNode) -> str | None:
    """The Quantity tag, or None (the node's VoxelValueQuantity with its code and units, else FA) when it is automatic
    or names that quantity.
    """
    if isAutomatic(QUANTITY_TAG, text, volumeNode) or text.strip().upper() == defaultQuantityName(volumeNode).upper():
        return None
    return text.strip()


def forgetUsedSeriesUID(seriesItemID: int, uid: str) -> None:
    """A SeriesInstanceUID saved on the series item ("Save modified tags") is used by one export only: once written, the
    saved copy is cleared, so that the next export, of any encoding, gets a new UID instead of a second series under
    the same one (a folder export has no database to refuse it).
    """
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
    attributeName = vtkMRMLSubjectHierarchyConstants.GetDICOMAttributePrefix() + "SeriesInstanceUID"
    if shNode and shNode.GetItemAttribute(seriesItemID, attributeName).strip() == uid:
        shNode.SetItemAttribute(seriesItemID, attributeName, "")


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


def placeholderReplacements(exportable, volumeNode) -> dict[str, str]:
    """The study's real values for the patient and study tags that hold Slicer's placeholder text.

    The tag editor fills the tags from the subject hierarchy, where DICOMPlugin.addSeriesInSubjectHierarchy writes
    "No name", "Patient-<StudyInstanceUID>" and "No study description" for the source's empty values; written as they
    are, the new series would land under another patient than its study's. Each is replaced by the study's value as
    its files in Slicer's DICOM database have it (empty when they hold none), as the panel and the console do.
    """
    from FAExportSlicerLib import scene

    placeholders = {
        "PatientName": (scene.EMPTY_PATIENT_NAME,),
        "PatientID": (scene.EMPTY_PATIENT_ID_PREFIX + exportable.tag("StudyInstanceUID").strip(),),
        "StudyDescription": (scene.EMPTY_STUDY_DESCRIPTION, _("No study description")),
    }
    held = [tagName for tagName, texts in placeholders.items() if exportable.tag(tagName).strip() in texts]
    if not held:
        return {}
    study = scene.subjectHierarchyMetadata(volumeNode)
    return {PATIENT_STUDY_TAGS[tagName]: study.get(PATIENT_STUDY_TAGS[tagName], "") for tagName in held}


def newStudyDefaults() -> dict:
    """A new study (UID, date, time) for maps whose study has none: Slicer's exporter would make one per series."""
    import datetime

    from pydicom.uid import generate_uid

    now = datetime.datetime.now()
    return {"study_instance_uid": generate_uid(), "study_date": now.strftime("%Y%m%d"), "study_time": now.strftime("%H%M%S")}


def inDialogWords(error) -> str:
    """An FAExportLib error with its fields named as the dialog shows them: tags (StudyDate, Quantity, Scale). A field
    the dialog has no tag for is named as the Python console gives it, and the message ends by saying where it can be
    given: the FA Export module's panel when it has the option (PANEL_OPTIONS), and the Python console.
    """
    from FAExportSlicerLib.field_names import CONSOLE_NAMES, consoleLabel

    tags = {field: tagName for tagName, field in {**PATIENT_STUDY_TAGS, **SERIES_TAGS}.items()} | {"quantity": QUANTITY_TAG, "scale": SCALE_TAG}
    untagged: dict[str, str] = {}  # FAExportLib's name -> the console's

    def label(field) -> str:
        if field.name == "profile":  # the dialog's own row, "MR for navigation", is the profile
            return _("the navigation row")
        tagName = tags.get(field.name)
        if tagName is None:
            untagged[field.name] = CONSOLE_NAMES.get(field.name, field.name)
            return consoleLabel(field)
        return tagName if field.value is None else f"{tagName} {field.value}"

    text = error.render(label)
    if untagged:
        names = ", ".join(untagged.values())
        panelOptions = ", ".join(f'"{PANEL_OPTIONS[name]}"' for name in untagged if name in PANEL_OPTIONS)
        if panelOptions:
            text += _("; the dialog has no tag for {names}: tick {options} in the FA Export module and export from there, or give it to FAExportLogic().exportVolume in the Python console").format(
                names=names,
                options=panelOptions,
            )
        else:
            text += _("; the dialog has no tag for {names}: give it to FAExportLogic().exportVolume in the Python console").format(names=names)
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
            "Adds FAExport's encodings (MR, Parametric Map, MR + Parametric Map, Secondary Capture, MR for navigation) to the "
            "Export to DICOM dialog. No module interface here: right-click a volume in the Data module, Export to DICOM."
        )
        parent.acknowledgementText = "Part of the FAExport extension."
        parent.hidden = True  # it only appears in the DICOM export dialog
        # This module may be discovered before the DICOM module: create the registry if it is not there yet.
        if not hasattr(slicer.modules, "dicomPlugins"):
            slicer.modules.dicomPlugins = {}
        for pluginClass in PLUGIN_CLASSES:
            slicer.modules.dicomPlugins[pluginClass.pluginKey] = pluginClass
