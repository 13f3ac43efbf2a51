"""Bad input through the command line: exact one-line messages, a non-zero exit, and nothing written."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nibabel
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
AXIAL = np.array([[1.0, 0, 0, -10], [0, 1.0, 0, -20], [0, 0, 2.0, 5], [0, 0, 0, 1]])


def write_nifti(path: Path, data_ijk: np.ndarray, affine: np.ndarray = AXIAL) -> Path:
    image = nibabel.Nifti1Image(data_ijk, affine)
    image.set_sform(affine, 1)
    image.set_qform(affine, 1)
    nibabel.save(image, path)
    return path


def fa_like(shape=(6, 5, 4)) -> np.ndarray:
    values = np.linspace(0.0, 1.0, int(np.prod(shape)), dtype=np.float32).reshape(shape)
    return values


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "FAExport"))
    return subprocess.run([sys.executable, "-m", "FAExportLib", *args], capture_output=True, text=True, env=env, check=False)


def assert_refused(result: subprocess.CompletedProcess, message: str, output: Path) -> None:
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr == f"faexport: error: {message}\n"
    assert "Traceback" not in result.stderr
    # Nothing left behind: no series folder, no partial folder, no file.
    assert not output.exists() or not any(output.rglob("*"))


def test_nan_voxels_are_refused_with_count_and_location(tmp_path):
    data = fa_like()
    data[1, 2, 3] = np.nan
    data[4, 0, 0] = np.inf
    source = write_nifti(tmp_path / "fa.nii.gz", data)
    output = tmp_path / "out"
    result = run_cli("export", str(source), str(output))
    assert_refused(
        result,
        "2 voxels are NaN or infinite (at IJK 4,0,0; 1,2,3); fix the map, or replace them explicitly with a value (--replace-nonfinite VALUE)",
        output,
    )
    assert not output.exists()


def test_nan_voxels_replaced_only_when_asked(tmp_path):
    data = fa_like()
    data[1, 2, 3] = np.nan
    source = write_nifti(tmp_path / "fa.nii.gz", data)
    result = run_cli("export", str(source), str(tmp_path / "out"), "--replace-nonfinite", "0", "--json")
    assert result.returncode == 0, result.stderr
    import pydicom
    from pydicom.pixels import apply_modality_lut

    series = json.loads(result.stdout)["series"][0]
    # Slice k=3 of an axial volume is stored 4th (ascending along the normal).
    ds = pydicom.dcmread(sorted(series["files"])[3])
    assert float(ds.ImagePositionPatient[2]) == pytest.approx(5 + 2.0 * 3)
    decoded = apply_modality_lut(ds.pixel_array, ds)
    assert decoded[2, 1] == 0.0  # row j=2, column i=1
    assert abs(decoded[2, 2] - data[2, 2, 3]) <= series["max_quantization_error"]


def test_value_beyond_fixed_scale_names_value_and_fitting_scales(tmp_path):
    data = fa_like()
    data[3, 1, 2] = 1.5  # noisy FA above 1: does not fit x32000 in int16 (max 1.02397)
    source = write_nifti(tmp_path / "fa.nii.gz", data)
    output = tmp_path / "out"
    result = run_cli("export", str(source), str(output), "--scale", "32000")
    assert_refused(
        result,
        "the largest value 1.5 (at IJK 3,1,2) does not fit scale 32000: int16 stores -1.024 to 1.023969 at that scale; "
        "scales that fit: 1000, auto, any scale up to 21844.6",
        output,
    )


def test_negative_value_beyond_scale(tmp_path):
    data = fa_like() - 0.5
    data[0, 0, 0] = -40.0
    source = write_nifti(tmp_path / "map.nii.gz", data)
    output = tmp_path / "out"
    result = run_cli("export", str(source), str(output), "--scale", "1000")
    assert_refused(
        result,
        "the smallest value -40 (at IJK 0,0,0) does not fit scale 1000: int16 stores -32.768 to 32.767 at that scale; "
        "scales that fit: auto, any scale up to 819.2",
        output,
    )


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ("abc", "scale 'abc' is not 1000, 32000, auto or a positive number"),
        ("-5", "scale '-5' must be a positive finite number (the stored integer is value x scale)"),
        ("0", "scale '0' must be a positive finite number (the stored integer is value x scale)"),
        ("inf", "scale 'inf' must be a positive finite number (the stored integer is value x scale)"),
    ],
)
def test_invalid_scale(tmp_path, scale, message):
    source = write_nifti(tmp_path / "fa.nii.gz", fa_like())
    output = tmp_path / "out"
    assert_refused(run_cli("export", str(source), str(output), "--scale", scale), message, output)


def test_sheared_geometry_is_refused(tmp_path):
    sheared = AXIAL.copy()
    sheared[0, 1] = 0.2  # j axis tilted towards x: not perpendicular to i
    image = nibabel.Nifti1Image(fa_like(), sheared)
    image.set_sform(sheared, 1)
    image.set_qform(AXIAL, 0)
    nibabel.save(image, tmp_path / "fa.nii.gz")
    output = tmp_path / "out"
    result = run_cli("export", str(tmp_path / "fa.nii.gz"), str(output))
    assert_refused(
        result,
        "the voxel axes i and j are not perpendicular (sheared by 11.31 degrees); DICOM images need orthogonal axes: "
        "resample the volume (e.g. Slicer's Resample Scalar Volume) first",
        output,
    )


def test_four_dimensional_input_is_refused(tmp_path):
    source = write_nifti(tmp_path / "dwi.nii.gz", np.zeros((4, 4, 3, 5), dtype=np.float32))
    output = tmp_path / "out"
    assert_refused(
        run_cli("export", str(source), str(output)),
        "dwi.nii.gz holds a 4-D image of shape (4, 4, 3, 5), not one scalar 3-D volume; export each 3-D volume (component or time point) separately",
        output,
    )


def test_missing_and_unsupported_inputs(tmp_path):
    output = tmp_path / "out"
    missing = tmp_path / "nope.nii.gz"
    assert_refused(run_cli("export", str(missing), str(output)), f"the input file {missing} does not exist", output)
    other = tmp_path / "fa.mha"
    other.write_bytes(b"not a volume")
    assert_refused(
        run_cli("export", str(other), str(output)),
        "fa.mha is neither NIfTI (.nii, .nii.gz) nor NRRD (.nrrd, .nhdr); convert it first",
        output,
    )


def test_corrupt_nifti(tmp_path):
    source = tmp_path / "fa.nii"
    source.write_bytes(b"\x00" * 10)
    output = tmp_path / "out"
    result = run_cli("export", str(source), str(output))
    assert result.returncode == 1
    assert result.stderr.startswith("faexport: error: cannot read fa.nii: ")
    assert result.stderr.endswith("; check that the file is complete and not corrupt\n")
    assert result.stderr.count("\n") == 1
    assert not output.exists()


def test_output_is_a_file(tmp_path):
    source = write_nifti(tmp_path / "fa.nii.gz", fa_like())
    output = tmp_path / "out"
    output.write_text("I am a file")
    result = run_cli("export", str(source), str(output))
    assert result.returncode == 1
    assert result.stderr == f"faexport: error: the output folder {output} is a file; give a folder (it is created if missing)\n"
    assert output.read_text() == "I am a file"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--patient-name", "Doe\\John", "--patient-name contains a backslash, which DICOM reserves to separate values; remove it"),
        ("--series-description", "FA\nmap", "--series-description contains control characters (e.g. a newline or tab); remove them"),
        ("--patient-id", "X" * 65, "--patient-id is 65 characters long; DICOM (LO) allows at most 64"),
        ("--study-date", "2024-01-31", "--study-date must be a date written YYYYMMDD (e.g. 20240131), not '2024-01-31'"),
        ("--study-date", "20240231", "--study-date must be a date written YYYYMMDD (e.g. 20240131), not '20240231'"),
        (
            "--study-instance-uid",
            "1.2.03.4",
            "--study-instance-uid '1.2.03.4' is not a valid DICOM UID (digits and dots, no leading zeros, at most 64 characters); leave it out to generate one",
        ),
    ],
)
def test_hostile_metadata_is_refused(tmp_path, option, value, message):
    source = write_nifti(tmp_path / "fa.nii.gz", fa_like())
    output = tmp_path / "out"
    assert_refused(run_cli("export", str(source), str(output), option, value), message, output)


def test_usage_errors_are_one_line(tmp_path):
    result = run_cli("export", "only-one-argument")
    assert result.returncode == 2
    assert result.stderr == "faexport: error: the following arguments are required: OUTDIR (see --help)\n"


def test_existing_output_folder_content_is_untouched(tmp_path):
    source = write_nifti(tmp_path / "fa.nii.gz", fa_like())
    output = tmp_path / "out"
    output.mkdir()
    (output / "earlier.txt").write_text("keep me")
    first = json.loads(run_cli("export", str(source), str(output), "--json").stdout)["series"][0]
    second = json.loads(run_cli("export", str(source), str(output), "--json").stdout)["series"][0]
    assert (output / "earlier.txt").read_text() == "keep me"
    assert first["directory"] != second["directory"]
    assert first["series_instance_uid"] != second["series_instance_uid"]
    assert sorted(p.name for p in output.iterdir()) == sorted(["earlier.txt", Path(first["directory"]).name, Path(second["directory"]).name])
