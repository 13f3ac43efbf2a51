"""Volume geometry: Slicer's IJK-to-RAS matrix to DICOM patient (LPS) plane geometry.

Array convention (Slicer's ``arrayFromVolume``): ``array[k, j, i]``. In DICOM terms a slice is
``array[k]``, its rows run along j and its columns along i, so ImageOrientationPatient holds the
i direction then the j direction and PixelSpacing is (j spacing, i spacing).
"""

from dataclasses import dataclass

import numpy as np

from .decimal_strings import format_ds, format_ds_list
from .errors import InputError

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])

# Largest |cos| between two voxel axes still taken as orthogonal: float32 NIfTI headers carry
# about 1e-7, a real shear far more.
ORTHOGONALITY_TOLERANCE = 1e-4


@dataclass(frozen=True)
class SliceGeometry:
    """Plane geometry of a volume, with its slices in storage order.

    Slices are stored ascending along the normal (i direction x j direction), the order dcmqi and
    Slicer's Parametric Map loader expect; ``slice_order[n]`` is the array index k of stored slice n.
    """

    rows: int
    columns: int
    row_spacing: float
    column_spacing: float
    slice_spacing: float
    row_direction: np.ndarray  # LPS unit vector of increasing column index (i)
    column_direction: np.ndarray  # LPS unit vector of increasing row index (j)
    normal: np.ndarray
    positions: np.ndarray  # (slices, 3) LPS position of the first voxel of each stored slice
    slice_order: np.ndarray

    @classmethod
    def from_ijk_to_ras(cls, ijk_to_ras, shape_kji: tuple[int, int, int]) -> "SliceGeometry":
        """Validate an IJK-to-RAS matrix for an ``array[k, j, i]`` of ``shape_kji`` and derive the geometry."""
        matrix = np.asarray(ijk_to_ras, dtype=np.float64)
        if matrix.shape != (4, 4):
            raise InputError(f"the IJK-to-RAS matrix must be 4x4, not {'x'.join(map(str, matrix.shape))}")
        if not np.all(np.isfinite(matrix)):
            raise InputError("the IJK-to-RAS matrix contains NaN or infinite values; fix the volume's geometry")
        if not np.allclose(matrix[3], [0.0, 0.0, 0.0, 1.0]):
            raise InputError("the IJK-to-RAS matrix is not affine (its last row is not 0 0 0 1); fix the volume's geometry")
        axes_lps = RAS_TO_LPS @ matrix[:3, :3]
        spacings = np.linalg.norm(axes_lps, axis=0)
        for axis, spacing in zip("ijk", spacings, strict=True):
            if not spacing > 1e-9:
                raise InputError(f"the IJK-to-RAS matrix is singular: axis {axis} has zero length; fix the volume's spacing")
        directions = axes_lps / spacings
        for a, b in ((0, 1), (0, 2), (1, 2)):
            cosine = abs(float(directions[:, a] @ directions[:, b]))
            if cosine > ORTHOGONALITY_TOLERANCE:
                angle = np.degrees(np.arcsin(min(cosine, 1.0)))
                raise InputError(
                    f"the voxel axes {'ijk'[a]} and {'ijk'[b]} are not perpendicular (sheared by {angle:.4g} degrees); "
                    "DICOM images need orthogonal axes: resample the volume (e.g. Slicer's Resample Scalar Volume) first",
                )
        row_direction, column_direction, k_direction = directions.T
        normal = np.cross(row_direction, column_direction)
        slices = shape_kji[0]
        # det < 0 (e.g. FSL's LAS) makes k run against the normal: store those slices reversed.
        slice_order = np.arange(slices) if normal @ k_direction > 0 else np.arange(slices)[::-1]
        origin_lps = RAS_TO_LPS @ matrix[:3, 3]
        positions = origin_lps + np.outer(slice_order, axes_lps[:, 2])
        return cls(
            rows=int(shape_kji[1]),
            columns=int(shape_kji[2]),
            row_spacing=float(spacings[1]),
            column_spacing=float(spacings[0]),
            slice_spacing=float(spacings[2]),
            row_direction=row_direction,
            column_direction=column_direction,
            normal=normal,
            positions=positions,
            slice_order=slice_order,
        )

    @property
    def slice_count(self) -> int:
        """Number of slices (frames)."""
        return len(self.slice_order)

    @property
    def image_orientation(self) -> list[str]:
        """ImageOrientationPatient as DS strings."""
        return format_ds_list(np.concatenate([self.row_direction, self.column_direction]))

    @property
    def pixel_spacing(self) -> list[str]:
        """PixelSpacing as DS strings, row spacing (between rows, along j) first."""
        return format_ds_list([self.row_spacing, self.column_spacing])

    @property
    def slice_spacing_ds(self) -> str:
        """SliceThickness / SpacingBetweenSlices as a DS string."""
        return format_ds(self.slice_spacing)

    def image_position(self, stored_index: int) -> list[str]:
        """ImagePositionPatient of stored slice ``stored_index`` as DS strings."""
        return format_ds_list(self.positions[stored_index])

    def slice_location(self, stored_index: int) -> str:
        """SliceLocation (position along the normal) of stored slice ``stored_index`` as a DS string."""
        return format_ds(float(self.positions[stored_index] @ self.normal))


def patient_orientation(row_direction: np.ndarray, column_direction: np.ndarray) -> list[str]:
    """PatientOrientation (e.g. ``["L", "P"]``): the main patient axes along rows and columns, strongest first."""
    return [_orientation_letters(row_direction), _orientation_letters(column_direction)]


def _orientation_letters(direction: np.ndarray) -> str:
    letters = ""
    for axis in np.argsort(-np.abs(direction)):
        if abs(direction[axis]) < 1e-3:  # negligible component
            break
        letters += ("LR", "PA", "HF")[axis][0 if direction[axis] > 0 else 1]
    return letters
