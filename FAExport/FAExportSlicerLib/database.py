"""Slicer's DICOM database and browser: whether the database is open, inserting an export all or nothing, and
refreshing or selecting what the DICOM module's browser shows.
"""

import logging
import os
from dataclasses import replace
from typing import TYPE_CHECKING

import slicer
import slicer.util

if TYPE_CHECKING:
    from FAExportLib import SeriesResult


def dicomDatabase():
    """Slicer's DICOM database when it is open, else None."""
    database = getattr(slicer, "dicomDatabase", None)
    return database if database is not None and database.isOpen else None


def openDicomDatabase():
    """Slicer's DICOM database, open: on a fresh profile, created where Slicer's settings put it, as Slicer's own
    DICOM import does on first use; OutputError (nothing written) when that cannot be done.

    At start-up the DICOM module opens ``<settings folder>/ctkDICOM.sql`` but creates no folder
    (Modules/Scripted/DICOM/DICOM.py initializeDICOMDatabase; the default folder is Documents/SlicerDICOMDatabase);
    only the browser's "Create new database", which DICOMFileDialog.createDefaultDatabase() clicks for the first
    import, makes it. Done here without the browser (absent in batch mode): the folder, when missing or empty, is
    created and opened (CTK's openDatabase writes the schema into a new file); a folder with other files, or a
    database of another schema version, is the user's to sort out in the DICOM module, as its browser says.
    """
    from FAExportLib import OutputError

    database = getattr(slicer, "dicomDatabase", None)
    if database is None:
        raise OutputError("Slicer has no DICOM database (the DICOM module is not loaded)", remedy="start Slicer with its DICOM module, or export to a folder only")
    if database.isOpen:
        return database
    folder = defaultDatabaseFolder()
    if not folder:
        raise OutputError("Slicer's DICOM database is not open", remedy="open the DICOM module and create or select a database, or export to a folder only")
    databaseFile = os.path.join(folder, "ctkDICOM.sql")
    if os.path.exists(databaseFile):
        # DICOM.py closed it at start-up: made by another Slicer version (or unreadable).
        raise OutputError(f"Slicer's DICOM database in {folder} was made by another Slicer version or cannot be read", remedy='open the DICOM module and click "Update database" or "Create new database", or export to a folder only')
    if os.path.isdir(folder) and os.listdir(folder):
        raise OutputError(f"the DICOM database folder {folder} holds other files and no DICOM database", remedy='open the DICOM module and click "Create new database" or "Select database folder", or export to a folder only')
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create Slicer's DICOM database folder {folder} ({error.strerror})", remedy='open the DICOM module and click "Select database folder", or export to a folder only') from None
    if not database.openDatabase(databaseFile) or not database.isOpen:
        raise OutputError(f"cannot create Slicer's DICOM database in {folder} ({database.lastError})", remedy='open the DICOM module and click "Select database folder", or export to a folder only')
    browser = browserWidget()
    if browser is not None:
        browser.setDatabaseDirectory(folder)  # DICOMLib/DICOMBrowser.py: hides "No valid DICOM database found"
    logging.info("FAExport created Slicer's DICOM database in %s", folder)
    return database


def defaultDatabaseFolder() -> str:
    """The database folder Slicer's settings name (DICOM.py stores it under slicer.dicomDatabaseDirectorySettingsKey), or ""."""
    key = getattr(slicer, "dicomDatabaseDirectorySettingsKey", None)
    if not key:
        return ""
    import qt

    return str(qt.QSettings().value(key) or "")


def addToDatabase(database, series: "list[SeriesResult]") -> None:
    """Insert every file into the database (which keeps its own copy), then refresh what the browser shows; all series or none.

    ctkDICOMDatabase.insert reports no errors, so each series is checked by counting what the database holds;
    on any failure every series of this export is removed again. insert() alone neither fills the displayed
    fields (patient/study/series columns) nor emits databaseChanged itself for an on-disk database (CTK
    Libs/DICOM/Core/ctkDICOMDatabase.cpp, ctkDICOMDatabasePrivate::insert; CTK's watcher of the database file may
    emit it later, from the event loop, which says nothing of the displayed fields); ctkDICOMIndexer, which Slicer's export
    dialog uses, calls updateDisplayedFields() after inserting (Libs/DICOM/Core/ctkDICOMIndexer.cpp), and that emits
    databaseChanged, which the DICOM module listens to (Modules/Scripted/DICOM/DICOM.py onDatabaseChanged).
    """
    from FAExportLib import FAExportError, OutputError

    inserted = []
    # The connection's insert caches may name patient and study rows deleted since through another connection (the
    # browser's): CTK then skips re-creating them and stores a series no table shows. Slicer's indexer starts each
    # batch with prepareInsert() (ctkDICOMDatabase.h, prepareInsert; ctkDICOMIndexer.cpp).
    database.prepareInsert()
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
            missing = unlinkedRow(database, item.series_instance_uid)
            if missing:
                raise OutputError(
                    f"Slicer's DICOM database stored series {item.series_description!r} without its {missing} row, so the DICOM browser "
                    "would not show it; nothing was added",
                    remedy="restart Slicer and export again, or export to a folder and import it in the DICOM module",
                )
    except Exception as error:
        for seriesUID in inserted:
            database.removeSeries(seriesUID)
        if isinstance(error, FAExportError):
            raise
        raise OutputError(f"Slicer's DICOM database refused the series ({error}); nothing was added") from error
    database.updateDisplayedFields()
    refreshDICOMBrowser()


def unlinkedRow(database, seriesUID: str) -> str:
    """Which row the DICOM browser needs to list the series is missing ("study" or "patient"), or "" when none is.

    The browser lists patients, their studies by the patient's key, then the studies' series; CTK's studyForSeries
    reads the series row alone, patientForStudy the study row (ctkDICOMDatabase.cpp).
    """
    studyUID = database.studyForSeries(seriesUID)
    patient = database.patientForStudy(studyUID) if studyUID else ""
    if not patient:
        return "study"
    return "" if patient in database.patients() else "patient"


def inDatabase(database, item: "SeriesResult") -> "SeriesResult":
    """The same series, with the file paths the database stored."""
    files = sorted(database.filesForSeries(item.series_instance_uid))
    return replace(item, files=files, directory=os.path.commonpath(files) if len(files) > 1 else os.path.dirname(files[0]))


def browserWidget():
    """The DICOM module's browser (DICOMLib.SlicerDICOMBrowser), or None before the module was first opened (and in batch mode)."""
    dicomModule = getattr(getattr(slicer, "modules", None), "DICOMInstance", None)
    return getattr(dicomModule, "browserWidget", None) or None


def refreshDICOMBrowser() -> bool:
    """Update what the DICOM browser in use shows, when the browser exists (not in batch mode, nor before the DICOM module was opened).

    The DICOM module shows one of two browsers (DICOMLib/DICOMBrowser.py toggleBrowsers; the setting "Use visual
    DICOM browser"): the classic one's tables are refreshed as DICOMUtils.refreshDICOMWidget does (which logs an error
    whenever the browser does not exist yet), the visual one re-reads the database (ctkDICOMVisualBrowserWidget::refreshBrowser).
    """
    browser = browserWidget()
    if browser is None:
        return False
    if browser.useVisualDICOMBrowser:
        browser.dicomVisualBrowser.refreshBrowser()
    else:
        browser.dicomBrowser.dicomTableManager().updateTableViews()
    return True


def showSeriesInBrowser(seriesUIDs: list[str]) -> None:
    """Open the DICOM module with the series' patient, study and series (all of one study) selected in the browser in use."""
    slicer.util.selectModule("DICOM")  # creates the browser (slicer.modules.DICOMInstance.browserWidget) if needed
    refreshDICOMBrowser()
    database = dicomDatabase()
    browser = browserWidget()
    if database is None or browser is None or not seriesUIDs:
        return
    studyUID = database.studyForSeries(seriesUIDs[0])
    patientUID = database.patientForStudy(studyUID)  # the database's patient key, which both browsers select by
    if browser.useVisualDICOMBrowser:
        # ctkDICOMPatientView (CTK Libs/DICOM/Widgets): the patient's tab, then its series' thumbnails.
        patientView = browser.dicomVisualBrowser.patientView()
        patientView.selectPatientUID(patientUID)
        patientView.selectSeriesInstanceUIDs(seriesUIDs)
        return
    # ctkDICOMTableManager/ctkDICOMTableView (CTK Libs/DICOM/Widgets): setCurrentSelection(uids) per table.
    tables = browser.dicomBrowser.dicomTableManager()
    tables.patientsTable().setCurrentSelection([patientUID])
    tables.studiesTable().setCurrentSelection([studyUID])
    tables.seriesTable().setCurrentSelection(seriesUIDs)
