"""Mode ``sc``: Multi-frame Grayscale Word Secondary Capture with rescale and full geometry.

For archives that refuse MR objects they did not acquire and readers without Parametric Map
support. The rescale sits in the SC Multi-frame Image module, where PS3.3 A.8.4.4 leaves it
unconstrained; geometry goes into functional groups and a Frame of Reference.
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import MultiFrameGrayscaleWordSecondaryCaptureImageStorage, generate_uid

from . import anatomy, multiframe, verify
from .geometry import patient_orientation
from .mr import add_value_mapping, derivation_description
from .scaling import UINT16
from .series import SeriesPlan
from .windows import integer_window
from .writer import file_meta

SOP_CLASS_UID = MultiFrameGrayscaleWordSecondaryCaptureImageStorage
MODALITY = "OT"
SERIES_NUMBER = 1002
SLICE_LOCATION_VECTOR = 0x00182005
STORAGE = UINT16  # the IOD allows only unsigned words; negative values get an intercept
MULTIFRAME_BYTES_PER_VOXEL = 2  # all frames in one Pixel Data element (the pipeline checks the 4 GiB limit)


def check(plan: SeriesPlan) -> None:
    """Nothing beyond the pipeline's checks: the rescale already fits uint16."""


def encode(plan: SeriesPlan, base: Dataset) -> Iterator[tuple[str, list]]:
    """Yield the one multi-frame Secondary Capture file, as chunks (see multiframe.encoded_file)."""
    geometry, rescale = plan.geometry, plan.rescale
    ds = base
    sop_instance_uid = generate_uid()
    ds.SOPInstanceUID = sop_instance_uid
    # SC Equipment: a workstation made it
    ds.ConversionType = "WSD"
    # General Image
    ds.InstanceNumber = 1
    ds.ContentDate = plan.now.strftime("%Y%m%d")
    ds.ContentTime = plan.now.strftime("%H%M%S")
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.PatientOrientation = patient_orientation(geometry.row_direction, geometry.column_direction)
    ds.DerivationDescription = derivation_description(plan)
    ds.LossyImageCompression = "00"
    # Image Pixel: unsigned 16-bit words
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = geometry.rows
    ds.Columns = geometry.columns
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = STORAGE.pixel_representation
    # SC Multi-frame Image: the rescale readers apply, and the frame vector
    ds.BurnedInAnnotation = "NO"
    ds.PresentationLUTShape = "IDENTITY"
    ds.RescaleIntercept = rescale.intercept_text
    ds.RescaleSlope = rescale.slope_text
    ds.RescaleType = "US"
    if geometry.slice_count > 1:  # Type 1C: only for more than one frame
        ds.FrameIncrementPointer = SLICE_LOCATION_VECTOR
        ds.SliceLocationVector = [geometry.slice_location(n) for n in range(geometry.slice_count)]
    ds.PixelSpacing = geometry.pixel_spacing
    ds.WindowCenter, ds.WindowWidth, function = integer_window(plan.window, rescale)
    if function:
        ds.VOILUTFunction = function  # plain LINEAR forbids widths below 1
    add_value_mapping(ds, plan, STORAGE)
    anatomy.add_image_laterality(ds, plan.metadata.body_part_examined, plan.metadata.laterality)
    multiframe.add_geometry(ds, plan, Dataset(), dimensions=False)  # the SC IOD has no Frame Content macro
    stored = np.empty((geometry.slice_count, geometry.rows, geometry.columns), dtype=STORAGE.dtype)
    for stored_index in range(geometry.slice_count):
        rescale.quantize(plan.stored_slice(stored_index), out=stored[stored_index])
    ds.file_meta = file_meta(SOP_CLASS_UID, sop_instance_uid)
    yield "SC00001.dcm", multiframe.encoded_file(ds, plan, False, "PixelData", stored)


def read_back_error(plan: SeriesPlan, files: list[Path]) -> float:
    """Max |value read back - input|, decoded through the file's top-level modality LUT stage as pydicom applies it."""
    return verify.multi_frame_error(plan, files, verify.modality_rescale)
