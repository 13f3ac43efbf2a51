"""Window center and width for the integer encodings, written so that viewers that round them lose nothing.

Horos rounds a file's window center and width to integers (horosproject/horos#58), so FA's 0.5/1.0 shows
as 0/1. Plain integers state the window in stored units, where it is an integer: exact after any
rounding. With a rescale the window is in real-world units: where the map's window is wide (at least
``ROUNDABLE_WIDTH`` units) it is rounded to integers, which moves it by at most half a unit; a narrower one
(FA, diffusivities in mm2/s) cannot be an integer without losing the map, so it is written exactly and only
--plain-integers helps such viewers.
"""

from .decimal_strings import format_ds
from .plain_integers import is_plain

LARGEST_INTEGER_TEXT = 1e15  # an integer DS has at most 16 characters
ROUNDABLE_WIDTH = 100.0  # rounding such a window to integers moves its edges by at most 0.5% of its width


def integer_window(window: tuple[float, float], rescale) -> tuple[str, str, str | None]:
    """(WindowCenter, WindowWidth, VOILUTFunction or None for LINEAR) of an integer encoding's ``window``
    (center, width in the map's units).
    """
    center, width = window
    plain = is_plain(rescale)
    if plain:  # the file's units are value x factor
        center, width = center * rescale.factor, width * rescale.factor
    if (plain or width >= ROUNDABLE_WIDTH) and max(abs(center), width) < LARGEST_INTEGER_TEXT:
        return str(round(center)), str(max(1, round(width))), None
    return format_ds(center), format_ds(width), "LINEAR_EXACT" if width < 1 else None

