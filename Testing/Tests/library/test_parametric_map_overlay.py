"""A Parametric Map that OHIF can overlay on the series it was computed from, and the reader-trap report of every export.

OHIF 3.9+ shows a Parametric Map only over its referenced series, with each frame matched to a source image of the same
rows, columns and orientation (../shared/docs/downstream-needs.md, section 4). Proof, read back by pydicom from the files
(the source series' own files give the expected references), dcmqi and dciodvfy:
- on the source's grid, every frame names the source image at its position (the first by instance number where the
  series repeats a position, as a DWI series does), the JSON says ``overlay_ready``; dcmqi reads the values exactly;
- on another grid, or without a source, ``overlay_ready`` is false with the reason, and a warning says it when a source
  was given; the references stay (every source image, shared);
- the JSON's ``reader_traps`` say which known traps apply, consistently with the attributes pydicom reads from the files.
"""

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, fa_like, make_affine, run_cli, series_files, write_volume
from readers import dciodvfy_errors
from test_pm_sc_values_and_geometry import assert_bit_exact, read_dcmqi

from FAExportLib.reader_traps import TRAPS

GRID = GEOMETRIES["oblique"]


def export_json(source: Path, outdir: Path, *options: str) -> dict:
    result = run_cli("export", str(source), str(outdir), *options, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def source_series(tmp_path: Path, affine: np.ndarray, shape=GRID.shape, name: str = "source") -> Path:
    """An MR series on the grid ``affine`` (FAExport's own mr export of another map: any MR series would do)."""
    values = np.flip(fa_like(shape), 0).copy()
    path = write_volume(tmp_path / f"{name}.nii.gz", values, affine)
    (series,) = export_json(path, tmp_path / name)["series"]
    return Path(series["directory"])


def positions_to_instances(folder: Path) -> dict:
    """Each source image's position (rounded to 1e-4 mm) -> (instance number, SOP instance UID), read with pydicom."""
    found = {}
    for path in sorted(folder.iterdir()):
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        found.setdefault(tuple(round(float(v), 4) for v in ds.ImagePositionPatient), []).append((int(ds.InstanceNumber), ds.SOPInstanceUID))
    return found


def frame_sources(ds) -> list:
    """(frame position, the one SOP instance UID its Derivation Image group names) of each frame."""
    pairs = []
    for frame in ds.PerFrameFunctionalGroupsSequence:
        (derivation,) = frame.DerivationImageSequence
        (image,) = derivation.SourceImageSequence
        assert image.PurposeOfReferenceCodeSequence[0].CodeValue == "121322"
        pairs.append((tuple(round(float(v), 4) for v in frame.PlanePositionSequence[0].ImagePositionPatient), image.ReferencedSOPInstanceUID))
    return pairs


def test_on_the_source_grid_each_frame_names_its_source_image(tmp_path):
    truth = fa_like(GRID.shape)
    source = source_series(tmp_path, GRID.affine)
    report = export_json(write_volume(tmp_path / "fa.nii.gz", truth, GRID.affine), tmp_path / "out", "--mode", "pm", "--source-dicom", str(source))
    (series,) = report["series"]
    (path,) = series_files(series)
    ds = pydicom.dcmread(str(path))
    expected = {position: items[0][1] for position, items in positions_to_instances(source).items()}
    assert sorted(frame_sources(ds)) == sorted(expected.items())
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == pydicom.dcmread(str(next(source.iterdir())), stop_before_pixels=True).SeriesInstanceUID
    assert "DerivationImageSequence" not in ds.SharedFunctionalGroupsSequence[0]
    assert (series["overlay_ready"], series["overlay_problem"], report["warnings"]) == (True, None, [])
    overlay = {item["trap"]: item for item in series["reader_traps"]}["pm-overlay-only"]
    assert overlay["applies"] is False
    assert dciodvfy_errors(path) == []
    assert_bit_exact(truth, GRID.affine, read_dcmqi(path, tmp_path / "dcmqi")[0])


def test_a_series_repeating_positions_gives_the_first_image_at_each(tmp_path):
    """A DWI-like source (two images at every position, one series): each frame names the lower instance number's."""
    source = source_series(tmp_path, GRID.affine)
    second = source_series(tmp_path, GRID.affine, name="second")
    first_uid = pydicom.dcmread(str(next(source.iterdir())), stop_before_pixels=True).SeriesInstanceUID
    count = len(list(source.iterdir()))
    for path in sorted(second.iterdir()):  # the second series' images join the first series, numbered after them
        ds = pydicom.dcmread(str(path))
        ds.SeriesInstanceUID = first_uid
        ds.InstanceNumber = int(ds.InstanceNumber) + count
        ds.save_as(source / f"b{path.name}", enforce_file_format=True)
    report = export_json(write_volume(tmp_path / "fa.nii.gz", fa_like(GRID.shape), GRID.affine), tmp_path / "out", "--mode", "pm", "--source-dicom", str(source))
    (series,) = report["series"]
    assert series["overlay_ready"] is True
    by_position = positions_to_instances(source)
    assert all(len(items) == 2 for items in by_position.values())
    expected = {position: min(items)[1] for position, items in by_position.items()}
    assert sorted(frame_sources(pydicom.dcmread(series_files(series)[0]))) == sorted(expected.items())


GRID_MISMATCHES = {
    "spacing": (make_affine(np.eye(3), (1.0, 1.0, 1.5), (0.0, 0.0, 0.0)), make_affine(np.eye(3), (1.1, 1.1, 1.5), (0.0, 0.0, 0.0)), None,
                "the source images have another pixel spacing than the map's slices"),
    "size": (make_affine(np.eye(3), (1.0, 1.0, 1.5), (0.0, 0.0, 0.0)), None, (12, 22, 24), "the source images are 12x22 pixels and the map's slices 12x20"),
    "slices": (make_affine(np.eye(3), (1.0, 1.0, 1.5), (0.0, 0.0, 0.0)), make_affine(np.eye(3), (1.0, 1.0, 1.5), (0.0, 0.0, 0.75)), None,
               "24 of the map's 24 slices lie where the source series has no image"),
}


@pytest.mark.parametrize("case", list(GRID_MISMATCHES))
def test_on_another_grid_the_map_says_why_it_cannot_be_overlaid(tmp_path, case):
    map_affine, source_affine, source_shape, problem = GRID_MISMATCHES[case]
    source = source_series(tmp_path, source_affine if source_affine is not None else map_affine, shape=source_shape or GRID.shape)
    report = export_json(write_volume(tmp_path / "fa.nii.gz", fa_like(GRID.shape), map_affine), tmp_path / "out", "--mode", "pm", "--source-dicom", str(source))
    (series,) = report["series"]
    assert (series["overlay_ready"], series["overlay_problem"]) == (False, problem)
    assert report["warnings"] == [f"OHIF cannot overlay the Parametric Map on its source series: {problem}; it references the series, and other readers show it on its own"]
    ds = pydicom.dcmread(series_files(series)[0])
    (derivation,) = ds.SharedFunctionalGroupsSequence[0].DerivationImageSequence
    instances = {uid for items in positions_to_instances(source).values() for _, uid in items}
    assert {item.ReferencedSOPInstanceUID for item in derivation.SourceImageSequence} == instances
    assert "DerivationImageSequence" not in ds.PerFrameFunctionalGroupsSequence[0]
    overlay = {item["trap"]: item for item in series["reader_traps"]}["pm-overlay-only"]
    assert (overlay["applies"], overlay["note"]) == (True, f"{problem}: OHIF will not display it")
    assert dciodvfy_errors(series_files(series)[0]) == []


def test_without_a_source_the_map_is_not_overlay_ready_and_no_warning_says_so(tmp_path):
    report = export_json(write_volume(tmp_path / "fa.nii.gz", fa_like(GRID.shape), GRID.affine), tmp_path / "out", "--mode", "pm")
    (series,) = report["series"]
    assert (series["overlay_ready"], series["overlay_problem"], report["warnings"]) == (False, "it names no source series (the series the map was computed from)", [])


# The reader-trap report


def stored_frames(files) -> list:
    """Every slice's stored integers, read by pydicom (one file per slice, or the frames of one file)."""
    frames = []
    for path in files:
        pixels = pydicom.dcmread(path).pixel_array
        frames.extend(pixels if pixels.ndim == 3 else [pixels])
    return frames


def whole_extremes(stored, slope: float, intercept: float) -> bool:
    """cornerstone3D's trigger (getPixelDataTypeFromMinMax): a slice whose smallest and largest decoded values are whole
    numbers, with stored values between them that decode to fractions.
    """
    low, high = int(stored.min()), int(stored.max())
    return (low * slope + intercept).is_integer() and (high * slope + intercept).is_integer() and high - low > 1


def raw(ds, keyword: str) -> str:
    value = ds.get_item(keyword).value
    return value.decode().strip() if isinstance(value, bytes) else str(value)


@pytest.mark.parametrize("options", [("--mode", "mr"), ("--mode", "sc"), ("--mode", "mr", "--plain-integers"), ("--profile", "navigation")])
def test_the_trap_report_agrees_with_the_files(tmp_path, options):
    """Each integer trap applies exactly when the written attributes and pixels (read by pydicom) call for it: a slice
    whose decoded extremes are whole numbers (cornerstone3D), a RescaleSlope below 1 (Weasis), a window that is not in integers (Horos), an MR rescale other than 1/0 (vtk-dicom), stored
    values that are the map times a factor (readers that ignore the value mapping).
    """
    axial = GEOMETRIES["axial"]  # square in-plane pixels, which the navigation profile needs
    report = export_json(write_volume(tmp_path / "fa.nii.gz", fa_like(axial.shape), axial.affine), tmp_path / "out", *options)
    (series,) = report["series"]
    ds = pydicom.dcmread(series_files(series)[0], stop_before_pixels=True)
    slope, intercept = float(raw(ds, "RescaleSlope")), float(raw(ds, "RescaleIntercept"))
    window = [raw(ds, "WindowCenter"), raw(ds, "WindowWidth")]
    expected = {
        "fractional-slope": slope < 1 and any(whole_extremes(frame, slope, intercept) for frame in stored_frames(series_files(series))),
        "small-slope": slope < 1,
        "window-rounding": not all(float(text) == round(float(text)) for text in window),
        "value-mapping-ignored": ds.RealWorldValueMappingSequence[0].RealWorldValueSlope != slope,
    }
    if ds.Modality == "MR":
        expected["window-units"] = (slope, intercept) != (1.0, 0.0)
    assert {item["trap"]: item["applies"] for item in series["reader_traps"]} == expected
    known = {trap.key: trap for trap in TRAPS}
    for item in series["reader_traps"]:
        assert (item["reader"], item["source"]) == (known[item["trap"]].reader, known[item["trap"]].source)
        assert item["note"]


def test_readme_trap_table_is_the_generated_one():
    """The README's table of reader traps is the one FAExportLib.reader_traps generates (one source of truth)."""
    from conftest import REPO

    from FAExportLib.reader_traps import markdown_table

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- reader traps table: generated by FAExportLib.reader_traps.markdown_table() -->\n", "\n<!-- end of reader traps table -->"
    assert readme[readme.index(begin) + len(begin) : readme.index(end)] == markdown_table()


# Resampled onto the source grid


RESAMPLE_GRIDS = {
    "finer and shifted": make_affine(np.eye(3), (1.3, 1.3, 2.0), (-10.5 + 0.7, -20.25 + 0.9, 5.125 + 1.1)),
    "flipped left-right": make_affine(np.diag([-1.0, 1.0, 1.0]), (1.3, 1.3, 2.0), (-10.5 + 9.8, -20.25 + 0.9, 5.125 + 1.1)),
}


@pytest.mark.parametrize("case", list(RESAMPLE_GRIDS))
def test_resampled_onto_the_source_grid_the_map_is_overlay_ready_with_simpleitks_values(tmp_path, case):
    """``--resample-to-source``: the map (1 x 1 x 1.5 mm) on a source grid of 1.3 x 1.3 x 2 mm lying inside it; every frame
    references its source image, and the values are SimpleITK's linear resampling of the input (an independent
    interpolator) within float32 rounding; the warning and ``resampling_change`` say how much interpolation changed.
    """
    import SimpleITK as sitk

    axial = GEOMETRIES["axial"]
    truth = fa_like(axial.shape)
    source = source_series(tmp_path, RESAMPLE_GRIDS[case], shape=(8, 14, 15))
    fa = write_volume(tmp_path / "fa.nii.gz", truth, axial.affine)
    report = export_json(fa, tmp_path / "out", "--mode", "pm", "--source-dicom", str(source), "--resample-to-source")
    (series,) = report["series"]
    assert (series["overlay_ready"], series["overlay_problem"]) == (True, None)
    change = series["resampling_change"]
    assert 0.0 < change < 0.2
    assert report["warnings"] == [
        f"{fa} resampled onto the source series' grid (8 x 14 x 15 voxels) by trilinear interpolation, which changes values by up to {change:.6g} from the map's nearest voxel",
    ]
    (path,) = series_files(series)
    ds = pydicom.dcmread(str(path))
    expected = {position: items[0][1] for position, items in positions_to_instances(source).items()}
    assert sorted(frame_sources(ds)) == sorted(expected.items())
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(source)))
    reference = reader.Execute()
    resampled = sitk.Resample(sitk.ReadImage(str(fa)), reference, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat64)
    by_position = {}
    for frame_index, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        position = [float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient]
        by_position[tuple(round(v, 3) for v in position)] = frame_index
    frames = np.frombuffer(ds.FloatPixelData, dtype="<f4").reshape(int(ds.NumberOfFrames), ds.Rows, ds.Columns)
    values = sitk.GetArrayFromImage(resampled)  # [slice, row, column] in the reference's own slice order
    for k in range(values.shape[0]):
        origin = reference.TransformIndexToPhysicalPoint((0, 0, k))
        frame = frames[by_position[tuple(round(v, 3) for v in origin)]]
        assert np.abs(frame.astype(np.float64) - values[k]).max() <= 1e-6, k
    assert dciodvfy_errors(path) == []


def test_resampling_needs_a_source_and_a_regular_one(tmp_path):
    fa = write_volume(tmp_path / "fa.nii.gz", fa_like(GRID.shape), GRID.affine)
    result = run_cli("export", str(fa), str(tmp_path / "out"), "--mode", "pm", "--resample-to-source")
    assert (result.returncode, result.stderr) == (
        1,
        "faexport: error: --resample-to-source resamples the map onto the grid of the series it was computed from, and none is given; give it with --source-dicom\n",
    )
    source = source_series(tmp_path, GRID.affine)
    files = sorted(source.iterdir())
    files[len(files) // 2].unlink()  # a slice missing in the middle: positions no longer evenly spaced
    result = run_cli("export", str(fa), str(tmp_path / "out"), "--mode", "pm", "--source-dicom", str(source), "--resample-to-source")
    assert (result.returncode, result.stderr) == (
        1,
        (
            "faexport: error: the source series cannot be a grid to resample onto: its slices are not evenly spaced; give a series of evenly spaced "
            "single-frame images as --source-dicom, or leave --resample-to-source out\n"
        ),
    )
    assert not (tmp_path / "out").exists()
