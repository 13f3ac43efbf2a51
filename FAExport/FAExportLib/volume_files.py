"""Reading NIfTI and NRRD volumes as Slicer does: ``array[k, j, i]`` and a RAS IJK-to-RAS matrix.

Used by the command line; inside Slicer the volume node already holds both, and only
``nifti_nonfinite_count`` is used there (Slicer's reader hides NaN). nibabel and pynrrd
are imported when a file is read, so the encoder itself does not need them.
"""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import InputError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
NIFTI_SUFFIXES = (".nii", ".nii.gz")
NRRD_SUFFIXES = (".nrrd", ".nhdr")
# NRRD spaces (full and abbreviated names) and the matrix that takes their coordinates to RAS.
_NRRD_SPACES = {
    "left-posterior-superior": np.diag([-1.0, -1.0, 1.0]),
    "lps": np.diag([-1.0, -1.0, 1.0]),
    "right-anterior-superior": np.eye(3),
    "ras": np.eye(3),
    "left-anterior-superior": np.diag([-1.0, 1.0, 1.0]),
    "las": np.diag([-1.0, 1.0, 1.0]),
}


def read_volume(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return (``array[k, j, i]``, 4x4 IJK-to-RAS) of a NIfTI or NRRD file."""
    path = Path(path)
    name = path.name.lower()
    if not path.exists():
        raise InputError(f"the input file {path} does not exist")
    if path.is_dir():
        raise InputError(f"the input {path} is a folder; give a NIfTI (.nii, .nii.gz) or NRRD (.nrrd, .nhdr) file")
    try:
        if name.endswith(NIFTI_SUFFIXES):
            array_ijk, ijk_to_ras = _read_nifti(path)
        elif name.endswith(NRRD_SUFFIXES):
            array_ijk, ijk_to_ras = _read_nrrd(path)
        else:
            raise InputError(f"{path.name} is neither NIfTI (.nii, .nii.gz) nor NRRD (.nrrd, .nhdr); convert it first")
    except InputError:
        raise
    except Exception as error:  # a corrupt file surfaces as any of the readers' exception types
        reason = " ".join(str(error).split())  # one line: readers' messages may hold line breaks
        raise InputError(f"cannot read {path.name}: {reason}; check that the file is complete and not corrupt") from None
    return np.asarray(array_ijk).T, ijk_to_ras


def _scalar_ijk(data: np.ndarray, path: Path) -> np.ndarray:
    """Drop trailing axes of length 1; refuse anything that is not one 3-D scalar volume."""
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[..., np.newaxis]
    if data.ndim != 3:
        raise InputError(
            f"{path.name} holds a {data.ndim}-D image of shape {data.shape}, not one scalar 3-D volume; "
            "export each 3-D volume (component or time point) separately",
        )
    return data


def _read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel

    image = nibabel.load(path)
    header = image.header
    sform, sform_code = header.get_sform(coded=True)
    qform, qform_code = header.get_qform(coded=True)
    # ITK's choice (so Slicer's), checked against slicer-core for every code pair: a scanner-anatomical
    # (code 1) sform without shear, else any qform, else any sform, else LPS axes at the origin.
    if sform_code == 1 and _is_orthogonal(sform):
        affine = sform
    elif qform_code:
        affine = qform
    elif sform_code:
        affine = sform  # if sheared, the geometry check refuses it with a clear message
    else:
        affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.diag([*(float(z) for z in header.get_zooms()[:3]), 1.0])
    data = np.asanyarray(image.dataobj)
    return _scalar_ijk(data, path), np.asarray(affine, dtype=np.float64)


def _is_orthogonal(affine: np.ndarray, tolerance: float = 1e-4) -> bool:
    axes = np.asarray(affine, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(axes, axis=0)
    if not np.all(norms > 0):
        return False
    unit = axes / norms
    return bool(np.allclose(unit.T @ unit, np.eye(3), atol=tolerance))


def _read_nrrd(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nrrd

    data, header = nrrd.read(str(path))
    kinds = [str(k).lower() for k in header.get("kinds", [])]
    non_spatial = [k for k in kinds if k not in ("domain", "space")]
    if non_spatial:
        raise InputError(
            f"{path.name} is not a scalar volume (axis kinds: {' '.join(kinds)}); export each component separately",
        )
    space = str(header.get("space", "left-posterior-superior")).lower()
    if space not in _NRRD_SPACES:
        raise InputError(f"{path.name} uses the NRRD space {space!r}; FAExport reads RAS, LPS or LAS spaces")
    directions = header.get("space directions")
    if directions is None:
        directions = np.diag(np.asarray(header.get("spacings", [1.0, 1.0, 1.0]), dtype=np.float64))
    directions = np.asarray(directions, dtype=np.float64)
    origin = np.asarray(header.get("space origin", np.zeros(3)), dtype=np.float64)
    to_ras = _NRRD_SPACES[space]
    ijk_to_ras = np.eye(4)
    ijk_to_ras[:3, :3] = to_ras @ directions.T  # NRRD lists one vector per axis
    ijk_to_ras[:3, 3] = to_ras @ origin
    return _scalar_ijk(data, path), ijk_to_ras


# NIfTI datatype codes of real floating-point voxels -> numpy type.
_NIFTI_FLOAT_TYPES = {16: "f4", 64: "f8"}


def nifti_nonfinite_count(path: str | Path, chunk_voxels: int = 1 << 22) -> int:
    """How many NaN or infinite voxels a NIfTI-1/2 file holds, read with numpy alone, chunk by chunk.

    ITK's NIfTI reader, and so Slicer's, turns these voxels into 0 without a word; this lets the Slicer
    side refuse them as the command line does.
    """
    path = Path(path)
    try:
        return _nifti_nonfinite_count(path, chunk_voxels)
    except InputError:
        raise
    except (OSError, EOFError, ValueError, struct.error, zlib.error) as error:  # truncated or corrupt: gzip, numpy and struct fail their own ways
        reason = " ".join(str(error).split())
        raise InputError(f"cannot read {path}: {reason}; the file is truncated or corrupt, export it again from the program that made it") from None


def _nifti_nonfinite_count(path: Path, chunk_voxels: int) -> int:
    with (gzip.open if path.name.lower().endswith(".gz") else open)(path, "rb") as stream:
        header = stream.read(540)
        if len(header) < 348:
            raise InputError(f"{path} is too short to be a NIfTI file")
        sizeof = struct.unpack("<i", header[:4])[0]
        endian = "<" if sizeof in (348, 540) else ">"
        if struct.unpack(endian + "i", header[:4])[0] == 540:  # NIfTI-2
            datatype = struct.unpack(endian + "h", header[12:14])[0]
            dims = struct.unpack(endian + "8q", header[16:80])
            offset = struct.unpack(endian + "q", header[168:176])[0]
        else:
            datatype = struct.unpack(endian + "h", header[70:72])[0]
            dims = struct.unpack(endian + "8h", header[40:56])
            offset = int(struct.unpack(endian + "f", header[108:112])[0])
        if datatype not in _NIFTI_FLOAT_TYPES:
            return 0
        voxels = int(np.prod([max(int(d), 1) for d in dims[1 : 1 + max(0, min(int(dims[0]), 7))]]))
        dtype = np.dtype(endian + _NIFTI_FLOAT_TYPES[datatype])
        stream.seek(offset)
        count, remaining = 0, voxels
        while remaining > 0:
            data = np.frombuffer(stream.read(min(remaining, chunk_voxels) * dtype.itemsize), dtype=dtype)
            if data.size == 0:
                raise InputError(f"{path} ends before its last voxel; the file is truncated")
            count += int(data.size - np.count_nonzero(np.isfinite(data)))
            remaining -= data.size
    return count
