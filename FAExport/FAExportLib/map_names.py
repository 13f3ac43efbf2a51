"""A map's quantity told from its file name, by the conventions of the tools that write maps; never guessed.

A file name is read part by part (its ``_``-separated parts, and within a part its ``-`` and ``.`` separated words),
and only whole words count: ``fast.nii`` is not FA. The conventions read, with their sources:

- FSL ``dtifit`` writes ``<basename>_FA``, ``_MD``, ``_L1``, ``_L2``, ``_L3``, ``_V1``..``_V3``, ``_MO``, ``_S0``
  (FSL's DTIFIT page, "Outputs of dtifit"). ``L1`` is the axial diffusivity; ``L2`` and ``L3`` are not the radial
  diffusivity by themselves (RD is their mean), ``V1``..``V3`` are vectors, ``MO`` the tensor's mode and ``S0`` the
  signal without diffusion weighting: none is a quantity FAExport exports.
- DIPY's ``dipy_fit_dti`` writes ``fa``, ``md``, ``ad``, ``rd`` (``dipy.workflows.reconst.ReconstDtiFlow``), and
  MRtrix's ``tensor2metric -fa/-adc/-ad/-rd`` writes the files its user names, usually after the option: each is
  read as a word of the name (``fa.nii.gz``, ``sub-01_fa.nii.gz``, ``tensor-adc.nii``).
- BIDS derivatives: the diffusion derivatives proposal (BEP016) names a model's parameter maps with the ``param-``
  entity (``sub-01_model-tensor_param-fa_dwimap.nii.gz``), and ``desc-`` may name what a derivative is
  (``desc-FA``); the quantitative MRI suffixes (BIDS specification, ``src/schema/objects/suffixes.yaml``: ``T1map``,
  ``T2map``, ``T2starmap``, ``R1map``, ``R2map``, ``R2starmap``, ``PDmap``, ``MTRmap``, ``MTsat``, ``Chimap`` for
  QSM, ``MWFmap``, ``M0map``) each name one quantity; ``UNIT1``, ``S0map``, ``MTVmap``, ``T1rho`` and the weighted
  images (``T1w``...) are none FAExport knows. Entity values are read case-insensitively (``param-fa`` is FA); no
  other entity's value is read (``sub-ad`` is a subject, not AD).
- Any quantity name or alias of ``quantities.py`` is read as a whole word (``sub-01_NDI.nii.gz``, ``odi.nii``),
  except T1, T2, T2* and PD alone: a file named ``T1.nii.gz`` is a T1-weighted image as often as a T1 map (BIDS
  retired its ``PD`` and ``T2star`` suffixes as ambiguous for this reason); ``T1map``, ``T1_map`` or ``param-T1``
  name the map.

A mask or a segmentation (a name ending in ``mask``, ``seg``, ``dseg`` or ``probseg``) is not a map. A name that
names two quantities (``FA_MD.nii.gz``) tells none: which one the file holds is not guessed.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import Field, InputError

IMAGE_EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")

# BIDS entity keys (BIDS specification, src/schema/objects/entities.yaml, with BEP016's model and param): a part
# "key-value" with one of these keys is an entity, and only param's and desc's values are read.
BIDS_ENTITY_KEYS = frozenset(
    "sub ses sample task tracksys acq nuc voi ce trc stain rec dir run mod echo flip inv mt part proc hemi space split "
    "recording chunk seg res den label desc atlas roi from to mode model param subset".split(),
)
QUANTITY_ENTITIES = ("param", "desc")

# BIDS quantitative MRI suffixes -> quantity (None: a suffix FAExport knows holds no quantity it exports).
QMRI_SUFFIXES: dict[str, str | None] = {
    "t1map": "T1",
    "t2map": "T2",
    "t2starmap": "T2*",
    "r1map": "R1",
    "r2map": "R2",
    "r2starmap": "R2*",
    "pdmap": "PD",
    "mtrmap": "MTR",
    "mtsat": "MTsat",
    "chimap": "QSM",
    "mwfmap": "MWF",
    "m0map": "M0",
    "unit1": None,
    "s0map": None,
    "mtvmap": None,
    "t1rho": None,
    "t1w": None,
    "t2w": None,
    "pdw": None,
    "t2starw": None,
}
SUFFIX_REASONS = {
    "unit1": "UNIT1 is MP2RAGE's uniform T1-weighted image, not a map of a quantity",
    "s0map": "S0map is a signal amplitude in arbitrary units, not a quantity FAExport knows",
    "mtvmap": "MTVmap (macromolecular tissue volume) is not a quantity FAExport knows",
    "t1rho": "T1rho is not a quantity FAExport knows",
}
WEIGHTED_REASON = "{part} is a weighted image, not a map of a quantity"

# FSL dtifit's outputs (the last part of "<basename>_XX", upper case as dtifit writes them) that FAExport does not export.
FSL_NOT_EXPORTED = {
    "L2": "FSL's L2 is the second eigenvalue, not a quantity by itself (RD is the mean of L2 and L3)",
    "L3": "FSL's L3 is the third eigenvalue, not a quantity by itself (RD is the mean of L2 and L3)",
    "V1": "FSL's V1 is the first eigenvector (three values per voxel), not a map of one quantity",
    "V2": "FSL's V2 is the second eigenvector (three values per voxel), not a map of one quantity",
    "V3": "FSL's V3 is the third eigenvector (three values per voxel), not a map of one quantity",
    "MO": "FSL's MO is the tensor's mode, not a quantity FAExport knows",
    "S0": "FSL's S0 is the signal without diffusion weighting, not a quantity FAExport knows",
}
FSL_EXPORTED = {"L1": "AD"}  # the largest eigenvalue: the axial diffusivity

# Quantities whose bare name also names a weighted image (T1.nii.gz from a T1-weighted acquisition).
WEIGHTED_TOO = frozenset({"T1", "T2", "T2*", "PD"})
MASK_WORDS = frozenset({"mask", "seg", "dseg", "probseg"})
MASK_REASON = "it is a mask or a segmentation, not a map"
NO_NAME_REASON = "no part of its name names a quantity"

# (convention, example file name, quantity): the names understood, for the refusal message and the documentation.
UNDERSTOOD: tuple[tuple[str, str, str], ...] = (
    ("FSL dtifit", "dti_FA.nii.gz", "FA"),
    ("FSL dtifit", "dti_MD.nii.gz", "MD"),
    ("FSL dtifit", "dti_L1.nii.gz", "AD"),
    ("DIPY, MRtrix", "fa.nii.gz", "FA"),
    ("DIPY, MRtrix", "md.nii.gz", "MD"),
    ("DIPY, MRtrix", "ad.nii.gz", "AD"),
    ("DIPY, MRtrix", "rd.nii.gz", "RD"),
    ("DIPY, MRtrix", "adc.nii.gz", "ADC"),
    ("BIDS derivatives", "sub-01_model-tensor_param-fa_dwimap.nii.gz", "FA"),
    ("BIDS derivatives", "sub-01_model-noddi_param-icvf_dwimap.nii.gz", "NDI"),
    ("BIDS derivatives", "sub-01_desc-MD_dwimap.nii.gz", "MD"),
    ("BIDS qMRI", "sub-01_T1map.nii.gz", "T1"),
    ("BIDS qMRI", "sub-01_T2map.nii.gz", "T2"),
    ("BIDS qMRI", "sub-01_T2starmap.nii.gz", "T2*"),
    ("BIDS qMRI", "sub-01_R1map.nii.gz", "R1"),
    ("BIDS qMRI", "sub-01_R2map.nii.gz", "R2"),
    ("BIDS qMRI", "sub-01_R2starmap.nii.gz", "R2*"),
    ("BIDS qMRI", "sub-01_PDmap.nii.gz", "PD"),
    ("BIDS qMRI", "sub-01_MTRmap.nii.gz", "MTR"),
    ("BIDS qMRI", "sub-01_MTsat.nii.gz", "MTsat"),
    ("BIDS qMRI", "sub-01_Chimap.nii.gz", "QSM"),
    ("BIDS qMRI", "sub-01_MWFmap.nii.gz", "MWF"),
    ("a quantity's name or alias", "noddi_ICVF.nii.gz", "NDI"),
)
EXAMPLES_IN_MESSAGE = 3  # examples per convention in the refusal message


@dataclass(frozen=True)
class NameReading:
    """What a file's name tells.

    Attributes:
        quantity: the canonical name of quantities.py (``FA``, ``T2*``), or None.
        reason: why the name tells none (nothing understood; several quantities, named; a mask), when quantity is None.
        named: every quantity the name names, in order (two or more: the name tells none of them).

    """

    quantity: str | None
    reason: str | None = None
    named: tuple[str, ...] = ()

    @property
    def tells_nothing(self) -> bool:
        """True when no part of the name was understood: no quantity, and nothing known to be none (a mask, FSL's L2,
        a bare T1, several quantities). A command's default quantity may then apply; otherwise the name is refused.
        """
        return self.quantity is None and self.reason == NO_NAME_REASON


def file_stem(path: str | Path) -> str:
    """The file's name without folders and without an image extension (``.nii.gz``, ``.nrrd``, ...; any case)."""
    name = Path(path).name
    lowered = name.lower()
    for extension in IMAGE_EXTENSIONS:
        if lowered.endswith(extension) and len(name) > len(extension):
            return name[: -len(extension)]
    return name


_ENTITY = re.compile(r"^([A-Za-z0-9]+)-([A-Za-z0-9]+)$")
_SUFFIX = re.compile(r"^[A-Za-z0-9]+$")


def bids_entities(path: str | Path) -> dict[str, str]:
    """The key-value pairs of a BIDS file name, and its suffix under ``"suffix"``; empty if the name is not BIDS.

    A BIDS name is ``key-value`` parts joined by ``_`` with alphanumeric keys and values, optionally ending in an
    alphanumeric suffix: ``sub-01_model-tensor_param-fa_dwimap`` gives sub, model, param and suffix ``dwimap``.
    """
    parts = file_stem(path).split("_")
    entities: dict[str, str] = {}
    for position, part in enumerate(parts):
        match = _ENTITY.match(part)
        if match is not None and match.group(1) not in entities:
            entities[match.group(1)] = match.group(2)
        elif position == len(parts) - 1 and position > 0 and _SUFFIX.match(part):
            entities["suffix"] = part
        else:
            return {}
    return entities


def is_mask_or_segmentation(path: str | Path) -> bool:
    """True for a mask or segmentation's name: its last word is ``mask``, ``seg``, ``dseg`` or ``probseg``."""
    words = re.split(r"[_.\-]", file_stem(path))
    return words[-1].lower() in MASK_WORDS


@cache
def _names() -> dict[str, str]:
    """Upper-case name or alias -> canonical quantity name, for every quantity of quantities.py."""
    from .quantities import ENTRIES

    return {re.sub(r"[\s_\-]", "", name).upper(): entry.name for entry in ENTRIES for name in (entry.name, *entry.aliases)}


def _quantity_of_word(word: str) -> str | None:
    return _names().get(word.upper())


class _Reader:
    """Collects the quantities a name names and the reasons some of its parts name none."""

    def __init__(self) -> None:
        self.named: list[str] = []
        self.notes: list[str] = []

    def name(self, quantity: str) -> None:
        if quantity not in self.named:
            self.named.append(quantity)

    def note(self, reason: str) -> None:
        if reason not in self.notes:
            self.notes.append(reason)

    def entity(self, key: str, value: str) -> None:
        """``param-X`` names a parameter map, so any quantity name counts; ``desc-X`` counts unless X is also a weighted image."""
        quantity = _quantity_of_word(value)
        if quantity is None:
            if key == "param":
                self.note(f"param-{value} is not a quantity FAExport knows")
        elif key == "desc" and quantity in WEIGHTED_TOO:
            self.note(f"desc-{value} names a {value}-weighted image as often as a {quantity} map")
        else:
            self.name(quantity)

    def part(self, part: str, last: bool) -> bool:
        """A whole ``_``-part: a BIDS qMRI suffix or an FSL dtifit output. Returns True if it was one."""
        suffix = part.lower()
        if suffix in QMRI_SUFFIXES:
            quantity = QMRI_SUFFIXES[suffix]
            if quantity is not None:
                self.name(quantity)
            else:
                self.note(SUFFIX_REASONS.get(suffix, WEIGHTED_REASON.format(part=part)))
            return True
        if last and part in FSL_EXPORTED:
            self.name(FSL_EXPORTED[part])
            return True
        if last and part in FSL_NOT_EXPORTED:
            self.note(FSL_NOT_EXPORTED[part])
            return True
        return False

    def words(self, words: list[str]) -> None:
        """Words of the name's other parts: whole quantity names; T1, T2, T2* and PD only when followed by ``map``."""
        for position, word in enumerate(words):
            quantity = _quantity_of_word(word)
            if quantity is None:
                continue
            if quantity in WEIGHTED_TOO and [item.lower() for item in words[position + 1 : position + 2]] != ["map"]:
                self.note(f"{word} alone names a {word}-weighted image as often as a {quantity} map")
            else:
                self.name(quantity)


def read_file_name(path: str | Path) -> NameReading:
    """The quantity a map's file name tells, or None and why (see the module's docstring for the conventions)."""
    reader = _Reader()
    parts = file_stem(path).split("_")
    words: list[str] = []
    for position, part in enumerate(parts):
        entity = _ENTITY.match(part)
        if entity is not None and entity.group(1) in BIDS_ENTITY_KEYS:
            if entity.group(1) in QUANTITY_ENTITIES:
                reader.entity(entity.group(1), entity.group(2))
            continue
        if not reader.part(part, last=position == len(parts) - 1 and position > 0):
            words.extend(word for word in re.split(r"[.\-]", part) if word)
    reader.words(words)
    named = tuple(reader.named)
    if is_mask_or_segmentation(path):
        return NameReading(None, MASK_REASON, named)
    if len(named) == 1:
        return NameReading(named[0], None, named)
    if named:
        return NameReading(None, f"its name names {len(named)} quantities ({', '.join(named)}) and FAExport does not guess which the file holds", named)
    return NameReading(None, "; ".join(reader.notes) if reader.notes else NO_NAME_REASON)


def quantities_in_name(path: str | Path) -> tuple[str, ...]:
    """Every quantity the file's name names, in order (none, one, or several: then it tells none of them)."""
    return read_file_name(path).named


def _telling_part(example: str) -> str:
    """The part of an example's name that tells its quantity: ``param-fa``, ``_T1map``, or the whole ``dti_FA``."""
    entities = bids_entities(example)
    for key in QUANTITY_ENTITIES:
        if key in entities:
            return f"{key}-{entities[key]}"
    return f"_{entities['suffix']}" if "suffix" in entities else file_stem(example)


def understood_briefly() -> str:
    """The names understood, a few per convention, for a one-line message."""
    by_convention: dict[str, list[str]] = {}
    for convention, example, _quantity in UNDERSTOOD:
        by_convention.setdefault(convention, []).append(_telling_part(example))
    return "; ".join(
        f"{convention}: {', '.join(examples[:EXAMPLES_IN_MESSAGE])}{', ...' if len(examples) > EXAMPLES_IN_MESSAGE else ''}"
        for convention, examples in by_convention.items()
    )


def quantity_from_file_name(path: str | Path) -> str:
    """The quantity ``path``'s name tells; else InputError naming the file, why, the names understood and ``--quantity``."""
    reading = read_file_name(path)
    if reading.quantity is not None:
        return reading.quantity
    name = Path(path).name
    raise InputError(
        f"cannot tell the quantity of {name} from its name: {reading.reason} (names understood: {understood_briefly()})",
        remedy=("rename the file as one of these conventions names it, or give ", Field("quantity", "NAME"), " (it applies to every map)"),
        field="quantity",
        value=str(path),
    )


def markdown_table() -> str:
    """The names understood as a Markdown table (Convention | Example | Quantity), for the documentation."""
    rows = ["| Convention | Example | Quantity |", "|---|---|---|"]
    rows.extend(f"| {convention} | `{example}` | {quantity} |" for convention, example, quantity in UNDERSTOOD)
    return "\n".join(rows)
