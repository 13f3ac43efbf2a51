"""Body part and laterality: what is written about which side of the body a map shows.

BodyPartExamined is a code string (CS): upper case A-Z, digits, space and '_', at most 16 characters.
Laterality rules (PS3.3 C.7.3.1 General Series, C.7.6.1 General Image, C.7.6.16.2.8 Frame Anatomy):
- Laterality (series, Type 2C) takes only R or L, and is needed for a paired body part unless Image or Frame
  Laterality is present; it must be absent when Frame Laterality is there (a Parametric Map).
- Image Laterality (single-frame images) and Frame Laterality (Parametric Map, Type 1) take R, L, B (both) or
  U (unpaired). ``U`` for a paired body part would be wrong, so a paired body part needs the user's word.
"""

import re

from pydicom.dataset import Dataset

from .errors import Field, InputError

LATERALITIES = {"L": "left", "R": "right", "B": "both", "U": "unpaired"}
BODY_PART_LENGTH = 16
_CODE_STRING = re.compile(r"^[A-Z0-9 _]*$")

# Paired body parts (PS3.16 Annex L, the entries marked paired), as BodyPartExamined values.
PAIRED_BODY_PARTS = frozenset(
    {
        "ACETABULUM", "ADRENAL", "ANKLE", "ARM", "BREAST", "BUTTOCK", "CALCANEUS", "CALF", "CAROTID", "CHEEK", "CLAVICLE",
        "EAR", "ELBOW", "EXTREMITY", "EYE", "EYELID", "FEMUR", "FIBULA", "FINGER", "FOOT", "FOREARM", "HAND", "HIP",
        "HUMERUS", "KIDNEY", "KNEE", "LEG", "LOWER LIMB", "LUNG", "ORBIT", "OVARY", "PAROTID", "PATELLA", "RADIUS",
        "SCAPULA", "SHOULDER", "SUBMANDIBULAR", "TESTIS", "THIGH", "THUMB", "TIBIA", "TOE", "ULNA", "UPPER LIMB", "WRIST",
    },
)  # fmt: skip


def normalized_body_part(text: str) -> str:
    """BodyPartExamined as a code string: upper case; raises InputError naming what a CS cannot hold."""
    value = text.strip().upper()
    if not _CODE_STRING.match(value):
        bad = sorted({c for c in value if not _CODE_STRING.match(c)})
        raise InputError(
            Field("body_part_examined"),
            f" {text!r} contains {', '.join(repr(c) for c in bad)}, which a DICOM code string (CS) cannot hold: "
            "use letters, digits, spaces and '_' (e.g. BRAIN, HEAD, KNEE)",
            value=text,
        )
    if len(value) > BODY_PART_LENGTH:
        raise InputError(Field("body_part_examined"), f" {text!r} is {len(value)} characters long", remedy=f"DICOM (CS) allows at most {BODY_PART_LENGTH}", value=text)
    return value


def normalized_laterality(text: str) -> str:
    """``L``, ``R``, ``B`` or ``U`` (case-insensitive); raises InputError otherwise."""
    value = text.strip().upper()
    if value not in LATERALITIES:
        raise InputError(Field("laterality"), f" must be L (left), R (right), B (both) or U (unpaired), not {text!r}", value=text)
    return value


def check_laterality_given(body_part: str, laterality: str | None) -> None:
    """Refuse a paired body part without its side (InputError naming the laterality)."""
    if laterality is None and body_part in PAIRED_BODY_PARTS:
        raise InputError(
            f"the body part {body_part} is paired, so DICOM needs its side: give ",
            Field("laterality"),
            " L (left), R (right), B (both) or U (only if the map does not show one side)",
        )


def add_image_laterality(ds: Dataset, body_part: str, laterality: str | None) -> None:
    """Laterality of single-frame and SC images: series Laterality for R and L of a paired body part (what archives
    show), else Image Laterality (B, U, or a side of an unpaired part such as one brain hemisphere). Never both: series
    Laterality must be absent when Image Laterality is present, and for an unpaired body part.
    """
    if laterality in ("L", "R") and body_part in PAIRED_BODY_PARTS:
        ds.Laterality = laterality
    elif laterality is not None:
        ds.ImageLaterality = laterality
    elif not body_part:
        ds.Laterality = ""  # Type 2C, required while the body part (paired or not) is unknown


def frame_laterality(laterality: str | None) -> str:
    """Frame Laterality of a Parametric Map (Type 1): the user's, else U (unpaired; paired parts need the user's)."""
    return laterality or "U"
