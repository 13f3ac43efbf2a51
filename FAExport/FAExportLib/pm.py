"""Mode ``pm``: Parametric Map Storage, one multi-frame file of float32 values with their meaning.

Values round-trip exactly (float32 input) and carry their quantity, unit and method as codes in the
Real World Value Mapping. Built with pydicom alone, not highdicom's ParametricMap, which needs a source
image, sorts frames against dcmqi (Slicer's loader) and omits Frame Anatomy; see Docs/conformance.md for
every such trap and how it is closed here.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ParametricMapStorage, generate_uid

from . import anatomy, multiframe, real_world_values, verify
from .codes import Code, code_item
from .decimal_strings import format_ds
from .errors import Field, InputError
from .instance_template import encode_elements
from .quantities import Quantity, derivation_code, unit_suggestion
from .series import SeriesPlan
from .sources import referenced_series_item
from .writer import file_meta

SOP_CLASS_UID = ParametricMapStorage
MODALITY = "MR"  # PS3.3 C.8.32.1: the modality of the acquisition the map was derived from
SERIES_NUMBER = 1003
STORAGE = None  # float32 pixels, no rescale
MULTIFRAME_BYTES_PER_VOXEL = 4  # all frames in one Float Pixel Data element (the pipeline checks the 4 GiB limit)
IMAGE_TYPE = ["DERIVED", "PRIMARY", "VOLUME", "QUANTITY"]
SOURCE_IMAGE_PURPOSE = Code("121322", "DCM", "Source image for image processing operation")  # CID 7202


def check(plan: SeriesPlan) -> None:
    """Refuse a plan a Parametric Map cannot carry, before anything is written."""
    with np.errstate(over="ignore"):
        beyond_float32 = bool(np.isinf(np.float32(plan.value_range.max_abs)))
    if beyond_float32:
        raise InputError(
            f"values as large as {plan.value_range.max_abs:.6g} are beyond float32 (about 3.4e38), which a Parametric Map stores; "
            "change the map's units first",
        )
    check_quantity(plan.quantity)


def check_quantity(quantity: Quantity) -> None:
    """Refuse a quantity a Parametric Map cannot name: no code, or no unit (the panel asks this before exporting)."""
    if quantity.code is None:
        raise InputError(
            f"a Parametric Map needs coded values: {quantity.name!r} has no code in DICOM's vocabulary (the known quantities are listed in Docs/metadata.md)",
            remedy=("give ", Field("quantity_code", "VALUE,SCHEME,MEANING"), " and ", Field("unit"), " (a UCUM code such as ms, or VALUE,SCHEME,MEANING)"),
            value=quantity.name,
        )
    if quantity.unit is None:
        raise InputError(
            f"a Parametric Map needs the unit of the {quantity.name} values, which {quantity.name} does not fix: give ",
            *unit_suggestion(quantity),
            field="unit",
        )


def float32_frames(plan: SeriesPlan) -> np.ndarray:
    """The volume as float32 frames in storage order (a copy only where needed)."""
    order = plan.geometry.slice_order
    frames = plan.array if order[0] == 0 else plan.array[::-1]
    return np.asarray(frames, dtype="<f4")


def error_bound(plan: SeriesPlan) -> float:
    """Largest change float32 storage makes to the input (0 for float32 or small integer input)."""
    if plan.array.dtype == np.float32:
        return 0.0
    worst = 0.0
    for k in range(plan.array.shape[0]):
        values = plan.array[k].astype(np.float64)
        worst = max(worst, float(np.max(np.abs(values.astype(np.float32).astype(np.float64) - values))))
    return worst


def encode(plan: SeriesPlan, base: Dataset) -> Iterator[tuple[str, list]]:
    """Yield the one Parametric Map file, as chunks (see multiframe.encoded_file)."""
    frames = float32_frames(plan)
    # The stored extremes: float32 rounding is monotonic, so these are the frames' own minimum and maximum.
    value_range = (float(np.float32(plan.value_range.minimum)), float(np.float32(plan.value_range.maximum)))
    ds = base
    if "Laterality" in ds:  # Type 2C: in a Parametric Map, Frame Anatomy's FrameLaterality carries it (dciodvfy errs otherwise)
        del ds.Laterality
    sop_instance_uid = generate_uid()
    ds.SOPInstanceUID = sop_instance_uid
    # Enhanced General Equipment (all Type 1)
    ds.DeviceSerialNumber = "FAExport"
    # General Image / Parametric Map Image
    ds.InstanceNumber = 1
    ds.ContentDate = plan.now.strftime("%Y%m%d")
    ds.ContentTime = plan.now.strftime("%H%M%S")
    ds.ImageType = IMAGE_TYPE
    ds.ContentLabel = re.sub(r"[^A-Z0-9_]", "_", plan.quantity.name.upper())[:12] + "_MAP"  # CS
    ds.ContentDescription = plan.series_description
    ds.ContentCreatorName = plan.metadata.content_creator_name  # Type 2: dcmqi warns when absent
    ds.ContentQualification = "RESEARCH"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 32
    ds.Rows = plan.geometry.rows
    ds.Columns = plan.geometry.columns
    ds.PresentationLUTShape = "IDENTITY"
    ds.LossyImageCompression = "00"
    ds.BurnedInAnnotation = "NO"
    ds.RecognizableVisualFeatures = "NO"
    ds.AcquisitionContextSequence = []
    # Shared functional groups
    shared = Dataset()
    frame_anatomy = Dataset()
    frame_anatomy.FrameLaterality = anatomy.frame_laterality(plan.metadata.laterality)  # Type 1; no series Laterality then
    frame_anatomy.AnatomicRegionSequence = [code_item(plan.metadata.anatomic_region)]
    shared.FrameAnatomySequence = [frame_anatomy]
    identity = Dataset()
    identity.RescaleIntercept = "0"
    identity.RescaleSlope = "1"
    identity.RescaleType = "US"
    shared.PixelValueTransformationSequence = [identity]
    center, width = plan.window
    voi = Dataset()
    voi.WindowCenter = format_ds(center)
    voi.WindowWidth = format_ds(width)
    if width < 1:
        voi.VOILUTFunction = "LINEAR_EXACT"  # plain LINEAR forbids widths below 1
    shared.FrameVOILUTSequence = [voi]
    shared.RealWorldValueMappingSequence = [real_world_values.float_mapping(plan.quantity, value_range)]
    frame_type = Dataset()
    frame_type.FrameType = IMAGE_TYPE
    shared.ParametricMapFrameTypeSequence = [frame_type]
    ready = plan.overlay is not None and plan.overlay.ready
    if plan.source is not None:
        ds.ReferencedSeriesSequence = [referenced_series_item(plan.source)]
        if not ready:  # every source image, shared: the frames cannot be matched to them one by one
            shared.DerivationImageSequence = [derivation_item(plan, plan.source.instances)]
    multiframe.add_geometry(ds, plan, shared)
    ds.file_meta = file_meta(SOP_CLASS_UID, sop_instance_uid)
    derivations = frame_derivations(plan) if ready else None
    yield "PM00001.dcm", multiframe.encoded_file(ds, plan, True, "FloatPixelData", frames, derivations)


def derivation_item(plan: SeriesPlan, instances) -> Dataset:
    """Derivation Image functional group item: how the map was computed, from the source images ``instances``
    ((SOP class UID, SOP instance UID) pairs).
    """
    item = Dataset()
    item.DerivationCodeSequence = [code_item(derivation_code(plan.quantity))]
    images = []
    for sop_class_uid, sop_instance_uid in instances:
        image = Dataset()
        image.ReferencedSOPClassUID = sop_class_uid
        image.ReferencedSOPInstanceUID = sop_instance_uid
        image.PurposeOfReferenceCodeSequence = [code_item(SOURCE_IMAGE_PURPOSE)]
        images.append(image)
    item.SourceImageSequence = images
    return item


def frame_derivations(plan: SeriesPlan) -> list[bytes]:
    """Each stored frame's Derivation Image group, encoded: the one source image at its position (overlay.match)."""
    encoded = []
    for plane in plan.overlay.frames:
        holder = Dataset()
        holder.DerivationImageSequence = [derivation_item(plan, [(plane.sop_class_uid, plane.sop_instance_uid)])]
        encoded.append(encode_elements([holder["DerivationImageSequence"]], ["iso8859"]))  # UIDs and ASCII codes
    return encoded


def file_value_mapping(ds: Dataset) -> tuple[float, float]:
    """(slope, intercept) of the file's own Real World Value Mapping: real-world value = stored float x slope + intercept."""
    return real_world_values.file_mapping(ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence)


def read_back_error(plan: SeriesPlan, files: list[Path]) -> float:
    """Max |real-world value read back - input|."""
    return verify.multi_frame_error(plan, files, file_value_mapping)
