"""The panel's life in Slicer: it starts on the first plain scalar volume, follows the map's voxels (not the keystrokes),
exports modally and can be cancelled, survives closing the scene, and works as a widget without a module (console).

The panel runs under the harness (Testing/Harness/slicer_app) as Slicer makes it; any exception in a Qt slot fails the test.
"""

import logging

from slicer_harness.conftest import MODULE_FILE, Panel, load_map

import slicer_app
from dicom_database_views import count_signal, series_uids

# --- the default input: exactly a scalar volume


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


# --- the preview follows the voxels, not the keystrokes


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
    from FAExportSlicerLib import scene

    original = scene.voxelArray  # every preview and export reads the voxels through it
    monkeypatch.setattr(scene, "voxelArray", lambda node: scans.append(node) or original(node))
    for text in ("F", "FA", "FA ", "FA m", "FA ma", "FA map"):
        panel.ui.seriesDescriptionLineEdit.text = text
        panel.ui.patientNameLineEdit.text = text
    assert scans == []
    for index in range(panel.ui.scaleComboBox.count):
        if panel.ui.scaleComboBox.itemText(index) == "x1000":
            panel.ui.scaleComboBox.currentIndex = index
    assert len(scans) == 1  # a change the preview depends on scans once


# --- custom scale limits


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


# --- a modal export, cancel


def test_cancel_through_the_progress_dialog_writes_nothing_and_says_so(slicer, panel, tmp_path, caplog):
    import qt

    load_map(slicer, tmp_path, "axial")
    panel.ui.resultLabel.text = "an earlier result"
    pressed = []

    def pressCancel():
        dialog = qt.QApplication.activeModalWidget()
        if dialog is None:  # QProgressDialog shows itself from a timer once minimumDuration (0) has passed
            qt.QTimer.singleShot(0, pressCancel)
            return
        pressed.append(dialog)
        dialog.cancel()

    qt.QTimer.singleShot(0, pressCancel)  # runs in the export's event processing, as a click during the export does
    inserted = count_signal(slicer.dicomDatabase, "instanceAdded(QString)")
    with caplog.at_level(logging.ERROR):
        panel.ui.exportButton.click()
    assert isinstance(pressed[0], qt.QProgressDialog)
    assert panel.ui.resultLabel.text == "Export cancelled; nothing was written."
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], "a cancel is not an error"
    assert series_uids(slicer.dicomDatabase) == set()
    assert inserted == []
    assert panel.ui.exportButton.enabled


def test_export_is_modal_and_cannot_be_started_twice(slicer, panel, tmp_path):
    import qt

    load_map(slicer, tmp_path, "axial")
    seen = {}

    def duringExport():
        dialog = qt.QApplication.activeModalWidget()
        if dialog is None:
            qt.QTimer.singleShot(0, duringExport)
            return
        seen["modal dialog"] = isinstance(dialog, qt.QProgressDialog) and dialog.windowModality == qt.Qt.ApplicationModal
        seen["export enabled"] = panel.ui.exportButton.enabled
        panel.ui.exportButton.click()  # a disabled button ignores the click
        panel.widget.onExportButton()  # and the slot itself refuses to run twice

    qt.QTimer.singleShot(0, duringExport)
    panel.ui.exportButton.click()
    assert seen == {"modal dialog": True, "export enabled": False}
    assert len(series_uids(slicer.dicomDatabase)) == 1
    assert panel.ui.exportButton.enabled


# --- the scene closed and reopened, the widget without a parent


def test_close_and_reopen_the_scene(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial")
    panel.ui.exportButton.click()
    assert panel.ui.resultLabel.text
    slicer.mrmlScene.Clear(0)
    assert panel.ui.resultLabel.text == ""
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == "Select the map to export."
    node, _, _ = load_map(slicer, tmp_path, "las")
    panel.widget.initializeParameterNode()  # what enter() does when the user comes back to the module
    assert panel.ui.inputVolumeSelector.currentNode() is node
    assert panel.ui.exportButton.enabled


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


def test_reload_runs_the_helpers_again_then_the_module(slicer, panel):
    """Developer mode's Reload reruns only the module's file in Slicer: the panel reloads FAExportSlicerLib first."""
    import sys

    import FAExportSlicerLib
    from conftest import PACKAGE_ROOT

    from slicer.ScriptedLoadableModule import RELOADED_MODULES

    exportNode = sys.modules["FAExportSlicerLib.export"].exportNode
    RELOADED_MODULES.clear()
    panel.widget.onReload()
    assert RELOADED_MODULES == ["FAExport"]
    assert sys.modules["FAExportSlicerLib.export"].exportNode is not exportNode  # the file ran again
    loaded = [name for name in FAExportSlicerLib.MODULES if f"FAExportSlicerLib.{name}" in sys.modules]
    assert {"export", "options", "labels", "encoding_section", "send_section"} <= set(loaded)
    assert sorted(path.stem for path in (PACKAGE_ROOT / "FAExportSlicerLib").glob("*.py") if path.stem != "__init__") == sorted(FAExportSlicerLib.MODULES)
