"""How Slicer's interfaces name FAExportLib's fields in messages.

FAExportLib's errors carry ``Field`` parts (``FAExportLib.errors``); each interface renders them with a label
function: the command line (and the batch script) with ``--options``, the Python console with
``FAExportLogic.exportVolume``'s keyword arguments, the panel with its field labels, the Export-to-DICOM dialog
with its tag names. This file holds the console's names and the label builder; the panel's table is
labels.PANEL_FIELDS, the dialog's DICOMFAExportPlugin.inDialogWords. No interface rewrites another's text. Standard
library only (imported at Slicer's start-up).
"""

from collections.abc import Callable

# FAExportLib's names (ExportOptions, send options) -> FAExportOptions' (the console's keyword arguments).
CONSOLE_NAMES = {
    "quantity_code": "quantityCode",
    "method": "methodCode",
    "replace_nonfinite": "replaceNonFinite",
    "plain_integers": "plainIntegers",
    "allow_coarse_scale": "allowCoarseScale",
    "resample_to_source": "resampleToSource",
    "source_series_uid": "sourceSeriesInstanceUID",
    "source_dicom": "sourceVolumeNode",  # the command line's folder of the source series is a loaded volume in Slicer
    "output_folder": "outputFolder",
    "add_to_database": "addToDatabase",
    "destination_dimse": "sendTo",
    "destination_stow": "sendTo",
}
# Fields of FAExportOptions itself (the rest are ExportMetadata's, given in ``metadata``) and the send destinations'.
OPTION_NAMES = {"mode", "scale", "quantity", "unit", "laterality", "fallback", "profile", *CONSOLE_NAMES}
DESTINATION_NAMES = {"called_ae", "calling_ae", "send_timeout", "stow_user", "stow_password", "stow_token"}


# Values in FAExportLib's messages that stand for what the user fills in.
PLACEHOLDERS = {"VALUE", "VALUE,SCHEME,MEANING", "UID", "NAME", "LABEL"}


def pythonValue(text: str) -> str:
    """A value in a message as Python source: a number or a placeholder (VALUE) as it is, text quoted."""
    try:
        float(text)
        return text
    except ValueError:
        return text if text in PLACEHOLDERS else repr(text)


def consoleLabel(field) -> str:
    """A field as the Python console gives it: ``unit="ms"``, ``metadata["series_number"]``, ``DimseDestination.parse(called_ae=...)``."""
    if field.name in OPTION_NAMES:
        name = CONSOLE_NAMES.get(field.name, field.name)
        return name if field.value is None else f"{name}={pythonValue(field.value)}"
    if field.name in DESTINATION_NAMES:
        where = "StowDestination" if field.name.startswith("stow") else "the destination"
        name = {"stow_user": "username", "stow_password": "password", "stow_token": "token", "send_timeout": "timeout"}.get(field.name, field.name)
        return f"{where}'s {name}" if field.value is None else f"{where}'s {name}={pythonValue(field.value)}"
    return f'metadata["{field.name}"]' if field.value is None else f'metadata["{field.name}"]={pythonValue(field.value)}'


def labelsFrom(names: "dict[str, str]", otherwise: Callable = consoleLabel) -> Callable:
    """A label function naming each field by ``names`` (an interface's labels), followed by the value to give; a field
    the interface does not show is named by ``otherwise``.
    """

    def label(field) -> str:
        name = names.get(field.name)
        if name is None:
            return otherwise(field)
        return name if field.value is None else f"{name} {field.value}"

    return label
