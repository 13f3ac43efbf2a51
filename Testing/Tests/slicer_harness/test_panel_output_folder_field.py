"""The output-folder field as CTK's ctkPathLineEdit behaves: what the user sees in the field is what the export uses.

ctkPathLineEdit emits currentPathChanged only for acceptable text (validator ".+"), so clearing the field, or
backspacing it to one character, leaves nothing or a relative path behind: the panel must refuse both in its own words.
"""

from slicer_harness.conftest import load_map

import pytest
from PyQt5 import QtCore, QtTest, QtWidgets


def field_line_edit(panel):
    """The QLineEdit inside the path field, which the user types into."""
    (lineEdit,) = QtCore.QObject.findChildren(panel.ui.outputFolderPathLineEdit, QtWidgets.QLineEdit)
    return lineEdit


def backspace(lineEdit, times: int) -> None:
    QtWidgets.QLineEdit.setFocus(lineEdit)
    QtWidgets.QLineEdit.end(lineEdit, False)
    for _ in range(times):
        QtTest.QTest.keyClick(lineEdit, QtCore.Qt.Key_Backspace)


@pytest.fixture
def folder_panel(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial")
    panel.ui.addToDatabaseCheckBox.checked = False
    panel.ui.writeToFolderCheckBox.checked = True
    QtTest.QTest.keyClicks(field_line_edit(panel), str(tmp_path / "out"))
    assert panel.parameters.outputFolder == str(tmp_path / "out")
    assert panel.ui.exportButton.enabled
    return panel


def test_a_cleared_folder_field_disables_export_and_writes_nowhere(folder_panel, tmp_path):
    lineEdit = field_line_edit(folder_panel)
    backspace(lineEdit, len(QtWidgets.QLineEdit.text(lineEdit)))
    assert QtWidgets.QLineEdit.text(lineEdit) == ""
    assert folder_panel.parameters.outputFolder == ""
    assert not folder_panel.ui.exportButton.enabled
    assert folder_panel.ui.disabledReasonLabel.text == "Choose the output folder."
    folder_panel.ui.exportButton.click()
    assert not (tmp_path / "out").exists()


def test_a_folder_backspaced_to_a_relative_path_is_refused_in_the_panels_words(folder_panel, tmp_path):
    lineEdit = field_line_edit(folder_panel)
    QtWidgets.QLineEdit.setText(lineEdit, "")
    QtTest.QTest.keyClicks(lineEdit, "out")
    backspace(lineEdit, 2)
    assert folder_panel.ui.outputFolderPathLineEdit.currentPath == "o"
    assert not folder_panel.ui.exportButton.enabled
    assert folder_panel.ui.disabledReasonLabel.text == 'The output folder "o" is not a full path: browse to the folder, or type its whole path.'


def test_the_field_as_shown_is_what_the_export_uses(folder_panel, tmp_path):
    lineEdit = field_line_edit(folder_panel)
    backspace(lineEdit, len("out"))
    QtTest.QTest.keyClicks(lineEdit, "elsewhere")
    folder_panel.ui.exportButton.click()
    assert folder_panel.ui.resultLabel.text.count(str(tmp_path / "elsewhere")) == 1
    assert len(list((tmp_path / "elsewhere").iterdir())) == 1
    assert not (tmp_path / "out").exists()
