"""The panel's output section: Slicer's DICOM database and/or a folder, and the folder field kept in step with the
parameter node (synced in code: a Path parameter would show "." in the empty ctkPathLineEdit).

The field's own text is what counts: ctkPathLineEdit emits currentPathChanged only for acceptable (non-empty) text
(CTK Libs/Widgets/ctkPathLineEdit.cpp updateHasValidInput, validator ".+" from Libs/Core/ctkUtils.cpp), so an
emptied field leaves the parameter at the last path it emitted; the widget also listens to validInputChanged.
"""

import os

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

    def folder(self) -> str:
        """The folder the field shows now (not the last one it emitted)."""
        return self.ui.outputFolderPathLineEdit.currentPath.strip()

    def problem(self, parameters) -> str:
        """Why the export has nowhere to go (empty when it has)."""
        if not (parameters.addToDatabase or parameters.writeToFolder):
            return _("Choose where to export: the DICOM database, a folder, or both.")
        if not parameters.writeToFolder:
            return ""
        folder = self.folder()
        if not folder:
            return _("Choose the output folder.")
        if not os.path.isabs(os.path.expanduser(folder)):
            # Relative to Slicer's working folder, which the user neither sees nor chose.
            return _('The output folder "{folder}" is not a full path: browse to the folder, or type its whole path.').format(folder=folder)
        return ""

    def options(self, parameters) -> dict:
        """The logic's output arguments."""
        return {"outputFolder": os.path.expanduser(self.folder()) if parameters.writeToFolder else None, "addToDatabase": parameters.addToDatabase}
