"""Slicer's DICOM database and browser: whether the database is open, inserting an export all or nothing, and
refreshing or selecting what the DICOM module's browser shows.
"""

import os
from dataclasses import replace
from typing import TYPE_CHECKING

import slicer
import slicer.util

if TYPE_CHECKING:
    from FAExportLib import SeriesResult


def dicomDatabase():
    """Slicer's DICOM database when it is open (the DICOM module creates it), else None."""
    database = getattr(slicer, "dicomDatabase", None)
    return database if database is not None and database.isOpen else None


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
    refreshDICOMBrowser()


def inDatabase(database, item: "SeriesResult") -> "SeriesResult":
    """The same series, with the file paths the database stored."""
    files = sorted(database.filesForSeries(item.series_instance_uid))
    return replace(item, files=files, directory=os.path.commonpath(files) if len(files) > 1 else os.path.dirname(files[0]))


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


def showSeriesInBrowser(seriesUIDs: list[str]) -> None:
    """Open the DICOM module with the series' patient, study and series (all of one study) selected in its browser."""
    slicer.util.selectModule("DICOM")  # creates the browser (slicer.modules.DICOMInstance.browserWidget) if needed
    refreshDICOMBrowser()
    database = dicomDatabase()
    if database is None or not seriesUIDs:
        return
    # ctkDICOMTableManager/ctkDICOMTableView (CTK Libs/DICOM/Widgets): setCurrentSelection(uids) per table.
    tables = slicer.modules.DICOMInstance.browserWidget.dicomBrowser.dicomTableManager()
    studyUID = database.studyForSeries(seriesUIDs[0])
    tables.patientsTable().setCurrentSelection([database.patientForStudy(studyUID)])
    tables.studiesTable().setCurrentSelection([studyUID])
    tables.seriesTable().setCurrentSelection(seriesUIDs)
