"""Stand-ins for Slicer's DICOM export machinery, for tests on PyPI slicer-core (real MRML and subject hierarchy, no Qt).

Each mirrors the names and the behaviour callers depend on, read from Slicer v5.12.3 (paths below are in
Slicer/Slicer at that tag); none of Slicer's code is copied:

- ``qSlicerDICOMExportable`` (Modules/Scripted/DICOMLib/Widgets/qSlicerDICOMExportable.{h,cxx}): properties and
  their defaults; ``tag(name)`` reads through QMap::operator[], so an absent tag is inserted with a null QString,
  which PythonQt hands to Python as "" (PythonQt's PythonQtConv::QStringToPyObject). ``tags()`` returns the QMap
  by value (and PythonQt registers no converter for QMap<QString, QString>): plugins read and write tags only
  through tag()/setTag(); here ``tags`` is a copy, for the dialog model and the tests to read.
- ``DICOMPlugin`` (Modules/Scripted/DICOMLib/DICOMPlugin.py): the base class's attributes and virtual methods.
- ``ScalarVolumeExporterModel``: what Slicer's own scalar volume exporter offers in the dialog
  (Modules/Scripted/DICOMPlugins/DICOMScalarVolumePlugin.py, examineForExport): every scalar volume, including
  labelmaps, at confidence 0.5, with its default tags. Its export writes no files (Slicer's hands the volume to the
  CreateDICOMSeries CLI module, which slicer-core lacks): what tests need of it is the dialog's flow around it.
- ``ExportDialog``: qSlicerDICOMExportDialog.cxx (examineSelectedItem, onExport, exportSeries,
  onSaveTagsCheckBoxToggled) and qSlicerDICOMTagEditorWidget.cxx (setExportables, tagsTableCellChanged,
  commitChangesToItems) with its tag table, and the dialog's form (Resources/UI/qSlicerDICOMExportDialog.ui: "Save
  modified tags" checked), with CTK's own ctkDICOMIndexer (Testing/Harness/ctk_dicom_core.py) adding the exported
  folder to the database, as the dialog does. Line numbers below are those of Slicer v5.12.3.
"""

import logging
import numbers
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import slicer
from slicer import vtkMRMLSubjectHierarchyConstants, vtkMRMLSubjectHierarchyNode, vtkSlicerSubjectHierarchyModuleLogic

DICOM_PREFIX = vtkMRMLSubjectHierarchyConstants.GetDICOMAttributePrefix()  # "DICOM."


class QtProperty:
    """A Q_PROPERTY written from Python as PythonQt converts (PythonQtConv::PyObjToQVariant, non-strict).

    QString takes the str() of any object (PyObjGetString falls back to PyObject_Str); double and vtkIdType take
    numbers only, anything else fails the property write, which PythonQt raises as an AttributeError.
    """

    def __init__(self, qtType: str, default) -> None:
        self.qtType = qtType
        self.default = default

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        return self if instance is None else instance.__dict__.get(self.name, self.default)

    def __set__(self, instance, value) -> None:
        if self.qtType == "QString":
            value = str(value)
        elif isinstance(value, str | bytes) or not isinstance(value, numbers.Real) or (self.qtType == "vtkIdType" and not isinstance(value, numbers.Integral)):
            raise AttributeError(f"Property '{self.name}' of type '{self.qtType}' does not accept an object of type {type(value).__name__} ({value!r})")
        else:
            value = int(value) if self.qtType == "vtkIdType" else float(value)
        instance.__dict__[self.name] = value


class qSlicerDICOMExportable:  # noqa: N801 -- Slicer's class name
    """Container for what a plugin offers to export; its tags are what the dialog's tag editor shows and edits."""

    # Types and defaults of qSlicerDICOMExportable.h's properties and qSlicerDICOMExportablePrivate's constructor.
    name = QtProperty("QString", "Unknown exporter")
    tooltip = QtProperty("QString", "Creates a DICOM file from the selected data")
    subjectHierarchyItemID = QtProperty("vtkIdType", 0)
    pluginClass = QtProperty("QString", "")
    directory = QtProperty("QString", "")
    confidence = QtProperty("double", 0.0)

    def __init__(self) -> None:
        self._tags: dict[str, str] = {}

    @property
    def tags(self) -> dict[str, str]:
        """A copy, as the C++ getter returns the map by value: changing it changes nothing."""
        return dict(self._tags)

    @tags.setter
    def tags(self, newTags: dict[str, str]) -> None:
        self._tags = dict(newTags)

    def tag(self, tagName: str) -> str:
        return self._tags.setdefault(str(tagName), "")

    def setTag(self, tagName: str, tagValue: str) -> None:
        self._tags[str(tagName)] = str(tagValue)  # QString arguments: PythonQt passes str() of other objects


class DICOMPlugin:
    """DICOMLib.DICOMPlugin: load type, loadable cache, tags to pre-cache; examine/export are virtual."""

    def __init__(self) -> None:
        self.loadType = "Generic DICOM"
        self.loadableCache = {}
        self.tags = {
            "seriesDescription": "0008,103E",
            "seriesNumber": "0020,0011",
            "frameOfReferenceUID": "0020,0052",
            "seriesInstanceUID": "0020,000E",
            "modality": "0008,0060",
            "instanceUID": "0008,0018",
            "sopClassUID": "0008,0016",
        }
        self.tempDir = None

    def examineForImport(self, fileList) -> list:
        return [loadable for files in fileList for loadable in self.examineFiles(files)]

    def examineFiles(self, files) -> list:
        return []

    def examine(self, fileList) -> list:
        """The old name, which DICOMUtils.getLoadablesFromFileLists still calls when examineForImport finds nothing."""
        return self.examineForImport(fileList)

    def load(self, loadable) -> bool:
        return True

    def examineForExport(self, subjectHierarchyItemID) -> list:
        return []

    def export(self, exportables) -> str:
        return ""


class ScalarVolumeExporterModel(DICOMPlugin):
    """The examination of Slicer's DICOMScalarVolumePluginClass: any scalar volume node, confidence 0.5."""

    pluginKey = "DICOMScalarVolumePlugin"

    def __init__(self) -> None:
        super().__init__()
        self.loadType = "Scalar Volume"

    def examineForExport(self, subjectHierarchyItemID) -> list:
        shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
        dataNode = shNode.GetItemDataNode(subjectHierarchyItemID)
        if dataNode is None or not dataNode.IsA("vtkMRMLScalarVolumeNode"):
            return []
        exportable = slicer.qSlicerDICOMExportable()
        exportable.name = self.loadType
        exportable.tooltip = "Creates a series of DICOM files from scalar volumes"
        exportable.subjectHierarchyItemID = subjectHierarchyItemID
        exportable.pluginClass = self.pluginKey
        exportable.confidence = 0.5
        # All the tags it offers, in its order; the study ones are replaced by the study item's in the tag editor.
        defaults = {"SeriesDescription": "No series description", "Modality": "CT", "Manufacturer": "Unknown manufacturer", "Model": "Unknown model", "StudyDate": "", "StudyTime": "", "StudyInstanceUID": ""}
        defaults |= {"SeriesDate": "", "SeriesTime": "", "ContentDate": "", "ContentTime": "", "SeriesNumber": "301", "SeriesInstanceUID": "", "FrameOfReferenceUID": ""}
        for name, value in defaults.items():
            exportable.setTag(name, value)
        return [exportable]

    handed: list[dict[str, str]] = []  # the tags of the exportables its last export was given

    def export(self, exportables) -> str:
        """Writes nothing (see the module's docstring); keeps the tags it was given, which Slicer's would write."""
        type(self).handed = [exportable.tags for exportable in exportables]
        return ""


def install(monkeypatch, scene) -> None:
    """What the application provides: ``slicer.mrmlScene``, ``slicer.modules.dicomPlugins``, the exportable class, DICOMLib."""
    monkeypatch.setattr(slicer, "mrmlScene", scene, raising=False)
    monkeypatch.setattr(slicer, "modules", types.SimpleNamespace(), raising=False)
    monkeypatch.setattr(slicer, "qSlicerDICOMExportable", qSlicerDICOMExportable, raising=False)
    dicomLib = types.ModuleType("DICOMLib")
    dicomLib.DICOMPlugin = DICOMPlugin
    monkeypatch.setitem(sys.modules, "DICOMLib", dicomLib)


@dataclass
class Row:
    """One line of the dialog's exporter list: every exportable of one plugin class."""

    pluginClass: str
    exportables: list
    confidence: float  # the plugin's mean confidence

    @property
    def text(self) -> str:
        """The list item's text: name of the first exportable, confidence in percent, series count, plugin class (cxx lines 319-323)."""
        return f"{self.exportables[0].name} ({self.confidence * 100.0:.0f}%, {len(self.exportables)} series) ({self.pluginClass})"

    @property
    def tooltip(self) -> str:
        """The list item's tooltip: the first exportable's (cxx line 325)."""
        return self.exportables[0].tooltip


@dataclass
class TableRow:
    """A value row of the tag editor's table: the tag, the text in its value cell, and what it is committed to."""

    tagName: str
    value: str
    exportable: object | None  # a series row's exportable; None for patient and study rows
    level: str  # "patient", "study" or "series"


class ExportDialog:
    """The flow of Slicer's "Export to DICOM..." dialog, on a real subject hierarchy."""

    def __init__(self, scene, database=None) -> None:
        self.scene = scene
        self.shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
        self.database = database  # slicer.dicomDatabase (CTK's ctkDICOMDatabase), for "export to database"
        self.exportables: list = []  # the tag editor's (d->Exportables): those of the selected row
        self.table: list[TableRow] = []  # the tag editor's table
        self.studyItemID = 0
        self.patientItemID = 0
        # "Save modified tags" is checked in the dialog's form (qSlicerDICOMExportDialog.ui, SaveTagsCheckBox, lines
        # 197-206) and nothing unchecks it when the dialog opens (makeDialogSelections restores only ExportToFolder).
        self.saveTags = True
        self.errorLabel = ""
        self.rows: list[Row] = []

    # examineSelectedItem (cxx lines 212-338)

    def examine(self, itemID: int) -> list[Row]:
        """Rows for the selected item (a study: each of its children), highest mean confidence first; the top row is
        selected, which gives its exportables to the tag editor.
        """
        self.rows, self.exportables, self.table = [], [], []  # ExportablesListWidget->clear(), DICOMTagEditorWidget->clear()
        if self.shNode.IsItemLevel(itemID, vtkMRMLSubjectHierarchyConstants.GetDICOMLevelStudy()):
            seriesItemIDs = self._children(itemID)
        elif self.shNode.GetItemDataNode(itemID) is not None:
            seriesItemIDs = [itemID]
        else:
            return []
        byPlugin: dict[str, list] = {}
        # Lines 258-273: for each series item, every registered plugin class is instantiated anew and examined (a
        # failing plugin is logged and skipped).
        for seriesItemID in seriesItemIDs:
            for pluginClass in slicer.modules.dicomPlugins:
                plugin = slicer.modules.dicomPlugins[pluginClass]()
                try:
                    found = plugin.examineForExport(seriesItemID)
                except Exception:
                    logging.exception("Failed to get exportables from plugin %s", type(plugin).__name__)
                    continue
                for exportable in found:
                    # exportablesByPlugin is a QMultiMap: values(plugin) lists the most recently inserted first,
                    # so a row holds its series in reverse order of examination (the plugin exports them that way).
                    byPlugin.setdefault(exportable.pluginClass, []).insert(0, exportable)
        # Lines 293-308: a QMap iterates its keys in order; the rows sit in a QMultiMap keyed by 1 - mean confidence,
        # whose values(key) come most recently inserted first: equal confidences list in reverse plugin-class order.
        rows = [Row(pluginClass, byPlugin[pluginClass], sum(e.confidence for e in byPlugin[pluginClass]) / len(byPlugin[pluginClass])) for pluginClass in sorted(byPlugin)]
        ordered: dict[float, list[Row]] = {}
        for row in rows:
            ordered.setdefault(1.0 - row.confidence, []).insert(0, row)
        self.rows = [row for key in sorted(ordered) for row in ordered[key]]
        if self.rows:  # line 337: setCurrentRow(0), then onExportableSelectedAtRow
            self.select(self.rows[0])
        return self.rows

    def _children(self, itemID: int) -> list[int]:
        children = []
        self.shNode.GetItemChildren(itemID, children)
        return children

    # qSlicerDICOMTagEditorWidget::setExportables (the row's selection; tag editor lines 307-540)

    def select(self, row: Row) -> str:
        """Give the row's exportables to the tag editor; returns its error ("" on success).

        setExportables keeps the exportables before it checks their study and patient: after an error the table is
        not filled again (it keeps what an earlier row put there), yet Export still hands them to the plugin (with
        only the plugin's own tags).
        """
        self.errorLabel = ""
        self.exportables = list(row.exportables)
        self.studyItemID = self.patientItemID = 0
        seriesParents = {self.shNode.GetItemParent(exportable.subjectHierarchyItemID) for exportable in row.exportables}
        if 0 in seriesParents:
            self.errorLabel = "No study found"
            return self.errorLabel
        if len(seriesParents) > 1:
            self.errorLabel = "Exportables are not in the same study"
            return self.errorLabel
        (self.studyItemID,) = seriesParents
        self.patientItemID = self.shNode.GetItemParent(self.studyItemID)
        if not self.patientItemID:
            self.errorLabel = "No patient found"
            return self.errorLabel
        self.table = []
        # Patient, then study (lines 379-473): missing tags are added to the item as empty attributes (so the table
        # shows them), then every DICOM.* attribute of the item is a row, and is copied into every exportable.
        for level, itemID, tagNames in (("patient", self.patientItemID, vtkMRMLSubjectHierarchyConstants.GetDICOMPatientTagNames()), ("study", self.studyItemID, vtkMRMLSubjectHierarchyConstants.GetDICOMStudyTagNames())):
            for tagName in tagNames:
                if not self.shNode.HasItemAttribute(itemID, DICOM_PREFIX + tagName):
                    self.shNode.SetItemAttribute(itemID, DICOM_PREFIX + tagName, "")
            for attributeName in self.shNode.GetItemAttributeNames(itemID):
                if attributeName.startswith(DICOM_PREFIX):
                    tagName, value = attributeName[len(DICOM_PREFIX) :], self.shNode.GetItemAttribute(itemID, attributeName)
                    self.table.append(TableRow(tagName, value, None, level))
                    for exportable in self.exportables:
                        exportable.setTag(tagName, value)
        # Series sections (lines 475-530): a row per series tag of the plugin's, in the QMap's key order; a value saved
        # on the series item replaces the plugin's default, in the row and in the exportable.
        for exportable in self.exportables:
            for tagName, default in sorted(exportable.tags.items()):
                if self._isPatientOrStudyTag(tagName):
                    continue
                value = default
                if self.shNode.HasItemAttribute(exportable.subjectHierarchyItemID, DICOM_PREFIX + tagName):
                    value = self.shNode.GetItemAttribute(exportable.subjectHierarchyItemID, DICOM_PREFIX + tagName)
                    exportable.setTag(tagName, value)
                self.table.append(TableRow(tagName, value, exportable, "series"))
        return ""

    @staticmethod
    def _isPatientOrStudyTag(tagName: str) -> bool:
        return vtkSlicerSubjectHierarchyModuleLogic.IsPatientTag(tagName) or vtkSlicerSubjectHierarchyModuleLogic.IsStudyTag(tagName)

    def seriesTags(self, exportable) -> dict[str, str]:
        """The series section of the table for one exportable."""
        return {name: value for name, value in exportable.tags.items() if not self._isPatientOrStudyTag(name)}

    # tagsTableCellChanged (tag editor lines 618-652), then the dialog's onTagEdited (cxx lines 381-390)

    def editTag(self, tagName: str, value: str, exportable=None) -> None:
        """The user types a value into a row of the table: a patient or study tag goes to every exportable, a series
        tag to its own; with "Save modified tags" checked, the table is committed to the items at once.
        """
        if exportable is None:
            assert self._isPatientOrStudyTag(tagName), f"{tagName} is a series tag: say which exportable"
        (row,) = [row for row in self.table if row.tagName == tagName and row.exportable is exportable and (exportable is not None or row.level != "series")]
        row.value = value
        for each in self.exportables if exportable is None else [exportable]:
            each.setTag(tagName, value)
        if self.saveTags:
            self.commitChangesToItems()

    # onSaveTagsCheckBoxToggled (cxx lines 484-493)

    def setSaveTags(self, on: bool) -> None:
        """Tick or untick "Save modified tags": ticking it commits the table at once."""
        self.saveTags = on
        if on:
            self.commitChangesToItems()

    def commitChangesToItems(self) -> None:
        """The table's value cells go back into the series, study and patient items (tag editor lines 550-615): every
        row, edited or not, and only the rows (a tag a plugin adds to its exportable later has none).
        """
        for row in self.table:
            if row.level == "series":
                self.shNode.SetItemAttribute(row.exportable.subjectHierarchyItemID, DICOM_PREFIX + row.tagName, row.value)
        for level, itemID in (("study", self.studyItemID), ("patient", self.patientItemID)):
            if not itemID:  # "Failed to get study item" / "Failed to get patient item": the rest is not committed
                return
            for row in self.table:
                if row.level == level:
                    self.shNode.SetItemAttribute(itemID, DICOM_PREFIX + row.tagName, row.value)

    # onExport / exportSeries

    def export(self, outputFolder: Path | None = None, temporaryPath: Path | None = None) -> bool:
        """Export to ``outputFolder``, or (None) to the database through DICOMExportTemp_<time> under ``temporaryPath``."""
        self.errorLabel = ""
        toDatabase = outputFolder is None
        folder = Path(temporaryPath) / "DICOMExportTemp_20260102_030405" if toDatabase else Path(outputFolder)
        if toDatabase:
            folder.mkdir(parents=True, exist_ok=True)
        success = self._exportSeries(folder)
        if toDatabase:
            if success:
                # cxx lines 442-444: a ctkDICOMIndexer (CTK's own) on the application's database, which indexes the
                # folder through a fresh connection of its own (ctkDICOMIndexerPrivateWorker::start) and waits.
                import slicer_app
                from ctk_dicom_core import ctkDICOMIndexer

                slicer_app.application()  # the indexer waits in a QEventLoop: Slicer's application exists
                indexer = ctkDICOMIndexer()
                indexer.setDatabase(self.database)
                indexer.addDirectory(str(folder.absolute()), True)
            # QDir::entryList() with the default filter (AllEntries: no Hidden) lists no dot-files; QDir::remove
            # deletes files only; then rmdir fails if anything is left: hidden files and sub-folders stay behind.
            for path in folder.iterdir():
                if path.is_file() and not path.name.startswith("."):
                    path.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()
        return success

    def _exportSeries(self, folder: Path) -> bool:
        """cxx lines 521-582: the table is committed first (when saving), whatever the export then does."""
        if self.saveTags:
            self.commitChangesToItems()
        if not self.exportables:
            return False
        for exportable in self.exportables:
            exportable.directory = str(folder.absolute())
        plugin = slicer.modules.dicomPlugins[self.exportables[0].pluginClass]()
        try:
            errorMessage = plugin.export(self.exportables)
        except Exception:
            logging.exception("Failed to export using plugin %s", type(plugin).__name__)
            errorMessage = "DICOM export failed. See application log for details"
        if errorMessage is None:
            self.errorLabel = "Error occurred in exporter"
            return False
        if errorMessage:
            self.errorLabel = errorMessage
            return False
        return True
