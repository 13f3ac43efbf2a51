"""The encoders assemble bytes themselves where pydicom (or highdicom) was slow; they must be exactly what those write."""

import warnings
from io import BytesIO

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import MRImageStorage, generate_uid

from FAExportLib.codes import Code, Quantity, code_item
from FAExportLib.geometry import SliceGeometry
from FAExportLib.instance_template import InstanceTemplate, encode_elements
from FAExportLib.multiframe import per_frame_groups
from FAExportLib.pipeline import resolve_quantity
from FAExportLib.real_world_values import MEASUREMENT_METHOD_CONCEPT, float_mapping
from FAExportLib.writer import file_meta

VARYING = ["SOPInstanceUID", "InstanceNumber", "ImagePositionPatient", "SliceLocation", "PixelData"]


def shared_dataset(character_set: str | None, name: str) -> Dataset:
    ds = Dataset()
    if character_set:
        ds.SpecificCharacterSet = character_set
    ds.SOPClassUID = MRImageStorage
    ds.ImageType = ["DERIVED", "SECONDARY", "DIFFUSION MAP", "FA"]
    ds.PatientName = name
    ds.PatientID = "ID 7"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesNumber = 1001
    ds.SeriesDescription = "FA map"
    ds.PixelSpacing = ["0.9765625", "1.3"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "0.9998476951564", "-0.0174524064373"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = 3, 4
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = "3.0518509476e-05", "0"
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "110808", "DCM", "Fractional Anisotropy"
    ds.DerivationCodeSequence = [item]
    ds.RepetitionTime = ""
    return ds


@pytest.mark.parametrize(("character_set", "name"), [(None, "Anonymous^"), ("ISO_IR 192", "山田^太郎"), ("ISO_IR 192", "Müller^Zoë")])
def test_template_files_are_byte_identical_to_pydicom(character_set, name):
    shared = shared_dataset(character_set, name)
    meta = file_meta(MRImageStorage, "")  # FAExport's own ImplementationClassUID: pydicom's save_as keeps it
    template = InstanceTemplate(shared, meta, VARYING)
    for index, pixels in enumerate([np.arange(12, dtype=np.int16).reshape(3, 4), np.full((3, 4), -7, dtype=np.int16)]):
        uid = generate_uid()
        varying = Dataset()
        varying.SOPInstanceUID = uid
        varying.InstanceNumber = index + 1
        varying.ImagePositionPatient = ["-120.5", "33.333333333333", str(index * 2.2)]
        varying.SliceLocation = str(index * 2.2)
        varying.add_new("PixelData", "OW", pixels.tobytes())
        encoded = b"".join(template.encode(uid, varying))
        values = [("UI", uid), ("IS", str(index + 1)), ("DS", "\\".join(str(v) for v in varying.ImagePositionPatient)), ("DS", str(index * 2.2)), ("OW", memoryview(pixels).cast("B"))]
        assert b"".join(template.encode_values(uid, values)) == encoded

        expected = Dataset()
        expected.update(shared)
        expected.update(varying)
        expected.file_meta = FileMetaDataset(meta)
        expected.file_meta.MediaStorageSOPInstanceUID = uid
        buffer = BytesIO()
        expected.save_as(buffer, enforce_file_format=True)
        assert encoded == buffer.getvalue()
        read = pydicom.dcmread(BytesIO(encoded))
        assert str(read.PatientName) == name
        assert np.array_equal(read.pixel_array, pixels)


def test_template_refuses_an_instance_without_its_varying_elements():
    template = InstanceTemplate(shared_dataset(None, "A^B"), FileMetaDataset(), VARYING)
    varying = Dataset()
    varying.SOPInstanceUID = generate_uid()
    with pytest.raises(ValueError, match="exactly the varying elements"):
        template.encode(varying.SOPInstanceUID, varying)
    with pytest.raises(ValueError, match="exactly the varying elements"):
        template.encode_values(varying.SOPInstanceUID, [("UI", varying.SOPInstanceUID)])


@pytest.mark.parametrize("dimensions", [True, False], ids=["pm_with_frame_content", "sc_positions_only"])
def test_per_frame_groups_are_byte_identical_to_pydicom(dimensions):
    """The multi-frame encoders write PerFrameFunctionalGroupsSequence directly; pydicom must write the same bytes."""
    ijk_to_ras = np.array([[-0.9, 0.1, 0.0, 12.3456789], [0.1, 0.9, 0.0, -98.7654321], [0.0, 0.0, 2.2, 33.3333333], [0, 0, 0, 1.0]])
    ijk_to_ras[:3, :3] /= np.linalg.norm(ijk_to_ras[:3, :3], axis=0) / np.array([0.9, 0.9, 2.2])
    geometry = SliceGeometry.from_ijk_to_ras(ijk_to_ras, (5, 3, 4))
    frames = []
    for stored_index in range(geometry.slice_count):
        frame = Dataset()
        if dimensions:
            content = Dataset()
            content.DimensionIndexValues = [stored_index + 1]
            frame.FrameContentSequence = [content]
        position = Dataset()
        position.ImagePositionPatient = geometry.image_position(stored_index)
        frame.PlanePositionSequence = [position]
        frames.append(frame)
    expected = Dataset()
    expected.PerFrameFunctionalGroupsSequence = frames
    assert per_frame_groups(geometry, dimensions) == encode_elements([expected["PerFrameFunctionalGroupsSequence"]], ["iso8859"])


def highdicom_mapping(quantity: Quantity, value_range: tuple[float, float]) -> Dataset:
    """The Real World Value Mapping as pm.py built it with highdicom's content items (FAExport 2026-11)."""
    from highdicom.pm import RealWorldValueMapping
    from highdicom.sr import CodeContentItem, CodedConcept

    def coded(code: Code) -> CodedConcept:
        return CodedConcept(code.value, code.scheme, code.meaning)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapping = RealWorldValueMapping(
            lut_label=quantity.unit.value[:16],
            lut_explanation=quantity.code.meaning,
            unit=coded(quantity.unit),
            value_range=value_range,
            slope=1.0,
            intercept=0.0,
            quantity_definition=coded(quantity.code),
        )
        if quantity.method is not None:
            mapping.QuantityDefinitionSequence.append(CodeContentItem(name=coded(MEASUREMENT_METHOD_CONCEPT), value=coded(quantity.method)))
    mapping.MeasurementUnitsCodeSequence = [code_item(quantity.unit)]
    for item, code in zip(mapping.QuantityDefinitionSequence, (quantity.code, quantity.method), strict=False):
        item.ConceptCodeSequence = [code_item(code)]
    return mapping


@pytest.mark.parametrize(
    ("name", "unit", "method"),
    [("FA", None, None), ("MD", "um2/ms", "113231,DCM,Single Tensor"), ("T1", "ms", None), ("Ktrans", "1/min", "126312,DCM,Tofts Model")],
)
def test_real_world_value_mapping_is_byte_identical_to_highdicoms(name, unit, method):
    """pm builds its Real World Value Mapping with pydicom alone; it is the item highdicom's constructor made."""
    quantity = resolve_quantity(name, quantity_code=None, unit=unit, method=method)
    for value_range in ((0.0, 1.0), (-3.5e-3, 2.0000000298023224), (17.0, 17.0)):
        expected, written = Dataset(), Dataset()
        expected.RealWorldValueMappingSequence = [highdicom_mapping(quantity, value_range)]
        written.RealWorldValueMappingSequence = [float_mapping(quantity, value_range)]
        assert encode_elements([written["RealWorldValueMappingSequence"]], ["iso8859"]) == encode_elements([expected["RealWorldValueMappingSequence"]], ["iso8859"])
