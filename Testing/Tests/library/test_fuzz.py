"""Fuzzing: random volumes, geometries, value ranges, modes and scales through ``export_volume``.

Every drawn case either exports, and then every series reads back, with readers that do not use FAExportLib,
within the error bound the export reports (Parametric Map of float32 input: exactly) at the right place (1e-4 mm);
or it is refused with an InputError/ScaleError that the values justify, with nothing written. Any other outcome
fails. A separate property runs dciodvfy on some drawn exports.

Profiles (``Testing/Harness/fuzz_profiles.py``): ``ci`` by default (deterministic, well under a minute);
``HYPOTHESIS_PROFILE=long`` (or ``--hypothesis-profile=long`` once conftest.py imports fuzz_profiles) for the long
run. ``--hypothesis-show-statistics`` counts the outcomes (exported per mode, refused per error) and volume sizes.
A failing case prints as a ``Case(...)`` recipe: add it to ``FOUND`` to keep it as a regression test.
"""

import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import fuzz_profiles  # registers and loads the profiles before the settings below are made
import numpy as np
import pydicom
import pytest
import readers
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from FAExportLib import CoarseScaleError, InputError, ScaleError, export_volume
from FAExportLib.scaling import LARGEST_RESCALABLE, SMALLEST_AUTO_RESCALABLE

INT16_LOW, INT16_HIGH = -32768, 32767
UINT16_HIGH = 65535
# A fixed scale whose stored value lands this close (relative) to half a step beyond the range may go either way:
# the slope in the file is 1/scale rounded to a 16-character DS.
BOUNDARY_TOLERANCE = 1e-9
POSITION_TOLERANCE_MM = 1e-4
EPS = np.finfo(np.float64).eps
MAX_AXIS = 64
MODES = {"mr": ("mr",), "sc": ("sc",), "pm": ("pm",), "mr+pm": ("mr", "pm")}
DTYPES = ("float32", "float32", "float64", "float16", "int16", "uint8", "int32")
# The coarse-scale rule (Docs/encodings.md): a 16-bit scale may change values by at most half a step of MIN_LEVELS steps across
# their span (max - min, or |value| for a constant map); a scale that changes them more is refused.
MIN_LEVELS = 100
# Stored values around which a fixed scale starts or stops fitting, and exact ties.
BOUNDARY_STEPS = (32767.0, 32767.5, 32768.0, -32768.0, -32768.5, -32769.0, 65535.0, 65535.5, 65536.0, 0.5, -0.5, 1.5)


# ---------------------------------------------------------------------------------------------------------------
# A drawn case is a recipe (small, printable, replayable); the arrays are built from it.


@dataclass(frozen=True)
class Case:
    """One export: volume shape, geometry, values, mode and scale."""

    shape_ijk: tuple  # (i, j, k) sizes
    axes: tuple  # ("rotation", (w, x, y, z)) or ("permutation", (p0, p1, p2), (s0, s1, s2))
    flip: int | None  # axis whose direction is negated (negative determinant for a rotation)
    spacing: tuple  # mm along i, j, k
    origin: tuple  # RAS mm of voxel (0, 0, 0)
    dtype: str
    kind: str  # fa, uniform, constant, zero
    sign: str  # positive, negative, mixed
    exponent: int  # magnitude 10**exponent
    fraction: float  # constant value = sign x fraction x magnitude
    seed: int
    specials: tuple  # ((flat index, value), ...) written over the field
    mode: str
    scale: object  # "auto", "1000", "32000", or a custom number (or its string)
    quantity: str = "FA"
    existing_output: bool = False

    def directions(self) -> np.ndarray:
        """Unit column directions (RAS) of i, j, k."""
        if self.axes[0] == "rotation":
            w, x, y, z = np.asarray(self.axes[1], dtype=float) / np.linalg.norm(self.axes[1])
            matrix = np.array(
                [
                    [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                    [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                    [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
                ],
            )
        else:
            _, permutation, signs = self.axes
            matrix = np.zeros((3, 3))
            for column, (row, sign) in enumerate(zip(permutation, signs, strict=True)):
                matrix[row, column] = sign
        if self.flip is not None:
            matrix[:, self.flip] *= -1.0
        return matrix

    def ijk_to_ras(self) -> np.ndarray:
        """4x4 IJK-to-RAS matrix."""
        affine = np.eye(4)
        affine[:3, :3] = self.directions() @ np.diag(self.spacing)
        affine[:3, 3] = self.origin
        return affine

    def array_kji(self) -> np.ndarray:
        """The volume in export order ``array[k, j, i]``, of ``dtype``."""
        shape = tuple(reversed(self.shape_ijk))
        rng = np.random.default_rng(self.seed)
        magnitude = 10.0**self.exponent
        sign = {"positive": 1.0, "negative": -1.0, "mixed": 1.0}[self.sign]
        if self.kind == "zero":
            values = np.zeros(shape)
        elif self.kind == "constant":
            values = np.full(shape, sign * self.fraction * magnitude)
        elif self.kind == "fa":
            values = rng.random(shape)
            values.flat[0] = 0.0
            values.flat[-1] = 1.0
        else:
            uniform = rng.random(shape)
            values = (2.0 * uniform - 1.0 if self.sign == "mixed" else sign * uniform) * magnitude
        for index, value in self.specials:
            values.flat[index % values.size] = value
        return cast(values, self.dtype)


def cast(values: np.ndarray, dtype: str) -> np.ndarray:
    """``values`` (float64) as ``dtype``: clipped to its finite range (and rounded for integers), never inf."""
    if np.issubdtype(np.dtype(dtype), np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    largest = float(np.finfo(dtype).max)
    return np.clip(values, -largest, largest).astype(dtype)


EXPONENTS = {"float32": (-44, 38), "float64": (-300, 300), "float16": (-7, 4), "int16": (0, 4), "uint8": (0, 2), "int32": (0, 9)}


def special_values(dtype: str, scale: object) -> st.SearchStrategy:
    """Values that stress the encoders: scale boundaries and ties, any finite value of the dtype."""
    numeric = float(scale) if scale not in ("auto",) else None
    scales = [1000.0, 32000.0] + ([numeric] if numeric is not None else [])
    boundary = st.builds(
        lambda step, factor, nudge: float(step / factor) if nudge == 0 else float(np.nextafter(step / factor, math.copysign(math.inf, nudge))),
        st.sampled_from(BOUNDARY_STEPS),
        st.sampled_from(scales),
        st.sampled_from([0, 1, -1]),
    )
    tie = st.builds(lambda n, factor: (n + 0.5) / factor, st.integers(INT16_LOW, INT16_HIGH), st.sampled_from(scales))
    if np.issubdtype(np.dtype(dtype), np.integer):
        info = np.iinfo(dtype)
        anything = st.integers(int(info.min), int(info.max)).map(float)
    else:
        anything = st.floats(allow_nan=False, allow_infinity=False, width=np.dtype(dtype).itemsize * 8)
    return st.one_of(boundary, tie, anything)


@st.composite
def cases(draw, max_voxels: int | None = None, scales: tuple = ("auto", "1000", "32000", "custom"), modes: tuple = tuple(MODES)) -> Case:
    """A Case: shape up to 64 per axis with at most ``max_voxels`` voxels, random orthonormal geometry, values."""
    remaining = max_voxels or fuzz_profiles.limit("max_voxels")
    shape = [1, 1, 1]
    for axis in draw(st.permutations([0, 1, 2])):
        shape[axis] = draw(st.integers(1, max(1, min(MAX_AXIS, remaining))))
        remaining //= shape[axis]
    if draw(st.booleans()):
        quaternion = draw(st.tuples(*[st.floats(-1.0, 1.0)] * 4))
        axes = ("rotation", quaternion if np.linalg.norm(quaternion) > 0.1 else (1.0, 0.0, 0.0, 0.0))
    else:
        axes = ("permutation", tuple(draw(st.permutations([0, 1, 2]))), draw(st.tuples(*[st.sampled_from([1.0, -1.0])] * 3)))
    flip = draw(st.none() | st.integers(0, 2))
    spacing = draw(st.tuples(*[st.floats(0.1, 10.0)] * 3))
    origin = draw(st.tuples(*[st.floats(-500.0, 500.0)] * 3))
    dtype = draw(st.sampled_from(DTYPES))
    low, high = EXPONENTS[dtype]
    exponent = draw(st.integers(max(low, -6), min(high, 6)) | st.integers(low, high))
    scale = draw(st.sampled_from(scales))
    if scale == "custom":
        scale = draw(st.sampled_from([0.5, 2, 1024, 4000.0]) | st.floats(1e-6, 1e12))
        if draw(st.booleans()):
            scale = repr(scale)
    size = shape[0] * shape[1] * shape[2]
    specials = draw(st.lists(st.tuples(st.integers(0, size - 1), special_values(dtype, scale)), max_size=4))
    return Case(
        shape_ijk=tuple(shape),
        axes=axes,
        flip=flip,
        spacing=spacing,
        origin=origin,
        dtype=dtype,
        kind=draw(st.sampled_from(["uniform", "fa", "constant", "zero"])),
        sign=draw(st.sampled_from(["positive", "mixed", "negative"])),
        exponent=exponent,
        fraction=draw(st.floats(0.0, 1.0)),
        seed=draw(st.integers(0, 2**32 - 1)),
        specials=tuple(specials),
        mode=draw(st.sampled_from(modes)),
        scale=scale,
        quantity=draw(st.sampled_from(["FA", "MD"])),
        existing_output=draw(st.booleans()),
    )


# ---------------------------------------------------------------------------------------------------------------
# The oracle: when must an export be refused, and how is a multi-frame file read back.


def refusal(case: Case, values: np.ndarray) -> tuple[str, str]:
    """(``must_refuse`` | ``either`` | ``must_succeed``, why), from the values alone.

    A fixed scale must refuse a value whose stored integer ``round(value x scale)`` falls outside the storage:
    int16 for mr, uint16 for sc (shifted to the int16 range by the intercept when there are negative values).
    A Parametric Map must refuse a value that float32 cannot hold (it would become infinite).
    """
    verdict, why = "must_succeed", "every value fits"
    values = values.astype(np.float64)
    encodings = MODES[case.mode]
    with np.errstate(over="ignore"):
        overflows = bool(np.isinf(values.astype(np.float32)).any())
    if "pm" in encodings and overflows:
        return "must_refuse", "a value overflows float32 in the Parametric Map"
    max_abs = float(np.max(np.abs(values)))
    if any(encoding != "pm" for encoding in encodings):
        # No 16-bit rescale reaches these (Docs/encodings.md, "Measured error and refused values"): the slope or intercept would
        # overflow float64, or an automatic slope would fall below float64's normal numbers.
        for limit, beyond, reason in (
            (LARGEST_RESCALABLE, max_abs > LARGEST_RESCALABLE, "too large for any 16-bit rescale"),
            (SMALLEST_AUTO_RESCALABLE, case.scale == "auto" and 0 < max_abs < SMALLEST_AUTO_RESCALABLE, "too small for an automatic slope"),
        ):
            if abs(max_abs / limit - 1) <= BOUNDARY_TOLERANCE:
                verdict, why = "either", f"max |value| {max_abs!r} at the limit {limit!r}"
            elif beyond:
                return "must_refuse", f"max |value| {max_abs!r} is {reason}"
    if case.scale == "auto":
        return verdict, why
    scale = float(case.scale)
    low, high = float(values.min()) * scale, float(values.max()) * scale
    for encoding in encodings:
        if encoding == "pm":
            continue
        if encoding == "sc" and float(values.min()) >= 0:
            ranges = [(high, UINT16_HIGH + 0.5)]
        else:
            ranges = [(high, INT16_HIGH + 0.5), (-low, -(INT16_LOW - 0.5))]
        for scaled, limit in ranges:
            if scaled > limit * (1 + BOUNDARY_TOLERANCE):
                return "must_refuse", f"{encoding}: value x scale = {scaled:.10g} beyond {limit}"
            if scaled >= limit * (1 - BOUNDARY_TOLERANCE):
                verdict, why = "either", f"{encoding}: value x scale = {scaled:.10g} at the boundary {limit}"
    return verdict, why


def coarse_limit(values: np.ndarray) -> float:
    """The largest change the coarse-scale rule allows: half a step of MIN_LEVELS steps across the values' span."""
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else max(abs(low), abs(high))
    return span / (2 * MIN_LEVELS)


def integral_fit(values: np.ndarray, encoding: str) -> bool:
    """An integer map that slope 1 stores in the encoding's 16 bits (sc: uint16, or the int16 range via its intercept)."""
    if not bool(np.all(np.rint(values) == values)):
        return False
    low, high = float(values.min()), float(values.max())
    if encoding == "sc" and low >= 0:
        return high <= UINT16_HIGH
    return INT16_LOW <= low and high <= INT16_HIGH


def coarse_possible(case: Case, values: np.ndarray) -> bool:
    """Whether some integer encoding's step may be too coarse for the values (a necessary condition of a refusal)."""
    values = values.astype(np.float64)
    max_abs = float(np.max(np.abs(values)))
    for encoding in MODES[case.mode]:
        if encoding == "pm":
            continue
        if case.scale != "auto":
            slope = 1.0 / float(case.scale)
        elif integral_fit(values, encoding):
            continue  # slope 1: exact
        elif encoding == "sc" and float(values.min()) >= 0:
            slope = 1.25 * max_abs / UINT16_HIGH
        else:
            slope = 1.25 * max_abs / INT16_HIGH
        if slope / 2 > coarse_limit(values) * (1 - BOUNDARY_TOLERANCE):
            return True
    return False


def rescale_texts(files) -> set:
    """The (RescaleSlope, RescaleIntercept) DS texts of every file of a single-frame series."""
    texts = set()
    for path in files:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        texts.add((str(ds.RescaleSlope), str(ds.RescaleIntercept)))
    return texts


# ---------------------------------------------------------------------------------------------------------------
# The properties


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory) -> Path:
    """One folder for the whole module; each example makes (and removes) its own folder below it."""
    return tmp_path_factory.mktemp("fuzz")


def note_event(text: str) -> None:
    """Count ``text`` in Hypothesis' statistics (--hypothesis-show-statistics); nothing outside a @given test."""
    if currently_in_test_context():
        event(text)


def run_case(case: Case, root: Path) -> list:
    """Export ``case`` and check the outcome; return the series written (empty when refused)."""
    array = case.array_kji()
    ijk_to_ras = case.ijk_to_ras()
    work = Path(tempfile.mkdtemp(dir=root))
    output = work / "out"
    if case.existing_output:
        output.mkdir()
    verdict, why = refusal(case, array)
    note_event(f"voxels: {'1' if array.size == 1 else f'up to 10^{math.ceil(math.log10(array.size))}'}")
    try:
        try:
            result = export_volume(array, ijk_to_ras, output, mode=case.mode, scale=case.scale, quantity=case.quantity)
        except InputError as error:  # ScaleError is an InputError
            if isinstance(error, CoarseScaleError):
                assert coarse_possible(case, array), f"refused as coarse although every step is fine: {error}"
            else:
                assert verdict != "must_succeed", f"refused although {why}: {type(error).__name__}: {error}"
            if why.startswith(("mr:", "sc:")) and verdict == "must_refuse":
                assert isinstance(error, ScaleError), f"a value beyond the scale raised {type(error).__name__}: {error}"
            left = sorted(os.listdir(output)) if output.exists() else None
            assert left == ([] if case.existing_output else None), f"refused, but the output folder holds {left}"
            assert os.listdir(work) == (["out"] if case.existing_output else []), os.listdir(work)
            note_event(f"refused ({verdict}): {type(error).__name__}")
            return []
        note_event(f"exported ({verdict}): {case.mode}")
        assert verdict != "must_refuse", f"exported although {why}"
        check_series(case, array, ijk_to_ras, output, result.series)
        return result.series
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_series(case: Case, array: np.ndarray, ijk_to_ras: np.ndarray, output: Path, series: list) -> None:
    """Every series reads back within its reported bound and at its place; nothing else was left in ``output``."""
    values = array.astype(np.float64)
    max_abs = float(np.max(np.abs(values)))
    truth_ijk = values.transpose(2, 1, 0)
    assert [s.mode for s in series] == list(MODES[case.mode])
    assert sorted(os.listdir(output)) == sorted(Path(s.directory).name for s in series), os.listdir(output)
    assert len({s.frame_of_reference_uid for s in series}) == 1 and len({s.study_instance_uid for s in series}) == 1
    for s in series:
        assert Path(s.directory).parent == output.absolute()
        assert all(Path(f).parent == Path(s.directory) and Path(f).is_file() for f in s.files), s.files
        assert sorted(os.listdir(s.directory)) == sorted(Path(f).name for f in s.files)
        bound = s.max_quantization_error
        assert math.isfinite(bound) and bound >= 0, f"{s.mode}: bound {bound}"
        # The measured error is computed in float64 like a reader's; at an exact tie it may exceed the bound by that
        # rounding, which FAExport's own check allows (Docs/encodings.md: 8 eps x (max |value| + |intercept|)).
        rounding = 8 * EPS * (max_abs + abs(s.rescale_intercept or 0.0))
        assert s.measured_max_error <= bound + rounding, f"{s.mode}: measured {s.measured_max_error!r} > bound {bound!r}"
        if s.mode == "pm":
            assert s.rescale_slope is None
            with np.errstate(over="ignore"):
                float32_rounding = float(np.max(np.abs(values.astype(np.float32).astype(np.float64) - values)))
            assert bound <= max(2.0**-24 * max_abs, 2.0**-150), f"pm bound {bound!r} beyond float32 rounding of {max_abs!r}"
            if case.dtype in ("float32", "float16", "int16", "uint8"):
                assert bound == 0.0
            read, _ = readers.read_pydicom_multiframe(Path(s.files[0]))
            slack = 0.0  # x 1.0 + 0.0 is exact
            assert float32_rounding <= bound
        else:
            slope, intercept = s.rescale_slope, s.rescale_intercept
            if case.scale == "auto" and integral_fit(values, s.mode):
                assert (slope, bound) == (1.0, 0.0), f"auto on an integer map: slope {slope!r}, bound {bound!r}"
            exact = slope == 1.0 and float(intercept).is_integer() and bool(np.all(np.rint(values) == values))
            assert bound == (0.0 if exact else slope / 2), (bound, slope)
            if case.scale != "auto":
                assert abs(slope * float(case.scale) - 1.0) <= BOUNDARY_TOLERANCE, (slope, case.scale)
            elif max_abs > 0:
                assert bound <= 1.25 * max_abs / INT16_HIGH / 2, f"auto: bound {bound!r} for max |value| {max_abs!r}"
            if s.mode == "mr":
                assert len(s.files) == case.shape_ijk[2]
                texts = rescale_texts(s.files)
                assert len(texts) == 1, f"more than one rescale in one series: {texts}"
                read = readers.read_pydicom(s.files)
            else:
                assert len(s.files) == 1
                read, ds = readers.read_pydicom_multiframe(Path(s.files[0]))
                texts = {(str(ds.RescaleSlope), str(ds.RescaleIntercept))}
            ((slope_text, intercept_text),) = texts
            assert (float(slope_text), float(intercept_text)) == (slope, intercept)
            assert len(slope_text) <= 16 and len(intercept_text) <= 16
            if s.mode == "mr":
                assert intercept == 0.0
            # The reader's own float64 multiply-add rounds: half an ulp of each of its results.
            slack = 4 * EPS * (max_abs + abs(intercept) + bound)
        comparison = readers.compare(truth_ijk, ijk_to_ras, read)
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM, f"{s.mode}: voxel {comparison.max_position_error_mm} mm off"
        assert comparison.max_value_error <= bound + slack, f"{s.mode}: read back {comparison.max_value_error!r} off, bound {bound!r}"
        if s.mode != "pm":  # never a coarse scale without saying so: the values read back resolve the map
            allowed = max(coarse_limit(values), 8 * EPS * max_abs) * (1 + BOUNDARY_TOLERANCE) + slack
            assert comparison.max_value_error <= allowed, f"{s.mode}: read back {comparison.max_value_error!r} off: a coarse scale was not refused"


ONE_VOXEL = Case(
    shape_ijk=(1, 1, 1),
    axes=("permutation", (0, 1, 2), (1.0, 1.0, 1.0)),
    flip=None,
    spacing=(1.0, 1.0, 1.0),
    origin=(0.0, 0.0, 0.0),
    dtype="float32",
    kind="zero",
    sign="positive",
    exponent=0,
    fraction=0.0,
    seed=0,
    specials=(),
    mode="mr",
    scale="auto",
)
# Cases the fuzzer found, shrunk; each stays as a regression test.
FOUND = {
    # pydicom's format_number_as_ds gives '10.00000000000000' (17 characters) for 9.999999999999998: was a ValueError.
    "spacing-just-below-10mm": replace(ONE_VOXEL, spacing=(1.0, 1.0, 9.999999999999998)),
    # The same from plain input: 10 mm slices on a grid turned by 90 degrees about an oblique axis.
    "spacing-10mm-rotated": replace(ONE_VOXEL, axes=("rotation", (0.0, 0.0, 1.0, 1.0)), spacing=(1.0, 1.0, 10.0)),
    # float64 beyond float32's range: the Parametric Map stored inf and reported an infinite bound; now refused.
    "pm-float64-beyond-float32": replace(ONE_VOXEL, dtype="float64", specials=((0, 3.4028235677973366e38),), mode="pm"),
    # 0.919921875 x 32000 = 29437.5 exactly: the measured error 1.5625000000074607e-05 exceeds the bound 1.5625e-05
    # by float64 rounding, within the documented allowance.
    "tie-at-scale-32000": replace(ONE_VOXEL, specials=((0, 0.919921875),), scale="32000"),
    # auto on float64 below 32767 x 5e-324: the slope underflowed and fell back to 1 (bound 0.5); now refused.
    "auto-float64-subnormal": replace(ONE_VOXEL, dtype="float64", specials=((0, 5e-324),)),
    # sc, scale 1000, negative values (intercept -32.768): -0.0625 x 1000 = -62.5 is a tie; the read-back error
    # 0.0005 plus float64 rounding of the intercept exceeded the pipeline's allowance (was a VerificationError).
    "sc-tie-with-intercept": replace(ONE_VOXEL, specials=((0, -0.0625),), mode="sc", scale="1000"),
    # sc, auto, float64 near its largest value: the intercept -32768 x slope overflowed (ValueError: -inf) ...
    "sc-float64-largest-negative": replace(ONE_VOXEL, dtype="float64", specials=((0, -1.79769313476608e308),), mode="sc"),
    # ... and 65535 x slope overflowed (VerificationError: read back inf); both now refused.
    "sc-float64-largest-positive": replace(ONE_VOXEL, dtype="float64", specials=((0, 1.7976931346391752e308),), mode="sc"),
}
# Exports the fuzzer found that dciodvfy reports errors in.
FOUND_DCIODVFY = {
    # A data-driven window (MD) of width >= 2**63: dciodvfy called WindowWidth 9.9999999805e+18 negative (now clamped).
    "window-width-beyond-2**63": replace(ONE_VOXEL, specials=((0, 1e19),), quantity="MD"),
}


@pytest.mark.parametrize("case", FOUND.values(), ids=FOUND.keys())
def test_cases_found_by_fuzzing(case, fuzz_root):
    run_case(case, fuzz_root)


@pytest.mark.parametrize("case", FOUND_DCIODVFY.values(), ids=FOUND_DCIODVFY.keys())
def test_dciodvfy_cases_found_by_fuzzing(case, fuzz_root):
    validate_case(case, fuzz_root)


@settings(deadline=None)
@given(case=cases())
def test_export_reads_back_within_its_bound_or_is_refused_for_a_reason(case, fuzz_root):
    run_case(case, fuzz_root)


@settings(deadline=None, max_examples=fuzz_profiles.limit("dciodvfy_examples"))
@given(case=cases(max_voxels=512, scales=("auto",)))
def test_dciodvfy_finds_no_error_in_random_exports(case, fuzz_root):
    validate_case(case, fuzz_root)


def validate_case(case: Case, root: Path) -> None:
    """Export ``case`` and run dciodvfy on every file of a multi-frame series, the first and last of an mr one."""
    array = case.array_kji()
    work = Path(tempfile.mkdtemp(dir=root))
    try:
        try:
            result = export_volume(array, case.ijk_to_ras(), work / "out", mode=case.mode, scale=case.scale, quantity=case.quantity)
        except InputError as error:
            assert refusal(case, array)[0] != "must_succeed", f"refused: {error}"
            return
        for s in result.series:
            for path in s.files if len(s.files) <= 2 else [s.files[0], s.files[-1]]:
                assert readers.dciodvfy_errors(path) == [], f"{s.mode} {path}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# User text and codes: refused for a reason PS3.3/PS3.5 give, or written validly and read back as given.

CODE_CHARACTERS = st.sampled_from("AZaz09-._:/ µ\\")
MEANING_CHARACTERS = st.sampled_from("Aa z0.,²/µ山\\\n")
TEXT_CHARACTERS = st.sampled_from("Aa ^=é山\\\t")
BODY_PART_CHARACTERS = st.sampled_from("kneeBRAIN _-é0")


@dataclass(frozen=True)
class TextCase:
    """The user text and codes of one export."""

    unit: tuple  # (value, scheme, meaning)
    body_part: str | None
    laterality: str | None
    description: str | None
    patient_name: str
    mode: str


@st.composite
def text_cases(draw) -> TextCase:
    """Mostly valid values (so that writing is exercised), and wild ones: repertoires, lengths, separators."""
    wild = draw(st.integers(0, 3)) == 0
    characters = CODE_CHARACTERS if wild else st.sampled_from("AZaz09-._:/")
    value = draw(
        st.sampled_from(["1", "mm2/s", "um2/ms", "{ratio}", "A" * 16, "LONG-CODE-VALUE-0017", "urn:oid:1.2.3", "https://x.org/u"])
        | st.sampled_from(["", "urn:oid:", "https://x.org/"]).flatmap(lambda start: st.text(characters, min_size=0 if wild else 1, max_size=24).map(lambda rest: start + rest)),
    )
    scheme = draw(st.sampled_from(["UCUM", "DCM", "99LOCAL", "A" * 16]) | (st.sampled_from(["", "A" * 17, "µCS"]) if wild else st.just("UCUM")))
    meaning = draw(
        st.sampled_from(["no units", "µm²/ms", "mm2/s", "a" * 64, "é" * 32, "山" * 21])
        | (st.text(MEANING_CHARACTERS, max_size=70) | st.text(st.sampled_from("abé"), min_size=60, max_size=66) if wild else st.just("ratio")),
    )
    body_part = draw(st.none() | st.sampled_from(["brain", " Head ", "knee", "BREAST"]) | (st.text(BODY_PART_CHARACTERS, max_size=18) if wild else st.none()))
    laterality = draw(st.none() | st.sampled_from(["L", "r", "B", "U"]) | (st.sampled_from(["X", ""]) if wild else st.none()))
    tame = st.sampled_from("Aa ^é山")  # no separators or control characters; short enough in UTF-8
    description = draw(st.none() | st.text(TEXT_CHARACTERS if wild else tame.filter(lambda c: c != "^"), max_size=70 if wild else 15))
    groups = st.lists(st.text(TEXT_CHARACTERS if wild else tame, max_size=40 if wild else 20), min_size=1, max_size=4 if wild else 3)
    name = "=".join(draw(groups))
    return TextCase((value, scheme, meaning), body_part, laterality, description, name, draw(st.sampled_from(["pm", "mr+pm"])))


PAIRED = {"KNEE", "BREAST"}  # the paired parts the strategy draws (FAExport knows more)


def text_violations(case: TextCase) -> list[str]:
    """What PS3.3 8.8 (codes), PS3.5 6.2 (VRs) and the laterality rules forbid in the case, restated independently."""
    value, scheme, meaning = case.unit
    problems = []
    urn = value.lower().startswith(("urn:", "http://", "https://"))
    complete = re.fullmatch(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+|https?://[^\s/]+\S*", value, re.IGNORECASE)  # RFC 8141 / 3986 shape
    if not value or not all(32 <= ord(c) < 127 for c in value) or "\\" in value or (urn and not complete):
        problems.append("code value")
    if (not scheme and not urn) or len(scheme) > 16 or not scheme.isascii():
        problems.append("scheme")
    if not meaning or "\\" in meaning or any(ord(c) < 32 for c in meaning) or len(meaning.encode()) > 64:
        problems.append("meaning")
    part = case.body_part.strip().upper() if case.body_part is not None else None
    if part is not None and (not re.fullmatch(r"[A-Z0-9 _]*", part) or len(part) > 16):
        problems.append("body part")
    if case.laterality is not None and case.laterality.strip().upper() not in ("L", "R", "B", "U"):
        problems.append("laterality")
    elif case.laterality is None and part in PAIRED:
        problems.append("paired body part without laterality")
    if case.description:
        suffix = len(" (Parametric Map)") if case.mode == "mr+pm" else 0
        if "\\" in case.description or any(ord(c) < 32 for c in case.description) or len(case.description.encode()) + suffix > 64:
            problems.append("description")
    groups = case.patient_name.split("=")
    if "\\" in case.patient_name or any(ord(c) < 32 for c in case.patient_name) or len(groups) > 3:
        problems.append("patient name")
    elif any(len(group.split("^")) > 5 or len(group.encode()) > 64 for group in groups):
        problems.append("patient name")
    return problems


def run_text_case(case: TextCase, root: Path) -> None:
    from FAExportLib import Code, ExportMetadata

    work = Path(tempfile.mkdtemp(dir=root))
    output = work / "out"
    violations = text_violations(case)
    metadata = ExportMetadata(
        patient_name=case.patient_name,
        series_description=case.description,
        body_part_examined=case.body_part,
        laterality=case.laterality,
    )
    values = np.linspace(0.0, 1.0, 8, dtype=np.float32).reshape(2, 2, 2)
    try:
        try:
            result = export_volume(values, np.eye(4), output, mode=case.mode, quantity="FA", unit=Code(*case.unit), metadata=metadata)
        except InputError as error:
            assert violations, f"refused although valid: {error}"
            assert not output.exists()
            note_event(f"text refused: {violations[0]}")
            return
        assert not violations, f"written although {violations}"
        note_event(f"text written: {case.mode}")
        for series in result.series:
            path = series.files[0]
            dataset = pydicom.dcmread(path)
            errors = readers.dciodvfy_errors(path)
            if len(case.patient_name.encode()) > 64:  # dciodvfy's whole-value PN limit (test_text_and_codes.py)
                errors = [line for line in errors if "(0x0010,0x0010) PN" not in line and "invalid data values for Value Representations" not in line]
            assert errors == [], f"{series.mode}: {errors}"
            assert dataset.get("BodyPartExamined", "") == (case.body_part.strip().upper() if case.body_part is not None else "BRAIN")  # FA's default
            if series.mode == "pm":
                unit = dataset.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence[0]
                value, scheme, meaning = case.unit
                keyword = "URNCodeValue" if value.lower().startswith(("urn:", "http://", "https://")) else "LongCodeValue" if len(value) > 16 else "CodeValue"
                # CodingSchemeDesignator is optional with a URN code value (PS3.3 8.8): absent when none was given.
                assert (unit.get(keyword), unit.get("CodingSchemeDesignator", ""), unit.CodeMeaning) == (value, scheme, meaning)
                frame = dataset.SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0]
                assert frame.FrameLaterality == (case.laterality.strip().upper() if case.laterality else "U")
                assert "Laterality" not in dataset
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(deadline=None, max_examples=fuzz_profiles.limit("text_examples"))
@given(case=text_cases())
# Found by the long run: a bare URN prefix was written (now refused), and a URN without a scheme is valid (PS3.3 8.8).
@example(case=TextCase(("urn:oid:", "", "no units"), None, None, None, "", "pm"))
@example(case=TextCase(("urn:oid:1.2.3", "", "no units"), None, None, None, "", "pm"))
def test_user_text_and_codes_are_refused_for_a_reason_or_written_validly(case, fuzz_root):
    run_text_case(case, fuzz_root)


# ---------------------------------------------------------------------------------------------------------------
# NIfTI headers: units, sform/qform codes, disagreement and shear; the DICOM lies where Slicer (ITK) reads the file.

UNIT_MM = {0: 1.0, 1: 1000.0, 2: 1.0, 3: 0.001}  # xyzt_units (spatial) -> mm per unit (NIfTI-1: unknown, m, mm, um)


@dataclass(frozen=True)
class HeaderCase:
    """One NIfTI header: codes, units, how the qform differs from the sform, and a shear of the sform."""

    sform_code: int
    qform_code: int
    units: int
    qform_shift: tuple  # mm in the file's units
    qform_turn_degrees: float  # rotation of the qform about z
    shear: float  # added to the sform's (x, j) element
    spacing: tuple


@st.composite
def header_cases(draw) -> HeaderCase:
    shift = draw(st.sampled_from([(0.0, 0.0, 0.0), (0.0, 0.0, 0.004)]) | st.tuples(*[st.floats(-20.0, 20.0)] * 3))
    return HeaderCase(
        sform_code=draw(st.integers(0, 4)),
        qform_code=draw(st.integers(0, 2)),
        units=draw(st.sampled_from(list(UNIT_MM))),
        qform_shift=shift,
        qform_turn_degrees=draw(st.sampled_from([0.0, 0.0, 5.0, -30.0])),
        shear=draw(st.sampled_from([0.0, 0.0, 0.0, 0.3])),
        spacing=draw(st.tuples(*[st.floats(0.5, 3.0)] * 3)),
    )


def write_header_case(case: HeaderCase, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Write the case; return (sform, qform) as written (in the file's units)."""
    import nibabel

    sform = np.diag([*case.spacing, 1.0])
    sform[:3, 3] = (-12.5, 30.25, 7.0)
    qform = sform.copy()
    turn = np.deg2rad(case.qform_turn_degrees)
    qform[:3, :3] = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]]) @ qform[:3, :3]
    qform[:3, 3] += case.qform_shift
    sform[0, 1] += case.shear
    image = nibabel.Nifti1Image(np.linspace(0.0, 1.0, 60, dtype=np.float32).reshape(3, 4, 5), sform)
    image.set_sform(sform, code=case.sform_code)
    image.set_qform(qform, code=case.qform_code)
    image.header.set_xyzt_units(xyz=case.units)
    nibabel.save(image, str(path))
    return image.header.get_sform(), image.header.get_qform()


def run_header_case(case: HeaderCase, root: Path) -> None:
    from FAExportLib.volume_files import read_volume_file

    work = Path(tempfile.mkdtemp(dir=root))
    try:
        source = work / "map.nii"
        sform, qform = write_header_case(case, source)
        try:
            slicer_volume = readers.read_slicer_volume_file(source)
        except AssertionError:  # ITK refuses it (a sheared transform it would use): so must FAExport
            slicer_volume = None
        try:
            volume = read_volume_file(source)
            result = export_volume(volume.array, volume.ijk_to_ras, work / "out", mode="mr", input_warnings=volume.warnings)
        except InputError as error:
            assert "not perpendicular" in str(error), error
            if slicer_volume is not None:
                axes = slicer_volume.affine[:3, :3] / np.linalg.norm(slicer_volume.affine[:3, :3], axis=0)
                assert abs(float(axes[:, 0] @ axes[:, 1])) > 1e-4, "refused a geometry Slicer reads as orthogonal"
            note_event(f"header refused: sheared ({'Slicer refuses it too' if slicer_volume is None else 'Slicer reads it sheared'})")
            return
        assert slicer_volume is not None, "exported a file Slicer cannot read"
        # Independent of FAExport: both transforms in mm at the corners, when both are coded.
        millimetres = UNIT_MM[case.units]
        corners = np.array([[i, j, k, 1.0] for i in (0, 2) for j in (0, 3) for k in (0, 4)])
        apart = float(np.max(np.linalg.norm((corners @ ((sform - qform) * millimetres).T)[:, :3], axis=1)))
        both = case.sform_code > 0 and case.qform_code > 0
        warned = [w for w in result.warnings if "place the map up to" in w]
        if both and apart > 0.011:
            assert len(warned) == 1, (apart, result.warnings)
        elif not both or apart < 0.009:
            assert warned == [], (apart, result.warnings)
        note_event(f"header exported: {'warned' if warned else 'quiet'}")
        read = readers.read_pydicom(result.series[0].files)
        comparison = readers.compare(slicer_volume.values, slicer_volume.affine, read)
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM * max(1.0, millimetres), comparison.max_position_error_mm
        assert comparison.max_value_error <= result.series[0].max_quantization_error + 1e-6
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(deadline=None, max_examples=fuzz_profiles.limit("header_examples"))
@given(case=header_cases())
# Found by the long run: a sheared scanner sform without a qform, which Slicer (ITK) cannot read either.
@example(case=HeaderCase(1, 0, 0, (0.0, 0.0, 0.0), 0.0, 0.3, (1.0, 1.0, 1.0)))
def test_nifti_headers_export_where_slicer_reads_them_with_a_warning_when_transforms_disagree(case, fuzz_root):
    run_header_case(case, fuzz_root)
