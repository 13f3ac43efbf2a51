"""DICOM Decimal String (DS) values written at full precision within 16 characters.

pydicom accepts and writes DS values longer than 16 characters without complaint, which validators
reject; every DS this package writes goes through ``format_ds``.
"""

import math

from pydicom.valuerep import format_number_as_ds

DS_MAX_LENGTH = 16


def format_ds(value: float) -> str:
    """Return ``value`` as the most precise DS string of at most 16 characters."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot encode {value} as a DICOM decimal string")
    if value == 0.0:
        return "0"  # also folds -0.0, which some readers print oddly
    text = format_number_as_ds(value)
    # pydicom's formatter gives 17 characters when rounding carries into a new digit ('10.00000000000000'
    # for 9.999999999999998): then take the most significant digits that fit.
    digits = 15
    while len(text) > DS_MAX_LENGTH:
        text = f"{value:.{digits}g}"
        digits -= 1
    return text


def format_ds_list(values) -> list[str]:
    """Return every value of ``values`` as a DS string (for multi-valued DS attributes)."""
    return [format_ds(v) for v in values]
