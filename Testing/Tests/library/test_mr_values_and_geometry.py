"""Classic MR export (``--mode mr``), proven by independent readers.

Every series is written once through the command line (the session-wide ``exported`` cache of conftest) and read
back by readers that share no code with FAExportLib: dcm2niix, SimpleITK (GDCM), pydicom with its modality LUT, and
slicer-core's vtkITK GDCM reader as Slicer's DICOM plugin calls it. Slicer's own NIfTI/NRRD reader is the oracle for
the geometry the command line reads from its input. Values, positions, the written attributes and dciodvfy's verdict
are all checked on what is actually in the files.
"""

import math
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import FORMATS, GEOMETRIES, ExportedSeries, export, extension, map_values, run_cli, write_nifti, write_nrrd, write_volume
from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.uid import MRImageStorage
from readers import ReadBack, compare, dciodvfy_errors, read_dcm2niix, read_pydicom, read_simpleitk, read_slicer_volume_file, read_vtkitk, run_dciodvfy

POSITION_TOLERANCE_MM = 1e-4  # Docs/encodings.md (Geometry) holds every reader to this
READERS = ("dcm2niix", "simpleitk", "pydicom", "vtkitk")
DS_MAX_LENGTH = 16
GEOMETRY_NAMES = list(GEOMETRIES)


def read_series(reader: str, series: ExportedSeries, work: Path) -> ReadBack:
    """Read an exported series with one of the independent readers of ``readers.py``."""
    if reader == "dcm2niix":
        return read_dcm2niix(series.directory, work / "dcm2niix")
    if reader == "simpleitk":
        return read_simpleitk(series.directory)
    if reader == "pydicom":
        return read_pydicom(series.files)
    if reader == "vtkitk":
        return read_vtkitk(series.files)
    raise ValueError(reader)


def value_tolerance(series: ExportedSeries, read: ReadBack) -> float:
    """The reported worst-case quantization error, plus float32 rounding for readers that keep float32.

    dcm2niix (``float32=True``) keeps the rescale as the NIfTI float32 ``scl_slope``: |float32(slope) - slope| is at
    most slope x 2**-24, and |stored| <= 32767 makes that at most max|value| x 2**-24, half a float32 ulp of
    max|value|. If it converts the voxels to float32 instead, each one is rounded by at most half an ulp of
    max|value|. One float32 ulp of max|value| covers either (or both); float64 readers get no allowance at all.
    """
    bound = series.report["max_quantization_error"]
    if read.float32:
        bound += float(np.spacing(np.float32(np.max(np.abs(series.truth)))))
    return bound


def headers(series: ExportedSeries) -> list:
    """Every file of the series read by pydicom without pixels, in the order the JSON lists them."""
    return [pydicom.dcmread(str(path), stop_before_pixels=True) for path in series.files]


def raw_text(dataset, keyword: str) -> str:
    """The value of an element exactly as written in the file (padding removed), not pydicom's conversion."""
    element = dataset.get_item(tag_for_keyword(keyword))
    assert element is not None, f"{keyword} is missing"
    value = element.value
    if isinstance(value, bytes):
        return value.decode("ascii").rstrip(" \x00")
    return str(value)


def raw_ds_values(dataset, where: str = "") -> list:
    """(attribute path, value string) of every DS value in ``dataset`` and its sequences, from the raw bytes.

    Must be called on a freshly read dataset: elements pydicom has already converted no longer hold the file's text.
    """
    found = []
    for tag in dataset.keys():
        element = dataset.get_item(tag)
        name = where + (keyword_for_tag(tag) or str(tag))
        if element.VR == "SQ":
            for number, item in enumerate(dataset[tag].value):
                found += raw_ds_values(item, f"{name}[{number}].")
        elif element.VR == "DS":
            if element.value is None or element.value in (b"", ""):
                continue  # an empty Type 2 element holds no value
            assert isinstance(element, RawDataElement), f"{name} was converted before its raw text was read"
            text = element.value.decode("ascii").rstrip(" ")  # the trailing space pads to an even length
            found += [(name, value) for value in text.split("\\")]
    return found


def first_number_after(word: str, text: str) -> float | None:
    """The first decimal number that follows ``word`` (case-insensitive) on the same line of ``text``, if any."""
    match = re.search(re.escape(word) + r"[^\n]*?([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)", text, re.IGNORECASE)
    return float(match.group(1)) if match else None


def slice_normal(dataset) -> np.ndarray:
    """Row direction x column direction (LPS) of one image."""
    orientation = np.array([float(x) for x in dataset.ImageOrientationPatient])
    return np.cross(orientation[:3], orientation[3:])


# 1. Values and geometry through four independent DICOM readers


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize("geometry", GEOMETRY_NAMES)
def test_reader_gets_values_within_bound_and_exact_geometry(exported, tmp_path, geometry, file_format, reader):
    """Each reader decodes every voxel within the reported bound and places it within 1e-4 mm of the input grid."""
    series = exported(geometry, file_format)
    read = read_series(reader, series, tmp_path)
    comparison = compare(series.truth, series.affine, read)
    tolerance = value_tolerance(series, read)
    assert comparison.max_value_error <= tolerance, (
        f"{reader}: max value error {comparison.max_value_error:.6g} > {tolerance:.6g} (reported bound "
        f"{series.report['max_quantization_error']:.6g})"
    )
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM, f"{reader}: voxel centres off by {comparison.max_position_error_mm:.3g} mm"
    # Not a blank or constant image that happens to be within the bound: the full 0..1 range came back.
    assert read.values.min() <= tolerance
    assert read.values.max() >= 1.0 - tolerance


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize("geometry", GEOMETRY_NAMES)
def test_json_report_bounds_its_own_measurement(exported, geometry, file_format):
    """The measured error is within the bound, the auto bound of an FA map is below 2e-5, and the slope is the file's."""
    series = exported(geometry, file_format)
    report = series.report
    assert report["mode"] == "mr"
    assert 0.0 <= report["measured_max_error"] <= report["max_quantization_error"]
    assert report["max_quantization_error"] <= 2e-5, "auto scale on an FA map in 0..1 should be finer than 2e-5"
    assert report["max_quantization_error"] == pytest.approx(report["rescale_slope"] / 2, rel=1e-12)
    assert report["rescale_intercept"] == 0.0
    assert report["rescale_slope"] * 32767 >= 1.0, "FA = 1.0 must fit int16 at this slope"
    assert report["sop_class_uid"] == MRImageStorage
    first = headers(series)[0]
    assert float(raw_text(first, "RescaleSlope")) == report["rescale_slope"]
    assert len(series.files) == GEOMETRIES[geometry].shape[2], "one file per slice (k)"


# 2. Slicer as the oracle for how the command line reads NIfTI and NRRD


@pytest.mark.parametrize("file_format", [*FORMATS, "nhdr", "nii-raw"])
@pytest.mark.parametrize("geometry", GEOMETRY_NAMES)
def test_dicom_geometry_matches_slicers_reading_of_the_input(exported, geometry, file_format):
    """The DICOM series (pydicom, slice by slice) lies where Slicer's own storage node puts the input file."""
    series = exported(geometry, file_format)
    slicer_volume = read_slicer_volume_file(series.input_path)
    dicom = read_pydicom(series.files)
    comparison = compare(slicer_volume.values, slicer_volume.affine, dicom)
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM, (
        f"DICOM voxel centres are {comparison.max_position_error_mm:.3g} mm from where Slicer reads {series.input_path.name}"
    )
    # Same grid and the same values at each place: FAExport did not read the file mirrored or transposed.
    assert comparison.max_value_error <= series.report["max_quantization_error"]


# Header variants beyond what conftest writes by default, on the oblique grid. The qform, when it differs, is the
# same grid shifted by QFORM_SHIFT_MM, so a reader that takes the other transform is off by ~7.9 mm.
QFORM_SHIFT_MM = np.array([3.0, -2.0, 7.0])
# ITK (so Slicer) takes the sform only if its code is SCANNER_ANAT (1) and it has no shear, else the qform, else the
# sform; with neither it uses origin 0 and identity LPS directions (itkNiftiImageIO.cxx, SetImageIOOrientationFromNIfTI).
HEADER_VARIANTS = {
    "nifti-sform-scanner-qform-aligned": (".nii.gz", {"sform_code": 1, "qform_code": 2, "shift_qform": True}),
    "nifti-sform-only": (".nii.gz", {"sform_code": 1, "qform_code": 0, "shift_qform": True}),
    "nifti-qform-only": (".nii.gz", {"sform_code": 0, "qform_code": 1, "shift_qform": True}),
    "nifti-sform-aligned-qform-scanner": (".nii.gz", {"sform_code": 2, "qform_code": 1, "shift_qform": True}),
    "nifti-no-transform": (".nii.gz", {"sform_code": 0, "qform_code": 0, "shift_qform": False}),
    "nrrd-ras-space": (".nrrd", {"space": "right-anterior-superior"}),
    "nrrd-las-space": (".nrrd", {"space": "left-anterior-superior"}),
}


class GeometryMismatch(AssertionError):
    """The DICOM series does not lie where Slicer reads the input (distinct from a failed export)."""


def write_variant(path: Path, values: np.ndarray, affine: np.ndarray, options: dict) -> Path:
    """Write one header variant with conftest's writers."""
    if path.name.endswith(".nrrd"):
        return write_nrrd(path, values, affine, space=options["space"])
    qform = affine.copy()
    if options["shift_qform"]:
        qform[:3, 3] += QFORM_SHIFT_MM
    return write_nifti(path, values, affine, sform_code=options["sform_code"], qform_code=options["qform_code"], qform=qform)


@pytest.mark.parametrize("variant", list(HEADER_VARIANTS))
def test_header_variants_are_read_as_slicer_reads_them(tmp_path, variant):
    """Transform codes that disagree, no transform at all, NRRD in RAS or LAS space: the DICOM lies where Slicer puts it."""
    suffix, options = HEADER_VARIANTS[variant]
    geometry = GEOMETRIES["oblique"]
    values = map_values("fa", geometry.shape)
    source = write_variant(tmp_path / f"input{suffix}", values, geometry.affine, options)
    series = export(source, tmp_path / "out", truth=values, affine=geometry.affine)
    slicer_volume = read_slicer_volume_file(source)
    try:
        comparison = compare(slicer_volume.values, slicer_volume.affine, read_pydicom(series.files))
    except AssertionError as error:  # voxels off Slicer's grid
        raise GeometryMismatch(str(error)) from None
    if comparison.max_position_error_mm > POSITION_TOLERANCE_MM:
        raise GeometryMismatch(f"DICOM voxel centres are {comparison.max_position_error_mm:.3g} mm from Slicer's reading")
    assert comparison.max_value_error <= series.report["max_quantization_error"]


# 3. What is in the files


@pytest.mark.parametrize("geometry", GEOMETRY_NAMES)
def test_one_rescale_and_signed_int16_in_every_file(exported, geometry):
    """One RescaleSlope/Intercept text in every file, RescaleType US, stored as signed 16-bit integers."""
    series = exported(geometry, "nii")
    datasets = headers(series)
    slopes = {raw_text(ds, "RescaleSlope") for ds in datasets}
    intercepts = {raw_text(ds, "RescaleIntercept") for ds in datasets}
    assert len(slopes) == 1, f"several slopes in one series: {sorted(slopes)}"
    assert len(intercepts) == 1, f"several intercepts in one series: {sorted(intercepts)}"
    assert intercepts == {"0"}
    assert float(slopes.pop()) == series.report["rescale_slope"]
    for ds in datasets:
        assert ds.RescaleType == "US"
        assert ds.PixelRepresentation == 1
        assert ds.BitsAllocated == 16
        assert ds.BitsStored == 16
        assert ds.HighBit == 15
        assert ds.SamplesPerPixel == 1
        assert ds.PhotometricInterpretation == "MONOCHROME2"
    pixels = pydicom.dcmread(str(series.files[len(series.files) // 2])).pixel_array
    assert pixels.dtype == np.int16


@pytest.mark.parametrize("geometry", GEOMETRY_NAMES)
def test_identity_and_presentation_attributes(exported, geometry):
    """MR Image Storage, derived FAExport images, a window, one study/series/frame of reference, unique instances."""
    series = exported(geometry, "nii")
    datasets = headers(series)
    report = series.report
    for ds in datasets:
        assert ds.SOPClassUID == MRImageStorage
        assert ds.file_meta.MediaStorageSOPClassUID == MRImageStorage
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.Modality == "MR"
        assert ds.ImageType[0] == "DERIVED"
        assert ds.Manufacturer == "FAExport"
        assert "FA" in ds.SeriesDescription
        assert ds.SeriesDescription == report["series_description"]
        assert "WindowCenter" in ds
        assert "WindowWidth" in ds
        assert float(ds.WindowWidth) > 0
        assert ds.StudyInstanceUID == report["study_instance_uid"]
        assert ds.SeriesInstanceUID == report["series_instance_uid"]
        assert ds.FrameOfReferenceUID == report["frame_of_reference_uid"]
        assert ds.SeriesNumber == report["series_number"]
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert len({ds.get(keyword) for ds in datasets}) == 1, f"{keyword} differs between files"
    instance_uids = [ds.SOPInstanceUID for ds in datasets]
    assert len(set(instance_uids)) == len(datasets), "SOPInstanceUIDs are not unique"
    assert len({ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.FrameOfReferenceUID} & set(instance_uids)) == 0


def test_nonsquare_pixel_spacing_order(exported):
    """PixelSpacing is [spacing between rows (along j), spacing between columns (along i)], checked explicitly."""
    geometry = GEOMETRIES["nonsquare"]
    spacing_i, spacing_j, _ = np.linalg.norm(geometry.affine[:3, :3], axis=0)  # 0.8, 1.3 (float32-rounded)
    assert abs(spacing_i - spacing_j) > 0.1, "the test geometry must have clearly non-square pixels"
    size_i, size_j, _ = geometry.shape
    for ds in headers(exported("nonsquare", "nii")):
        assert (ds.Rows, ds.Columns) == (size_j, size_i)
        row_spacing, column_spacing = (float(x) for x in ds.PixelSpacing)
        assert [row_spacing, column_spacing] == pytest.approx([1.3, 0.8], abs=1e-6)
        assert row_spacing == pytest.approx(spacing_j, abs=1e-9), "PixelSpacing[0] must be the spacing between rows (j)"
        assert column_spacing == pytest.approx(spacing_i, abs=1e-9), "PixelSpacing[1] must be the spacing between columns (i)"
        # The column direction (down a column, row index increasing) is the j axis, in LPS.
        orientation = np.array([float(x) for x in ds.ImageOrientationPatient])
        j_lps = np.diag([-1.0, -1.0, 1.0]) @ geometry.affine[:3, 1] / spacing_j
        assert np.allclose(orientation[3:], j_lps, atol=1e-9)


@pytest.mark.parametrize("geometry", GEOMETRY_NAMES)
def test_slice_spacing_and_consistent_order(exported, geometry):
    """SliceThickness = SpacingBetweenSlices = slice spacing; InstanceNumber rises along the normal, one step apart."""
    series = exported(geometry, "nii")
    slice_spacing = float(np.linalg.norm(GEOMETRIES[geometry].affine[:3, 2]))
    datasets = sorted(headers(series), key=lambda ds: int(ds.InstanceNumber))
    assert [int(ds.InstanceNumber) for ds in datasets] == list(range(1, len(datasets) + 1))
    normal = slice_normal(datasets[0])
    positions = np.array([[float(x) for x in ds.ImagePositionPatient] for ds in datasets])
    for ds in datasets:
        assert float(ds.SliceThickness) == pytest.approx(slice_spacing, abs=1e-9)
        assert float(ds.SpacingBetweenSlices) == pytest.approx(slice_spacing, abs=1e-9)
        assert np.allclose(slice_normal(ds), normal, atol=1e-9), "all slices must share one orientation"
    steps = np.diff(positions, axis=0)
    along = steps @ normal
    assert np.all(along > 0), f"InstanceNumber does not increase along the slice normal: steps {along}"
    assert np.allclose(along, slice_spacing, atol=POSITION_TOLERANCE_MM)
    assert np.allclose(steps - np.outer(along, normal), 0.0, atol=POSITION_TOLERANCE_MM), "slices are not stacked along the normal"


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize("geometry", GEOMETRY_NAMES)
def test_every_ds_value_is_at_most_16_characters(exported, geometry, file_format):
    """Walk every element of every file; each DS value, as written in the file, has at most 16 characters."""
    series = exported(geometry, file_format)
    too_long = []
    keywords = set()
    for path in series.files:
        for name, value in raw_ds_values(pydicom.dcmread(str(path))):
            keywords.add(name)
            if len(value) > DS_MAX_LENGTH:
                too_long.append(f"{path.name} {name} {value!r} ({len(value)} characters)")
    assert not too_long, "\n".join(too_long)
    # The walk saw the DS elements that carry geometry and values.
    expected = {"ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness", "SpacingBetweenSlices", "RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"}
    assert expected <= keywords, f"DS walk missed {sorted(expected - keywords)}"


# 4. dciodvfy


@pytest.mark.parametrize("which", ["first", "middle"])
@pytest.mark.parametrize("geometry", GEOMETRY_NAMES)
def test_dciodvfy_reports_no_error(exported, geometry, which):
    """dciodvfy recognizes an MR image and reports no "Error" line (it exits 0 either way, so its text is parsed)."""
    series = exported(geometry, "nii")
    files = sorted(series.files, key=lambda p: int(pydicom.dcmread(str(p), stop_before_pixels=True).InstanceNumber))
    path = files[0] if which == "first" else files[len(files) // 2]
    lines = run_dciodvfy(path)
    assert "MRImage" in lines, f"dciodvfy did not validate {path.name} against the MR Image IOD:\n" + "\n".join(lines)
    errors = dciodvfy_errors(path)
    assert errors == [], "\n".join(errors)


# 5. Scales


@pytest.mark.parametrize(
    ("scale", "slope_text", "bound"),
    [("1000", "0.001", 5e-4), ("32000", "3.125e-05", 1.5625e-5), ("2500", "0.0004", 2e-4)],
    ids=["scale-1000", "scale-32000", "scale-2500-custom"],
)
def test_fixed_scale_writes_its_slope_and_bound(exported, tmp_path, scale, slope_text, bound):
    """A fixed scale gives slope 1/scale as an exact DS text, bound = half a step, and dcm2niix reads within it."""
    series = exported("oblique", "nii", "fa", "--scale", scale)
    assert {raw_text(ds, "RescaleSlope") for ds in headers(series)} == {slope_text}
    assert series.report["rescale_slope"] == float(slope_text)
    assert series.report["max_quantization_error"] == pytest.approx(bound, rel=1e-12)
    assert series.report["measured_max_error"] <= bound
    for reader in ("dcm2niix", "pydicom"):
        read = read_series(reader, series, tmp_path)
        comparison = compare(series.truth, series.affine, read)
        assert comparison.max_value_error <= value_tolerance(series, read), f"{reader}: {comparison.max_value_error:.6g} > {bound:.6g}"
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
    # The fixed scale was applied, not the auto one (which is finer than all three on this FA map).
    assert series.report["max_quantization_error"] > exported("oblique", "nii").report["max_quantization_error"]


def test_signed_map_round_trips_with_negatives(exported, tmp_path):
    """A map in -3..5: negative values are stored as negative int16 with intercept 0 and decoded back by readers."""
    series = exported("las", "nii", "signed")
    truth_min = float(series.truth.min())
    assert truth_min == -3.0
    assert raw_text(headers(series)[0], "RescaleIntercept") == "0"
    assert series.report["max_quantization_error"] <= 1.25 * 5.0 / 32767 / 2
    assert series.report["measured_max_error"] <= series.report["max_quantization_error"]
    stored_min = min(int(pydicom.dcmread(str(path)).pixel_array.min()) for path in series.files)
    assert stored_min < 0, "negative values must be stored as negative integers"
    for reader in READERS:
        read = read_series(reader, series, tmp_path / reader)
        comparison = compare(series.truth, series.affine, read)
        tolerance = value_tolerance(series, read)
        assert comparison.max_value_error <= tolerance, f"{reader}: {comparison.max_value_error:.6g} > {tolerance:.6g}"
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
        assert read.values.min() == pytest.approx(truth_min, abs=tolerance), f"{reader} lost the negative end"
        negative = comparison.truth < -tolerance
        assert np.any(negative)
        assert np.all(read.values.reshape(-1)[negative] < 0), f"{reader}: negative values came back non-negative"


def test_diffusivity_map_is_described_as_md(exported, tmp_path):
    """``--quantity MD`` on a 0..0.003 mm2/s map: described as MD, a window LINEAR spreads over its values, values
    within the bound.
    """
    series = exported("axial", "nii", "diffusivity", "--quantity", "MD")
    assert "MD" in series.report["series_description"]
    assert series.report["max_quantization_error"] <= 1.25 * 0.003 / 32767 / 2
    for ds in headers(series):
        assert "MD" in ds.SeriesDescription
        assert "FA" not in ds.SeriesDescription
        assert "MD" in ds.ImageType
        # The window is written for LINEAR (PS3.3 C.11.2.1.2.1), which spans c - 0.5 -/+ (w - 1)/2: within the map's values.
        center, width = float(ds.WindowCenter), float(ds.WindowWidth)
        low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
        assert "VOILUTFunction" not in ds
        assert series.truth.min() <= low < high <= series.truth.max() and high - low > 0.0005, (low, high)
    read = read_series("dcm2niix", series, tmp_path)
    comparison = compare(series.truth, series.affine, read)
    assert comparison.max_value_error <= value_tolerance(series, read)
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
    assert read.values.max() == pytest.approx(0.003, abs=value_tolerance(series, read))


# 6. Patient and series overrides


def test_patient_and_series_overrides_are_written_as_given(exported):
    """--patient-name, --patient-id and --series-description appear verbatim in every file and the report."""
    name, patient_id, description = "Doe^Jane", "PID-0042", "FA for navigation"
    series = exported("axial", "nii", "fa", "--patient-name", name, "--patient-id", patient_id, "--series-description", description)
    assert series.report["series_description"] == description
    for ds in headers(series):
        assert str(ds.PatientName) == name
        assert ds.PatientName.family_name == "Doe"
        assert ds.PatientName.given_name == "Jane"
        assert ds.PatientID == patient_id
        assert ds.SeriesDescription == description


# 7. Human summary


def test_human_summary_states_slope_and_worst_case_error(tmp_path):
    """Without --json the CLI prints a short summary naming the slope and the worst-case error, and exits 0."""
    geometry = GEOMETRIES["axial"]
    source = write_volume(tmp_path / f"input{extension('nii')}", map_values("fa", geometry.shape), geometry.affine)
    outdir = tmp_path / "out"
    result = run_cli("export", str(source), str(outdir), "--mode", "mr")
    assert result.returncode == 0, result.stderr
    assert not result.stdout.lstrip().startswith("{"), "no --json: expected a human summary, not JSON"
    folders = [p for p in outdir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == 1, folders
    files = sorted(folders[0].glob("*.dcm"))
    assert len(files) == geometry.shape[2]
    slope = float(raw_text(pydicom.dcmread(str(files[0]), stop_before_pixels=True), "RescaleSlope"))
    # The first number after "slope" is the slope; the first after "worst" is the worst-case error (half a step),
    # which the summary may round to 3 significant digits. The measured error is close to it, so it must not count.
    slope_said = first_number_after("slope", result.stdout)
    assert slope_said is not None and math.isclose(slope_said, slope, rel_tol=1e-9), f"summary does not state the slope {slope!r}:\n{result.stdout}"
    worst_said = first_number_after("worst", result.stdout)
    assert worst_said is not None and math.isclose(worst_said, slope / 2, rel_tol=5e-3), (
        f"summary does not state the worst-case error {slope / 2:.3g}:\n{result.stdout}"
    )
