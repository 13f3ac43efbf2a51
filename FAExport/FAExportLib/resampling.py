"""A map resampled onto the grid of the series it was computed from (``resample_to_source``), by trilinear interpolation.

OHIF overlays a Parametric Map only on its source series' grid (overlay.py). A map computed on another grid (FA
resampled to 1 mm, say) can be brought onto that grid here; interpolation changes values, so the result says by how
much: ``max_change`` is the largest difference between an interpolated voxel and the map's voxel nearest to it, and
``outside`` counts the source grid's voxels beyond the map, which hold 0.
"""

from dataclasses import dataclass

import numpy as np

from .errors import Field, InputError
from .sources import SourceSeries

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])  # its own inverse
POSITION_TOLERANCE_MM = 1e-3


@dataclass(frozen=True)
class Resampled:
    """A map on the source series' grid, and what the interpolation did to its values."""

    array: np.ndarray  # array[k, j, i] on the source grid
    ijk_to_ras: np.ndarray
    max_change: float  # largest |interpolated - nearest voxel of the map|
    outside: int  # voxels of the source grid beyond the map (0 there)

    def note(self, name: str) -> str:
        """The warning that says what resampling did."""
        outside = f"; {self.outside} voxels of the source grid lie beyond the map and hold 0" if self.outside else ""
        return (
            f"{name} resampled onto the source series' grid ({' x '.join(str(n) for n in reversed(self.array.shape))} voxels) by trilinear "
            f"interpolation, which changes values by up to {self.max_change:.6g} from the map's nearest voxel{outside}"
        )


def source_grid(source: SourceSeries) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The source series' grid as (IJK-to-RAS, shape (slices, rows, columns)); InputError when its images do not form
    one regular grid (one orientation, spacing and size; positions evenly spaced along the normal).
    """
    planes = [plane for plane in source.planes if plane is not None]
    if not planes or len(planes) != len(source.instances):
        raise _not_a_grid("it has images without one plane each (multi-frame images)")
    first = planes[0]
    if any(
        (plane.rows, plane.columns) != (first.rows, first.columns)
        or np.abs(np.subtract(plane.orientation, first.orientation)).max() > 1e-4
        or np.abs(np.subtract(plane.pixel_spacing, first.pixel_spacing)).max() > 1e-4
        for plane in planes
    ):
        raise _not_a_grid("its images differ in size, orientation or pixel spacing")
    row_direction, column_direction = np.array(first.orientation[:3]), np.array(first.orientation[3:])
    normal = np.cross(row_direction, column_direction)
    along = sorted({round(float(np.dot(normal, plane.position)), 3): plane.position for plane in planes}.items())
    positions = np.array([position for _, position in along])
    if len(positions) > 1:
        steps = np.diff([distance for distance, _ in along])
        if steps.max() - steps.min() > POSITION_TOLERANCE_MM or steps.min() <= 0:
            raise _not_a_grid("its slices are not evenly spaced")
        slice_vector = (positions[-1] - positions[0]) / (len(positions) - 1)
    else:
        slice_vector = normal * 1.0
    row_spacing, column_spacing = first.pixel_spacing
    lps = np.eye(4)
    lps[:3, 0] = row_direction * column_spacing  # i: along a row, one column
    lps[:3, 1] = column_direction * row_spacing  # j: down a column, one row
    lps[:3, 2] = slice_vector
    lps[:3, 3] = positions[0]
    return LPS_FROM_RAS @ lps, (len(positions), first.rows, first.columns)


def _not_a_grid(why: str) -> InputError:
    return InputError(
        f"the source series cannot be a grid to resample onto: {why}",
        remedy=("give a series of evenly spaced single-frame images as ", Field("source_dicom"), ", or leave ", Field("resample_to_source"), " out"),
    )


def resample(array: np.ndarray, ijk_to_ras: np.ndarray, target_ijk_to_ras: np.ndarray, target_shape: tuple[int, int, int]) -> Resampled:
    """``array[k, j, i]`` (IJK-to-RAS ``ijk_to_ras``) interpolated trilinearly at the voxel centres of the target grid,
    one target slice at a time (a slice of coordinates in memory, never the whole grid's).
    """
    source = np.asarray(array)
    to_map = np.linalg.inv(np.asarray(ijk_to_ras, dtype=np.float64)) @ np.asarray(target_ijk_to_ras, dtype=np.float64)
    slices, rows, columns = target_shape
    j, i = np.meshgrid(np.arange(rows, dtype=np.float64), np.arange(columns, dtype=np.float64), indexing="ij")
    out = np.zeros(target_shape, dtype=np.float32 if source.dtype == np.float32 else np.float64)
    worst, outside = 0.0, 0
    limits = np.array(source.shape[::-1], dtype=np.float64) - 1.0  # largest i, j, k of the map
    for k in range(slices):
        ijk = np.stack([i, j, np.full_like(i, float(k))], axis=-1) @ to_map[:3, :3].T + to_map[:3, 3]  # map's (i, j, k)
        inside = np.all((ijk >= -1e-6) & (ijk <= limits + 1e-6), axis=-1)
        outside += int(np.count_nonzero(~inside))
        if not inside.any():
            continue
        points = np.clip(ijk[inside], 0.0, limits)
        low = np.minimum(np.floor(points).astype(np.intp), np.maximum(limits.astype(np.intp) - 1, 0))
        weight = points - low
        value = np.zeros(len(points), dtype=np.float64)
        for corner in range(8):
            offset = np.array([(corner >> axis) & 1 for axis in range(3)], dtype=np.intp)
            index = np.minimum(low + offset, limits.astype(np.intp))
            factor = np.prod(np.where(offset == 1, weight, 1.0 - weight), axis=-1)
            value += factor * source[index[:, 2], index[:, 1], index[:, 0]]
        nearest = np.rint(points).astype(np.intp)
        worst = max(worst, float(np.max(np.abs(value - source[nearest[:, 2], nearest[:, 1], nearest[:, 0]]))))
        out[k][inside] = value
    return Resampled(out, np.asarray(target_ijk_to_ras, dtype=np.float64), worst, outside)
