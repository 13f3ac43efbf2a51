"""Benchmark FAExport against its peers and against the raw-bytes floor, on an MNI-sized FA-like map.

Run from the repository root (not part of the test suite)::

    PYTHONPATH=FAExport .venv/bin/python Testing/Tools/benchmark.py            # full: 5 repetitions, 64^3 + MNI, growth on 128^3
    PYTHONPATH=FAExport .venv/bin/python Testing/Tools/benchmark.py --quick    # 2 repetitions, the 64^3 map only
    PYTHONPATH=FAExport .venv/bin/python Testing/Tools/benchmark.py --processes-only   # only the whole processes (MNI map)
    PYTHONPATH=FAExport .venv/bin/python Testing/Tools/benchmark.py --profile pm   # cProfile of one MNI export
    PYTHONPATH=FAExport .venv/bin/python Testing/Tools/benchmark.py --dialog-only  # only the Export to DICOM dialog's examination

First, whole processes as a user runs them, on the same NIfTI file (MNI map; 64^3 with --quick), each command in a
fresh process, their repetitions interleaved, and the wall time from start to exit:

- ``python -m FAExportLib export INPUT OUTDIR --mode mr`` (interpreter start, imports, reading the NIfTI, export,
  verification, exit) against a SimpleITK process that reads the NIfTI with SimpleITK and writes the int16 slices
  with the SimpleITK peer's own code (``sitk_write_slices`` below, the same source): target 0.8x;
- ``--mode pm`` against dcmqi's ``itkimage2paramap`` as the venv runs it (the dcmqi wheel's command) with the JSON
  metadata and the reference series it requires: target 1.0x; dcmqi's executable run directly, and a process that
  only imports numpy and pydicom, are shown for information. One probe run per mode splits the command line's
  time into interpreter start, imports, reading, export, verification and exit.

Then every measurement in one process, from a float32 array in memory to a complete series on disk:

- FAExport ``export_volume`` in each mode (mr, sc, pm, mr+pm), verification included; the verification
  (the encoders' ``read_back_error``, which the pipeline calls on the written files) is timed on its own too;
- SimpleITK: an int16 image written slice by slice with ``ImageFileWriter`` and the usual per-slice tags
  (the ImageSeriesWriter idiom of SimpleITK's examples), and, for information, SimpleITK's documented
  float idiom (float32 image plus RescaleSlope tags; GDCM quantizes to int16 itself);
- dcmqi's ``itkimage2paramap`` command: the conversion call alone, and the total with the inputs it needs
  (NIfTI image, JSON metadata, reference DICOM series);
- highdicom's ``ParametricMap`` constructor plus ``save_as`` (the venv's version; .venv-latest's for information);
- a plain pydicom writer, one MR file per slice;
- the floors: the same stored bytes written raw (int16 as one file per slice, uint16 and float32 as one file).

Last, Slicer's Export to DICOM dialog: the time of one examination of the selected MNI map by every registered plugin
(FAExport's four classes and the model of Slicer's scalar volume exporter; slicer-core's MRML and the dialog stand-in of
Testing/Harness/dicom_export_standins.py), cold (the voxels just changed, so they are scanned) and cached (examined
before: the dialog examines every plugin class again for each selection), in a fresh subprocess (``--dialog-worker``).

Each tool runs in a fresh subprocess of this script (``--worker``): its inputs are prepared untimed, a run
on a small block loads lazy imports, then the peak RSS above that baseline is measured over the timed
repetitions (VmHWM reset through /proc/self/clear_refs; for dcmqi, the child process's ru_maxrss above that
of ``itkimage2paramap --version``). The report is markdown, for the README. Standard library, numpy and
the venv's packages only; everything is written into a temporary folder that is removed at the end.
"""

import argparse
import cProfile
import functools
import gc
import importlib.metadata
import io
import json
import math
import os
import platform
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO / "FAExport"
LATEST_PYTHON = REPO / ".venv-latest" / "bin" / "python"
RESULT_MARKER = "BENCHMARK-RESULT "
WORKER_TIMEOUT_S = 3600
MIB = 2**20
KIB = 1024

# FSL's 1 mm MNI152 grid: 182 x 218 x 182 voxels (i, j, k), LAS (negative determinant), origin in RAS mm.
MNI_SHAPE_KJI = (182, 218, 182)
MNI_ORIGIN_RAS = (90.0, -126.0, -72.0)
SIZES = {"64^3": (64, 64, 64), "128^3": (128, 128, 128), "MNI": MNI_SHAPE_KJI}
SMALL, MEDIUM, LARGE = "64^3", "128^3", "MNI"
WARMUP_BLOCK = (4, 16, 16)  # k, j, i voxels of the map's centre, exported once before measuring

FAEXPORT_MODES = ("mr", "sc", "pm", "mr+pm")
GROWTH_TOOLS = ("mr", "pm")
INT16_MAX = 32767

# Targets of the issue, each a ratio of two medians (FAExport / reference) with its limit.
TIME_TARGETS = (
    ("mr", "raw-int16-slices", 3.0),
    ("mr", "simpleitk-int16", 0.3),
    ("sc", "raw-uint16-file", 3.0),
    ("sc", "simpleitk-int16", 0.3),
    ("pm", "raw-float32-file", 3.0),
    ("pm", "highdicom", 0.5),
)
MEMORY_LIMIT_VOLUMES = 3.0  # peak RSS of any mode above baseline, in float32 volume sizes
# Ratios shown for information only.
INFO_RATIOS = (
    ("mr", "pydicom"),
    ("mr", "simpleitk-float"),
    ("pm", "dcmqi-conversion"),
    ("pm", "dcmqi-total"),
    ("pm", "highdicom-latest"),
    ("mr+pm", "raw-int16-slices+raw-float32-file"),
    ("mr+pm", "simpleitk-int16+highdicom"),
)


# --------------------------------------------------------------------------------------------------
# The input maps and their geometry


def ijk_to_ras_for(shape_kji: tuple[int, int, int]) -> np.ndarray:
    """FSL-style LAS IJK-to-RAS matrix: isotropic voxels spanning the MNI field of view (1 mm at 182 columns)."""
    spacing = 182.0 / shape_kji[2]
    matrix = np.diag([-spacing, spacing, spacing, 1.0])
    matrix[:3, 3] = MNI_ORIGIN_RAS
    return matrix


def lps_geometry(ijk_to_ras: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin (LPS mm), voxel spacing (i, j, k) and unit axis directions (LPS columns i, j, k) of a grid."""
    ras_to_lps = np.diag([-1.0, -1.0, 1.0])
    axes = ras_to_lps @ ijk_to_ras[:3, :3]
    spacing = np.linalg.norm(axes, axis=0)
    return ras_to_lps @ ijk_to_ras[:3, 3], spacing, axes / spacing


def smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma_fraction: float) -> np.ndarray:
    """Gaussian-smoothed white noise (FFT), zero mean and unit variance; sigma is a fraction of each extent."""
    spectrum = np.fft.rfftn(rng.standard_normal(shape, dtype=np.float32))
    for axis, extent in enumerate(shape):
        frequencies = np.fft.rfftfreq(extent) if axis == len(shape) - 1 else np.fft.fftfreq(extent)
        sigma = sigma_fraction * extent
        gain = np.exp(-2.0 * (np.pi * frequencies * sigma) ** 2).astype(np.float32)
        spectrum *= gain.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    field = np.fft.irfftn(spectrum, s=shape, axes=tuple(range(len(shape)))).astype(np.float32)
    field -= field.mean()
    field /= field.std()
    return field


def fa_like_map(shape_kji: tuple[int, int, int], seed: int = 20240131) -> np.ndarray:
    """A float32 FA-like map ``[k, j, i]`` in 0..1: zero outside an ellipsoidal brain, grey matter around 0.15,
    smooth white-matter structures from 0.4 to 1 (clipped at 1 in a corpus-callosum-like core), plus noise.
    """
    rng = np.random.default_rng(seed)
    k, j, i = shape_kji
    z = np.linspace(-1.0, 1.0, k, dtype=np.float32)[:, None, None]
    y = np.linspace(-1.0, 1.0, j, dtype=np.float32)[None, :, None]
    x = np.linspace(-1.0, 1.0, i, dtype=np.float32)[None, None, :]
    radius2 = (x / 0.80) ** 2 + (y / 0.85) ** 2 + (z / 0.75) ** 2
    coarse, fine = smooth_field(rng, shape_kji, 0.08), smooth_field(rng, shape_kji, 0.03)
    brain = radius2 + 0.04 * coarse <= 1.0
    white = 1.0 / (1.0 + np.exp(-(1.6 * coarse + 3.0 * (0.55 - radius2)) / 0.3))  # deeper = more white matter
    white_fa = 0.55 + 0.12 * fine + 0.45 * np.exp(-((x / 0.35) ** 2 + (y / 0.12) ** 2 + ((z - 0.15) / 0.10) ** 2))
    fa = (0.15 + 0.04 * fine) * (1.0 - white) + white_fa * white
    fa += rng.normal(0.0, 0.04, size=shape_kji).astype(np.float32)
    np.clip(fa, 0.0, 1.0, out=fa)
    fa[~brain] = 0.0
    return np.ascontiguousarray(fa, dtype=np.float32)


def warmup_block(array: np.ndarray) -> np.ndarray:
    """A small block from the centre of ``array``, exported once before measuring (lazy imports, caches)."""
    starts = [max(0, (n - b) // 2) for n, b in zip(array.shape, WARMUP_BLOCK, strict=True)]
    return np.ascontiguousarray(array[tuple(slice(s, s + b) for s, b in zip(starts, WARMUP_BLOCK, strict=True))])


def peer_rescale(array: np.ndarray) -> tuple[float, str]:
    """The slope a careful user picks for int16: max |value| / 32767, written with 10 digits, rounded up."""
    max_abs = max(float(array.max()), -float(array.min()))
    if max_abs == 0.0:
        return 1.0, "1"
    text = f"{max_abs / INT16_MAX * (1 + 1e-9):.10g}"
    return float(text), text


def timed_quantization(array: np.ndarray, dtype: str) -> tuple[np.ndarray, float]:
    """The stored integers of ``array`` at the peer slope, and the median time of computing them (3 runs)."""
    slope, _ = peer_rescale(array)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        stored = np.rint(array / slope).astype(dtype)  # FA is never negative, so uint16 needs no intercept
        times.append(time.perf_counter() - start)
    return stored, statistics.median(times)


def new_uid() -> str:
    """A UUID-derived DICOM UID (2.25.<128-bit integer>), the standard library's way."""
    return f"2.25.{uuid.uuid4().int}"


# --------------------------------------------------------------------------------------------------
# The tools: ``prepare`` builds untimed inputs, ``run`` is what is timed (array in memory -> files).


class Tool:
    """Turns the volume into files in a folder."""

    external = False  # True: the work happens in a child process, whose peak RSS is measured instead

    def prepare(self, array: np.ndarray, ijk_to_ras: np.ndarray, work: Path) -> None:
        """Keep the volume; subclasses build further inputs here (not timed)."""
        self.array, self.ijk_to_ras = array, ijk_to_ras

    def run(self, out: Path) -> dict[str, float]:
        """Write the series into the existing folder ``out``; return extra phase timings in seconds."""
        raise NotImplementedError


class ReadBackClock:
    """Times FAExport's verification step without changing it.

    The pipeline verifies each staged series by calling its encoder's ``read_back_error(plan, files)``
    (mr.py, sc.py, pm.py) on the written files; this wraps those three functions with a timer.
    """

    def __init__(self):
        from FAExportLib import mr, pm, sc

        self.seconds = 0.0
        for module in (mr, sc, pm):
            module.read_back_error = self._timed(module.read_back_error)

    def _timed(self, function):
        def timed(plan, files):
            start = time.perf_counter()
            try:
                return function(plan, files)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


@functools.cache
def read_back_clock() -> ReadBackClock:
    """The one clock of this process (wrapping twice would count twice)."""
    return ReadBackClock()


class FAExportTool(Tool):
    """``export_volume`` in one mode, scale auto, quantity FA: encode, write, read back, verify, publish."""

    def __init__(self, mode: str):
        self.mode = mode

    def run(self, out: Path) -> dict[str, float]:
        """Export; report the time spent verifying."""
        from FAExportLib import export_volume

        clock = read_back_clock()
        before = clock.seconds
        export_volume(self.array, self.ijk_to_ras, out, mode=self.mode, scale="auto", quantity="FA")
        return {"verify": clock.seconds - before}


def sitk_image(array: np.ndarray, ijk_to_ras: np.ndarray):
    """A SimpleITK image of ``array[k, j, i]`` with the grid's LPS origin, spacing and direction."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array)
    origin, spacing, directions = lps_geometry(ijk_to_ras)
    image.SetOrigin(origin.tolist())
    image.SetSpacing(spacing.tolist())
    image.SetDirection(directions.flatten().tolist())
    return image


def sitk_write_slices(image, out: Path, extra_series_tags: list[tuple[str, str]]) -> None:
    """SimpleITK's "DICOM series from array" idiom: series tags and per-slice tags, one ImageFileWriter call per slice."""
    import SimpleITK as sitk

    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    date, clock = time.strftime("%Y%m%d"), time.strftime("%H%M%S")
    direction = image.GetDirection()
    series_tags = [
        ("0008|0031", clock),
        ("0008|0021", date),
        ("0008|0008", "DERIVED\\SECONDARY"),
        ("0008|0060", "MR"),
        ("0020|000d", new_uid()),
        ("0020|000e", new_uid()),
        ("0020|0052", new_uid()),
        ("0020|0037", "\\".join(map(str, (direction[0], direction[3], direction[6], direction[1], direction[4], direction[7])))),
        ("0008|103e", "FA map"),
        *extra_series_tags,
    ]
    for k in range(image.GetDepth()):
        image_slice = image[:, :, k]
        for tag, value in series_tags:
            image_slice.SetMetaData(tag, value)
        image_slice.SetMetaData("0008|0012", date)
        image_slice.SetMetaData("0008|0013", clock)
        image_slice.SetMetaData("0020|0032", "\\".join(map(str, image.TransformIndexToPhysicalPoint((0, 0, k)))))
        image_slice.SetMetaData("0020|0013", str(k + 1))
        writer.SetFileName(str(out / f"IM{k + 1:05d}.dcm"))
        writer.Execute(image_slice)


class SimpleITKInt16Tool(Tool):
    """An int16 image (values x 1/slope, rounded) written as MR Image Storage slices.

    GDCM refuses a fractional RescaleSlope on an integer image (its Rescaler asserts an integer slope),
    so these files carry the stored integers without the slope: the same bytes, no value semantics.
    """

    def run(self, out: Path) -> dict[str, float]:
        """Quantize, wrap, write."""
        slope, _ = peer_rescale(self.array)
        stored = np.rint(self.array / slope).astype(np.int16)
        sitk_write_slices(sitk_image(stored, self.ijk_to_ras), out, [])
        return {}


class SimpleITKFloatTool(Tool):
    """SimpleITK's documented idiom for float data: a float32 image plus RescaleSlope/Intercept and
    16-bit signed tags; GDCM quantizes to int16 itself (Modality MR makes it write Enhanced MR Image Storage).
    """

    def run(self, out: Path) -> dict[str, float]:
        """Wrap, tag, write."""
        _, slope_text = peer_rescale(self.array)
        tags = [("0028|1053", slope_text), ("0028|1052", "0"), ("0028|0100", "16"), ("0028|0101", "16"), ("0028|0102", "15"), ("0028|0103", "1")]
        sitk_write_slices(sitk_image(self.array, self.ijk_to_ras), out, tags)
        return {}


def write_mr_slices(array: np.ndarray, ijk_to_ras: np.ndarray, folder: Path) -> None:
    """A plain pydicom writer: one MR Image Storage file per slice, int16 with one RescaleSlope for the series."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    slope, slope_text = peer_rescale(array)
    stored = np.rint(array / slope).astype("<i2")
    origin, spacing, directions = lps_geometry(ijk_to_ras)
    study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    date, clock = time.strftime("%Y%m%d"), time.strftime("%H%M%S")
    orientation = [round(float(v), 8) for v in np.concatenate([directions[:, 0], directions[:, 1]])]
    for k in range(stored.shape[0]):
        sop_instance_uid = generate_uid()
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = sop_instance_uid
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = sop_instance_uid
        ds.PatientName = "Anonymous^"
        ds.PatientID = "BENCHMARK"
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        ds.StudyInstanceUID = study_uid
        ds.StudyDate = date
        ds.StudyTime = clock
        ds.ReferringPhysicianName = ""
        ds.StudyID = ""
        ds.AccessionNumber = ""
        ds.Modality = "MR"
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = 1001
        ds.SeriesDescription = "FA map"
        ds.FrameOfReferenceUID = frame_uid
        ds.PositionReferenceIndicator = ""
        ds.Manufacturer = "benchmark"
        ds.ImageType = ["DERIVED", "SECONDARY"]
        ds.InstanceNumber = k + 1
        ds.ScanningSequence = "RM"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = ""
        ds.EchoTime = ""
        ds.RepetitionTime = ""
        ds.EchoTrainLength = ""
        ds.ImagePositionPatient = [round(float(v), 6) for v in origin + k * spacing[2] * directions[:, 2]]
        ds.ImageOrientationPatient = orientation
        ds.PixelSpacing = [round(float(spacing[1]), 6), round(float(spacing[0]), 6)]
        ds.SliceThickness = round(float(spacing[2]), 6)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = stored.shape[1:]
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = slope_text
        ds.RescaleType = "US"
        ds.PixelData = stored[k].tobytes()
        ds.save_as(folder / f"IM{k + 1:05d}.dcm", enforce_file_format=True)


class PydicomTool(Tool):
    """The plain pydicom writer (``write_mr_slices``)."""

    def run(self, out: Path) -> dict[str, float]:
        """Quantize and write one file per slice."""
        write_mr_slices(self.array, self.ijk_to_ras, out)
        return {}


class HighdicomTool(Tool):
    """highdicom's ``ParametricMap`` (float32 frames, one RWVM) plus ``save_as``.

    Its source images (required) are an MR series of the same grid, read beforehand: what a user with the
    DWI series passes. Plane positions, orientation and pixel measures are given explicitly from the matrix.
    """

    def prepare(self, array: np.ndarray, ijk_to_ras: np.ndarray, work: Path) -> None:
        """Write and read the source series (not timed)."""
        import pydicom

        super().prepare(array, ijk_to_ras, work)
        reference = work / "reference"
        reference.mkdir(parents=True)
        write_mr_slices(array, ijk_to_ras, reference)
        self.sources = [pydicom.dcmread(path) for path in sorted(reference.iterdir())]

    def run(self, out: Path) -> dict[str, float]:
        """Construct and save."""
        import highdicom as hd

        origin, spacing, directions = lps_geometry(self.ijk_to_ras)
        positions = [hd.PlanePositionSequence("PATIENT", (origin + k * spacing[2] * directions[:, 2]).tolist()) for k in range(self.array.shape[0])]
        orientation = hd.PlaneOrientationSequence("PATIENT", np.concatenate([directions[:, 0], directions[:, 1]]).tolist())
        measures = hd.PixelMeasuresSequence(pixel_spacing=[float(spacing[1]), float(spacing[0])], slice_thickness=float(spacing[2]), spacing_between_slices=float(spacing[2]))
        mapping = hd.pm.RealWorldValueMapping(
            lut_label="FA",
            lut_explanation="Fractional Anisotropy",
            unit=hd.sr.CodedConcept("1", "UCUM", "no units"),
            value_range=(float(self.array.min()), float(self.array.max())),
            slope=1.0,
            intercept=0.0,
            quantity_definition=hd.sr.CodedConcept("110808", "DCM", "Fractional Anisotropy"),
        )
        parametric_map = hd.pm.ParametricMap(
            self.sources,
            self.array,
            series_instance_uid=hd.UID(),
            series_number=1003,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="benchmark",
            manufacturer_model_name="benchmark",
            software_versions="0",
            device_serial_number="0",
            contains_recognizable_visual_features=False,
            real_world_value_mappings=[mapping],
            window_center=0.5,
            window_width=1.0,
            pixel_measures=measures,
            plane_orientation=orientation,
            plane_positions=positions,
            content_label="FA_MAP",
        )
        parametric_map.save_as(out / "PM00001.dcm")
        return {}


DCMQI_METADATA = {
    "SeriesDescription": "FA map",
    "SeriesNumber": "1003",
    "InstanceNumber": "1",
    "BodyPartExamined": "BRAIN",
    "QuantityValueCode": {"CodeValue": "110808", "CodingSchemeDesignator": "DCM", "CodeMeaning": "Fractional Anisotropy"},
    "MeasurementUnitsCode": {"CodeValue": "1", "CodingSchemeDesignator": "UCUM", "CodeMeaning": "no units"},
    "DerivationCode": {"CodeValue": "129105", "CodingSchemeDesignator": "DCM", "CodeMeaning": "Diffusion image analysis"},
    "AnatomicRegionSequence": {"CodeValue": "12738006", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Brain"},
    "FrameLaterality": "U",
    "RealWorldValueSlope": 1,
    "DerivedPixelContrast": "FA",
    "ContentCreatorName": "benchmark",
}


def dcmqi_binary() -> Path:
    """``itkimage2paramap`` beside the venv's python (the dcmqi wheel puts it there)."""
    return Path(sys.executable).parent / "itkimage2paramap"


class DcmqiTool(Tool):
    """dcmqi's ``itkimage2paramap``: NIfTI image + JSON metadata + reference DICOM series -> Parametric Map.

    Timed: writing the NIfTI and the JSON, and the conversion call. The reference series (an MR series of
    the same grid written by ``write_mr_slices``; a user would pass the source DWI) is written once, untimed,
    and its time is added to the total.
    """

    external = True

    def prepare(self, array: np.ndarray, ijk_to_ras: np.ndarray, work: Path) -> None:
        """Write the reference series and time it."""
        super().prepare(array, ijk_to_ras, work)
        self.reference = work / "reference"
        self.reference.mkdir(parents=True)
        start = time.perf_counter()
        write_mr_slices(array, ijk_to_ras, self.reference)
        self.reference_seconds = time.perf_counter() - start

    def run(self, out: Path) -> dict[str, float]:
        """Write the inputs, convert; return the time of each step."""
        import nibabel

        inputs = out / "inputs"
        inputs.mkdir()
        start = time.perf_counter()
        image = inputs / "fa.nii"
        nibabel.Nifti1Image(self.array.transpose(2, 1, 0), self.ijk_to_ras).to_filename(image)
        written = time.perf_counter()
        metadata = inputs / "metadata.json"
        metadata.write_text(json.dumps(DCMQI_METADATA), encoding="utf-8")
        described = time.perf_counter()
        command = [str(dcmqi_binary()), "--inputImage", str(image), "--inputMetadata", str(metadata), "--inputDICOMDirectory", str(self.reference), "--outputDICOM", str(out / "PM00001.dcm")]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        converted = time.perf_counter()
        if result.returncode != 0 or not (out / "PM00001.dcm").exists():
            raise RuntimeError(f"itkimage2paramap exit {result.returncode}: {(result.stderr or result.stdout).strip()[-500:]}")
        return {"input image": written - start, "metadata json": described - written, "conversion": converted - described, "reference series": self.reference_seconds}


class RawSlicesFloor(Tool):
    """Floor of ``mr``: the stored int16 bytes (quantized beforehand) written raw, one file per slice."""

    def prepare(self, array: np.ndarray, ijk_to_ras: np.ndarray, work: Path) -> None:
        """Quantize (not part of the floor; its time is reported beside it)."""
        super().prepare(array, ijk_to_ras, work)
        self.stored, self.quantize_seconds = timed_quantization(array, "<i2")

    def run(self, out: Path) -> dict[str, float]:
        """One open/write/close per slice."""
        for k in range(self.stored.shape[0]):
            with open(out / f"IM{k + 1:05d}.raw", "wb") as file:
                file.write(self.stored[k])
        return {"quantize": self.quantize_seconds}


class RawFileFloor(Tool):
    """Floor of a single-file mode: its stored bytes (uint16 for ``sc``, float32 for ``pm``) written raw as one file."""

    def __init__(self, dtype: str):
        self.dtype = dtype

    def prepare(self, array: np.ndarray, ijk_to_ras: np.ndarray, work: Path) -> None:
        """Quantize (not part of the floor; its time is reported beside it); float32 is the input itself."""
        super().prepare(array, ijk_to_ras, work)
        self.quantize_seconds = None
        if self.dtype == "<f4":
            self.stored = np.ascontiguousarray(array, dtype="<f4")
        else:
            self.stored, self.quantize_seconds = timed_quantization(array, self.dtype)

    def run(self, out: Path) -> dict[str, float]:
        """One write of the whole buffer."""
        with open(out / "volume.raw", "wb") as file:
            file.write(self.stored)
        return {} if self.quantize_seconds is None else {"quantize": self.quantize_seconds}


TOOLS = {
    "mr": lambda: FAExportTool("mr"),
    "sc": lambda: FAExportTool("sc"),
    "pm": lambda: FAExportTool("pm"),
    "mr+pm": lambda: FAExportTool("mr+pm"),
    "simpleitk-int16": SimpleITKInt16Tool,
    "simpleitk-float": SimpleITKFloatTool,
    "pydicom": PydicomTool,
    "highdicom": HighdicomTool,
    "highdicom-latest": HighdicomTool,  # the same code under .venv-latest's python
    "dcmqi": DcmqiTool,
    "raw-int16-slices": RawSlicesFloor,
    "raw-uint16-file": lambda: RawFileFloor("<u2"),
    "raw-float32-file": lambda: RawFileFloor("<f4"),
}
MAIN_TOOLS = (*FAEXPORT_MODES, "simpleitk-int16", "simpleitk-float", "pydicom", "highdicom", "highdicom-latest", "dcmqi", "raw-int16-slices", "raw-uint16-file", "raw-float32-file")


# --------------------------------------------------------------------------------------------------
# The worker: one tool, one map, in a fresh process.


def _proc_status_kib(name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return _proc_status_kib("VmHWM") is not None


def current_rss_kib() -> int:
    """Resident set size now (falls back to the peak where /proc is missing)."""
    return _proc_status_kib("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def children_peak_kib() -> int:
    """Largest peak RSS of any child process waited for so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def run_repetitions(tool: Tool, work: Path, repeat: int) -> tuple[list[float], dict[str, list[float]]]:
    """Run ``tool`` ``repeat`` times into fresh folders; wall times and phases. Dirty pages are flushed between runs (untimed)."""
    times: list[float] = []
    phases: dict[str, list[float]] = {}
    for n in range(repeat):
        out = work / f"rep{n}"
        out.mkdir()
        os.sync()
        start = time.perf_counter()
        extra = tool.run(out)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        for name, seconds in extra.items():
            phases.setdefault(name, []).append(seconds)
        if "verify" in extra:
            phases.setdefault("without verify", []).append(elapsed - extra["verify"])
        shutil.rmtree(out)
    return times, phases


def worker(tool_name: str, map_path: Path, work: Path, repeat: int) -> dict:
    """Measure one tool on one map: warm up on a small block, prepare, then time ``repeat`` runs and the peak RSS."""
    array = np.load(map_path)
    ijk_to_ras = ijk_to_ras_for(array.shape)
    child_baseline_kib = None
    if tool_name == "dcmqi":  # the binary's own footprint, before any conversion
        subprocess.run([str(dcmqi_binary()), "--version"], capture_output=True, check=False)
        child_baseline_kib = children_peak_kib()
    warm = TOOLS[tool_name]()
    block = warmup_block(array)
    warm.prepare(block, ijk_to_ras_for(block.shape), work / "warmup-inputs")
    (work / "warmup").mkdir()
    run_repetitions(warm, work / "warmup", 1)
    del warm
    tool = TOOLS[tool_name]()
    tool.prepare(array, ijk_to_ras, work / "inputs")
    gc.collect()
    baseline_kib = current_rss_kib()
    peak_method = "VmHWM reset after warm-up" if reset_peak_rss() else "ru_maxrss since process start"
    times, phases = run_repetitions(tool, work, repeat)
    if tool.external:
        peak_kib, peak_method = children_peak_kib() - child_baseline_kib, "child ru_maxrss above `itkimage2paramap --version`"
    else:
        peak_kib = (_proc_status_kib("VmHWM") if peak_method.startswith("VmHWM") else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) - baseline_kib
    return {
        "tool": tool_name,
        "times": times,
        "phases": phases,
        "peak_mib": peak_kib * KIB / MIB,
        "baseline_mib": baseline_kib * KIB / MIB,
        "peak_method": peak_method,
    }


def worker_main(args: argparse.Namespace) -> int:
    """Entry point of ``--worker``: print one result line (or an error) for the parent."""
    try:
        result = worker(args.worker, Path(args.map), Path(args.work), args.repeat)
    except Exception as error:
        traceback.print_exc()
        result = {"tool": args.worker, "error": f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"}
    print(RESULT_MARKER + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------------
# The parent: maps, workers, CLI check, report.


@dataclass
class Measurement:
    """One tool on one map, as the worker reported it."""

    tool: str
    size: str
    times: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    peak_mib: float = math.nan
    peak_method: str = ""
    error: str | None = None

    @property
    def median(self) -> float:
        """Median wall time (s)."""
        return statistics.median(self.times) if self.times else math.nan

    def phase(self, name: str) -> float:
        """Median of a phase (s), NaN if the tool has none."""
        values = self.phases.get(name)
        return statistics.median(values) if values else math.nan


def worker_environment() -> dict[str, str]:
    """The environment with FAExport/ on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def measure(tool: str, size: str, map_path: Path, work: Path, repeat: int) -> Measurement:
    """Run one worker subprocess and parse its result."""
    python = str(LATEST_PYTHON) if tool == "highdicom-latest" else sys.executable
    folder = work / f"{size.replace('^', '')}-{tool.replace('+', '_')}"
    folder.mkdir()
    command = [python, str(Path(__file__).resolve()), "--worker", tool, "--map", str(map_path), "--work", str(folder), "--repeat", str(repeat)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env=worker_environment(), timeout=WORKER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return Measurement(tool, size, error=f"timed out after {WORKER_TIMEOUT_S} s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    data = worker_result(completed)
    if data is None:
        return Measurement(tool, size, error=worker_failure(completed))
    if "error" in data:
        print(completed.stderr[-2000:], file=sys.stderr)
        return Measurement(tool, size, error=data["error"])
    return Measurement(tool, size, data["times"], data["phases"], data["peak_mib"], data["peak_method"])


def worker_result(completed: subprocess.CompletedProcess) -> dict | None:
    """What a worker subprocess reported (its last RESULT_MARKER line), or None when it reported nothing."""
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    return None


def worker_failure(completed: subprocess.CompletedProcess) -> str:
    """Why a worker that reported nothing failed: the last line it printed on stderr, else its exit status."""
    return (completed.stderr.strip().splitlines()[-1:] or [f"exit {completed.returncode}"])[0]


def cli_check(map_path: Path, work: Path, repeat: int) -> dict:
    """The command line: startup and import time, and whether an actual export imports highdicom or nibabel.

    The export runs ``python -m FAExportLib export`` exactly (``runpy`` with ``sys.argv``), with an
    ``atexit`` hook that reports ``sys.modules`` when the interpreter ends (pydicom, always imported, is the
    control that the hook reports at all); mr and pm are run.
    """
    import nibabel

    env = worker_environment()
    array = np.load(map_path)
    image = work / "cli-input.nii"
    nibabel.Nifti1Image(array.transpose(2, 1, 0), ijk_to_ras_for(array.shape)).to_filename(image)

    def wall(command: list[str]) -> float:
        times = []
        for _ in range(max(repeat, 3)):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, env=env, check=True)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    result = {
        "python_startup": wall([sys.executable, "-c", "pass"]),
        "help_wall": wall([sys.executable, "-m", "FAExportLib", "--help"]),
    }
    imports = subprocess.run([sys.executable, "-X", "importtime", "-m", "FAExportLib", "--help"], capture_output=True, text=True, env=env, check=True).stderr
    cumulative = {}
    for line in imports.splitlines():
        match = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
        if match:
            cumulative.setdefault(match.group(4), (int(match.group(2)), len(match.group(3))))
    result["import_us"] = {name: cumulative[name][0] for name in ("FAExportLib", "numpy", "pydicom") if name in cumulative}
    result["help_imports_highdicom"] = "highdicom" in cumulative
    probe = (
        "import atexit, json, runpy, sys\n"
        "atexit.register(lambda: sys.stderr.write('{}' + json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})) + '\\n'))\n"
        "sys.argv = ['faexport'] + sys.argv[1:]\n"
        "runpy.run_module('FAExportLib', run_name='__main__', alter_sys=True)\n"
    ).format(RESULT_MARKER)
    for mode in ("mr", "pm"):
        out = work / f"cli-{mode.replace('+', '_')}"
        start = time.perf_counter()
        completed = subprocess.run([sys.executable, "-c", probe, "export", str(image), str(out), "--mode", mode, "--json"], capture_output=True, text=True, env=env, check=False)
        elapsed = time.perf_counter() - start
        modules = next((json.loads(line[len(RESULT_MARKER):]) for line in completed.stderr.splitlines() if line.startswith(RESULT_MARKER)), None)
        result[mode] = {"exit": completed.returncode, "wall": elapsed, **{name: None if modules is None else name in modules for name in ("highdicom", "nibabel", "pydicom")}}
        shutil.rmtree(out, ignore_errors=True)
    return result


# --------------------------------------------------------------------------------------------------
# Whole processes, as a user runs them: interpreter start, imports, reading the NIfTI, writing, verifying, exit.

# Targets (issue 17): each FAExport command's whole process / its peer's, same NIfTI input.
PROCESS_TARGETS = (("cli-mr", "simpleitk-process", 0.8), ("cli-pm", "dcmqi-process", 1.0))
PROCESS_NAMES = ("cli-mr", "simpleitk-process", "cli-pm", "dcmqi-process", "dcmqi-executable", "pydicom-floor")
PROCESS_LABELS = {
    "cli-mr": "`python -m FAExportLib export --mode mr`",
    "simpleitk-process": "SimpleITK process: ReadImage + the SimpleITK peer's int16 slices",
    "cli-pm": "`python -m FAExportLib export --mode pm`",
    "dcmqi-process": "dcmqi `itkimage2paramap` (the venv's command)",
    "dcmqi-executable": "dcmqi's executable, without the command's Python launcher",
    "pydicom-floor": "`python -c 'import numpy, pydicom'`",
}
PROCESS_SHORT = {
    "cli-mr": "FAExport mr",
    "simpleitk-process": "SimpleITK process",
    "cli-pm": "FAExport pm",
    "dcmqi-process": "dcmqi command",
    "dcmqi-executable": "dcmqi executable",
    "pydicom-floor": "numpy + pydicom import",
}
# Ratios shown for information, on the row of the process named first.
PROCESS_INFO = {"dcmqi-executable": ("cli-pm", "dcmqi-executable"), "pydicom-floor": ("pydicom-floor", "dcmqi-process")}
PHASE_MARKER = "FAEXPORT-PHASES "
# The command line with clocks around its phases: what __main__ does, with the reader and the encoders' read-back
# wrapped (as ReadBackClock does); time.monotonic() is the same clock in every process, so the parent adds the
# interpreter's start and exit.
PHASE_PROBE = """
import gc, json, sys, time
started = time.monotonic()
from FAExportLib import cli, mr, pm, sc, volume_files
imported = time.monotonic()
clock = {"read": 0.0, "verify": 0.0}
def timed(function, phase):
    def run(*args):
        start = time.monotonic()
        try:
            return function(*args)
        finally:
            clock[phase] += time.monotonic() - start
    return run
volume_files.read_volume_file = timed(volume_files.read_volume_file, "read")
for module in (mr, sc, pm):
    module.read_back_error = timed(module.read_back_error, "verify")
status = cli.main(sys.argv[1:])
finished = time.monotonic()
gc.freeze()
sys.stderr.write(MARKER + json.dumps({"started": started, "imported": imported, "finished": finished, **clock}) + "\\n")
sys.exit(status)
""".replace("MARKER", repr(PHASE_MARKER))
PHASES = ("interpreter start", "imports", "reading the NIfTI", "export (encode, write)", "verification (read-back)", "exit")


def simpleitk_process_script() -> str:
    """A stand-alone script: read the NIfTI with SimpleITK, quantize as SimpleITKInt16Tool does, and write the int16
    slices with the SimpleITK peer's own functions (their source, copied); it imports what a user's script would.
    """
    import inspect

    functions = "\n\n".join(inspect.getsource(function) for function in (new_uid, peer_rescale, sitk_write_slices))
    return (
        "import sys\nimport time\nimport uuid\nfrom pathlib import Path\n\nimport numpy as np\nimport SimpleITK as sitk\n\n"
        f"INT16_MAX = {INT16_MAX}\n\n\n{functions}\n\n"
        "image = sitk.ReadImage(sys.argv[1])\n"
        "array = sitk.GetArrayViewFromImage(image)\n"
        "slope, _ = peer_rescale(array)\n"
        "stored = sitk.GetImageFromArray(np.rint(array / slope).astype(np.int16))\n"
        "stored.CopyInformation(image)\n"
        "sitk_write_slices(stored, Path(sys.argv[2]), [])\n"
    )


def dcmqi_executable() -> Path:
    """The executable the venv's ``itkimage2paramap`` command launches (the wheel's dcmqi/bin/itkimage2paramap)."""
    return Path(importlib.metadata.distribution("dcmqi").locate_file("dcmqi/bin/itkimage2paramap")).resolve()


def process_commands(image: Path, metadata: Path, reference: Path, script: Path, out: Path) -> dict[str, list[str]]:
    """Each whole process, writing into ``out``."""
    dcmqi_arguments = ["--inputImage", str(image), "--inputMetadata", str(metadata), "--inputDICOMDirectory", str(reference), "--outputDICOM", str(out / "PM00001.dcm")]
    return {
        "cli-mr": [sys.executable, "-m", "FAExportLib", "export", str(image), str(out), "--mode", "mr"],
        "simpleitk-process": [sys.executable, str(script), str(image), str(out)],
        "cli-pm": [sys.executable, "-m", "FAExportLib", "export", str(image), str(out), "--mode", "pm"],
        "dcmqi-process": [str(dcmqi_binary()), *dcmqi_arguments],
        "dcmqi-executable": [str(dcmqi_executable()), *dcmqi_arguments],
        "pydicom-floor": [sys.executable, "-c", "import numpy, pydicom"],
    }


def written_files(out: Path) -> int:
    return sum(1 for path in out.rglob("*") if path.is_file())


def process_check(map_path: Path, work: Path, repeat: int) -> dict:
    """Every whole process ``repeat`` times, interleaved (one round runs each once), into a fresh, synced folder."""
    import nibabel

    array = np.load(map_path)
    ijk_to_ras = ijk_to_ras_for(array.shape)
    folder = work / "processes"
    folder.mkdir()
    image = folder / "fa.nii"
    nibabel.Nifti1Image(array.transpose(2, 1, 0), ijk_to_ras).to_filename(image)
    metadata = folder / "metadata.json"
    metadata.write_text(json.dumps(DCMQI_METADATA), encoding="utf-8")
    reference = folder / "reference"
    reference.mkdir()
    write_mr_slices(array, ijk_to_ras, reference)  # what dcmqi requires (a user passes the source series)
    script = folder / "simpleitk_process.py"
    script.write_text(simpleitk_process_script(), encoding="utf-8")
    out = folder / "out"
    commands = process_commands(image, metadata, reference, script, out)
    expected_files = {"cli-mr": array.shape[0], "simpleitk-process": array.shape[0], "cli-pm": 1, "dcmqi-process": 1, "dcmqi-executable": 1, "pydicom-floor": 0}
    env = worker_environment()
    times: dict[str, list[float]] = {name: [] for name in commands}
    load_before = os.getloadavg()
    for _ in range(repeat):
        for name, command in commands.items():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            os.sync()
            start = time.perf_counter()
            completed = subprocess.run(command, capture_output=True, env=env, check=False)
            elapsed = time.perf_counter() - start
            if completed.returncode != 0 or written_files(out) != expected_files[name]:
                tail = (completed.stderr or completed.stdout).decode(errors="replace").strip()[-500:]
                raise RuntimeError(f"{name}: exit {completed.returncode}, {written_files(out)} files written: {tail}")
            times[name].append(elapsed)
    load_after = os.getloadavg()
    phases = {mode: cli_phases(image, out, mode, env, repeat) for mode in ("mr", "pm")}
    shutil.rmtree(folder, ignore_errors=True)
    return {"size": "x".join(map(str, array.shape[::-1])), "times": times, "phases": phases, "load": (load_before, load_after), "repeat": repeat}


def cli_phases(image: Path, out: Path, mode: str, env: dict[str, str], repeat: int) -> dict[str, float]:
    """Median seconds of each phase of the command line (PHASES), from ``repeat`` probe runs."""
    runs: dict[str, list[float]] = {phase: [] for phase in (*PHASES, "total")}
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        os.sync()
        spawned = time.monotonic()
        completed = subprocess.run([sys.executable, "-c", PHASE_PROBE, "export", str(image), str(out), "--mode", mode], capture_output=True, text=True, env=env, check=False)
        ended = time.monotonic()
        clocks = next((json.loads(line[len(PHASE_MARKER) :]) for line in completed.stderr.splitlines() if line.startswith(PHASE_MARKER)), None)
        if completed.returncode != 0 or clocks is None:
            raise RuntimeError(f"phase probe, mode {mode}: exit {completed.returncode}: {completed.stderr.strip()[-500:]}")
        export = clocks["finished"] - clocks["imported"] - clocks["read"] - clocks["verify"]
        values = (clocks["started"] - spawned, clocks["imported"] - clocks["started"], clocks["read"], export, clocks["verify"], ended - clocks["finished"])
        for phase, seconds in zip(PHASES, values, strict=True):
            runs[phase].append(seconds)
        runs["total"].append(ended - spawned)
    return {phase: statistics.median(values) for phase, values in runs.items()}


def process_ratio(process: dict, name: str, reference: str) -> float:
    return statistics.median(process["times"][name]) / statistics.median(process["times"][reference])


def process_target_rows(process: dict) -> list[list[str]]:
    """The whole-process targets as rows of the Targets table: target, limit, ratio and verdict."""
    rows = []
    for name, reference, limit in PROCESS_TARGETS:
        ratio = process_ratio(process, name, reference)
        rows.append([f"whole process: {PROCESS_SHORT[name]} / {PROCESS_SHORT[reference]}", f"<= {limit:g}x", f"{fmt_ratio(ratio)} {verdict(ratio <= limit)}"])
    return rows


def process_lines(process: dict) -> list[str]:
    """The whole processes: times, ratios against the targets, and the command line's phases."""
    rows = []
    targets = {name: (reference, limit) for name, reference, limit in PROCESS_TARGETS}
    for name in PROCESS_NAMES:
        times = process["times"][name]
        median = statistics.median(times)
        ratio = limit = result = ""
        if name in targets:
            reference, target = targets[name]
            value = process_ratio(process, name, reference)
            ratio, limit, result = f"{fmt_ratio(value)} {PROCESS_SHORT[reference]}", f"<= {target:g}x", verdict(value <= target)
        elif name in PROCESS_INFO:
            numerator, denominator = PROCESS_INFO[name]
            ratio, result = f"{PROCESS_SHORT[numerator]} / {PROCESS_SHORT[denominator]}: {fmt_ratio(process_ratio(process, numerator, denominator))}", "information"
        rows.append([PROCESS_LABELS[name], fmt_seconds(median), f"{fmt_seconds(min(times))}-{fmt_seconds(max(times))}", ratio, limit, result])
    before, after = process["load"]
    lines = [
        (
            f"{process['repeat']} interleaved rounds (median shown); the same NIfTI ({process['size']} float32) for every process; "
            f"load average {' '.join(f'{v:.2f}' for v in before)} before, {' '.join(f'{v:.2f}' for v in after)} after."
        ),
        "",
        *markdown_table(["process", "median s", "min-max s", "ratio", "limit", "verdict"], rows, "lrrlll"),
        "",
        "Where the command line's time goes (median of as many probe runs; the interpreter's start and exit measured from the parent):",
        "",
    ]
    phase_rows = [[phase, *(fmt_seconds(process["phases"][mode][phase]) for mode in ("mr", "pm"))] for phase in (*PHASES, "total")]
    return [*lines, *markdown_table(["phase", "`--mode mr` s", "`--mode pm` s"], phase_rows)]


def _read_first(path: str, pattern: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for line in file:
                match = re.match(pattern, line)
                if match:
                    return match.group(1).strip()
    except OSError:
        return None
    return None


def filesystem_of(path: Path) -> str:
    """File system type and device of the mount holding ``path`` (from /proc/mounts)."""
    real = os.path.realpath(path)
    best = ("", "?", "?")
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                device, mount_point, fs_type = line.split()[:3]
                mount_point = mount_point.replace("\\040", " ")
                inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
                if inside and len(mount_point) > len(best[0]):
                    best = (mount_point, fs_type, device)
    except OSError:
        return "unknown"
    return f"{best[1]} ({best[2]} mounted on {best[0]})"


def package_version(name: str) -> str:
    """Installed version of a distribution in this venv, or 'absent'."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def latest_highdicom_version() -> str | None:
    """highdicom's version in .venv-latest, if that venv exists."""
    if not LATEST_PYTHON.exists():
        return None
    completed = subprocess.run([str(LATEST_PYTHON), "-c", "import importlib.metadata as m; print(m.version('highdicom'))"], capture_output=True, text=True, check=False)
    return completed.stdout.strip() or None


def machine_lines(output_dir: Path) -> list[str]:
    """The machine description, as markdown list items."""
    cpu = _read_first("/proc/cpuinfo", r"model name\s*:\s*(.*)") or platform.processor() or "unknown"
    mem_kib = _read_first("/proc/meminfo", r"MemTotal:\s*(\d+)")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    dcmqi = subprocess.run([str(dcmqi_binary()), "--version"], capture_output=True, text=True, check=False)
    dcmqi_tag = re.search(r"tag:\s*(\S+)", dcmqi.stdout + dcmqi.stderr)
    latest = latest_highdicom_version()
    return [
        f"- CPU: {cpu}; {os.cpu_count()} logical cores ({usable} usable)",
        f"- RAM: {int(mem_kib) / 2**20:.1f} GiB" if mem_kib else "- RAM: unknown",
        f"- OS: {platform.platform()}",
        (
            f"- Python {platform.python_version()} ({platform.python_implementation()}); numpy {np.__version__}, pydicom {package_version('pydicom')}, "
            f"highdicom {package_version('highdicom')}{f' (and {latest} in .venv-latest)' if latest else ''}, SimpleITK {package_version('simpleitk')}, "
            f"dcmqi {package_version('dcmqi')} (itkimage2paramap {dcmqi_tag.group(1) if dcmqi_tag else '?'}), nibabel {package_version('nibabel')}"
        ),
        f"- Output folder file system: {filesystem_of(output_dir)}",
        f"- Load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
    ]


# --------------------------------------------------------------------------------------------------
# Report


LABELS = {
    "mr": "FAExport mr (verified)",
    "sc": "FAExport sc (verified)",
    "pm": "FAExport pm (verified)",
    "mr+pm": "FAExport mr+pm (verified)",
    "simpleitk-int16": "SimpleITK, int16 slices, per-slice tags",
    "simpleitk-float": "SimpleITK float idiom (GDCM quantizes)",
    "pydicom": "plain pydicom, one MR file per slice",
    "highdicom": "highdicom {} ParametricMap + save_as",
    "highdicom-latest": "highdicom {} ParametricMap + save_as",
    "dcmqi-conversion": "dcmqi itkimage2paramap, conversion only",
    "dcmqi-total": "dcmqi itkimage2paramap, total",
    "raw-int16-slices": "floor: raw int16, one file per slice",
    "raw-uint16-file": "floor: raw uint16, one file",
    "raw-float32-file": "floor: raw float32, one file",
}
FLOORS = {"mr": "raw-int16-slices", "sc": "raw-uint16-file", "pm": "raw-float32-file", "mr+pm": "raw-int16-slices+raw-float32-file"}
PEERS = {"mr": ("simpleitk-int16", "pydicom"), "sc": ("simpleitk-int16",), "pm": ("highdicom", "dcmqi-conversion"), "mr+pm": ("simpleitk-int16+highdicom",)}


class Results:
    """Every measurement, with derived rows (dcmqi conversion/total, sums of tools)."""

    def __init__(self, measurements: list[Measurement], versions: dict[str, str]):
        self.by_key = {(m.size, m.tool): m for m in measurements}
        self.versions = versions

    def get(self, size: str, tool: str) -> Measurement | None:
        """A measurement, or None if that tool did not run on that size."""
        return self.by_key.get((size, tool))

    def seconds(self, size: str, name: str) -> float:
        """Median seconds of a tool, of a dcmqi part, or of a sum ``a+b`` of tools (not the mode mr+pm); NaN if missing."""
        if name == "dcmqi-conversion":
            measurement = self.get(size, "dcmqi")
            return measurement.phase("conversion") if measurement and not measurement.error else math.nan
        if name == "dcmqi-total":
            measurement = self.get(size, "dcmqi")
            return measurement.median + measurement.phase("reference series") if measurement and not measurement.error else math.nan
        if name not in TOOLS and "+" in name:
            return sum(self.seconds(size, part) for part in name.split("+"))
        measurement = self.get(size, name)
        return measurement.median if measurement and not measurement.error else math.nan

    def label(self, name: str) -> str:
        """Human name of a tool or derived row."""
        if name.startswith("highdicom"):
            return LABELS[name].format(self.versions.get(name, "?"))
        if name not in LABELS and "+" in name:
            return " + ".join(self.label(part) for part in name.split("+"))
        return LABELS[name]


def short_label(results: Results, name: str) -> str:
    """Compact name of a reference in ratio cells."""
    names = {
        "simpleitk-int16": "SimpleITK int16",
        "simpleitk-float": "SimpleITK float idiom",
        "pydicom": "plain pydicom",
        "highdicom": f"highdicom {results.versions.get('highdicom', '?')}",
        "highdicom-latest": f"highdicom {results.versions.get('highdicom-latest', '?')}",
        "dcmqi-conversion": "dcmqi conversion",
        "dcmqi-total": "dcmqi total",
        "raw-int16-slices": "raw int16 slices",
        "raw-uint16-file": "raw uint16 file",
        "raw-float32-file": "raw float32 file",
    }
    return " + ".join(names.get(part, part) for part in name.split("+")) if name not in names else names[name]


def fmt_seconds(value: float) -> str:
    """Seconds with sensible digits."""
    if math.isnan(value):
        return "n/a"
    if value < 0.01:
        return f"{value:.5f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def fmt_ratio(value: float) -> str:
    """A ratio like 0.27x."""
    return "n/a" if math.isnan(value) else f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def verdict(passed: bool | None) -> str:
    """PASS / FAIL / n/a."""
    return "n/a" if passed is None else "PASS" if passed else "FAIL"


def markdown_table(headers: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A markdown table; ``align`` has one letter per column, l or r (default: first left, others right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(row) + " |" for row in [headers, rule, *rows]]


def volume_mib(size: str) -> float:
    """Size of the float32 volume in MiB."""
    return math.prod(SIZES[size]) * 4 / MIB


def mvoxels(size: str) -> float:
    """Millions of voxels."""
    return math.prod(SIZES[size]) / 1e6


def timing_table(results: Results, size: str) -> list[str]:
    """All tools on one map: time, spread, per Mvoxel, peak RSS, ratios to floor and peers."""
    rows = []
    names = [name for name in MAIN_TOOLS if results.get(size, name) is not None]
    expanded = [part for name in names for part in (("dcmqi-conversion", "dcmqi-total") if name == "dcmqi" else (name,))]
    for name in expanded:
        measurement = results.get(size, "dcmqi" if name.startswith("dcmqi") else name)
        if measurement.error:
            rows.append([results.label(name), "failed: " + measurement.error.replace("|", "/")[:120], "", "", "", "", ""])
            continue
        seconds = results.seconds(size, name)
        spread = f"{fmt_seconds(min(measurement.times))}-{fmt_seconds(max(measurement.times))}" if name not in ("dcmqi-conversion", "dcmqi-total") else ""
        if name == "dcmqi-conversion":
            parts = measurement.phases["conversion"]
            spread = f"{fmt_seconds(min(parts))}-{fmt_seconds(max(parts))}"
        vs_floor = vs_peer = ""
        if name in FLOORS:
            vs_floor = f"{fmt_ratio(seconds / results.seconds(size, FLOORS[name]))} {short_label(results, FLOORS[name])}"
            vs_peer = ", ".join(f"{fmt_ratio(seconds / results.seconds(size, peer))} {short_label(results, peer)}" for peer in PEERS[name])
        memory = "" if name == "dcmqi-total" else f"{measurement.peak_mib:.1f}"
        rows.append([results.label(name), fmt_seconds(seconds), spread, f"{seconds / mvoxels(size):.3f}", memory, vs_floor, vs_peer])
    headers = ["tool", "median s", "min-max s", "s per Mvoxel", "peak RSS MiB", "FAExport / floor", "FAExport / peer"]
    return markdown_table(headers, rows, "lrrrrll")


def target_rows(results: Results, sizes: list[str], cli: dict, process: dict) -> list[str]:
    """PASS/FAIL of every target, one column per measured map (the whole processes' in the column of their map)."""
    rows = []
    process_size = LARGE if LARGE in sizes else SMALL
    for target, limit, cell in process_target_rows(process):
        rows.append([target, limit, *(cell if size == process_size else "" for size in sizes)])
    for mode, reference, limit in TIME_TARGETS:
        cells = []
        for size in sizes:
            ratio = results.seconds(size, mode) / results.seconds(size, reference)
            cells.append(f"{fmt_ratio(ratio)} {verdict(None if math.isnan(ratio) else ratio <= limit)}")
        rows.append([f"{mode} time / {short_label(results, reference)}", f"<= {limit:g}x", *cells])

    def per_mode_rows(label: str, limit: str, cell) -> None:
        """One row per FAExport mode; ``cell(measurement, size)`` for each map that was measured."""
        for mode in FAEXPORT_MODES:
            measurements = [(results.get(size, mode), size) for size in sizes]
            cells = ["n/a" if m is None or m.error else cell(m, size) for m, size in measurements]
            rows.append([f"{mode} {label}", limit, *cells])

    def memory_cell(measurement, size: str) -> str:
        volumes = measurement.peak_mib / volume_mib(size)
        return f"{measurement.peak_mib:.1f} MiB = {volumes:.2f} vol {verdict(volumes <= MEMORY_LIMIT_VOLUMES)}"

    def verification_cell(measurement, size: str) -> str:
        verify, export = measurement.phase("verify"), measurement.phase("without verify")
        return f"{verify:.3f} s / {export:.3f} s = {fmt_ratio(verify / export)} {verdict(verify <= export)}"

    per_mode_rows("peak RSS above baseline", f"<= {MEMORY_LIMIT_VOLUMES:g} float32 volumes", memory_cell)
    per_mode_rows("verification / export without it", "<= 1x", verification_cell)
    mr_cli = cli.get("mr", {})
    imported = mr_cli.get("highdicom")
    cli_cell = f"{'imported' if imported else 'not imported'} (exit {mr_cli.get('exit')}) {verdict(None if imported is None else (not imported and mr_cli.get('exit') == 0))}"
    rows.append(["`python -m FAExportLib export --mode mr`: highdicom in sys.modules at exit", "not imported", cli_cell, *[""] * (len(sizes) - 1)])
    return markdown_table(["target", "limit", *sizes], rows, "ll" + "r" * len(sizes))


def info_rows(results: Results, sizes: list[str]) -> list[str]:
    """Ratios shown for information (no target)."""
    rows = []
    for mode, reference in INFO_RATIOS:
        rows.append([f"{mode} / {short_label(results, reference)}", *[fmt_ratio(results.seconds(size, mode) / results.seconds(size, reference)) for size in sizes]])
    return markdown_table(["ratio of medians", *sizes], rows)


def growth_table(results: Results, sizes: list[str]) -> list[str]:
    """mr and pm over the map sizes: seconds and seconds per Mvoxel, and the growth exponent."""
    rows = []
    for size in sizes:
        cells = [size, "x".join(map(str, SIZES[size][::-1])), f"{mvoxels(size):.2f}"]
        for tool in GROWTH_TOOLS:
            seconds = results.seconds(size, tool)
            cells += [fmt_seconds(seconds), f"{seconds / mvoxels(size):.3f}", f"{1000 * seconds / SIZES[size][0]:.2f}"]
        rows.append(cells)
    headers = ["map", "i x j x k", "Mvoxels"] + [f"{tool} {unit}" for tool in GROWTH_TOOLS for unit in ("s", "s/Mvoxel", "ms/slice")]
    lines = markdown_table(headers, rows)
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        exponents = []
        for tool in GROWTH_TOOLS:
            t0, t1 = results.seconds(first, tool), results.seconds(last, tool)
            exponents.append(f"{tool} {math.log(t1 / t0) / math.log(mvoxels(last) / mvoxels(first)):.2f}")
        lines += [
            "",
            f"Growth exponent d log(time) / d log(voxels), {first} to {last} (1 = linear; below 1, fixed and per-slice costs dominate): {', '.join(exponents)}.",
        ]
    return lines


def phase_table(results: Results, sizes: list[str]) -> list[str]:
    """FAExport modes split into export and verification; dcmqi split into its steps."""
    rows = []
    for size in sizes:
        for mode in FAEXPORT_MODES:
            measurement = results.get(size, mode)
            if measurement is None or measurement.error:
                continue
            export, verify = measurement.phase("without verify"), measurement.phase("verify")
            peer = PEERS[mode][0]
            rows.append([f"{mode} {size}", fmt_seconds(measurement.median), fmt_seconds(export), fmt_seconds(verify), f"{fmt_ratio(export / results.seconds(size, peer))} {short_label(results, peer)}"])
    lines = markdown_table(["FAExport mode, map", "total s", "export without verification s", "verification s", "export without verification / peer"], rows, "lrrrl")
    for size in sizes:
        dcmqi = results.get(size, "dcmqi")
        if dcmqi and not dcmqi.error:
            parts = ", ".join(f"{name} {dcmqi.phase(name):.3f} s" for name in ("input image", "metadata json", "conversion", "reference series"))
            lines += ["", f"dcmqi {size}: {parts} (the reference series is written once, untimed, and added to the total)."]
    return lines


def cli_lines(cli: dict) -> list[str]:
    """The command line's startup, import and highdicom check."""
    imports = cli.get("import_us", {})
    rows = [
        ["`python -c pass` (interpreter alone)", f"{cli['python_startup'] * 1000:.0f} ms"],
        ["`python -m FAExportLib --help`", f"{cli['help_wall'] * 1000:.0f} ms"],
        [
            "`-X importtime` of `-m FAExportLib --help`: FAExportLib, cumulative",
            f"{imports.get('FAExportLib', 0) / 1000:.0f} ms; within it pydicom {imports.get('pydicom', 0) / 1000:.0f} ms and numpy {imports.get('numpy', 0) / 1000:.0f} ms (cumulative, they may nest)",
        ],
        ["`--help` imports highdicom", "yes" if cli["help_imports_highdicom"] else "no"],
    ]
    for mode in ("mr", "pm"):
        info = cli[mode]
        imported = ", ".join(f"{name} {'imported' if info[name] else 'not imported'}" for name in ("highdicom", "nibabel", "pydicom"))
        rows.append([f"`export --mode {mode}` of the {cli['size']} map (NIfTI)", f"exit {info['exit']}, {info['wall']:.2f} s wall, {imported} (pydicom: the control)"])
    return markdown_table(["command line", "measured"], rows, "ll")


def map_table(maps: dict[str, np.ndarray]) -> list[str]:
    """The generated maps."""
    rows = []
    for size, array in maps.items():
        brain = array > 0
        spacing = 182.0 / array.shape[2]
        rows.append([
            size,
            "x".join(map(str, array.shape[::-1])),
            f"{spacing:.3g}",
            f"{array.size / 1e6:.2f}",
            f"{array.nbytes / MIB:.1f}",
            f"{array.min():.3g}..{array.max():.3g}",
            f"{array[brain].mean():.3f}",
            f"{100 * (1 - brain.mean()):.0f}%",
        ])
    return markdown_table(["map", "i x j x k", "voxel mm", "Mvoxels", "float32 MiB", "values", "mean in brain", "zero voxels"], rows)


# --------------------------------------------------------------------------------------------------
# Slicer's Export to DICOM dialog: one examination of the selected map


HARNESS = REPO / "Testing" / "Harness"


def dialog_examination_worker(repeat: int) -> dict:
    """Time ``ExportDialog.examine`` of the MNI map, ``repeat`` times cold (after slicer.util.arrayFromVolumeModified,
    as an edit announces itself: the voxels are scanned) and cached (right after: nothing changed).
    """
    import types

    import pytest

    for path in (PACKAGE_ROOT, HARNESS):
        sys.path.insert(0, str(path))
    from dicom_export_standins import ExportDialog, ScalarVolumeExporterModel, install

    import slicer

    array = fa_like_map(MNI_SHAPE_KJI)
    with pytest.MonkeyPatch.context() as patch:
        scene = slicer.vtkMRMLScene()
        install(patch, scene)
        import DICOMFAExportPlugin  # after install(): it imports DICOMLib

        slicer.modules.dicomPlugins = {ScalarVolumeExporterModel.pluginKey: ScalarVolumeExporterModel}
        DICOMFAExportPlugin.DICOMFAExportPlugin(types.SimpleNamespace())
        shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)

        def selectable(values: np.ndarray, name: str):
            node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
            slicer.util.updateVolumeFromArray(node, values)
            return node, shNode.CreateItem(shNode.GetSceneItemID(), node)

        def examination(item: int) -> float:
            start = time.perf_counter()
            dialog.examine(item)
            return time.perf_counter() - start

        dialog = ExportDialog(scene)
        dialog.examine(selectable(warmup_block(array), "warm-up")[1])  # imports the encoder
        node, item = selectable(array, "MNI")
        cold, cached = [], []
        for _ in range(repeat):
            slicer.util.arrayFromVolumeModified(node)
            cold.append(examination(item))
            cached.append(examination(item))
        rows = [row.text for row in dialog.examine(item)]
    return {"cold": cold, "cached": cached, "rows": rows, "shape": list(array.shape)}


def dialog_examination(repeat: int) -> dict:
    """Run the dialog worker in a fresh process; its result, or {"error": ...}."""
    command = [sys.executable, str(Path(__file__).resolve()), "--dialog-worker", "--repeat", str(repeat)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env=worker_environment(), timeout=WORKER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
    data = worker_result(completed)
    return data if data is not None else {"error": worker_failure(completed)}


def dialog_lines(result: dict) -> list[str]:
    """The examination's figure: median and fastest of the cold and the cached runs, and the rows it listed."""
    if "error" in result:
        return [f"Failed: {result['error']}"]
    k, j, i = result["shape"]
    rows = [[name, f"{statistics.median(result[key]) * 1000:.1f} ms", f"{min(result[key]) * 1000:.1f} ms"] for name, key in (("cold (voxels just edited: scanned)", "cold"), ("cached (selected again)", "cached"))]
    lines = markdown_table([f"one examination of the {i}x{j}x{k} float32 map ({len(result['cold'])} runs)", "median", "fastest"], rows, "lrr")
    return [*lines, "", "Rows listed: " + "; ".join(f"`{text}`" for text in result["rows"])]


# --------------------------------------------------------------------------------------------------
# Main


def profile_export(mode: str, size: str) -> None:
    """cProfile of one ``export_volume`` (after a warm-up) on a generated map: top functions by own and cumulative time."""
    if str(PACKAGE_ROOT) not in sys.path:
        sys.path.insert(0, str(PACKAGE_ROOT))
    from FAExportLib import export_volume

    array = fa_like_map(SIZES[size])
    ijk_to_ras = ijk_to_ras_for(array.shape)
    with tempfile.TemporaryDirectory(prefix="faexport-profile-") as folder:
        block = warmup_block(array)
        export_volume(block, ijk_to_ras_for(block.shape), Path(folder) / "warmup", mode=mode)
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        export_volume(array, ijk_to_ras, Path(folder) / "run", mode=mode)
        profiler.disable()
        elapsed = time.perf_counter() - start
    print(f"# cProfile of export_volume(mode={mode!r}) on the {size} map: {elapsed:.3f} s wall (profiled)\n")
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(25)
        print(f"## by {order}\n")
        print(text.getvalue())


def parse_arguments() -> argparse.Namespace:
    """Command line of the benchmark (and of its workers)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repetitions, the 64^3 map only")
    parser.add_argument("--repeat", type=int, help="repetitions per tool (default 5, --quick 2)")
    parser.add_argument("--tmpdir", help="folder for the temporary output (default: the system's temporary folder)")
    parser.add_argument("--profile", choices=FAEXPORT_MODES, help="only profile one FAExport export of the MNI map (or 64^3 with --quick)")
    parser.add_argument("--processes-only", action="store_true", help="only the whole processes (command line vs SimpleITK and dcmqi), with their targets")
    parser.add_argument("--process-repeat", type=int, help="interleaved rounds of the whole processes (default 11, --quick 5)")
    parser.add_argument("--dialog-only", action="store_true", help="only the Export to DICOM dialog's examination of the MNI map, cold and cached")
    parser.add_argument("--worker", choices=list(TOOLS), help=argparse.SUPPRESS)
    parser.add_argument("--dialog-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--map", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    """Generate the maps, measure every tool in its own process, check the CLI, print the report."""
    args = parse_arguments()
    if args.worker:
        args.repeat = args.repeat or 1
        return worker_main(args)
    if args.dialog_worker:
        print(RESULT_MARKER + json.dumps(dialog_examination_worker(args.repeat or 5)), flush=True)
        return 0
    if args.dialog_only:
        print("\n".join(["## Benchmark: the Export to DICOM dialog", "", *dialog_lines(dialog_examination(args.repeat or 5))]))
        return 0
    if args.profile:
        profile_export(args.profile, SMALL if args.quick else LARGE)
        return 0
    repeat = args.repeat or (2 if args.quick else 5)
    process_repeat = args.process_repeat or (5 if args.quick else 11)
    main_sizes = [SMALL] if args.quick else [SMALL, LARGE]
    all_sizes = [SMALL] if args.quick else [SMALL, MEDIUM, LARGE]
    if args.processes_only:
        main_sizes = all_sizes = [SMALL if args.quick else LARGE]
    started = time.perf_counter()
    versions = {"highdicom": package_version("highdicom"), "highdicom-latest": latest_highdicom_version() or "absent"}

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="faexport-benchmark-", dir=args.tmpdir) as folder:
        work = Path(folder)
        machine = machine_lines(work)
        maps, map_paths = {}, {}
        for size in all_sizes:
            maps[size] = fa_like_map(SIZES[size])
            map_paths[size] = work / f"map-{size.replace('^', '')}.npy"
            np.save(map_paths[size], maps[size])
        log(f"maps generated: {', '.join(all_sizes)}")
        process_size = main_sizes[-1]
        process = process_check(map_paths[process_size], work, process_repeat)
        log(
            f"whole processes, {process_size}: "
            + ", ".join(f"{name} {statistics.median(times):.3f} s" for name, times in process["times"].items())
            + "; "
            + ", ".join(f"{name} / {reference} {fmt_ratio(process_ratio(process, name, reference))}" for name, reference, _ in PROCESS_TARGETS),
        )
        if args.processes_only:
            load_at_end = os.getloadavg()
            elapsed = time.perf_counter() - started
            report = ["## Benchmark: whole processes", "", f"`Testing/Tools/benchmark.py --processes-only{' --quick' if args.quick else ''}`", ""]
            report += [*machine, f"- Load average at end: {' '.join(f'{v:.2f}' for v in load_at_end)}", f"- Benchmark run time: {elapsed:.0f} s", ""]
            report += [f"### Whole process, as a user runs it ({process_size} map, NIfTI input)", "", *process_lines(process), ""]
            report += ["### Targets", "", *markdown_table(["target", "limit", process_size], process_target_rows(process), "llr")]
            print("\n".join(report))
            return 0
        measurements = []
        for size in all_sizes:
            for tool in MAIN_TOOLS if size in main_sizes else GROWTH_TOOLS:
                if tool == "highdicom-latest" and not LATEST_PYTHON.exists():
                    continue
                measurement = measure(tool, size, map_paths[size], work, repeat)
                measurements.append(measurement)
                log(f"{size} {tool}: " + (f"failed: {measurement.error}" if measurement.error else f"median {measurement.median:.3f} s, peak {measurement.peak_mib:.1f} MiB"))
        cli = cli_check(map_paths[SMALL], work, repeat)
        cli["size"] = SMALL
        log("command line checked")
        dialog = dialog_examination(repeat)
        log("Export to DICOM dialog examined")
        load_at_end = os.getloadavg()

    results = Results(measurements, versions)
    elapsed = time.perf_counter() - started
    report = ["## Benchmark", "", f"`Testing/Tools/benchmark.py{' --quick' if args.quick else ''}`: {repeat} repetitions per tool (median shown), each tool in a fresh process.", ""]
    report += [*machine, f"- Load average at end: {' '.join(f'{v:.2f}' for v in load_at_end)}", f"- Benchmark run time: {elapsed:.0f} s", ""]
    report += ["### Input maps (FA-like: smooth structure plus noise, zero outside the brain; LAS grid like FSL's MNI152)", "", *map_table(maps), ""]
    report += [f"### Whole process, as a user runs it ({main_sizes[-1]} map, NIfTI input)", "", *process_lines(process), ""]
    for size in main_sizes:
        report += [f"### Times, {size} map (array in memory -> complete series on disk)", "", *timing_table(results, size), ""]
    quantize = []
    for size in main_sizes:
        floor = results.get(size, "raw-int16-slices")
        if floor and not floor.error:
            quantize.append(f"{fmt_seconds(floor.phase('quantize'))} s for {size} ({fmt_ratio(floor.phase('quantize') / floor.median)} its raw int16 floor)")
    if quantize:
        report += [f"The floors exclude quantization; numpy's float32 / slope, rint, cast to int16 of the volume alone takes {', '.join(quantize)}.", ""]
    report += [
        (
            "Peak RSS: above the worker's baseline after imports, inputs and a warm-up export (for dcmqi: the binary's peak above its own `--version` run, "
            "which includes reading its NIfTI input). FAExport times include the read-back verification; floors write pre-computed stored bytes without a "
            "DICOM header. SimpleITK int16: GDCM refuses a fractional RescaleSlope on integer images, so those files carry no slope. "
            "On the 64^3 map (1 MiB of float32) allocations of a few MiB that do not depend on the volume dominate the memory ratios."
        ),
        "",
        "### Targets",
        "",
        *target_rows(results, main_sizes, cli, process),
        "",
        "### Other ratios (information)",
        "",
        *info_rows(results, main_sizes),
        "",
        "### Export and verification",
        "",
        *phase_table(results, main_sizes),
        "",
        "### Linear growth",
        "",
        *growth_table(results, all_sizes),
        "",
        "### Command line",
        "",
        *cli_lines(cli),
        "",
        "### Export to DICOM dialog (one examination of the selected map by every registered plugin)",
        "",
        *dialog_lines(dialog),
    ]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
