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

from . import anatomy, multiframe, verify
from .codes import Code, code_item
from .decimal_strings import format_ds
from .errors import Field, InputError
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
QUANTITY_CONCEPT = Code("246205007", "SCT", "Quantity")
MEASUREMENT_METHOD_CONCEPT = Code("370129005", "SCT", "Measurement Method")
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


def real_world_value_mapping(plan: SeriesPlan, value_range: tuple[float, float]) -> Dataset:
    """Identity mapping from stored floats to the quantity, covering every stored value.

    The item highdicom's RealWorldValueMapping made (byte for byte, tested), built with pydicom alone: importing
    highdicom took a Parametric Map export longer than writing the MNI-sized map.
    """
    quantity, unit, method = plan.quantity.code, plan.quantity.unit, plan.quantity.method
    mapping = Dataset()
    mapping.LUTExplanation = quantity.meaning  # LO; meanings are checked to fit
    mapping.LUTLabel = unit.value[:16]  # SH; unit values are ASCII (codes.code_problem)
    mapping.RealWorldValueSlope = 1.0
    mapping.RealWorldValueIntercept = 0.0
    mapping.DoubleFloatRealWorldValueFirstValueMapped = value_range[0]
    mapping.DoubleFloatRealWorldValueLastValueMapped = value_range[1]
    mapping.MeasurementUnitsCodeSequence = [code_item(unit)]
    definitions = [code_content_item(QUANTITY_CONCEPT, quantity)]
    if method is not None:
        definitions.append(code_content_item(MEASUREMENT_METHOD_CONCEPT, method))
    mapping.QuantityDefinitionSequence = definitions
    return mapping


def code_content_item(name: Code, value: Code) -> Dataset:
    """A CODE content item (PS3.3 C.17.3): the concept ``name`` has the value ``value``."""
    item = Dataset()
    item.ValueType = "CODE"
    item.ConceptNameCodeSequence = [code_item(name)]
    item.ConceptCodeSequence = [code_item(value)]
    return item


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
    shared.RealWorldValueMappingSequence = [real_world_value_mapping(plan, value_range)]
    frame_type = Dataset()
    frame_type.FrameType = IMAGE_TYPE
    shared.ParametricMapFrameTypeSequence = [frame_type]
    if plan.source is not None:
        shared.DerivationImageSequence = [derivation_item(plan)]
        ds.ReferencedSeriesSequence = [referenced_series_item(plan.source)]
    multiframe.add_geometry(ds, plan, shared)
    ds.file_meta = file_meta(SOP_CLASS_UID, sop_instance_uid)
    yield "PM00001.dcm", multiframe.encoded_file(ds, plan, True, "FloatPixelData", frames)


def derivation_item(plan: SeriesPlan) -> Dataset:
    """Derivation Image functional group item: how the map was computed, from every source image."""
    item = Dataset()
    item.DerivationCodeSequence = [code_item(derivation_code(plan.quantity))]
    images = []
    for sop_class_uid, sop_instance_uid in plan.source.instances:
        image = Dataset()
        image.ReferencedSOPClassUID = sop_class_uid
        image.ReferencedSOPInstanceUID = sop_instance_uid
        image.PurposeOfReferenceCodeSequence = [code_item(SOURCE_IMAGE_PURPOSE)]
        images.append(image)
    item.SourceImageSequence = images
    return item


def file_value_mapping(ds: Dataset) -> tuple[float, float]:
    """(slope, intercept) of the file's own Real World Value Mapping: real-world value = stored float x slope + intercept."""
    mapping = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    return float(mapping.RealWorldValueSlope), float(mapping.RealWorldValueIntercept)


def read_back_error(plan: SeriesPlan, files: list[Path]) -> float:
    """Max |real-world value read back - input|."""
    return verify.multi_frame_error(plan, files, file_value_mapping)
