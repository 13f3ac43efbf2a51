"""Real World Value Mapping (PS3.3 C.7.6.16.2.11): what the stored values mean, in the standard's own terms.

Every encoding says it: the Parametric Map in its shared functional groups (Type 1 there), ``mr`` and ``sc`` at the top
level of each file (the General Image module's Type 3 Real World Value Mapping Sequence) beside their RescaleSlope, for
readers that honour the mapping rather than the modality LUT (PS3.3 C.11.1: a modality LUT turns stored values into
the modality's units, and the classic MR IOD does not even define one; vtk-dicom #200). The mapping names the quantity
(Quantity Definition), its unit (a UCUM code) and the linear map from stored values to it, over the stored values that
occur. A quantity whose unit is not known gets no mapping: the Type 1 unit would be a guess.
"""

import numpy as np
from pydicom.dataset import Dataset

from .codes import Code, Quantity, code_item
from .plain_integers import is_plain

QUANTITY_CONCEPT = Code("246205007", "SCT", "Quantity")
MEASUREMENT_METHOD_CONCEPT = Code("370129005", "SCT", "Measurement Method")
# (0040,9216) and (0040,9211): US or SS, as the image's PixelRepresentation says (PS3.3 C.7.6.16.2.11.1.2).
FIRST_VALUE_MAPPED, LAST_VALUE_MAPPED = 0x00409216, 0x00409211


def float_mapping(quantity: Quantity, value_range: tuple[float, float]) -> Dataset:
    """Identity mapping from stored floats (a Parametric Map's) to the quantity, over ``value_range``.

    The item highdicom's RealWorldValueMapping made (byte for byte, tested), built with pydicom alone: importing
    highdicom took a Parametric Map export longer than writing the MNI-sized map.
    """
    mapping = _mapping(quantity, 1.0, 0.0)
    mapping.DoubleFloatRealWorldValueFirstValueMapped = value_range[0]
    mapping.DoubleFloatRealWorldValueLastValueMapped = value_range[1]
    return mapping


def integer_mapping(quantity: Quantity, rescale, value_range, signed: bool) -> Dataset | None:
    """The mapping of an integer encoding's stored values (``mr``, ``sc``) to the quantity, or None without a unit.

    ``rescale`` is the series' Rescale or PlainIntegers: value = stored x slope + intercept, where plain integers have
    slope 1/factor (the file's RescaleSlope is 1: readers that apply only the modality LUT get value x factor). The
    mapped range is the stored values of the map's smallest and largest values (``value_range``); ``signed``: the
    image's PixelRepresentation is 1, so the range is SS, else US.
    """
    if quantity.unit is None:
        return None
    mapping = _mapping(quantity, *linear_map(rescale))
    vr = "SS" if signed else "US"
    mapping.add_new(FIRST_VALUE_MAPPED, vr, int(rescale.stored_value(value_range.minimum)))
    mapping.add_new(LAST_VALUE_MAPPED, vr, int(rescale.stored_value(value_range.maximum)))
    return mapping


def linear_map(rescale) -> tuple[float, float]:
    """(slope, intercept) that take an integer encoding's stored values to the map's values."""
    if is_plain(rescale):
        return 1.0 / rescale.factor, 0.0
    return rescale.slope, rescale.intercept


def _mapping(quantity: Quantity, slope: float, intercept: float) -> Dataset:
    """The parts every mapping has: label, explanation, unit, slope and intercept, and the quantity's definition."""
    mapping = Dataset()
    mapping.LUTExplanation = quantity.code.meaning if quantity.code is not None else quantity.name  # LO; meanings are checked to fit
    mapping.LUTLabel = quantity.unit.value[:16]  # SH; unit values are ASCII (codes.code_problem)
    mapping.RealWorldValueSlope = float(np.float64(slope))
    mapping.RealWorldValueIntercept = float(np.float64(intercept))
    mapping.MeasurementUnitsCodeSequence = [code_item(quantity.unit)]
    definitions = []
    if quantity.code is not None:
        definitions.append(code_content_item(QUANTITY_CONCEPT, quantity.code))
    if quantity.method is not None:
        definitions.append(code_content_item(MEASUREMENT_METHOD_CONCEPT, quantity.method))
    if definitions:
        mapping.QuantityDefinitionSequence = definitions
    return mapping


def code_content_item(name: Code, value: Code) -> Dataset:
    """A CODE content item (PS3.3 C.17.3): the concept ``name`` has the value ``value``."""
    item = Dataset()
    item.ValueType = "CODE"
    item.ConceptNameCodeSequence = [code_item(name)]
    item.ConceptCodeSequence = [code_item(value)]
    return item


def file_mapping(mapping_items) -> tuple[float, float] | None:
    """(slope, intercept) of the first item of a file's Real World Value Mapping Sequence, or None when absent."""
    if not mapping_items:
        return None
    mapping = mapping_items[0]
    return float(mapping.RealWorldValueSlope), float(mapping.RealWorldValueIntercept)
