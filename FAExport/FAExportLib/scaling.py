"""Integer encoding of float values: one RescaleSlope/RescaleIntercept for a whole series.

The slope is chosen, written as a DS string, and parsed back; quantizing with the parsed value makes
the stored integers exact for whatever value a reader reads from the file.
"""

import math
from dataclasses import dataclass

import numpy as np

from .decimal_strings import format_ds
from .errors import CoarseScaleError, Field, InputError, ScaleError

INT16_MIN = -32768
INT16_MAX = 32767


@dataclass(frozen=True)
class Storage:
    """The integers pixels are stored as."""

    name: str
    minimum: int
    maximum: int
    dtype: str
    pixel_representation: int


INT16 = Storage("int16", INT16_MIN, INT16_MAX, "<i2", 1)
UINT16 = Storage("uint16", 0, 65535, "<u2", 0)

# Named scales the user can choose; any positive number is accepted as a custom scale.
NAMED_SCALES = {"1000": 1000.0, "32000": 32000.0}


@dataclass(frozen=True)
class ValueRange:
    """Smallest and largest voxel value, with where they are (IJK indices)."""

    minimum: float
    maximum: float
    minimum_ijk: tuple[int, int, int]
    maximum_ijk: tuple[int, int, int]
    integral: bool = False  # every value is an integer (an integer map: labels, counts)

    @classmethod
    def of(cls, array: np.ndarray) -> "ValueRange":
        """Measure ``array[k, j, i]`` (finite values only)."""
        flat_min, flat_max = int(np.argmin(array)), int(np.argmax(array))
        k0, j0, i0 = np.unravel_index(flat_min, array.shape)
        k1, j1, i1 = np.unravel_index(flat_max, array.shape)
        return cls(
            float(array.flat[flat_min]),
            float(array.flat[flat_max]),
            (int(i0), int(j0), int(k0)),
            (int(i1), int(j1), int(k1)),
            all_integral(array),
        )

    @property
    def span(self) -> float:
        """What a quantization step is measured against: the value range, or the magnitude of a constant map."""
        return self.maximum - self.minimum if self.maximum > self.minimum else self.max_abs

    @property
    def max_abs(self) -> float:
        """Largest magnitude."""
        return max(abs(self.minimum), abs(self.maximum))


def all_integral(array: np.ndarray) -> bool:
    """True if every value of ``array[k, j, i]`` is an integer; slice by slice, so a fractional map stops at once."""
    if np.issubdtype(array.dtype, np.integer):
        return True
    return all(bool(np.all(np.rint(array[k]) == array[k])) for k in range(array.shape[0]))


@dataclass(frozen=True)
class Rescale:
    """A series-wide linear map from stored integers to values: value = stored x slope + intercept."""

    scale_label: str
    slope_text: str
    intercept_text: str = "0"
    storage: Storage = INT16
    exact: bool = False  # integer values with slope 1 and an integer intercept: stored without any error

    @property
    def slope(self) -> float:
        """The slope exactly as a reader parses it from the file."""
        return float(self.slope_text)

    @property
    def intercept(self) -> float:
        """The intercept exactly as a reader parses it from the file."""
        return float(self.intercept_text)

    @property
    def max_quantization_error(self) -> float:
        """Worst-case |decoded - input|: half a step, or 0 for integer values stored with slope 1."""
        return 0.0 if self.exact else self.slope / 2.0

    @property
    def read_back_scale(self) -> float:
        """What a reader's decoded values are, in units of the map's values: 1 (the rescale restores them)."""
        return 1.0

    @property
    def step(self) -> float:
        """One stored integer, in the map's units."""
        return self.slope

    def values(self, stored: np.ndarray) -> np.ndarray:
        """The map's values that stored integers stand for (float64)."""
        return stored.astype(np.float64) * self.slope + self.intercept

    @property
    def storable_range(self) -> tuple[float, float]:
        """Smallest and largest value this rescale can store."""
        return self.storage.minimum * self.slope + self.intercept, self.storage.maximum * self.slope + self.intercept

    def stored_value(self, value: float) -> float:
        """The (unclipped) stored integer for ``value``."""
        return float(np.rint((value - self.intercept) / self.slope))

    def fits(self, value_range: ValueRange) -> bool:
        """True if every value of ``value_range`` is stored without clipping."""
        return self.stored_value(value_range.maximum) <= self.storage.maximum and self.stored_value(value_range.minimum) >= self.storage.minimum

    def quantize(self, values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return the stored integers for ``values`` (which must fit; see ``choose_rescale``)."""
        scaled = np.subtract(values, self.intercept, dtype=np.float64) if self.intercept else np.asarray(values, dtype=np.float64)
        scaled = np.rint(scaled / self.slope)
        if out is None:
            return scaled.astype(self.storage.dtype)
        np.copyto(out, scaled, casting="unsafe")
        return out


def parse_scale(text: str | float) -> str | float:
    """Return ``"auto"`` or a positive finite scale factor from a user's choice."""
    if isinstance(text, str):
        name = text.strip().lower()
        if name == "auto":
            return "auto"
        if name in NAMED_SCALES:
            return NAMED_SCALES[name]
        try:
            factor = float(name)
        except ValueError:
            raise InputError(f"scale {text!r} is not 1000, 32000, auto or a positive number") from None
    else:
        factor = float(text)
    if not (np.isfinite(factor) and factor > 0):
        raise InputError(f"scale {text!r} must be a positive finite number (the stored integer is value x scale)")
    return factor


def _scale_label(factor: float) -> str:
    return f"{factor:g}"


def _round_down(value: float, digits: int = 6) -> float:
    """``value`` rounded towards zero to ``digits`` significant digits, so that a quoted limit is safe."""
    exponent = math.floor(math.log10(value)) - digits + 1
    return math.floor(value / 10.0**exponent) * 10.0**exponent


def _intercept_text(slope: float, value_range: ValueRange, storage: Storage) -> str:
    """Unsigned storage of negative values: shift so that stored 32768 means 0, the int16 range."""
    if storage.minimum == 0 and value_range.minimum < 0:
        return format_ds(INT16_MIN * float(format_ds(slope)))
    return "0"


def _exact_if_integral(rescale: Rescale, value_range: ValueRange) -> Rescale:
    """Mark a slope-1 rescale of an integer map as exact (its bound is 0)."""
    if value_range.integral and rescale.slope == 1.0 and rescale.intercept.is_integer():
        return Rescale(rescale.scale_label, rescale.slope_text, rescale.intercept_text, rescale.storage, exact=True)
    return rescale


def auto_rescale(value_range: ValueRange, storage: Storage = INT16) -> Rescale:
    """Slope 1 for an integer map that fits with it (exact), else the finest slope that fits the values into ``storage``."""
    if value_range.integral:
        unit = _exact_if_integral(Rescale("auto", "1", _intercept_text(1.0, value_range, storage), storage), value_range)
        if unit.fits(value_range):
            return unit
    return _finest_rescale(value_range, storage)


def _finest_rescale(value_range: ValueRange, storage: Storage) -> Rescale:
    if storage.minimum == 0 and value_range.minimum >= 0:
        needed = value_range.maximum / storage.maximum
    else:  # signed, or unsigned shifted to the int16 range
        needed = max(value_range.maximum / INT16_MAX, -value_range.minimum / -INT16_MIN, 0.0)
    if needed == 0.0:
        return Rescale("auto", "1", "0", storage)  # all zero: every slope is exact
    slope = needed
    while True:  # DS rounding may land just below what is needed: step up until it fits
        rescale = Rescale("auto", format_ds(slope), _intercept_text(slope, value_range, storage), storage)
        if rescale.fits(value_range):
            return rescale
        slope = np.nextafter(max(slope, rescale.slope) * (1 + 1e-12), np.inf)


# Beyond these no 16-bit rescale can be written: slope x 65535 or the intercept would overflow float64, or an
# automatic slope would fall below float64's normal numbers and lose its precision.
LARGEST_RESCALABLE = float(np.finfo(np.float64).max) / 4
SMALLEST_AUTO_RESCALABLE = INT16_MAX * float(np.finfo(np.float64).tiny)


def check_rescalable(value_range: ValueRange, auto: bool) -> None:
    """Refuse magnitudes that no 16-bit rescale (or no automatic one) can represent."""
    if value_range.max_abs > LARGEST_RESCALABLE:
        raise ScaleError(
            f"values as large as {value_range.max_abs:.6g} cannot be stored as 16-bit integers with a rescale (the slope "
            "would overflow); change the map's units first",
        )
    if auto and 0.0 < value_range.max_abs < SMALLEST_AUTO_RESCALABLE:
        raise ScaleError(
            f"the largest |value| is {value_range.max_abs:.6g}: auto would need a slope below float64's normal range; "
            "multiply the map by a power of ten first, or give a scale",
        )


def choose_rescale(scale: str | float, value_range: ValueRange, storage: Storage = INT16) -> Rescale:
    """Return the rescale for a user's ``scale`` choice, or raise ScaleError if values would be clipped."""
    choice = parse_scale(scale)
    check_rescalable(value_range, auto=choice == "auto")
    if choice == "auto":
        return auto_rescale(value_range, storage)
    slope_text = format_ds(1.0 / choice)
    rescale = Rescale(_scale_label(choice), slope_text, _intercept_text(float(slope_text), value_range, storage), storage)
    if rescale.fits(value_range):
        return _exact_if_integral(rescale, value_range)
    low, high = rescale.storable_range
    if rescale.stored_value(value_range.maximum) > storage.maximum:
        which, value, ijk = "largest", value_range.maximum, value_range.maximum_ijk
    else:
        which, value, ijk = "smallest", value_range.minimum, value_range.minimum_ijk
    largest_scale = _largest_fitting_scale(value_range, storage)
    named = [name for name, factor in NAMED_SCALES.items() if factor <= largest_scale]
    fits_text = ", ".join([*named, "auto", f"any scale up to {largest_scale:.6g}"])
    raise ScaleError(
        f"the {which} value {value:.7g} (at IJK {ijk[0]},{ijk[1]},{ijk[2]}) does not fit scale {rescale.scale_label}: "
        f"{storage.name} stores {low:.7g} to {high:.7g} at that scale; scales that fit: {fits_text}",
    )


def _largest_fitting_scale(value_range: ValueRange, storage: Storage) -> float:
    """The largest scale that stores every value without clipping (rounded down), 0 if none."""
    return _round_down(1.0 / _finest_rescale(value_range, storage).slope) if value_range.max_abs >= SMALLEST_AUTO_RESCALABLE else 0.0


# A scale is coarse when it changes values by more than half a step of MIN_LEVELS steps across their span: it
# then no longer resolves the map (an FA map at scale 1 keeps only 0 and 1).
MIN_LEVELS = 100


def quantization_error(rescale: Rescale, array: np.ndarray) -> float:
    """Largest |decoded - value| the rescale gives on ``array[k, j, i]``, slice by slice."""
    worst = 0.0
    for k in range(array.shape[0]):
        values = array[k].astype(np.float64)
        decoded = rescale.values(rescale.quantize(values))
        worst = max(worst, float(np.max(np.abs(decoded - values))))
    return worst


def coarse_scale_warning(rescale: Rescale, value_range: ValueRange, array: np.ndarray, allow: bool) -> str | None:
    """Refuse (CoarseScaleError) a rescale that changes values by more than span / (2 x MIN_LEVELS).

    With ``allow`` the export goes ahead and the returned text says what it costs; None when the scale is fine.
    """
    span = value_range.span
    limit = span / (2 * MIN_LEVELS)
    if span == 0.0 or rescale.max_quantization_error <= limit:
        return None  # cheap: no pass over the voxels for any scale that is fine by its bound
    error = quantization_error(rescale, array)
    if error <= limit or error <= 8 * np.finfo(np.float64).eps * value_range.max_abs:
        return None  # e.g. an integer map at scale 1: coarse steps, exact values
    levels = span / rescale.step
    what = f"values {value_range.minimum:.6g} to {value_range.maximum:.6g}" if value_range.maximum > value_range.minimum else f"the constant value {value_range.maximum:.6g}"
    problem = (
        f"scale {rescale.scale_label} is too coarse for {what}: its step {rescale.step:.6g} leaves {levels:.3g} steps across them and "
        f"changes values by up to {error:.3g}, more than FAExport allows ({100 / (2 * MIN_LEVELS):g}% of their "
        f"{'range' if value_range.maximum > value_range.minimum else 'magnitude'}, {limit:.3g})"
    )
    if allow:
        return f"{problem}; exported anyway, as asked (coarse scales allowed)"
    smallest = MIN_LEVELS / span
    largest = _largest_fitting_scale(value_range, rescale.storage)
    if smallest <= largest:
        named = [name for name, factor in NAMED_SCALES.items() if smallest <= factor <= largest]
        fine = ", ".join([*named, "auto", f"any scale from {smallest:.6g} to {largest:.6g}"])
    else:
        fine = "none in 16 bits (export as pm, float32, or subtract the offset from the map first)"
    raise CoarseScaleError(
        problem,
        remedy=(f"scales that keep the values: {fine}; to export anyway, allow coarse scales (", Field("allow_coarse_scale"), ")"),
        field="scale",
        value=rescale.scale_label,
    )
