"""The command line reads plain NIfTI-1 files with numpy alone: exactly what nibabel reads, or nothing (then nibabel reads).

Each header variant is written with nibabel, then has fields set byte by byte (transform codes, quaternions, qfac,
pixdims, units, scaling, extensions, offsets, byte order), and is read both ways: the array (values, type, byte order,
shape), the IJK-to-RAS matrix (to the last bit), the transform choice and the warnings must be nibabel's.
"""

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import nibabel
import numpy as np
import pytest
from conftest import PACKAGE_ROOT

from FAExportLib import volume_files

# NIfTI-1 header offsets (nifti1.h)
OFFSETS = {
    "datatype": (70, "h"),
    "bitpix": (72, "h"),
    "vox_offset": (108, "f"),
    "scl_slope": (112, "f"),
    "scl_inter": (116, "f"),
    "xyzt_units": (123, "B"),
    "qform_code": (252, "h"),
    "sform_code": (254, "h"),
    "quatern_b": (256, "f"),
    "quatern_c": (260, "f"),
    "quatern_d": (264, "f"),
    "qoffset_x": (268, "f"),
}


def pixdim_offset(index: int) -> int:
    return 76 + 4 * index


def write(path: Path, values: np.ndarray, *, endianness: str = "<", fields: dict | None = None, pixdim: dict | None = None, extension: bool = False) -> Path:
    """A NIfTI-1 file by nibabel, then ``fields`` and ``pixdim`` set in its header bytes as given."""
    affine = np.array([[-0.9, 0.05, 0.0, 91.5], [0.04, 1.1, 0.02, -126.25], [0.0, -0.03, 2.2, -72.125], [0, 0, 0, 1]])
    header = nibabel.Nifti1Header(endianness=endianness)
    header.set_data_dtype(values.dtype)
    image = nibabel.Nifti1Image(values, affine, header)
    image.set_sform(affine, 1)
    image.set_qform(affine, 1)
    if extension:
        image.header.extensions.append(nibabel.nifti1.Nifti1Extension("comment", b"FAExport test"))
    raw = path.with_name(path.name.removesuffix(".gz"))
    nibabel.save(image, raw)
    data = bytearray(raw.read_bytes())
    for name, value in (fields or {}).items():
        offset, code = OFFSETS[name]
        struct.pack_into(endianness + code, data, offset, value)
    for index, value in (pixdim or {}).items():
        struct.pack_into(endianness + "f", data, pixdim_offset(index), value)
    if path.name.endswith(".gz"):
        raw.unlink()
        with gzip.open(path, "wb") as stream:
            stream.write(bytes(data))
    else:
        path.write_bytes(bytes(data))
    return path


def random_unit_quaternion(rng, w: float | None = None) -> tuple[float, float, float]:
    q = rng.normal(size=4)
    if w is not None:
        q[0] = w
    q /= np.linalg.norm(q)
    q *= np.sign(q[0]) or 1.0
    return tuple(float(v) for v in q[1:])


def variants():
    rng = np.random.default_rng(20261126)
    values = {
        "f4": rng.random((7, 6, 5), dtype=np.float32),
        "f8": rng.random((7, 6, 5)),
        "i2": rng.integers(-3000, 3000, (7, 6, 5), dtype=np.int16),
        "u1": rng.integers(0, 255, (7, 6, 5), dtype=np.uint8),
        "4d": rng.random((7, 6, 5, 1), dtype=np.float32),
    }
    cases = {}
    for suffix in (".nii", ".nii.gz"):
        for endianness in "<>":
            for kind, array in values.items():
                cases[f"{kind}-{endianness}{suffix}"] = (suffix, array, {"endianness": endianness})
    f4 = values["f4"]
    for sform in range(6):
        for qform in range(6):
            b, c, d = random_unit_quaternion(rng)
            fields = {"sform_code": sform, "qform_code": qform, "quatern_b": b, "quatern_c": c, "quatern_d": d}
            cases[f"codes-s{sform}-q{qform}"] = (".nii", f4, {"fields": fields})
    for n in range(12):  # rotations near 180 degrees: w close to 0, nibabel's threshold decides
        b, c, d = random_unit_quaternion(rng, w=[0.0, 1e-4, 1e-7, 3e-4][n % 4])
        cases[f"quaternion-w0-{n}"] = (".nii", f4, {"fields": {"sform_code": 2, "qform_code": 1, "quatern_b": b, "quatern_c": c, "quatern_d": d}})
    cases["quaternion-not-unit"] = (".nii", f4, {"fields": {"qform_code": 1, "sform_code": 0, "quatern_b": 0.9, "quatern_c": 0.5, "quatern_d": 0.1}})
    for qfac in (-1.0, 1.0, 0.0, 2.0):
        cases[f"qfac-{qfac}"] = (".nii", f4, {"pixdim": {0: qfac}})
    for name, pixdim in {"zero": {2: 0.0}, "negative": {1: -0.9}, "nan": {3: float("nan")}, "tiny": {1: 1e-6}}.items():
        cases[f"pixdim-{name}"] = (".nii", f4, {"pixdim": pixdim, "fields": {"qform_code": 1, "sform_code": 0}})
    for units in (0, 1, 2, 3, 10, 18, 7):
        cases[f"units-{units}"] = (".nii", f4, {"fields": {"xyzt_units": units}})
    for slope, intercept in ((float("nan"), 0.0), (0.0, 5.0), (1.0, 0.0), (2.0, 0.0), (1.0, 1.0), (float("inf"), 0.0), (1.0, float("nan"))):
        cases[f"scaling-{slope}-{intercept}"] = (".nii", values["i2"], {"fields": {"scl_slope": slope, "scl_inter": intercept}})
    cases["extension"] = (".nii", f4, {"extension": True})
    cases["offset-0"] = (".nii", f4, {"fields": {"vox_offset": 0.0}})
    cases["offset-fractional"] = (".nii", f4, {"fields": {"vox_offset": 352.5}})
    cases["datatype-bitpix-disagree"] = (".nii", f4, {"fields": {"bitpix": 16}})
    cases["datatype-unknown"] = (".nii", f4, {"fields": {"datatype": 3}})
    return cases


VARIANTS = variants()


def read_with_nibabel(path: Path):
    try:
        with volume_files._quiet_readers():
            return volume_files._read_nifti_with_nibabel(path)
    except Exception as error:  # noqa: BLE001 -- the outcome compared is nibabel's, whatever it is
        return error


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_plain_nifti_is_read_as_nibabel_reads_it(tmp_path, name):
    suffix, values, options = VARIANTS[name]
    path = write(tmp_path / f"map{suffix}", values, **options)
    fast = volume_files._read_plain_nifti1(path)
    expected = read_with_nibabel(path)
    if fast is None:  # left to nibabel: fine whatever nibabel does
        return
    assert not isinstance(expected, Exception), f"nibabel refuses what the fast reader reads: {expected!r}"
    assert type(fast.array) is type(expected.array)
    assert fast.array.dtype == expected.array.dtype and fast.array.shape == expected.array.shape
    assert fast.array.strides == expected.array.strides
    assert np.array_equal(fast.array, expected.array, equal_nan=True)
    assert fast.ijk_to_ras.tobytes() == expected.ijk_to_ras.tobytes(), (fast.ijk_to_ras, expected.ijk_to_ras)
    assert fast.transform == expected.transform
    assert fast.warnings == expected.warnings


PLAIN = [name for name in VARIANTS if name.split("-")[0] in ("f4", "f8", "i2", "u1", "4d", "codes", "units") or name in ("scaling-nan-0.0", "scaling-1.0-0.0", "qfac--1.0", "qfac-1.0")]


@pytest.mark.parametrize("name", PLAIN)
def test_plain_headers_are_read_without_nibabel(tmp_path, name):
    """Headers nibabel reads as they are: every file type, byte order and transform code, units, no scaling."""
    suffix, values, options = VARIANTS[name]
    assert volume_files._read_plain_nifti1(write(tmp_path / f"map{suffix}", values, **options)) is not None


def test_the_command_line_does_not_import_nibabel_for_a_plain_nifti(tmp_path):
    source = write(tmp_path / "fa.nii", np.random.default_rng(3).random((9, 8, 7), dtype=np.float32))
    probe = (
        "import sys, runpy; sys.argv = ['faexport', 'export', sys.argv[1], sys.argv[2], '--mode', 'mr']\n"
        "try:\n    runpy.run_module('FAExportLib', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as end:\n    assert end.code == 0, end.code\n"
        "print(sorted(m for m in ('nibabel', 'highdicom') if m in sys.modules))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    result = subprocess.run([sys.executable, "-c", probe, str(source), str(tmp_path / "out")], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
