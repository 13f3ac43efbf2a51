"""Several maps of one subject (FA, MD, T1, ...) exported as series of one study: one patient, one study, one frame of
reference, consecutive series numbers, each map's own quantity; all written and verified, or nothing.

The command line is run as users run it (``python -m FAExportLib export A B OUTDIR``); what it wrote is read back with
SimpleITK (MR), pydicom's own decoding (Parametric Map) and checked by dciodvfy.
"""

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import fa_like, make_affine, rotation, run_cli, write_nifti, write_nrrd
from readers import compare, dciodvfy_errors, read_pydicom_multiframe, read_simpleitk

from FAExportLib import ExportMetadata, InputError, MapInput, export_volumes

SHAPE = (9, 8, 6)  # i, j, k


def grid(spacing=(2.0, 2.0, 2.5)) -> np.ndarray:
    return make_affine(rotation(8, -5, 12), spacing, (-40.0, 30.0, -12.0))


def maps_of_one_subject(folder: Path, names=("dti_FA.nii.gz", "dti_MD.nii.gz")) -> dict:
    """FA in 0..1 and MD in mm2/s on one grid, written as FSL's dtifit names them; name -> (path, values[i, j, k])."""
    fa = fa_like(SHAPE)
    md = (0.0004 + 0.0026 * fa[::-1, :, :]).astype(np.float32)
    affine = grid()
    written = {}
    for name, values in zip(names, (fa, md), strict=False):
        written[name] = (write_nifti(folder / name, values, affine), values)
    return written


def exported(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def header(series: dict) -> pydicom.Dataset:
    return pydicom.dcmread(series["files"][0], stop_before_pixels=True)


def test_two_maps_become_four_series_of_one_study_with_their_own_quantities_and_exact_values(tmp_path):
    maps = maps_of_one_subject(tmp_path)
    report = exported(run_cli("export", *(str(path) for path, _ in maps.values()), str(tmp_path / "out"), "--mode", "mr+pm", "--json"))

    series = report["series"]
    assert [(item["input"].split("/")[-1], item["mode"], item["quantity"]) for item in series] == [
        ("dti_FA.nii.gz", "mr", "FA"),
        ("dti_FA.nii.gz", "pm", "FA"),
        ("dti_MD.nii.gz", "mr", "MD"),
        ("dti_MD.nii.gz", "pm", "MD"),
    ]
    headers = [header(item) for item in series]
    assert len({ds.StudyInstanceUID for ds in headers}) == 1
    assert len({ds.PatientID for ds in headers}) == 1
    assert len({ds.FrameOfReferenceUID for ds in headers}) == 1
    assert len({ds.SeriesInstanceUID for ds in headers}) == 4
    assert [int(ds.SeriesNumber) for ds in headers] == [1001, 1002, 1003, 1004]
    assert [ds.SeriesDescription for ds in headers] == ["FA map", "FA map (Parametric Map)", "MD map (mm2/s)", "MD map (mm2/s) (Parametric Map)"]
    assert [item["input"] for item in report["inputs"]] == [str(path) for path, _ in maps.values()]
    for item, ds in zip(series, headers, strict=True):
        assert dciodvfy_errors(item["files"][0]) == [], item["directory"]
        path, truth = maps[Path(item["input"]).name]
        if item["mode"] == "mr":
            read = read_simpleitk(Path(item["directory"]))
        else:
            read, _ = read_pydicom_multiframe(Path(item["files"][0]))
            assert ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence[0].CodeValue == ("1" if "FA" in path.name else "mm2/s")
        comparison = compare(truth, grid(), read)
        assert comparison.max_position_error_mm < 1e-3
        assert comparison.max_value_error <= item["max_quantization_error"] * (1 + 1e-6) + 1e-12


def test_a_name_that_tells_no_quantity_is_refused_among_several_and_nothing_is_written(tmp_path):
    maps = maps_of_one_subject(tmp_path, names=("dti_FA.nii.gz", "tensor_metric.nii.gz"))
    result = run_cli("export", *(str(path) for path, _ in maps.values()), str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "tensor_metric.nii.gz" in result.stderr and "--quantity" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_one_quantity_given_applies_to_every_map(tmp_path):
    maps = maps_of_one_subject(tmp_path, names=("first.nii.gz", "second.nii.gz"))
    report = exported(run_cli("export", *(str(path) for path, _ in maps.values()), str(tmp_path / "out"), "--quantity", "FA", "--scale", "32000", "--allow-coarse-scale", "--json"))
    assert [item["quantity"] for item in report["series"]] == ["FA", "FA"]
    assert [int(header(item).SeriesNumber) for item in report["series"]] == [1001, 1002]


def test_maps_on_different_grids_share_a_frame_of_reference_only_when_their_files_state_one_space(tmp_path):
    fa = fa_like(SHAPE)
    t1 = (800 + 1200 * fa_like((12, 10, 8))).astype(np.float32)
    write_nifti(tmp_path / "dti_FA.nii.gz", fa, grid())
    write_nifti(tmp_path / "sub-01_T1map.nii.gz", t1, grid((1.5, 1.6, 1.875)))
    inputs = [str(tmp_path / "dti_FA.nii.gz"), str(tmp_path / "sub-01_T1map.nii.gz")]
    report = exported(run_cli("export", *inputs, str(tmp_path / "out"), "--unit", "ms", "--mode", "pm", "--json"))
    headers = [header(item) for item in report["series"]]
    assert len({ds.FrameOfReferenceUID for ds in headers}) == 1
    assert [ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence[0].CodeValue for ds in headers] == ["1", "ms"]

    write_nrrd(tmp_path / "t1map.nrrd", t1, grid((1.5, 1.6, 1.875)))  # NRRD says which axes, not which space
    result = run_cli("export", inputs[0], str(tmp_path / "t1map.nrrd"), str(tmp_path / "refused"), "--unit", "ms")
    assert result.returncode == 1
    assert "are on different grids and do not state one coordinate space, so they cannot share one frame of reference" in result.stderr
    assert "t1map.nrrd: 12x10x8 voxels of 1.5x1.6x1.875 mm, space not stated" in result.stderr
    assert "--frame-of-reference-uid UID" in result.stderr
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())


def test_a_map_that_fails_leaves_nothing_of_the_others(tmp_path):
    good = fa_like(SHAPE).transpose(2, 1, 0)
    bad = good.copy()
    bad[1, 2, 3] = np.nan
    with pytest.raises(InputError) as raised:
        export_volumes([MapInput(good, grid(), name="fa"), MapInput(bad, grid(), name="md", quantity="MD")], tmp_path / "out")
    assert "NaN or infinite" in str(raised.value)
    assert not any((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else True


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"quantity_code": "110808,DCM,Fractional Anisotropy"}, "--quantity-code is the code of one quantity, and these maps are of 2 (FA, MD)"),
        ({"unit": "ms"}, "--unit applies to the maps whose quantity has no unit of its own, and every map here has one (FA in 1, MD in mm2/s)"),
        ({"metadata": ExportMetadata(series_description="DTI")}, "--series-description names one series; 2 maps make 2"),
        ({"metadata": ExportMetadata(series_instance_uid="1.2.3")}, "2 maps make 2 series, so it cannot take one --series-instance-uid"),
        ({"metadata": ExportMetadata(series_number=2**31 - 1)}, "--series-number 2147483647: 2 maps make 2 series numbered from it"),
    ],
)
def test_options_that_name_one_series_or_quantity_are_refused_for_several_maps(tmp_path, keywords, message):
    fa = fa_like(SHAPE).transpose(2, 1, 0)
    maps = [MapInput(fa, grid(), name="fa", quantity="FA"), MapInput(fa * 0.003, grid(), name="md", quantity="MD")]
    with pytest.raises(InputError) as raised:
        export_volumes(maps, tmp_path / "out", **keywords)
    assert message in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_the_unit_goes_to_the_maps_whose_quantity_has_none(tmp_path):
    fa = fa_like(SHAPE).transpose(2, 1, 0)
    maps = [MapInput(fa, grid(), name="fa", quantity="FA"), MapInput(1000 + fa * 500, grid(), name="t2", quantity="T2")]
    result = export_volumes(maps, tmp_path / "out", mode="pm", unit="ms", metadata=ExportMetadata(series_number=7))
    assert [(item.quantity, item.unit, item.series_number, item.input) for item in result.series] == [("FA", "1", 7, "fa"), ("T2", "ms", 8, "t2")]
    assert {header({"files": item.files}).StudyInstanceUID for item in result.series} == {result.series[0].study_instance_uid}
