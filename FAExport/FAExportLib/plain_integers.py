"""Plain integers (``--plain-integers``, ``mr`` and ``sc``): stored value = round(value x factor), RescaleSlope 1.

Several viewers mishandle a fractional RescaleSlope (cornerstone3D renders an FA map with slope 0.001 all
black) or round the window to integers (Horos): with plain integers the file's values are the map's values x
factor, in a range where every viewer shows them and every window is an integer. The price: a reader gets the
values multiplied by the factor, which the series description ("FA x1000"), the derivation description and
the JSON state. The ``auto`` factor keeps the error within 1.25 x the finest int16 rescale's, as ``auto`` does.
"""

import math
from dataclasses import dataclass

import numpy as np

from .decimal_strings import format_ds
from .errors import Field, ScaleError
from .scaling import INT16, INT16_MAX, Storage, ValueRange, check_rescalable, parse_scale


@dataclass(frozen=True)
class PlainIntegers:
    """Stored integer = round(value x factor); the file says RescaleSlope 1, RescaleIntercept 0."""

    scale_label: str  # the factor as written in the descriptions, e.g. "1000"
    storage: Storage = INT16
    slope_text: str = "1"
    intercept_text: str = "0"

    @property
    def factor(self) -> float:
        """The factor exactly as stated (the label parsed back)."""
        return float(self.scale_label)

    @property
    def slope(self) -> float:
        return 1.0

    @property
    def intercept(self) -> float:
        return 0.0

    @property
    def read_back_scale(self) -> float:
        """A reader decodes value x factor."""
        return self.factor

    @property
    def step(self) -> float:
        """One stored integer, in the map's units."""
        return 1.0 / self.factor

    def values(self, stored: np.ndarray) -> np.ndarray:
        """The map's values that stored integers stand for (float64): stored / factor."""
        return stored.astype(np.float64) / self.factor

    @property
    def max_quantization_error(self) -> float:
        """Worst-case |decoded / factor - value|: half a step of 1/factor."""
        return 0.5 / self.factor

    @property
    def storable_range(self) -> tuple[float, float]:
        return self.storage.minimum / self.factor, self.storage.maximum / self.factor

    def stored_value(self, value: float) -> float:
        return float(np.rint(np.float64(value) * self.factor))

    def fits(self, value_range: ValueRange) -> bool:
        return self.storage.minimum <= self.stored_value(value_range.minimum) and self.stored_value(value_range.maximum) <= self.storage.maximum

    def quantize(self, values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        scaled = np.rint(np.multiply(values, self.factor, dtype=np.float64))
        if out is None:
            return scaled.astype(self.storage.dtype)
        np.copyto(out, scaled, casting="unsafe")
        return out


def is_plain(rescale) -> bool:
    """True for plain integers (also at factor 1), False for a rescale or None."""
    return isinstance(rescale, PlainIntegers)


def factor_label(factor: float) -> str:
    """The factor as people write it: ``1000``, not ``1000.0``; at most 16 characters (it is parsed back)."""
    if factor == math.floor(factor) and factor < 1e15:
        return str(int(factor))
    return format_ds(factor)


def _two_digit_floor(value: float) -> float:
    """The largest number of two significant digits (10..99 x 10^n) not above ``value``."""
    exponent = math.floor(math.log10(value)) - 1
    return float(format_ds(math.floor(value / 10.0**exponent) * 10.0**exponent))


def auto_factor(value_range: ValueRange) -> PlainIntegers:
    """The largest two-significant-digit factor that keeps max|value| x factor within int16."""
    if value_range.max_abs == 0.0:
        return PlainIntegers("1")
    factor = _two_digit_floor(INT16_MAX / value_range.max_abs)
    while True:  # float rounding of the quotient or of value x factor may overshoot: step down until it fits
        plain = PlainIntegers(factor_label(factor))
        if plain.fits(value_range):
            return plain
        factor = _two_digit_floor(np.nextafter(factor, 0.0))


def choose_plain_integers(scale: str | float, value_range: ValueRange, storage: Storage = INT16) -> PlainIntegers:
    """Plain integers for a user's ``scale`` choice (auto: see ``auto_factor``); ScaleError if values would be clipped."""
    choice = parse_scale(scale)
    check_rescalable(value_range, auto=choice == "auto")
    if storage.minimum == 0 and value_range.minimum < 0:
        low, ijk = value_range.minimum, value_range.minimum_ijk
        raise ScaleError(
            "plain integers have no intercept and this encoding stores unsigned words, but the map has negative values "
            f"(smallest {low:.7g} at IJK {ijk[0]},{ijk[1]},{ijk[2]})",
            remedy=("use mode mr for ", Field("plain_integers"), ", or leave ", Field("plain_integers"), " out"),
            value=low,
        )
    plain = auto_factor(value_range) if choice == "auto" else PlainIntegers(factor_label(choice))
    plain = PlainIntegers(plain.scale_label, storage)
    if choice == "auto" or plain.fits(value_range):
        return plain
    low, high = plain.storable_range
    largest = float(auto_factor(value_range).scale_label)
    raise ScaleError(
        f"the values {value_range.minimum:.7g} to {value_range.maximum:.7g} do not fit ",
        Field("plain_integers"),
        f" with scale {plain.scale_label}: {storage.name} stores {low:.7g} to {high:.7g} at that factor",
        remedy=f"use auto or a scale up to {largest:.6g}",
        field="scale",
        value=plain.scale_label,
    )
