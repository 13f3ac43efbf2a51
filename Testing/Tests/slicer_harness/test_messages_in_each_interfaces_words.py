"""Each Slicer interface says FAExportLib's errors in its own words, from the errors' structure, never by rewriting text.

The console names FAExportOptions' keywords, the panel its field labels (test_panel_quantities_and_units.py and
test_panel_send_after_export.py read them off the panel), the Export-to-DICOM dialog its tags
(test_export_to_dicom_dialog.py), the batch script the command line's options (test_batch_mode.py).
"""

import ast
import re
from dataclasses import fields

import numpy as np
import pytest
from conftest import PACKAGE_ROOT
from FAExportSlicerLib.field_names import CONSOLE_NAMES, DESTINATION_NAMES, OPTION_NAMES, consoleLabel, labelsFrom
from FAExportSlicerLib.labels import PANEL_FIELDS
from FAExportSlicerLib.options import FAExportOptions
from test_error_structure import field_names_the_library_uses, string_constants

from FAExportLib import ExportMetadata, InputError, SendError
from FAExportLib.errors import Field

SLICER_GLUE = [PACKAGE_ROOT / "FAExport.py", PACKAGE_ROOT / "DICOMFAExportPlugin.py", *sorted((PACKAGE_ROOT / "FAExportSlicerLib").glob("*.py"))]
# A cohort is run by the command line and the batch script (--cohort), both naming its options as the command line
# does; the console, the panel and the dialog export loaded volumes, never a cohort.
COHORT_FIELDS = {"maps", "space", "model"}
OPTION_IN_TEXT = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


@pytest.mark.parametrize("path", SLICER_GLUE, ids=lambda path: path.name)
def test_the_slicer_glue_names_no_command_line_option_and_rewrites_no_message(path):
    """A GUI that replaced "--unit" in the library's text would silently break when the library's wording changes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert [(node.lineno, node.value) for node in string_constants(tree) if OPTION_IN_TEXT.search(node.value)] == []
    rewrites = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("replace", "sub") and any(isinstance(arg, ast.Call) and getattr(arg.func, "id", "") == "str" for arg in node.args)
    ]
    assert rewrites == []


def test_every_field_the_library_names_has_a_console_name():
    """A field is an FAExportOptions keyword, a destination's parameter, or an ExportMetadata field (given in metadata)."""
    metadata = {item.name for item in fields(ExportMetadata)}
    options = {item.name for item in fields(FAExportOptions)}
    for name in sorted(field_names_the_library_uses() - COHORT_FIELDS):
        label = consoleLabel(Field(name))
        if name in OPTION_NAMES:
            assert CONSOLE_NAMES.get(name, name) in options, name
        elif name not in DESTINATION_NAMES:
            assert name in metadata and label == f'metadata["{name}"]', name


def test_console_words_quote_text_and_keep_numbers_and_placeholders():
    assert consoleLabel(Field("unit", "ms")) == "unit='ms'"
    assert consoleLabel(Field("replace_nonfinite", "VALUE")) == "replaceNonFinite=VALUE"
    assert consoleLabel(Field("replace_nonfinite", "0")) == "replaceNonFinite=0"
    assert consoleLabel(Field("quantity_code", "VALUE,SCHEME,MEANING")) == "quantityCode=VALUE,SCHEME,MEANING"
    assert consoleLabel(Field("series_number", "7")) == 'metadata["series_number"]=7'
    assert consoleLabel(Field("called_ae")) == "the destination's called_ae"
    assert consoleLabel(Field("stow_password")) == "StowDestination's password"
    label = labelsFrom({"unit": '"Unit"'}, otherwise=lambda field: "?")
    assert (label(Field("unit", "ms")), label(Field("scale"))) == ('"Unit" ms', "?")


def test_the_panel_knows_a_label_for_every_field_it_sets():
    """Every field the panel's options set (FAExportOptions keywords it passes) has a widget that names it."""
    panel_sets = {"mode", "scale", "quantity", "quantity_code", "unit", "replace_nonfinite", "plain_integers", "allow_coarse_scale", "laterality", "fallback", "series_description", "series_number", "patient_name", "patient_id", "study_description"}
    assert panel_sets <= set(PANEL_FIELDS)


def test_the_logic_raises_in_the_console_words_and_keeps_the_structure(slicer, tmp_path):
    from FAExport import FAExportLogic

    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "T1")
    slicer.util.updateVolumeFromArray(node, np.linspace(100.0, 2000.0, 60, dtype=np.float32).reshape(3, 4, 5))
    logic = FAExportLogic()
    with pytest.raises(InputError) as caught:
        logic.exportVolume(node, mode="pm", quantity="T1", outputFolder=tmp_path / "out", addToDatabase=False)
    assert str(caught.value) == "a Parametric Map needs the unit of the T1 values, which T1 does not fix: give unit='ms' (or s)"
    assert caught.value.field == "unit"
    assert caught.value.render() == "a Parametric Map needs the unit of the T1 values, which T1 does not fix: give --unit ms (or s)"
    assert not (tmp_path / "out").exists()
    with pytest.raises(SendError) as caught:
        logic.exportVolume(node, mode="mr", quantity="T1", outputFolder=tmp_path / "out", addToDatabase=False, fallback="sc")
    assert str(caught.value) == "fallback replaces a refused Parametric Map; mode mr writes none (use mode='pm' or mr+pm)"
    with pytest.raises(InputError, match=r"^unknown export option scales; use the fields of FAExportOptions: addToDatabase, "):
        logic.exportVolume(node, scales=1000)
