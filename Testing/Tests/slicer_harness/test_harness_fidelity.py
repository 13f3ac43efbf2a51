"""The harness itself (Testing/Harness/slicer_app): each PythonQt idiom and stand-in behaviour the module relies on, checked once.

If one of these failed, a panel test could pass on behaviour Slicer does not have (or fail on behaviour it has).
"""

import pytest
import slicer_app


def test_qt_properties_are_attributes_and_shadow_getters(slicer):
    import qt

    label = qt.QLabel()
    label.text = "FA"
    assert label.text == "FA"
    dialog = qt.QProgressDialog()
    assert dialog.wasCanceled is False  # a bool, not PyQt's bound method (which is always true)
    dialog.cancel()
    assert dialog.wasCanceled is True
    with pytest.raises(AttributeError, match="read-only"):
        dialog.wasCanceled = False
    label.name = "previewLabel"
    assert label.name == "previewLabel" and qt.QObject.objectName(label) == "previewLabel"


def test_every_qobject_is_true_even_an_empty_combo_box(slicer):
    import qt

    combo = qt.QComboBox()
    assert len(combo) == 0 and bool(combo)


def test_string_signature_connections_and_slot_argument_counts(slicer):
    import qt

    button, calls = qt.QPushButton(), []

    def noArguments():
        calls.append("none")

    button.connect("clicked(bool)", noArguments)  # PythonQt passes only the arguments a slot accepts
    button.connect("clicked(bool)", calls.append)
    button.click()
    assert calls == ["none", False]
    button.disconnect("clicked(bool)", noArguments)
    button.click()
    assert calls == ["none", False, False]


def test_an_exception_in_a_slot_is_reported_and_the_application_goes_on(slicer):
    import qt

    button = qt.QPushButton()

    def failing():
        raise RuntimeError("boom in a slot")

    button.connect("clicked()", failing)
    button.click()
    assert "RuntimeError: boom in a slot" in qt.SLOT_EXCEPTIONS.pop()
    assert qt.SLOT_EXCEPTIONS == []


def test_node_combo_box_lists_nodes_as_qmrmlnodecombobox_does(slicer):
    scene = slicer.mrmlScene
    exact = slicer.qMRMLNodeComboBox()
    exact.nodeTypes = ["vtkMRMLScalarVolumeNode"]
    exact.showChildNodeTypes = False
    anyScalar = slicer.qMRMLNodeComboBox()
    anyScalar.nodeTypes = ["vtkMRMLScalarVolumeNode"]
    anyScalar.noneEnabled = True
    for combo in (exact, anyScalar):
        combo.setMRMLScene(scene)
    dwi = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "dwi")
    scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")
    fa = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "fa")
    hidden = scene.CreateNodeByClass("vtkMRMLScalarVolumeNode")
    hidden.UnRegister(None)
    hidden.SetHideFromEditors(True)
    scene.AddNode(hidden)
    assert [exact.itemText(i) for i in range(exact.count)] == ["fa"]
    assert exact.currentNode() is fa  # the first row inserted into an empty combo box is selected
    assert [anyScalar.itemText(i) for i in range(anyScalar.count)] == ["None", "dwi", "labels", "fa"]
    assert anyScalar.currentNode() is None
    seen = []
    anyScalar.connect("currentNodeChanged(vtkMRMLNode*)", seen.append)
    anyScalar.setCurrentNode(dwi)
    scene.RemoveNode(dwi)
    assert seen == [dwi, None]


def test_ui_loader_connects_mrml_scene_changed(slicer):
    from conftest import PACKAGE_ROOT

    import qt

    qfile = qt.QFile(str(PACKAGE_ROOT / "Resources" / "UI" / "FAExport.ui"))
    qfile.open(qt.QFile.ReadOnly)
    widget = qt.QUiLoader().load(qfile)
    ui = slicer.util.childWidgetVariables(widget)
    assert type(ui.inputVolumeSelector) is slicer.qMRMLNodeComboBox
    widget.setMRMLScene(slicer.mrmlScene)
    assert ui.inputVolumeSelector.mrmlScene() is slicer.mrmlScene and ui.sourceVolumeSelector.mrmlScene() is slicer.mrmlScene
    assert ui.quantityComboBox is not None  # empty combo boxes are kept (truthy)


def test_parameter_wrapper_validates_and_drives_widgets(slicer):
    import enum
    from typing import Annotated

    import qt
    from slicer.parameterNodeWrapper import WithinRange, parameterNodeWrapper

    class Mode(enum.Enum):
        A = "a"
        B = "b"

    @parameterNodeWrapper
    class Parameters:
        scale: Annotated[float, WithinRange(1.0, 10.0)] = 2.0
        mode: Mode = Mode.A

    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    parameters = Parameters(node)
    with pytest.raises(ValueError, match=r"Value must be within range \[1.0, 10.0\], is 20"):
        parameters.scale = 20
    spinBox, combo = qt.QDoubleSpinBox(), qt.QComboBox()
    spinBox.setProperty("SlicerParameterName", "scale")
    combo.setProperty("SlicerParameterName", "mode")
    gui = type("", (), {})()
    gui.spinBox, gui.combo = spinBox, combo
    parameters.connectGui(gui)
    assert (spinBox.minimum, spinBox.maximum, spinBox.value) == (1.0, 10.0, 2.0)  # WithinRange overrides the widget's range
    combo.currentIndex = 1
    assert parameters.mode is Mode.B and node.GetParameter("mode") == "B"
    parameters.scale = 5.0
    assert spinBox.value == 5.0


def test_uninstall_returns_slicer_to_plain_slicer_core(slicer):
    slicer_app.uninstall()
    try:
        assert not hasattr(slicer, "app") and not hasattr(slicer, "packaging")
    finally:
        slicer_app.install()


def test_path_line_edit_emits_its_path_only_for_acceptable_text(slicer):
    import ctk

    field, paths, validity = ctk.ctkPathLineEdit(), [], []
    field.connect("currentPathChanged(QString)", paths.append)
    field.connect("validInputChanged(bool)", validity.append)
    field.currentPath = "/data/out"
    field.currentPath = ""  # CTK's validator ".+" does not accept it: no currentPathChanged, validity drops
    field.currentPath = "/data/again"
    assert paths == ["/data/out", "/data/again"]
    assert validity == [True, False, True]
