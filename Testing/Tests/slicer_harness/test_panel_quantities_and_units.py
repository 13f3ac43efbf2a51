"""The panel's quantity, code and unit fields: the quantity list, a volume's own quantity filled in, a unit typed as a UCUM
code, a quantity DICOM has no code for, "other" with a typed code; refusals name the panel's fields, never the command
line's options. What was written is read back with dcmqi.
"""

from pathlib import Path

from slicer_harness.conftest import choose, load_map, written_files

from dicom_database_views import series_uids
from test_pm_sc_values_and_geometry import read_dcmqi

from FAExportLib import known_quantities

# --- the quantity list, the volume's own quantity


def test_the_quantity_list_holds_every_known_quantity_once_and_reads_well(slicer, panel):
    combo = panel.ui.quantityComboBox
    texts = [combo.itemText(index) for index in range(combo.count)]
    known = known_quantities()
    assert len(texts) == len(known) + 2 and len(set(texts)) == len(texts)
    assert texts[0] == "from the volume, else FA" and texts[-1] == "other (enter code and unit)"
    assert [combo.itemData(index) for index in range(1, combo.count - 1)] == list(known)
    assert "MD (Mean Diffusivity)" in texts and "T1" in texts and "T1 (T1)" not in texts
    assert all(len(text) <= 48 for text in texts), max(texts, key=len)
    assert combo.maxVisibleItems >= 20


def test_quantity_is_prefilled_from_the_nodes_voxel_value_quantity(slicer, panel, tmp_path):
    node, _, _ = load_map(slicer, tmp_path, "axial", kind="diffusivity", name="md")
    quantity, units = slicer.vtkCodedEntry(), slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning("113202", "DCM", "Mean Diffusivity")
    units.SetValueSchemeMeaning("mm2/s", "UCUM", "mm2/s")
    node.SetVoxelValueQuantity(quantity)
    node.SetVoxelValueUnits(units)
    other, _, _ = load_map(slicer, tmp_path, "axial", kind="fa", name="custom")
    local = slicer.vtkCodedEntry()
    local.SetValueSchemeMeaning("99X1", "99LOCAL", "Local index")
    other.SetVoxelValueQuantity(local)
    panel.ui.inputVolumeSelector.setCurrentNode(other)
    assert panel.ui.quantityComboBox.currentText.startswith("other")
    assert panel.ui.quantityCodeLineEdit.text == "99X1,99LOCAL,Local index"
    panel.ui.inputVolumeSelector.setCurrentNode(node)
    assert panel.ui.quantityComboBox.currentText.startswith("MD (Mean Diffusivity)")
    assert panel.ui.quantityUnitLineEdit.text == "mm2/s"  # the UCUM code alone, as the field takes it


# --- codes and units typed


def test_unit_typed_as_a_ucum_code_and_refusals_name_the_panels_fields(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", kind="fa", name="T1map")
    choose(panel.ui.quantityComboBox, "T1")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert panel.ui.quantityUnitLineEdit.enabled
    assert panel.ui.quantityUnitLineEdit.placeholderText == "UCUM code: ms or s"
    reason = panel.ui.disabledReasonLabel.text
    assert not panel.ui.exportButton.enabled
    assert reason == 'Cannot export: a Parametric Map needs the unit of the T1 values, which T1 does not fix: give "Unit" ms (or s)', reason
    panel.ui.quantityUnitLineEdit.text = "msec"
    assert panel.ui.disabledReasonLabel.text.startswith("Cannot export: unit 'msec' is not a UCUM code FAExport knows")
    panel.ui.quantityUnitLineEdit.text = "ms"
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    panel.ui.exportButton.click()
    (files,) = written_files(slicer).values()
    _, meta = read_dcmqi(Path(files[0]), tmp_path / "dcmqi")
    assert meta["QuantityValueCode"]["CodeMeaning"] == "T1"
    assert (meta["MeasurementUnitsCode"]["CodeValue"], meta["MeasurementUnitsCode"]["CodingSchemeDesignator"]) == ("ms", "UCUM")
    # Another quantity: the unit typed for T1 does not follow it.
    choose(panel.ui.quantityComboBox, "MD (")
    assert panel.ui.quantityUnitLineEdit.text == ""
    assert panel.ui.quantityUnitLineEdit.placeholderText == "mm2/s (the unit of MD)"


def test_a_known_quantity_without_a_dicom_code_takes_a_typed_code_for_a_parametric_map(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", kind="fa", name="m0")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    choose(panel.ui.quantityComboBox, "M0 (no DICOM code)")
    assert panel.ui.quantityCodeLineEdit.enabled
    assert '"Quantity code" VALUE,SCHEME,MEANING and "Unit"' in panel.ui.disabledReasonLabel.text, panel.ui.disabledReasonLabel.text
    assert "--" not in panel.ui.disabledReasonLabel.text
    panel.ui.quantityCodeLineEdit.text = "99M0,99LOCAL,Equilibrium magnetization"
    panel.ui.quantityUnitLineEdit.text = "[arb'U]"
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    panel.ui.exportButton.click()
    (files,) = written_files(slicer).values()
    _, meta = read_dcmqi(Path(files[0]), tmp_path / "dcmqi")
    assert meta["QuantityValueCode"]["CodeValue"] == "99M0"


def test_quantity_other_with_code_and_unit_reaches_the_parametric_map(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", kind="diffusivity")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert not panel.ui.quantityCodeLineEdit.enabled
    choose(panel.ui.quantityComboBox, "other")
    assert panel.ui.quantityCodeLineEdit.enabled and panel.ui.quantityUnitLineEdit.enabled
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text.startswith("Enter the quantity's code as VALUE,SCHEME,MEANING")
    panel.ui.quantityCodeLineEdit.text = "113209,DCM,Fractional Anisotropy Derived"
    panel.ui.quantityUnitLineEdit.text = "mm2/s,UCUM,mm2/s"
    assert panel.ui.exportButton.enabled
    panel.ui.exportButton.click()
    (seriesUID,) = series_uids(slicer.dicomDatabase)
    _, meta = read_dcmqi(Path(slicer.dicomDatabase.filesForSeries(seriesUID)[0]), tmp_path / "dcmqi")
    assert meta["QuantityValueCode"]["CodeValue"] == "113209"
    assert meta["MeasurementUnitsCode"]["CodeValue"] == "mm2/s"
