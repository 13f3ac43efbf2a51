"""What Slicer meets when it starts the module: the Slicer submodules the code uses are imported, loading the module
imports no encoder, a real import failure shows, an older Slicer gets one clear message, the module's metadata follows
Slicer's template, and the in-Slicer self-test drives the panel through every mode.

The module is loaded under the harness (Testing/Harness/slicer_app) as Slicer's scripted module factory loads it.
"""

import ast
import logging
import subprocess
import sys
import types
from pathlib import Path

from slicer_harness.conftest import BATCH_SCRIPT, MODULE_FILE, Panel, load_map

import pytest
import slicer_app
from conftest import PACKAGE_ROOT, REPO
from dicom_database_views import series_uids

# Slicer's Python submodules (Slicer v5.12.3 Base/Python/slicer/*.py and packages). slicer/__init__.py imports none of
# them; the application imports slicer.util at start-up, everything else must be imported by whoever uses it.
SLICER_SUBMODULES = {"ScriptedLoadableModule", "cli", "i18n", "logic", "packaging", "parameterNodeWrapper", "testing", "util"}
# The module, its Slicer-bound helpers and the batch script.
SLICER_FILES = [MODULE_FILE, *sorted((PACKAGE_ROOT / "FAExportSlicerLib").glob("*.py")), BATCH_SCRIPT]


def used_and_imported_submodules(path: Path) -> tuple[set, set]:
    tree = ast.parse(path.read_text())
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "slicer" and node.attr in SLICER_SUBMODULES}
    imported = {alias.name.split(".")[1] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names if alias.name.startswith("slicer.")}
    imported |= {node.module.split(".")[1] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("slicer.")}
    return used, imported


# --- Slicer's submodules and slicer.packaging


@pytest.mark.parametrize("path", SLICER_FILES, ids=lambda path: path.name)
def test_every_slicer_submodule_the_code_uses_is_imported(path):
    used, imported = used_and_imported_submodules(path)
    assert used <= imported, f"{path.name} uses slicer.{sorted(used - imported)} without importing it"


def test_the_harness_like_slicer_has_no_slicer_packaging_until_imported(slicer):
    sys.modules.pop("slicer.packaging", None)
    vars(slicer).pop("packaging", None)
    assert not hasattr(slicer, "packaging")  # what a module that forgets the import meets inside Slicer
    slicer_app.loadModule(MODULE_FILE)
    assert hasattr(slicer, "packaging")


def test_an_export_from_the_panel_checks_its_requirements(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial")
    packaging = sys.modules["slicer.packaging"]  # the module FAExport imported as slicer.packaging
    packaging.ENSURE_CALLS.clear()
    for index in range(panel.ui.exportModeComboBox.count):
        if panel.ui.exportModeComboBox.itemText(index).startswith("Parametric Map"):
            panel.ui.exportModeComboBox.currentIndex = index
    panel.ui.exportButton.click()
    assert packaging.ENSURE_CALLS == [{"requirements": ["pydicom>=3.0"], "requester": "FAExport", "prompt_install": True}]
    assert len(series_uids(slicer.dicomDatabase)) == 1


# --- start-up imports and application detection


def test_loading_the_module_imports_no_encoder(tmp_path):
    code = (
        "import sys; sys.path[:0] = [{testing!r}]\n"
        "import slicer_app; slicer = slicer_app.install(); slicer_app.loadModule({module!r})\n"
        "print(sorted(name for name in ('pydicom', 'highdicom', 'FAExportLib', 'FAExportLib.pipeline') if name in sys.modules))\n"
    ).format(testing=str(REPO / "Testing" / "Harness"), module=str(MODULE_FILE))
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env={"PYTHONPATH": str(PACKAGE_ROOT), "QT_QPA_PLATFORM": "offscreen", "PATH": ""})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_a_real_import_failure_inside_slicer_is_not_hidden(slicer, monkeypatch):
    monkeypatch.setitem(sys.modules, "slicer.parameterNodeWrapper", None)  # as if it failed to import
    with pytest.raises(ImportError):
        slicer_app.loadModule(MODULE_FILE)


# --- an older Slicer: a clear message, not a module that fails to load


def test_an_older_slicer_gets_a_clear_message(slicer, tmp_path, caplog):
    slicer.app.setVersion(5, 10)
    try:
        with caplog.at_level(logging.ERROR):
            module = slicer_app.loadModule(MODULE_FILE)
        message = (
            "FAExport needs 3D Slicer 5.12 or later; this is Slicer 5.10, whose bundled pydicom is too old and which has no "
            "slicer.packaging. Install the current Slicer release to use FAExport."
        )
        assert message in [r.getMessage() for r in caplog.records]
        assert module.helpText.startswith(message)
        opened = Panel(slicer)
        try:
            assert opened.ui.resultLabel.text == message
            assert not opened.ui.exportButton.enabled and not opened.ui.inputsCollapsibleButton.enabled and not opened.ui.studyCollapsibleButton.enabled
        finally:
            opened.widget.cleanup()
            opened.representation.deleteLater()
        node, _, _ = load_map(slicer, tmp_path, "axial")
        from FAExportLib import InputError

        with pytest.raises(InputError, match=r"^FAExport needs 3D Slicer 5\.12 or later"):
            opened.FAExport.FAExportLogic().exportVolume(node, outputFolder=tmp_path / "out", addToDatabase=False)
    finally:
        slicer.app.setVersion(5, 12)


def test_docs_state_the_supported_slicer_versions_truthfully():
    documentation = [REPO / "README.md", *sorted((REPO / "Docs").glob("*.md"))]
    assert not [path.name for path in documentation if "as Slicer's own exporters do" in path.read_text()]
    text = (REPO / "Docs" / "slicer.md").read_text()  # the statement, with the reason
    assert "Slicer 5.12 or later" in text
    assert "5.10" in text  # and says why earlier releases are refused
    assert "Slicer 5.12 or later" in (REPO / "README.md").read_text()  # the front door's install line


# --- module metadata as the 5.12 template writes it


def test_module_metadata_follows_the_template(slicer):
    module = slicer_app.loadModule(MODULE_FILE)
    assert module.categories == ["Diffusion.Import and Export"]  # next to SlicerDMRI's import/export modules
    import re

    assert all(re.fullmatch(r"[A-Z][\w'-]+ [A-Z][\w'-]+ \([^()]+\)", name) for name in module.contributors), module.contributors
    assert '<a href="https://' in module.helpText
    # Utilities/Templates/Extensions/Default/CMakeLists.txt at v5.12.3:
    assert (REPO / "CMakeLists.txt").read_text().splitlines()[0] == "cmake_minimum_required(VERSION 3.28.0...3.28.0 FATAL_ERROR)"


# --- the self-test drives the panel through every mode


def test_the_self_test_drives_the_panel_through_every_mode():
    tree = ast.parse(MODULE_FILE.read_text())
    testClass = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "FAExportTest")
    source = ast.unparse(testClass)
    assert "FAExportWidget()" in source and "for mode in ExportMode" in source and "exportButton.click()" in source
    assert "loadSeriesByUID" in source  # each written series is loaded back by Slicer's own DICOM plugins
    runTest = next(n for n in testClass.body if isinstance(n, ast.FunctionDef) and n.name == "runTest")
    called = {c.func.attr for c in ast.walk(runTest) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)}
    assert {name for name in called if name.startswith("test_")} == {n.name for n in testClass.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_the_self_test_runs_in_the_harness(slicer, monkeypatch):
    """FAExportTest as the Self Tests module runs it, with a DICOMUtils stand-in (slicer_app/DICOMLib) for loading; its
    temporary database is CTK's own ``slicer.dicomDatabase`` reopened elsewhere and closed again, as Slicer's is.
    """
    from slicer_app.DICOMLib import DICOMUtils

    package = types.ModuleType("DICOMLib")
    package.DICOMUtils = DICOMUtils
    monkeypatch.setitem(sys.modules, "DICOMLib", package)
    monkeypatch.setitem(sys.modules, "DICOMLib.DICOMUtils", DICOMUtils)
    slicer_app.loadModule(MODULE_FILE)
    originalDatabase = slicer.dicomDatabase
    slicer.selfTests["FAExport"](msec=0)
    assert slicer.dicomDatabase is originalDatabase
    assert not slicer.dicomDatabase.isOpen  # a fresh profile: closeTemporaryDatabase reopens no missing folder
    loaded = [slicer.mrmlScene.GetNthNodeByClass(i, "vtkMRMLScalarVolumeNode").GetName() for i in range(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode"))]
    # The last scenario's scene (setUp clears the first's: the map and one series per mode, two for mr+pm, loaded back,
    # which it asserts itself): its two maps, then their two series of one study loaded back.
    assert loaded == ["FA", "MD", "FA map", "MD map (mm2/s)"]
