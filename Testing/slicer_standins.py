"""Stand-ins for what exists only inside the Slicer application, for tests that run on PyPI slicer-core.

Only ``slicer.dicomDatabase`` (a CTK ``ctkDICOMDatabase``) is stood in. It mirrors the names and signatures
of the calls FAExport makes (``insert``, ``filesForSeries``, ``fileForInstance``, ``removeSeries``, ``isOpen``,
``databaseDirectory``) and behaves as CTK does: ``insert`` with ``storeFile`` copies the file into the
database folder, indexes it by its own DICOM header, and on a failure logs and returns without raising.
It records every call so that tests can assert what reached the database.
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
        # (series UID, SOP instance UID) -> stored file, in insertion order
        self._instances: dict[tuple[str, str], str] = {}
        # Fault injection: after this many stored files, storing fails the way a full disk makes CTK fail (logged, not raised).
        self._storeFailureAfter = storeFailureAfter

    def insert(self, filePath: str, storeFile: bool = True, generateThumbnail: bool = True, createHierarchy: bool = True, destinationDirectoryName: str = "") -> None:
        self.insertCalls.append((str(filePath), storeFile, generateThumbnail, createHierarchy, destinationDirectoryName))
        dataset = pydicom.dcmread(filePath, stop_before_pixels=True)
        path = str(filePath)
        if storeFile:
            if self._storeFailureAfter is not None and len(self._instances) >= self._storeFailureAfter:
                logging.error("ctkDICOMDatabase::insert: Error copying %s (No space left on device)", filePath)
                return
            folder = Path(self.databaseDirectory, "dicom", str(dataset.StudyInstanceUID), str(dataset.SeriesInstanceUID))
            folder.mkdir(parents=True, exist_ok=True)
            path = str(folder / str(dataset.SOPInstanceUID))
            shutil.copyfile(filePath, path)
        self._instances[(str(dataset.SeriesInstanceUID), str(dataset.SOPInstanceUID))] = path

    def filesForSeries(self, seriesUID: str, hits: int = -1) -> list[str]:
        files = [path for (series, _), path in self._instances.items() if series == seriesUID]
        return files if hits < 0 else files[:hits]

    def instancesForSeries(self, seriesUID: str, hits: int = -1) -> list[str]:
        instances = [sop for series, sop in self._instances if series == seriesUID]
        return instances if hits < 0 else instances[:hits]

    def fileForInstance(self, sopInstanceUID: str) -> str:
        return next((path for (_, sop), path in self._instances.items() if sop == sopInstanceUID), "")

    def seriesUIDs(self) -> set[str]:
        """Not a CTK call: what the test inspects."""
        return {series for series, _ in self._instances}

    def removeSeries(self, seriesInstanceUID: str, clearCachedTags: bool = False, cleanup: bool = True) -> bool:
        self.removedSeries.append(seriesInstanceUID)
        for key in [key for key in self._instances if key[0] == seriesInstanceUID]:
            path = self._instances.pop(key)
            if cleanup and path.startswith(self.databaseDirectory):
                with contextlib.suppress(FileNotFoundError):
                    Path(path).unlink()
        return True
