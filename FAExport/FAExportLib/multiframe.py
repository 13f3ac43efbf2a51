"""Enhanced multi-frame geometry shared by the Parametric Map and Secondary Capture encodings.

One frame per slice, stored ascending along the normal; Plane Position per frame, Pixel Measures and
Plane Orientation shared, and a one-dimensional organization indexed by ImagePositionPatient.
"""

import struct
from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from .errors import InputError
from .geometry import SliceGeometry
from .metadata import mark_character_set
from .series import SeriesPlan

MAX_PIXEL_DATA_BYTES = 0xFFFFFFFE  # the largest even element length below the undefined-length marker
IMAGE_POSITION_PATIENT = 0x00200032
PLANE_POSITION_SEQUENCE = 0x00209113
PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE = 0x52009230


def check_pixel_data_size(mode: str, voxel_count: int, bytes_per_voxel: int) -> None:
    """Refuse a volume whose frames do not fit one pixel data element (4 GiB); needs only the shape."""
    size = voxel_count * bytes_per_voxel
    if size > MAX_PIXEL_DATA_BYTES:
        raise InputError(
            f"the volume needs {size / 2**30:.2f} GiB of pixel data in one {mode} file, more than a DICOM element holds (4 GiB); "
            "crop or resample it, or export it as mr (one file per slice)",
        )


def pixel_measures(plan: SeriesPlan) -> Dataset:
    """Pixel Measures functional group item (PixelSpacing in DICOM order: row spacing first)."""
    item = Dataset()
    item.PixelSpacing = plan.geometry.pixel_spacing
    item.SliceThickness = plan.geometry.slice_spacing_ds
    item.SpacingBetweenSlices = plan.geometry.slice_spacing_ds
    return item


def plane_orientation(plan: SeriesPlan) -> Dataset:
    """Plane Orientation (Patient) functional group item."""
    item = Dataset()
    item.ImageOrientationPatient = plan.geometry.image_orientation
    return item


def add_geometry(ds: Dataset, plan: SeriesPlan, shared: Dataset, dimensions: bool = True) -> None:
    """Add the frame count and (with ``dimensions``) the dimension organization; put the shared geometry in
    ``shared``. The per-frame groups (positions, Frame Content) are written by ``encoded_file``.
    """
    geometry = plan.geometry
    shared.PixelMeasuresSequence = [pixel_measures(plan)]
    shared.PlaneOrientationSequence = [plane_orientation(plan)]
    ds.NumberOfFrames = geometry.slice_count
    ds.SharedFunctionalGroupsSequence = [shared]
    # PerFrameFunctionalGroupsSequence: see encoded_file()
    if not dimensions:
        return
    organization_uid = generate_uid()
    organization = Dataset()
    organization.DimensionOrganizationUID = organization_uid
    ds.DimensionOrganizationSequence = [organization]
    index = Dataset()
    index.DimensionOrganizationUID = organization_uid
    index.DimensionIndexPointer = IMAGE_POSITION_PATIENT
    index.FunctionalGroupPointer = PLANE_POSITION_SEQUENCE
    index.DimensionDescriptionLabel = "Image Position Patient"
    ds.DimensionIndexSequence = [index]
    ds.DimensionOrganizationType = "3D"



# Explicit VR Little Endian, sequences and items of defined length, as pydicom writes them.
PIXEL_DATA_ELEMENTS = {"PixelData": (0x0010, b"OW"), "FloatPixelData": (0x0008, b"OF")}


def _sequence(group: int, element: int, items: list[bytes]) -> bytes:
    encoded_items = b"".join(struct.pack("<HHI", 0xFFFE, 0xE000, len(item)) + item for item in items)
    return struct.pack("<HH2sHI", group, element, b"SQ", 0, len(encoded_items)) + encoded_items


def per_frame_groups(geometry: SliceGeometry, dimensions: bool, derivations: list[bytes] | None = None) -> bytes:
    """PerFrameFunctionalGroupsSequence, encoded directly: Plane Position, (with ``dimensions``) Frame Content and (with
    ``derivations``, each frame's Derivation Image Sequence already encoded) the frame's source image.

    Building and writing one pydicom Dataset per frame took most of a multi-frame export's time; the bytes are
    the same as pydicom writes (tested).
    """
    frames = []
    for stored_index in range(geometry.slice_count):
        position = "\\".join(geometry.image_position(stored_index)).encode("ascii")
        position += b" " * (len(position) % 2)
        plane_position = _sequence(0x0020, 0x9113, [struct.pack("<HH2sH", 0x0020, 0x0032, b"DS", len(position)) + position])
        content = _sequence(0x0020, 0x9111, [struct.pack("<HH2sHI", 0x0020, 0x9157, b"UL", 4, stored_index + 1)]) if dimensions else b""
        derivation = derivations[stored_index] if derivations is not None else b""
        frames.append(derivation + content + plane_position)  # in tag order: (0008,9124), (0020,9111), (0020,9113)
    return _sequence(0x5200, 0x9230, frames)


def encoded_file(ds: Dataset, plan: SeriesPlan, dimensions: bool, pixel_keyword: str, pixels: np.ndarray, derivations: list[bytes] | None = None) -> list:
    """The file as chunks to write in order: ``ds`` encoded by pydicom, then the per-frame groups and the pixel
    data (``pixels[frame, row, column]``, little-endian), the two elements with the highest tags, encoded directly.
    """
    if any(tag > PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE for tag in ds.keys()):
        raise ValueError("encoded_file appends the per-frame groups and pixels after the data set: no element may follow them")
    mark_character_set(ds)
    head = BytesIO()
    ds.save_as(head, enforce_file_format=True)
    element, vr = PIXEL_DATA_ELEMENTS[pixel_keyword]
    pixels = pixels.astype(pixels.dtype.newbyteorder("<"), copy=False)  # DICOM little endian, also on big-endian machines
    header = struct.pack("<HH2s2xI", 0x7FE0, element, vr, pixels.nbytes)
    # Frame by frame: a reversed (negative-stride) volume is written in storage order without a copy.
    frames = [memoryview(np.ascontiguousarray(frame)).cast("B") for frame in pixels]
    return [head.getvalue(), per_frame_groups(plan.geometry, dimensions, derivations), header, *frames]
