"""The panel's encoding section: mode, scale, plain integers and NaN handling, the preview of what they give (kept
until the map's voxels or an option it depends on change), and the coarse-scale override it offers.

Enum parameters are compared by value: a reload (developer mode) makes new enum classes while old values may remain.
"""

from FAExportSlicerLib.i18n import _
from FAExportSlicerLib.labels import inPanelWords, previewText, trapsTooltip
from FAExportSlicerLib.scene import volumeFile

PREVIEW_TOOLTIP = _("The value range, the stored integers and the worst-case error of the chosen scale, known before anything is written.")


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

    def mode(self, parameters) -> str:
        """The export mode as the export will use it: MR under the navigation profile (the mode combo is then disabled
        and keeps the user's choice for when the profile is unticked), else the combo's.
        """
        return "mr" if parameters.navigationProfile else parameters.exportMode.value

    def plainIntegers(self, parameters) -> bool:
        """Plain integers as the export will use them: ticked, and the mode writes integers (the profile's own are
        its factor's: the option is not passed then).
        """
        return parameters.plainIntegers and self.mode(parameters) != "pm" and not parameters.navigationProfile

    def options(self, parameters) -> dict:
        """The logic's encoding arguments."""
        return {
            "mode": self.mode(parameters),
            "scale": self.scale(parameters),
            "replaceNonFinite": 0.0 if parameters.replaceNonFinite else None,
            "plainIntegers": self.plainIntegers(parameters),
            "allowCoarseScale": parameters.allowCoarseScale,
            "profile": "navigation" if parameters.navigationProfile else None,
        }

    def update(self, parameters, quantity) -> tuple[str | None, str]:
        """The scale and plain-integer widgets apply to the integer modes only; the preview, and the coarse-scale
        override it may offer. Returns (preview text, reason Export is disabled) as ``preview``.
        """
        profile = parameters.navigationProfile
        integers = self.mode(parameters) != "pm"
        self.ui.exportModeComboBox.enabled = not profile
        self.ui.exportModeComboBox.toolTip = (
            _("The navigation profile writes MR images; untick it to choose another encoding.")
            if profile
            else _("MR images travel to every PACS; a Parametric Map keeps the exact values and their meaning; both can be written at once.")
        )
        self.ui.customScaleSpinBox.enabled = parameters.scaleChoice.value == "custom" and integers
        self.ui.scaleComboBox.enabled = integers
        self.ui.plainIntegersCheckBox.enabled = integers and not profile
        if profile:
            tip = _("The navigation profile stores plain integers at the factor of the quantity's unit (auto) or at the scale chosen.")
        elif integers:
            tip = _("Store round(value x scale) with RescaleSlope 1, for viewers that mishandle a fractional slope (OHIF/cornerstone3D) or round the window (Horos). Readers then get the values multiplied by the scale, which the series description states.")
        else:
            tip = _("Only for MR images or Secondary Capture: a Parametric Map stores the exact float32 values.")
        self.ui.plainIntegersCheckBox.toolTip = tip
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
        profile = "navigation" if parameters.navigationProfile else None
        matrix = volumeNode.GetMTime()  # the grid (square pixels for the profile) changes the node's modified time
        source = parameters.sourceVolume
        resample = parameters.resampleToSource and source is not None
        key = (
            volumeNode.GetID(), voxelsTime, matrix, self.mode(parameters), self.scale(parameters), replacement, plainIntegers, str(quantity), allowCoarse, profile,
            source.GetID() if source is not None else None, resample, volumeFile(volumeNode),
        )  # fmt: skip
        if key != self.previewKey:
            from FAExportLib import CoarseScaleError, FAExportError
            from FAExportLib.volume_files import nifti_header_warnings

            self.coarseScaleRefused = False
            try:
                mode = self.mode(parameters)
                checked = self.logic.preview(
                    volumeNode, mode=mode, scale=self.scale(parameters), replaceNonFinite=replacement,
                    allowCoarseScale=allowCoarse, quantity=quantity, plainIntegers=plainIntegers, profile=profile, sourceVolumeNode=source,
                    resampleToSource=resample,
                )
                text = previewText(checked, mode, profile, trapDetails=False)
                trapLines = trapsTooltip(checked, mode)
                # The file the map was loaded from: which NIfTI transform Slicer's reader used, when the other differs.
                fileWarnings = nifti_header_warnings(volumeFile(volumeNode)) if volumeFile(volumeNode) else []
                text = "\n".join([text, *(_("Warning: {warning}").format(warning=warning) for warning in fileWarnings)])
                self.previewState = (text, "")
                self.ui.previewLabel.toolTip = "\n\n".join(filter(None, [PREVIEW_TOOLTIP, trapLines]))
            except CoarseScaleError as error:
                self.coarseScaleRefused = True
                self.previewState = (None, _("Cannot export: {error}").format(error=inPanelWords(self.ui, error)))
            except FAExportError as error:
                self.previewState = (None, _("Cannot export: {error}").format(error=inPanelWords(self.ui, error)))
            self.previewKey = key
        return self.previewState
