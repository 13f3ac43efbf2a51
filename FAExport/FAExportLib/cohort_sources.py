"""A cohort's subjects and their maps, read from a BIDS-derivatives folder or a CSV manifest: one job per subject.

Nothing here reads an image: what a subject exports is decided from file names, folders and the manifest's cells,
so that a bad file fails its own subject (in its worker), never the reading of the cohort.

- A BIDS-derivatives folder: ``sub-<label>/[ses-<label>/]<datatype>/<files>``; one job per subject, or per subject
  and session (key ``sub-01_ses-1``). Each image file's quantity is told from its name (map_names.py); masks,
  segmentations and names that tell no quantity are skipped, and each skipped file is listed with why.
- A CSV manifest: a header row, then rows of ``subject``, ``map`` (paths, ``;``-separated), optionally ``session``,
  ``quantity`` (one per map, ``;``-aligned), ``source_dicom`` and any ExportMetadata field (``patient_id``...).

PatientID and PatientName default to the subject's label (``sub-01``; the manifest's subject): a de-identified cohort
is usually sent under its BIDS labels, and a subject's sessions then stay one patient in an archive (a generated ID
differs per study). A source DICOM series given for a subject overrides both with its own patient.
"""

import csv
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from .codes import Code
from .errors import Field, InputError, Message
from .map_names import bids_entities, read_file_name
from .metadata import ExportMetadata

IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr")
METADATA_COLUMNS = tuple(item.name for item in fields(ExportMetadata))
MANIFEST_COLUMNS = ("subject", "session", "map", "quantity", "source_dicom", *METADATA_COLUMNS)
REQUIRED_COLUMNS = ("subject", "map")
PARTICIPANT_COLUMNS = ("patient_id", "patient_name", "patient_birth_date", "patient_sex")
# BIDS participants.tsv "sex" values (BIDS specification, participants file: male/m/M, female/f/F, other/o/O, any case).
BIDS_SEX = {"male": "M", "m": "M", "female": "F", "f": "F", "other": "O", "o": "O"}
BIDS_MISSING = "n/a"
SOURCE_NEEDED = (
    "SOURCE must be a BIDS-derivatives folder (sub-<label>/[ses-<label>/]<datatype>/<files>) "
    "or a CSV manifest (a .csv file whose header names at least the columns subject and map)"
)
# A key names the subject's output folder and is globbed by cohort.py: no separators, no wildcards, no leading dot.
_FOLDER_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class MapFile:
    """One map file of a subject; ``quantity`` from a manifest's column, else None (told from its name on export)."""

    path: Path
    quantity: str | None = None


@dataclass(frozen=True)
class SubjectJob:
    """One subject (or subject and session) to export as one study; picklable, it goes to a worker process.

    Attributes:
        key: the job's name and its output folder's (``sub-01``, ``sub-01_ses-1``).
        maps: the map files to export, in series order.
        source_dicom: the DICOM folder whose patient, study and frame of reference the export joins, or None.
        metadata: ExportMetadata field -> value for this subject (patient_id, patient_name, study fields...).
        skipped: (file, why) of the image files of the subject's folders that are not exported.
        problem: why the subject cannot be exported at all (reported as a failed subject), or None.

    """

    key: str
    maps: tuple[MapFile, ...] = ()
    source_dicom: Path | None = None
    metadata: dict = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()
    problem: str | None = None


def read_cohort(source: str | Path, maps: list[str] | None = None, space: str | None = None, model: str | None = None) -> list[SubjectJob]:
    """Every subject of ``source`` (a BIDS-derivatives folder or a ``.csv`` manifest) as a job.

    For a BIDS folder, ``maps`` keeps the maps of these quantities (default: every file whose name tells one),
    ``space`` and ``model`` the files with that ``space-``/``model-`` entity. A manifest names its maps, so these
    are refused with one. Raises InputError when ``source`` is neither, or a manifest is malformed; a problem of
    one subject (a missing file, a bad date) is that job's ``problem`` instead.
    """
    path = Path(source)
    if path.is_dir():
        return read_bids(path, maps=maps, space=space, model=model)
    if path.is_file() and path.suffix.lower() == ".csv":
        for name, value in (("maps", maps), ("space", space), ("model", model)):
            if value:
                given = ",".join(value) if isinstance(value, list) else value
                raise InputError(Field(name, given), " selects among the maps of a BIDS folder, and a manifest names each of its maps", remedy="leave it out", value=given)
        return read_manifest(path)
    what = "does not exist" if not path.exists() else "is neither a folder nor a .csv file"
    raise InputError(f"{path} {what}; {SOURCE_NEEDED}", value=str(path))


# BIDS derivatives


def read_bids(root: Path, maps: list[str] | None = None, space: str | None = None, model: str | None = None) -> list[SubjectJob]:
    """One job per ``sub-*`` folder, or per ``sub-*/ses-*`` folder, of a BIDS-derivatives folder, sorted by key."""
    subjects = sorted(item for item in root.glob("sub-*") if item.is_dir())
    if not subjects:
        raise InputError(f"{root} holds no sub-<label> folder{_pipeline_hint(root)}; {SOURCE_NEEDED}", value=str(root))
    wanted = wanted_quantities(maps)
    participants = read_participants(root)
    jobs = []
    for subject in subjects:
        patient = participants.get(subject.name, {})
        for key, folder in _units(subject):
            jobs.append(_bids_job(key, folder, {"patient_id": subject.name, "patient_name": subject.name, **patient}, wanted, space, model))
    return sorted(jobs, key=lambda job: job.key)


def _pipeline_hint(root: Path) -> str:
    """A derivatives folder of several pipelines holds theirs one level down: name them."""
    inner = sorted(item.name for item in root.iterdir() if item.is_dir() and any(child.is_dir() for child in item.glob("sub-*")))
    return f" (its folders {', '.join(inner)} do: give one of them)" if inner else ""


def _units(subject: Path) -> list[tuple[str, Path]]:
    """(key, folder) of the subject's sessions, and of the subject itself when it holds data outside sessions."""
    sessions = sorted(item for item in subject.glob("ses-*") if item.is_dir())
    units = [(subject.name, subject)] if not sessions or _image_files(subject) else []  # sub-01_sessions.tsv is no data
    return units + [(f"{subject.name}_{session.name}", session) for session in sessions]


def _image_files(folder: Path) -> list[Path]:
    """The image files of a subject's (or session's) folder and of its datatype folders (dwi, anat...), not of sessions."""
    places = [folder, *sorted(item for item in folder.iterdir() if item.is_dir() and not item.name.startswith("ses-"))]
    return sorted(path for place in places for path in place.iterdir() if path.is_file() and _is_image(path))


def _is_image(path: Path) -> bool:
    return not path.name.startswith(".") and path.name.lower().endswith(IMAGE_SUFFIXES)


def wanted_quantities(maps: list[str] | None) -> list[str] | None:
    """``--maps`` as canonical quantity names (``fa`` -> FA); refused unless each is a quantity a file's name can tell."""
    if not maps:
        return None
    from .quantities import known_quantities, quantity_by_name

    wanted = []
    for name in maps:
        try:
            quantity = quantity_by_name(name).name
        except ValueError:
            quantity = None
        if quantity not in known_quantities():
            raise InputError(
                Field("maps", ",".join(maps)), f": {name!r} is not a quantity a file's name tells (those are the quantities known by name: FA, MD, T1, R2*, QSM, ...)",
                remedy="name quantities of the quantities command", value=name,
            )
        wanted.append(quantity)
    return list(dict.fromkeys(wanted))


def _bids_job(key: str, folder: Path, metadata: dict, wanted: list[str] | None, space: str | None, model: str | None) -> SubjectJob:
    if not _FOLDER_SAFE.match(key):
        return SubjectJob(key, problem=f"its folder name {key!r} cannot name an output folder (letters, digits, '.', '-' and '_' only)")
    skipped: list[tuple[str, str]] = []
    found: dict[str, list[tuple[Path, dict[str, str]]]] = {}
    images = _image_files(folder)
    for path in images:
        why, quantity = _not_exported(path, wanted, space, model)
        if why is not None:
            skipped.append((str(path), why))
        else:
            found.setdefault(quantity, []).append((path, bids_entities(path)))
    order = wanted or sorted(found, key=lambda name: min(str(path) for path, _ in found[name]))
    maps = tuple(MapFile(path) for quantity in order for path, _ in found.get(quantity, []))
    problems = [_several(quantity, found[quantity], space, model) for quantity in order if len(found.get(quantity, [])) > 1]
    if not maps:
        problems.append(_nothing_found(len(images), wanted))
    metadata, problem = checked_metadata(metadata)
    problems.extend([problem] if problem else [])
    return SubjectJob(key, maps, None, metadata, tuple(skipped), "; ".join(problems) or None)


def _not_exported(path: Path, wanted: list[str] | None, space: str | None, model: str | None) -> tuple[str | None, str | None]:
    """(why the file is not exported or None, its quantity)."""
    reading = read_file_name(path)
    if reading.quantity is None:
        return reading.reason, None
    if wanted is not None and reading.quantity not in wanted:
        return Message(f"{reading.quantity}, not among ", Field("maps", ",".join(wanted))), None
    entities = bids_entities(path)
    for name, value in (("space", space), ("model", model)):
        if value is not None and entities.get(name, "").lower() != value.lower():
            stated = f"{name}-{entities[name]}" if name in entities else f"no {name}- entity"
            return Message(f"{stated}, not ", Field(name, value)), None
    return None, reading.quantity


def _several(quantity: str, files: list[tuple[Path, dict[str, str]]], space: str | None, model: str | None) -> str:
    """Why several files of one quantity cannot be exported: which entity differs, and how to choose; never pick one."""
    for name, given in (("space", space), ("model", model)):
        labels = sorted({entities.get(name, "") for _, entities in files})
        if given is None and len(labels) > 1:
            listed = ", ".join(label or f"no {name}- entity" for label in labels)
            return Message(f"its {quantity} maps are in several {name}s ({listed}) and FAExport does not pick one; choose with ", Field(name, "LABEL"))
    names = ", ".join(path.name for path, _ in files)
    return f"it has {len(files)} {quantity} maps ({names}) and FAExport does not pick one; list the one to export in a CSV manifest"


def _nothing_found(images: int, wanted: list[str] | None) -> str:
    if not images:
        return "no map found: its folders hold no image file (.nii, .nii.gz, .nrrd, .nhdr)"
    asked = f" of {', '.join(wanted)}" if wanted else ""
    return f"no map{asked} found: none of its {images} image files is one (each is listed with why under skipped files)"


def read_participants(root: Path) -> dict[str, dict[str, str]]:
    """``participants.tsv``: participant (``sub-01``) -> patient fields, from ``sex`` (M, F, O) and columns named
    ``patient_id``, ``patient_name``, ``patient_birth_date``, ``patient_sex``; other columns (age...) have no exact
    DICOM field of ExportMetadata and are left out, as are values ``n/a`` and sexes other than those three.
    """
    path = root / "participants.tsv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream, delimiter="\t")
        columns = [(name or "").strip() for name in reader.fieldnames or []]
        if "participant_id" not in columns:
            raise InputError(f"{path} has no participant_id column, which BIDS requires", remedy="add it (sub-<label> per row), or remove the file", value=str(path))
        rows = [{(name or "").strip(): (value or "").strip() for name, value in row.items() if isinstance(value, str)} for row in reader]
    participants = {}
    for row in rows:
        label = row.get("participant_id", "")
        if not label:
            continue
        values = {"patient_sex": BIDS_SEX[row["sex"].lower()]} if row.get("sex", "").lower() in BIDS_SEX else {}
        values.update({name: row[name] for name in PARTICIPANT_COLUMNS if row.get(name, BIDS_MISSING) not in ("", BIDS_MISSING)})
        participants[label if label.startswith("sub-") else f"sub-{label}"] = values
    return participants


# Metadata of one subject


def checked_metadata(values: dict[str, str]) -> tuple[dict, str | None]:
    """ExportMetadata field -> value, converted (series_number, anatomic_region) and validated; with why not, if not.

    The reason names the fields as manifest columns (``patient_sex must be M, F, O or empty``).
    """
    converted: dict[str, object] = dict(values)
    if "series_number" in values:
        try:
            converted["series_number"] = int(values["series_number"])
        except ValueError:
            return {}, f"series_number must be a whole number, not {values['series_number']!r}"
    if "anatomic_region" in values:
        try:
            converted["anatomic_region"] = Code.parse(values["anatomic_region"])
        except ValueError as error:
            return {}, f"anatomic_region: {error}"
    try:
        ExportMetadata(**converted).validated()
    except InputError as error:
        return {}, error.render(_column_label)
    return converted, None


def _column_label(field_: Field) -> str:
    return field_.name if field_.value is None else f"{field_.name} {field_.value}"


# CSV manifest


@dataclass
class _Subject:
    """What the manifest's rows say of one subject, gathered row by row."""

    label: str
    maps: list[MapFile] = field(default_factory=list)
    source_dicom: set[Path] = field(default_factory=set)
    metadata: dict[str, set[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def job(self, key: str) -> SubjectJob:
        problems = list(self.problems)
        given = {}
        for name, values in self.metadata.items():
            if len(values) > 1:
                problems.append(f"its rows give {name} {len(values)} values ({', '.join(sorted(values))}); give one")
            given[name] = min(values)
        if len(self.source_dicom) > 1:
            problems.append(f"its rows give {len(self.source_dicom)} source_dicom folders ({', '.join(sorted(map(str, self.source_dicom)))}); give one")
        if not self.maps and not problems:
            problems.append("no map: its rows name no map file")
        metadata, problem = checked_metadata({"patient_id": self.label, "patient_name": self.label, **given})
        problems.extend([problem] if problem else [])
        source = next(iter(self.source_dicom)) if len(self.source_dicom) == 1 else None
        return SubjectJob(key, tuple(self.maps), source, metadata, (), "; ".join(problems) or None)


def read_manifest(path: Path) -> list[SubjectJob]:
    """One job per subject (or subject and session) of a CSV manifest, in the order of their first row."""
    subjects: dict[str, _Subject] = {}
    for number, row in _manifest_rows(path):
        key = _key(path, number, row)
        subject = subjects.setdefault(key, _Subject(row["subject"]))
        _add_row(subject, path.parent, number, row)
    return [subject.job(key) for key, subject in subjects.items()]


def _manifest_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(row number, column -> stripped cell) of each non-empty row; the header (row 1) checked against the columns understood."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            table = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read the manifest {path}: {error}", remedy="give a CSV file in UTF-8 with a header row", value=str(path)) from None
    if not table:
        raise InputError(f"the manifest {path} is empty; it needs a header row naming at least the columns subject and map", value=str(path))
    header = [cell.strip().lower() for cell in table[0]]
    understood = ", ".join(MANIFEST_COLUMNS)
    for column in header:
        if column not in MANIFEST_COLUMNS:
            raise InputError(f"the manifest {path.name} has a column {column!r} that FAExport does not understand (understood: {understood})", remedy="rename or remove it", value=column)
        if header.count(column) > 1:
            raise InputError(f"the manifest {path.name} has the column {column!r} twice", remedy="keep one", value=column)
    for column in REQUIRED_COLUMNS:
        if column not in header:
            raise InputError(f"the manifest {path.name} has no {column!r} column (its header row: {', '.join(header)}; understood: {understood})", remedy="add it", value=column)
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            raise InputError(f"row {number} of the manifest {path.name} has {len(cells)} cells, and its header names {len(header)} columns", remedy="quote cells that hold commas", value=number)
        row = {column: (cells[index].strip() if index < len(cells) else "") for index, column in enumerate(header)}
        if any(row.values()):
            rows.append((number, row))
    return rows


def _key(path: Path, number: int, row: dict[str, str]) -> str:
    """The row's job key: its subject, or ``subject_session``; a folder name, or the manifest is refused."""
    for column in ("subject", "session"):
        value = row.get(column, "")
        if column == "subject" and not value:
            raise InputError(f"row {number} of the manifest {path.name} has no subject", remedy="every row needs one", value=number)
        if value and not _FOLDER_SAFE.match(value):
            raise InputError(
                f"the {column} {value!r} (row {number} of the manifest {path.name}) cannot name an output folder",
                remedy="use letters, digits, '.', '-' and '_' only, starting with a letter or digit", value=value,
            )
    return f"{row['subject']}_{row['session']}" if row.get("session") else row["subject"]


def _add_row(subject: _Subject, folder: Path, number: int, row: dict[str, str]) -> None:
    """The row's maps, source folder and metadata added to its subject; what is wrong with them, to its problems."""
    files = [cell.strip() for cell in row.get("map", "").split(";") if cell.strip()]
    quantities = [cell.strip() for cell in row.get("quantity", "").split(";") if cell.strip()]
    if quantities and len(quantities) != len(files):
        subject.problems.append(f"row {number} names {len(files)} map{'s' if len(files) != 1 else ''} and {len(quantities)} quantit{'ies' if len(quantities) != 1 else 'y'}; give one quantity per map, in the same order")
        quantities = []
    for index, text in enumerate(files):
        path = _resolved(folder, text)
        quantity = quantities[index] if quantities else None
        if not path.is_file():
            subject.problems.append(f"row {number}: the map {path} {'is not a file' if path.exists() else 'does not exist'}")
        elif any(item.path == path for item in subject.maps):
            subject.problems.append(f"row {number}: the map {path} is listed twice")
        elif quantity is not None and (why := _bad_quantity(quantity)):
            subject.problems.append(f"row {number}: {why}")
        else:
            subject.maps.append(MapFile(path, quantity))
    if row.get("source_dicom"):
        source = _resolved(folder, row["source_dicom"])
        if source.is_dir():
            subject.source_dicom.add(source)
        else:
            subject.problems.append(f"row {number}: the source_dicom folder {source} {'is not a folder' if source.exists() else 'does not exist'}")
    for name in METADATA_COLUMNS:
        if row.get(name):
            subject.metadata.setdefault(name, set()).add(row[name])


def _resolved(folder: Path, text: str) -> Path:
    """A manifest's path: relative to the manifest's folder; ``~`` is the user's home."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else folder / path


def _bad_quantity(name: str) -> str | None:
    from .quantities import quantity_by_name

    try:
        quantity_by_name(name)
    except ValueError as error:
        return str(error)
    return None
