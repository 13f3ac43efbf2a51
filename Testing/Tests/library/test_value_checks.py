"""Values: integer maps stay exact, a scale too coarse for the values is refused (or allowed explicitly, with a warning),
and values that do not fit what the quantity means are exported with a warning.

Values are read back by dcm2niix, SimpleITK and pydicom, never by FAExportLib; refusals are exact messages with
nothing written.
"""

import json
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
from conftest import run_cli
from readers import compare, dciodvfy_errors, decoded_values, read_dcm2niix, read_simpleitk, read_simpleitk_file

from FAExportLib import CoarseScaleError, export_volume, preview

AFFINE = np.array([[1.0, 0, 0, -10], [0, 1.0, 0, -20], [0, 0, 2.0, 5], [0, 0, 0, 1]])


def write_map(path: Path, values_ijk: np.ndarray) -> Path:
    image = nibabel.Nifti1Image(values_ijk, AFFINE)
    image.set_sform(AFFINE, 1)
    image.set_qform(AFFINE, 1)
    nibabel.save(image, path)
    return path


def fa_ijk(shape=(6, 5, 4)) -> np.ndarray:
    """FA-like values 0..1, with 0.5 (which scale 1 changes by the most, half a step)."""
    values = np.linspace(0.0, 1.0, int(np.prod(shape)), dtype=np.float32).reshape(shape)
    values[1, 1, 1] = 0.5
    return values


def export_ok(source: Path, output: Path, *options: str) -> tuple[dict, str]:
    result = run_cli("export", str(source), str(output), "--json", *options)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def assert_refused(source: Path, output: Path, message: str, *options: str) -> None:
    result = run_cli("export", str(source), str(output), *options)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"faexport: error: {message}\n")
    assert not output.exists()


# 1. Integer maps


LABELS = np.array([0, 1, 2, 17, 998, 999, 1000, 12345], dtype=np.int16)


@pytest.mark.parametrize("dtype", ["int16", "float32"])
@pytest.mark.parametrize("mode", ["mr", "sc"])
def test_auto_stores_an_integer_map_exactly_with_slope_1(tmp_path, dtype, mode):
    values = np.resize(LABELS, (6, 5, 4)).astype(dtype)
    if mode == "sc":
        values[0, 0, 0] = -7  # negative labels: sc shifts by its intercept, still exact
    source = write_map(tmp_path / "labels.nii", values)
    document, stderr = export_ok(source, tmp_path / "out", "--mode", mode, "--quantity", "Label")
    (series,) = document["series"]
    assert (series["rescale_slope"], series["max_quantization_error"], series["measured_max_error"]) == (1.0, 0.0, 0.0)
    assert stderr == ""
    truth = values.astype(np.float64)
    simpleitk = read_simpleitk(Path(series["directory"])) if mode == "mr" else read_simpleitk_file(Path(series["files"][0]))
    for read in (read_dcm2niix(Path(series["directory"]), tmp_path / "dcm2niix"), simpleitk):
        comparison = compare(truth, AFFINE, read)
        assert comparison.max_value_error == 0.0, read.reader  # 998 comes back as 998, not 998.99
    assert dciodvfy_errors(series["files"][0]) == []


def test_pm_warns_about_integers_float32_cannot_hold(tmp_path):
    values = np.full((3, 3, 2), 5, dtype=np.int32)
    values[1, 2, 1] = 2**24 + 1  # float32 stores 16777216
    values[0, 0, 0] = 2**24 + 2  # exactly representable: not counted
    source = write_map(tmp_path / "counts.nii", values)
    document, stderr = export_ok(source, tmp_path / "out", "--mode", "pm", "--quantity-code", "C1,99TEST,Count", "--unit", "{count},UCUM,count")
    warning = (
        "1 voxel holds an integer beyond 2^24 = 16777216 that float32 cannot store exactly (first at IJK 1,2,1): the Parametric "
        "Map stores them rounded to the nearest float32, up to 1 off"
    )
    assert document["warnings"] == [warning]
    assert stderr == f"faexport: warning: {warning}\n"
    (series,) = document["series"]
    assert series["max_quantization_error"] == 1.0
    dataset = pydicom.dcmread(series["files"][0])
    decoded = decoded_values(dataset)
    assert sorted(set(decoded.ravel().tolist())) == [5.0, 16777216.0, 16777218.0]


# 2. Values outside what the quantity means


@pytest.mark.parametrize(
    ("quantity", "edits", "warning"),
    [
        ("FA", {(1, 2, 3): 1.25, (0, 0, 1): -0.5}, "2 voxels of the FA map lie outside 0 to 1, what FA means (values -0.5 to 1.25; first at IJK 0,0,1)"),
        ("MD", {(4, 1, 2): -0.0001}, "1 voxel of the MD map lies outside at least 0, what MD means (values -0.0001 to 0.001; first at IJK 4,1,2)"),
    ],
)
@pytest.mark.parametrize("mode", ["mr", "pm"])
def test_values_outside_the_meaning_export_with_a_warning(tmp_path, quantity, edits, warning, mode):
    values = fa_ijk() * (0.001 if quantity == "MD" else 1.0)
    for (i, j, k), value in edits.items():
        values[i, j, k] = value
    source = write_map(tmp_path / "map.nii", values)
    document, stderr = export_ok(source, tmp_path / "out", "--quantity", quantity, "--mode", mode)
    expected = f"{warning}; exported as they are: check the map"
    assert document["warnings"] == [expected]
    assert stderr == f"faexport: warning: {expected}\n"
    read = compare(values, AFFINE, read_dcm2niix(Path(document["series"][0]["directory"]), tmp_path / "dcm2niix"))
    assert read.max_value_error <= document["series"][0]["max_quantization_error"] + 1e-6  # the overshoot is kept


def test_an_uncoded_quantity_has_no_meaning_to_check(tmp_path):
    values = fa_ijk() * 5 - 2
    document, stderr = export_ok(write_map(tmp_path / "map.nii", values), tmp_path / "out", "--quantity", "T2star")
    assert (document["warnings"], stderr) == ([], "")


# 3. A scale too coarse for the values


FA_SCALE_1 = (
    "scale 1 is too coarse for values 0 to 1: its step 1 leaves 1 steps across them and changes values by up to 0.5, more than "
    "FAExport allows (0.5% of their range, 0.005)"
)


def test_fa_at_scale_1_is_refused_with_the_scales_that_would_do(tmp_path):
    source = write_map(tmp_path / "fa.nii", fa_ijk())
    assert_refused(
        source,
        tmp_path / "out",
        f"{FA_SCALE_1}; scales that keep the values: 1000, 32000, auto, any scale from 100 to 32766.9; to export anyway, allow coarse scales "
        "(--allow-coarse-scale)",
        "--scale",
        "1",
    )


def test_a_coarse_scale_is_exported_only_when_allowed_and_says_what_it_costs(tmp_path):
    values = fa_ijk()
    source = write_map(tmp_path / "fa.nii", values)
    document, stderr = export_ok(source, tmp_path / "out", "--scale", "1", "--allow-coarse-scale")
    warning = f"{FA_SCALE_1}; exported anyway, as asked (coarse scales allowed)"
    assert document["warnings"] == [warning]
    assert stderr == f"faexport: warning: {warning}\n"
    read = read_dcm2niix(Path(document["series"][0]["directory"]), tmp_path / "dcm2niix")
    assert set(np.unique(read.values)) == {0.0, 1.0}  # what the warning says: the values are gone


@pytest.mark.parametrize(
    ("values", "scale", "message"),
    [
        (
            fa_ijk() * 0.003,
            "1000",
            ("scale 1000 is too coarse for values 0 to 0.003: its step 0.001 leaves 3 steps across them and changes values by up to "
            "0.0005, more than FAExport allows (0.5% of their range, 1.5e-05); scales that keep the values: auto, any scale from "
            "33333.3 to 1.09223e+07"),
        ),
        (
            1000.0 + fa_ijk() * 0.5,
            "auto",
            ("scale auto is too coarse for values 1000 to 1000.5: its step 0.0305338 leaves 16.4 steps across them and changes "
            "values by up to 0.0151, more than FAExport allows (0.5% of their range, 0.0025); scales that keep the values: none in 16 "
            "bits (export as pm, float32, or subtract the offset from the map first)"),
        ),
    ],
    ids=["diffusivity-at-x1000", "offset-map-at-auto"],
)
def test_coarse_scales_are_refused_before_writing(tmp_path, values, scale, message):
    source = write_map(tmp_path / "map.nii", values.astype(np.float32))
    assert_refused(source, tmp_path / "out", f"{message}; to export anyway, allow coarse scales (--allow-coarse-scale)", "--quantity", "MD", "--scale", scale)


def test_coarse_steps_that_change_nothing_are_fine(tmp_path):
    """A binary mask at scale 1: one step across the values, but every value stored exactly."""
    values = (fa_ijk() > 0.5).astype(np.float32)
    document, stderr = export_ok(write_map(tmp_path / "mask.nii", values), tmp_path / "out", "--scale", "1", "--quantity", "Mask")
    assert (document["warnings"], stderr, document["series"][0]["measured_max_error"]) == ([], "", 0.0)


def test_preview_applies_the_same_rule(tmp_path):
    array = fa_ijk().transpose(2, 1, 0)
    with pytest.raises(CoarseScaleError) as refused:
        preview(array, "1")
    with pytest.raises(CoarseScaleError) as refused_by_export:
        export_volume(array, AFFINE, tmp_path / "out", scale="1")
    assert str(refused.value) == str(refused_by_export.value)
    assert not (tmp_path / "out").exists()
    allowed = preview(array, "1", allow_coarse_scale=True, quantity="FA")
    exported = export_volume(array, AFFINE, tmp_path / "out", scale="1", allow_coarse_scale=True)
    assert allowed.warnings == exported.warnings == [f"{FA_SCALE_1}; exported anyway, as asked (coarse scales allowed)"]
    assert preview(array, "1000").warnings == []


def test_logic_preview_and_export_apply_the_rule(tmp_path):
    from FAExport import FAExportLogic

    import slicer

    scene = slicer.vtkMRMLScene()
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "FA")
    slicer.util.updateVolumeFromArray(node, fa_ijk().transpose(2, 1, 0))
    logic = FAExportLogic()
    with pytest.raises(CoarseScaleError, match=r"^scale 1 is too coarse"):
        logic.previewText(node, mode="mr", scale="1")
    text = logic.previewText(node, mode="mr", scale="1", allowCoarseScale=True)
    assert f"Warning: {FA_SCALE_1}; exported anyway, as asked (coarse scales allowed)" in text.split("\n")[1:]
    with pytest.raises(CoarseScaleError):
        logic.exportVolume(node, scale=1, outputFolder=tmp_path / "refused", addToDatabase=False)
    assert not (tmp_path / "refused").exists()
    result = logic.exportVolume(node, scale=1, allowCoarseScale=True, outputFolder=tmp_path / "out", addToDatabase=False)
    assert result.warnings == [f"{FA_SCALE_1}; exported anyway, as asked (coarse scales allowed)"]
    assert result.summary().endswith(f"Warning: {result.warnings[0]}")
    scene.Clear(True)
