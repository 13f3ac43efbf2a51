"""The export pipeline: volume + geometry + metadata -> datasets -> verified files.

One call writes one or two series (``mr+pm``); they are staged, verified by reading them back, and
published together, or nothing is written.
"""

import datetime
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from . import anatomy, mr, multiframe, navigation, overlay, pm, reader_traps, resampling, sc, value_checks, verify
from .codes import ANATOMIC_REGIONS, UNKNOWN_REGION, Code, Quantity, code_problem
from .errors import Field, InputError
from .geometry import SliceGeometry
from .metadata import ExportMetadata, fit_utf8, series_dataset
from .plain_integers import choose_plain_integers, is_plain
from .quantities import parse_unit, quantity_by_name
from .scaling import Rescale, ValueRange, choose_rescale, coarse_scale_warning
from .series import SeriesPlan, default_window
from .sources import SourceSeries
from .writer import SeriesStaging, StagedSeries, prepare_output_folder, series_folder_name

ENCODERS = {"mr": mr, "sc": sc, "pm": pm}
# Export mode -> the encodings it writes, in order.
MODES = {"mr": ("mr",), "sc": ("sc",), "pm": ("pm",), "mr+pm": ("mr", "pm")}
INTEGER_ENCODINGS = ("mr", "sc")
DESCRIPTION_SUFFIXES = {"mr": "", "sc": " (SC)", "pm": " (Parametric Map)"}
# DICOM limits: Rows/Columns are US; beyond 99999 files, folder listings and InstanceNumber displays suffer.
MAX_IN_PLANE = 65535
MAX_SLICES = 99999
MAX_LISTED_VOXELS = 5  # bad voxels named in a message
LO_BYTES = 64  # SeriesDescription, ContentDescription
LARGEST_IS = 2**31 - 1  # SeriesNumber (IS)


@dataclass(frozen=True)
class SeriesResult:
    """One series written: where, what and how exact."""

    mode: str
    directory: str
    files: list[str]
    sop_class_uid: str
    series_instance_uid: str
    study_instance_uid: str
    frame_of_reference_uid: str
    series_number: int
    series_description: str
    rescale_slope: float | None
    rescale_intercept: float | None
    max_quantization_error: float
    measured_max_error: float
    quantity: str = ""
    unit: str | None = None  # UCUM code (or the given unit code's value)
    plain_integers: bool = False
    value_scale: float = 1.0  # what a DICOM reader decodes is the map's value x value_scale (plain integers)
    input: str = ""  # the map's file or node name (MapInput.name)
    profile: str | None = None  # "navigation": see navigation.py
    overlay_ready: bool | None = None  # pm: OHIF can overlay it on its source series (overlay.py); None for other modes
    overlay_problem: str | None = None  # pm: why it cannot
    resampling_change: float | None = None  # resampled onto the source grid: largest change from the map's nearest voxel
    reader_traps: list = field(default_factory=list)  # reader_traps.Assessment of each known trap of this encoding

    def to_json(self) -> dict:
        """The JSON summary item of the command line contract."""
        return {
            "mode": self.mode,
            "directory": self.directory,
            "files": self.files,
            "sop_class_uid": self.sop_class_uid,
            "series_instance_uid": self.series_instance_uid,
            "study_instance_uid": self.study_instance_uid,
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "series_number": self.series_number,
            "series_description": self.series_description,
            "rescale_slope": self.rescale_slope,
            "rescale_intercept": self.rescale_intercept,
            "max_quantization_error": self.max_quantization_error,
            "measured_max_error": self.measured_max_error,
            "quantity": self.quantity,
            "unit": self.unit,
            "plain_integers": self.plain_integers,
            "value_scale": self.value_scale,
            "input": self.input,
            "profile": self.profile,
            "overlay_ready": self.overlay_ready,
            "overlay_problem": self.overlay_problem,
            "resampling_change": self.resampling_change,
            "reader_traps": [item.to_json() for item in self.reader_traps],
        }


@dataclass(frozen=True)
class ExportResult:
    """Every series one export wrote."""

    series: list[SeriesResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # conditions the user should check; the export is valid

    def to_json(self) -> dict:
        """The JSON summary of the command line contract."""
        return {"series": [s.to_json() for s in self.series], "warnings": list(self.warnings)}


@dataclass(frozen=True)
class Preview:
    """What an integer export would do, known before anything is written (for the panel)."""

    value_range: ValueRange
    rescale: Rescale
    warnings: list[str] = field(default_factory=list)  # what export_volume would warn about these values
    reader_traps: dict = field(default_factory=dict)  # encoding (mr, sc, pm) -> its reader_traps.Assessment list

    @property
    def max_quantization_error(self) -> float:
        """Worst-case quantization error of the chosen scale."""
        return self.rescale.max_quantization_error


def checked_array(array, replace_nonfinite: float | None = None) -> np.ndarray:
    """Validate a scalar ``array[k, j, i]``; replace NaN/Inf only when the user asked for it."""
    array = np.asarray(array)
    if array.ndim != 3:
        raise InputError(
            f"the volume has {array.ndim} dimensions (shape {array.shape}); FAExport exports one scalar 3-D volume: "
            "split vector, tensor or time series volumes into scalar volumes first",
        )
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)) or array.dtype == np.bool_:
        raise InputError(f"voxels of type {array.dtype} cannot be exported; FAExport exports real-valued scalar volumes")
    if min(array.shape) < 1:
        raise InputError(f"the volume is empty (shape {array.shape}); nothing to export")
    slices, rows, columns = array.shape
    if rows > MAX_IN_PLANE or columns > MAX_IN_PLANE:
        raise InputError(f"slices of {columns}x{rows} voxels exceed DICOM's limit of {MAX_IN_PLANE}; crop or resample the volume")
    if slices > MAX_SLICES:
        raise InputError(f"{slices} slices exceed FAExport's limit of {MAX_SLICES}; crop or resample the volume")
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if not finite.all():
            bad = np.argwhere(~finite)
            count = len(bad)
            if replace_nonfinite is None:
                where = "; ".join(f"{i},{j},{k}" for k, j, i in bad[:MAX_LISTED_VOXELS].tolist())
                more = "; ..." if count > MAX_LISTED_VOXELS else ""
                raise InputError(
                    f"{count} voxel{'s are' if count > 1 else ' is'} NaN or infinite (at IJK {where}{more})",
                    remedy=("fix the map, or replace them explicitly with a value (", Field("replace_nonfinite", "VALUE"), ")"),
                    field="replace_nonfinite",
                )
            if not np.isfinite(replace_nonfinite):
                raise InputError("the replacement for NaN or infinite voxels (", Field("replace_nonfinite"), ") must be a finite number", value=replace_nonfinite)
            array = np.where(finite, array, array.dtype.type(replace_nonfinite))
    return array


def preview(
    array,
    scale: str | float = "auto",
    replace_nonfinite: float | None = None,
    *,
    plain_integers: bool = False,
    allow_coarse_scale: bool = False,
    quantity: str | Quantity | None = None,
    integers: bool = True,
    profile: str | None = None,
    mode: str = "mr",
    ijk_to_ras=None,
    source: SourceSeries | None = None,
    resample_to_source: bool = False,
) -> Preview:
    """Check the values and choose the (int16) rescale, or the plain-integer factor, without writing anything: the
    same refusals (clipping, a coarse scale) and warnings (values outside what ``quantity`` means, a coarse scale
    allowed) as ``export_volume``. ``integers=False`` (a Parametric Map alone, float32): no scale is used, so none is
    refused as coarse, as export_volume checks only the integer encodings' rescales. ``profile`` ``navigation``: the
    navigation factor of ``quantity`` (FA when None), refused as the export refuses it: another ``mode`` than mr, a unit
    unknown, and (given ``ijk_to_ras``) non-square in-plane pixels. The preview's ``reader_traps`` are every encoding's
    at this scale (one scan serves every mode); a Parametric Map's overlay on ``source`` is judged when ``ijk_to_ras``
    is given, and ready with ``resample_to_source`` (whose source is refused as the export refuses it).
    """
    array = checked_array(array, replace_nonfinite)
    value_range = ValueRange.of(array)
    resolved = resolve_quantity(quantity, quantity_code=None, unit=None, method=None)
    geometry = SliceGeometry.from_ijk_to_ras(ijk_to_ras, array.shape) if ijk_to_ras is not None else None
    notes = []
    if profile is not None:
        navigation.check_profile(profile, MODES.get(mode, ()), mode)
        navigation.check_map(resolved, geometry)
        rescale, note = navigation.stored_integers(resolved, value_range, scale)
        notes.append(note)
    else:
        rescale = (choose_plain_integers if plain_integers else choose_rescale)(scale, value_range)
    notes.append(coarse_scale_warning(rescale, value_range, array, allow_coarse_scale) if integers else None)
    if quantity is not None:
        notes.append(value_checks.meaning_warning(array, value_range, resolved))
    if resample_to_source:
        source_grid(source)  # refused here as the export refuses it; the map will then be on the source's grid
        problem = None
    else:
        problem = overlay.match(geometry, source).problem
    window, extremes = default_window(resolved, array), reader_traps.slice_extremes(array)
    traps = {encoding: reader_traps.for_encoding(encoding, rescale, window, problem, array, extremes) for encoding in ENCODERS}
    return Preview(value_range, rescale, [note for note in notes if note], traps)


def resolve_quantity(quantity: str | Quantity | None, *, quantity_code: Code | str | None, unit: Code | str | None, method: Code | str | None) -> Quantity:
    """The quantity by name, with any code, unit (a UCUM code or VALUE,SCHEME,MEANING) or method the user gave instead
    of the defaults.
    """
    if not isinstance(quantity, Quantity):
        quantity = _parsed("quantity", quantity or "FA", quantity_by_name)
    quantity_code = _parsed("quantity_code", quantity_code, Code.parse)
    unit = _parsed("unit", unit, parse_unit)
    method = _parsed("method", method, Code.parse)
    changes = {name: value for name, value in (("code", quantity_code), ("unit", unit), ("method", method)) if value is not None}
    return replace(quantity, **changes)


def _parsed(name: str, value, parse):
    """``parse(value)`` for text (a code, unit or quantity name the user typed), the value itself otherwise; a ValueError
    becomes an InputError about that field.
    """
    if not isinstance(value, str):
        return value
    try:
        return parse(value)
    except ValueError as error:
        raise InputError(str(error), field=name, value=value) from None


def check_codes(quantity: Quantity, anatomic_region: Code | None) -> None:
    """Refuse a code that cannot be written as a DICOM coded entry (PS3.3 8.8), naming the option."""
    for name, code in (("quantity_code", quantity.code), ("unit", quantity.unit), ("method", quantity.method), ("anatomic_region", anatomic_region)):
        problem = code_problem(code) if code is not None else None
        if problem:
            text = f"{code.value},{code.scheme},{code.meaning}"
            raise InputError(Field(name, text if text.isprintable() else repr(text)), f": the code {problem}", value=text)  # one line


def series_descriptions(metadata: ExportMetadata, quantity: Quantity, encodings: tuple[str, ...], rescales: dict) -> list[str]:
    """The SeriesDescription of each series as written (plain integers add their factor, a second series its suffix),
    refused if one is longer than LO allows; a default description is cut to fit.
    """
    descriptions = []
    for encoding in encodings:
        suffix = DESCRIPTION_SUFFIXES[encoding] if len(encodings) > 1 else ""
        base = series_description(metadata.series_description, quantity, rescales.get(encoding))
        if not metadata.series_description:
            base = fit_utf8(base, LO_BYTES - len(suffix.encode()))
        description = base + suffix
        length = len(description.encode("utf-8"))
        if length > LO_BYTES:
            appended = description[len(metadata.series_description) :]
            raise InputError(
                Field("series_description"),
                f" becomes {length} bytes long with the suffix {appended!r} that this mode appends to one of its series",
                remedy=f"DICOM (LO) allows at most {LO_BYTES}: shorten it to at most {LO_BYTES - len(appended.encode())} bytes",
                value=metadata.series_description,
            )
        descriptions.append(description)
    return descriptions


def series_numbers(metadata: ExportMetadata, encodings: tuple[str, ...], maps: int = 1) -> list[int]:
    """The SeriesNumber of each series, map by map: for one map, the user's and +1 for a second series, or each encoding's
    own; for several maps, consecutive from the user's (or the first encoding's own). Refused beyond IS's range.
    """
    count = len(encodings) * maps
    if metadata.series_number is None and maps == 1:
        return [ENCODERS[encoding].SERIES_NUMBER for encoding in encodings]
    first = metadata.series_number if metadata.series_number is not None else ENCODERS[encodings[0]].SERIES_NUMBER
    numbers = [first + offset for offset in range(count)]
    if numbers[-1] > LARGEST_IS:
        what = f"this mode writes {count} series" if maps == 1 else f"{maps} maps make {count} series"
        raise InputError(
            Field("series_number", str(first)),
            f": {what} numbered from it, and {numbers[-1]} is beyond DICOM's largest (IS) {LARGEST_IS}",
            remedy=f"give at most {LARGEST_IS - count + 1}",
            value=first,
        )
    return numbers


@dataclass(frozen=True)
class MapInput:
    """One map of an export of several maps into one study (``export_volumes``).

    Attributes:
        array: the voxels, ``array[k, j, i]`` (Slicer's ``arrayFromVolume`` order).
        ijk_to_ras: the 4x4 IJK-to-RAS matrix in mm.
        name: the file or node name: it starts the map's warnings and is each of its series' ``input`` in the result.
        quantity: the map's quantity (a name or a ``Quantity``); None: the export's ``quantity``.
        space: the coordinate space the input says it is in (a NIfTI file's transform code, e.g. ``scanner``, ``mni``);
            None when it says none. Maps on different grids share a frame of reference only when they state one space.
        input_warnings: warnings about the input (from reading its file), first among the map's warnings.
        resampling_change: set when the map was resampled onto the source grid (``resample_to_source``): the largest
            change interpolation made to a value.

    """

    array: np.ndarray
    ijk_to_ras: np.ndarray
    name: str = ""
    quantity: str | Quantity | None = None
    space: str | None = None
    input_warnings: Sequence[str] = ()
    resampling_change: float | None = None


def export_volume(
    array,
    ijk_to_ras,
    output_dir: str | Path,
    *,
    input_warnings: Sequence[str] = (),
    **options,
) -> ExportResult:
    """Export ``array[k, j, i]`` (Slicer's ``arrayFromVolume`` order) with its 4x4 IJK-to-RAS matrix.

    The options are ``export_volumes``'s (mode, scale, quantity, ...). The result's ``warnings`` start with
    ``input_warnings`` (e.g. from reading the file) and add what the values call for.
    """
    return export_volumes([MapInput(array, ijk_to_ras, input_warnings=input_warnings)], output_dir, **options)


def export_volumes(
    maps: Sequence[MapInput],
    output_dir: str | Path,
    *,
    mode: str = "mr",
    scale: str | float = "auto",
    quantity: str | Quantity | None = "FA",
    quantity_code: Code | None = None,
    unit: Code | None = None,
    method: Code | None = None,
    metadata: ExportMetadata | None = None,
    source: SourceSeries | None = None,
    replace_nonfinite: float | None = None,
    progress: Callable[[str, int], bool] | None = None,
    plain_integers: bool = False,
    allow_coarse_scale: bool = False,
    profile: str | None = None,
    resample_to_source: bool = False,
) -> ExportResult:
    """Export one or more maps as series of one study: one patient, one study, one frame of reference.

    ``mode`` is ``mr``, ``sc``, ``pm`` or ``mr+pm`` (for every map). Each series goes into its own new sub-folder of
    ``output_dir``; all are verified by reading them back and published together, or nothing is written. ``source``
    (the DICOM series the maps were computed from) makes the series join its patient, study and frame of reference.
    With several maps, the series are numbered consecutively, each map has its own quantity (``MapInput.quantity``,
    else ``quantity``), ``unit`` applies to the maps whose quantity has no unit of its own, and maps on different grids
    must state one coordinate space (or the frame of reference is given: ``metadata.frame_of_reference_uid``, ``source``).
    ``progress(message, files_done)`` is called before each file and before verifying; returning True cancels
    (ExportCancelled, nothing written). ``plain_integers`` (mr, sc): stored = round(value x factor) with RescaleSlope 1,
    the factor stated in the series description. ``profile`` ``navigation`` (mode mr): plain integers at the factor of
    the quantity's unit, with what navigation systems need (navigation.py). Raises FAExportError, with nothing written,
    on bad input. A scale too coarse for the values is refused (CoarseScaleError) unless ``allow_coarse_scale``.
    ``resample_to_source``: each map is first resampled onto ``source``'s grid (trilinear; resampling.py), so that a
    Parametric Map can be overlaid on it; each series' ``resampling_change`` and a warning say what that changed.
    """
    if mode not in MODES:
        raise InputError(Field("mode"), f" {mode!r} is not one of {', '.join(MODES)}", value=mode)
    encodings = MODES[mode]
    navigation.check_profile(profile, encodings, mode)
    if plain_integers and not set(encodings) & set(INTEGER_ENCODINGS):
        raise InputError(Field("plain_integers"), f" applies to the integer encodings (mr, sc, mr+pm); mode {mode} stores exact float32: leave it out")
    if not maps:
        raise InputError("no map to export; give at least one")
    for item in maps:  # from the shape alone, before scanning gigabytes of values
        for encoding in encodings:
            if ENCODERS[encoding].MULTIFRAME_BYTES_PER_VOXEL is not None:
                multiframe.check_pixel_data_size(encoding, math.prod(np.shape(item.array)), ENCODERS[encoding].MULTIFRAME_BYTES_PER_VOXEL)
    metadata = (metadata or ExportMetadata()).validated()
    series_count = len(maps) * len(encodings)
    if series_count > 1 and metadata.series_instance_uid is not None:
        what = f"mode {mode} writes {len(encodings)} series" if len(maps) == 1 else f"{len(maps)} maps make {series_count} series"
        raise InputError(f"{what}, so it cannot take one ", Field("series_instance_uid"), remedy="leave it out")
    if len(maps) > 1 and metadata.series_description:
        raise InputError(
            Field("series_description"), f" names one series; {len(maps)} maps make {series_count}, each described by its quantity (e.g. 'FA map')",
            remedy="leave it out, or export the maps one by one", value=metadata.series_description,
        )
    if resample_to_source:
        maps = resampled_onto_source(maps, source)
    quantities = map_quantities(maps, quantity, quantity_code=quantity_code, unit=unit, method=method)
    space_given = source is not None or metadata.frame_of_reference_uid is not None
    if source is not None:
        metadata = source.joined(metadata)
    study = metadata.resolved()  # one study: UIDs, date and patient ID are made once for every map
    if not space_given:
        check_one_space(maps)
    numbers = series_numbers(study, encodings, len(maps))
    now = datetime.datetime.now()
    plans: list[SeriesPlan] = []
    notes: list[str] = []
    for index, (item, map_quantity) in enumerate(zip(maps, quantities, strict=True)):
        map_plans, map_notes = _map_plans(
            item, map_quantity, study, encodings, numbers[index * len(encodings) : (index + 1) * len(encodings)],
            scale=scale, source=source, replace_nonfinite=replace_nonfinite, plain_integers=plain_integers,
            allow_coarse_scale=allow_coarse_scale, now=now, profile=profile,
        )  # fmt: skip
        plans.extend(map_plans)
        prefix = f"{item.name}: " if len(maps) > 1 and item.name else ""
        notes.extend(prefix + note for note in map_notes if note)
    folder = prepare_output_folder(output_dir)

    bounds = [_error_bound(plan) for plan in plans]
    with SeriesStaging(folder, progress) as staging, warnings.catch_warnings(record=True) as library_warnings:
        warnings.simplefilter("always")  # pydicom's value warnings become FAExport's own (below), never stray stderr lines
        staged = [_stage(staging, plan, bound) for plan, bound in zip(plans, bounds, strict=True)]
        staging.publish()
    notes.extend(f"{item.category.__name__} while writing: {' '.join(str(item.message).split())}" for item in library_warnings)
    inputs = [item.name for item in maps for _ in encodings]
    changes = [item.resampling_change for item in maps for _ in encodings]
    return ExportResult([_result(*item) for item in zip(plans, staged, bounds, inputs, changes, strict=True)], notes)


def source_grid(source: SourceSeries | None) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The grid ``resample_to_source`` resamples onto; InputError without a source, or with one that is no regular grid."""
    if source is None:
        raise InputError(Field("resample_to_source"), " resamples the map onto the grid of the series it was computed from, and none is given", remedy=("give it with ", Field("source_dicom")))
    return resampling.source_grid(source)


def resampled_onto_source(maps: Sequence[MapInput], source: SourceSeries | None) -> list[MapInput]:
    """Each map resampled onto the source series' grid, with a warning that says what interpolation changed."""
    grid, shape = source_grid(source)
    resampled = []
    for item in maps:
        done = resampling.resample(checked_array(item.array), item.ijk_to_ras, grid, shape)
        note = done.note(item.name or "the map")
        resampled.append(replace(item, array=done.array, ijk_to_ras=done.ijk_to_ras, input_warnings=[*item.input_warnings, note], resampling_change=done.max_change))
    return resampled


def _map_plans(
    item: MapInput,
    quantity: Quantity,
    study: ExportMetadata,
    encodings: tuple[str, ...],
    numbers: list[int],
    *,
    scale,
    source: SourceSeries | None,
    replace_nonfinite: float | None,
    plain_integers: bool,
    allow_coarse_scale: bool,
    now: datetime.datetime,
    profile: str | None = None,
) -> tuple[list[SeriesPlan], list[str | None]]:
    """The series of one map (checked by its encoders, nothing written) and the warnings its values call for."""
    array = checked_array(item.array, replace_nonfinite)
    geometry = SliceGeometry.from_ijk_to_ras(item.ijk_to_ras, array.shape)
    value_range = ValueRange.of(array)
    notes: list[str | None] = list(item.input_warnings)
    if profile == navigation.NAVIGATION:  # mode mr alone (check_profile)
        navigation.check_map(quantity, geometry)
        plain, note = navigation.stored_integers(quantity, value_range, scale)
        rescales, notes = {"mr": plain}, [*notes, note]
    else:
        choose = choose_plain_integers if plain_integers else choose_rescale
        rescales = {encoding: choose(scale, value_range, ENCODERS[encoding].STORAGE) for encoding in encodings if encoding in INTEGER_ENCODINGS}
    for rescale in rescales.values():
        notes.append(coarse_scale_warning(rescale, value_range, array, allow_coarse_scale))
    metadata = study
    if metadata.body_part_examined is None:
        metadata = replace(metadata, body_part_examined=quantity.body_part)
    anatomy.check_laterality_given(metadata.body_part_examined, metadata.laterality)
    if metadata.anatomic_region is None:
        metadata = replace(metadata, anatomic_region=ANATOMIC_REGIONS.get(metadata.body_part_examined, UNKNOWN_REGION))
    check_codes(quantity, metadata.anatomic_region)
    descriptions = series_descriptions(metadata, quantity, encodings, rescales)
    notes.append(value_checks.meaning_warning(array, value_range, quantity))
    window = default_window(quantity, array)
    overlay_match = overlay.match(geometry, source) if "pm" in encodings else None
    if overlay_match is not None and source is not None and not overlay_match.ready:
        notes.append(f"OHIF cannot overlay the Parametric Map on its source series: {overlay_match.problem}; it references the series, and other readers show it on its own")
    extremes = reader_traps.slice_extremes(array)  # once for the map's every encoding
    plans = []
    for encoding, description, number in zip(encodings, descriptions, numbers, strict=True):
        plan = SeriesPlan(
            mode=encoding,
            array=array,
            value_range=value_range,
            geometry=geometry,
            rescale=rescales.get(encoding),
            quantity=quantity,
            metadata=metadata,
            series_instance_uid=metadata.series_instance_uid or generate_uid(),
            series_number=number,
            series_description=description,
            window=window,
            now=now,
            source=source,
            profile=profile,
            overlay=overlay_match if encoding == "pm" else None,
        )
        ENCODERS[encoding].check(plan)  # first: pm refuses values beyond float32, which the traps' float32 view would overflow
        traps = reader_traps.for_encoding(encoding, plan.rescale, window, overlay_match.problem if encoding == "pm" else None, array, extremes)
        plans.append(replace(plan, reader_traps=tuple(traps)))
    if "pm" in encodings:  # after pm.check, which refuses values beyond float32
        notes.append(value_checks.float32_integer_warning(array, value_range))
    return plans, notes


def map_quantities(
    maps: Sequence[MapInput],
    quantity: str | Quantity | None,
    *,
    quantity_code: Code | str | None,
    unit: Code | str | None,
    method: Code | str | None,
) -> list[Quantity]:
    """Each map's quantity (its own, else ``quantity``) with the code, unit and method the user gave.

    With maps of one quantity (one map, say), the code, unit and method apply to every map as given. With maps of
    several quantities a quantity code names none of them and is refused; the unit applies to the maps whose quantity
    has none of its own (T1 and T2 in ms, say) and is refused when every map has one; the method applies to all.
    """
    bare = [resolve_quantity(item.quantity if item.quantity is not None else quantity, quantity_code=None, unit=None, method=None) for item in maps]
    names = list(dict.fromkeys(each.name for each in bare))
    if len(names) == 1:
        return [resolve_quantity(each, quantity_code=quantity_code, unit=unit, method=method) for each in bare]
    if quantity_code is not None:
        raise InputError(
            Field("quantity_code"), f" is the code of one quantity, and these maps are of {len(names)} ({', '.join(names)})",
            remedy="leave it out, or export the maps of each quantity separately", value=str(quantity_code),
        )
    if unit is not None and all(each.unit is not None for each in bare):
        owned = ", ".join(f"{each.name} in {each.unit.value}" for each in {each.name: each for each in bare}.values())
        raise InputError(
            Field("unit"), f" applies to the maps whose quantity has no unit of its own, and every map here has one ({owned})",
            remedy="leave it out, or export a map in another unit on its own", value=str(unit),
        )
    return [resolve_quantity(each, quantity_code=None, unit=unit if each.unit is None else None, method=method) for each in bare]


# Largest difference (mm) between two IJK-to-RAS matrices still taken as the same grid (float32 headers carry ~1e-5).
SAME_GRID_TOLERANCE = 1e-3


def same_grid(first: MapInput, second: MapInput) -> bool:
    """True when two maps have the same voxels in space: shape and IJK-to-RAS matrix."""
    return np.shape(first.array) == np.shape(second.array) and np.allclose(
        np.asarray(first.ijk_to_ras, dtype=np.float64), np.asarray(second.ijk_to_ras, dtype=np.float64), rtol=0.0, atol=SAME_GRID_TOLERANCE,
    )


def check_one_space(maps: Sequence[MapInput]) -> None:
    """Refuse maps that cannot share one frame of reference: on different grids, and not stating one coordinate space.

    Maps on one grid are in one space whatever their files say; maps on different grids (a 1 mm T1 map and a 2 mm FA
    map) are only when each file says which space it is in and all say the same (NIfTI scanner, aligned, MNI, ...).
    """
    first = maps[0]
    others = [item for item in maps[1:] if not same_grid(first, item)]
    if not others:
        return
    spaces = {item.space for item in maps}
    if len(spaces) == 1 and None not in spaces:
        return
    listing = "; ".join(f"{item.name or f'map {index + 1}'}: {_grid_text(item)}" for index, item in enumerate(maps))
    raise InputError(
        f"these maps are on different grids and do not state one coordinate space, so they cannot share one frame of reference ({listing})",
        remedy=("export them separately, resample them onto one grid, or, if they are in one space, say so with ", Field("frame_of_reference_uid", "UID"), " or ", Field("source_dicom")),
    )


def _grid_text(item: MapInput) -> str:
    shape = "x".join(str(size) for size in reversed(np.shape(item.array)))
    spacing = "x".join(f"{value:.4g}" for value in np.linalg.norm(np.asarray(item.ijk_to_ras, dtype=np.float64)[:3, :3], axis=0))
    return f"{shape} voxels of {spacing} mm, space {item.space or 'not stated'}"


def series_description(given: str | None, quantity: Quantity, rescale) -> str:
    """The user's description, else "<quantity> map (<unit>)"; plain integers state the factor: "FA x1000", "T1 (ms) x10"."""
    if not is_plain(rescale):
        return given or quantity.description
    factor = f"x{rescale.scale_label}"
    if given:
        return given if factor in given.split() else f"{given} {factor}"
    return f"{quantity.name}{quantity.unit_label} {factor}"


def _error_bound(plan: SeriesPlan) -> float:
    """Worst-case |decoded - input|: half a rescale step, or float32 rounding for float pixels."""
    return plan.rescale.max_quantization_error if plan.rescale is not None else pm.error_bound(plan)


def _stage(staging: SeriesStaging, plan: SeriesPlan, bound: float) -> StagedSeries:
    encoder = ENCODERS[plan.mode]

    def verified(files: list[Path]) -> float:
        intercept = abs(plan.rescale.intercept) if plan.rescale is not None else 0.0  # its rounding counts too
        return verify.check_bound(encoder.read_back_error(plan, files), bound, plan.value_range.max_abs + intercept)

    def instances():
        # The base dataset is made inside the generator so that no reference outlives the writing (memory).
        base = series_dataset(
            plan.metadata,
            modality=encoder.MODALITY,
            sop_class_uid=encoder.SOP_CLASS_UID,
            series_instance_uid=plan.series_instance_uid,
            series_number=plan.series_number,
            series_description=plan.series_description,
            now=plan.now,
        )
        yield from encoder.encode(plan, base)

    folder_name = series_folder_name(plan.series_description, plan.mode, plan.series_number, plan.series_instance_uid)
    return staging.stage(folder_name, instances(), verified)


def _result(plan: SeriesPlan, staged: StagedSeries, bound: float, name: str, resampling_change: float | None = None) -> SeriesResult:
    encoder = ENCODERS[plan.mode]
    return SeriesResult(
        mode=plan.mode,
        directory=str(staged.final),
        files=[str(f) for f in staged.files],
        sop_class_uid=encoder.SOP_CLASS_UID,
        series_instance_uid=plan.series_instance_uid,
        study_instance_uid=plan.metadata.study_instance_uid,
        frame_of_reference_uid=plan.metadata.frame_of_reference_uid,
        series_number=plan.series_number,
        series_description=plan.series_description,
        rescale_slope=plan.rescale.slope if plan.rescale is not None else None,
        rescale_intercept=plan.rescale.intercept if plan.rescale is not None else None,
        max_quantization_error=bound,
        measured_max_error=staged.measured_max_error,
        quantity=plan.quantity.name,
        unit=plan.quantity.unit.value if plan.quantity.unit is not None else None,
        plain_integers=is_plain(plan.rescale),
        value_scale=plan.rescale.read_back_scale if plan.rescale is not None else 1.0,
        input=name,
        profile=plan.profile,
        overlay_ready=plan.overlay.ready if plan.overlay is not None else None,
        overlay_problem=plan.overlay.problem if plan.overlay is not None else None,
        resampling_change=resampling_change,
        reader_traps=list(plan.reader_traps),
    )
