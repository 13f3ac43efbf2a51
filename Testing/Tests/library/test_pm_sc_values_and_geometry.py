"""Parametric Map (``pm``), Secondary Capture (``sc``) and ``mr+pm`` exports, read back by independent readers.

Every export goes through the command line (``python -m FAExportLib export ... --mode pm|sc|mr+pm --json``). The
files are read back by dcmqi ``paramap2itkimage`` (Slicer's Parametric Map loader), dcm2niix, pydicom, highdicom
and SimpleITK, and each read-back is mapped voxel by voxel onto the ground truth with ``readers.compare``:
positions within 1e-4 mm, values bit-exact for the float32 Parametric Map and within the reported quantization
bound for the integer encodings. Attributes are checked with pydicom, validity with dciodvfy.
"""

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nrrd
import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, Geometry, export, make_affine, map_values, rotation, run_cli, series_files, write_volume
from readers import LPS_FROM_RAS, ReadBack, compare, dciodvfy_errors, read_dcm2niix, read_pydicom, read_pydicom_multiframe, read_simpleitk, read_simpleitk_file

POSITION_TOLERANCE_MM = 1e-4
PM_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.30"
SC_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word Secondary Capture
MR_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.4"
ROUND_TRIP_GEOMETRIES = ("axial", "oblique", "nonsquare", "las")
# A small oblique grid for the per-quantity exports (their point is the codes, not the geometry).
SMALL = Geometry("small", (6, 5, 4), make_affine(rotation(5.0, -8.0, 12.0), (1.1, 1.2, 2.5), (-3.3, 4.4, -5.5)))
FA_CODE = ("110808", "DCM", "Fractional Anisotropy")
NO_UNITS = ("1", "UCUM", "no units")
MM2_PER_S = ("mm2/s", "UCUM", "mm2/s")
BRAIN = ("12738006", "SCT", "Brain")
# Quantity name -> (values kind, quantity code, unit code): the codes Docs/metadata.md promises for the known quantities.
QUANTITIES = {
    "FA": ("fa", FA_CODE, NO_UNITS),
    "MD": ("diffusivity", ("113202", "DCM", "Mean Diffusivity"), MM2_PER_S),
    "AD": ("diffusivity", ("113204", "DCM", "Axial Diffusivity"), MM2_PER_S),
    "RD": ("diffusivity", ("113203", "DCM", "Radial Diffusivity"), MM2_PER_S),
    "ADC": ("diffusivity", ("113041", "DCM", "Apparent Diffusion Coefficient"), MM2_PER_S),
}
# Attributes that point at other instances: none may appear in a map exported without source DICOM.
REFERENCE_KEYWORDS = ("ReferencedSeriesSequence", "SourceImageSequence", "ReferencedImageSequence", "DerivationImageSequence", "ReferencedInstanceSequence")
# What highdicom 0.27.0 (Slicer's) raises from imread(...).get_volume() on any Float Pixel Data image: it reads
# PixelRepresentation, which the Floating Point Image Pixel module does not have (and, past that, only PixelData).
HIGHDICOM_027_FAILURE = (AttributeError, "'Image' object has no attribute 'PixelRepresentation'")


# ---------------------------------------------------------------------------------------------------------------
# Exporting


@dataclass
class Exported:
    """One CLI export: ground truth, the JSON report (one entry per series) and the files of each series."""

    truth: np.ndarray
    affine: np.ndarray
    series: list  # JSON entries
    files: list  # list of lists of absolute paths, one list per series

    def only(self, mode: str) -> tuple[dict, list]:
        """The one series of ``mode``: (JSON entry, files)."""
        found = [(s, f) for s, f in zip(self.series, self.files, strict=True) if s["mode"] == mode]
        assert len(found) == 1, f"expected one {mode} series in {[s['mode'] for s in self.series]}"
        return found[0]


def export_mode(input_path: Path, outdir: Path, mode: str, *options: str, truth=None, affine=None) -> Exported:
    """Run ``export INPUT OUTDIR --mode MODE OPTIONS --json``; fail with the CLI's own words if it fails."""
    result = run_cli("export", str(input_path), str(outdir), "--mode", mode, *options, "--json")
    assert result.returncode == 0, f"CLI failed (exit {result.returncode}): {result.stderr.strip()}"
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"--json stdout is not exactly one JSON object ({error}): {result.stdout!r}")
    series = document["series"]
    assert [s["mode"] for s in series] == {"mr+pm": ["mr", "pm"]}.get(mode, [mode]), series
    return Exported(truth=truth, affine=affine, series=series, files=[series_files(s) for s in series])


def write_case(folder: Path, geometry: Geometry, values_kind: str) -> tuple[Path, np.ndarray]:
    """Write the map of ``values_kind`` on ``geometry`` as NIfTI into ``folder``; return (path, truth)."""
    folder.mkdir(parents=True)
    values = map_values(values_kind, geometry.shape)
    return write_volume(folder / "input.nii.gz", values, geometry.affine), values


@pytest.fixture(scope="session")
def pm_sc_workspace(tmp_path_factory) -> Path:
    """One session folder for this module's inputs, outputs and reader scratch space."""
    return tmp_path_factory.mktemp("pm_sc")


@pytest.fixture(scope="session")
def exports(pm_sc_workspace):
    """Export cache: ``exports(mode, geometry, values_kind="fa", *options)`` -> Exported, each request once."""
    cache = {}

    def get(mode: str, geometry, values_kind: str = "fa", *options: str) -> Exported:
        geometry = geometry if isinstance(geometry, Geometry) else GEOMETRIES[geometry]
        key = (mode, geometry.name, values_kind, options)
        if key not in cache:
            tag = re.sub(r"[^A-Za-z0-9_.]", "_", "_".join([mode, geometry.name, values_kind, *options]))
            case = pm_sc_workspace / f"{len(cache):02d}_{tag}"[:80]
            source, truth = write_case(case, geometry, values_kind)
            cache[key] = export_mode(source, case / "out", mode, *options, truth=truth, affine=geometry.affine)
        return cache[key]

    return get


@pytest.fixture
def scratch(pm_sc_workspace, request) -> Path:
    """A fresh folder for one test's reader outputs."""
    folder = pm_sc_workspace / "scratch" / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    folder.mkdir(parents=True)
    return folder


# ---------------------------------------------------------------------------------------------------------------
# Readers of a Parametric Map (readers.py reads single-frame series; these read the one multi-frame file)


def venv_tool(name: str) -> str:
    """A binary next to the running python (the test venv), else from PATH."""
    import shutil
    import sys

    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    assert found, f"{name} is not installed"
    return found


def read_dcmqi(path: Path, work: Path) -> tuple[ReadBack, dict]:
    """dcmqi ``paramap2itkimage`` (what Slicer's DICOMParametricMapPlugin runs): pmap.nrrd (LPS) and meta.json."""
    work.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([venv_tool("paramap2itkimage"), "--inputDICOM", str(path), "--outputDirectory", str(work)], capture_output=True, text=True, check=False)
    output = work / "pmap.nrrd"
    assert result.returncode == 0 and output.exists(), f"paramap2itkimage exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    values, header = nrrd.read(str(output))  # index order (i, j, k)
    assert header["space"] == "left-posterior-superior", header["space"]
    lps = np.eye(4)
    lps[:3, :3] = np.asarray(header["space directions"], dtype=float).T  # row n of the header = vector of axis n
    lps[:3, 3] = header["space origin"]
    meta = json.loads((work / "meta.json").read_text())
    return ReadBack("dcmqi", values, affine=LPS_FROM_RAS @ lps), meta


def read_pm_pydicom(path: Path) -> ReadBack:
    """pydicom: Float Pixel Data through the shared Real World Value Mapping (readers.read_pydicom_multiframe)."""
    read, ds = read_pydicom_multiframe(path)
    assert "FloatPixelData" in ds and "PixelData" not in ds
    return read


def read_highdicom(path: Path) -> ReadBack:
    """``highdicom.imread(path).get_volume()``: Volume array (slice, row, column) with an LPS affine for that order."""
    import highdicom

    volume = highdicom.imread(str(path)).get_volume()
    lps = np.asarray(volume.affine, dtype=float)[:, [2, 1, 0, 3]]  # index (column, row, slice) = (i, j, frame)
    return ReadBack("highdicom", np.asarray(volume.array).transpose(2, 1, 0), affine=LPS_FROM_RAS @ lps)


def highdicom_version() -> tuple[int, ...]:
    """Installed highdicom version as a tuple of ints (release part only)."""
    import highdicom

    return tuple(int(part) for part in re.findall(r"\d+", highdicom.__version__)[:3])


# ---------------------------------------------------------------------------------------------------------------
# Assertions


def assert_bit_exact(truth: np.ndarray, affine: np.ndarray, read: ReadBack) -> None:
    """Every read voxel sits within 1e-4 mm of its truth voxel and holds exactly its float32 value."""
    comparison = compare(truth, affine, read)
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM, f"{read.reader}: position error {comparison.max_position_error_mm:.3g} mm"
    read32 = read.values.reshape(-1).astype(np.float32)
    assert np.array_equal(read32.astype(np.float64), read.values.reshape(-1)), f"{read.reader}: values are not float32 values"
    assert np.array_equal(read32, comparison.truth.astype(np.float32)), f"{read.reader}: {np.count_nonzero(comparison.errors)} voxels differ, max {comparison.max_value_error:.3g}"


def assert_within_bound(truth: np.ndarray, affine: np.ndarray, read: ReadBack, report: dict) -> None:
    """Positions within 1e-4 mm; values within the reported quantization bound (+ float32 rounding if the reader
    keeps the slope or the values in float32, as dcm2niix does).
    """
    comparison = compare(truth, affine, read)
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM, f"{read.reader}: position error {comparison.max_position_error_mm:.3g} mm"
    allowed = report["max_quantization_error"]
    if read.float32:
        magnitude = float(np.abs(truth).max()) + abs(report["rescale_intercept"] or 0.0)
        allowed += 4 * float(np.finfo(np.float32).eps) * magnitude
    assert comparison.max_value_error <= allowed, f"{read.reader}: value error {comparison.max_value_error:.6g} > {allowed:.6g}"


def code_of(item) -> tuple[str, str, str]:
    """(CodeValue, CodingSchemeDesignator, CodeMeaning) of a code sequence item."""
    return (str(item.CodeValue), str(item.CodingSchemeDesignator), str(item.CodeMeaning))


def dcmqi_code(entry: dict) -> tuple[str, str, str]:
    """The same triple from a dcmqi meta.json code object."""
    return (entry["CodeValue"], entry["CodingSchemeDesignator"], entry["CodeMeaning"])


def quantity_code(mapping) -> tuple[str, str, str]:
    """The (246205007, SCT, Quantity) item's concept code of an RWVM item."""
    items = [item for item in mapping.QuantityDefinitionSequence if code_of(item.ConceptNameCodeSequence[0])[:2] == ("246205007", "SCT")]
    assert len(items) == 1, mapping.QuantityDefinitionSequence
    assert items[0].ValueType == "CODE"
    return code_of(items[0].ConceptCodeSequence[0])


def keywords_anywhere(ds) -> set:
    """Keywords of every element of ``ds``, including inside nested sequence items at any depth."""
    found = set()
    for element in ds:
        found.add(element.keyword)
        if element.VR == "SQ":
            for item in element.value:
                found |= keywords_anywhere(item)
    return found


def pm_dataset(exported: Exported) -> pydicom.Dataset:
    """The one Parametric Map file of an export, read with pydicom."""
    files = exported.only("pm")[1]
    assert len(files) == 1, files
    return pydicom.dcmread(str(files[0]))


# ---------------------------------------------------------------------------------------------------------------
# Parametric Map: values and geometry by four readers


@pytest.mark.parametrize("geometry_name", ROUND_TRIP_GEOMETRIES)
def test_pm_dcmqi_reads_bit_exact_with_codes(exports, scratch, geometry_name):
    """dcmqi (Slicer's PM loader) reads every float32 value exactly, at the right place, and the FA codes."""
    exported = exports("pm", geometry_name)
    files = exported.only("pm")[1]
    read, meta = read_dcmqi(files[0], scratch / "dcmqi")
    assert read.values.dtype == np.float32
    assert_bit_exact(exported.truth, exported.affine, read)
    assert dcmqi_code(meta["QuantityValueCode"]) == FA_CODE
    assert dcmqi_code(meta["MeasurementUnitsCode"]) == NO_UNITS


@pytest.mark.parametrize("geometry_name", ROUND_TRIP_GEOMETRIES)
def test_pm_dcm2niix_reads_bit_exact(exports, scratch, geometry_name):
    """dcm2niix reads the float Parametric Map exactly (no RWVM slope to lose: it is the identity)."""
    exported = exports("pm", geometry_name)
    report = exported.only("pm")[0]
    assert_bit_exact(exported.truth, exported.affine, read_dcm2niix(Path(report["directory"]), scratch / "dcm2niix"))


@pytest.mark.parametrize("geometry_name", ROUND_TRIP_GEOMETRIES)
def test_pm_pydicom_reads_bit_exact(exports, geometry_name):
    """pydicom: Float Pixel Data, per-frame Plane Position, shared Pixel Measures and Plane Orientation."""
    exported = exports("pm", geometry_name)
    report, files = exported.only("pm")
    assert report["max_quantization_error"] == 0.0
    assert report["measured_max_error"] == 0.0
    assert_bit_exact(exported.truth, exported.affine, read_pm_pydicom(files[0]))


@pytest.mark.parametrize("geometry_name", ROUND_TRIP_GEOMETRIES)
def test_pm_highdicom_get_volume(exports, geometry_name):
    """highdicom >= 0.28 reads the map exactly; 0.27.0 (Slicer's) fails on any Float Pixel Data: pin that failure,
    so that this test notices the day it changes.
    """
    import highdicom

    exported = exports("pm", geometry_name)
    files = exported.only("pm")[1]
    if highdicom_version() < (0, 28):
        image = highdicom.imread(str(files[0]))
        exception, message = HIGHDICOM_027_FAILURE
        with pytest.raises(exception, match=f"^{re.escape(message)}$"):
            image.get_volume()
    else:
        assert_bit_exact(exported.truth, exported.affine, read_highdicom(files[0]))


# ---------------------------------------------------------------------------------------------------------------
# Parametric Map: attributes


def test_pm_attributes_fa(exports):
    """SOP class, modality, identity RWVM covering the data, FA code and unit, Frame Anatomy, ContentCreatorName,
    window: what the documentation promises for an FA Parametric Map.
    """
    exported = exports("pm", "oblique")
    report = exported.only("pm")[0]
    ds = pm_dataset(exported)
    assert ds.SOPClassUID == PM_SOP_CLASS_UID == report["sop_class_uid"]
    assert ds.file_meta.MediaStorageSOPClassUID == PM_SOP_CLASS_UID
    assert ds.Modality == "MR"
    assert ds.SeriesInstanceUID == report["series_instance_uid"]
    assert ds.FrameOfReferenceUID == report["frame_of_reference_uid"]
    assert "ContentCreatorName" in ds  # Type 2: present even when empty (dcmqi warns when absent)
    shared = ds.SharedFunctionalGroupsSequence[0]
    # Real World Value Mapping: identity, covering every stored value.
    (mapping,) = shared.RealWorldValueMappingSequence
    assert float(mapping.RealWorldValueSlope) == 1.0
    assert float(mapping.RealWorldValueIntercept) == 0.0
    stored = ds.pixel_array
    first = mapping.get("DoubleFloatRealWorldValueFirstValueMapped", mapping.get("RealWorldValueFirstValueMapped"))
    last = mapping.get("DoubleFloatRealWorldValueLastValueMapped", mapping.get("RealWorldValueLastValueMapped"))
    assert first is not None and last is not None
    assert first <= stored.min() == 0.0
    assert last >= stored.max() == 1.0
    assert code_of(mapping.MeasurementUnitsCodeSequence[0]) == NO_UNITS
    assert quantity_code(mapping) == FA_CODE
    # Identity pixel value transformation (the PM IOD forbids any other).
    (identity,) = shared.PixelValueTransformationSequence
    assert (float(identity.RescaleSlope), float(identity.RescaleIntercept)) == (1.0, 0.0)
    # Frame Anatomy: laterality and the default region for FA.
    (anatomy,) = shared.FrameAnatomySequence
    assert anatomy.FrameLaterality in ("R", "L", "U", "B")
    assert code_of(anatomy.AnatomicRegionSequence[0]) == BRAIN
    # Window (the IOD requires the image to be renderable).
    (voi,) = shared.FrameVOILUTSequence
    assert float(voi.WindowWidth) > 0
    assert (float(voi.WindowCenter), float(voi.WindowWidth)) == (1.0, 2.0)  # FA 0 to 1 under LINEAR (windows.py)
    assert "VOILUTFunction" not in voi
    assert int(ds.NumberOfFrames) == len(ds.PerFrameFunctionalGroupsSequence) == exported.truth.shape[2]


@pytest.mark.parametrize("geometry_name", ROUND_TRIP_GEOMETRIES)
def test_pm_frames_ascend_along_normal(exports, geometry_name):
    """Frames are stored ascending along row cosine x column cosine (dcmqi assumes it), also for LAS (det < 0)."""
    ds = pm_dataset(exports("pm", geometry_name))
    orientation = np.array([float(x) for x in ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient])
    normal = np.cross(orientation[:3], orientation[3:])
    along = [float(normal @ [float(x) for x in frame.PlanePositionSequence[0].ImagePositionPatient]) for frame in ds.PerFrameFunctionalGroupsSequence]
    steps = np.diff(along)
    assert np.all(steps > 0), f"frame positions along the normal: {along}"
    spacing = float(ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SpacingBetweenSlices)
    assert np.allclose(steps, spacing, atol=POSITION_TOLERANCE_MM), (steps, spacing)


def test_pm_pixel_spacing_is_row_spacing_first(exports):
    """Non-square pixels: PixelSpacing = (spacing between rows = along j, spacing between columns = along i)."""
    geometry = GEOMETRIES["nonsquare"]
    spacing_i, spacing_j, _ = np.linalg.norm(geometry.affine[:3, :3], axis=0)
    assert abs(spacing_i - spacing_j) > 0.1  # the case really is non-square
    ds = pm_dataset(exports("pm", "nonsquare"))
    assert (ds.Rows, ds.Columns) == (geometry.shape[1], geometry.shape[0])
    row_spacing, column_spacing = (float(x) for x in ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing)
    assert row_spacing == pytest.approx(spacing_j, abs=1e-9)
    assert column_spacing == pytest.approx(spacing_i, abs=1e-9)


@pytest.mark.parametrize("quantity", list(QUANTITIES))
def test_pm_quantity_codes(exports, quantity):
    """Each known quantity carries its DCM code and UCUM unit in the RWVM (and dcmqi's reading of it), and its
    values read back exactly; the window, written for LINEAR, spans values the map has.
    """
    values_kind, code, unit = QUANTITIES[quantity]
    exported = exports("pm", SMALL, values_kind, "--quantity", quantity)
    report, files = exported.only("pm")
    assert report["series_description"] == f"{quantity} map" + ("" if unit[0] == "1" else f" ({unit[0]})")  # the unit, unless none
    ds = pm_dataset(exported)
    (mapping,) = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence
    assert quantity_code(mapping) == code
    assert code_of(mapping.MeasurementUnitsCodeSequence[0]) == unit
    (voi,) = ds.SharedFunctionalGroupsSequence[0].FrameVOILUTSequence
    center, width = float(voi.WindowCenter), float(voi.WindowWidth)  # for LINEAR: c - 0.5 -/+ (w - 1)/2
    assert "VOILUTFunction" not in voi and width >= 1
    assert exported.truth.min() <= center - 0.5 - (width - 1) / 2 < center - 0.5 + (width - 1) / 2 <= exported.truth.max()
    assert_bit_exact(exported.truth, exported.affine, read_pm_pydicom(files[0]))


USER_CODES = {
    "uncoded-name": (
        ("--quantity", "FOO", "--quantity-code", "99001,99FAX,Foo index", "--unit", "{ratio},UCUM,ratio"),
        ("99001", "99FAX", "Foo index"),
        ("{ratio}", "UCUM", "ratio"),
    ),
    "known-name-overridden": (
        ("--quantity", "MD", "--unit", "um2/s,UCUM,um2/s", "--quantity-code", "113289,DCM,Diffusion Coefficient"),
        ("113289", "DCM", "Diffusion Coefficient"),
        ("um2/s", "UCUM", "um2/s"),
    ),
}


@pytest.mark.parametrize("case", list(USER_CODES))
def test_pm_user_codes_are_carried(exports, scratch, case):
    """--quantity-code, --unit, --anatomic-region and --content-creator-name reach the file and dcmqi's meta.json."""
    options, code, unit = USER_CODES[case]
    region = ("41216001", "SCT", "Prostate")
    exported = exports("pm", SMALL, "fa", *options, "--anatomic-region", ",".join(region), "--content-creator-name", "Doe^John")
    files = exported.only("pm")[1]
    ds = pm_dataset(exported)
    shared = ds.SharedFunctionalGroupsSequence[0]
    (mapping,) = shared.RealWorldValueMappingSequence
    assert quantity_code(mapping) == code
    assert code_of(mapping.MeasurementUnitsCodeSequence[0]) == unit
    assert code_of(shared.FrameAnatomySequence[0].AnatomicRegionSequence[0]) == region
    assert str(ds.ContentCreatorName) == "Doe^John"
    read, meta = read_dcmqi(files[0], scratch / "dcmqi")
    assert dcmqi_code(meta["QuantityValueCode"]) == code
    assert dcmqi_code(meta["MeasurementUnitsCode"]) == unit
    assert dcmqi_code(meta["AnatomicRegionSequence"]) == region
    assert_bit_exact(exported.truth, exported.affine, read)


# ---------------------------------------------------------------------------------------------------------------
# Parametric Map: references to source DICOM


def test_pm_without_source_references_nothing(exports):
    """Without --source-dicom the map points at no other instance, at any nesting depth."""
    ds = pm_dataset(exports("pm", "oblique"))
    found = keywords_anywhere(ds)
    assert "RealWorldValueMappingSequence" in found  # the walk does reach nested items
    assert found.isdisjoint(REFERENCE_KEYWORDS), sorted(found & set(REFERENCE_KEYWORDS))


@pytest.fixture(scope="session")
def pm_with_source(pm_sc_workspace):
    """An MR series exported from a map, then the same map exported as PM with that series as --source-dicom.

    Returns (mr ExportedSeries, pm Exported).
    """
    geometry = GEOMETRIES["oblique"]
    case = pm_sc_workspace / "with_source"
    source_map, truth = write_case(case, geometry, "fa")
    mr = export(source_map, case / "mr", "--patient-name", "Doe^Jane", "--patient-id", "PID4711", "--study-description", "DTI study", truth=truth, affine=geometry.affine)
    pm = export_mode(source_map, case / "pm", "pm", "--source-dicom", str(mr.directory), truth=truth, affine=geometry.affine)
    return mr, pm


def test_pm_with_source_joins_study_and_references_it(pm_with_source, scratch):
    """With --source-dicom the PM takes the source's patient, study and frame of reference, references the source
    series and every one of its instances, each frame the source image at its position, and still reads back exactly
    with dcmqi.
    """
    mr, pm = pm_with_source
    source = [pydicom.dcmread(str(f), stop_before_pixels=True) for f in mr.files]
    first = source[0]
    ds = pm_dataset(pm)
    report, files = pm.only("pm")
    assert ds.StudyInstanceUID == first.StudyInstanceUID == report["study_instance_uid"] == mr.report["study_instance_uid"]
    assert ds.FrameOfReferenceUID == first.FrameOfReferenceUID == report["frame_of_reference_uid"]
    assert (str(ds.PatientName), ds.PatientID) == (str(first.PatientName), first.PatientID) == ("Doe^Jane", "PID4711")
    assert ds.SeriesInstanceUID != first.SeriesInstanceUID
    instances = {f.SOPInstanceUID for f in source}
    (referenced_series,) = ds.ReferencedSeriesSequence
    assert referenced_series.SeriesInstanceUID == first.SeriesInstanceUID == mr.report["series_instance_uid"]
    assert {item.ReferencedSOPInstanceUID for item in referenced_series.ReferencedInstanceSequence} == instances
    # The map is on the source's grid: each frame names the one source image at its position (OHIF overlays it).
    assert "DerivationImageSequence" not in ds.SharedFunctionalGroupsSequence[0]
    at_position = {tuple(round(float(v), 4) for v in f.ImagePositionPatient): f.SOPInstanceUID for f in source}
    for frame in ds.PerFrameFunctionalGroupsSequence:
        (derivation,) = frame.DerivationImageSequence
        (image,) = derivation.SourceImageSequence
        position = tuple(round(float(v), 4) for v in frame.PlanePositionSequence[0].ImagePositionPatient)
        assert (image.ReferencedSOPClassUID, image.ReferencedSOPInstanceUID) == (MR_SOP_CLASS_UID, at_position[position])
    assert report["overlay_ready"] is True and report["overlay_problem"] is None
    read = read_dcmqi(files[0], scratch / "dcmqi")[0]
    assert_bit_exact(pm.truth, pm.affine, read)


# ---------------------------------------------------------------------------------------------------------------
# Parametric Map: refusal


@pytest.mark.parametrize("outdir_state", ["absent", "existing"])
def test_pm_refuses_uncoded_quantity(pm_sc_workspace, outdir_state):
    """A quantity name FAExport does not know, without codes, cannot be a Parametric Map: exit 1, one line on
    stderr saying what to give, and OUTDIR untouched (not created; existing content unchanged).
    """
    case = pm_sc_workspace / f"refused_{outdir_state}"
    source, _ = write_case(case, SMALL, "fa")
    outdir = case / "out"
    if outdir_state == "existing":
        outdir.mkdir()
        (outdir / "keep.txt").write_text("mine")
    result = run_cli("export", str(source), str(outdir), "--mode", "pm", "--quantity", "FOO", "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "faexport: error: a Parametric Map needs coded values: 'FOO' has no code in DICOM's vocabulary (the "
        "known quantities are listed in Docs/metadata.md); give --quantity-code VALUE,SCHEME,MEANING and --unit (a UCUM code such as ms, "
        "or VALUE,SCHEME,MEANING)\n"
    )
    if outdir_state == "absent":
        assert not outdir.exists()
    else:
        assert sorted(p.name for p in outdir.iterdir()) == ["keep.txt"]
        assert (outdir / "keep.txt").read_text() == "mine"


# ---------------------------------------------------------------------------------------------------------------
# Secondary Capture

SC_CASES = {"axial": ("axial", "fa"), "oblique": ("oblique", "fa"), "nonsquare": ("nonsquare", "fa"), "las": ("las", "fa"), "signed-oblique": ("oblique", "signed")}


@pytest.mark.parametrize("reader", ["dcm2niix", "simpleitk"])
@pytest.mark.parametrize("case", list(SC_CASES))
def test_sc_readers_within_bound(exports, scratch, case, reader):
    """dcm2niix and SimpleITK read the SC values within the reported bound and the geometry within 1e-4 mm."""
    geometry_name, values_kind = SC_CASES[case]
    exported = exports("sc", geometry_name, values_kind)
    report, files = exported.only("sc")
    if values_kind == "signed":
        assert report["rescale_intercept"] < 0  # unsigned words: negative values need an intercept
    if reader == "dcm2niix":
        read = read_dcm2niix(Path(report["directory"]), scratch / "dcm2niix")
    else:
        assert len(files) == 1
        read = read_simpleitk_file(files[0])
    assert_within_bound(exported.truth, exported.affine, read, report)


def test_sc_attributes(exports):
    """One Multi-frame Grayscale Word SC file with a Frame of Reference, the rescale of the report, one frame per slice."""
    exported = exports("sc", "oblique", "signed")
    report, files = exported.only("sc")
    assert len(files) == 1
    ds = pydicom.dcmread(str(files[0]))
    assert ds.SOPClassUID == SC_SOP_CLASS_UID == report["sop_class_uid"]
    assert ds.FrameOfReferenceUID == report["frame_of_reference_uid"] != ""
    assert (ds.BitsAllocated, ds.PixelRepresentation) == (16, 0)
    assert int(ds.NumberOfFrames) == exported.truth.shape[2]
    assert float(ds.RescaleSlope) == report["rescale_slope"]
    assert float(ds.RescaleIntercept) == report["rescale_intercept"]


# ---------------------------------------------------------------------------------------------------------------
# mr+pm


def test_mr_pm_two_series_one_study(exports):
    """mr+pm writes two series of one study and one frame of reference, told apart by UID, number and description."""
    exported = exports("mr+pm", "las")
    mr_report, mr_files = exported.only("mr")
    pm_report, pm_files = exported.only("pm")
    assert mr_report["sop_class_uid"] == MR_SOP_CLASS_UID
    assert pm_report["sop_class_uid"] == PM_SOP_CLASS_UID
    assert mr_report["study_instance_uid"] == pm_report["study_instance_uid"]
    assert mr_report["frame_of_reference_uid"] == pm_report["frame_of_reference_uid"]
    assert mr_report["series_instance_uid"] != pm_report["series_instance_uid"]
    assert mr_report["series_number"] != pm_report["series_number"]
    assert mr_report["series_description"] != pm_report["series_description"]
    assert mr_report["directory"] != pm_report["directory"]
    for report, files in ((mr_report, mr_files), (pm_report, pm_files)):
        for path in files:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True)
            assert ds.StudyInstanceUID == report["study_instance_uid"]
            assert ds.FrameOfReferenceUID == report["frame_of_reference_uid"]
            assert ds.SeriesInstanceUID == report["series_instance_uid"]
            assert int(ds.SeriesNumber) == report["series_number"]
            assert ds.SeriesDescription == report["series_description"]


@pytest.mark.parametrize("reader", ["mr-simpleitk", "mr-pydicom", "pm-dcmqi", "pm-dcm2niix"])
def test_mr_pm_both_series_read_correctly(exports, scratch, reader):
    """The MR series reads within its bound, the PM series exactly, from the same mr+pm export."""
    exported = exports("mr+pm", "las")
    mode = reader.split("-")[0]
    report, files = exported.only(mode)
    if reader == "mr-simpleitk":
        assert_within_bound(exported.truth, exported.affine, read_simpleitk(Path(report["directory"])), report)
    elif reader == "mr-pydicom":
        assert_within_bound(exported.truth, exported.affine, read_pydicom(files), report)
    elif reader == "pm-dcmqi":
        assert_bit_exact(exported.truth, exported.affine, read_dcmqi(files[0], scratch / "dcmqi")[0])
    else:
        assert_bit_exact(exported.truth, exported.affine, read_dcm2niix(Path(report["directory"]), scratch / "dcm2niix"))


# ---------------------------------------------------------------------------------------------------------------
# dciodvfy


@pytest.mark.parametrize("case", ["pm", "pm-with-source", "sc", "sc-signed", "mr+pm"])
def test_dciodvfy_no_errors(exports, request, case):
    """dciodvfy finds no error in any file of a pm, sc or mr+pm export."""
    if case == "pm-with-source":
        exported = request.getfixturevalue("pm_with_source")[1]
    else:
        mode, _, variant = case.partition("-")
        exported = exports(mode, "oblique" if mode != "mr+pm" else "las", variant or "fa")
    paths = [path for files in exported.files for path in files]
    assert paths
    errors = {path.name: dciodvfy_errors(path) for path in paths}
    assert all(not e for e in errors.values()), {name: e for name, e in errors.items() if e}
