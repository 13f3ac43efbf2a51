"""Enhanced multi-frame geometry shared by the Parametric Map and Secondary Capture encodings.

One frame per slice, stored ascending along the normal; Plane Position per frame, Pixel Measures and
Plane Orientation shared, and a one-dimensional organization indexed by ImagePositionPatient.
"""

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from .errors import InputError
from .series import SeriesPlan

MAX_PIXEL_DATA_BYTES = 0xFFFFFFFE  # the largest even element length below the undefined-length marker
IMAGE_POSITION_PATIENT = 0x00200032
PLANE_POSITION_SEQUENCE = 0x00209113


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
    """Add frame count, per-frame positions and (with ``dimensions``) the dimension organization and
    Frame Content; put the shared geometry in ``shared``.
    """
    geometry = plan.geometry
    shared.PixelMeasuresSequence = [pixel_measures(plan)]
    shared.PlaneOrientationSequence = [plane_orientation(plan)]
    per_frame = []
    for stored_index in range(geometry.slice_count):
        position = Dataset()
        position.ImagePositionPatient = geometry.image_position(stored_index)
        frame = Dataset()
        if dimensions:
            content = Dataset()
            content.DimensionIndexValues = [stored_index + 1]
            frame.FrameContentSequence = [content]
        frame.PlanePositionSequence = [position]
        per_frame.append(frame)
    ds.NumberOfFrames = geometry.slice_count
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = per_frame  # assigned once: appending to a Sequence is slow
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

