"""Stand-ins for what exists only inside the Slicer application, for tests that run on PyPI slicer-core.

``ctkDICOMDatabase`` stands in for ``slicer.dicomDatabase``. It has the names and signatures of the calls FAExport
makes and models what CTK does (commontk/CTK at 5056664a20, the revision Slicer 5.12.3 pins in
SuperBuild/External_CTK.cmake; Libs/DICOM/Core/ctkDICOMDatabase.cpp):

- ``insert(path, storeFile=True, ...)``: a file whose SOP instance is already in the database is skipped
  (``fileExistsAndUpToDate``, ``indexingStatusForFile``); a dataset without patient name, patient ID and study
  instance UID is refused with a logged error and nothing stored (``uidsForDataSet``: an empty patient ID becomes the
  study UID, an empty name the ID); a failure to store the copy is logged, not raised; ``storeFile`` copies the file
  into ``<databaseDirectory>/dicom/<study>/<series>/<sop>``. insert() does NOT fill the displayed fields and does NOT
  emit ``databaseChanged`` for an on-disk database (only an in-memory one emits it, ctkDICOMDatabasePrivate::insert).
- ``updateDisplayedFields()`` fills the patient/study/series columns the DICOM browser shows for the instances
  inserted since, then emits ``databaseChanged`` (ctkDICOMDatabase::updateDisplayedFields).
- ``databaseChanged()`` emits the signal, as a PythonQt call of a signal does; ``connect("databaseChanged()", slot)``.

Not CTK calls, for the tests: ``displayedSeries()`` (what the browser's tables would list), ``seriesUIDs()``,
``databaseChangedCount``, ``insertCalls``, ``removedSeries``.
"""

import contextlib
import logging
import shutil
from pathlib import Path

import pydicom


class ctkDICOMDatabase:  # noqa: N801 -- CTK's class name
    """A file-backed DICOM index with the API subset of CTK's ctkDICOMDatabase that FAExport uses."""

    def __init__(self, databaseDirectory: str | Path, storeFailureAfter: int | None = None) -> None:
        self.databaseDirectory = str(databaseDirectory)
        self.isOpen = True
        self.insertCalls: list[tuple] = []
        self.removedSeries: list[str] = []
        self.databaseChangedCount = 0
        self._databaseChangedSlots = []
        # (series UID, SOP instance UID) -> (stored file, study UID, patient ID)
        self._instances: dict[tuple[str, str], tuple[str, str, str]] = {}
        self._pendingDisplay: dict[str, pydicom.Dataset] = {}  # series UID -> a header, until updateDisplayedFields
        self._displayed: dict[str, dict] = {}  # series UID -> displayed fields
        # Fault injection: after this many stored files, storing fails the way a full disk makes CTK fail (logged, not raised).
        self._storeFailureAfter = storeFailureAfter

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

    def insert(self, filePath: str, storeFile: bool = True, generateThumbnail: bool = True, createHierarchy: bool = True, destinationDirectoryName: str = "") -> None:
        self.insertCalls.append((str(filePath), storeFile, generateThumbnail, createHierarchy, destinationDirectoryName))
        try:
            dataset = pydicom.dcmread(filePath, stop_before_pixels=True)
        except Exception:
            logging.warning("ctkDICOMDatabase::insert: Could not read DICOM file:%s", filePath)
            return
        seriesUID, sopUID = str(dataset.get("SeriesInstanceUID", "")), str(dataset.get("SOPInstanceUID", ""))
        if any(sop == sopUID for _, sop in self._instances):
            logging.debug("File %s already added", filePath)
            return
        patientID, patientName, studyUID = str(dataset.get("PatientID", "")), str(dataset.get("PatientName", "")), str(dataset.get("StudyInstanceUID", ""))
        patientID = patientID or studyUID
        patientName = patientName or patientID
        if not (patientName and studyUID and patientID):
            logging.error("Required information (patient name, patient ID, study instance UID) is missing from dataset")
            return
        path = str(filePath)
        if storeFile:
            if self._storeFailureAfter is not None and len(self._instances) >= self._storeFailureAfter:
                logging.error("ctkDICOMDatabase::insert: Error saving file: %s (No space left on device)", filePath)
                return
            folder = Path(self.databaseDirectory, "dicom", studyUID, seriesUID)
            folder.mkdir(parents=True, exist_ok=True)
            path = str(folder / sopUID)
            shutil.copyfile(filePath, path)
        self._instances[(seriesUID, sopUID)] = (path, studyUID, patientID)
        self._pendingDisplay.setdefault(seriesUID, dataset)

    def updateDisplayedFields(self) -> None:
        for seriesUID, dataset in self._pendingDisplay.items():
            self._displayed[seriesUID] = {
                "PatientsName": str(dataset.get("PatientName", "")),
                "PatientID": str(dataset.get("PatientID", "")),
                "StudyDescription": str(dataset.get("StudyDescription", "")),
                "SeriesDescription": str(dataset.get("SeriesDescription", "")),
                "Modality": str(dataset.get("Modality", "")),
                "SeriesNumber": str(dataset.get("SeriesNumber", "")),
            }
        self._pendingDisplay.clear()
        self.databaseChanged()

    # --- queries

    def filesForSeries(self, seriesUID: str, hits: int = -1) -> list[str]:
        files = [path for (series, _), (path, _, _) in self._instances.items() if series == seriesUID]
        return files if hits < 0 else files[:hits]

    def instancesForSeries(self, seriesUID: str, hits: int = -1) -> list[str]:
        instances = [sop for series, sop in self._instances if series == seriesUID]
        return instances if hits < 0 else instances[:hits]

    def fileForInstance(self, sopInstanceUID: str) -> str:
        return next((path for (_, sop), (path, _, _) in self._instances.items() if sop == sopInstanceUID), "")

    def studyForSeries(self, seriesUID: str) -> str:
        return next((study for (series, _), (_, study, _) in self._instances.items() if series == seriesUID), "")

    def patientForStudy(self, studyUID: str) -> str:
        return next((patient for (_, study, patient) in self._instances.values() if study == studyUID), "")

    def patients(self) -> list[str]:
        return sorted({patient for (_, _, patient) in self._instances.values()})

    def studiesForPatient(self, patient: str) -> list[str]:
        return sorted({study for (_, study, owner) in self._instances.values() if owner == patient})

    def seriesForStudy(self, study: str) -> list[str]:
        return sorted({series for (series, _), (_, owner, _) in self._instances.items() if owner == study})

    def removeSeries(self, seriesInstanceUID: str, clearCachedTags: bool = False, cleanup: bool = True) -> bool:
        self.removedSeries.append(seriesInstanceUID)
        for key in [key for key in self._instances if key[0] == seriesInstanceUID]:
            path = self._instances.pop(key)[0]
            if cleanup and path.startswith(self.databaseDirectory):
                with contextlib.suppress(FileNotFoundError):
                    Path(path).unlink()
        self._pendingDisplay.pop(seriesInstanceUID, None)
        self._displayed.pop(seriesInstanceUID, None)
        return True

    # --- for the tests (not CTK calls)

    def seriesUIDs(self) -> set[str]:
        return {series for series, _ in self._instances}

    def displayedSeries(self) -> dict[str, dict]:
        """Series UID -> the fields the DICOM browser shows; a series inserted without updateDisplayedFields has none."""
        return {uid: dict(fields) for uid, fields in self._displayed.items() if uid in self.seriesUIDs()}
