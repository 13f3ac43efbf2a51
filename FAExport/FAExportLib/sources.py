"""Source DICOM images a map was computed from: the study, patient and frame of reference to join.

Give sources only when the map lies in the scanner space of that series (e.g. computed from its
DWI after dcm2niix): the exported series then shares its FrameOfReferenceUID and references it.
"""

from dataclasses import dataclass, replace
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from .errors import Field, InputError
from .metadata import ExportMetadata

# ExportMetadata field <- DICOM keyword: what joining the source's patient and study copies.
PATIENT_STUDY_FIELDS = {
    "patient_name": "PatientName",
    "patient_id": "PatientID",
    "patient_birth_date": "PatientBirthDate",
    "patient_sex": "PatientSex",
    "study_instance_uid": "StudyInstanceUID",
    "study_id": "StudyID",
    "study_date": "StudyDate",
    "study_time": "StudyTime",
    "study_description": "StudyDescription",
    "accession_number": "AccessionNumber",
    "referring_physician_name": "ReferringPhysicianName",
}


@dataclass(frozen=True)
class SourcePlane:
    """Where one single-frame source image lies: what matching a map's frames to it needs (OHIF's overlay)."""

    sop_class_uid: str
    sop_instance_uid: str
    instance_number: int | None
    position: tuple[float, float, float]  # ImagePositionPatient, LPS mm
    orientation: tuple[float, ...]  # ImageOrientationPatient, 6 cosines
    pixel_spacing: tuple[float, float]  # between rows, between columns
    rows: int
    columns: int

    @classmethod
    def of(cls, ds: Dataset) -> "SourcePlane | None":
        """The image's plane, or None for a multi-frame image or one without plane attributes."""
        try:
            if int(ds.get("NumberOfFrames") or 1) != 1:
                return None
            number = ds.get("InstanceNumber")
            return cls(
                str(ds.SOPClassUID), str(ds.SOPInstanceUID), int(number) if number not in (None, "") else None,
                tuple(float(v) for v in ds.ImagePositionPatient), tuple(float(v) for v in ds.ImageOrientationPatient),
                tuple(float(v) for v in ds.PixelSpacing), int(ds.Rows), int(ds.Columns),
            )  # fmt: skip
        except (AttributeError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class SourceSeries:
    """One DICOM series: its identity, patient/study attributes, instances and (for single-frame images) their planes."""

    series_instance_uid: str
    frame_of_reference_uid: str | None
    patient_study: dict[str, str]
    instances: tuple[tuple[str, str], ...]  # (SOPClassUID, SOPInstanceUID)
    planes: tuple[SourcePlane | None, ...] = ()  # per instance; None where an image has no single plane

    @classmethod
    def from_datasets(cls, datasets: list[Dataset]) -> "SourceSeries":
        """Build from the headers of one series' instances."""
        first = datasets[0]
        patient_study = {name: str(first.get(keyword, "") or "") for name, keyword in PATIENT_STUDY_FIELDS.items()}
        return cls(
            series_instance_uid=str(first.SeriesInstanceUID),
            frame_of_reference_uid=str(first.FrameOfReferenceUID) if "FrameOfReferenceUID" in first else None,
            patient_study=patient_study,
            instances=tuple((str(ds.SOPClassUID), str(ds.SOPInstanceUID)) for ds in datasets),
            planes=tuple(SourcePlane.of(ds) for ds in datasets),
        )

    @classmethod
    def from_folder(cls, folder: str | Path, series_instance_uid: str | None = None) -> "SourceSeries":
        """Read the headers of every DICOM file below ``folder``; pick the one series there (or the one asked for)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"the source DICOM folder {folder} does not exist or is not a folder")
        by_series: dict[str, list[Dataset]] = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            except (InvalidDicomError, OSError, ValueError):
                continue  # not DICOM (a DICOMDIR-less folder may hold anything)
            if "SeriesInstanceUID" in ds and "SOPInstanceUID" in ds and "StudyInstanceUID" in ds:
                by_series.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
        if series_instance_uid is not None:
            if series_instance_uid not in by_series:
                raise InputError(f"the source DICOM folder {folder} holds no series {series_instance_uid}")
            return cls.from_datasets(by_series[series_instance_uid])
        if not by_series:
            raise InputError(f"the source DICOM folder {folder} holds no DICOM images")
        if len(by_series) > 1:
            listing = ", ".join(f"{uid} ({len(items)} files)" for uid, items in sorted(by_series.items()))
            raise InputError(f"the source DICOM folder {folder} holds {len(by_series)} series ({listing})", remedy=("choose one with ", Field("source_series_uid")))
        return cls.from_datasets(next(iter(by_series.values())))

    def joined(self, metadata: ExportMetadata) -> ExportMetadata:
        """``metadata`` with the source's patient, study and frame of reference (the source wins)."""
        values = {name: value for name, value in self.patient_study.items() if name in ("patient_name", "patient_id", "study_instance_uid") or value}
        if not values.get("study_instance_uid"):
            raise InputError("the source DICOM series has no StudyInstanceUID; it cannot be joined")
        return replace(metadata, **values, frame_of_reference_uid=self.frame_of_reference_uid or metadata.frame_of_reference_uid)


def referenced_series_item(source: SourceSeries) -> Dataset:
    """ReferencedSeriesSequence item (Common Instance Reference module) naming every source instance."""
    item = Dataset()
    item.SeriesInstanceUID = source.series_instance_uid
    references = []
    for sop_class_uid, sop_instance_uid in source.instances:
        reference = Dataset()
        reference.ReferencedSOPClassUID = sop_class_uid
        reference.ReferencedSOPInstanceUID = sop_instance_uid
        references.append(reference)
    item.ReferencedInstanceSequence = references
    return item
