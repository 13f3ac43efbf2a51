"""The panel's encoding section: mode, scale, plain integers and NaN handling, the preview of what they give (kept
until the map's voxels or an option it depends on change), and the coarse-scale override it offers.

Enum parameters are compared by value: a reload (developer mode) makes new enum classes while old values may remain.
"""

from FAExportSlicerLib.i18n import _
from FAExportSlicerLib.labels import inPanelWords
from FAExportSlicerLib.scene import volumeFile


class EncodingSection:
    """The encoding widgets and the preview cache (a key of everything the preview depends on, and its last state)."""

    def __init__(self, ui, logic) -> None:
        self.ui = ui
        self.logic = logic
        self.previewKey = None
        self.previewState = (None, "")
        self.coarseScaleRefused = False

    def scale(self, parameters):
        """The scale the panel asks for: 'auto', '1000', '32000' or the custom number."""
        choice = parameters.scaleChoice
        return parameters.customScale if choice.value == "custom" else choice.value

    def plainIntegers(self, parameters) -> bool:
        """Plain integers as the export will use them: ticked, and the mode writes integers."""
        return parameters.plainIntegers and parameters.exportMode.value != "pm"

    def options(self, parameters) -> dict:
        """The logic's encoding arguments."""
        return {
            "mode": parameters.exportMode.value,
            "scale": self.scale(parameters),
            "replaceNonFinite": 0.0 if parameters.replaceNonFinite else None,
            "plainIntegers": self.plainIntegers(parameters),
            "allowCoarseScale": parameters.allowCoarseScale,
        }

    def update(self, parameters, quantity) -> tuple[str | None, str]:
        """The scale and plain-integer widgets apply to the integer modes only; the preview, and the coarse-scale
        override it may offer. Returns (preview text, reason Export is disabled) as ``preview``.
        """
        integers = parameters.exportMode.value != "pm"
        self.ui.customScaleSpinBox.enabled = parameters.scaleChoice.value == "custom" and integers
        self.ui.scaleComboBox.enabled = integers
        self.ui.plainIntegersCheckBox.enabled = integers
        self.ui.plainIntegersCheckBox.toolTip = (
            _("Store round(value x scale) with RescaleSlope 1, for viewers that mishandle a fractional slope (OHIF/cornerstone3D) or round the window (Horos). Readers then get the values multiplied by the scale, which the series description states.")
            if integers
            else _("Only for MR images or Secondary Capture: a Parametric Map stores the exact float32 values.")
        )
        text, reason = self.preview(parameters, quantity)
        # The override appears only when the preview refuses a coarse scale (and stays while it is ticked).
        self.ui.allowCoarseScaleCheckBox.visible = self.coarseScaleRefused or parameters.allowCoarseScale
        return text, reason

    def preview(self, parameters, quantity) -> tuple[str | None, str]:
        """(preview text, reason Export is disabled) for the current map, mode and scale; cached on what it depends on.

        ``quantity``: the quantity argument the quantity fields give (None for the volume's own, or a malformed code).
        """
        volumeNode = parameters.inputVolume
        if volumeNode is None:
            return None, _("Select the map to export.")
        imageData = volumeNode.GetImageData()
        scalars = imageData.GetPointData().GetScalars() if imageData is not None else None
        voxelsTime = max(imageData.GetMTime() if imageData is not None else 0, scalars.GetMTime() if scalars is not None else 0)
        replacement = 0.0 if parameters.replaceNonFinite else None
        plainIntegers = self.plainIntegers(parameters)
        allowCoarse = parameters.allowCoarseScale
        key = (volumeNode.GetID(), voxelsTime, parameters.exportMode, self.scale(parameters), replacement, plainIntegers, str(quantity), allowCoarse, volumeFile(volumeNode))
        if key != self.previewKey:
            from FAExportLib import CoarseScaleError, FAExportError
            from FAExportLib.volume_files import nifti_header_warnings

            self.coarseScaleRefused = False
            try:
                text = self.logic.previewText(
                    volumeNode, mode=parameters.exportMode.value, scale=self.scale(parameters), replaceNonFinite=replacement,
                    allowCoarseScale=allowCoarse, quantity=quantity, plainIntegers=plainIntegers,
                )
                # The file the map was loaded from: which NIfTI transform Slicer's reader used, when the other differs.
                fileWarnings = nifti_header_warnings(volumeFile(volumeNode)) if volumeFile(volumeNode) else []
                text = "\n".join([text, *(_("Warning: {warning}").format(warning=warning) for warning in fileWarnings)])
                self.previewState = (text, "")
            except CoarseScaleError as error:
                self.coarseScaleRefused = True
                self.previewState = (None, _("Cannot export: {error}").format(error=inPanelWords(self.ui, error)))
            except FAExportError as error:
                self.previewState = (None, _("Cannot export: {error}").format(error=inPanelWords(self.ui, error)))
            self.previewKey = key
        return self.previewState
