"""Test views of Slicer's DICOM database, which is CTK's own ctkDICOMDatabase (ctk_dicom_core.py): not CTK calls.

Each reads through the database's own connection (the QSqlDatabase CTK opened, reached by its connection name from
PyQt5.QtSql: one Qt in the process) or through CTK's queries, never through a model of CTK:

- ``open_database_in(folder)``: a database as a used Slicer profile has one (the folder made, ``ctkDICOM.sql`` opened);
- ``series_uids(database)``: every series that has images (the Images table), reachable or not;
- ``browser_tables(database)`` and ``displayed_series(database)``: what the classic browser's patient, study and
  series tables list, with the queries of CTK's ctkDICOMTableView::setQuery (Libs/DICOM/Widgets/ctkDICOMTableView.cpp
  lines 660-735, the tables wired by ctkDICOMTableManager.cpp lines 82-86: studies by Studies.PatientsUID of the
  selected patient, series by Series.StudyInstanceUID of the selected study);
- ``count_signal(database, signature)``: a list that grows by one item per emission of a signal;
  ``wait_for(emitted)``: processes the application's events until such a list has an item (the file watcher's
  databaseChanged arrives through the event loop);
- ``block_storage_of(database, path)``: makes CTK's copy of one file fail (a folder where the copy would go), the way
  a full disk or a permission problem does: CTK logs "Error saving file" and inserts nothing for that file;
  ``fail_storage_after(database, stored)``: every file inserted after the first ``stored`` ones fails so (a disk
  that fills up during an export).
"""

import hashlib
from pathlib import Path

import pydicom
from ctk_dicom_core import ctkDICOMDatabase
from PyQt5 import QtSql


def open_database_in(folder) -> ctkDICOMDatabase:
    """CTK's database in ``folder`` (created), opened: what Slicer's DICOM module opens on a used profile.

    Slicer's application exists first, as in Slicer: openDatabase puts a QFileSystemWatcher on the file (its
    fileChanged is databaseChanged), whose notifier works only in a thread Qt knows, the application's.
    """
    import slicer_app

    slicer_app.application()
    Path(folder).mkdir(parents=True, exist_ok=True)
    database = ctkDICOMDatabase()
    assert database.openDatabase(str(Path(folder) / "ctkDICOM.sql")), database.lastError
    return database


def _rows(database, sql: str, values=()) -> list[tuple]:
    query = QtSql.QSqlQuery(QtSql.QSqlDatabase.database(database.connectionName(), False))
    query.prepare(sql)
    for value in values:
        query.addBindValue(value)
    assert query.exec_(), query.lastError().text()
    rows = []
    while query.next():
        rows.append(tuple(None if query.isNull(index) else query.value(index) for index in range(query.record().count())))
    return rows


def _records(database, sql: str, values=()) -> list[dict]:
    query = QtSql.QSqlQuery(QtSql.QSqlDatabase.database(database.connectionName(), False))
    query.prepare(sql)
    for value in values:
        query.addBindValue(value)
    assert query.exec_(), query.lastError().text()
    records = []
    while query.next():
        record = query.record()
        records.append({record.fieldName(index): None if query.isNull(index) else query.value(index) for index in range(record.count())})
    return records


def series_uids(database) -> set[str]:
    """Every series UID the Images table names (a series whose study or patient row is missing included); none while
    the database is closed (a fresh profile's), as CTK's own queries then return nothing.
    """
    if not database.isOpen:
        return set()
    return {uid for (uid,) in _rows(database, "SELECT DISTINCT SeriesInstanceUID FROM Images")}


_TABLE_QUERY = "SELECT DISTINCT {table}.* FROM Patients, Series, Studies WHERE Patients.UID = Studies.PatientsUID AND Studies.StudyInstanceUID = Series.StudyInstanceUID"


def browser_tables(database) -> dict[str, list[dict]]:
    """The rows of the browser's three tables, every patient and every study selected in turn: {"Patients": [...], ...}
    (empty while the database is closed: ctkDICOMTableView queries only an open one).
    """
    if not database.isOpen:
        return {"Patients": [], "Studies": [], "Series": []}
    patients = _records(database, _TABLE_QUERY.format(table="Patients"))
    studies = [row for patient in patients for row in _records(database, _TABLE_QUERY.format(table="Studies") + " AND Studies.PatientsUID IN (?)", [patient["UID"]])]
    series = [row for study in studies for row in _records(database, _TABLE_QUERY.format(table="Series") + " AND Series.StudyInstanceUID IN (?)", [study["StudyInstanceUID"]])]
    return {"Patients": patients, "Studies": studies, "Series": series}


def displayed_series(database) -> dict[str, dict]:
    """Series UID -> the browser's columns for it (patient, study and series rows it is listed under), for each series
    the tables list. Displayed fields are None until CTK's updateDisplayedFields filled them.
    """
    tables = browser_tables(database)
    patients = {row["UID"]: row for row in tables["Patients"]}
    studies = {row["StudyInstanceUID"]: row for row in tables["Studies"]}
    shown = {}
    for series in tables["Series"]:
        study = studies[series["StudyInstanceUID"]]
        patient = patients[study["PatientsUID"]]
        shown[series["SeriesInstanceUID"]] = {
            "PatientsName": patient["DisplayedPatientsName"],
            "PatientID": patient["PatientID"],
            "NumberOfStudies": patient["DisplayedNumberOfStudies"],
            "StudyDescription": study["StudyDescription"],
            "NumberOfSeries": study["DisplayedNumberOfSeries"],
            "SeriesDescription": series["SeriesDescription"],
            "Modality": series["Modality"],
            "SeriesNumber": series["SeriesNumber"],
            "Count": series["DisplayedCount"],
        }
    return shown


def count_signal(database, signature: str = "databaseChanged()") -> list:
    """A list that gets one item (the signal's arguments) per emission of ``signature``."""
    emitted: list = []
    assert database.connect(signature, lambda *arguments: emitted.append(arguments))
    return emitted


def wait_for(emitted: list, seconds: float = 10.0) -> list:
    """Process Qt events until ``emitted`` (from count_signal) is not empty or ``seconds`` passed; returns it."""
    import time

    from PyQt5 import QtCore

    deadline = time.monotonic() + seconds
    while not emitted and time.monotonic() < deadline:
        QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.AllEvents, 50)
        time.sleep(0.01)
    return emitted


def block_storage_of(database, path) -> Path:
    """Put a folder where CTK would store its copy of the DICOM file ``path`` (ctkDICOMDatabasePrivate::internalStoragePath
    with the default short storage path: the first 8 hex digits of the MD5 of the study and of the series UID, the MD5 of
    the SOP instance UID, ".dcm"), so that CTK's copy fails. Returns that folder.
    """
    dataset = pydicom.dcmread(path, stop_before_pixels=True)
    study, series, instance = (hashlib.md5(str(uid).encode()).hexdigest() for uid in (dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID))  # noqa: S324 -- CTK's own choice
    blocker = Path(database.databaseDirectory, "dicom", study[:8], series[:8], instance + ".dcm")
    blocker.mkdir(parents=True, exist_ok=True)
    return blocker


def fail_storage_after(database, stored: int) -> None:
    """From the ``stored + 1``-th file given to ``database.insert`` on, CTK's copy of each file fails (block_storage_of),
    as when the disk fills up: CTK's own insert runs, logs the error and inserts nothing for those files.
    """
    calls = []
    insert = type(database).insert

    def insertFillingTheDisk(filePath, *arguments, **keywords):
        calls.append(filePath)
        if len(calls) > stored:
            block_storage_of(database, filePath)
        return insert(database, filePath, *arguments, **keywords)

    database.insert = insertFillingTheDisk  # the instance's own attribute (the binding allows them), as a test spy
