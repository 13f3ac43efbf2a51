"""Quantities and units by name, from DICOM's coded vocabulary as pydicom ships it.

A quantity name resolves, case-insensitively, to (1) one of the abbreviations users type (FA, T1,
R2*, Ktrans, QSM, ...), each pointing at a code of DICOM's vocabulary (PS3.16, as
``pydicom.sr._concepts_dict`` holds it); (2) any concept of the vocabulary's quantity context groups,
by keyword (``MeanDiffusivity``) or meaning (``mean diffusivity``); (3) else a short free label,
which is uncoded (``mr``/``sc`` only, or ``pm`` with an explicit code). Codes and meanings always
come from pydicom; FAExport's own table holds only what the vocabulary lacks: the abbreviations, the
default unit, the usual units, the default window and body part, and the kind of map. (The meanings of
the table's own codes are also kept in ``TABLE_MEANINGS``, as pydicom gives them and checked against it
by the tests, so that exporting a known quantity does not import the whole vocabulary.)

Units are UCUM codes (``ms``, ``mm2/s``, ``1/s``, ``%``, ...): the meaning is the vocabulary's, or for
UCUM codes the vocabulary lacks, UCUM's display name from ``UCUM_DISPLAY``.
"""

import re
from dataclasses import dataclass
from functools import cache

from .codes import Code, Quantity
from .errors import Field

# Context groups whose concepts are quantities a voxel can hold: Abstract Multi-dimensional Image Model Component
# Semantic (the Parametric Map's baseline), Diffusion Tractography Measurement Type, MR Diffusion Model Parameter,
# Tracer Kinetic Model Parameter, Perfusion Model Parameter.
QUANTITY_CIDS = (7180, 7263, 7272, 4107, 4108)
DIFFUSION_CIDS = (7263, 7272)
PERFUSION_CIDS = (4107, 4108)

# Kinds of map -> (classic MR ImageType value 3, PS3.3 C.8.3.1.1.1 defined terms; derivation code of CID 7203)
DIFFUSION, T1, T2, DENSITY, PERFUSION, OTHER = "diffusion", "t1", "t2", "density", "perfusion", "other"
MR_IMAGE_FLAVORS = {DIFFUSION: "DIFFUSION MAP", T1: "T1 MAP", T2: "T2 MAP", DENSITY: "DENSITY MAP"}
DERIVATION_CODES = {
    DIFFUSION: Code("129105", "DCM", "Diffusion image analysis"),
    PERFUSION: Code("129104", "DCM", "Perfusion image analysis"),
}
UNSPECIFIED_CALCULATION = Code("112187", "DCM", "Unspecified method of calculation")  # highdicom's default

FRACTION = ("1",)  # dimensionless, fixed
DIFFUSIVITY = ("mm2/s", "um2/ms", "um2/s")
TIME = ("ms", "s")
RATE = ("1/s", "1/ms")
PERCENT_OR_FRACTION = ("%", "1")


@dataclass(frozen=True)
class Entry:
    """FAExport's row for one quantity: what DICOM's vocabulary does not say.

    ``code`` is (scheme, value) of a vocabulary concept, or None where the vocabulary has none. ``unit`` is the
    default UCUM code, given only where the quantity fixes it (or convention does, for diffusivities);
    ``units`` are the usual ones, suggested when the unit must be given.
    """

    name: str
    code: tuple[str, str] | None
    kind: str
    unit: str | None = None
    units: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    window: tuple[float, float] | None = None
    body_part: str = ""


BRAIN = "BRAIN"
ENTRIES = (
    # Diffusion tensor and kurtosis (CID 7263). Diffusivities default to mm2/s (FSL, DIPY, MRtrix with b in s/mm2).
    Entry("FA", ("DCM", "110808"), DIFFUSION, "1", FRACTION, window=(0.5, 1.0), body_part=BRAIN),
    Entry("RA", ("DCM", "110809"), DIFFUSION, "1", FRACTION, body_part=BRAIN),
    Entry("MD", ("DCM", "113202"), DIFFUSION, "mm2/s", DIFFUSIVITY, body_part=BRAIN),
    Entry("AD", ("DCM", "113204"), DIFFUSION, "mm2/s", DIFFUSIVITY, body_part=BRAIN),
    Entry("RD", ("DCM", "113203"), DIFFUSION, "mm2/s", DIFFUSIVITY, body_part=BRAIN),
    Entry("ADC", ("DCM", "113041"), DIFFUSION, "mm2/s", DIFFUSIVITY, body_part=BRAIN),
    Entry("TRACE", ("DCM", "113201"), DIFFUSION, "mm2/s", DIFFUSIVITY, body_part=BRAIN),
    Entry("MK", ("DCM", "113205"), DIFFUSION, "1", FRACTION, body_part=BRAIN),
    Entry("AK", ("DCM", "113208"), DIFFUSION, "1", FRACTION, body_part=BRAIN),
    Entry("RK", ("DCM", "113207"), DIFFUSION, "1", FRACTION, body_part=BRAIN),
    Entry("KFA", ("DCM", "113209"), DIFFUSION, "1", FRACTION, body_part=BRAIN),
    # Relaxometry: the unit is the user's (ms or s; 1/s or 1/ms).
    Entry("T1", ("DCM", "113063"), T1, None, TIME),
    Entry("T2", ("DCM", "113065"), T2, None, TIME),
    Entry("T2*", ("DCM", "113064"), T2, None, TIME, aliases=("T2STAR", "T2S")),
    Entry("R1", ("DCM", "126393"), T1, None, RATE),
    Entry("R2", ("DCM", "126394"), T2, None, RATE),
    Entry("R2*", ("DCM", "126395"), T2, None, RATE, aliases=("R2STAR", "R2S")),
    Entry("PD", ("DCM", "113058"), DENSITY, None, ("%", "[arb'U]")),
    Entry("MTR", ("DCM", "113098"), OTHER, None, PERCENT_OR_FRACTION),
    # Perfusion (CID 4108) and tracer kinetics (CID 4107)
    Entry("CBF", ("DCM", "126390"), PERFUSION, None, ("ml/[100]g/min", "ml/min/g"), body_part=BRAIN),
    Entry("CBV", ("DCM", "126391"), PERFUSION, None, ("ml/[100]g", "%"), body_part=BRAIN),
    Entry("RCBF", ("DCM", "126397"), PERFUSION, None, ("1", "[arb'U]"), body_part=BRAIN),
    Entry("RCBV", ("DCM", "126398"), PERFUSION, None, ("1", "[arb'U]"), body_part=BRAIN),
    Entry("MTT", ("DCM", "113052"), PERFUSION, None, TIME),
    Entry("TTP", ("DCM", "113069"), PERFUSION, None, TIME),
    Entry("TMAX", ("DCM", "113084"), PERFUSION, None, TIME),
    Entry("OEF", ("DCM", "126392"), PERFUSION, None, PERCENT_OR_FRACTION),
    Entry("Ktrans", ("DCM", "126312"), PERFUSION, None, ("/min", "1/s")),
    Entry("kep", ("DCM", "126313"), PERFUSION, None, ("/min", "1/s")),
    Entry("ve", ("DCM", "126314"), PERFUSION, "1", FRACTION, window=(0.5, 1.0)),
    Entry("vp", ("DCM", "126331"), PERFUSION, "1", FRACTION, window=(0.5, 1.0)),
    # Susceptibility, fat and water, elastography, statistics
    Entry("QSM", ("DCM", "126396"), OTHER, None, ("ppm", "ppb"), aliases=("CHI", "SUSCEPTIBILITY"), body_part=BRAIN),
    Entry("FF", ("DCM", "129100"), OTHER, None, PERCENT_OR_FRACTION, aliases=("PDFF",)),
    Entry("WF", ("DCM", "129103"), OTHER, None, PERCENT_OR_FRACTION),
    Entry("ELASTICITY", ("DCM", "110830"), OTHER, None, ("kPa",), aliases=("STIFFNESS",)),
    Entry("Z", ("DCM", "113071"), OTHER, "1", FRACTION, aliases=("ZSCORE",)),
    # Known names that DICOM's vocabulary has no code for: mr and sc only, or pm with --quantity-code.
    Entry("M0", None, DENSITY, None, ("[arb'U]",)),
    Entry("MTsat", None, OTHER, None, PERCENT_OR_FRACTION),
    Entry("MWF", None, OTHER, "1", FRACTION, body_part=BRAIN),
    Entry("NDI", None, DIFFUSION, "1", FRACTION, aliases=("ICVF",), window=(0.5, 1.0), body_part=BRAIN),
    Entry("ODI", None, DIFFUSION, "1", FRACTION, window=(0.5, 1.0), body_part=BRAIN),
    Entry("ISOVF", None, DIFFUSION, "1", FRACTION, aliases=("FISO",), window=(0.5, 1.0), body_part=BRAIN),
)

# The meaning pydicom's vocabulary gives each code of the table and each default unit (test_quantities checks every one
# against the installed pydicom). Looking them up imported pydicom.sr._concepts_dict, a 2 MB module whose import and
# teardown were a tenth of an export's command line; names and units beyond the table are still looked up there.
TABLE_MEANINGS = {
    ("DCM", "110808"): "Fractional Anisotropy",
    ("DCM", "110809"): "Relative Anisotropy",
    ("DCM", "113202"): "Mean Diffusivity",
    ("DCM", "113204"): "Axial Diffusivity",
    ("DCM", "113203"): "Radial Diffusivity",
    ("DCM", "113041"): "Apparent Diffusion Coefficient",
    ("DCM", "113201"): "Trace",
    ("DCM", "113205"): "Mean Kurtosis",
    ("DCM", "113208"): "Axial Kurtosis",
    ("DCM", "113207"): "Radial Kurtosis",
    ("DCM", "113209"): "Fractional Kurtosis Anisotropy",
    ("DCM", "113063"): "T1",
    ("DCM", "113065"): "T2",
    ("DCM", "113064"): "T2*",
    ("DCM", "126393"): "R1",
    ("DCM", "126394"): "R2",
    ("DCM", "126395"): "R2*",
    ("DCM", "113058"): "Proton Density",
    ("DCM", "113098"): "Magnetization Transfer Ratio",
    ("DCM", "126390"): "Absolute Regional Blood Flow",
    ("DCM", "126391"): "Absolute Regional Blood Volume",
    ("DCM", "126397"): "Relative Regional Blood Flow",
    ("DCM", "126398"): "Relative Regional Blood Volume",
    ("DCM", "113052"): "Mean Transit Time",
    ("DCM", "113069"): "Time To Peak",
    ("DCM", "113084"): "Tmax",
    ("DCM", "126392"): "Oxygen Extraction Fraction",
    ("DCM", "126312"): "Ktrans",
    ("DCM", "126313"): "kep",
    ("DCM", "126314"): "ve",
    ("DCM", "126331"): "vp",
    ("DCM", "126396"): "Magnetic Susceptibility",
    ("DCM", "129100"): "Fat fraction",
    ("DCM", "129103"): "Water fraction",
    ("DCM", "110830"): "Elasticity",
    ("DCM", "113071"): "Z-score",
    ("UCUM", "1"): "no units",
    ("UCUM", "mm2/s"): "mm2/s",
}

# UCUM display names of the UCUM codes users type that DICOM's vocabulary lacks (UCUM's own names).
UCUM_DISPLAY = {
    "1/s": "per second",
    "1/ms": "per millisecond",
    "1/min": "per minute",
    "ppb": "parts per billion",
    "us": "microsecond",
    "ml/[100]g": "milliliter per 100 gram",
    "mmol/L": "millimole per liter",
}
# Spellings users type for UCUM codes: UCUM writes the 100 g of "ml/100g/min" as the annotation [100]g.
UNIT_SPELLINGS = {"ml/100g/min": "ml/[100]g/min", "mL/100g/min": "ml/[100]g/min", "ml/100g": "ml/[100]g", "mL/100g": "ml/[100]g"}
UNIT_EXAMPLES = "ms, s, mm2/s, um2/ms, 1/s, ppm, Hz, %, 1"

_FREE_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _+-]{0,31}$")


def _key(text: str) -> str:
    """Names compare case-insensitively, ignoring spaces, '_' and '-' (T2-star = t2 star = T2STAR)."""
    return re.sub(r"[\s_\-]", "", text).upper()


@cache
def _scheme(scheme: str) -> dict[str, tuple[str, frozenset[int]]]:
    """value -> (meaning, context groups) of every concept of ``scheme`` that pydicom ships (built once per scheme)."""
    from pydicom.sr._concepts_dict import concepts

    found: dict[str, tuple[str, frozenset[int]]] = {}
    for _keyword, values in sorted(concepts.get(scheme, {}).items()):
        for value, (meaning, cids) in values.items():
            # Some codes have two keywords (e.g. Hz: "Hertz" and "Hz"); keep the more descriptive meaning.
            known_meaning, known_cids = found.get(value, (None, frozenset()))
            if known_meaning is None or (known_meaning == value and meaning != value):
                known_meaning = meaning
            found[value] = (known_meaning, known_cids | frozenset(cids))
    return found


def vocabulary_code(scheme: str, value: str) -> Code | None:
    """The concept (scheme, value) with the vocabulary's meaning, or None if pydicom does not ship it."""
    if (scheme, value) in TABLE_MEANINGS:
        return Code(value, scheme, TABLE_MEANINGS[scheme, value])
    concept = _scheme(scheme).get(value)
    return Code(value, scheme, concept[0]) if concept else None


@cache
def _quantity_concepts() -> dict[str, tuple[str, str]]:
    """Name key (of keyword and of meaning) -> (scheme, value), for the concepts of the quantity context groups."""
    from pydicom.sr._cid_dict import cid_concepts
    from pydicom.sr._concepts_dict import concepts

    names = {}
    for cid in QUANTITY_CIDS:
        for scheme, keywords in cid_concepts.get(cid, {}).items():
            for keyword in keywords:
                for value, (meaning, _) in concepts.get(scheme, {}).get(keyword, {}).items():
                    names.setdefault(_key(keyword), (scheme, value))
                    names.setdefault(_key(meaning), (scheme, value))
    return names


def _quantity(entry: Entry) -> Quantity:
    code = vocabulary_code(*entry.code) if entry.code else None
    if entry.code and code is None:  # the tests check every code against the installed pydicom
        raise LookupError(f"pydicom ships no concept {entry.code} for {entry.name}")
    return Quantity(
        entry.name,
        code=code,
        unit=parse_unit(entry.unit) if entry.unit else None,
        window=entry.window,
        body_part=entry.body_part,
        units=entry.units,
        kind=entry.kind,
    )


@cache
def known_quantities() -> dict[str, Quantity]:
    """Every quantity known by name, by its name."""
    return {entry.name: _quantity(entry) for entry in ENTRIES}


@cache
def _by_name_key() -> dict[str, Quantity]:
    table = {}
    for entry in ENTRIES:
        for name in (entry.name, *entry.aliases):
            table[_key(name)] = known_quantities()[entry.name]
    return table


def quantity_by_code(code: Code) -> Quantity | None:
    """The known quantity with ``code``, or the vocabulary's concept with that code; None if neither."""
    for quantity in known_quantities().values():
        if quantity.code is not None and (quantity.code.value, quantity.code.scheme) == (code.value, code.scheme):
            return quantity
    if code.value not in _scheme(code.scheme):
        return None
    return _from_concept(code.scheme, code.value)


def _from_concept(scheme: str, value: str) -> Quantity:
    meaning, cids = _scheme(scheme)[value]
    kind = DIFFUSION if cids & set(DIFFUSION_CIDS) else PERFUSION if cids & set(PERFUSION_CIDS) else OTHER
    return Quantity(meaning, code=Code(value, scheme, meaning), unit=None, kind=kind)


def quantity_by_name(name: str) -> Quantity:
    """Resolve ``name``: a known abbreviation, a vocabulary keyword or meaning, or an uncoded short label."""
    text = name.strip()
    key = _key(text)
    known = _by_name_key().get(key)
    if known is not None:
        return known
    concept = _quantity_concepts().get(key)
    if concept is not None:
        return quantity_by_code(Code(concept[1], concept[0], ""))
    if not _FREE_LABEL.match(text):
        raise ValueError(
            f"quantity {name!r} is not a known name (e.g. FA, MD, T1, R2*, Ktrans, QSM; all are listed in Docs/metadata.md), "
            "a DICOM quantity's keyword or meaning, nor a short label of letters, digits, spaces, '_', '+' or '-' "
            "(at most 32 characters)",
        )
    return Quantity(text, code=None, unit=None)


def parse_unit(text: str) -> Code:
    """A unit from a UCUM code (``ms``, ``mm2/s``, ``1/s``, ``%``, ...) or in full as ``VALUE,SCHEME,MEANING``."""
    if "," in text:
        return Code.parse(text)
    value = UNIT_SPELLINGS.get(text.strip(), text.strip())
    code = vocabulary_code("UCUM", value)
    if code is not None:
        return code
    if value in UCUM_DISPLAY:
        return Code(value, "UCUM", UCUM_DISPLAY[value])
    raise ValueError(
        f"unit {text!r} is not a UCUM code FAExport knows (e.g. {UNIT_EXAMPLES}); "
        f"give it in full as VALUE,SCHEME,MEANING (e.g. {value or 'mm2/s'},UCUM,<its name>)",
    )


def unit_suggestion(quantity: Quantity) -> "tuple[str | Field, ...]":
    """``--unit ms`` (or ``s``): how to give the unit of ``quantity``, as message parts."""
    units = quantity.units
    if not units:
        examples = [Field("unit", unit) for unit in UNIT_EXAMPLES.split(", ")[:3]]
        return (Field("unit"), " and its UCUM code (e.g. ", examples[0], ", ", examples[1], ", ", examples[2], ")")
    return (Field("unit", units[0]), *((f" (or {', '.join(units[1:])})",) if len(units) > 1 else ()))


def mr_image_flavor(quantity: Quantity) -> str:
    """Classic MR ImageType value 3 for this kind of map."""
    return MR_IMAGE_FLAVORS.get(quantity.kind, "OTHER")


def derivation_code(quantity: Quantity) -> Code:
    """How the map was computed (CID 7203), as far as the kind of map tells."""
    return DERIVATION_CODES.get(quantity.kind, UNSPECIFIED_CALCULATION)


def markdown_table() -> str:
    """The table of quantities known by name in Docs/metadata.md (generated here; a test keeps the page equal to it)."""
    rows = [
        "| name | also | DICOM code (value, scheme, meaning) | default unit | usual units | default body part |",
        "|---|---|---|---|---|---|",
    ]
    for entry in ENTRIES:
        quantity = known_quantities()[entry.name]
        code = f"({quantity.code.value}, {quantity.code.scheme}, {quantity.code.meaning})" if quantity.code else "none in DICOM's vocabulary"
        unit = f"`{quantity.unit.value}` ({quantity.unit.meaning})" if quantity.unit else "none: the unit must be given"
        usual = ", ".join(f"`{u}`" for u in entry.units)
        also = ", ".join(entry.aliases)
        rows.append(f"| {entry.name} | {also} | {code} | {unit} | {usual} | {entry.body_part} |")
    return "\n".join(rows)
