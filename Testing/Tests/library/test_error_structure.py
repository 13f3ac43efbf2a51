"""Errors carry structure: which field, the value, the way out; each interface names the fields in its own words.

The command line's words are the default (``str(error)``); another interface renders the same error with its own
label function, so no interface has to rewrite the library's text (and a rewording cannot silently break one).
"""

import ast
import pickle
import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from conftest import PACKAGE_ROOT

from FAExportLib import ExportMetadata, ExportOptions, InputError, ScaleError, export_and_send, export_volume
from FAExportLib.cli import build_parser
from FAExportLib.errors import FAExportError, Field, Message, SendError, command_line_label, render
from FAExportLib.send import DimseDestination, StowDestination

LIBRARY = PACKAGE_ROOT / "FAExportLib"
OPTION_IN_TEXT = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
# Fields only the Python console and Slicer's Export-to-DICOM dialog can set: the command line has no option for them.
NOT_ON_THE_COMMAND_LINE = {"series_instance_uid", "study_time", "referring_physician_name"}


def bracket(field: Field) -> str:
    return f"<{field.name}{'=' + field.value if field.value else ''}>"


def affine() -> np.ndarray:
    return np.diag([1.0, 1.0, 2.0, 1.0])


def string_constants(tree: ast.AST):
    """Every string literal that is not a docstring (f-string parts included)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node


# cli.py speaks the command line's words, and errors.py holds the table of its option names (the default words).
@pytest.mark.parametrize("path", sorted(path.name for path in LIBRARY.glob("*.py") if path.name not in ("cli.py", "__main__.py", "errors.py")))
def test_no_library_message_names_a_command_line_option_in_plain_text(path):
    """Only cli.py speaks in --options; everywhere else an option is a Field, which each interface names."""
    tree = ast.parse((LIBRARY / path).read_text(encoding="utf-8"))
    found = [(node.lineno, node.value) for node in string_constants(tree) if OPTION_IN_TEXT.search(node.value)]
    assert found == []


def field_names_the_library_uses() -> set[str]:
    names = set()
    for path in LIBRARY.glob("*.py"):
        names |= set(re.findall(r'Field\("([a-z_]+)"', path.read_text(encoding="utf-8")))
    # Built in loops: every text field of ExportMetadata (metadata.py), every code option (pipeline.check_codes) and
    # the BIDS entities a cohort selects by (cohort_sources).
    return names | {item.name for item in fields(ExportMetadata)} | {"quantity_code", "unit", "method", "anatomic_region", "space", "model"}


def test_every_field_the_library_names_is_an_option_of_the_command_line():
    commands = build_parser()._subparsers._group_actions[0].choices.values()  # export, export-many, quantities
    options = {option for command in commands for action in command._actions for option in action.option_strings}
    missing = []
    for name in sorted(field_names_the_library_uses() - NOT_ON_THE_COMMAND_LINE):
        label = command_line_label(Field(name))
        named = re.findall(r"--[a-z][a-z-]+", label)
        if not named or not set(named) <= options:
            missing.append((name, label))
    assert missing == []


def test_an_error_keeps_its_field_value_and_way_out_and_renders_in_any_words(tmp_path):
    array = np.full((3, 4, 5), 0.5, dtype=np.float32)
    with pytest.raises(InputError) as caught:
        export_volume(array, affine(), tmp_path / "out", mode="mr+pm", metadata=ExportMetadata(series_number=2**31 - 1))
    error = caught.value
    assert (error.field, error.value) == ("series_number", 2**31 - 1)
    assert str(error) == (
        "--series-number 2147483647: this mode writes 2 series numbered from it, and 2147483648 is beyond DICOM's largest (IS) 2147483647; give at most 2147483646"
    )
    assert error.render(bracket) == (
        "<series_number=2147483647>: this mode writes 2 series numbered from it, and 2147483648 is beyond DICOM's largest (IS) 2147483647; give at most 2147483646"
    )
    assert error.render(bracket, remedy=("ask ", Field("someone"))) == (
        "<series_number=2147483647>: this mode writes 2 series numbered from it, and 2147483648 is beyond DICOM's largest (IS) 2147483647; ask <someone>"
    )
    assert not (tmp_path / "out").exists()


def test_the_way_out_of_a_nan_refusal_is_separate_so_an_interface_can_offer_its_own(tmp_path):
    array = np.full((3, 4, 5), 0.5, dtype=np.float32)
    array[1, 2, 3] = np.nan
    with pytest.raises(InputError) as caught:
        export_volume(array, affine(), tmp_path / "out")
    error = caught.value
    assert error.field == "replace_nonfinite"
    assert error.render(bracket, remedy=()) == "1 voxel is NaN or infinite (at IJK 3,2,1)"
    assert str(error) == "1 voxel is NaN or infinite (at IJK 3,2,1); fix the map, or replace them explicitly with a value (--replace-nonfinite VALUE)"


def test_scale_errors_name_the_scale_and_plain_integers_in_each_interfaces_words(tmp_path):
    array = np.linspace(0, 1000, 60, dtype=np.float32).reshape(3, 4, 5)
    with pytest.raises(ScaleError) as caught:
        export_volume(array, affine(), tmp_path / "out", scale=1000, plain_integers=True)
    error = caught.value
    assert (error.field, error.value) == ("scale", "1000")
    assert error.render(bracket).startswith("the values 0 to 1000 do not fit <plain_integers> with scale 1000: int16 stores")


def test_errors_survive_pickling_with_their_structure():
    error = SendError(Field("stow_user"), " needs a password", remedy=("set ", Field("stow_password")))
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is SendError
    assert (copy.problem, copy.remedy, copy.field, str(copy)) == (error.problem, error.remedy, "stow_user", str(error))
    assert str(copy) == "--stow-user needs a password; set FAEXPORT_STOW_PASSWORD (or --stow-password)"


def test_destination_refusals_name_the_send_options():
    with pytest.raises(SendError) as caught:
        DimseDestination.parse("pacs:104", called_ae="THIS AE TITLE IS TOO LONG")
    assert caught.value.field == "called_ae"
    assert caught.value.render(bracket).startswith("<called_ae> 'THIS AE TITLE IS TOO LONG' is not an AE title")
    with pytest.raises(SendError) as caught:
        StowDestination.parse("https://user:secret@pacs/dicom-web")
    assert "secret" not in str(caught.value)
    assert caught.value.render(bracket) == "put no user name or password in the STOW-RS URL (it would show in messages); use <stow_user> and <stow_password>"


def test_a_message_outside_an_error_is_text_with_its_fields_kept():
    message = Message("send with ", Field("fallback", "sc|mr"), " instead")
    assert message == "send with --fallback sc|mr instead"
    assert render(message, bracket) == "send with <fallback=sc|mr> instead"
    assert render("plain text", bracket) == "plain text"


def test_a_fallback_that_cannot_apply_is_refused_before_anything_is_written(tmp_path):
    array = np.full((3, 4, 5), 0.5, dtype=np.float32)
    with pytest.raises(SendError) as caught:
        export_and_send(array, affine(), tmp_path / "out", ExportOptions(mode="mr"), destination=DimseDestination.parse("127.0.0.1:104"), fallback="sc")
    assert caught.value.field == "fallback"
    assert str(caught.value) == "--fallback replaces a refused Parametric Map; mode mr writes none (use --mode pm or mr+pm)"
    with pytest.raises(SendError, match=r"^--fallback applies when sending; add --send-dimse or --send-stow$"):
        export_and_send(array, affine(), tmp_path / "out", ExportOptions(mode="pm"), fallback="sc")
    assert not Path(tmp_path / "out").exists()


def test_every_error_class_is_an_faexport_error_with_structure():
    for cls in (InputError, ScaleError, SendError):
        error = cls("plain text")
        assert isinstance(error, FAExportError)
        assert (error.problem, error.remedy, error.field, str(error)) == (("plain text",), (), None, "plain text")


def test_an_interface_can_make_an_error_say_its_words_and_keep_the_structure():
    error = SendError(Field("stow_user"), " needs a password", remedy=("set ", Field("stow_password")))
    assert error.in_words(bracket) is error
    assert str(error) == "<stow_user> needs a password; set <stow_password>"
    assert error.render() == "--stow-user needs a password; set FAEXPORT_STOW_PASSWORD (or --stow-password)"
    assert error.field == "stow_user"
