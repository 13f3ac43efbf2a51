"""Known reader traps: what documented readers get wrong with quantitative maps, and whether an export meets them.

Each trap is one reader's documented behaviour (its issue tracker or source, ``Trap.source``). ``assess`` tells, for one
series about to be written, which of the traps of its encoding apply and what the chosen options do about them; the
export's result (the command line's JSON), the panel's preview and the Export-to-DICOM dialog's tooltip show it before
or as the files are written. Docs/conformance.md has the table of traps and sources (a test keeps it equal to ``TRAPS``).
"""

from dataclasses import dataclass

import numpy as np

from .plain_integers import is_plain
from .windows import integer_window


@dataclass(frozen=True)
class Trap:
    """A reader's documented behaviour that loses or hides a map's values."""

    key: str
    reader: str
    behaviour: str
    source: str  # where it is documented
    way_round: str  # what FAExport offers against it


@dataclass(frozen=True)
class Assessment:
    """One trap for one series: whether it applies, and what the export's options do about it."""

    trap: Trap
    applies: bool
    note: str

    def to_json(self) -> dict:
        return {"trap": self.trap.key, "reader": self.trap.reader, "applies": self.applies, "note": self.note, "source": self.trap.source}

    def line(self) -> str:
        """One line for a person: the reader and what happens, or why it does not."""
        return f"{self.trap.reader}: {self.note}"


FRACTIONAL_SLOPE = Trap(
    "fractional-slope",
    "cornerstone3D (OHIF)",
    "holds a slice whose smallest and largest values after RescaleSlope are whole numbers (FA 0..1 at slope 0.001) in an "
    "8-bit array of its stored integers: the map renders black",
    "https://github.com/cornerstonejs/cornerstone3D/issues/2706 and /issues/1925",
    "plain integers or the navigation profile: RescaleSlope 1",
)
SMALL_SLOPE = Trap(
    "small-slope",
    "Weasis",
    "skips the modality LUT when the slope is very small and shows the stored integers (how small is not documented)",
    "https://github.com/nroduit/Weasis/issues/614",
    "plain integers or the navigation profile: RescaleSlope 1",
)
WINDOW_ROUNDING = Trap(
    "window-rounding",
    "Horos",
    "rounds window center and width to integers (an MD window of 0.5015/1.003 becomes 1/1)",
    "https://github.com/horosproject/horos/issues/58",
    "plain integers or the navigation profile: the window in integers; wide windows are rounded anyway",
)
WINDOW_UNITS = Trap(
    "window-units",
    "vtk-dicom and others",
    "disagree whether an MR window applies to stored or rescaled values (the classic MR IOD has no modality LUT)",
    "https://github.com/dgobbi/vtk-dicom/issues/200",
    "plain integers or the navigation profile: stored and rescaled values are the same",
)
VALUE_MAPPING_IGNORED = Trap(
    "value-mapping-ignored",
    "dcm2niix, SimpleITK/GDCM",
    "apply RescaleSlope but not the Real World Value Mapping (dcm2niix only for Philips files)",
    "https://github.com/rordenlab/dcm2niix/issues/493",
    "the factor is in the series description and the result's value_scale; a rescale or the Parametric Map keep the values",
)
FLOAT_FRAMES_TRUNCATED = Trap(
    "float-frames-truncated",
    "cornerstone3D stack viewport",
    "holds a float frame whose smallest and largest values are whole numbers (FA 0..1) in an integer array: the values between are lost",
    "https://github.com/cornerstonejs/cornerstone3D/issues/2706",
    "OHIF's Parametric Map overlay is not affected; readers that load the frame as a stack show it as 0 and 1 only",
)
PM_OVERLAY_ONLY = Trap(
    "pm-overlay-only",
    "OHIF 3.9+",
    "shows a Parametric Map only as an overlay on its referenced series, on that series' grid; a standalone one does not display",
    "https://github.com/OHIF/Viewers/pull/4284",
    "the series the map was computed from, on the map's grid: each frame references its source image (overlay_ready)",
)
PM_REFUSED = Trap(
    "pm-refused",
    "archives (PACS)",
    "may refuse SOP classes they do not expect, such as the Parametric Map (Horos lists no Parametric Map class)",
    "https://discourse.slicer.org/t/33294",
    "mr+pm writes an MR series beside it; a send can fall back to sc or mr",
)
TRAPS = (FRACTIONAL_SLOPE, FLOAT_FRAMES_TRUNCATED, SMALL_SLOPE, WINDOW_ROUNDING, WINDOW_UNITS, VALUE_MAPPING_IGNORED, PM_OVERLAY_ONLY, PM_REFUSED)


def assess(encoding: str, rescale, window: tuple[str, str] | None, overlay_problem: str | None = None, whole_frames: int = 0) -> list[Assessment]:
    """The traps of ``encoding`` (``mr``, ``sc``, ``pm``) for a series with ``rescale`` (Rescale, PlainIntegers or None)
    and ``window`` (WindowCenter, WindowWidth as written, or None when unknown yet).

    ``overlay_problem``: why a Parametric Map cannot be overlaid on its source series (None when it can);
    ``whole_frames``: how many slices cornerstone3D would hold in an integer array and lose (``whole_extreme_frames``).
    """
    if encoding == "pm":
        truncated = Assessment(
            FLOAT_FRAMES_TRUNCATED, whole_frames > 0,
            f"{whole_frames} frames span whole numbers (such as 0..1): {FLOAT_FRAMES_TRUNCATED.way_round}" if whole_frames else "no frame's extremes are whole numbers with values between them",
        )  # fmt: skip
        return [truncated, _overlay(overlay_problem), _refused()]
    plain = is_plain(rescale)
    slope = 1.0 if plain else rescale.slope
    items = [
        Assessment(FRACTIONAL_SLOPE, whole_frames > 0, _fractional_slope_note(slope, plain, whole_frames)),
        Assessment(SMALL_SLOPE, slope < 1.0, _small_slope_note(slope, plain)),
    ]
    if window is not None:
        integral = all(_is_integer(text) for text in window)
        note = f"the window {window[0]}/{window[1]} is written in integers: rounding keeps it" if integral else (
            f"the window {window[0]}/{window[1]} is rounded by these readers; plain integers (or the navigation profile) make it integers"
        )
        items.append(Assessment(WINDOW_ROUNDING, not integral, note))
    if encoding == "mr":
        changes = not plain and (rescale.slope != 1.0 or rescale.intercept != 0.0)
        items.append(Assessment(
            WINDOW_UNITS, changes,
            "RescaleSlope 1 and intercept 0: stored and rescaled values are the same" if not changes else
            "the window is in rescaled units; a reader that windows stored values shows another contrast (plain integers avoid it)",
        ))  # fmt: skip
    items.append(Assessment(
        VALUE_MAPPING_IGNORED, plain,
        f"they read the stored values, the map x {rescale.scale_label}: the series description and the JSON's value_scale say the factor"
        if plain else "the rescale carries the values, which these readers apply",
    ))  # fmt: skip
    return items


def _fractional_slope_note(slope: float, plain: bool, whole_frames: int) -> str:
    if slope >= 1.0:
        return "RescaleSlope 1 (plain integers): not affected" if plain else f"RescaleSlope {slope:.6g} is at least 1: not affected"
    if whole_frames:
        return f"RescaleSlope {slope:.6g}: {whole_frames} slices render black; export with plain integers or the navigation profile for these viewers"
    return f"RescaleSlope {slope:.6g}: no slice's extremes become whole numbers, so cornerstone3D keeps floats (they would at scales such as 1000)"


def _small_slope_note(slope: float, plain: bool) -> str:
    if slope >= 1.0:
        return "RescaleSlope 1 (plain integers): not affected" if plain else f"RescaleSlope {slope:.6g}: not affected"
    return f"RescaleSlope {slope:.6g}: measurements may show stored integers; plain integers or the navigation profile avoid it"


def _overlay(problem: str | None) -> Assessment:
    if problem is None:
        return Assessment(PM_OVERLAY_ONLY, False, "it references its source series, on the same grid: OHIF can overlay it")
    return Assessment(PM_OVERLAY_ONLY, True, f"{problem}: OHIF will not display it")


def _refused() -> Assessment:
    return Assessment(PM_REFUSED, True, "an archive may refuse it: mr+pm writes an MR series beside it, and a send can fall back to sc or mr")


def markdown_table() -> str:
    """The table of known traps in README.md (generated here; a test keeps the README equal to it)."""
    lines = ["| reader | what it does | what FAExport offers | source |", "|---|---|---|---|"]
    for trap in TRAPS:
        sources = " ".join(f"<{url}>" for url in _urls(trap.source))
        lines.append(f"| {trap.reader} | {trap.behaviour} | {trap.way_round} | {sources} |")
    return "\n".join(lines)


def _urls(source: str) -> list[str]:
    """The addresses in a source text: "https://x/issues/1 and /issues/2" names two of one repository."""
    first, *more = source.split(" and ")
    base = first[: first.index("/issues/")] if "/issues/" in first else ""
    return [first, *(base + other if other.startswith("/") else other for other in more)]


def for_encoding(encoding: str, rescale, window: tuple[float, float], overlay_problem: str | None, array: np.ndarray, extremes) -> list[Assessment]:
    """``assess`` for one encoding of a map (``array[k, j, i]``, its ``slice_extremes``): its window (center, width in
    the map's units) as that encoding writes it, and the slices cornerstone3D would lose.
    """
    integers = encoding != "pm"
    whole = whole_extreme_frames(array, rescale if integers else None, extremes)
    return assess(encoding, rescale, integer_window(window, rescale) if integers else None, overlay_problem, whole)


def slice_extremes(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each slice's smallest and largest value, ``array[k, j, i]`` (one pass, shared by every encoding's assessment)."""
    return array.min(axis=(1, 2)), array.max(axis=(1, 2))


def whole_extreme_frames(array: np.ndarray, rescale, extremes: tuple[np.ndarray, np.ndarray]) -> int:
    """How many slices cornerstone3D would hold in an integer array and lose: their smallest and largest values as a
    reader decodes them (stored x slope + intercept, in float64 as JavaScript computes) are whole numbers while values
    between them are not (cornerstone's getPixelDataTypeFromMinMax: shared/getPixelDataTypeFromMinMax.js).

    ``rescale`` None: float frames as stored (a Parametric Map); with a rescale, a slope of 1 (plain integers) decodes
    integers only, which lose nothing. ``extremes``: ``slice_extremes(array)``.
    """
    if rescale is not None and (is_plain(rescale) or rescale.slope >= 1.0):
        return 0
    count = 0
    for k, (low, high) in enumerate(zip(*extremes, strict=True)):
        if rescale is not None:
            stored_low, stored_high = rescale.stored_value(float(low)), rescale.stored_value(float(high))
            low, high = stored_low * rescale.slope + rescale.intercept, stored_high * rescale.slope + rescale.intercept
            between = stored_high - stored_low > 1  # stored values between them decode to fractions (slope < 1)
        else:  # the stored float32 values; only a frame with whole extremes is looked at whole
            with np.errstate(over="ignore"):  # beyond float32 (a preview; the export refuses it): infinite, never whole
                low, high = float(np.float32(low)), float(np.float32(high))
            between = low.is_integer() and high.is_integer() and not np.array_equal(frame := np.asarray(array[k], dtype=np.float32), np.round(frame))
        count += low.is_integer() and high.is_integer() and low < high and between
    return count


def _is_integer(text: str) -> bool:
    try:
        return float(text) == int(float(text))
    except ValueError:
        return False
