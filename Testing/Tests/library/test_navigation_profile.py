"""The navigation profile (``--profile navigation``) and the Real World Value Mapping of ``mr`` and ``sc``.

Proof, by independent readers:
- dcm2niix, SimpleITK/GDCM and pydicom's modality LUT read a navigation series as exactly round(value x factor), with
  the factor of the quantity's unit (FA x10000, MD in mm2/s x10^6), at every voxel, within 1e-4 mm;
- pydicom reads, in every file: RescaleSlope "1" and intercept "0", one integer window for the series, the Real World
  Value Mapping (slope 1/factor, the unit's UCUM code, the quantity's code) taking each stored value back to the map's
  value within half a step, the series' smallest and largest stored values in SS, and slice thickness equal to the
  spacing between the files' positions; dciodvfy finds no error;
- what navigation systems cannot take is refused in one line with nothing written (non-square pixels, a unit unknown,
  another mode), a factor that does not fit is replaced by one that does with a warning, and the coarse-scale rule
  holds for a factor given;
- ``mr`` and ``sc`` carry a Real World Value Mapping equal to their rescale (pydicom decodes through it within the
  bound; dciodvfy zero errors), none when the unit is unknown; a file whose mapping was changed is refused by the
  read-back.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, fa_like, run_cli, series_files, write_volume
from readers import compare, dciodvfy_errors, read_dcm2niix, read_pydicom, read_pydicom_multiframe, read_simpleitk

POSITION_TOLERANCE_MM = 1e-4
UCUM = "UCUM"
# case -> (geometry, values from fa_like(shape), CLI options, factor, unit code, quantity code)
NAVIGATION_CASES = {
    "fa-axial": ("axial", lambda v: v, (), 10000.0, "1", "110808"),
    "fa-oblique": ("oblique-square", lambda v: v, (), 10000.0, "1", "110808"),
    "md": ("axial", lambda v: v * np.float32(0.003), ("--quantity", "MD"), 1e6, "mm2/s", "113202"),
    "t1-ms": ("axial", lambda v: np.float32(300) + v * np.float32(4000), ("--quantity", "T1", "--unit", "ms"), 1.0, "ms", "113063"),
}


def geometry(name: str):
    if name == "oblique-square":  # the oblique grid with square in-plane pixels (its own are 0.9375 x 0.9765625)
        from conftest import make_affine, rotation

        return dataclasses.replace(GEOMETRIES["oblique"], affine=make_affine(rotation(17.0, 11.5, -23.0), (0.9375, 0.9375, 2.2), (-120.1, -98.7, 33.3)))
    return GEOMETRIES[name]


@pytest.fixture(scope="module")
def navigation_exports(tmp_path_factory):
    """``get(case)`` -> (truth, affine, JSON series entry, files, stderr), each case exported once."""
    cache = {}

    def get(case: str):
        if case not in cache:
            geometry_name, values_of, options, _, _, _ = NAVIGATION_CASES[case]
            grid = geometry(geometry_name)
            truth = values_of(fa_like(grid.shape)).astype(np.float32)
            folder = tmp_path_factory.mktemp(case)
            source = write_volume(folder / "map.nii.gz", truth, grid.affine)
            result = run_cli("export", str(source), str(folder / "out"), "--profile", "navigation", *options, "--json")
            assert result.returncode == 0, result.stderr
            report = json.loads(result.stdout)["series"][0]
            cache[case] = (truth, grid.affine, report, series_files(report), result.stderr)
        return cache[case]

    return get


@pytest.mark.parametrize("reader", ["dcm2niix", "simpleitk", "pydicom"])
@pytest.mark.parametrize("case", list(NAVIGATION_CASES))
def test_navigation_series_reads_back_as_value_times_factor(navigation_exports, tmp_path, case, reader):
    """Readers that apply the modality LUT (slope 1) get exactly round(value x factor) at every voxel, in place."""
    truth, affine, report, files, _ = navigation_exports(case)
    factor = NAVIGATION_CASES[case][3]
    if reader == "dcm2niix":
        read = read_dcm2niix(Path(report["directory"]), tmp_path / "dcm2niix")
    elif reader == "simpleitk":
        read = read_simpleitk(Path(report["directory"]))
    else:
        read = read_pydicom(files)
    comparison = compare(np.rint(truth.astype(np.float64) * factor), affine, read)
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
    assert comparison.max_value_error == 0.0, f"{reader}: {np.count_nonzero(comparison.errors)} voxels differ from round(value x {factor:g})"


@pytest.mark.parametrize("case", list(NAVIGATION_CASES))
def test_navigation_series_attributes(navigation_exports, case):
    """Slope 1, one integer window, the Real World Value Mapping back to the value within half a step, SS extremes,
    consistent slice spacing, the factor in the JSON and the description; dciodvfy finds no error.
    """
    _, _, report, files, stderr = navigation_exports(case)
    _, _, _, factor, unit, code = NAVIGATION_CASES[case]
    assert stderr == ""
    assert (report["profile"], report["mode"], report["plain_integers"], report["value_scale"]) == ("navigation", "mr", True, factor)
    assert (report["rescale_slope"], report["rescale_intercept"]) == (1.0, 0.0)
    assert report["series_description"].endswith(f" x{factor:.0f}")
    windows, positions, stored_all = set(), [], []
    for path in files:
        ds = pydicom.dcmread(str(path))
        raw = {keyword: ds.get_item(keyword).value for keyword in ("RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth")}
        raw = {keyword: value.decode().strip() if isinstance(value, bytes) else str(value) for keyword, value in raw.items()}
        assert (raw["RescaleSlope"], raw["RescaleIntercept"]) == ("1", "0")
        assert raw["WindowCenter"].lstrip("-").isdigit() and raw["WindowWidth"].isdigit() and int(raw["WindowWidth"]) >= 1
        windows.add((raw["WindowCenter"], raw["WindowWidth"]))
        assert list(ds.ImageType[:2]) == ["DERIVED", "SECONDARY"] and ds.Modality == "MR" and ds.SOPClassUID == pydicom.uid.MRImageStorage
        assert ds.PixelRepresentation == 1 and ds.BitsStored == 16
        (mapping,) = ds.RealWorldValueMappingSequence
        assert mapping.RealWorldValueSlope == 1.0 / factor and mapping.RealWorldValueIntercept == 0.0
        (units,) = mapping.MeasurementUnitsCodeSequence
        assert (units.CodeValue, units.CodingSchemeDesignator) == (unit, UCUM)
        assert mapping.QuantityDefinitionSequence[0].ConceptCodeSequence[0].CodeValue == code
        stored = ds.pixel_array.astype(np.float64)
        stored_all.append(stored)
        for keyword in ("RealWorldValueFirstValueMapped", "RealWorldValueLastValueMapped", "SmallestPixelValueInSeries", "LargestPixelValueInSeries"):
            element = mapping[keyword] if keyword.startswith("RealWorld") else ds[keyword]
            assert element.VR == "SS", (keyword, element.VR)
        assert mapping.RealWorldValueFirstValueMapped <= stored.min() and stored.max() <= mapping.RealWorldValueLastValueMapped
        assert ds.SmallestPixelValueInSeries <= stored.min() and stored.max() <= ds.LargestPixelValueInSeries
        assert float(ds.SliceThickness) == float(ds.SpacingBetweenSlices)
        normal = np.cross(np.asarray(ds.ImageOrientationPatient[:3], dtype=float), np.asarray(ds.ImageOrientationPatient[3:], dtype=float))
        positions.append(float(np.dot(normal, np.asarray(ds.ImagePositionPatient, dtype=float))))
        assert abs(float(ds.PixelSpacing[0]) - float(ds.PixelSpacing[1])) <= 1e-4
    assert len(windows) == 1, windows
    every = np.concatenate([s.ravel() for s in stored_all])
    assert (ds.SmallestPixelValueInSeries, ds.LargestPixelValueInSeries) == (every.min(), every.max())
    gaps = np.diff(sorted(positions))
    assert np.allclose(gaps, float(ds.SpacingBetweenSlices), atol=1e-4)
    for path in files[:: max(1, len(files) // 3)]:
        assert dciodvfy_errors(path) == []


@pytest.mark.parametrize("case", list(NAVIGATION_CASES))
def test_navigation_value_mapping_gives_the_values_back(navigation_exports, case):
    """Applying each file's Real World Value Mapping (as a reader that honours it does) gives the map's values within
    half a step (0.5 / factor), at every voxel.
    """
    truth, affine, _, files, _ = navigation_exports(case)
    factor = NAVIGATION_CASES[case][3]
    mappings = set()
    for path in files:
        (mapping,) = pydicom.dcmread(str(path), stop_before_pixels=True).RealWorldValueMappingSequence
        mappings.add((mapping.RealWorldValueSlope, mapping.RealWorldValueIntercept))
    assert len(mappings) == 1, mappings  # one mapping for the series, as one rescale
    ((slope, intercept),) = mappings
    read = read_pydicom(files)  # slope 1, intercept 0: the stored values, in place
    read.values = read.values * slope + intercept
    comparison = compare(truth.astype(np.float64), affine, read)
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
    assert comparison.max_value_error <= 0.5 / factor * (1 + 1e-9)


# What navigation systems cannot take is refused, before anything is written


def exported_or_refused(tmp_path: Path, values: np.ndarray, affine: np.ndarray, *options: str):
    source = write_volume(tmp_path / "map.nii.gz", values.astype(np.float32), affine)
    return run_cli("export", str(source), str(tmp_path / "out"), "--profile", "navigation", *options, "--json")


REFUSALS = {
    "non-square pixels": (
        "nonsquare",
        (),
        (
            "faexport: error: --profile navigation needs square in-plane pixels (Brainlab does not take others), and these slices' pixels are 0.8 mm "
            "wide and 1.3 mm high; resample the map to square in-plane pixels (e.g. 0.8 mm) first, or export it without --profile\n"
        ),
    ),
    "a quantity without unit": (
        "axial",
        ("--quantity", "T1"),
        "faexport: error: --profile navigation maps the stored values back to T1 in its unit in every file, and T1 has none: give --unit ms (or s)\n",
    ),
    "another mode": (
        "axial",
        ("--mode", "mr+pm"),
        "faexport: error: --profile navigation writes classic MR images (one file per slice), and mode mr+pm writes other series; leave --mode out, or give mr\n",
    ),
    "a factor too coarse": (
        "axial",
        ("--quantity", "MD", "--scale", "1000"),
        (
            "faexport: error: scale 1000 is too coarse for values 0 to 0.003: its step 0.001 leaves 3 steps across them and changes values by up to "
            "0.0005, more than FAExport allows (0.5% of their range, 1.5e-05); scales that keep the values: auto, any scale from 33333.3 to "
            "1.09223e+07; to export anyway, allow coarse scales (--allow-coarse-scale)\n"
        ),
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_navigation_refusals(tmp_path, case):
    """One line that says what navigation systems cannot take and the way out; exit 1, nothing written."""
    geometry_name, options, message = REFUSALS[case]
    grid = GEOMETRIES[geometry_name]
    values = fa_like(grid.shape) * np.float32(0.003) if "MD" in options else fa_like(grid.shape)
    result = exported_or_refused(tmp_path, values, grid.affine, *options)
    assert (result.returncode, result.stderr, result.stdout) == (1, message, "")
    assert not (tmp_path / "out").exists()


def test_navigation_factor_that_does_not_fit_is_replaced_and_said(tmp_path):
    """FA up to 4 does not fit int16 at x10000: stored at the largest power of ten that fits (x1000), read back exactly as
    round(value x 1000) by SimpleITK, and the warning says the factor is not the usual one.
    """
    grid = GEOMETRIES["axial"]
    values = fa_like(grid.shape) * np.float32(4.0)
    result = exported_or_refused(tmp_path, values, grid.affine)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (series,) = report["series"]
    assert series["value_scale"] == 1000.0 and series["series_description"] == "FA x1000"
    assert report["warnings"][0] == (
        "FA values from 0 to 4 do not fit int16 at the navigation factor 10000 of unit 1; stored at x1000 instead: readers get FA x 1000"
    )
    comparison = compare(np.rint(values.astype(np.float64) * 1000.0), grid.affine, read_simpleitk(Path(series["directory"])))
    assert comparison.max_value_error == 0.0


def test_navigation_takes_a_given_factor(tmp_path):
    """``--scale 1000`` is the factor: FA stored as round(value x 1000), the mapping's slope 1/1000."""
    grid = GEOMETRIES["axial"]
    values = fa_like(grid.shape)
    result = exported_or_refused(tmp_path, values, grid.affine, "--scale", "1000")
    assert result.returncode == 0, result.stderr
    (series,) = json.loads(result.stdout)["series"]
    files = series_files(series)
    assert series["value_scale"] == 1000.0
    assert pydicom.dcmread(str(files[0])).RealWorldValueMappingSequence[0].RealWorldValueSlope == 1.0 / 1000.0
    comparison = compare(np.rint(values.astype(np.float64) * 1000.0), grid.affine, read_pydicom(files))
    assert comparison.max_value_error == 0.0


# mr and sc: the Real World Value Mapping beside the rescale


@pytest.mark.parametrize("mode", ["mr", "sc"])
@pytest.mark.parametrize("options", [(), ("--plain-integers",)], ids=["rescale", "plain-integers"])
def test_integer_encodings_carry_the_value_mapping(tmp_path, mode, options):
    """The mapping's slope and intercept are the rescale's (1/factor for plain integers), its range covers the stored
    values in the pixels' VR (SS for mr, US for sc), its unit and quantity are coded; decoding through it gives the
    values within the bound; dciodvfy finds no error.
    """
    grid = GEOMETRIES["oblique"]
    values = fa_like(grid.shape)
    source = write_volume(tmp_path / "fa.nii.gz", values, grid.affine)
    result = run_cli("export", str(source), str(tmp_path / "out"), "--mode", mode, *options, "--json")
    assert result.returncode == 0, result.stderr
    (series,) = json.loads(result.stdout)["series"]
    files = series_files(series)
    decoded = []
    for path in files:
        ds = pydicom.dcmread(str(path))
        (mapping,) = ds.RealWorldValueMappingSequence
        slope = 1.0 / series["value_scale"] if series["plain_integers"] else float(ds.RescaleSlope)
        assert (mapping.RealWorldValueSlope, mapping.RealWorldValueIntercept) == (slope, float(ds.RescaleIntercept))
        assert mapping.MeasurementUnitsCodeSequence[0].CodeValue == "1" and mapping.LUTLabel == "1"
        assert mapping.QuantityDefinitionSequence[0].ConceptCodeSequence[0].CodeValue == "110808"
        vr = "SS" if mode == "mr" else "US"
        assert (mapping["RealWorldValueFirstValueMapped"].VR, mapping["RealWorldValueLastValueMapped"].VR) == (vr, vr)
        stored = ds.pixel_array.astype(np.float64)
        assert mapping.RealWorldValueFirstValueMapped <= stored.min() and stored.max() <= mapping.RealWorldValueLastValueMapped
        decoded.append((ds, stored * mapping.RealWorldValueSlope + mapping.RealWorldValueIntercept))
        assert dciodvfy_errors(path) == []
    if mode == "mr":
        read = read_pydicom(files)
        read.values = read.values / series["value_scale"]  # the modality LUT's values; the mapping's must agree
        mapped = np.stack([values_.T for _, values_ in sorted(decoded, key=lambda item: _along_normal(item[0]))], axis=-1)
        assert np.array_equal(mapped, read.values) or np.abs(mapped - read.values).max() <= 1e-12
    else:
        read, ds = read_pydicom_multiframe(files[0])
        read.values = read.values / series["value_scale"]
    comparison = compare(values.astype(np.float64), grid.affine, read)
    assert comparison.max_value_error <= series["max_quantization_error"] * (1 + 1e-9)


def _along_normal(ds) -> float:
    orientation = np.asarray(ds.ImageOrientationPatient, dtype=float)
    return float(np.dot(np.cross(orientation[:3], orientation[3:]), np.asarray(ds.ImagePositionPatient, dtype=float)))


def test_no_value_mapping_without_a_unit(tmp_path):
    """T1 without --unit: mr writes no mapping (its Type 1 unit would be a guess), and says the unit nowhere else either."""
    grid = GEOMETRIES["axial"]
    source = write_volume(tmp_path / "t1.nii.gz", np.float32(300) + fa_like(grid.shape) * np.float32(4000), grid.affine)
    result = run_cli("export", str(source), str(tmp_path / "out"), "--quantity", "T1", "--json")
    assert result.returncode == 0, result.stderr
    (series,) = json.loads(result.stdout)["series"]
    assert series["unit"] is None
    for path in series_files(series):
        assert "RealWorldValueMappingSequence" not in pydicom.dcmread(str(path), stop_before_pixels=True)
