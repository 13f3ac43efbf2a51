"""The panel's output section: Slicer's DICOM database and/or a folder, and the folder field kept in step with the
parameter node (synced in code: a Path parameter would show "." in the empty ctkPathLineEdit).
"""

from FAExportSlicerLib.i18n import _


class OutputSection:
    """The database and folder widgets."""

    def __init__(self, ui) -> None:
        self.ui = ui

    def setFolder(self, parameters, path: str) -> None:
        """The folder typed or browsed to."""
        if parameters is not None and parameters.outputFolder != path:
            parameters.outputFolder = path

    def update(self, parameters) -> None:
        """The folder field is enabled when writing to a folder, and shows the parameter's folder."""
        self.ui.outputFolderPathLineEdit.enabled = parameters.writeToFolder
        if self.ui.outputFolderPathLineEdit.currentPath != parameters.outputFolder:
            self.ui.outputFolderPathLineEdit.currentPath = parameters.outputFolder

    def problem(self, parameters) -> str:
        """Why the export has nowhere to go (empty when it has)."""
        if not (parameters.addToDatabase or parameters.writeToFolder):
            return _("Choose where to export: the DICOM database, a folder, or both.")
        if parameters.writeToFolder and not parameters.outputFolder.strip():
            return _("Choose the output folder.")
        return ""

    def options(self, parameters) -> dict:
        """The logic's output arguments."""
        return {"outputFolder": parameters.outputFolder.strip() if parameters.writeToFolder else None, "addToDatabase": parameters.addToDatabase}
