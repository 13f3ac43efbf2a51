r"""The navigation profile (``profile="navigation"``): classic MR that navigation systems and web viewers take as it is.

What it writes answers what those readers are documented to need (the sources are in Docs/conformance.md, reader traps):

- single-frame MR Image Storage with ImageType DERIVED\\SECONDARY, one file per slice (Karawun, the open-source bridge
  into Brainlab, writes this, and Brainlab imports it);
- stored integers that are the map's values times a factor fixed by the quantity's unit (``FACTORS``; the factor is
  the JSON's ``value_scale`` and is in the series description, "FA x10000"), RescaleSlope 1 and intercept 0: no
  reader has to apply a fractional slope (cornerstone3D #2706 and #1925 render slope < 1 black; Weasis #614 ignores
  very small slopes), and a map in 0..1 becomes 0..10000, as Karawun's FAQ asks ("multiply by 10000");
- one integer window for the whole series (Horos #58 rounds windows; MRtrix #2238: brightness that changed from slice
  to slice);
- a Real World Value Mapping in every file: stored x 1/factor, with the unit's code, so readers that honour it get
  the map's values back;
- SmallestPixelValueInSeries and LargestPixelValueInSeries in the pixels' own VR, SS (Karawun #34: US -107 crashed);
- square in-plane pixels: "Brainlab doesn't cope with dicoms with anisotropic voxels within slice" (karawun.py): a
  map with others is refused, before anything is written.
"""

import math

from .codes import Quantity
from .errors import Field, InputError, ScaleError
from .geometry import SliceGeometry
from .plain_integers import PlainIntegers, factor_label
from .quantities import unit_suggestion
from .scaling import INT16, MIN_LEVELS, ValueRange, check_rescalable, parse_scale

PROFILES = ("navigation",)
NAVIGATION = "navigation"
# Stored integer = round(value x factor), by the quantity's unit (UCUM): fractions (FA, MK, volume fractions) x10000
# (Karawun's FAQ; 0..1 becomes 0..10000), diffusivities in 10^-6 mm2/s (the unit of scanners' ADC maps), times in ms.
FACTORS = {"1": 10000.0, "%": 100.0, "mm2/s": 1e6, "um2/ms": 1000.0, "um2/s": 1.0, "ms": 1.0, "s": 1000.0}
# In-plane spacings that differ by less than this (mm) are square: over 512 pixels they drift by under 0.05 mm.
SQUARE_TOLERANCE_MM = 1e-4


def check_profile(profile: str | None, encodings: tuple[str, ...], mode: str) -> None:
    """Refuse an unknown profile, or a mode the navigation profile does not write (it writes mr)."""
    if profile is None:
        return
    if profile not in PROFILES:
        raise InputError(Field("profile"), f" {profile!r} is not one of {', '.join(PROFILES)}", value=profile)
    if encodings != ("mr",):
        raise InputError(
            Field("profile", NAVIGATION), f" writes classic MR images (one file per slice), and mode {mode} writes other series",
            remedy=("leave ", Field("mode"), " out, or give mr"), value=mode,
        )


def check_map(quantity: Quantity, geometry: SliceGeometry | None) -> None:
    """Refuse what navigation systems cannot take: non-square in-plane pixels (when the ``geometry`` is known), or values
    whose unit is unknown.
    """
    if geometry is not None and abs(geometry.row_spacing - geometry.column_spacing) > SQUARE_TOLERANCE_MM:
        raise InputError(
            Field("profile", NAVIGATION),
            f" needs square in-plane pixels (Brainlab does not take others), and these slices' pixels are {geometry.column_spacing:.6g} mm wide "
            f"and {geometry.row_spacing:.6g} mm high",
            remedy=(f"resample the map to square in-plane pixels (e.g. {min(geometry.row_spacing, geometry.column_spacing):.6g} mm) first, or export it without ", Field("profile")),
        )
    if quantity.unit is None:
        raise InputError(
            Field("profile", NAVIGATION), f" maps the stored values back to {quantity.name} in its unit in every file, and {quantity.name} has none: give ",
            *unit_suggestion(quantity),
            field="unit",
        )


def stored_integers(quantity: Quantity, value_range: ValueRange, scale: str | float) -> tuple[PlainIntegers, str | None]:
    """The plain integers of a navigation series, and a warning when the unit's factor could not be used.

    ``scale`` ``auto`` takes the unit's factor (``FACTORS``; for other units the largest power of ten that keeps the
    values within int16); a number is the factor, refused (ScaleError) if values would not fit. When the values do not
    fit at the unit's factor (FA above 3.2767), or it leaves them fewer than the coarse-scale rule's levels (a map of
    tiny values), the largest power of ten that fits is used and the warning says so: the factor is no longer the one
    readers of this unit expect.
    """
    choice = parse_scale(scale)
    check_rescalable(value_range, auto=choice == "auto")
    if choice != "auto":
        return _given_factor(choice, value_range), None
    usual = FACTORS.get(quantity.unit.value) if quantity.unit is not None else None
    if usual is not None:
        plain = PlainIntegers(factor_label(usual))
        if plain.fits(value_range) and value_range.span * plain.factor >= MIN_LEVELS:
            return plain, None
    plain = _largest_power_of_ten(value_range)
    if usual is None or plain.factor == usual:
        return plain, None
    why = "do not fit int16" if plain.factor < usual else "keep too few levels"
    return plain, (
        f"{quantity.name} values from {value_range.minimum:.6g} to {value_range.maximum:.6g} {why} at the navigation factor "
        f"{factor_label(usual)} of unit {quantity.unit.value}; stored at x{plain.scale_label} instead: readers get {quantity.name} x {plain.scale_label}"
    )


def _given_factor(factor: float, value_range: ValueRange) -> PlainIntegers:
    """Plain integers at the factor the user gave; ScaleError naming the profile when the values would not fit."""
    plain = PlainIntegers(factor_label(factor))
    if plain.fits(value_range):
        return plain
    low, high = plain.storable_range
    raise ScaleError(
        f"the values {value_range.minimum:.7g} to {value_range.maximum:.7g} do not fit int16 at scale {plain.scale_label} of ",
        Field("profile", NAVIGATION),
        f": int16 stores {low:.7g} to {high:.7g} at that factor",
        remedy=f"use auto or a scale up to {_largest_power_of_ten(value_range).scale_label}",
        field="scale",
        value=plain.scale_label,
    )


def _largest_power_of_ten(value_range: ValueRange) -> PlainIntegers:
    """Plain integers at the largest factor 10^n that keeps every value within int16."""
    if value_range.max_abs == 0.0:
        return PlainIntegers("1")
    exponent = math.floor(math.log10(INT16.maximum / value_range.max_abs))
    while True:  # rounding of value x factor may overshoot: step down until it fits
        plain = PlainIntegers(factor_label(10.0**exponent))
        if plain.fits(value_range):
            return plain
        exponent -= 1
