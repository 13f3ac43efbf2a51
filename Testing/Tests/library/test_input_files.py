"""Input files read exactly as Slicer (ITK) reads them, or refused in one line; warnings when the file is ambiguous.

Every geometry is checked against Slicer's own reading of the input (slicer-core's storage node) or SimpleITK's, and the
written DICOM is read back by SimpleITK (GDCM) and dcm2niix, never by FAExportLib.
"""

import json
import subprocess
import sys
from pathlib import Path

import nibabel
import nrrd
import numpy as np
import pytest
from conftest import GEOMETRIES, map_values, run_cli, write_nifti
from readers import compare, read_dcm2niix, read_simpleitk, read_slicer_volume_file

POSITION_TOLERANCE_MM = 1e-4


def export_json(source: Path, output: Path, *options: str) -> tuple[dict, subprocess.CompletedProcess]:
    result = run_cli("export", str(source), str(output), "--json", *options)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result


def assert_lies_where_slicer_reads(source: Path, series_directory: Path, work: Path) -> None:
    """SimpleITK and dcm2niix read the DICOM at Slicer's voxel positions, with Slicer's values (within the bound)."""
    slicer_volume = read_slicer_volume_file(source)
    for read in (read_simpleitk(series_directory), read_dcm2niix(series_directory, work)):
        comparison = compare(slicer_volume.values, slicer_volume.affine, read)
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM, (read.reader, comparison.max_position_error_mm)
        assert comparison.max_value_error <= 1e-4, (read.reader, comparison.max_value_error)


# 1. NIfTI spatial units: ITK converts metres and micrometres to mm (spacing and origin); so must FAExport.


@pytest.mark.parametrize(("units", "millimetres"), [("micron", 1e-3), ("meter", 1e3), ("mm", 1.0), ("unknown", 1.0)])
@pytest.mark.parametrize("transform", ["sform", "qform", "none"])
def test_nifti_units_are_converted_to_mm_as_slicer_does(tmp_path, units, millimetres, transform):
    geometry = GEOMETRIES["oblique"]
    values = map_values("fa", geometry.shape)
    in_units = geometry.affine.copy()
    in_units[:3, :] /= millimetres  # the same grid, written in the file's units
    image = nibabel.Nifti1Image(values, in_units)
    image.set_sform(in_units, code=1 if transform == "sform" else 0)
    image.set_qform(in_units, code=1 if transform == "qform" else 0)
    image.header.set_xyzt_units(xyz=0 if units == "unknown" else units)
    source = tmp_path / "map.nii"
    nibabel.save(image, source)
    document, result = export_json(source, tmp_path / "out")
    assert result.stderr == ""
    assert document["input_transform"]["used"] == {"sform": "sform", "qform": "qform", "none": "pixdim"}[transform]
    slicer_volume = read_slicer_volume_file(source)
    if transform != "none":  # Slicer's reading is in mm: the grid of the ground truth
        assert np.allclose(slicer_volume.affine, geometry.affine, atol=1e-3 * max(1.0, millimetres))
    assert_lies_where_slicer_reads(source, Path(document["series"][0]["directory"]), tmp_path / "dcm2niix")


# 2. sform and qform that disagree: the one ITK uses, and a warning naming both.

SHIFT_MM = np.array([3.0, -2.0, 7.0])


@pytest.mark.parametrize(
    ("sform_code", "shear", "qform_code", "used", "warning"),
    [
        (
            2,
            False,
            1,
            "qform",
            ("map.nii: its sform (code 2, aligned) and qform (code 1, scanner) place the map up to {d} mm apart; FAExport used the qform, "
            "as Slicer (ITK) does, while FSL and nibabel use the sform: check that the DICOM lies where you expect"),
        ),
        (
            1,
            True,
            1,
            "qform",
            ("map.nii: its sform (code 1, scanner) and qform (code 1, scanner) place the map up to {d} mm apart; the sform is sheared, so "
            "FAExport used the qform, as Slicer (ITK) does, while FSL and nibabel use the sform: check that the DICOM lies where you expect"),
        ),
        (
            1,
            False,
            2,
            "sform",
            ("map.nii: its sform (code 1, scanner) and qform (code 2, aligned) place the map up to {d} mm apart; FAExport used the sform, "
            "as Slicer (ITK) does, while FSL and nibabel use the sform: check that the DICOM lies where you expect"),
        ),
    ],
    ids=["aligned-sform-scanner-qform", "sheared-sform", "scanner-sform-aligned-qform"],
)
def test_disagreeing_transforms_give_a_warning_line_a_json_field_and_slicers_geometry(tmp_path, sform_code, shear, qform_code, used, warning):
    geometry = GEOMETRIES["axial"]
    values = map_values("fa", geometry.shape)
    sform = geometry.affine.copy()
    if shear:
        sform[0, 1] = 0.3
    qform = geometry.affine.copy()
    qform[:3, 3] += SHIFT_MM
    source = write_nifti(tmp_path / "map.nii", values, sform, sform_code=sform_code, qform_code=qform_code, qform=qform)
    document, result = export_json(source, tmp_path / "out")
    transform = document["input_transform"]
    assert (transform["used"], transform["sform_code"], transform["qform_code"]) == (used, sform_code, qform_code)
    expected = warning.format(d=f"{transform['difference_mm']:.4g}")
    assert document["warnings"] == [expected]
    assert result.stderr == f"faexport: warning: {expected}\n"
    # The other transform really is elsewhere: at least the shift, measured at the corners.
    assert transform["difference_mm"] >= np.linalg.norm(SHIFT_MM) - 1e-3
    assert_lies_where_slicer_reads(source, Path(document["series"][0]["directory"]), tmp_path / "dcm2niix")


def test_agreeing_transforms_export_quietly(tmp_path):
    geometry = GEOMETRIES["oblique"]
    source = write_nifti(tmp_path / "map.nii.gz", map_values("fa", geometry.shape), geometry.affine)
    document, result = export_json(source, tmp_path / "out")
    assert (result.stderr, document["warnings"]) == ("", [])
    assert document["input_transform"]["difference_mm"] < 0.01


def test_the_logic_reports_the_transform_warning_of_a_file(tmp_path):
    from FAExport import FAExportLogic

    geometry = GEOMETRIES["axial"]
    qform = geometry.affine.copy()
    qform[:3, 3] += SHIFT_MM
    source = write_nifti(tmp_path / "map.nii", map_values("fa", geometry.shape), geometry.affine, sform_code=2, qform_code=1, qform=qform)
    result = FAExportLogic().exportFile(source, outputFolder=tmp_path / "out", addToDatabase=False)
    cli, _ = export_json(source, tmp_path / "cli")
    assert result.warnings == cli["warnings"] and len(result.warnings) == 1
    assert result.summary().endswith(f"Warning: {cli['warnings'][0]}")
    assert_lies_where_slicer_reads(source, Path(result.series[0].directory), tmp_path / "dcm2niix")


def test_the_logic_exports_a_micrometre_file_in_mm(tmp_path):
    from FAExport import FAExportLogic

    geometry = GEOMETRIES["anisotropic"]
    in_um = geometry.affine.copy()
    in_um[:3, :] *= 1000.0
    image = nibabel.Nifti1Image(map_values("fa", geometry.shape), in_um)
    image.set_sform(in_um, 1)
    image.set_qform(in_um, 1)
    image.header.set_xyzt_units(xyz="micron")
    source = tmp_path / "map.nii"
    nibabel.save(image, source)
    (series,) = FAExportLogic().exportFile(source, outputFolder=tmp_path / "out", addToDatabase=False).series
    read = read_simpleitk(Path(series.directory))
    assert np.allclose(np.linalg.norm(read.affine[:3, :3], axis=0), [0.9375, 0.9765625, 2.2], atol=1e-6)
    assert_lies_where_slicer_reads(source, Path(series.directory), tmp_path / "dcm2niix")


# 3. NRRD corners, as ITK reads them (or refused as ITK refuses them).

VOXELS = np.arange(24, dtype=np.float32).reshape(4, 3, 2) / 24.0
NRRD_CASES = {
    "2d-spacings-axis-mins": (VOXELS[:, :, 0], {"dimension": 2, "sizes": [4, 3], "spacings": [0.5, 0.6], "axis mins": [7.0, 8.0]}),
    "4d-list-axis-of-size-1": (
        VOXELS[..., None],
        {
            "dimension": 4,
            "space": "left-posterior-superior",
            "sizes": [4, 3, 2, 1],
            "space directions": np.array([[0.5, 0, 0], [0, 0.6, 0], [0, 0, 0.7], [np.nan] * 3]),
            "space origin": [1.0, 2.0, 3.0],
            "kinds": ["domain", "domain", "domain", "list"],
        },
    ),
    "4d-vector-axis-of-size-1-first": (
        VOXELS[None],
        {
            "dimension": 4,
            "space": "left-posterior-superior",
            "sizes": [1, 4, 3, 2],
            "space directions": np.array([[np.nan] * 3, [0.5, 0, 0], [0, 0.6, 0], [0, 0, 0.7]]),
            "space origin": [1.0, 2.0, 3.0],
            "kinds": ["vector", "domain", "domain", "domain"],
        },
    ),
    "axis-mins-and-spacings": (VOXELS, {"dimension": 3, "sizes": [4, 3, 2], "spacings": [0.5, 0.6, 0.7], "axis mins": [7.0, 8.0, 9.0]}),
    "axis-mins-and-maxs": (VOXELS, {"dimension": 3, "sizes": [4, 3, 2], "axis mins": [7.0, 8.0, 9.0], "axis maxs": [9.0, 9.2, 9.7]}),
    "spacings-only": (VOXELS, {"dimension": 3, "sizes": [4, 3, 2], "spacings": [0.5, 0.6, 0.7]}),
}


def write_nrrd_case(path: Path, data: np.ndarray, fields: dict) -> Path:
    nrrd.write(str(path), data, {"type": "float", "endian": "little", "encoding": "raw", **fields}, index_order="F")
    return path


@pytest.mark.parametrize("case", list(NRRD_CASES))
def test_nrrd_corners_are_read_as_slicer_reads_them(tmp_path, case):
    data, fields = NRRD_CASES[case]
    source = write_nrrd_case(tmp_path / "map.nrrd", data, fields)
    document, result = export_json(source, tmp_path / "out")
    assert result.stderr == ""
    assert_lies_where_slicer_reads(source, Path(document["series"][0]["directory"]), tmp_path / "dcm2niix")


@pytest.mark.parametrize("direction", [(1.0, 0.0, 0.0, 1.0), (0.0, 1.0, 1.0, 0.0), (0.6, -0.8, 0.8, 0.6)], ids=["identity", "swapped", "rotated"])
def test_a_2d_image_written_by_itk_is_one_slice_where_slicer_puts_it(tmp_path, direction):
    """ITK writes a 2-D image with "space dimension: 2"; Slicer reads it as one slice, its normal i x j."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(VOXELS[:, :, 0].T.copy())
    image.SetSpacing((0.5, 0.6))
    image.SetOrigin((7.0, -8.0))
    image.SetDirection(direction)
    source = tmp_path / "slice.nrrd"
    sitk.WriteImage(image, str(source))
    assert b"space dimension: 2" in source.read_bytes()[:400]
    document, result = export_json(source, tmp_path / "out")
    assert result.stderr == ""
    assert_lies_where_slicer_reads(source, Path(document["series"][0]["directory"]), tmp_path / "dcm2niix")


@pytest.mark.parametrize(
    ("data", "fields", "message"),
    [
        (
            VOXELS[:, :, 0],
            {"dimension": 2, "space": "left-posterior-superior", "sizes": [4, 3], "space directions": np.array([[0.5, 0, 0], [0, 0.6, 0]])},
            ("map.nrrd has 2 axes in a 3-D space, which Slicer (ITK) cannot read either; save it with a third axis (of size 1 for one "
            "slice) and its direction"),
        ),
        (
            VOXELS[..., None],
            {
                "dimension": 4,
                "space": "left-posterior-superior",
                "sizes": [4, 3, 2, 1],
                "space directions": np.array([[0.5, 0, 0], [0, 0.6, 0], [0, 0, 0.7], [np.nan] * 3]),
                "kinds": ["domain", "domain", "domain", "time"],
            },
            "map.nrrd is not a scalar volume (axis kinds: domain domain domain time); export each component separately",
        ),
    ],
    ids=["2d-in-3d-space", "4d-time-axis"],
)
def test_nrrd_that_itk_cannot_read_is_refused_in_one_line(tmp_path, data, fields, message):
    import SimpleITK as sitk

    source = write_nrrd_case(tmp_path / "map.nrrd", data, fields)
    with pytest.raises(RuntimeError):
        sitk.ReadImage(str(source))  # ITK refuses it too
    output = tmp_path / "out"
    result = run_cli("export", str(source), str(output))
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"faexport: error: {message}\n")
    assert not output.exists()


# 4. Unreadable files: one line with the reason and what to do; quiet success.


def nifti_bytes(tmp_path: Path) -> bytes:
    path = write_nifti(tmp_path / "whole.nii", map_values("fa", (4, 4, 4)), np.eye(4))
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("truncated.nii", lambda whole: whole[:-50], "truncated.nii is truncated: its header describes 608 bytes, the file holds 558; export or copy the map again"),
        ("empty.nii", lambda whole: b"", "empty.nii is empty (0 bytes); export or copy the map again"),
        ("empty.nrrd", lambda whole: b"", "empty.nrrd is empty (0 bytes); export or copy the map again"),
        (
            "header.nrrd",
            lambda whole: b"NRRD0004\ntype: float\n",
            "cannot read header.nrrd: Header is missing required field: dimension; check that the file is complete and not corrupt",
        ),
    ],
)
def test_unreadable_files_are_one_line_errors(tmp_path, name, content, message):
    source = tmp_path / name
    source.write_bytes(content(nifti_bytes(tmp_path)))
    output = tmp_path / "out"
    result = run_cli("export", str(source), str(output))
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"faexport: error: {message}\n")
    assert not output.exists()


def test_truncated_gzip_nifti_is_one_line(tmp_path):
    import gzip

    source = tmp_path / "truncated.nii.gz"
    source.write_bytes(gzip.compress(nifti_bytes(tmp_path))[:-30])
    result = run_cli("export", str(source), str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.startswith("faexport: error: cannot read truncated.nii.gz: ")
    assert result.stderr.endswith("; check that the file is complete and not corrupt\n")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_header_repairs_by_nibabel_do_not_reach_stderr(tmp_path):
    """nibabel logs 'pixdim[1,2,3] should be non-zero' on its own stderr handler while loading such a header."""
    image = nibabel.Nifti1Image(map_values("fa", (4, 4, 4)), np.eye(4))
    image.header["pixdim"][0] = 0
    image.header["pixdim"][2] = 0
    source = tmp_path / "odd.nii"
    nibabel.save(image, source)
    probe = subprocess.run(
        [sys.executable, "-c", f"import nibabel; nibabel.load({str(source)!r}).header.get_zooms()"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "pixdim" in probe.stderr  # what nibabel itself prints
    document, result = export_json(source, tmp_path / "out")
    assert result.stderr == ""
    assert len(document["series"]) == 1


@pytest.mark.parametrize("dtype", ["float32", "int16"])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_the_logic_refuses_a_truncated_nifti_that_slicers_reader_would_load(tmp_path, dtype, suffix):
    """Slicer's (ITK's) reader loads a truncated integer NIfTI without a word; exportFile checks the length first."""
    import gzip

    from FAExport import FAExportLogic

    from FAExportLib import InputError

    whole = write_nifti(tmp_path / "whole.nii", map_values("fa", (4, 4, 4)), np.eye(4)).read_bytes()
    if dtype == "int16":
        image = nibabel.Nifti1Image((map_values("fa", (4, 4, 4)) * 1000).astype(np.int16), np.eye(4))
        nibabel.save(image, tmp_path / "whole.nii")
        whole = (tmp_path / "whole.nii").read_bytes()
    cut = whole[:-40]
    source = tmp_path / f"map{suffix}"
    source.write_bytes(gzip.compress(cut) if suffix.endswith(".gz") else cut)
    with pytest.raises(InputError) as refused:
        FAExportLogic().exportFile(source, outputFolder=tmp_path / "out", addToDatabase=False)
    assert str(refused.value) == f"map{suffix} is truncated: its header describes {len(whole)} bytes, the file holds {len(cut)}; export or copy the map again"
    assert not (tmp_path / "out").exists()
