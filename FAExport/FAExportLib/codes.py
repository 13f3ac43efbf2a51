"""Coded concepts (quantities, units); the quantities known by name are in ``quantities``."""

import re
from dataclasses import dataclass

from pydicom.dataset import Dataset


@dataclass(frozen=True)
class Code:
    """A coded concept: value, coding scheme designator and meaning (a DICOM Code Sequence item)."""

    value: str
    scheme: str
    meaning: str

    @classmethod
    def parse(cls, text: str) -> "Code":
        """Parse ``VALUE,SCHEME,MEANING`` (the meaning may itself contain commas)."""
        parts = [p.strip() for p in text.split(",", 2)]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"a code must be written as VALUE,SCHEME,MEANING (e.g. 110808,DCM,Fractional Anisotropy), not {text!r}")
        return cls(*parts)


@dataclass(frozen=True)
class Quantity:
    """What the voxel values mean, and how to present them.

    ``window`` is the default (center, width) in real-world units; None means: from the data.
    ``body_part`` is the default BodyPartExamined (and Frame Anatomy region, see ``ANATOMIC_REGIONS``).
    """

    name: str
    code: Code | None
    unit: Code | None
    window: tuple[float, float] | None = None
    body_part: str = ""
    method: Code | None = None  # MeasurementMethodCode, when known
    units: tuple[str, ...] = ()  # usual UCUM codes, suggested when the unit must be given (quantities.py)
    kind: str = "other"  # kind of map (diffusion, t1, ...): MR image flavor and derivation code (quantities.py)

    @property
    def unit_label(self) -> str:
        """`` (ms)`` for a unit that says something; empty for none or the unitless ``1``."""
        return f" ({self.unit.value})" if self.unit is not None and self.unit.value != "1" else ""

    @property
    def description(self) -> str:
        """Default series description, e.g. ``FA map``, ``T1 map (ms)``."""
        return f"{self.name} map{self.unit_label}"


# BodyPartExamined -> AnatomicRegionSequence code (SNOMED CT), for the Frame Anatomy functional group.
ANATOMIC_REGIONS = {
    "BRAIN": Code("12738006", "SCT", "Brain"),
    "HEAD": Code("69536005", "SCT", "Head"),
    "SPINE": Code("421060004", "SCT", "Spine"),
    "PROSTATE": Code("41216001", "SCT", "Prostate"),
}
UNKNOWN_REGION = Code("85756007", "SCT", "Tissue")  # dcmqi's default when nothing more is known

# --- Checking a user's code and writing it as a Code Sequence item (PS3.3 8.8, Table 8.8-1a)

SHORT_CODE_VALUE_LENGTH = 16  # CodeValue is SH; longer values go into LongCodeValue (UC)
SCHEME_LENGTH = 16  # CodingSchemeDesignator is SH
MEANING_LENGTH = 64  # CodeMeaning is LO
_URN = re.compile(r"^(urn:|https?://)", re.IGNORECASE)  # URNCodeValue (UR) holds a URN or URL
# RFC 8141 (urn:<NID>:<NSS>) and RFC 3986 (http(s)://<authority>...), at the level of their shape.
_WELL_FORMED_URN = re.compile(r"^(urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+|https?://[^\s/]+\S*)$", re.IGNORECASE)
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")


def is_urn(value: str) -> bool:
    """True if the code value is a URN or URL, which PS3.3 8.8 puts into URNCodeValue."""
    return bool(_URN.match(value))


def code_problem(code: Code) -> str | None:
    """Why ``code`` cannot be written as a DICOM coded entry, or None if it can."""
    value, scheme, meaning = code.value, code.scheme, code.meaning
    if not value:
        return "has no code value"
    if not _PRINTABLE_ASCII.match(value) or "\\" in value:
        return f"value {value!r} must be printable ASCII without a backslash (code values are identifiers)"
    if is_urn(value) and not _WELL_FORMED_URN.match(value):
        return f"value {value!r} is not a complete URN (urn:<namespace>:<name>) or URL (http(s)://<host>...) without spaces"
    if not is_urn(value) and not scheme:
        return "has no coding scheme designator (e.g. DCM, SCT, UCUM)"
    if not _PRINTABLE_ASCII.match(scheme) or "\\" in scheme or len(scheme) > SCHEME_LENGTH:
        return f"coding scheme designator {scheme!r} must be at most {SCHEME_LENGTH} printable ASCII characters without a backslash (DICOM SH)"
    if not meaning:
        return "has no code meaning"
    if "\\" in meaning or any(ord(c) < 32 or ord(c) == 127 for c in meaning):
        return "meaning contains a backslash or control characters; remove them"
    length = len(meaning.encode("utf-8"))
    if length > MEANING_LENGTH:
        return f"meaning is {length} bytes long in UTF-8 ({len(meaning)} characters); DICOM (LO) allows at most {MEANING_LENGTH}: shorten it"
    return None


def code_item(code: Code) -> Dataset:
    """A Code Sequence item: CodeValue, or LongCodeValue when longer than 16 characters, or URNCodeValue for a URN/URL."""
    item = Dataset()
    if is_urn(code.value):
        item.URNCodeValue = code.value
    elif len(code.value) > SHORT_CODE_VALUE_LENGTH:
        item.LongCodeValue = code.value
    else:
        item.CodeValue = code.value
    if code.scheme:
        item.CodingSchemeDesignator = code.scheme
    item.CodeMeaning = code.meaning
    return item
