"""Mode ``mr``: classic MR Image Storage, one int16 file per slice, one rescale for the series.

The most interoperable encoding: every PACS and reader takes MR images, and one constant
RescaleSlope/Intercept per series (never per slice: several readers apply the first file's slope to
all) carries the float values.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage, generate_uid

from . import anatomy, real_world_values, verify
from .instance_template import InstanceTemplate
from .metadata import mark_character_set
from .plain_integers import is_plain
from .quantities import mr_image_flavor
from .scaling import INT16
from .series import SeriesPlan
from .windows import integer_window
from .writer import file_meta

SOP_CLASS_UID = MRImageStorage
MODALITY = "MR"
SERIES_NUMBER = 1001
STORAGE = INT16
MULTIFRAME_BYTES_PER_VOXEL = None  # one file per slice: no single-element limit
STORAGE_VR = "SS"  # int16: the VR of (0028,0108) and (0028,0109), which are US or SS as PixelRepresentation says
SMALLEST_PIXEL_VALUE_IN_SERIES, LARGEST_PIXEL_VALUE_IN_SERIES = 0x00280108, 0x00280109


def image_type(plan: SeriesPlan) -> list[str]:
    """DERIVED, SECONDARY (computed after the examination), flavor, and the quantity name as vendors write it."""
    return ["DERIVED", "SECONDARY", mr_image_flavor(plan.quantity), re.sub(r"[^A-Z0-9_ ]", "_", plan.quantity.name.upper())[:16]]


def shared_attributes(plan: SeriesPlan, base: Dataset) -> Dataset:
    """Add the attributes identical for every slice of the series to ``base``."""
    geometry, rescale = plan.geometry, plan.rescale
    ds = base
    ds.ImageType = image_type(plan)
    ds.ContentDate = plan.now.strftime("%Y%m%d")
    ds.ContentTime = plan.now.strftime("%H%M%S")
    ds.DerivationDescription = derivation_description(plan)
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    # MR Image module: this is a computed map, not an acquisition; RM = research mode.
    ds.PatientPosition = ""  # Type 2C for MR; unknown for a map computed offline
    ds.ScanningSequence = "RM"
    ds.SequenceVariant = "NONE"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = ""
    ds.RepetitionTime = ""
    ds.EchoTime = ""
    ds.EchoTrainLength = ""
    # Image Plane
    ds.PixelSpacing = geometry.pixel_spacing
    ds.ImageOrientationPatient = geometry.image_orientation
    ds.SliceThickness = geometry.slice_spacing_ds
    ds.SpacingBetweenSlices = geometry.slice_spacing_ds
    # Image Pixel
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = geometry.rows
    ds.Columns = geometry.columns
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = STORAGE.pixel_representation
    # The series' stored extremes, in the pixels' own VR (a US -107 crashed Karawun, #34); readers that window by them
    # get one window for every slice (MRtrix #2238: without them, brightness changed from slice to slice).
    ds.add_new(SMALLEST_PIXEL_VALUE_IN_SERIES, STORAGE_VR, int(rescale.stored_value(plan.value_range.minimum)))
    ds.add_new(LARGEST_PIXEL_VALUE_IN_SERIES, STORAGE_VR, int(rescale.stored_value(plan.value_range.maximum)))
    # Modality LUT: one slope and intercept for the whole series
    ds.RescaleIntercept = rescale.intercept_text
    ds.RescaleSlope = rescale.slope_text
    ds.RescaleType = "US"
    # VOI LUT, in the file's units (integers where they can be: see windows.py)
    ds.WindowCenter, ds.WindowWidth, function = integer_window(plan.window, rescale)
    ds.WindowCenterWidthExplanation = plan.series_description
    if function:
        ds.VOILUTFunction = function  # plain LINEAR forbids widths below 1 (diffusivities in mm2/s)
    add_value_mapping(ds, plan, STORAGE)
    anatomy.add_image_laterality(ds, plan.metadata.body_part_examined, plan.metadata.laterality)
    mark_character_set(ds)
    return ds


def add_value_mapping(ds: Dataset, plan: SeriesPlan, storage) -> None:
    """The Real World Value Mapping beside the rescale (shared by mr and sc): the same slope, with the unit's code."""
    mapping = real_world_values.integer_mapping(plan.quantity, plan.rescale, plan.value_range, signed=storage.pixel_representation == 1)
    if mapping is not None:
        ds.RealWorldValueMappingSequence = [mapping]


def derivation_description(plan: SeriesPlan) -> str:
    """How to get the map's values from the stored ones (shared by mr and sc)."""
    if is_plain(plan.rescale):
        factor = plan.rescale.scale_label
        return f"{plan.quantity.name} x {factor} exported by FAExport as plain integers (RescaleSlope 1); {plan.quantity.name} = stored value / {factor}"
    return f"{plan.quantity.name} map exported by FAExport; value = stored value x RescaleSlope + RescaleIntercept"


def check(plan: SeriesPlan) -> None:
    """Nothing to refuse beyond what the pipeline checks: one small file per slice."""


# The elements that differ from slice to slice, in tag order; everything else is encoded once per series.
VARYING_KEYWORDS = ["SOPInstanceUID", "InstanceNumber", "ImagePositionPatient", "SliceLocation", "PixelData"]


def encode(plan: SeriesPlan, base: Dataset) -> Iterator[tuple[str, list[bytes]]]:
    """Yield (file name, the file's encoded chunks) for each slice, in storage order (ascending along the normal)."""
    template = InstanceTemplate(shared_attributes(plan, base), file_meta(SOP_CLASS_UID, ""), VARYING_KEYWORDS)
    for stored_index in range(plan.geometry.slice_count):
        sop_instance_uid = generate_uid()
        pixels = np.ascontiguousarray(plan.rescale.quantize(plan.stored_slice(stored_index)), dtype=STORAGE.dtype)  # rows in file order
        varying = [
            ("UI", sop_instance_uid),
            ("IS", str(stored_index + 1)),
            ("DS", "\\".join(plan.geometry.image_position(stored_index))),
            ("DS", plan.geometry.slice_location(stored_index)),
            ("OW", memoryview(pixels).cast("B")),
        ]
        yield f"IM{stored_index + 1:05d}.dcm", template.encode_values(sop_instance_uid, varying)


def read_back_error(plan: SeriesPlan, files: list[Path]) -> float:
    """Max |value read back - input|."""
    return verify.single_frame_error(plan, files)
