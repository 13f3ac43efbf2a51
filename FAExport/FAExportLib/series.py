"""What one series to be written is made of, shared by every export mode."""

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .codes import Quantity
from .geometry import SliceGeometry
from .metadata import ExportMetadata
from .scaling import Rescale, ValueRange
from .sources import SourceSeries

if TYPE_CHECKING:
    from .overlay import OverlayMatch


@dataclass(frozen=True)
class SeriesPlan:
    """Everything an encoder needs to turn a volume into one series of datasets."""

    mode: str
    array: np.ndarray  # array[k, j, i], finite values
    value_range: ValueRange  # of ``array``, measured once by the pipeline
    geometry: SliceGeometry
    rescale: Rescale | None  # None for float encodings
    quantity: Quantity
    metadata: ExportMetadata  # resolved: UIDs, dates and IDs filled in
    series_instance_uid: str
    series_number: int
    series_description: str
    window: tuple[float, float]  # center, width in real-world units
    now: datetime.datetime
    source: SourceSeries | None = None  # the series the map was computed from, if known
    profile: str | None = None  # "navigation": what navigation systems need (navigation.py)
    overlay: "OverlayMatch | None" = None  # pm: the map's frames matched to the source series' images (overlay.py)
    reader_traps: tuple = ()  # reader_traps.Assessment of each known trap of this encoding, judged before writing

    def stored_slice(self, stored_index: int) -> np.ndarray:
        """Input values of stored slice ``stored_index`` (a view, no copy)."""
        return self.array[self.geometry.slice_order[stored_index]]


# dciodvfy (and other readers that hold a window in a 64-bit integer) overflow beyond 2**63.
LARGEST_WINDOW = 1e18


def default_window(quantity: Quantity, array: np.ndarray) -> tuple[float, float]:
    """Window (center, width) that shows the map: the quantity's own, else the 1st-99th percentile of non-zero voxels."""
    if quantity.window is not None:
        return quantity.window
    center, width = _data_window(array)
    return float(np.clip(center, -LARGEST_WINDOW, LARGEST_WINDOW)), float(min(width, LARGEST_WINDOW))


def _data_window(array: np.ndarray) -> tuple[float, float]:
    step = max(1, round((array.size / 1_000_000) ** (1 / 3)))  # ~1e6 voxels are enough for percentiles
    sample = array[::step, ::step, ::step].ravel()  # a strided view: no copy of the whole volume
    sample = sample[sample != 0]
    if sample.size == 0:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(sample, [1.0, 99.0]))
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    if high <= low:
        return low, max(abs(low), 1.0)
    return (low + high) / 2.0, high - low
