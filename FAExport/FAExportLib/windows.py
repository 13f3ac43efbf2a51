"""Window center and width for the integer encodings, written so that viewers that round them lose nothing.

Horos rounds a file's window center and width to integers (horosproject/horos#58), so FA's 0.5/1.0 shows
as 0/1. Plain integers state the window in stored units, where it is an integer: exact after any
rounding. With a rescale the window is in real-world units: where the map's window is wide (at least
``ROUNDABLE_WIDTH`` units) it is rounded to integers, which moves it by at most half a unit; a narrower one
(FA, diffusivities in mm2/s) cannot be an integer without losing the map, so it is written exactly and only
--plain-integers helps such viewers.

A window in real-valued units is written as DICOM's default VOI LUT function, LINEAR, reads it. LINEAR spans
[center - 0.5 - (width - 1)/2, center - 0.5 + (width - 1)/2] (PS3.3 C.11.2.1.2.1), so the map's window (center c,
width w: the values c - w/2 to c + w/2) is written as center c + 0.5 and width w + 1. Written as c/w, FA's 0.5/1.0
would be a threshold at 0 (cornerstone3D and OHIF draw every FA above 0 white: tested). LINEAR_EXACT, which spans
center +- width/2, is not used: cornerstone3D's file loader takes the first letter of VOILUTFunction for the function
and throws (dicom-image-loader imageLoader/createImage.js), and LINEAR needs no VOILUTFunction at all. Integer windows
(plain integers, wide windows) are written as they are, where the half unit is nothing.
"""

from .decimal_strings import format_ds
from .plain_integers import is_plain

LARGEST_INTEGER_TEXT = 1e15  # an integer DS has at most 16 characters
ROUNDABLE_WIDTH = 100.0  # rounding such a window to integers moves its edges by at most 0.5% of its width


def integer_window(window: tuple[float, float], rescale) -> tuple[str, str]:
    """(WindowCenter, WindowWidth) of an integer encoding's ``window`` (center, width in the map's units), for the
    default VOI LUT function LINEAR.
    """
    center, width = window
    plain = is_plain(rescale)
    if plain:  # the file's units are value x factor
        center, width = center * rescale.factor, width * rescale.factor
    if (plain or width >= ROUNDABLE_WIDTH) and max(abs(center), width) < LARGEST_INTEGER_TEXT:
        return str(round(center)), str(max(1, round(width)))
    return real_valued_window((center, width))


def real_valued_window(window: tuple[float, float]) -> tuple[str, str]:
    """(WindowCenter, WindowWidth) of a window in real-valued units (the map's own, or a float image's),
    written so that LINEAR spans exactly the values center - width/2 to center + width/2.
    """
    center, width = window
    return format_ds(center + 0.5), format_ds(width + 1.0)

