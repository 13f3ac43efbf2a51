"""Warnings about values that export correctly but may not be what the user meant.

They never stop an export: maps legitimately overshoot (noisy FA above 1), and the user decides. Each warning
names how many voxels, their range and one place.
"""

import numpy as np

from .codes import Quantity
from .scaling import ValueRange

# What the known quantities can mean, by code (value, scheme): (lowest, highest); None is unbounded.
MEANINGFUL_RANGES = {
    ("110808", "DCM"): (0.0, 1.0),  # Fractional Anisotropy
    ("113202", "DCM"): (0.0, None),  # Mean Diffusivity
    ("113204", "DCM"): (0.0, None),  # Axial Diffusivity
    ("113203", "DCM"): (0.0, None),  # Radial Diffusivity
    ("113041", "DCM"): (0.0, None),  # Apparent Diffusion Coefficient
}
# float32 holds every integer up to 2**24 exactly, and only some beyond.
FLOAT32_EXACT_INTEGERS = 2**24


def _first_ijk(mask: np.ndarray) -> tuple[int, int, int]:
    k, j, i = (int(v) for v in np.argwhere(mask)[0])
    return i, j, k


def meaning_warning(array: np.ndarray, value_range: ValueRange, quantity: Quantity) -> str | None:
    """A warning when values lie outside what the quantity means (FA outside 0..1, a negative diffusivity)."""
    if quantity.code is None:
        return None
    low, high = MEANINGFUL_RANGES.get((quantity.code.value, quantity.code.scheme), (None, None))
    below = low is not None and value_range.minimum < low
    above = high is not None and value_range.maximum > high
    if not (below or above):
        return None
    outside = np.zeros(array.shape, dtype=bool)
    if below:
        outside |= array < low
    if above:
        outside |= array > high
    count = int(np.count_nonzero(outside))
    i, j, k = _first_ijk(outside)
    meaning = f"{low:g} to {high:g}" if high is not None else f"at least {low:g}"
    return (
        f"{count} voxel{'s' if count > 1 else ''} of the {quantity.name} map {'lie' if count > 1 else 'lies'} outside {meaning}, what {quantity.name} means "
        f"(values {value_range.minimum:.6g} to {value_range.maximum:.6g}; first at IJK {i},{j},{k}); exported as they are: check the map"
    )


def float32_integer_warning(array: np.ndarray, value_range: ValueRange) -> str | None:
    """A warning when an integer map holds integers that float32 (a Parametric Map) cannot store exactly."""
    if not value_range.integral or value_range.max_abs <= FLOAT32_EXACT_INTEGERS:
        return None
    changed = np.zeros(array.shape, dtype=bool)
    worst = 0.0
    for k in range(array.shape[0]):
        values = array[k].astype(np.float64)
        difference = np.abs(values.astype(np.float32).astype(np.float64) - values)
        changed[k] = difference > 0
        worst = max(worst, float(difference.max()))
    count = int(np.count_nonzero(changed))
    if count == 0:
        return None
    i, j, k = _first_ijk(changed)
    return (
        f"{count} voxel{'s hold integers' if count > 1 else ' holds an integer'} beyond 2^24 = {FLOAT32_EXACT_INTEGERS} that float32 cannot store "
        f"exactly (first at IJK {i},{j},{k}): the Parametric Map stores them rounded to the nearest float32, up to {worst:.6g} off"
    )
