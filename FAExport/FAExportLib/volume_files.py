"""Reading NIfTI and NRRD volumes as Slicer does: ``array[k, j, i]`` and a RAS IJK-to-RAS matrix.

Used by the command line only; inside Slicer the volume node already holds both. nibabel and pynrrd
are imported when a file is read, so the encoder itself does not need them.
"""

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
        raise InputError(f"cannot read {path.name}: {error}; check that the file is complete and not corrupt") from None
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
    # Like ITK (Slicer's reader): the sform when it is a rotation with scaling, else the qform.
    if sform_code and _is_orthogonal(sform):
        affine = sform
    elif qform_code:
        affine = qform
    elif sform_code:
        affine = sform  # sheared: the geometry check refuses it with a clear message
    else:
        affine = header.get_base_affine()
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
