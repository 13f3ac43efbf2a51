"""Ready for Slicer's Extensions Index: what its checks ask of a repository, checked offline.

The index (Slicer/ExtensionsIndex) validates a submitted ``<Name>.json`` against its JSON schema, requires LF line
endings, a ``project(<Name>)`` in the top-level CMakeLists.txt, an EXTENSION_ICONURL and non-empty
EXTENSION_SCREENSHOTURLS that serve images, and a license file in the repository root
(scripts/check_description_files.py); its pull-request template adds a README with a short description, a
screenshot, one sentence per module and how to cite. The schema is committed as test data
(Testing/Data/README.md says where from); URLs are checked against the files they name in this repository.
"""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MODULE = REPO / "FAExport"
DESCRIPTION_FILE = REPO / "FAExport.json"
SCHEMA_FILE = REPO / "Testing" / "Data" / "slicer-extension-catalog-entry-schema-v1.0.2.json"
# The names the index's check_license_file looks for in the repository root.
LICENSE_FILE_NAMES = ("LICENSE", "LICENCE", "License.txt", "license.txt", "LICENSE.txt", "COPYING", "COPYING.txt")
RAW_URL = re.compile(r"^https://raw\.githubusercontent\.com/(?P<owner>[^/]+)/(?P<repo>[^/]+)/(?P<revision>[^/]+)/(?P<path>.+)$")
IMAGE_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "gif": b"GIF8"}
PANEL_SCREENSHOT = REPO / "Docs" / "panel.png"
# Imported at module scope by what Slicer loads: only what every supported Slicer bundles (highdicom only from
# 5.12 on, so it is imported where a Parametric Map is written), the application's own modules and ours.
SLICER_BUNDLED = {"numpy", "pydicom", "vtk", "slicer", "qt", "ctk", "vtkITK", "DICOMLib", "SimpleITK"}
OURS = {"FAExport", "FAExportLib", "FAExportSlicerLib", "DICOMFAExportPlugin"}


def cmake_variable(name: str) -> str:
    match = re.search(rf'^set\({name} "([^"]*)"\)', (REPO / "CMakeLists.txt").read_text(), re.MULTILINE)
    assert match, f"{name} is not set in CMakeLists.txt"
    return match.group(1)


def description() -> dict:
    return json.loads(DESCRIPTION_FILE.read_text(encoding="utf-8"))


def repository_of(url: str) -> tuple[str, str]:
    """(owner, name) of a GitHub repository URL."""
    match = re.match(r"^https://github\.com/([^/]+)/([^/#.]+)", url)
    assert match, url
    return match.group(1), match.group(2)


def image_kind(path: Path) -> str | None:
    header = path.read_bytes()[:8]
    return next((kind for kind, magic in IMAGE_MAGIC.items() if header.startswith(magic)), None)


def repository_image(url: str) -> Path:
    """The file in this repository a raw URL serves, checked to be this repository at the revision the index builds."""
    match = RAW_URL.match(url)
    assert match, f"{url} is not a raw.githubusercontent.com URL (the index needs the image itself, not its web page)"
    assert (match["owner"], match["repo"]) == repository_of(description()["scm_url"]), url
    assert match["revision"] == description()["scm_revision"], url
    return REPO / match["path"]


def test_description_file_is_valid_against_the_index_schema():
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(description())
    assert description()["$schema"].rstrip("#") == schema["$id"].rstrip("#")
    assert b"\r" not in DESCRIPTION_FILE.read_bytes(), "the index refuses CR or CRLF line endings"


def test_the_schema_refuses_what_the_index_refuses():
    """The committed schema is a real check: a missing category or an unknown key fails."""
    import jsonschema

    validator = jsonschema.Draft7Validator(json.loads(SCHEMA_FILE.read_text()))
    without_category = {key: value for key, value in description().items() if key != "category"}
    assert [error.message for error in validator.iter_errors(without_category)] == ["'category' is a required property"]
    assert not validator.is_valid({**description(), "homepage": "https://example.org"})
    assert not validator.is_valid({**description(), "tier": 6})


def test_description_agrees_with_the_top_level_cmake():
    # The index reads the extension name from the first project(...) and compares it with the file name.
    project = re.findall(r"project\s*\(\s*([^\s)]+)", (REPO / "CMakeLists.txt").read_text(), re.IGNORECASE)
    assert project and project[0] == DESCRIPTION_FILE.stem
    assert description()["category"] == cmake_variable("EXTENSION_CATEGORY")
    assert description()["build_dependencies"] == [] and cmake_variable("EXTENSION_DEPENDS") == "NA"
    assert description()["build_subdirectory"] == "."
    assert repository_of(description()["scm_url"]) == repository_of(cmake_variable("EXTENSION_HOMEPAGE"))
    assert description()["scm_url"].startswith("https://")


def test_license_is_where_the_index_looks_and_is_permissive():
    found = [name for name in LICENSE_FILE_NAMES if (REPO / name).is_file()]
    assert found == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert cmake_variable("EXTENSION_LICENSE_FILE") == "${CMAKE_CURRENT_SOURCE_DIR}/LICENSE"
    assert "Apache License 2.0" in (REPO / "README.md").read_text(), "the template asks for the license's name on the homepage"


def test_icon_url_is_a_raw_url_of_the_icon_in_this_repository():
    path = repository_image(cmake_variable("EXTENSION_ICONURL"))
    assert path == REPO / "FAExport.png"
    assert image_kind(path) == "png"


def test_screenshot_urls_are_raw_urls_of_images_in_this_repository():
    urls = cmake_variable("EXTENSION_SCREENSHOTURLS").split()
    assert urls, "the index needs at least one screenshot"
    for url in urls:
        path = repository_image(url)
        assert path.is_file(), f"{url}: {path.relative_to(REPO)} is not in the repository"
        assert image_kind(path) in ("png", "jpeg", "gif"), url


def test_readme_has_what_the_index_template_asks():
    readme = (REPO / "README.md").read_text()
    assert readme.startswith("# FAExport\n")
    screenshots = [repository_image(url).relative_to(REPO).as_posix() for url in cmake_variable("EXTENSION_SCREENSHOTURLS").split()]
    assert all(f"]({path})" in readme for path in screenshots), "the README shows the screenshot"
    modules = readme.split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    for title in module_titles():
        assert re.search(rf"^- \*\*{re.escape(title)}\*\*", modules, re.MULTILINE), f"no sentence for module {title!r}"
    assert "\n## How to cite\n" in readme
    assert "\n## Submitting to the Slicer Extensions Index\n" in (REPO / "Docs" / "maintainers.md").read_text()  # the runbook
    assert "](Docs/maintainers.md" in readme, "the README links to the maintainers' page and its runbook"


def module_titles() -> list[str]:
    """parent.title of every module file Slicer loads (FAExport.py wraps it in _())."""
    titles = []
    for script in sorted(MODULE.glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Assign) and any(ast.unparse(target).endswith("parent.title") for target in node.targets):
                value = node.value.args[0] if isinstance(node.value, ast.Call) else node.value
                titles.append(ast.literal_eval(value))
    assert len(titles) == len(list(MODULE.glob("*.py")))
    return titles


def module_scope_imports(tree: ast.Module) -> set[str]:
    """Top-level names imported when the file is imported: module body, try/if/with blocks and class bodies, not functions."""
    found = set()
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.expr)):
            pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt | ast.excepthandler))
    return found


def shipped_python_files() -> list[Path]:
    return sorted([*MODULE.glob("*.py"), *(MODULE / "FAExportLib").glob("*.py"), *(MODULE / "FAExportSlicerLib").glob("*.py"), *(MODULE / "Resources").rglob("*.py")])


@pytest.mark.parametrize("path", shipped_python_files(), ids=lambda path: str(path.relative_to(MODULE)))
def test_no_module_scope_import_of_a_package_slicer_does_not_bundle(path):
    imported = module_scope_imports(ast.parse(path.read_text()))
    foreign = imported - set(sys.stdlib_module_names) - SLICER_BUNDLED - OURS
    assert not foreign, f"{path.name} imports {sorted(foreign)} when loaded; import them inside the function that needs them"


def test_the_import_check_sees_imports_inside_try_and_classes_but_not_in_functions():
    tree = ast.parse("try:\n    import nibabel\nexcept ImportError:\n    pass\nclass A:\n    import scipy\ndef f():\n    import highdicom\n")
    assert module_scope_imports(tree) == {"nibabel", "scipy"}
