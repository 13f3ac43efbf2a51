"""The choices of the panel's parameter node (FAExport.FAExportParameterNode): export mode, scale, laterality, send
fallback; each value is FAExportLib's name for it, each label what the panel's combo box shows.

Standard library and translations only: FAExport.py imports this at Slicer's start-up.
"""

import enum

from FAExportSlicerLib.i18n import _


class ExportMode(enum.Enum):
    """What to write; the values are FAExportLib's mode names."""

    MR = "mr"
    SC = "sc"
    PM = "pm"
    MR_PM = "mr+pm"

    def label(self) -> str:
        return {
            "mr": _("MR images (int16 + rescale, any PACS)"),
            "sc": _("Secondary Capture (multi-frame, rescale)"),
            "pm": _("Parametric Map (exact float32)"),
            "mr+pm": _("MR images + Parametric Map"),
        }[self.value]


class ScaleChoice(enum.Enum):
    """How float values become integers in the MR and SC modes."""

    AUTO = "auto"
    X1000 = "1000"
    X32000 = "32000"
    CUSTOM = "custom"

    def label(self) -> str:
        return {"auto": _("auto (finest that fits)"), "1000": "x1000", "32000": "x32000", "custom": _("custom")}[self.value]


class Laterality(enum.Enum):
    """The side of a paired body part; the values are FAExportLib's (--laterality)."""

    NONE = ""
    L = "L"
    R = "R"
    B = "B"
    U = "U"

    def label(self) -> str:
        return {"": _("not given"), "L": _("L (left)"), "R": _("R (right)"), "B": _("B (both)"), "U": _("U (unpaired)")}[self.value]


class SendFallback(enum.Enum):
    """What to send when the archive refuses the Parametric Map; the values are FAExportLib's fallback modes."""

    NONE = ""
    SC = "sc"
    MR = "mr"

    def label(self) -> str:
        return {
            "": _("report it, send nothing else"),
            "sc": _("send SC instead (sc)"),
            "mr": _("send MR instead (mr)"),
        }[self.value]
