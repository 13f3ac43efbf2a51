"""Reading NIfTI and NRRD volumes as Slicer does: ``array[k, j, i]`` and a RAS IJK-to-RAS matrix.

Used by the command line; inside Slicer the volume node already holds both, and only
``nifti_nonfinite_count`` is used there (Slicer's reader hides NaN). nibabel and pynrrd
are imported when a file is read, so the encoder itself does not need them.
"""

import gzip
import logging
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    from .pipeline import MapInput

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
# NIfTI xyzt_units (spatial part) -> millimetres per unit, as ITK's NIfTI reader converts (itkNiftiImageIO.cxx,
# ReadImageInformation: spacing and origin are scaled; unknown units are taken as mm).
NIFTI_SPATIAL_UNITS = {1: ("m", 1000.0), 2: ("mm", 1.0), 3: ("um", 0.001)}
NIFTI_XFORM_NAMES = {0: "unknown", 1: "scanner", 2: "aligned", 3: "Talairach", 4: "MNI 152", 5: "template"}
# sform and qform further apart than this (mm, at any corner voxel) are worth a warning.
TRANSFORM_DISAGREEMENT_MM = 0.01


@dataclass(frozen=True)
class TransformChoice:
    """Which of a NIfTI file's transforms gave the geometry, and how far the other one would put the map."""

    used: str  # "sform", "qform" or "pixdim" (neither transform set)
    sform_code: int
    qform_code: int
    units: str  # the file's spatial units, converted to mm
    difference_mm: float | None  # largest distance between the two transforms at the volume's corners; None: one only

    @property
    def space(self) -> str | None:
        """The coordinate space the used transform's code states (``scanner``, ``MNI 152``, ...); None: none stated."""
        code = {"sform": self.sform_code, "qform": self.qform_code}.get(self.used, 0)
        return NIFTI_XFORM_NAMES.get(code) if code else None

    def to_json(self) -> dict:
        """The ``input_transform`` item of the command line's JSON."""
        return {"used": self.used, "sform_code": self.sform_code, "qform_code": self.qform_code, "units": self.units, "difference_mm": self.difference_mm}


@dataclass(frozen=True)
class VolumeFile:
    """A volume read as Slicer reads it, and what the user should know about how."""

    array: np.ndarray  # array[k, j, i]
    ijk_to_ras: np.ndarray
    transform: TransformChoice | None = None  # NIfTI only
    warnings: list[str] = field(default_factory=list)

    def map_input(self, name: str, quantity: str | None) -> "MapInput":
        """The volume as one map of an export: its space is the one its NIfTI header states (None for NRRD), and the
        reader's warnings go in front of the export's.
        """
        from .pipeline import MapInput

        space = self.transform.space if self.transform is not None else None
        return MapInput(self.array, self.ijk_to_ras, name=name, quantity=quantity, space=space, input_warnings=self.warnings)


def read_volume(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return (``array[k, j, i]``, 4x4 IJK-to-RAS) of a NIfTI or NRRD file."""
    volume = read_volume_file(path)
    return volume.array, volume.ijk_to_ras


def read_volume_file(path: str | Path) -> VolumeFile:
    """Read a NIfTI or NRRD file as Slicer (ITK) does; InputError with a one-line reason when it cannot be read."""
    path = Path(path)
    name = path.name.lower()
    if not path.exists():
        raise InputError(f"the input file {path} does not exist")
    if path.is_dir():
        raise InputError(f"the input {path} is a folder; give a NIfTI (.nii, .nii.gz) or NRRD (.nrrd, .nhdr) file")
    if not name.endswith(NIFTI_SUFFIXES + NRRD_SUFFIXES):
        raise InputError(f"{path.name} is neither NIfTI (.nii, .nii.gz) nor NRRD (.nrrd, .nhdr); convert it first")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes); export or copy the map again")
    try:
        with _quiet_readers():
            return _read_nifti(path) if name.endswith(NIFTI_SUFFIXES) else _read_nrrd(path)
    except InputError:
        raise
    except Exception as error:  # a corrupt file surfaces as any of the readers' exception types
        raise unreadable(path, error) from None


def unreadable(path: Path, error: Exception) -> InputError:
    """The one-line refusal of a file a reader failed on, whatever the reader's text (empty, or several lines)."""
    reason = " ".join(str(error).split()) or type(error).__name__
    return InputError(f"cannot read {path.name}: {reason}; check that the file is complete and not corrupt")


class _quiet_readers:  # noqa: N801 -- used as a context manager, like contextlib's
    """nibabel notes header repairs on its own stderr logger and pynrrd warns: the command line stays quiet."""

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._logger = logging.getLogger("nibabel")
        self._disabled = self._logger.disabled
        self._logger.disabled = True
        self._global = logging.getLogger("nibabel.global")
        self._global_disabled = self._global.disabled
        self._global.disabled = True
        return self

    def __exit__(self, *exc_info):
        self._logger.disabled = self._disabled
        self._global.disabled = self._global_disabled
        self._warnings.__exit__(*exc_info)


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


def nifti_transform(header, shape, name: str) -> tuple[np.ndarray, TransformChoice, list[str]]:
    """ITK's (so Slicer's) IJK-to-RAS of a NIfTI header, in mm, which transform it is, and a warning if the other differs.

    ITK's choice, checked against slicer-core for every code pair: a scanner-anatomical (code 1) sform without
    shear, else any qform, else any sform, else LPS axes at the origin (itkNiftiImageIO.cxx, SetImageIOOrientationFromNIfTI).
    """
    sform, sform_code = header.get_sform(coded=True)
    qform, qform_code = header.get_qform(coded=True)
    sform_code, qform_code = int(sform_code or 0), int(qform_code or 0)
    sheared = sform_code > 0 and not _is_orthogonal(sform)
    if sform_code == 1 and not sheared:
        used, affine, other = "sform", sform, qform if qform_code else None
    elif qform_code:
        used, affine, other = "qform", qform, sform if sform_code else None
    elif sform_code:
        used, affine, other = "sform", sform, None  # if sheared, the geometry check refuses it with a clear message
    else:
        used, other = "pixdim", None
        affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.diag([*(float(z) for z in header.get_zooms()[:3]), 1.0])
    unit_code = int(header["xyzt_units"]) & 0x07
    units, millimetres = NIFTI_SPATIAL_UNITS.get(unit_code, ("unknown (taken as mm)", 1.0))
    affine = np.asarray(affine, dtype=np.float64).copy()
    affine[:3, :] *= millimetres
    difference = None
    notes = []
    if other is not None:
        corners = np.array([[i, j, k, 1.0] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1) for k in (0, shape[2] - 1)])
        other_mm = np.asarray(other, dtype=np.float64) * np.array([[millimetres]] * 3 + [[1.0]])
        difference = float(np.max(np.linalg.norm((corners @ (affine - other_mm).T)[:, :3], axis=1)))
        if difference > TRANSFORM_DISAGREEMENT_MM:
            unused = "qform" if used == "sform" else "sform"
            why = "the sform is sheared, so " if used == "qform" and sheared else ""
            notes.append(
                f"{name}: its sform (code {sform_code}, {NIFTI_XFORM_NAMES.get(sform_code, 'other')}) and qform (code {qform_code}, "
                f"{NIFTI_XFORM_NAMES.get(qform_code, 'other')}) place the map up to {difference:.4g} mm apart; {why}FAExport used the "
                f"{used}, as Slicer (ITK) does, while FSL and nibabel use the {'sform' if sform_code else unused}: "
                "check that the DICOM lies where you expect",
            )
    return affine, TransformChoice(used, sform_code, qform_code, units, difference), notes


def nifti_header_warnings(path: str | Path) -> list[str]:
    """The transform warning of a NIfTI file, from its header alone (Slicer's reader reads the voxels)."""
    import nibabel

    path = Path(path)
    if not path.name.lower().endswith(NIFTI_SUFFIXES):
        return []
    try:
        with _quiet_readers():
            image = nibabel.load(path)
            return nifti_transform(image.header, (list(image.shape) + [1, 1])[:3], path.name)[2]
    except Exception:
        return []  # an unreadable header: Slicer's reader reports it


def _read_nifti(path: Path) -> VolumeFile:
    return _read_plain_nifti1(path) or _read_nifti_with_nibabel(path)


def _read_nifti_with_nibabel(path: Path) -> VolumeFile:
    import nibabel

    image = nibabel.load(path)
    header = image.header
    if not path.name.lower().endswith(".gz"):
        proxy = image.dataobj  # where nibabel reads the voxels from: offset, shape and type
        needed = int(proxy.offset) + int(np.prod(proxy.shape)) * np.dtype(proxy.dtype).itemsize
        held = path.stat().st_size
        if held < needed:
            raise _truncated(path, needed, held)
    affine, choice, notes = nifti_transform(header, (list(image.shape) + [1, 1])[:3], path.name)
    data = np.asanyarray(image.dataobj)
    return VolumeFile(_scalar_ijk(data, path).T, affine, choice, notes)


# The fields of a NIfTI-1 header that reading a volume needs, at their offsets (nifti1.h), typed as nibabel's header_dtype
# types them, so that the header methods below compute with the same numpy types as nibabel's.
_NIFTI1_FIELDS = np.dtype(
    {
        "names": ["sizeof_hdr", "dim", "datatype", "bitpix", "pixdim", "vox_offset", "scl_slope", "scl_inter", "xyzt_units", "qform_code", "sform_code"]
        + ["quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z", "srow_x", "srow_y", "srow_z", "magic"],
        "formats": ["<i4", ("<i2", (8,)), "<i2", "<i2", ("<f4", (8,)), "<f4", "<f4", "<f4", "u1", "<i2", "<i2"]
        + ["<f4"] * 6 + [("<f4", (4,))] * 3 + ["S4"],
        "offsets": [0, 40, 70, 72, 76, 108, 112, 116, 123, 252, 254, 256, 260, 264, 268, 272, 276, 280, 296, 312, 344],
        "itemsize": 348,
    },
)
# NIfTI-1 datatype codes of plain numeric voxels -> numpy type (nibabel's; complex and RGB voxels are left to nibabel).
_NIFTI1_PLAIN_TYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4", 1024: "i8", 1280: "u8"}
_NIFTI1_VOXELS_START = 352  # after the 348-byte header and the 4-byte extension flag


def _read_plain_nifti1(path: Path) -> VolumeFile | None:
    """A NIfTI-1 file that nibabel would read as it is (no header repair, no extension, no voxel scaling), read with numpy
    alone, exactly as nibabel reads it: the same array (a copy-on-write memory map of a .nii, as nibabel's) and the same
    matrices to the last bit (tested against nibabel over header variants). None for any other file, which nibabel reads
    (and refuses in its own words). Importing nibabel was a sixth of the command line's time for an MNI-sized map.
    """
    compressed = path.name.lower().endswith(".gz")
    try:
        with (gzip.open if compressed else open)(path, "rb") as stream:
            header = _PlainNifti1Header.read(stream.read(_NIFTI1_VOXELS_START))
            if header is None:
                return None
            shape, dtype, offset = header.get_data_shape(), header.get_data_dtype(), header.get_data_offset()
            size = int(np.prod(shape)) * dtype.itemsize
            if compressed:  # as nibabel reads a compressed file: into a bytearray, in Fortran order
                stream.seek(offset)
                buffer = bytearray(size)
                if stream.readinto(buffer) != size:
                    return None
                data = np.ndarray(shape, dtype, buffer=buffer, order="F")
        if not compressed:
            if path.stat().st_size < offset + size:
                return None  # nibabel's reading says it is truncated
            data = np.memmap(path, dtype=dtype, mode="c", shape=shape, order="F", offset=offset)
        affine, choice, notes = nifti_transform(header, (list(shape) + [1, 1])[:3], path.name)
    except (OSError, EOFError, ValueError, zlib.error):  # a file nibabel should say what is wrong with
        return None
    return VolumeFile(_scalar_ijk(data, path).T, affine, choice, notes)


class _PlainNifti1Header:
    """The header methods of nibabel's Nifti1Header that reading a volume uses, computed as nibabel computes them (its
    nifti1.py, analyze.py and quaternions.py, MIT licence), for headers its checks pass without a problem.
    """

    quaternion_threshold = np.finfo(np.float32).eps * 3

    def __init__(self, fields: np.ndarray, endianness: str):
        self._structarr = fields
        self.endianness = endianness

    @classmethod
    def read(cls, block: bytes) -> "_PlainNifti1Header | None":
        """The header of ``block`` (the file's first 352 bytes), or None unless nibabel would read it unchanged."""
        if len(block) < _NIFTI1_VOXELS_START:
            return None
        dim0 = struct.unpack_from("<h", block, 40)[0]
        endianness = "<" if 1 <= dim0 <= 7 else ">"  # nibabel's guess (a dim[0] of 0 is left to it)
        fields = np.ndarray(shape=(), dtype=_NIFTI1_FIELDS if endianness == "<" else _NIFTI1_FIELDS.newbyteorder(">"), buffer=block[:348]).copy()
        dims, pixdim, code = fields["dim"], fields["pixdim"], int(fields["datatype"])
        plain = (
            int(fields["sizeof_hdr"]) == 348
            and fields["magic"].item() == b"n+1"
            and block[348] == 0  # no extensions
            and 3 <= int(dims[0]) <= 7
            and all(int(d) >= 1 for d in dims[1 : int(dims[0]) + 1])
            and code in _NIFTI1_PLAIN_TYPES
            and int(fields["bitpix"]) == np.dtype(_NIFTI1_PLAIN_TYPES[code]).itemsize * 8
            and bool(np.all(pixdim[1:4] > 0))
            and pixdim[0] in (-1, 1)
            and float(fields["vox_offset"]).is_integer()
            and float(fields["vox_offset"]) >= _NIFTI1_VOXELS_START
            and int(fields["qform_code"]) in range(6)
            and int(fields["sform_code"]) in range(6)
        )
        slope, intercept = float(fields["scl_slope"]), float(fields["scl_inter"])
        unscaled = slope == 0 or not np.isfinite(slope) or (slope == 1 and intercept == 0)
        return cls(fields, endianness) if plain and unscaled else None

    def __getitem__(self, key: str):
        return self._structarr[key]

    def get_data_shape(self) -> tuple[int, ...]:
        dims = self._structarr["dim"]
        return tuple(int(d) for d in dims[1 : dims[0] + 1])

    def get_data_dtype(self) -> np.dtype:
        return np.dtype(_NIFTI1_PLAIN_TYPES[int(self._structarr["datatype"])]).newbyteorder(self.endianness)

    def get_data_offset(self) -> int:
        return int(self._structarr["vox_offset"])

    def get_zooms(self) -> tuple:
        hdr = self._structarr
        return tuple(hdr["pixdim"][1 : hdr["dim"][0] + 1])

    def get_sform(self, coded: bool = False):
        hdr = self._structarr
        code = int(hdr["sform_code"])
        if code == 0 and coded:
            return None, 0
        out = np.eye(4)
        out[0, :] = hdr["srow_x"][:]
        out[1, :] = hdr["srow_y"][:]
        out[2, :] = hdr["srow_z"][:]
        return (out, code) if coded else out

    def get_qform(self, coded: bool = False):
        hdr = self._structarr
        code = int(hdr["qform_code"])
        if code == 0 and coded:
            return None, 0
        rotation = _quat2mat(_fillpositive([hdr["quatern_b"], hdr["quatern_c"], hdr["quatern_d"]], self.quaternion_threshold))
        vox = hdr["pixdim"][1:4].copy()
        vox[-1] *= hdr["pixdim"][0]
        out = np.eye(4)
        out[0:3, 0:3] = np.dot(rotation, np.diag(vox))
        out[0:3, 3] = [hdr["qoffset_x"], hdr["qoffset_y"], hdr["qoffset_z"]]
        return (out, code) if coded else out


def _fillpositive(xyz, w2_thresh) -> np.ndarray:
    """nibabel.quaternions.fillpositive: the unit quaternion (w >= 0) of its last three values, in the longest float."""
    xyz = np.asarray(xyz, dtype=np.longdouble)
    w2 = 1.0 - xyz @ xyz
    if np.abs(w2) < np.abs(w2_thresh):
        w = 0
    elif w2 < 0:
        raise ValueError(f"w2 should be positive, but is {w2:e}")
    else:
        w = np.sqrt(w2)
    return np.r_[w, xyz]


def _quat2mat(q) -> np.ndarray:
    """nibabel.quaternions.quat2mat: the rotation matrix of quaternion ``q`` (w, x, y, z)."""
    w, x, y, z = q
    nq = w * w + x * x + y * y + z * z
    if nq < np.finfo(float).eps:
        return np.eye(3)
    s = 2.0 / nq
    xs, ys, zs = x * s, y * s, z * s
    wx, wy, wz = w * xs, w * ys, w * zs
    xx, xy, xz = x * xs, x * ys, x * zs
    yy, yz, zz = y * ys, y * zs, z * zs
    return np.array([[1.0 - (yy + zz), xy - wz, xz + wy], [xy + wz, 1.0 - (xx + zz), yz - wx], [xz - wy, yz + wx, 1.0 - (xx + yy)]])


def _is_orthogonal(affine: np.ndarray, tolerance: float = 1e-4) -> bool:
    axes = np.asarray(affine, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(axes, axis=0)
    if not np.all(norms > 0):
        return False
    unit = axes / norms
    return bool(np.allclose(unit.T @ unit, np.eye(3), atol=tolerance))


# NRRD axis kinds that are positions in space (ITK counts these as domain axes).
_NRRD_DOMAIN_KINDS = ("domain", "space", "time")


def _read_nrrd(path: Path) -> VolumeFile:
    import nrrd

    data, header = nrrd.read(str(path))
    kinds = [str(k).lower() for k in header.get("kinds", ["domain"] * data.ndim)]
    # A non-spatial axis of size 1 (e.g. a one-component "list" or "vector" axis) holds one scalar volume: ITK reads
    # it as one (checked against slicer-core); drop it with its (empty) space direction.
    keep = [axis for axis in range(data.ndim) if not (kinds[axis] not in _NRRD_DOMAIN_KINDS and data.shape[axis] == 1)]
    non_spatial = [kinds[axis] for axis in keep if kinds[axis] not in ("domain", "space")]
    if non_spatial:
        raise InputError(
            f"{path.name} is not a scalar volume (axis kinds: {' '.join(kinds)}); export each component separately",
        )
    data = data.reshape([data.shape[axis] for axis in keep])
    if "space" in header or "space directions" in header:
        space = str(header.get("space", "left-posterior-superior")).lower()
        if space not in _NRRD_SPACES:
            raise InputError(f"{path.name} uses the NRRD space {space!r}; FAExport reads RAS, LPS or LAS spaces")
        directions = np.asarray(header["space directions"], dtype=np.float64)[keep]
        origin = np.asarray(header.get("space origin", np.zeros(directions.shape[1])), dtype=np.float64)
        if directions.shape == (2, 2):  # "space dimension: 2", as ITK writes a 2-D image
            directions, origin = _planar_axes(directions, origin)
        if directions.shape != (3, 3):
            raise InputError(
                f"{path.name} has {len(keep)} axes in a 3-D space, which Slicer (ITK) cannot read either; save it with a third "
                "axis (of size 1 for one slice) and its direction",
            )
        to_ras = _NRRD_SPACES[space]
    else:
        directions, origin = _nrrd_axes_without_space(header, data.shape, keep)
        to_ras = _NRRD_SPACES["left-posterior-superior"]  # ITK's default orientation
    ijk_to_ras = np.eye(4)
    ijk_to_ras[:3, :3] = to_ras @ directions.T  # NRRD lists one vector per axis
    ijk_to_ras[:3, 3] = to_ras @ origin
    return VolumeFile(_scalar_ijk(data, path).T, ijk_to_ras)


def _planar_axes(directions: np.ndarray, origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D image in a 2-D space as Slicer reads it (checked against slicer-core): its plane is z = 0 (LPS), the slice
    axis is the unit normal i x j (so the 3-D directions are right-handed) with spacing 1.
    """
    axes = np.zeros((3, 3))
    axes[:2, :2] = directions
    normal = np.cross(axes[0] / np.linalg.norm(axes[0]), axes[1] / np.linalg.norm(axes[1]))
    axes[2] = normal / np.linalg.norm(normal)
    return axes, np.append(origin[:2], 0.0)


def _nrrd_axes_without_space(header: dict, shape: tuple, keep: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned directions and origin of an NRRD without space fields, as ITK's NrrdImageIO reads it (checked
    against slicer-core and SimpleITK): spacing from ``spacings`` (else 1); origin from ``axis mins``, at the centre of the
    first cell (min + step/2, the step being the spacing or (max - min)/size), else 0; a 2-D image is one slice of spacing 1.
    """
    count = len(shape)
    spacings = _axis_values(header, "spacings", keep)
    mins = _axis_values(header, "axis mins", keep)
    maxs = _axis_values(header, "axis maxs", keep)
    step = spacings if spacings is not None else ((maxs - mins) / np.asarray(shape, dtype=np.float64) if mins is not None and maxs is not None else None)
    spacing = np.where(np.isfinite(spacings), spacings, 1.0) if spacings is not None else np.ones(count)
    origin = np.zeros(count)
    if mins is not None and step is not None and np.all(np.isfinite(mins)) and np.all(np.isfinite(step)):
        origin = mins + step / 2.0
    directions = np.diag(np.concatenate([spacing, np.ones(3 - count)])) if count < 3 else np.diag(spacing)
    return directions, np.concatenate([origin, np.zeros(3 - count)]) if count < 3 else origin


def _axis_values(header: dict, key: str, keep: list[int]) -> np.ndarray | None:
    if key not in header:
        return None
    return np.asarray(header[key], dtype=np.float64)[keep]


# NIfTI datatype codes of real floating-point voxels -> numpy type.
_NIFTI_FLOAT_TYPES = {16: "f4", 64: "f8"}


def _truncated(path: Path, needed: int, held: int) -> InputError:
    return InputError(f"{path.name} is truncated: its header describes {needed} bytes, the file holds {held}; export or copy the map again")


def nifti_nonfinite_count(path: str | Path, chunk_voxels: int = 1 << 22) -> int:
    """How many NaN or infinite voxels a NIfTI-1/2 file holds, read with numpy alone, chunk by chunk; InputError if
    the file ends before its last voxel (of any type: Slicer's reader would load a truncated file without a word).

    ITK's NIfTI reader, and so Slicer's, turns these voxels into 0 without a word; this lets the Slicer
    side refuse them as the command line does.
    """
    path = Path(path)
    try:
        return _nifti_nonfinite_count(path, chunk_voxels)
    except InputError:
        raise
    except (OSError, EOFError, ValueError, struct.error, zlib.error) as error:  # truncated or corrupt: gzip, numpy and struct fail their own ways
        raise unreadable(path, error) from None


def _nifti_nonfinite_count(path: Path, chunk_voxels: int) -> int:
    with (gzip.open if path.name.lower().endswith(".gz") else open)(path, "rb") as stream:
        try:
            header = stream.read(540)
        except (OSError, EOFError) as error:
            raise InputError(f"cannot read {path.name}: {' '.join(str(error).split())}; check that the file is complete and not corrupt") from None
        if len(header) < 348:
            raise InputError(f"{path.name} is too short to be a NIfTI file ({len(header)} bytes); export or copy the map again")
        sizeof = struct.unpack("<i", header[:4])[0]
        endian = "<" if sizeof in (348, 540) else ">"
        if struct.unpack(endian + "i", header[:4])[0] == 540:  # NIfTI-2
            datatype, bitpix = struct.unpack(endian + "hh", header[12:16])
            dims = struct.unpack(endian + "8q", header[16:80])
            offset = struct.unpack(endian + "q", header[168:176])[0]
        else:
            datatype, bitpix = struct.unpack(endian + "hh", header[70:74])
            dims = struct.unpack(endian + "8h", header[40:56])
            offset = int(struct.unpack(endian + "f", header[108:112])[0])
        voxels = int(np.prod([max(int(d), 1) for d in dims[1 : 1 + max(0, min(int(dims[0]), 7))]]))
        itemsize = max(int(bitpix), 8) // 8
        dtype = np.dtype(endian + _NIFTI_FLOAT_TYPES[datatype]) if datatype in _NIFTI_FLOAT_TYPES else np.dtype(f"V{itemsize}")
        needed = offset + voxels * dtype.itemsize
        stream.seek(offset)
        count, remaining, held = 0, voxels, offset
        while remaining > 0:
            try:
                chunk = stream.read(min(remaining, chunk_voxels) * dtype.itemsize)
            except (OSError, EOFError):  # a gzip stream cut short
                chunk = b""
            held += len(chunk)
            data = np.frombuffer(chunk[: len(chunk) - len(chunk) % dtype.itemsize], dtype=dtype)
            if data.size == 0 or len(chunk) % dtype.itemsize:
                raise _truncated(path, needed, held)
            if datatype in _NIFTI_FLOAT_TYPES:
                count += int(data.size - np.count_nonzero(np.isfinite(data)))
            remaining -= data.size
    return count
