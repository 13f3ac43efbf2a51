"""Coded concepts (quantities, units); the quantities known by name are in ``quantities``."""

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
