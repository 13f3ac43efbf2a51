"""Known reader traps: what documented readers get wrong with quantitative maps, and whether an export meets them.

Each trap is one reader's documented behaviour (its issue tracker or source, ``Trap.source``). ``assess`` tells, for one
series about to be written, which of the traps of its encoding apply and what the chosen options do about them; the
export's result (the command line's JSON), the panel's preview and the Export-to-DICOM dialog's tooltip show it before
or as the files are written. Docs/conformance.md has the table of traps and sources (a test keeps it equal to ``TRAPS``).
"""

from dataclasses import dataclass

from .plain_integers import is_plain


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
    "renders a map with RescaleSlope below 1 black (an FA map in 0..1 is taken for 8-bit data)",
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
    "rounds window center and width to integers (FA's 0.5/1.0 becomes 0/1)",
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
TRAPS = (FRACTIONAL_SLOPE, SMALL_SLOPE, WINDOW_ROUNDING, WINDOW_UNITS, VALUE_MAPPING_IGNORED, PM_OVERLAY_ONLY, PM_REFUSED)


def assess(encoding: str, rescale, window: tuple[str, str] | None, overlay_problem: str | None = None) -> list[Assessment]:
    """The traps of ``encoding`` (``mr``, ``sc``, ``pm``) for a series with ``rescale`` (Rescale, PlainIntegers or None)
    and ``window`` (WindowCenter, WindowWidth as written, or None when unknown yet).

    ``overlay_problem``: why a Parametric Map cannot be overlaid on its source series (None when it can).
    """
    if encoding == "pm":
        return [_overlay(overlay_problem), _refused()]
    plain = is_plain(rescale)
    slope = 1.0 if plain else rescale.slope
    items = [
        Assessment(FRACTIONAL_SLOPE, slope < 1.0, _fractional_slope_note(slope, plain)),
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


def _fractional_slope_note(slope: float, plain: bool) -> str:
    if slope >= 1.0:
        return "RescaleSlope 1 (plain integers): not affected" if plain else f"RescaleSlope {slope:.6g} is at least 1: not affected"
    return f"RescaleSlope {slope:.6g}: the map may render black; export with plain integers or the navigation profile for these viewers"


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


def _is_integer(text: str) -> bool:
    try:
        return float(text) == int(float(text))
    except ValueError:
        return False
