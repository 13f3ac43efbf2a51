"""Patient, study and series attributes shared by every export mode.

Only what the user gives (or the source series provides) and generated UIDs/dates are written:
nothing about the exporting machine (paths, host or user names) ends up in a file.
"""

import datetime
import hashlib
import re
from dataclasses import dataclass, replace

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from . import anatomy
from .codes import Code
from .errors import Field, InputError
from .version import __version__

MANUFACTURER = "FAExport"

# Maximum lengths per VR (PS3.5 6.2) of the attributes a user can set.
_MAX_LENGTH = {"LO": 64, "SH": 16, "PN": 64, "CS": 16, "UI": 64}
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_DATE = re.compile(r"^\d{8}$")
_TIME = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ExportMetadata:
    """Attributes the user (or the source series) chooses; None means: generate a default."""

    patient_name: str = "Anonymous^"
    patient_id: str | None = None
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_instance_uid: str | None = None
    study_id: str = ""
    study_date: str | None = None
    study_time: str | None = None
    study_description: str = ""
    accession_number: str = ""
    referring_physician_name: str = ""
    series_description: str | None = None
    series_number: int | None = None
    series_instance_uid: str | None = None
    frame_of_reference_uid: str | None = None
    body_part_examined: str | None = None  # None: the quantity's default (BRAIN for diffusion maps)
    content_creator_name: str = ""
    anatomic_region: Code | None = None  # Frame Anatomy (Parametric Map); None: from the body part
    laterality: str | None = None  # L, R, B or U; required for a paired body part (see anatomy.py)

    def validated(self) -> "ExportMetadata":
        """Check every value against its VR (BodyPartExamined and laterality in anatomy.py); raise InputError naming the
        attribute and the fix.

        Returns the metadata with BodyPartExamined and laterality normalized to upper case.
        """
        checks = (
            ("patient_name", "PN"),
            ("patient_id", "LO"),
            ("study_id", "SH"),
            ("study_description", "LO"),
            ("accession_number", "SH"),
            ("referring_physician_name", "PN"),
            ("series_description", "LO"),
            ("content_creator_name", "PN"),
        )
        for name, vr in checks:
            value = getattr(self, name)
            if value is None or value == "":
                continue
            field = Field(name)
            if "\\" in value:
                raise InputError(field, " contains a backslash, which DICOM reserves to separate values", remedy="remove it", value=value)
            if _CONTROL.search(value):
                raise InputError(field, " contains control characters (e.g. a newline or tab)", remedy="remove them", value=value)
            if vr == "PN":
                _check_person_name(field, value)
                continue
            if len(value) > _MAX_LENGTH[vr]:
                raise InputError(field, f" is {len(value)} characters long", remedy=f"DICOM ({vr}) allows at most {_MAX_LENGTH[vr]}", value=value)
            encoded_length = len(value.encode("utf-8"))
            if encoded_length > _MAX_LENGTH[vr]:  # validators (dciodvfy) and many archives count bytes, not characters
                raise InputError(
                    field,
                    f" is {encoded_length} bytes long in UTF-8 ({len(value)} characters)",
                    remedy=f"DICOM ({vr}) allows at most {_MAX_LENGTH[vr]}: shorten it",
                    value=value,
                )
        if self.patient_sex not in ("", "M", "F", "O"):
            raise InputError(Field("patient_sex"), f" must be M, F, O or empty, not {self.patient_sex!r}", value=self.patient_sex)
        for name in ("patient_birth_date", "study_date"):
            value = getattr(self, name)
            if value and not _valid_date(value):
                raise InputError(Field(name), f" must be a date written YYYYMMDD (e.g. 20240131), not {value!r}", value=value)
        if self.study_time and not _TIME.match(self.study_time):
            raise InputError(Field("study_time"), f" must be written HHMMSS (e.g. 142501), not {self.study_time!r}", value=self.study_time)
        for name in ("study_instance_uid", "series_instance_uid", "frame_of_reference_uid"):
            value = getattr(self, name)
            if value is not None and (len(value) > _MAX_LENGTH["UI"] or not _UID.match(value)):
                raise InputError(
                    Field(name),
                    f" {value!r} is not a valid DICOM UID (digits and dots, no leading zeros, at most 64 characters)",
                    remedy="leave it out to generate one",
                    value=value,
                )
        if self.series_number is not None and not 0 <= self.series_number <= 2**31 - 1:
            raise InputError(Field("series_number"), f" must be between 0 and 2147483647, not {self.series_number}", value=self.series_number)
        body_part = anatomy.normalized_body_part(self.body_part_examined) if self.body_part_examined is not None else None
        laterality = anatomy.normalized_laterality(self.laterality) if self.laterality is not None else None
        return replace(self, body_part_examined=body_part, laterality=laterality)

    def resolved(self, now: datetime.datetime | None = None) -> "ExportMetadata":
        """Return a copy with every generated value filled in (UIDs, dates, patient ID)."""
        now = now or datetime.datetime.now()
        study_uid = self.study_instance_uid or generate_uid()
        return replace(
            self,
            study_instance_uid=study_uid,
            # A stable, anonymous ID per generated study, so that two anonymous exports do not merge in a PACS.
            patient_id=self.patient_id if self.patient_id is not None else "FAX" + hashlib.sha256(study_uid.encode()).hexdigest()[:12].upper(),
            study_date=self.study_date or now.strftime("%Y%m%d"),
            study_time=self.study_time or now.strftime("%H%M%S"),
            frame_of_reference_uid=self.frame_of_reference_uid or generate_uid(),
        )


def _valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


# PN (PS3.5 6.2): up to three component groups (alphabetic=ideographic=phonetic) of up to five components
# (family^given^middle^prefix^suffix), 64 characters per group.
PN_GROUPS = 3
PN_COMPONENTS = 5


def _check_person_name(field: Field, value: str) -> None:
    groups = value.split("=")
    if len(groups) > PN_GROUPS:
        raise InputError(
            field,
            f" has {len(groups)} component groups ('='-separated); DICOM (PN) allows at most {PN_GROUPS} (alphabetic=ideographic=phonetic)",
            value=value,
        )
    for number, group in enumerate(groups, start=1):
        where = (field, f" (component group {number})") if len(groups) > 1 else (field,)
        components = group.split("^")
        if len(components) > PN_COMPONENTS:
            raise InputError(
                *where,
                f" has {len(components)} name components ('^'-separated); DICOM (PN) allows at most {PN_COMPONENTS}: family^given^middle^prefix^suffix",
                value=value,
            )
        if len(group) > _MAX_LENGTH["PN"]:
            raise InputError(*where, f" is {len(group)} characters long", remedy=f"DICOM (PN) allows at most {_MAX_LENGTH['PN']} per component group", value=value)
        encoded_length = len(group.encode("utf-8"))
        if encoded_length > _MAX_LENGTH["PN"]:
            raise InputError(
                *where,
                f" is {encoded_length} bytes long in UTF-8 ({len(group)} characters)",
                remedy=f"DICOM (PN) allows at most {_MAX_LENGTH['PN']} per component group: shorten it",
                value=value,
            )


_TEXT_VRS = ("AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT")


def uses_non_ascii(ds: Dataset) -> bool:
    """True if any text element of ``ds`` (nested sequences included) is beyond the default (ASCII) repertoire."""
    pending = [ds]
    while pending:
        current = pending.pop()
        for element in current:
            if element.VR == "SQ":
                pending.extend(element.value)
            elif element.VR in _TEXT_VRS and element.value is not None:
                values = element.value if element.VM > 1 else [element.value]
                if any(not str(value).isascii() for value in values):
                    return True
    return False


def fit_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut at a character boundary to at most ``max_bytes`` UTF-8 bytes (for FAExport's own labels)."""
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    return text


def mark_character_set(ds: Dataset) -> None:
    """Declare UTF-8 (ISO_IR 192) when any text written, code meanings included, needs more than ASCII."""
    if "SpecificCharacterSet" not in ds and uses_non_ascii(ds):
        ds.SpecificCharacterSet = "ISO_IR 192"


def series_dataset(
    metadata: ExportMetadata,
    *,
    modality: str,
    sop_class_uid: str,
    series_instance_uid: str,
    series_number: int,
    series_description: str,
    now: datetime.datetime,
) -> Dataset:
    """Patient, General Study, General Series, Frame of Reference, General Equipment and SOP Common
    attributes identical for every instance of one series (``metadata`` must be resolved).
    """
    ds = Dataset()  # SpecificCharacterSet: set by the encoder once every text is in (mark_character_set)
    ds.SOPClassUID = sop_class_uid
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    # Patient
    ds.PatientName = metadata.patient_name
    ds.PatientID = metadata.patient_id
    ds.PatientBirthDate = metadata.patient_birth_date
    ds.PatientSex = metadata.patient_sex
    # General Study
    ds.StudyInstanceUID = metadata.study_instance_uid
    ds.StudyDate = metadata.study_date
    ds.StudyTime = metadata.study_time
    ds.ReferringPhysicianName = metadata.referring_physician_name
    ds.StudyID = metadata.study_id
    ds.AccessionNumber = metadata.accession_number
    if metadata.study_description:
        ds.StudyDescription = metadata.study_description
    # General Series
    ds.Modality = modality
    ds.SeriesInstanceUID = series_instance_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description
    ds.SeriesDate = now.strftime("%Y%m%d")
    ds.SeriesTime = now.strftime("%H%M%S")
    if metadata.body_part_examined:
        ds.BodyPartExamined = metadata.body_part_examined
    # Laterality: written by each encoder (anatomy.py), since it depends on Image or Frame Laterality.
    # Frame of Reference
    ds.FrameOfReferenceUID = metadata.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    # General Equipment
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = MANUFACTURER
    ds.SoftwareVersions = __version__
    return ds
