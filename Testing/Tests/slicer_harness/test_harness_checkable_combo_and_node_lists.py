"""The harness' stand-ins for the "Also export" list (Testing/Harness/slicer_app): qMRMLCheckableNodeComboBox as Slicer
5.12.3 (Libs/MRML/Widgets/qMRMLCheckableNodeComboBox.h) and CTK's ctkCheckableComboBox behave, and parameterNodeWrapper's
list of nodes stored as its ListSerializer stores one (Base/Python/slicer/parameterNodeWrapper/serializers.py).

If one of these failed, a panel test could pass on behaviour Slicer does not have (or fail on behaviour it has).
"""

import pytest
from PyQt5 import QtCore, QtTest


@pytest.fixture
def checkable(slicer):
    combo = slicer.qMRMLCheckableNodeComboBox()
    combo.nodeTypes = ["vtkMRMLScalarVolumeNode"]
    combo.showChildNodeTypes = False
    combo.setMRMLScene(slicer.mrmlScene)
    combo.resize(300, 30)
    combo.show()
    yield combo
    combo.close()
    combo.deleteLater()


def names(nodes) -> list[str]:
    return [node.GetName() for node in nodes]


def test_nodes_start_unchecked_and_set_check_state_checks_only_listed_nodes(slicer, checkable):
    import qt

    fa = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "FA")
    md = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "MD")
    labels = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")  # not listed: a child class
    emitted = []
    checkable.connect("checkedNodesChanged()", lambda: emitted.append(names(checkable.checkedNodes())))
    assert checkable.checkedNodes() == [] and checkable.noneChecked() and not checkable.allChecked()
    assert names(checkable.uncheckedNodes()) == ["FA", "MD"]
    checkable.setCheckState(labels, qt.Qt.Checked)
    assert checkable.checkState(labels) == qt.Qt.Unchecked and emitted == []
    checkable.setCheckState(md, qt.Qt.Checked)
    checkable.check(fa)
    assert names(checkable.checkedNodes()) == ["FA", "MD"]  # in the list's order, not the order checked
    assert emitted == [["MD"], ["FA", "MD"]] and checkable.allChecked()
    checkable.uncheck(md)
    assert emitted[-1] == ["FA"] and checkable.checkState(md) == qt.Qt.Unchecked


def test_check_states_survive_nodes_coming_and_going_and_a_removed_node_emits_nothing(slicer, checkable):
    fa = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "FA")
    md = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "MD")
    checkable.check(fa)
    checkable.check(md)
    emitted = []
    checkable.connect("checkedNodesChanged()", lambda: emitted.append(names(checkable.checkedNodes())))
    slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "AD")
    assert names(checkable.checkedNodes()) == ["FA", "MD"] and names(checkable.uncheckedNodes()) == ["AD"]
    slicer.mrmlScene.RemoveNode(md)
    assert names(checkable.checkedNodes()) == ["FA"]
    assert emitted == []  # ctkCheckableComboBox refreshes its checked list on the model's dataChanged only


def test_a_click_in_the_popup_toggles_the_row_and_keeps_the_popup_open(slicer, checkable):
    slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "FA")
    slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "MD")
    checkable.showPopup()
    view = checkable.view()
    center = view.visualRect(checkable.model().index(1, 0)).center()
    QtTest.QTest.mouseClick(view.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, center)
    assert names(checkable.checkedNodes()) == ["MD"]
    assert view.isVisible()
    QtTest.QTest.mouseClick(view.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, center)
    assert checkable.checkedNodes() == []
    checkable.hidePopup()


def test_the_closed_box_shows_none_all_one_name_or_the_names(slicer, checkable):
    fa = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "FA")
    md = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "MD")
    ad = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "AD")
    shown = [checkable.displayText()]
    checkable.check(md)
    shown.append(checkable.displayText())
    checkable.check(fa)
    shown.append(checkable.displayText())
    checkable.check(ad)
    shown.append(checkable.displayText())
    assert shown == ["None", "MD", "FA, MD", "All"]
    assert not checkable.grab().isNull()  # paints without error


def test_add_remove_edit_and_rename_are_off(slicer, checkable):
    assert (checkable.addEnabled, checkable.removeEnabled, checkable.editEnabled, checkable.renameEnabled) == (False, False, False, False)


def test_listed_nodes_are_read_by_count_and_index_as_pythonqt_offers_them(slicer, checkable):
    """qMRMLNodeComboBox::nodes() is not Q_INVOKABLE (qMRMLNodeComboBox.h): Python reads nodeCount() and nodeFromIndex()."""
    fa = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "FA")
    md = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "MD")
    assert not hasattr(checkable, "nodes")
    assert [checkable.nodeFromIndex(index) for index in range(checkable.nodeCount())] == [fa, md]
    assert checkable.nodeFromIndex(2) is None
    checkable.noneEnabled = True  # the "None" item is not a node: indexes still count nodes only
    assert (checkable.nodeCount(), checkable.nodeFromIndex(0)) == (2, fa)


def test_a_list_of_nodes_parameter_is_stored_as_slicers_list_serializer_stores_it(slicer):
    from slicer.parameterNodeWrapper import parameterNodeWrapper

    @parameterNodeWrapper
    class Parameters:
        volumes: list[slicer.vtkMRMLScalarVolumeNode]

    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
    parameters = Parameters(node)
    assert parameters.volumes == [] and node.GetParameter("volumes.len") == "0"
    fa = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "FA")
    md = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "MD")
    modified = []
    node.AddObserver("ModifiedEvent", lambda caller, event: modified.append(event))
    parameters.volumes = [fa, md]
    assert len(modified) == 1  # one write, one ModifiedEvent
    assert (node.GetParameter("volumes.len"), node.GetNodeReferenceID("volumes.0"), node.GetNodeReferenceID("volumes.1")) == ("2", fa.GetID(), md.GetID())
    assert names(parameters.volumes) == ["FA", "MD"]
    parameters.volumes = [md]
    assert node.GetParameter("volumes.len") == "1" and node.GetNodeReferenceID("volumes.1") is None and "volumes.1" not in node.GetParameterNames()
    slicer.mrmlScene.RemoveNode(md)
    assert parameters.volumes == [None]  # the reference is gone, the element stays
