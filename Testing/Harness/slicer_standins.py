"""Stand-ins for what exists only inside the Slicer application, for tests that run on PyPI slicer-core.

``ctkDICOMDatabase`` stands in for ``slicer.dicomDatabase``. It has the names and signatures of the calls FAExport
makes and models what CTK does (commontk/CTK at 5056664a20, the revision Slicer 5.12.3 pins in
SuperBuild/External_CTK.cmake; Libs/DICOM/Core/ctkDICOMDatabase.cpp, "CTK" below). Its rows live in an SQLite file
``<databaseDirectory>/ctkDICOM.sql`` with the tables and columns of CTK's schema that these calls touch
(Libs/DICOM/Core/Resources/dicom-schema.sql, version 0.8.1), so that two instances on one file are two connections
to one database, as Slicer's DICOM browser and an export can be:

- ``openDatabase(file)`` opens (and on an empty file creates) the database; SQLite cannot create a file in a folder
  that does not exist, so a fresh Slicer profile's database stays closed (``isOpen`` False) until its folder is made
  (ctkDICOMDatabase::openDatabase, lines 1523-1580). ``slicer.app.dicomDatabase()`` starts closed.
- ``insert(path, storeFile=True, ...)``: a dataset without patient name, patient ID and study UID is refused with a
  logged error (``uidsForDataSet``: an empty patient ID becomes the study UID, an empty name the ID); a SOP instance
  already in the database with a stored (relative) file name is not "up to date", so its row is removed and the file
  indexed again, replacing the stored copy (``indexingStatusForFile``, ``insert`` lines 993-1030); storing the copy
  into ``<databaseDirectory>/dicom/<study>/<series>/<sop>`` may fail, which is logged, not raised.
- The connection's insert caches (``InsertedPatientsCompositeIDCache``, ``InsertedStudyUIDsCache``,
  ``InsertedSeriesUIDsCache``, ``insertPatientStudySeries`` lines 856-960): a patient, study or series inserted once
  through this connection is never looked up again, so after rows were deleted through another connection the next
  insert writes a series without its study row. Removing through this connection and ``prepareInsert()`` clear them
  (``resetLastInsertedValues``).
- insert() does NOT fill the displayed fields and does NOT emit ``databaseChanged`` for an on-disk database;
  ``updateDisplayedFields()`` fills them for the images inserted since, then emits ``databaseChanged``.
- Queries return what CTK returns: ``patients()`` and ``patientForStudy()`` the database's own patient key
  (``Patients.UID``, as a string), not the DICOM PatientID (lines 1815-1884).

Not CTK calls, for the tests: ``displayedSeries()`` (what the browser's patient/study/series tables list: joined rows
with displayed fields), ``seriesUIDs()``, ``databaseChangedCount``, ``insertCalls``, ``removedSeries``.
"""

import contextlib
import datetime
import logging
import shutil
import sqlite3
from pathlib import Path

import pydicom

SCHEMA_VERSION = "0.8.1"  # ctkDICOMDatabasePrivate's SchemaVersion at this revision
# The tables and columns of Resources/dicom-schema.sql that the modelled calls read or write.
_SCHEMA = """
CREATE TABLE SchemaInfo (Version VARCHAR(1024) NOT NULL);
CREATE TABLE Images (SOPInstanceUID VARCHAR(64) NOT NULL PRIMARY KEY, Filename VARCHAR(1024), SeriesInstanceUID VARCHAR(64) NOT NULL,
    InsertTimestamp VARCHAR(20) NOT NULL, DisplayedFieldsUpdatedTimestamp DATETIME);
CREATE TABLE Patients (UID INTEGER PRIMARY KEY AUTOINCREMENT, PatientsName VARCHAR(255), PatientID VARCHAR(255), PatientsBirthDate DATE,
    InsertTimestamp VARCHAR(20) NOT NULL, DisplayedPatientsName VARCHAR(255), DisplayedNumberOfStudies INT);
CREATE TABLE Studies (StudyInstanceUID VARCHAR(64) NOT NULL PRIMARY KEY, PatientsUID INT NOT NULL, StudyID VARCHAR(255), StudyDate DATE,
    StudyTime VARCHAR(20), StudyDescription VARCHAR(255), InsertTimestamp VARCHAR(20) NOT NULL, DisplayedNumberOfSeries INT);
CREATE TABLE Series (SeriesInstanceUID VARCHAR(64) NOT NULL PRIMARY KEY, StudyInstanceUID VARCHAR(64) NOT NULL, SeriesNumber INT,
    SeriesDescription VARCHAR(255), Modality VARCHAR(20), InsertTimestamp VARCHAR(20) NOT NULL, DisplayedCount INT);
"""


class ctkDICOMDatabase:  # noqa: N801 -- CTK's class name
    """One connection to an SQLite DICOM index, with the API subset of CTK's ctkDICOMDatabase that FAExport uses.

    ``ctkDICOMDatabase()`` is closed, like ``slicer.app.dicomDatabase()`` on a fresh profile; ``ctkDICOMDatabase(folder)``
    creates the folder and opens ``folder/ctkDICOM.sql`` (what a used Slicer profile has).
    """

    def __init__(self, databaseDirectory: str | Path | None = None, storeFailureAfter: int | None = None) -> None:
        self._connection: sqlite3.Connection | None = None
        self.databaseDirectory = ""
        self.lastError = ""
        self.insertCalls: list[tuple] = []
        self.removedSeries: list[str] = []
        self.databaseChangedCount = 0
        self._databaseChangedSlots = []
        self._resetLastInsertedValues()
        # Fault injection: after this many stored files, storing fails the way a full disk makes CTK fail (logged, not raised).
        self._storeFailureAfter = storeFailureAfter
        self._storedFiles = 0
        if databaseDirectory is not None:
            Path(databaseDirectory).mkdir(parents=True, exist_ok=True)
            assert self.openDatabase(str(Path(databaseDirectory) / "ctkDICOM.sql"))

    # --- opening and closing

    @property
    def isOpen(self) -> bool:
        return self._connection is not None

    def openDatabase(self, databaseFile: str, connectionName: str = "") -> bool:
        self.closeDatabase()
        path = Path(databaseFile)
        self.databaseDirectory = str(path.absolute().parent)
        try:
            connection = sqlite3.connect(path, isolation_level=None)
        except sqlite3.OperationalError as error:  # QSqlDatabase::open fails the same way on a missing folder
            self.lastError = str(error)
            return False
        if not connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            connection.executescript(_SCHEMA)
            connection.execute("INSERT INTO SchemaInfo VALUES (?)", (SCHEMA_VERSION,))
        self._connection = connection
        self._resetLastInsertedValues()
        return True

    def closeDatabase(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def schemaVersion(self) -> str:
        return SCHEMA_VERSION

    def schemaVersionLoaded(self) -> str:
        row = self._query("SELECT Version FROM SchemaInfo") if self.isOpen else []
        return row[0][0] if row else ""

    def _query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        if self._connection is None:  # a query on a closed QSqlDatabase fails: CTK's loggedExec logs it, returns nothing
            logging.error("SQLITE ERROR: Driver not loaded (the DICOM database is not open)")
            return []
        return self._connection.execute(sql, parameters).fetchall()

    # --- signals (PythonQt: calling a signal emits it; connect takes a signature string)

    def connect(self, signature: str, slot) -> bool:
        if signature != "databaseChanged()":
            raise ValueError(f"the stand-in has no signal {signature}")
        self._databaseChangedSlots.append(slot)
        return True

    def databaseChanged(self) -> None:
        self.databaseChangedCount += 1
        for slot in list(self._databaseChangedSlots):
            slot()

    # --- indexing

    def _resetLastInsertedValues(self) -> None:
        self._patientCache: dict[str, int] = {}
        self._studyCache: set[str] = set()
        self._seriesCache: set[str] = set()

    def prepareInsert(self) -> None:
        self._resetLastInsertedValues()

    def insert(self, filePath: str, storeFile: bool = True, generateThumbnail: bool = True, createHierarchy: bool = True, destinationDirectoryName: str = "") -> None:
        self.insertCalls.append((str(filePath), storeFile, generateThumbnail, createHierarchy, destinationDirectoryName))
        try:
            dataset = pydicom.dcmread(filePath, stop_before_pixels=True)
        except Exception:
            logging.warning("ctkDICOMDatabase::insert: Could not read DICOM file:%s", filePath)
            return
        seriesUID, sopUID = str(dataset.get("SeriesInstanceUID", "")), str(dataset.get("SOPInstanceUID", ""))
        known = self._query("SELECT Filename, InsertTimestamp FROM Images WHERE SOPInstanceUID = ?", (sopUID,))
        if known:
            name, inserted = known[0]
            # Up to date only for a linked (absolute) file of the same name not modified since it was indexed.
            linked = Path(name).is_absolute() and Path(name) == Path(filePath)
            if linked and datetime.datetime.fromtimestamp(Path(filePath).stat().st_mtime) < datetime.datetime.fromisoformat(inserted):
                logging.debug("File %s already added", filePath)
                return
            self._query("DELETE FROM Images WHERE SOPInstanceUID = ?", (sopUID,))  # re-indexed below (removeImage)
        patientID, patientName, studyUID = str(dataset.get("PatientID", "")), str(dataset.get("PatientName", "")), str(dataset.get("StudyInstanceUID", ""))
        patientID = patientID or studyUID
        patientName = patientName or patientID
        if not (patientName and studyUID and patientID):
            logging.error("Required information (patient name, patient ID, study instance UID) is missing from dataset")
            return
        storedPath = str(filePath)
        if storeFile and seriesUID:
            if self._storeFailureAfter is not None and self._storedFiles >= self._storeFailureAfter:
                logging.error("ctkDICOMDatabase::insert: Error saving file: %s (No space left on device)", filePath)
                return
            folder = Path(self.databaseDirectory, "dicom", studyUID, seriesUID)
            folder.mkdir(parents=True, exist_ok=True)
            storedPath = str(folder / sopUID)
            shutil.copyfile(filePath, storedPath)
            self._storedFiles += 1
        self._insertPatientStudySeries(dataset, patientID, patientName, studyUID, seriesUID)
        if sopUID and seriesUID:
            name = str(Path(storedPath).relative_to(self.databaseDirectory)) if storeFile else storedPath
            self._query("INSERT INTO Images VALUES (?, ?, ?, ?, NULL)", (sopUID, name, seriesUID, _now()))

    def _insertPatientStudySeries(self, dataset, patientID: str, patientName: str, studyUID: str, seriesUID: str) -> None:
        birthDate = str(dataset.get("PatientBirthDate", ""))
        compositeID = f"{patientID}~{birthDate}~{patientName}"  # ctkDICOMDatabase::compositePatientID
        patientKey = self._patientCache.get(compositeID)
        if patientKey is None:
            rows = self._query("SELECT UID FROM Patients WHERE PatientID = ? AND PatientsName = ?", (patientID, patientName))
            if rows:
                patientKey = rows[0][0]
            else:
                self._query("INSERT INTO Patients (PatientsName, PatientID, PatientsBirthDate, InsertTimestamp) VALUES (?, ?, ?, ?)", (patientName, patientID, birthDate, _now()))
                patientKey = self._query("SELECT last_insert_rowid()")[0][0]
            self._patientCache[compositeID] = patientKey
        if studyUID not in self._studyCache:
            if not self._query("SELECT 1 FROM Studies WHERE StudyInstanceUID = ?", (studyUID,)):
                values = (studyUID, patientKey, *(str(dataset.get(keyword, "")) for keyword in ("StudyID", "StudyDate", "StudyTime", "StudyDescription")), _now())
                self._query("INSERT INTO Studies (StudyInstanceUID, PatientsUID, StudyID, StudyDate, StudyTime, StudyDescription, InsertTimestamp) VALUES (?, ?, ?, ?, ?, ?, ?)", values)
            self._studyCache.add(studyUID)
        if seriesUID and seriesUID not in self._seriesCache:
            if not self._query("SELECT 1 FROM Series WHERE SeriesInstanceUID = ?", (seriesUID,)):
                values = (seriesUID, studyUID, int(dataset.get("SeriesNumber", 0) or 0), str(dataset.get("SeriesDescription", "")), str(dataset.get("Modality", "")), _now())
                self._query("INSERT INTO Series (SeriesInstanceUID, StudyInstanceUID, SeriesNumber, SeriesDescription, Modality, InsertTimestamp) VALUES (?, ?, ?, ?, ?, ?)", values)
            self._seriesCache.add(seriesUID)

    def updateDisplayedFields(self) -> None:
        """The displayed-field generator's columns for the images inserted since (ctkDICOMDatabase::updateDisplayedFields)."""
        pending = self._query("SELECT DISTINCT SeriesInstanceUID FROM Images WHERE DisplayedFieldsUpdatedTimestamp IS NULL")
        for (seriesUID,) in pending:
            self._query("UPDATE Series SET DisplayedCount = (SELECT COUNT(*) FROM Images WHERE SeriesInstanceUID = ?) WHERE SeriesInstanceUID = ?", (seriesUID, seriesUID))
        self._query("UPDATE Studies SET DisplayedNumberOfSeries = (SELECT COUNT(*) FROM Series WHERE Series.StudyInstanceUID = Studies.StudyInstanceUID)")
        self._query("UPDATE Patients SET DisplayedPatientsName = PatientsName, DisplayedNumberOfStudies = (SELECT COUNT(*) FROM Studies WHERE PatientsUID = Patients.UID)")
        self._query("UPDATE Images SET DisplayedFieldsUpdatedTimestamp = ? WHERE DisplayedFieldsUpdatedTimestamp IS NULL", (_now(),))
        self.databaseChanged()

    # --- queries

    def _absolute(self, name: str) -> str:
        return name if Path(name).is_absolute() else str(Path(self.databaseDirectory) / name)

    def filesForSeries(self, seriesUID: str, hits: int = -1) -> list[str]:
        files = [self._absolute(name) for (name,) in self._query("SELECT Filename FROM Images WHERE SeriesInstanceUID = ?", (seriesUID,))]
        return files if hits < 0 else files[:hits]

    def instancesForSeries(self, seriesUID: str, hits: int = -1) -> list[str]:
        instances = [uid for (uid,) in self._query("SELECT SOPInstanceUID FROM Images WHERE SeriesInstanceUID = ?", (seriesUID,))]
        return instances if hits < 0 else instances[:hits]

    def fileForInstance(self, sopInstanceUID: str) -> str:
        rows = self._query("SELECT Filename FROM Images WHERE SOPInstanceUID = ?", (sopInstanceUID,))
        return self._absolute(rows[0][0]) if rows else ""

    def fileValue(self, fileName: str, tag: str) -> str:
        """A tag's value as CTK's string form ("gggg,eeee"; multiple values joined by backslashes; "" when absent)."""
        group, element = (int(part, 16) for part in tag.split(","))
        try:
            element = pydicom.dcmread(fileName, stop_before_pixels=True).get((group, element))
        except Exception:
            return ""
        if element is None or element.value is None:
            return ""
        value = element.value
        return "\\".join(str(each) for each in value) if isinstance(value, pydicom.multival.MultiValue) else str(value)

    def studyForSeries(self, seriesUID: str) -> str:
        rows = self._query("SELECT StudyInstanceUID FROM Series WHERE SeriesInstanceUID = ?", (seriesUID,))
        return rows[0][0] if rows else ""

    def patientForStudy(self, studyUID: str) -> str:
        rows = self._query("SELECT PatientsUID FROM Studies WHERE StudyInstanceUID = ?", (studyUID,))
        return str(rows[0][0]) if rows else ""

    def patients(self) -> list[str]:
        return [str(uid) for (uid,) in self._query("SELECT UID FROM Patients")]

    def studiesForPatient(self, patient: str) -> list[str]:
        return [uid for (uid,) in self._query("SELECT StudyInstanceUID FROM Studies WHERE PatientsUID = ?", (int(patient),))]

    def seriesForStudy(self, study: str) -> list[str]:
        return [uid for (uid,) in self._query("SELECT SeriesInstanceUID FROM Series WHERE StudyInstanceUID = ?", (study,))]

    # --- removing (each clears this connection's insert caches, as CTK's remove* do)

    def removeSeries(self, seriesInstanceUID: str, clearCachedTags: bool = False, cleanup: bool = True) -> bool:
        self.removedSeries.append(seriesInstanceUID)
        for path in self.filesForSeries(seriesInstanceUID):
            if cleanup and path.startswith(self.databaseDirectory):
                with contextlib.suppress(FileNotFoundError):
                    Path(path).unlink()
        self._query("DELETE FROM Images WHERE SeriesInstanceUID = ?", (seriesInstanceUID,))
        self._cleanup()
        self._resetLastInsertedValues()
        return True

    def removeStudy(self, studyInstanceUID: str, cleanup: bool = True) -> bool:
        for seriesUID in self.seriesForStudy(studyInstanceUID):
            self.removeSeries(seriesUID, cleanup=cleanup)
        self._resetLastInsertedValues()
        return True

    def removePatient(self, patientUID: str, cleanup: bool = True) -> bool:
        for studyUID in self.studiesForPatient(patientUID):
            self.removeStudy(studyUID, cleanup)
        self._resetLastInsertedValues()
        return True

    def _cleanup(self) -> None:
        """ctkDICOMDatabase::cleanup: series without images, studies without series, patients without studies go."""
        self._query("DELETE FROM Series WHERE (SELECT COUNT(*) FROM Images WHERE Images.SeriesInstanceUID = Series.SeriesInstanceUID) = 0")
        self._query("DELETE FROM Studies WHERE (SELECT COUNT(*) FROM Series WHERE Series.StudyInstanceUID = Studies.StudyInstanceUID) = 0")
        self._query("DELETE FROM Patients WHERE (SELECT COUNT(*) FROM Studies WHERE Studies.PatientsUID = Patients.UID) = 0")

    # --- for the tests (not CTK calls)

    def seriesUIDs(self) -> set[str]:
        return {uid for (uid,) in self._query("SELECT DISTINCT SeriesInstanceUID FROM Images")}

    def displayedSeries(self) -> dict[str, dict]:
        """Series UID -> the fields the DICOM browser shows, for the series its tables can reach.

        The browser lists patients, then the studies whose PatientsUID is the selected patient's UID, then the series
        of the selected study (ctkDICOMTableManager's three ctkDICOMTableView queries); a series without its study row,
        or one inserted without updateDisplayedFields, shows nothing.
        """
        rows = self._query(
            "SELECT Series.SeriesInstanceUID, Patients.DisplayedPatientsName, Patients.PatientID, Studies.StudyDescription, Series.SeriesDescription,"
            " Series.Modality, Series.SeriesNumber FROM Patients JOIN Studies ON Studies.PatientsUID = Patients.UID"
            " JOIN Series ON Series.StudyInstanceUID = Studies.StudyInstanceUID WHERE Series.DisplayedCount IS NOT NULL",
        )
        names = ("PatientsName", "PatientID", "StudyDescription", "SeriesDescription", "Modality", "SeriesNumber")
        return {row[0]: dict(zip(names, (str(value) for value in row[1:]), strict=True)) for row in rows}


def _now() -> str:
    return datetime.datetime.now().isoformat(timespec="milliseconds")
