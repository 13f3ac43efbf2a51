"""The DICOM module's browser, as far as FAExport reaches into it: ``slicer.modules.DICOMInstance.browserWidget``.

Modelled on Slicer v5.12.3 Modules/Scripted/DICOMLib/DICOMBrowser.py (SlicerDICOMBrowser: ``dicomBrowser``, the
classic ctkDICOMBrowser; ``dicomVisualBrowser``, ctkDICOMVisualBrowserWidget; ``useVisualDICOMBrowser``, read by
Modules/Scripted/DICOM/DICOM.py from the setting ``DICOM/UseVisualDICOMBrowser``, default false, which hides the
other browser in ``toggleBrowsers``; ``setDatabaseDirectory`` sets both) and on CTK 5056664a:
Libs/DICOM/Widgets/ctkDICOMTableManager.h (``patientsTable()``, ``studiesTable()``, ``seriesTable()``,
``updateTableViews()``), ctkDICOMTableView.h (``setCurrentSelection(QStringList)``, ``currentSelection()``),
ctkDICOMVisualBrowserWidget.h (``refreshBrowser()``, ``patientView()``, ``databaseDirectory``) and
ctkDICOMPatientView.h (``selectPatientUID``, ``selectSeriesInstanceUIDs``, ``selectedSeriesInstanceUIDs``).

Only what a user would see is recorded: each browser's selection, and whether it is the one shown. Opening the DICOM
module (``slicer.util.selectModule("DICOM")``) creates the browser, as DICOMWidget.setup does.
"""

import types

import slicer


class _TableView:
    def __init__(self) -> None:
        self._selection: list[str] = []

    def setCurrentSelection(self, uids) -> None:
        self._selection = [str(uid) for uid in uids]

    def currentSelection(self) -> tuple[str, ...]:
        return tuple(self._selection)  # a QStringList reaches Python as a tuple


class _TableManager:
    def __init__(self) -> None:
        self._tables = {name: _TableView() for name in ("patients", "studies", "series")}
        self.updates = 0

    def patientsTable(self):
        return self._tables["patients"]

    def studiesTable(self):
        return self._tables["studies"]

    def seriesTable(self):
        return self._tables["series"]

    def updateTableViews(self) -> None:
        self.updates += 1


class _ClassicBrowser:
    def __init__(self) -> None:
        self._tableManager = _TableManager()
        self.databaseDirectory = ""
        self.visible = True

    def dicomTableManager(self):
        return self._tableManager


class _PatientView:
    def __init__(self) -> None:
        self._patient = ""
        self._series: list[str] = []

    def selectPatientUID(self, patientUID: str, flag=None) -> None:
        self._patient = str(patientUID)

    def currentPatientUID(self) -> str:
        return self._patient

    def selectSeriesInstanceUIDs(self, seriesInstanceUIDs) -> None:
        self._series = [str(uid) for uid in seriesInstanceUIDs]

    def selectedSeriesInstanceUIDs(self) -> tuple[str, ...]:
        return tuple(self._series)


class _VisualBrowser:
    def __init__(self) -> None:
        self._patientView = _PatientView()
        self.databaseDirectory = ""
        self.visible = False
        self.refreshes = 0

    def patientView(self):
        return self._patientView

    def refreshBrowser(self, isImport: bool = False) -> None:
        self.refreshes += 1


class SlicerDICOMBrowser:
    """DICOMLib.DICOMBrowser.SlicerDICOMBrowser: both browsers, one of them shown."""

    def __init__(self, useVisualDICOMBrowser: bool) -> None:
        self.dicomBrowser = _ClassicBrowser()
        self.dicomVisualBrowser = _VisualBrowser()
        self.useVisualDICOMBrowser = useVisualDICOMBrowser
        self.dicomVisualBrowser.visible = useVisualDICOMBrowser
        self.dicomBrowser.visible = not useVisualDICOMBrowser
        self.databaseDirectories: list[str] = []

    def setDatabaseDirectory(self, databaseDirectory: str) -> None:
        # Each browser's setter closes the shared database and opens <folder>/ctkDICOM.sql (ctkDICOMBrowser.cpp setDatabaseDirectory).
        self.databaseDirectories.append(str(databaseDirectory))
        self.dicomBrowser.databaseDirectory = self.dicomVisualBrowser.databaseDirectory = str(databaseDirectory)
        slicer.dicomDatabase.openDatabase(str(databaseDirectory) + "/ctkDICOM.sql")


def selectModule(moduleName: str) -> None:
    """``slicer.util.selectModule`` for the DICOM module: the module's instance gets its browser (DICOMWidget.setup)."""
    if moduleName != "DICOM":
        raise ValueError(f"only the DICOM module is modelled, not {moduleName!r}")
    from PyQt5 import QtCore

    instance = getattr(slicer.modules, "DICOMInstance", None)
    if instance is None:
        instance = types.SimpleNamespace(browserWidget=None)
        slicer.modules.DICOMInstance = instance
    if instance.browserWidget is None:
        useVisual = str(QtCore.QSettings().value("DICOM/UseVisualDICOMBrowser", False)).lower() == "true"
        instance.browserWidget = SlicerDICOMBrowser(useVisual)
    instance.selectedModule = moduleName
