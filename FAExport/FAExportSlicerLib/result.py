"""FAExportResult: what one export from Slicer wrote, where, what was sent, and its summary for the panel and the console."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from FAExportSlicerLib.field_names import consoleLabel
from FAExportSlicerLib.i18n import _

if TYPE_CHECKING:
    from FAExportLib import SendError, SeriesResult
    from FAExportLib.send import SendResult


@dataclass
class FAExportResult:
    """What one export wrote: each series (files at their final place) and whether Slicer's database has them."""

    series: "list[SeriesResult]"
    addedToDatabase: bool = False
    outputFolder: str | None = None
    sent: "SendResult | None" = None  # when sent to an archive (exportVolume's sendTo, or sendSeries)
    warnings: list[str] = field(default_factory=list)  # what the user should check (FAExportLib's, and the file's)
    sendError: "SendError | None" = None  # why sending failed after the export was written (the export stands)

    def summary(self, label=consoleLabel) -> str:
        """A few lines for the panel or the console, warnings last; options named by ``label`` (the console's words
        by default, the panel passes its field labels).
        """
        lines = []
        for item in self.series:
            count = len(item.files)
            files = _("1 file") if count == 1 else _("{count} files").format(count=count)
            if self.addedToDatabase and self.outputFolder is None:
                lines.append(_('{mode} "{description}": {files} in Slicer\'s DICOM database').format(mode=item.mode.upper(), description=item.series_description, files=files))
            elif self.addedToDatabase:
                lines.append(_('{mode} "{description}": {files} in {folder} and in Slicer\'s DICOM database').format(mode=item.mode.upper(), description=item.series_description, files=files, folder=item.directory))
            else:
                lines.append(_('{mode} "{description}": {files} in {folder}').format(mode=item.mode.upper(), description=item.series_description, files=files, folder=item.directory))
            if item.plain_integers:
                lines.append("  " + _("plain integers: readers get {quantity} x {factor:.12g} (RescaleSlope 1)").format(quantity=item.quantity, factor=item.value_scale))
            elif item.rescale_slope is not None:
                lines.append("  " + _("RescaleSlope {slope:.12g}, RescaleIntercept {intercept:.12g}").format(slope=item.rescale_slope, intercept=item.rescale_intercept))
            lines.append("  " + _("worst-case error {bound:.3g}, measured {measured:.3g}").format(bound=item.max_quantization_error, measured=item.measured_max_error))
        if self.sent is not None:
            lines.append(self.sent.summary(label))
        if self.sendError is not None:
            lines.append(_("Sending failed: {error}; the exported series are kept").format(error=self.sendError.render(label)))
        lines.extend(_("Warning: {warning}").format(warning=warning) for warning in self.warnings)
        return "\n".join(lines)
