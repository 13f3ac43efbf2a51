"""qMRML widgets of FAExport's ``.ui`` (``slicer.qMRMLWidget``, ``slicer.qMRMLNodeComboBox``,
``slicer.qMRMLCheckableNodeComboBox``) over a real vtkMRMLScene.

Modelled on Slicer v5.12.3 Libs/MRML/Widgets/qMRMLWidget.h (signal ``mrmlSceneChanged(vtkMRMLScene*)``, slot
``setMRMLScene``) and qMRMLNodeComboBox.h/.cxx: properties ``nodeTypes``, ``showChildNodeTypes`` (false: only nodes
whose class is exactly one of ``nodeTypes``), ``hideChildNodeTypes``, ``showHidden`` (nodes with HideFromEditors are
listed only then), ``noneEnabled`` (a "None" first item), ``currentNodeID``; ``currentNode()``/``setCurrentNode()``;
``nodeCount()``/``nodeFromIndex(index)`` (not ``nodes()``, which is not Q_INVOKABLE); signals
``currentNodeChanged(vtkMRMLNode*)``, ``currentNodeChanged(bool)``, ``currentNodeIDChanged(QString)``. The list follows the scene's NodeAdded/NodeRemoved/EndClose events. Not modelled: the add/rename/remove actions,
attribute filters, the tree model and the combo box's look.
"""

import weakref

from PyQt5 import QtCore, QtGui, QtWidgets, sip

from . import qt  # noqa: F401 -- PythonQt idioms on every QObject


class qMRMLWidget(QtWidgets.QWidget):  # noqa: N801 -- Slicer's class name
    """A widget that holds a MRML scene and passes it on through ``mrmlSceneChanged``."""

    mrmlSceneChanged = QtCore.pyqtSignal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = None

    def mrmlScene(self):
        return self._scene

    def setMRMLScene(self, scene) -> None:
        if scene is self._scene:
            return
        self._scene = scene
        self.mrmlSceneChanged.emit(scene)


class qMRMLNodeComboBox(QtWidgets.QComboBox):  # noqa: N801 -- Slicer's class name
    """Pick a node of the scene by class."""

    currentNodeChanged = QtCore.pyqtSignal([object], [bool])
    currentNodeIDChanged = QtCore.pyqtSignal(str)
    nodeAdded = QtCore.pyqtSignal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = None
        self._observerTags = []
        self._nodeTypes = []
        self._hideChildNodeTypes = []
        self._showChildNodeTypes = True
        self._showHidden = False
        self._noneEnabled = False
        self._addEnabled = True
        self._removeEnabled = True
        self._renameEnabled = False
        self._editEnabled = False
        self._baseName = ""
        self._nodeIDs: list[str | None] = []
        self._lastEmittedID = None
        self.currentIndexChanged[int].connect(self._emitCurrentNodeChanged)
        QtWidgets.QWidget.setEnabled(self, False)  # qMRMLNodeComboBox::setMRMLScene: enabled only with a scene

    # --- properties the .ui and the parameter node wrapper set

    def _listProperty(name):  # noqa: N805
        def getter(self):
            return list(getattr(self, name))

        def setter(self, values):
            setattr(self, name, [str(value) for value in values])
            self._rebuild()

        return getter, setter

    def _boolProperty(name, rebuild=True):  # noqa: N805
        def getter(self):
            return getattr(self, name)

        def setter(self, value):
            setattr(self, name, bool(value))
            if rebuild:
                self._rebuild()

        return getter, setter

    getNodeTypes, setNodeTypes = _listProperty("_nodeTypes")
    getHideChildNodeTypes, setHideChildNodeTypes = _listProperty("_hideChildNodeTypes")
    getShowChildNodeTypes, setShowChildNodeTypes = _boolProperty("_showChildNodeTypes")
    getShowHidden, setShowHidden = _boolProperty("_showHidden")
    getNoneEnabled, setNoneEnabled = _boolProperty("_noneEnabled")
    getAddEnabled, setAddEnabled = _boolProperty("_addEnabled", rebuild=False)
    getRemoveEnabled, setRemoveEnabled = _boolProperty("_removeEnabled", rebuild=False)
    getRenameEnabled, setRenameEnabled = _boolProperty("_renameEnabled", rebuild=False)
    getEditEnabled, setEditEnabled = _boolProperty("_editEnabled", rebuild=False)

    nodeTypes = QtCore.pyqtProperty("QStringList", getNodeTypes, setNodeTypes)
    hideChildNodeTypes = QtCore.pyqtProperty("QStringList", getHideChildNodeTypes, setHideChildNodeTypes)
    showChildNodeTypes = QtCore.pyqtProperty(bool, getShowChildNodeTypes, setShowChildNodeTypes)
    showHidden = QtCore.pyqtProperty(bool, getShowHidden, setShowHidden)
    noneEnabled = QtCore.pyqtProperty(bool, getNoneEnabled, setNoneEnabled)
    addEnabled = QtCore.pyqtProperty(bool, getAddEnabled, setAddEnabled)
    removeEnabled = QtCore.pyqtProperty(bool, getRemoveEnabled, setRemoveEnabled)
    renameEnabled = QtCore.pyqtProperty(bool, getRenameEnabled, setRenameEnabled)
    editEnabled = QtCore.pyqtProperty(bool, getEditEnabled, setEditEnabled)

    def getCurrentNodeID(self) -> str:
        node = self.currentNode()
        return node.GetID() if node is not None else ""

    def setCurrentNodeID(self, nodeID: str) -> None:
        self.setCurrentNode(self._scene.GetNodeByID(nodeID) if self._scene is not None and nodeID else None)

    currentNodeID = QtCore.pyqtProperty(str, getCurrentNodeID, setCurrentNodeID)

    # --- scene

    def mrmlScene(self):
        return self._scene

    def setMRMLScene(self, scene) -> None:
        if scene is self._scene:
            return
        current = self.getCurrentNodeID()
        for tag in self._observerTags:
            self._scene.RemoveObserver(tag)
        self._observerTags = []
        self._scene = scene
        if scene is not None:
            # A weak reference, so that the scene does not keep a closed widget alive (as qMRMLSceneModel's
            # observers end with the widget).
            method = weakref.WeakMethod(self._onSceneChanged)

            def onSceneChanged(caller, event):
                bound = method()
                if bound is not None:
                    bound(caller, event)

            for event in (scene.NodeAddedEvent, scene.NodeRemovedEvent, scene.EndCloseEvent, scene.EndImportEvent):
                self._observerTags.append(scene.AddObserver(event, onSceneChanged))
        self._rebuild(keepID=current)
        QtWidgets.QWidget.setEnabled(self, scene is not None)

    def _onSceneChanged(self, caller, event):
        if sip.isdeleted(self):  # the C++ widget is gone (its window closed): stop observing, as its destructor would
            for tag in QtCore.QObject.__getattribute__(self, "__dict__").get("_observerTags", []):
                caller.RemoveObserver(tag)
            return
        self._rebuild(keepID=self._lastEmittedID)

    def _accepts(self, node) -> bool:
        if not self._showHidden and node.GetHideFromEditors():
            return False
        className = node.GetClassName()
        if any(node.IsA(hidden) and className != typeName for hidden in self._hideChildNodeTypes for typeName in self._nodeTypes):
            return False
        if self._showChildNodeTypes:
            return any(node.IsA(typeName) for typeName in self._nodeTypes)
        return className in self._nodeTypes

    def _listedNodes(self) -> list:
        """The nodes listed. Slicer's qMRMLNodeComboBox::nodes() is not Q_INVOKABLE (qMRMLNodeComboBox.h), so PythonQt
        does not offer it: Python code reads nodeCount() and nodeFromIndex(index).
        """
        if self._scene is None:
            return []
        nodes = []
        collection = self._scene.GetNodes()
        for index in range(collection.GetNumberOfItems()):
            node = collection.GetItemAsObject(index)
            if self._accepts(node):
                nodes.append(node)
        return nodes

    def nodeCount(self) -> int:
        return len(self._listedNodes())

    def nodeFromIndex(self, index: int):
        """The index-th node listed (after the "None" item when there is one), or None (qMRMLNodeComboBox.cxx nodeFromIndex)."""
        nodes = self._listedNodes()
        return nodes[index] if 0 <= index < len(nodes) else None

    def _rebuild(self, keepID=None) -> None:
        if keepID is None:
            keepID = self._lastEmittedID
        wasEmpty = not any(nodeID is not None for nodeID in self._nodeIDs)
        blocked = QtCore.QObject.blockSignals(self, True)
        try:
            QtWidgets.QComboBox.clear(self)
            self._nodeIDs = []
            if self._noneEnabled:
                QtWidgets.QComboBox.addItem(self, "None")
                self._nodeIDs.append(None)
            for node in self._listedNodes():
                QtWidgets.QComboBox.addItem(self, node.GetName() or node.GetID())
                self._nodeIDs.append(node.GetID())
            index = self._nodeIDs.index(keepID) if keepID in self._nodeIDs else (0 if self._noneEnabled else -1)
            if index == -1 and wasEmpty and self._nodeIDs:
                # QComboBox selects the first row inserted into an empty combo box; without a "None" item, a selector
                # that listed nothing therefore shows the first node added to the scene.
                index = 0
            QtWidgets.QComboBox.setCurrentIndex(self, index)
        finally:
            QtCore.QObject.blockSignals(self, blocked)
        self._emitCurrentNodeChanged()

    # --- current node

    def currentNode(self):
        index = QtWidgets.QComboBox.currentIndex(self)
        if self._scene is None or not 0 <= index < len(self._nodeIDs) or self._nodeIDs[index] is None:
            return None
        return self._scene.GetNodeByID(self._nodeIDs[index])

    def setCurrentNode(self, node) -> None:
        nodeID = node.GetID() if node is not None else None
        if nodeID is not None and nodeID not in self._nodeIDs:
            self._rebuild(keepID=self._lastEmittedID)  # a node added since; qMRMLSceneModel would list it already
        if nodeID in self._nodeIDs:
            QtWidgets.QComboBox.setCurrentIndex(self, self._nodeIDs.index(nodeID))
        else:
            QtWidgets.QComboBox.setCurrentIndex(self, 0 if self._noneEnabled else -1)

    def _emitCurrentNodeChanged(self, *unused) -> None:
        node = self.currentNode()
        nodeID = node.GetID() if node is not None else None
        if nodeID == self._lastEmittedID:
            return
        self._lastEmittedID = nodeID
        self.currentNodeChanged[object].emit(node)
        self.currentNodeChanged[bool].emit(node is not None)
        self.currentNodeIDChanged.emit(nodeID or "")



class qMRMLCheckableNodeComboBox(qMRMLNodeComboBox):  # noqa: N801 -- Slicer's class name
    """Check several nodes of the scene by class.

    Modelled on Slicer v5.12.3 Libs/MRML/Widgets/qMRMLCheckableNodeComboBox.h/.cxx, a qMRMLNodeComboBox whose combo box
    is CTK's ctkCheckableComboBox (CTK Libs/Widgets/ctkCheckableComboBox.cpp, ctkCheckableModelHelper.cpp):
    ``checkedNodes()`` (in the list's order), ``uncheckedNodes()``, ``allChecked()``, ``noneChecked()``,
    ``checkState(node)`` (Unchecked for a node not listed), ``setCheckState(node, state)`` (nothing for a node not
    listed), ``setUserCheckable(node, bool)``, the slots ``check(node)``/``uncheck(node)``, and the signal
    ``checkedNodesChanged()``, emitted when the checked list changes through the items' check states (CTK updates its
    list on the model's dataChanged only, so a node removed from the scene leaves the list without the signal). Nodes
    start unchecked and keep their state while other nodes come and go; add/remove/edit/rename are off. In the popup,
    releasing the mouse on an item toggles it and the popup stays open; the closed box shows "None", "All", the one
    checked node's name, or the checked names joined by ", " (ctkCheckableComboBox::paintEvent).
    """

    checkedNodesChanged = QtCore.pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._checkedIDs: list[str] = []
        self._rebuilding = False
        self._mousePressed = False
        self._addEnabled = self._removeEnabled = self._editEnabled = self._renameEnabled = False  # qMRMLCheckableNodeComboBoxPrivate::init
        self.model().dataChanged.connect(self._onDataChanged)
        self.view().installEventFilter(self)
        self.view().viewport().installEventFilter(self)

    # --- the items' check states

    def _rows(self):
        """(row, node ID or None for an extra item such as "None") of every item."""
        return list(enumerate(self._nodeIDs))

    def _checkStateAt(self, row: int):
        value = self.model().item(row).data(QtCore.Qt.CheckStateRole)
        return QtCore.Qt.CheckState(value) if value is not None else QtCore.Qt.Unchecked

    def _checkedIDsNow(self) -> list[str]:
        return [nodeID for row, nodeID in self._rows() if nodeID is not None and self._checkStateAt(row) == QtCore.Qt.Checked]

    def _rebuild(self, keepID=None) -> None:
        # qMRMLSceneModel keeps each node's item while others come and go: their check states stay.
        checked = list(getattr(self, "_checkedIDs", []))
        self._rebuilding = True
        try:
            super()._rebuild(keepID)
            for row, nodeID in self._rows():
                item = self.model().item(row)
                item.setFlags(item.flags() | QtCore.Qt.ItemIsUserCheckable)  # ctkCheckableModelHelper's forced checkability
                item.setData(QtCore.Qt.Checked if nodeID in checked else QtCore.Qt.Unchecked, QtCore.Qt.CheckStateRole)
        finally:
            self._rebuilding = False
        self._checkedIDs = self._checkedIDsNow()  # silently: no dataChanged for a removed row

    def _onDataChanged(self, *unused) -> None:
        if getattr(self, "_rebuilding", True):
            return
        checked = self._checkedIDsNow()
        if checked != self._checkedIDs:
            self._checkedIDs = checked
            self.checkedNodesChanged.emit()
            self.update()

    def checkedNodes(self) -> list:
        return [self._scene.GetNodeByID(nodeID) for nodeID in self._checkedIDs if self._scene is not None and self._scene.GetNodeByID(nodeID) is not None]

    def uncheckedNodes(self) -> list:
        checked = set(self._checkedIDs)
        return [node for node in self._listedNodes() if node.GetID() not in checked]

    def allChecked(self) -> bool:
        return all(self._checkStateAt(row) == QtCore.Qt.Checked for row, _ in self._rows())

    def noneChecked(self) -> bool:
        return all(self._checkStateAt(row) == QtCore.Qt.Unchecked for row, _ in self._rows())

    def _rowOf(self, node) -> int:
        nodeID = node.GetID() if node is not None else None
        return self._nodeIDs.index(nodeID) if nodeID is not None and nodeID in self._nodeIDs else -1

    def checkState(self, node):
        row = self._rowOf(node)
        return self._checkStateAt(row) if row >= 0 else QtCore.Qt.Unchecked

    def setCheckState(self, node, state) -> None:
        row = self._rowOf(node)
        if row >= 0:
            self.model().item(row).setData(QtCore.Qt.CheckState(state), QtCore.Qt.CheckStateRole)

    def setUserCheckable(self, node, userCheckable: bool) -> None:
        row = self._rowOf(node)
        if row >= 0:
            item = self.model().item(row)
            flags = item.flags()
            item.setFlags(flags | QtCore.Qt.ItemIsUserCheckable if userCheckable else flags & ~QtCore.Qt.ItemIsUserCheckable)

    def check(self, node) -> None:
        self.setCheckState(node, QtCore.Qt.Checked)

    def uncheck(self, node) -> None:
        self.setCheckState(node, QtCore.Qt.Unchecked)

    # --- the popup and the closed box (ctkCheckableComboBox::eventFilter, ::paintEvent)

    def eventFilter(self, watched, event) -> bool:
        # Qt's getters (rect(), isVisible()) that PythonQt's idioms shadow with properties; only around them: a toggle
        # runs the panel's slots, which use the idioms.
        with qt.nativePyQt():
            view = self.view()
            visible, index = view.isVisible(), view.currentIndex()
            onRect = event.type() == QtCore.QEvent.MouseButtonRelease and view.rect().contains(event.pos())
        if event.type() == QtCore.QEvent.MouseButtonPress and visible:
            self._mousePressed = True
        elif event.type() == QtCore.QEvent.MouseButtonRelease:
            flags = index.flags()
            onItem = visible and onRect and index.isValid() and bool(flags & QtCore.Qt.ItemIsEnabled) and bool(flags & QtCore.Qt.ItemIsSelectable)
            pressed, self._mousePressed = self._mousePressed, False
            if onItem:
                if pressed:  # not the release of the press that opened the popup
                    QtWidgets.QComboBox.setCurrentIndex(self, index.row())
                    state = self._checkStateAt(index.row())
                    self.model().item(index.row()).setData(QtCore.Qt.Unchecked if state == QtCore.Qt.Checked else QtCore.Qt.Checked, QtCore.Qt.CheckStateRole)
                return True
        return QtWidgets.QComboBox.eventFilter(self, watched, event)

    def displayText(self) -> str:
        """What the closed box shows."""
        checkedRows = [row for row, _ in self._rows() if self._checkStateAt(row) == QtCore.Qt.Checked]
        if not self._rows() or self.noneChecked():
            return "None"
        if len(checkedRows) == len(self._rows()):
            return "All"
        return ", ".join(QtWidgets.QComboBox.itemText(self, row) for row in checkedRows)

    def paintEvent(self, event) -> None:
        text = self.displayText()
        with qt.nativePyQt():
            painter = QtWidgets.QStylePainter(self)
            painter.setPen(self.palette().color(QtGui.QPalette.Text))
            option = QtWidgets.QStyleOptionComboBox()
            self.initStyleOption(option)
            option.currentText = text
            option.currentIcon = QtGui.QIcon()
            painter.drawComplexControl(QtWidgets.QStyle.CC_ComboBox, option)
            painter.drawControl(QtWidgets.QStyle.CE_ComboBoxLabel, option)
            painter.end()
