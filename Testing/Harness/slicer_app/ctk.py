"""``ctk``: the CTK widgets FAExport's ``.ui`` uses, as small PyQt5 widgets with CTK's properties and signals.

Modelled on CTK's headers (commontk/CTK at the revision Slicer 5.12.3 pins, SuperBuild/External_CTK.cmake):
Libs/Widgets/ctkCollapsibleButton.h (``text``, ``collapsed``, ``contentsCollapsed(bool)``) and
Libs/Widgets/ctkPathLineEdit.h (``currentPath``, ``filters``, ``currentPathChanged(QString)``,
``validInputChanged(bool)``). Their look and the file dialog are not modelled.

ctkPathLineEdit emits ``currentPathChanged`` only for acceptable text: its line edit has a
QRegularExpressionValidator whose pattern for a folder field (no name filters) is ``.+``
(Libs/Core/ctkUtils.cpp nameFiltersToRegExpPattern, line 177), and ``updateHasValidInput`` emits the path only when
``hasAcceptableInput()`` (Libs/Widgets/ctkPathLineEdit.cpp lines 730-746). An emptied field never says so through
``currentPathChanged``; only ``validInputChanged(false)`` tells that the text stopped being acceptable.
"""

from PyQt5 import QtCore, QtGui, QtWidgets

from . import qt  # noqa: F401 -- PythonQt idioms on every QObject


class ctkCollapsibleButton(QtWidgets.QGroupBox):  # noqa: N801 -- CTK's class name
    """A titled section that can be collapsed (drawn as a group box)."""

    contentsCollapsed = QtCore.pyqtSignal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._collapsed = False

    def getText(self) -> str:
        return QtWidgets.QGroupBox.title(self)

    def setText(self, text: str) -> None:
        QtWidgets.QGroupBox.setTitle(self, text)

    def getCollapsed(self) -> bool:
        return self._collapsed

    def setCollapsed(self, collapsed: bool) -> None:
        self._collapsed = bool(collapsed)
        for child in QtCore.QObject.findChildren(self, QtWidgets.QWidget, options=QtCore.Qt.FindDirectChildrenOnly):
            QtWidgets.QWidget.setVisible(child, not self._collapsed)
        self.contentsCollapsed.emit(self._collapsed)

    text = QtCore.pyqtProperty(str, getText, setText)
    collapsed = QtCore.pyqtProperty(bool, getCollapsed, setCollapsed)


class ctkPathLineEdit(QtWidgets.QWidget):  # noqa: N801 -- CTK's class name
    """A path field with a browse button; ``currentPath`` is what the user typed or picked."""

    Dirs = 0x1
    Files = 0x2
    Drives = 0x4
    NoDotAndDotDot = 0x1000
    Readable = 0x10
    Writable = 0x20
    Executable = 0x40
    Filters = int
    currentPathChanged = QtCore.pyqtSignal(str)
    validInputChanged = QtCore.pyqtSignal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._lineEdit = QtWidgets.QLineEdit(self)
        self._browseButton = QtWidgets.QToolButton(self)
        QtWidgets.QToolButton.setText(self._browseButton, "...")
        layout.addWidget(self._lineEdit)
        layout.addWidget(self._browseButton)
        self._filters = self.Files
        # The validator of a field without name filters (ctkPathLineEdit.cpp line 393: nameFiltersToRegularExpression).
        self._lineEdit.setValidator(QtGui.QRegularExpressionValidator(QtCore.QRegularExpression(".+"), self._lineEdit))
        self._hasValidInput = False
        self._lineEdit.textChanged.connect(self._updateHasValidInput)

    def _updateHasValidInput(self, text: str) -> None:
        # ctkPathLineEdit::updateHasValidInput (ctkPathLineEdit.cpp lines 730-750), connected to textChanged (line 297).
        wasValid = self._hasValidInput
        self._hasValidInput = QtWidgets.QLineEdit.hasAcceptableInput(self._lineEdit)
        if self._hasValidInput:
            self.currentPathChanged.emit(text)
        if self._hasValidInput != wasValid:
            self.validInputChanged.emit(self._hasValidInput)

    def getCurrentPath(self) -> str:
        return QtWidgets.QLineEdit.text(self._lineEdit)

    def setCurrentPath(self, path: str) -> None:
        QtWidgets.QLineEdit.setText(self._lineEdit, path)

    def getFilters(self) -> int:
        return self._filters

    def setFilters(self, filters) -> None:
        self._filters = int(filters)

    currentPath = QtCore.pyqtProperty(str, getCurrentPath, setCurrentPath)
    filters = QtCore.pyqtProperty(int, getFilters, setFilters)


def __getattr__(name: str):
    """``ctk.ctkDICOMDatabase`` and ``ctk.ctkDICOMIndexer`` are CTK's own classes (Testing/Harness/ctk_dicom_core.py),
    as Slicer's DICOMUtils.importDicom makes ``ctk.ctkDICOMIndexer()``; built on first use.
    """
    if name in ("ctkDICOMDatabase", "ctkDICOMIndexer"):
        import ctk_dicom_core

        return getattr(ctk_dicom_core, name)
    raise AttributeError(f"module 'ctk' has no attribute {name!r}")
