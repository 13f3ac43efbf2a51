"""Regression tests of the 14 defects issue 10 found by running the panel and reading Slicer's, CTK's and SlicerDMRI's source.

Each test is named after what the user would have hit. The panel runs under the harness (Testing/Harness/slicer_app), the
logic under slicer-core, the batch script as a subprocess, all as in test_panel.py.
"""

import ast
import gzip
import logging
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pydicom
import pytest
import slicer_app
from conftest import GEOMETRIES, PACKAGE_ROOT, REPO, map_values, run_cli, write_volume
from readers import compare, read_vtkitk
from test_console_logic_and_batch import BATCH_SCRIPT, run_batch
from test_panel_exports import MODULE_FILE, Panel, application, load_map, panel, slicer  # noqa: F401 -- fixtures

# Slicer's Python submodules (Slicer v5.12.3 Base/Python/slicer/*.py and packages). slicer/__init__.py imports none of
# them; the application imports slicer.util at start-up, everything else must be imported by whoever uses it.
SLICER_SUBMODULES = {"ScriptedLoadableModule", "cli", "i18n", "logic", "packaging", "parameterNodeWrapper", "testing", "util"}


def used_and_imported_submodules(path: Path) -> tuple[set, set]:
    tree = ast.parse(path.read_text())
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "slicer" and node.attr in SLICER_SUBMODULES}
    imported = {alias.name.split(".")[1] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names if alias.name.startswith("slicer.")}
    imported |= {node.module.split(".")[1] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("slicer.")}
    return used, imported


# --- 1. slicer.packaging used but never imported


@pytest.mark.parametrize("path", [MODULE_FILE, BATCH_SCRIPT], ids=["FAExport.py", "FAExportBatch.py"])
def test_every_slicer_submodule_the_code_uses_is_imported(path):
    used, imported = used_and_imported_submodules(path)
    assert used <= imported, f"{path.name} uses slicer.{sorted(used - imported)} without importing it"


def test_the_harness_like_slicer_has_no_slicer_packaging_until_imported(slicer):
    sys.modules.pop("slicer.packaging", None)
    vars(slicer).pop("packaging", None)
    assert not hasattr(slicer, "packaging")  # what a module that forgets the import meets inside Slicer
    slicer_app.loadModule(MODULE_FILE)
    assert hasattr(slicer, "packaging")


def test_a_parametric_map_from_the_panel_checks_its_requirements(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial")
    packaging = sys.modules["slicer.packaging"]  # the module FAExport imported as slicer.packaging
    packaging.ENSURE_CALLS.clear()
    for index in range(panel.ui.exportModeComboBox.count):
        if panel.ui.exportModeComboBox.itemText(index).startswith("Parametric Map"):
            panel.ui.exportModeComboBox.currentIndex = index
    panel.ui.exportButton.click()
    assert packaging.ENSURE_CALLS == [{"requirements": ["pydicom>=3.0", "highdicom>=0.27"], "requester": "FAExport", "prompt_install": True}]
    assert len(slicer.dicomDatabase.seriesUIDs()) == 1


# --- 2. batch: any exception ends the run, truncated files


def truncated(path: Path, tmp_path: Path) -> Path:
    """The first 60% of the file; for .nii.gz the compressed stream is cut (EOFError in gzip), for .nii the voxels."""
    data = path.read_bytes()
    out = tmp_path / ("cut-" + path.name)
    out.write_bytes(data[: int(len(data) * 0.6)])
    return out


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_batch_reports_a_truncated_file_and_exports_the_others(tmp_path, suffix):
    geometry = GEOMETRIES["axial"]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_volume(inputs / "good.nrrd", map_values("fa", geometry.shape), geometry.affine)
    whole = write_volume(tmp_path / f"whole{suffix}", map_values("fa", geometry.shape), geometry.affine)
    cut = truncated(whole, inputs)
    completed = run_batch("--input", str(inputs), "--output", str(tmp_path / "out"), "--no-database")
    assert completed.returncode == 1, completed.stderr
    # Issue 12's check of the file's size against its header names the truncation before any reader runs.
    assert f"FAExportBatch: error: {cut}: {cut.name} is truncated: its header describes " in completed.stderr
    assert "export or copy the map again" in completed.stderr
    assert completed.stderr.rstrip().endswith("FAExportBatch: 1 of 2 files exported")
    assert len(list((tmp_path / "out").iterdir())) == 1


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_cli_refuses_a_truncated_file_with_one_line(tmp_path, suffix):
    geometry = GEOMETRIES["axial"]
    cut = truncated(write_volume(tmp_path / f"fa{suffix}", map_values("fa", geometry.shape), geometry.affine), tmp_path)
    completed = run_cli("export", str(cut), str(tmp_path / "out"))
    assert completed.returncode == 1, completed.stderr
    lines = completed.stderr.strip().splitlines()
    # Issue 12 measures a .nii against its header; a cut .nii.gz fails in gzip first. Either way: one line, the file, what to do.
    truncation = lines[0].startswith(f"faexport: error: {cut.name} is truncated: its header describes ") and lines[0].endswith("export or copy the map again")
    unreadable = lines[0].startswith(f"faexport: error: cannot read {cut.name}: ") and lines[0].endswith("check that the file is complete and not corrupt")
    assert len(lines) == 1 and (truncation if suffix == ".nii" else unreadable), lines
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def load_batch_module():
    sys.modules.pop("FAExport", None)
    sys.path.insert(0, str(BATCH_SCRIPT.parent))
    try:
        import FAExportBatch

        return FAExportBatch
    finally:
        sys.path.remove(str(BATCH_SCRIPT.parent))


def test_batch_reports_an_unexpected_error_per_file_and_goes_on(tmp_path, monkeypatch, capsys):
    batch = load_batch_module()
    geometry = GEOMETRIES["axial"]
    for name in ("a", "b"):
        write_volume(tmp_path / f"{name}.nrrd", map_values("fa", geometry.shape), geometry.affine)
    original = batch.FAExportLogic.exportFile

    def exportFile(self, path, **options):
        if Path(path).name == "a.nrrd":
            raise RuntimeError("simulated bug")
        return original(self, path, **options)

    monkeypatch.setattr(batch.FAExportLogic, "exportFile", exportFile)
    assert batch.run(["--input", str(tmp_path), "--output", str(tmp_path / "out"), "--no-database"]) == 1
    stderr = capsys.readouterr().err
    assert f"FAExportBatch: error: {tmp_path / 'a.nrrd'}: unexpected RuntimeError: simulated bug" in stderr
    assert stderr.rstrip().endswith("FAExportBatch: 1 of 2 files exported")


def test_batch_exits_with_status_1_on_any_error_outside_the_files(monkeypatch, capsys):
    batch = load_batch_module()
    monkeypatch.setattr(batch, "main", lambda argv: 1 / 0)
    assert batch.run([]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err


# --- 3. the database after insert(): displayed fields, databaseChanged, the browser


def test_ctk_insert_alone_leaves_the_browser_columns_empty_and_signals_nothing(tmp_path):
    """The stand-in's fidelity: what CTK's insert() does not do is what the logic must do itself."""
    from slicer_standins import ctkDICOMDatabase

    dataset = pydicom.Dataset()
    for keyword, value in {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.4", "PatientName": "Doe^Jane", "PatientID": "P1", "StudyInstanceUID": "1.2.3", "SeriesInstanceUID": "1.2.3.4", "SOPInstanceUID": "1.2.3.4.5", "Modality": "MR"}.items():
        setattr(dataset, keyword, value)
    dataset.file_meta = pydicom.dataset.FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    path = tmp_path / "one.dcm"
    dataset.save_as(path, enforce_file_format=True)
    database = ctkDICOMDatabase(tmp_path / "db")
    database.insert(str(path))
    assert database.seriesUIDs() == {"1.2.3.4"}
    assert database.displayedSeries() == {} and database.databaseChangedCount == 0
    database.insert(str(path))  # already present: skipped
    assert len(database.filesForSeries("1.2.3.4")) == 1
    database.updateDisplayedFields()
    assert database.displayedSeries()["1.2.3.4"]["PatientsName"] == "Doe^Jane" and database.databaseChangedCount == 1
    del dataset.StudyInstanceUID  # uidsForDataSet: patient name, patient ID and study UID are required
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.6"
    dataset.save_as(tmp_path / "two.dcm", enforce_file_format=True)
    database.insert(str(tmp_path / "two.dcm"))
    assert database.instancesForSeries("1.2.3.4") == ["1.2.3.4.5"]


def test_export_refreshes_an_open_dicom_browser_and_logs_no_error_without_one(slicer, panel, tmp_path, caplog):
    load_map(slicer, tmp_path, "axial")
    with caplog.at_level(logging.ERROR):
        panel.ui.exportButton.click()  # the DICOM module's browser does not exist (as in every batch run)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert slicer.dicomDatabase.databaseChangedCount == 1
    updates = []
    tableManager = types.SimpleNamespace(updateTableViews=lambda: updates.append(True))
    browser = types.SimpleNamespace(dicomBrowser=types.SimpleNamespace(dicomTableManager=lambda: tableManager))
    slicer.modules.DICOMInstance = types.SimpleNamespace(browserWidget=browser)
    try:
        panel.ui.exportButton.click()
    finally:
        del slicer.modules.DICOMInstance
    assert updates == [True]
    assert len(slicer.dicomDatabase.displayedSeries()) == 2


# --- 4. "Computed from" a DWI loaded by SlicerDMRI


def dwi_loaded_like_slicerdmri(slicer, tmp_path, scene, seriesUID, instanceUIDs, withInstanceUIDs=True):
    """A DWI node placed in the subject hierarchy as DICOMPlugin.addSeriesInSubjectHierarchy does for SlicerDMRI's
    DICOMDiffusionVolumePlugin (Modules/Scripted/DMRIPlugins/DICOMDiffusionVolumePlugin.py): UID "DICOM" = series UID,
    UID "DICOMInstanceUID" = space-separated SOP instance UIDs; no DICOM.instanceUIDs node attribute.
    """
    node = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "DWI")
    node.SetAndObserveImageData(scene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode").GetImageData())
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    item = shNode.CreateItem(shNode.GetSceneItemID(), node)
    shNode.SetItemUID(item, "DICOM", seriesUID)
    if withInstanceUIDs:
        shNode.SetItemUID(item, "DICOMInstanceUID", " ".join(instanceUIDs))
    assert node.GetAttribute("DICOM.instanceUIDs") is None
    return node


@pytest.mark.parametrize("withInstanceUIDs", [True, False], ids=["instance-uids", "series-uid-only"])
def test_a_dwi_loaded_by_slicerdmri_is_accepted_as_source(slicer, tmp_path, withInstanceUIDs):
    import FAExport

    scene = slicer.vtkMRMLScene()
    source, _, _ = load_map(types.SimpleNamespace(mrmlScene=scene), tmp_path, "axial", name="b0")
    logic = FAExport.FAExportLogic()
    sourceSeries = logic.exportVolume(source, mode="mr", quantity="DWI", metadata={"patient_name": "Doe^Jane", "patient_id": "MRN-7"}).series[0]
    instanceUIDs = [pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in sourceSeries.files]
    dwi = dwi_loaded_like_slicerdmri(slicer, tmp_path, scene, sourceSeries.series_instance_uid, instanceUIDs, withInstanceUIDs)
    mapNode, _, _ = load_map(types.SimpleNamespace(mrmlScene=scene), tmp_path, "axial", name="fa")
    (series,) = logic.exportVolume(mapNode, mode="pm", sourceVolumeNode=dwi, outputFolder=tmp_path / "out", addToDatabase=False).series
    dataset = pydicom.dcmread(series.files[0], stop_before_pixels=True)
    assert dataset.StudyInstanceUID == sourceSeries.study_instance_uid
    assert dataset.FrameOfReferenceUID == sourceSeries.frame_of_reference_uid
    assert (str(dataset.PatientName), dataset.PatientID) == ("Doe^Jane", "MRN-7")
    assert dataset.ReferencedSeriesSequence[0].SeriesInstanceUID == sourceSeries.series_instance_uid


# --- 5. custom scale limits


def test_custom_scale_cannot_reach_zero_and_the_parameter_follows_the_spin_box(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial")
    spinBox = panel.ui.customScaleSpinBox
    assert (spinBox.minimum, spinBox.maximum, spinBox.decimals) == (0.001, 1e9, 3)
    assert (spinBox.minimum, spinBox.maximum) == panel.FAExport.CUSTOM_SCALE_RANGE
    for index in range(panel.ui.scaleComboBox.count):
        if panel.ui.scaleComboBox.itemText(index) == "custom":
            panel.ui.scaleComboBox.currentIndex = index
    spinBox.value = 0.0  # typed 0 or stepped down: Qt clamps to the minimum
    assert spinBox.value == 0.001
    assert panel.parameters.customScale == 0.001  # the slot did not raise (the fixture fails on any slot exception)
    spinBox.value = 2000.0
    assert panel.parameters.customScale == 2000.0
    assert "RescaleSlope 0.0005" in panel.ui.previewLabel.text


# --- 6. default input: exactly a scalar volume


def test_the_panel_starts_on_the_first_plain_scalar_volume_not_a_hidden_dwi(slicer, tmp_path):
    scene = slicer.mrmlScene
    for className in ("vtkMRMLDiffusionWeightedVolumeNode", "vtkMRMLDiffusionTensorVolumeNode", "vtkMRMLLabelMapVolumeNode"):
        scene.AddNewNodeByClass(className, className)
    node, _, _ = load_map(slicer, tmp_path, "axial", name="FA")
    opened = Panel(slicer)
    try:
        assert opened.parameters.inputVolume is node
        assert opened.ui.inputVolumeSelector.currentNode() is node
        assert [opened.ui.inputVolumeSelector.itemText(i) for i in range(opened.ui.inputVolumeSelector.count)] == ["FA"]
        assert opened.ui.exportButton.enabled
    finally:
        opened.close()


# --- 7. the preview follows the voxels, not the keystrokes


def test_preview_follows_voxels_changed_or_filled_after_selection(slicer, panel, tmp_path):
    node, values, _ = load_map(slicer, tmp_path, "axial")
    assert panel.ui.previewLabel.text.startswith("Values 0 to 1 ")
    array = slicer.util.arrayFromVolume(node)
    array *= 2.0
    slicer.util.arrayFromVolumeModified(node)
    assert panel.ui.previewLabel.text.startswith("Values 0 to 2 ")
    empty = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "later")
    panel.ui.inputVolumeSelector.setCurrentNode(empty)
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == 'Cannot export: volume "later" has no voxels (no image data); load or compute the map first'
    slicer.util.updateVolumeFromArray(empty, values.transpose(2, 1, 0) * 3.0)  # a processing module fills it
    assert panel.ui.previewLabel.text.startswith("Values 0 to 3 ")
    assert panel.ui.exportButton.enabled


def test_typing_in_a_text_field_does_not_rescan_the_volume(slicer, panel, tmp_path, monkeypatch):
    load_map(slicer, tmp_path, "axial")
    scans = []
    original = panel.FAExport.FAExportLogic.voxelArray
    monkeypatch.setattr(panel.FAExport.FAExportLogic, "voxelArray", staticmethod(lambda node: scans.append(node) or original(node)))
    for text in ("F", "FA", "FA ", "FA m", "FA ma", "FA map"):
        panel.ui.seriesDescriptionLineEdit.text = text
        panel.ui.patientNameLineEdit.text = text
    assert scans == []
    for index in range(panel.ui.scaleComboBox.count):
        if panel.ui.scaleComboBox.itemText(index) == "x1000":
            panel.ui.scaleComboBox.currentIndex = index
    assert len(scans) == 1  # a change the preview depends on scans once


# --- 10. start-up imports and application detection


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


# --- 11. older Slicer: a clear message, not a module that fails to load


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


# --- 12. the widget without a parent (console, tests)


def test_the_widget_works_without_a_parent(slicer, tmp_path):
    load_map(slicer, tmp_path, "axial")
    slicer_app.loadModule(MODULE_FILE)
    import FAExport

    widget = FAExport.FAExportWidget()
    try:
        assert widget.logic is not None and widget._parameterNode is not None
        assert widget.ui.exportButton.enabled
        assert widget.hasObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, widget.onSceneEndClose)
        slicer.mrmlScene.Clear(0)  # its scene observers are still registered and work
    finally:
        widget.cleanup()
        widget.parent.deleteLater()


# --- 13. the self-test drives the panel through every mode


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
    """FAExportTest as the Self Tests module runs it, with a DICOMUtils stand-in (slicer_app/DICOMLib) for the database and loading."""
    from slicer_app.DICOMLib import DICOMUtils

    package = types.ModuleType("DICOMLib")
    package.DICOMUtils = DICOMUtils
    monkeypatch.setitem(sys.modules, "DICOMLib", package)
    monkeypatch.setitem(sys.modules, "DICOMLib.DICOMUtils", DICOMUtils)
    slicer_app.loadModule(MODULE_FILE)
    originalDatabase = slicer.dicomDatabase
    slicer.selfTests["FAExport"](msec=0)
    assert slicer.dicomDatabase is originalDatabase
    loaded = [slicer.mrmlScene.GetNthNodeByClass(i, "vtkMRMLScalarVolumeNode").GetName() for i in range(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode"))]
    assert len(loaded) == 1 + 5  # the map, then one series per mode (two for mr+pm) loaded back


# --- 14. module metadata as the 5.12 template writes it


def test_module_metadata_follows_the_template(slicer):
    module = slicer_app.loadModule(MODULE_FILE)
    assert module.categories == ["Diffusion.Import and Export"]  # next to SlicerDMRI's import/export modules
    import re

    assert all(re.fullmatch(r"[A-Z][\w'-]+ [A-Z][\w'-]+ \([^()]+\)", name) for name in module.contributors), module.contributors
    assert '<a href="https://' in module.helpText
    # Utilities/Templates/Extensions/Default/CMakeLists.txt at v5.12.3:
    assert (REPO / "CMakeLists.txt").read_text().splitlines()[0] == "cmake_minimum_required(VERSION 3.28.0...3.28.0 FATAL_ERROR)"


def test_truncated_files_are_what_the_tests_think(tmp_path):
    """The truncated .nii.gz really is a cut gzip stream (EOFError) and the .nii a cut voxel block (ValueError in numpy)."""
    geometry = GEOMETRIES["axial"]
    cut = truncated(write_volume(tmp_path / "fa.nii.gz", map_values("fa", geometry.shape), geometry.affine), tmp_path)
    with pytest.raises(EOFError), gzip.open(cut) as stream:
        stream.read()
    raw = truncated(write_volume(tmp_path / "fa.nii", map_values("fa", geometry.shape), geometry.affine), tmp_path)
    with pytest.raises(ValueError):
        np.frombuffer(raw.read_bytes()[352:], dtype="<f4")


def test_the_source_series_joined_from_the_panel_reads_back(slicer, panel, tmp_path):
    """'Computed from' a DWI loaded by SlicerDMRI, chosen in the panel: the map joins its study; values read back by vtkITK."""
    import FAExport

    source, _, _ = load_map(slicer, tmp_path, "axial", name="b0")
    sourceSeries = FAExport.FAExportLogic().exportVolume(source, mode="mr", quantity="DWI", metadata={"patient_name": "Doe^Jane", "patient_id": "MRN-7"}).series[0]
    instanceUIDs = [pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in sourceSeries.files]
    dwi = dwi_loaded_like_slicerdmri(slicer, tmp_path, slicer.mrmlScene, sourceSeries.series_instance_uid, instanceUIDs)
    node, values, affine = load_map(slicer, tmp_path, "axial", name="FA")
    panel.ui.inputVolumeSelector.setCurrentNode(node)
    panel.ui.sourceVolumeSelector.setCurrentNode(dwi)
    assert panel.parameters.sourceVolume is dwi
    panel.ui.exportButton.click()
    new = [uid for uid in slicer.dicomDatabase.seriesUIDs() if uid != sourceSeries.series_instance_uid]
    files = slicer.dicomDatabase.filesForSeries(new[0])
    assert pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID == sourceSeries.study_instance_uid
    assert compare(values, affine, read_vtkitk(files)).max_value_error <= 1.0 / 32000
