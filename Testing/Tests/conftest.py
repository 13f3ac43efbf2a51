"""Shared fixtures: synthetic float maps on awkward geometries, written as NIfTI and as Slicer-style NRRD.

Everything here is independent of FAExportLib's internals: inputs are written with nibabel and pynrrd, the
exporter is run through its command line only (``python -m FAExportLib``), and its JSON report is parsed.

Ground truth of a case = (values indexed [i, j, k], 4x4 IJK->RAS affine in mm). Both file formats receive the same
float32 values and the same affine, rounded to float32 first, so that the NIfTI sform holds it exactly and the
NIfTI and NRRD files describe exactly the same grid.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import fuzz_profiles  # noqa: F401 -- registers the Hypothesis profiles before --hypothesis-profile is read
import nibabel
import nrrd
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO / "FAExport"
CLI_TIMEOUT = 300
LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])  # its own inverse


def rotation(x_degrees: float, y_degrees: float, z_degrees: float) -> np.ndarray:
    """Rotation about x, then y, then z (degrees) as a 3x3 matrix."""
    ax, ay, az = np.deg2rad([x_degrees, y_degrees, z_degrees])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def make_affine(directions: np.ndarray, spacing, origin) -> np.ndarray:
    """IJK->RAS affine from unit column directions, voxel spacing and origin, rounded to float32 values."""
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(directions, dtype=float) @ np.diag(spacing)
    affine[:3, 3] = origin
    return affine.astype(np.float32).astype(np.float64)


@dataclass(frozen=True)
class Geometry:
    """A test grid: shape (i, j, k) and IJK->RAS affine."""

    name: str
    shape: tuple
    affine: np.ndarray = field(compare=False)


GEOMETRIES = {
    geometry.name: geometry
    for geometry in [
        Geometry("axial", (12, 20, 24), make_affine(np.eye(3), (1.0, 1.0, 1.5), (-10.5, -20.25, 5.125))),
        Geometry(
            "oblique",
            (12, 20, 24),
            make_affine(rotation(17.0, 11.5, -23.0), (0.9375, 0.9765625, 2.2), (-120.123456789, -98.7654321, 33.3333333)),
        ),
        Geometry("anisotropic", (14, 18, 10), make_affine(np.eye(3), (0.9375, 0.9765625, 2.2), (-6.5625, -8.30078125, -9.9))),
        Geometry("nonsquare", (20, 12, 9), make_affine(np.eye(3), (0.8, 1.3, 2.0), (-7.6, 12.35, -3.0))),
        # FSL style: negative determinant, first axis pointing left (x_RAS decreases with i).
        Geometry("las", (13, 9, 7), make_affine(np.diag([-1.0, 1.0, 1.0]), (1.5, 1.2, 2.0), (9.0, -4.8, -6.0))),
    ]
}
FORMATS = ("nii", "nrrd")


def fa_like(shape) -> np.ndarray:
    """A smooth float32 field in [0, 1] with exact 0.0 and 1.0 and no mirror symmetry along any axis."""
    u, v, w = np.meshgrid(*[np.linspace(0.0, 1.0, n) for n in shape], indexing="ij")
    field_ = 0.45 * u + 0.25 * v**2 + 0.2 * w**3 + 0.1 * np.sin(2.3 * u + 1.7 * v * w + 0.4) + 0.05 * u * v
    field_ = (field_ - field_.min()) / (field_.max() - field_.min())
    values = field_.astype(np.float32)
    assert values.min() == 0.0
    assert values.max() == 1.0
    for axis in range(3):
        assert not np.allclose(values, np.flip(values, axis), atol=1e-3), f"field symmetric along axis {axis}"
    return values


def write_nifti(path: Path, values: np.ndarray, affine: np.ndarray, *, sform_code: int = 1, qform_code: int = 1, qform=None) -> Path:
    """NIfTI-1 with sform and qform, both code 1 (scanner) by default, float32 data.

    ``qform`` (default: ``affine``) and the two codes let a test write headers whose transforms disagree; the voxel
    spacing (pixdim) always follows the qform, as nibabel writes it.
    """
    image = nibabel.Nifti1Image(values.astype(np.float32), affine)
    image.set_sform(affine, code=sform_code)
    image.set_qform(affine if qform is None else qform, code=qform_code)
    nibabel.save(image, str(path))
    return path


# NRRD space name -> matrix taking RAS coordinates to that space (each is its own inverse).
NRRD_SPACES = {
    "left-posterior-superior": LPS_FROM_RAS,
    "right-anterior-superior": np.eye(4),
    "left-anterior-superior": np.diag([-1.0, 1.0, 1.0, 1.0]),
}


def write_nrrd(path: Path, values: np.ndarray, affine: np.ndarray, *, space: str = "left-posterior-superior") -> Path:
    """NRRD as Slicer writes it: LPS space, space directions (one vector per axis), space origin, gzip.

    A ``.nhdr`` path gets a detached header with its data file next to it. ``space`` may also be
    ``right-anterior-superior`` or ``left-anterior-superior``: the same grid written in that space's coordinates.
    """
    in_space = NRRD_SPACES[space] @ affine
    header = {
        "type": "float",
        "dimension": 3,
        "space": space,
        "sizes": np.array(values.shape),
        "space directions": in_space[:3, :3].T,  # row n = vector of axis n
        "kinds": ["domain", "domain", "domain"],
        "endian": "little",
        "encoding": "gzip",
        "space origin": in_space[:3, 3],
    }
    nrrd.write(str(path), values.astype(np.float32), header, index_order="F")
    return path


def write_volume(path: Path, values: np.ndarray, affine: np.ndarray) -> Path:
    """Write by extension: .nii / .nii.gz with nibabel, .nrrd / .nhdr with pynrrd."""
    if path.name.endswith((".nii", ".nii.gz")):
        return write_nifti(path, values, affine)
    if path.name.endswith((".nrrd", ".nhdr")):
        return write_nrrd(path, values, affine)
    raise ValueError(f"unknown extension: {path}")


def extension(file_format: str) -> str:
    """File extension for a format key: nii -> .nii.gz (the common case), nii-raw -> .nii, nrrd, nhdr."""
    return {"nii": ".nii.gz", "nii-raw": ".nii", "nrrd": ".nrrd", "nhdr": ".nhdr"}[file_format]


def run_cli(*args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``python -m FAExportLib ARGS`` with the package on PYTHONPATH, as the issue documents it."""
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "FAExportLib", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=timeout,
        check=False,
    )


@dataclass
class ExportedSeries:
    """One CLI export: its input, ground truth, the JSON entry and the absolute file paths it reports."""

    input_path: Path
    outdir: Path
    truth: np.ndarray
    affine: np.ndarray
    report: dict
    directory: Path
    files: list
    stdout: str
    stderr: str


def series_files(report: dict) -> list:
    """Absolute paths of the reported files (the contract allows absolute or relative to ``directory``)."""
    directory = Path(report["directory"])
    return [Path(f) if Path(f).is_absolute() else directory / f for f in report["files"]]


def export(input_path: Path, outdir: Path, *options: str, truth=None, affine=None) -> ExportedSeries:
    """Export ``input_path`` in mr mode with ``--json``; fail the test with the CLI's own words if it fails."""
    result = run_cli("export", str(input_path), str(outdir), "--mode", "mr", *options, "--json")
    assert result.returncode == 0, f"CLI failed (exit {result.returncode}): {result.stderr.strip()}"
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"--json stdout is not exactly one JSON object ({error}): {result.stdout!r}")
    assert isinstance(document, dict), document
    assert isinstance(document.get("series"), list), document
    assert len(document["series"]) == 1, f"mode mr should write one series: {document}"
    report = document["series"][0]
    return ExportedSeries(
        input_path=input_path,
        outdir=outdir,
        truth=truth,
        affine=affine,
        report=report,
        directory=Path(report["directory"]),
        files=series_files(report),
        stdout=result.stdout,
        stderr=result.stderr,
    )


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """One session folder for inputs and outputs."""
    return tmp_path_factory.mktemp("mr_roundtrip")


@pytest.fixture(scope="session")
def exported(workspace):
    """Export cache: ``exported(geometry, file_format, values_kind="fa", *options)`` -> ExportedSeries.

    Each distinct request is written and exported once per session. ``values_kind`` picks the map:
    ``fa`` (0..1), ``signed`` (-3..+5), ``diffusivity`` (0..0.003 mm2/s).
    """
    cache = {}

    def get(geometry_name: str, file_format: str = "nii", values_kind: str = "fa", *options: str) -> ExportedSeries:
        key = (geometry_name, file_format, values_kind, options)
        if key not in cache:
            geometry = GEOMETRIES[geometry_name]
            values = map_values(values_kind, geometry.shape)
            tag = "_".join([geometry_name, file_format.replace("-", ""), values_kind, *[o.strip("-") for o in options]])
            tag = "".join(c if c.isalnum() or c in "_." else "_" for c in tag)
            case = workspace / tag
            case.mkdir()
            source = write_volume(case / f"input{extension(file_format)}", values, geometry.affine)
            cache[key] = export(source, case / "out", *options, truth=values, affine=geometry.affine)
        return cache[key]

    return get


def map_values(kind: str, shape) -> np.ndarray:
    """The test maps, all derived from the same asymmetric field."""
    base = fa_like(shape)
    if kind == "fa":
        return base
    if kind == "signed":
        values = (-3.0 + 8.0 * base.astype(np.float64)).astype(np.float32)
        assert values.min() == -3.0
        assert values.max() == 5.0
        return values
    if kind == "diffusivity":
        return (0.003 * base.astype(np.float64)).astype(np.float32)
    raise ValueError(kind)
