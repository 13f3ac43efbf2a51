"""Whether a Parametric Map can be overlaid on the series it was computed from, and which source image each frame is.

OHIF (3.9 and later) shows a Parametric Map only as an overlay on its referenced series: ReferencedSeriesSequence must
name a series of the same study, whose images have the map's rows, columns and orientation, and each frame is matched
to a source image by its derivation references or by an identical ImagePositionPatient (OHIF's
extensions/cornerstone-dicom-pmap and cornerstone3D's adapters/Cornerstone/ParametricMap.ts, read for
../shared/docs/downstream-needs.md, section 4). When the map's grid is the source's, the Parametric Map names each
frame's source image in its per-frame Derivation Image group; otherwise it says why it is not ready, in the result.
"""

from dataclasses import dataclass

import numpy as np

from .geometry import SliceGeometry
from .sources import SourcePlane, SourceSeries

POSITION_TOLERANCE_MM = 1e-3  # OHIF's tolerance when it matches frames to source images by position
COSINE_TOLERANCE = 1e-4
SPACING_TOLERANCE_MM = 1e-4


@dataclass(frozen=True)
class OverlayMatch:
    """The source image of each stored frame (ascending along the normal), or why there is none."""

    frames: tuple[SourcePlane, ...] | None
    problem: str | None

    @property
    def ready(self) -> bool:
        return self.frames is not None


def match(geometry: SliceGeometry | None, source: SourceSeries | None) -> OverlayMatch:
    """Match the map's frames to the source series' images: same rows and columns, orientation and pixel spacing, and a
    source image at every frame's position (the first by instance number where a series repeats a position, as a DWI
    series does for each gradient). ``geometry`` None (a preview not told the map's grid): not known to match.
    """
    if source is None:
        return OverlayMatch(None, "it names no source series (the series the map was computed from)")
    if geometry is None:
        return OverlayMatch(None, "the map's grid is not known, so it cannot be matched to its source series")
    planes = [plane for plane in source.planes if plane is not None]
    if not planes or len(planes) != len(source.instances):
        return OverlayMatch(None, "the source series has images without one plane each (multi-frame images), so its frames cannot be matched")
    sizes = {(plane.columns, plane.rows) for plane in planes}
    if sizes != {(geometry.columns, geometry.rows)}:
        listed = ", ".join(f"{columns}x{rows}" for columns, rows in sorted(sizes))
        return OverlayMatch(None, f"the source images are {listed} pixels and the map's slices {geometry.columns}x{geometry.rows}")
    cosines = np.array([float(value) for value in geometry.image_orientation])
    if any(np.abs(np.array(plane.orientation) - cosines).max() > COSINE_TOLERANCE for plane in planes):
        return OverlayMatch(None, "the source images have another orientation than the map's slices")
    spacing = np.array([geometry.row_spacing, geometry.column_spacing])
    if any(np.abs(np.array(plane.pixel_spacing) - spacing).max() > SPACING_TOLERANCE_MM for plane in planes):
        return OverlayMatch(None, "the source images have another pixel spacing than the map's slices")
    ordered = sorted(planes, key=lambda plane: (plane.instance_number is None, plane.instance_number or 0))
    positions = np.array([plane.position for plane in ordered])
    frames, unmatched = [], 0
    for stored_index in range(geometry.slice_count):
        position = np.array([float(value) for value in geometry.image_position(stored_index)])
        distances = np.linalg.norm(positions - position, axis=1)
        nearest = int(np.argmin(distances))  # the first image (by instance number) among those at the least distance
        if distances[nearest] > POSITION_TOLERANCE_MM:
            unmatched += 1
        else:
            frames.append(ordered[nearest])
    if unmatched:
        return OverlayMatch(None, f"{unmatched} of the map's {geometry.slice_count} slices lie where the source series has no image")
    return OverlayMatch(tuple(frames), None)
