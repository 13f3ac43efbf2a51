"""The extension is buildable as Slicer builds extensions: what CMake installs is what is on disk.

Slicer copies only the scripts and resources listed in FAExport/CMakeLists.txt into the installed extension, so
a file missing from the lists works in a checkout and is absent for every user.
"""

import ast
import re
import struct
from pathlib import Path
from xml.etree import ElementTree

import pytest

REPO = Path(__file__).resolve().parents[3]
MODULE = REPO / "FAExport"
BUNDLED_BY_SLICER = {"pydicom": "3.0.2", "highdicom": "0.27.0"}  # Slicer 5.12 (see Docs/slicer.md)
# What FAExportLib (the Slicer-free encoder) must never import: the application's modules and FAExport's Slicer glue.
APPLICATION_ONLY_IMPORTS = {"slicer", "qt", "ctk", "vtk", "DICOMLib", "SimpleITK", "FAExport", "FAExportSlicerLib", "DICOMFAExportPlugin"}


def cmake_list(name: str) -> list[str]:
    """Entries of ``set(NAME ...)`` in FAExport/CMakeLists.txt, with ${MODULE_NAME} expanded."""
    text = (MODULE / "CMakeLists.txt").read_text()
    match = re.search(rf"set\({name}\s+(.*?)\)", text, re.DOTALL)
    assert match, f"{name} is not set in FAExport/CMakeLists.txt"
    return [entry.replace("${MODULE_NAME}", "FAExport") for entry in match.group(1).split()]


def test_top_level_cmake_is_an_extension_that_adds_the_module():
    text = (REPO / "CMakeLists.txt").read_text()
    assert re.search(r"^project\(FAExport\)", text, re.MULTILINE)
    for variable in ("EXTENSION_HOMEPAGE", "EXTENSION_CATEGORY", "EXTENSION_CONTRIBUTORS", "EXTENSION_DESCRIPTION", "EXTENSION_ICONURL", "EXTENSION_DEPENDS"):
        assert re.search(rf'set\({variable} "[^"]+"\)', text), f"{variable} is not set"
    assert "find_package(Slicer REQUIRED)" in text
    assert re.search(r"^add_subdirectory\(FAExport\)", text, re.MULTILINE)
    assert "include(${Slicer_EXTENSION_CPACK})" in text


def test_every_script_on_disk_is_listed_and_every_listed_script_exists():
    listed = set(cmake_list("MODULE_PYTHON_SCRIPTS"))
    on_disk = {path.name for path in MODULE.glob("*.py")}
    on_disk |= {str(path.relative_to(MODULE)) for package in ("FAExportLib", "FAExportSlicerLib") for path in (MODULE / package).glob("*.py")}
    assert listed == on_disk


def test_every_resource_on_disk_is_listed_and_every_listed_resource_exists():
    listed = set(cmake_list("MODULE_PYTHON_RESOURCES"))
    on_disk = {str(path.relative_to(MODULE)) for path in (MODULE / "Resources").rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert listed == on_disk


def test_module_is_built_with_slicers_macro_and_generic_tests():
    text = (MODULE / "CMakeLists.txt").read_text()
    assert re.search(r"slicerMacroBuildScriptedModule\(\s*NAME \$\{MODULE_NAME\}\s*SCRIPTS \$\{MODULE_PYTHON_SCRIPTS\}\s*RESOURCES \$\{MODULE_PYTHON_RESOURCES\}\s*WITH_GENERIC_TESTS", text)


@pytest.mark.parametrize("path", [REPO / "FAExport.png", MODULE / "Resources" / "Icons" / "FAExport.png"], ids=["extension", "module"])
def test_icon_is_a_128_pixel_png(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (128, 128)


def parameter_names() -> set[str]:
    """Annotated fields of FAExportParameterNode in FAExport.py, read from the source (no Slicer needed)."""
    tree = ast.parse((MODULE / "FAExport.py").read_text())
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "FAExportParameterNode")
    return {statement.target.id for statement in node.body if isinstance(statement, ast.AnnAssign)}


def test_every_parameter_has_a_widget_in_the_ui_and_every_bound_widget_a_parameter():
    root = ElementTree.parse(MODULE / "Resources" / "UI" / "FAExport.ui").getroot()
    bound = {prop.find("string").text for prop in root.iter("property") if prop.get("name") == "SlicerParameterName"}
    # quantity's combo is filled from FAExportLib at setup (not importable when Slicer starts), so the panel syncs it in code.
    # outputFolder is a str synced in code (a Path parameter shows "." in the empty ctkPathLineEdit).
    # sendDestination's combo lists the DICOM module's servers, read from Slicer's settings when the panel opens.
    # alsoExportVolumes is a list of nodes, which no GUI connector of parameterNodeWrapper takes.
    synced_in_code = {"quantity", "outputFolder", "sendDestination", "alsoExportVolumes"}
    assert bound == parameter_names() - synced_in_code
    source = (MODULE / "FAExport.py").read_text()
    assert 'self.ui.quantityComboBox.connect("currentIndexChanged(int)", self.onQuantityComboBox)' in source
    assert 'self.ui.sendDestinationComboBox.connect("currentIndexChanged(int)", self.onSendDestinationComboBox)' in source


def test_widgets_the_panel_code_uses_exist_in_the_ui():
    """FAExport.py's wiring and FAExportSlicerLib's panel sections (self.ui, or a ui argument) name only widgets of the .ui."""
    root = ElementTree.parse(MODULE / "Resources" / "UI" / "FAExport.ui").getroot()
    names = {widget.get("name") for widget in root.iter("widget")}
    sources = [MODULE / "FAExport.py", *sorted((MODULE / "FAExportSlicerLib").glob("*.py"))]
    used = {name for path in sources for name in re.findall(r"\bui\.(\w+)", path.read_text())}
    assert used, "the panel uses no widgets?"
    assert used <= names, f"missing in FAExport.ui: {sorted(used - names)}"


def test_every_slicer_helper_says_what_it_is():
    for path in sorted((MODULE / "FAExportSlicerLib").glob("*.py")):
        assert ast.get_docstring(ast.parse(path.read_text())), f"FAExportSlicerLib/{path.name} has no docstring saying what it is"


def test_encoding_package_imports_nothing_of_slicer_or_qt():
    for path in sorted((MODULE / "FAExportLib").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
        assert not imported & APPLICATION_ONLY_IMPORTS, f"{path.name} imports {sorted(imported & APPLICATION_ONLY_IMPORTS)}"


def test_module_requirements_admit_what_slicer_bundles():
    """A pin or a floor above Slicer's bundled version would make every user hit an install prompt."""
    from packaging.requirements import Requirement

    requirements = [Requirement(line) for line in (MODULE / "Resources" / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert {requirement.name for requirement in requirements} == {"pydicom"}  # highdicom: no longer needed (pm is written with pydicom)
    for requirement in requirements:
        assert requirement.specifier.contains(BUNDLED_BY_SLICER[requirement.name]), str(requirement)
