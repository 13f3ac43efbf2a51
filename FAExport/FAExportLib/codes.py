"""Coded concepts (quantities, units) and the quantities FAExport knows by name."""

import re
from dataclasses import dataclass


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


UNITLESS = Code("1", "UCUM", "no units")
SQUARE_MM_PER_S = Code("mm2/s", "UCUM", "mm2/s")


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

    @property
    def description(self) -> str:
        """Default series description, e.g. ``FA map``."""
        return f"{self.name} map"


KNOWN_QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        Quantity("FA", Code("110808", "DCM", "Fractional Anisotropy"), UNITLESS, window=(0.5, 1.0), body_part="BRAIN"),
        Quantity("MD", Code("113202", "DCM", "Mean Diffusivity"), SQUARE_MM_PER_S, body_part="BRAIN"),
        Quantity("AD", Code("113204", "DCM", "Axial Diffusivity"), SQUARE_MM_PER_S, body_part="BRAIN"),
        Quantity("RD", Code("113203", "DCM", "Radial Diffusivity"), SQUARE_MM_PER_S, body_part="BRAIN"),
        Quantity("ADC", Code("113041", "DCM", "Apparent Diffusion Coefficient"), SQUARE_MM_PER_S, body_part="BRAIN"),
    )
}

# BodyPartExamined -> AnatomicRegionSequence code (SNOMED CT), for the Frame Anatomy functional group.
ANATOMIC_REGIONS = {
    "BRAIN": Code("12738006", "SCT", "Brain"),
    "HEAD": Code("69536005", "SCT", "Head"),
    "SPINE": Code("421060004", "SCT", "Spine"),
    "PROSTATE": Code("41216001", "SCT", "Prostate"),
}
UNKNOWN_REGION = Code("85756007", "SCT", "Tissue")  # dcmqi's default when nothing more is known

_QUANTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _+-]{0,31}$")


def quantity_by_name(name: str) -> Quantity:
    """Return the known quantity ``name`` (case-insensitive) or an uncoded one with that name."""
    known = KNOWN_QUANTITIES.get(name.strip().upper())
    if known is not None:
        return known
    if not _QUANTITY_NAME.match(name.strip()):
        raise ValueError(
            f"quantity {name!r} is not a known name ({', '.join(KNOWN_QUANTITIES)}) nor a short label "
            "of letters, digits, spaces, '_', '+' or '-' (at most 32 characters)",
        )
    return Quantity(name.strip(), code=None, unit=None)
