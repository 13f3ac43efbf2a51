"""Reading a written series back, independently of the arrays the writer used.

Files are decoded with pydicom and its modality LUT; each slice is matched to the input by its
ImagePositionPatient, so a geometry mistake shows up as a failure too.
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
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


def stored_index_at(plan: SeriesPlan, position, name: str) -> int:
    """The stored slice at ``position`` (LPS), or VerificationError if none is there."""
    distances = np.linalg.norm(plan.geometry.positions - np.asarray(position, dtype=np.float64), axis=1)
    stored_index = int(np.argmin(distances))
    if distances[stored_index] > POSITION_TOLERANCE_MM:
        raise VerificationError(f"{name} has an image position that matches no slice of the input; nothing was written")
    return stored_index


def _slice_error(plan: SeriesPlan, stored_index: int, decoded: np.ndarray) -> float:
    return float(np.max(np.abs(decoded - plan.stored_slice(stored_index).astype(np.float64))))


def single_frame_error(plan: SeriesPlan, files: list[Path]) -> float:
    """Max |decoded - input| over a series of one file per slice, decoded with the modality LUT."""
    if len(files) != plan.geometry.slice_count:
        raise VerificationError(f"{len(files)} files were written for {plan.geometry.slice_count} slices; nothing was written")
    worst = 0.0
    seen = set()
    for path in files:
        ds = pydicom.dcmread(path)
        stored_index = stored_index_at(plan, [float(v) for v in ds.ImagePositionPatient], path.name)
        if stored_index in seen:
            raise VerificationError(f"{path.name} repeats the position of another slice; nothing was written")
        seen.add(stored_index)
        if str(ds.RescaleSlope) != plan.rescale.slope_text or str(ds.RescaleIntercept) != plan.rescale.intercept_text:
            raise VerificationError(f"{path.name} has another rescale than the series; nothing was written")
        decoded = apply_modality_lut(stored_frames(ds)[0], ds) / plan.rescale.read_back_scale  # plain integers: value x factor
        worst = max(worst, _slice_error(plan, stored_index, decoded))
    return worst


def multi_frame_error(plan: SeriesPlan, files: list[Path], real_world_values: Callable[[Dataset, np.ndarray], np.ndarray]) -> float:
    """Max |decoded - input| over one multi-frame file; frames are matched to slices by their Plane Position.

    ``real_world_values(ds, stored_frame)`` decodes one frame, so that at most one frame is held in float64.
    """
    if len(files) != 1:
        raise VerificationError(f"{len(files)} files were written for one multi-frame image; nothing was written")
    ds = pydicom.dcmread(files[0])
    frames = stored_frames(ds)
    positions = [frame.PlanePositionSequence[0].ImagePositionPatient for frame in ds.PerFrameFunctionalGroupsSequence]
    if len(positions) != plan.geometry.slice_count or len(frames) != plan.geometry.slice_count:
        raise VerificationError(f"{files[0].name} holds {len(frames)} frames for {plan.geometry.slice_count} slices; nothing was written")
    indices = [stored_index_at(plan, [float(v) for v in position], files[0].name) for position in positions]
    if len(set(indices)) != len(indices):
        raise VerificationError(f"{files[0].name} has two frames at one position; nothing was written")
    scale = plan.rescale.read_back_scale if plan.rescale is not None else 1.0  # plain integers: value x factor
    return max(_slice_error(plan, stored_index, real_world_values(ds, frame) / scale) for stored_index, frame in zip(indices, frames, strict=True))


def stored_frames(ds: Dataset) -> np.ndarray:
    """Every frame as stored, shape (frames, rows, columns), read as the file's own attributes describe it.

    For native (uncompressed) pixels this is a view of the file's bytes: what pydicom's pixel_array gives,
    without its copy and per-file decoder set-up (half the read-back time of a single-frame series).
    """
    frames, rows, columns = int(ds.get("NumberOfFrames") or 1), ds.Rows, ds.Columns
    if "FloatPixelData" in ds:
        buffer, dtype = ds.FloatPixelData, np.dtype("<f4")
    elif ds.file_meta.TransferSyntaxUID.is_compressed or ds.SamplesPerPixel != 1 or ds.BitsAllocated not in (8, 16, 32) or ds.BitsStored != ds.BitsAllocated:
        return ds.pixel_array.reshape(frames, rows, columns)
    else:
        buffer, dtype = ds.PixelData, np.dtype(f"<{'i' if ds.PixelRepresentation else 'u'}{ds.BitsAllocated // 8}")
    if len(buffer) < frames * rows * columns * dtype.itemsize:
        raise VerificationError(f"the pixel data holds {len(buffer)} bytes, fewer than {frames} frames of {columns}x{rows}; nothing was written")
    return np.frombuffer(buffer, dtype=dtype, count=frames * rows * columns).reshape(frames, rows, columns)
