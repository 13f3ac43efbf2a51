"""The panel's export progress: an application-modal progress dialog, so nothing else in Slicer (Export again, closing
the scene) can run while the files are written, and the callback the logic reports each step to (Cancel stops it).
"""

from FAExportSlicerLib.i18n import _

import qt
import slicer
import slicer.util


class ExportProgress:
    """``report`` is the logic's progressCallback(message, filesDone): True when the user pressed Cancel."""

    def __init__(self) -> None:
        self.dialog = None

    def open(self) -> None:
        self.dialog = slicer.util.createProgressDialog(
            windowTitle=_("Exporting to DICOM"),
            labelText=_("Preparing..."),
            maximum=0,
            windowModality=qt.Qt.ApplicationModal,
        )

    def report(self, message: str, filesDone: int) -> bool:
        self.dialog.labelText = message
        slicer.app.processEvents()
        return self.dialog.wasCanceled

    def close(self) -> None:
        if self.dialog is not None:
            self.dialog.setParent(None)
            self.dialog.close()
            self.dialog = None
