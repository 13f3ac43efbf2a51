"""Reading a written series back, independently of the arrays the writer used.

Files are decoded with pydicom and its modality LUT; each slice is matched to the input by its
ImagePositionPatient, so a geometry mistake shows up as a failure too.
"""

from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

from .errors import VerificationError
from .series import SeriesPlan

# Positions written as DS carry ~1e-10 mm; anything beyond this is a wrong slice.
POSITION_TOLERANCE_MM = 1e-4


def allowed_error(bound: float, max_abs: float) -> float:
    """``bound`` plus float64 rounding of value/slope and stored x slope."""
    return bound + 8 * np.finfo(np.float64).eps * max_abs


def check_bound(measured: float, bound: float, max_abs: float) -> float:
    """Raise VerificationError if ``measured`` exceeds the series' bound."""
    if not measured <= allowed_error(bound, max_abs):
        raise VerificationError(
            f"the series read back differs from the input by {measured:.6g}, more than its bound {bound:.6g}; "
            "nothing was written (please report this as a bug)",
        )
    return measured


def single_frame_error(plan: SeriesPlan, files: list[Path]) -> float:
    """Max |decoded - input| over a single-frame series (one file per slice)."""
    geometry = plan.geometry
    if len(files) != geometry.slice_count:
        raise VerificationError(f"{len(files)} files were written for {geometry.slice_count} slices; nothing was written")
    worst = 0.0
    seen = set()
    for path in files:
        ds = pydicom.dcmread(path)
        position = np.array([float(v) for v in ds.ImagePositionPatient])
        distances = np.linalg.norm(geometry.positions - position, axis=1)
        stored_index = int(np.argmin(distances))
        if distances[stored_index] > POSITION_TOLERANCE_MM or stored_index in seen:
            raise VerificationError(f"{path.name} has a position that matches no slice of the input; nothing was written")
        seen.add(stored_index)
        if str(ds.RescaleSlope) != plan.rescale.slope_text or str(ds.RescaleIntercept) != plan.rescale.intercept_text:
            raise VerificationError(f"{path.name} has another rescale than the series; nothing was written")
        decoded = apply_modality_lut(ds.pixel_array, ds)
        expected = plan.stored_slice(stored_index)
        worst = max(worst, float(np.max(np.abs(decoded - expected.astype(np.float64)))))
    return worst
