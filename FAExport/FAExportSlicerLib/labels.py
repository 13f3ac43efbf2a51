"""The texts FAExport shows in Slicer: codes, quantities and units as the panel's fields take them, a preview as a
few lines, and FAExportLib's errors in the panel's words (PANEL_FIELDS: the widget whose label names each field).
"""

from typing import TYPE_CHECKING

from FAExportSlicerLib.i18n import _

if TYPE_CHECKING:
    from FAExportLib import Code, Preview, Quantity


def codeText(code: "Code") -> str:
    """A code as the panel's fields show it (and Code.parse reads it): VALUE,SCHEME,MEANING."""
    return f"{code.value},{code.scheme},{code.meaning}"


def quantityLabel(name: str, quantity: "Quantity") -> str:
    """A quantity as the combo lists it: name and DICOM meaning ("MD (Mean Diffusivity)"), the meaning alone when it
    only spells the name differently ("Tmax"), and a note when DICOM has no code for it (mr/sc only, or a code typed).
    """
    if quantity.code is None:
        return _("{name} (no DICOM code)").format(name=name)
    if quantity.code.meaning.lower() == name.lower():
        return quantity.code.meaning
    return f"{name} ({quantity.code.meaning})"


def unitText(unit: "Code") -> str:
    """A unit as the panel's unit field shows it: the UCUM code alone (parse_unit reads it back), else VALUE,SCHEME,MEANING."""
    from FAExportLib.quantities import parse_unit

    if unit.scheme == "UCUM":
        try:
            parsed = parse_unit(unit.value)
            if (parsed.value, parsed.scheme) == (unit.value, unit.scheme):
                return unit.value
        except ValueError:
            pass
    return codeText(unit)


def previewText(checked: "Preview", mode: str, profile: str | None = None, trapDetails: bool = True) -> str:
    """A preview as the panel shows it: the value range, the stored integers and the worst-case error the chosen scale
    gives, then one line per warning, and the reader traps that apply: one line each (``trapDetails``), or one line
    naming the readers (the panel, whose tooltip has the details: ``trapsTooltip``). Plain integers (the preview's
    rescale is one: mr, sc, mr+pm with plain integers or the navigation ``profile``): the factor, and that readers get
    the values multiplied by it (RescaleSlope 1).
    """
    from FAExportLib.plain_integers import is_plain

    values = {
        "low": checked.value_range.minimum,
        "high": checked.value_range.maximum,
        "lowStored": checked.rescale.stored_value(checked.value_range.minimum),
        "highStored": checked.rescale.stored_value(checked.value_range.maximum),
        "error": checked.max_quantization_error,
    }
    if mode == "pm":
        text = _("Values {low:.6g} to {high:.6g}; the Parametric Map stores them as float32 (exact for a float32 map).").format(**values)
    elif is_plain(checked.rescale):
        text = _(
            "Values {low:.6g} to {high:.6g} are stored as plain integers {lowStored:.0f} to {highStored:.0f} = value x {factor} (RescaleSlope 1): "
            "readers get the values multiplied by {factor}, and the series description says so; worst-case error {error:.3g} (in the original units).",
        ).format(factor=checked.rescale.scale_label, **values)
        if mode == "mr+pm":
            text += " " + _("The Parametric Map keeps the values themselves (float32).")
    else:
        text = _("Values {low:.6g} to {high:.6g} are stored as integers {lowStored:.0f} to {highStored:.0f} (RescaleSlope {slope}); worst-case quantization error {error:.3g}.").format(
            slope=checked.rescale.slope_text,
            **values,
        )
        if mode == "mr+pm":
            text += " " + _("The Parametric Map keeps them exactly (float32).")
    if profile:
        text += " " + _("Navigation profile: a Real World Value Mapping in every file gives the values back.")
    lines = [text, *(_("Warning: {warning}").format(warning=warning) for warning in checked.warnings)]
    traps = appliedTraps(checked, mode)
    if trapDetails:
        lines.extend(_("Reader trap: {trap}").format(trap=item.line()) for item in traps)
    elif traps:
        readers = ", ".join(dict.fromkeys(item.trap.reader for item in traps))
        lines.append(_("Reader traps: {readers} (see the tooltip)").format(readers=readers))
    return "\n".join(lines)


def appliedTraps(checked: "Preview", mode: str) -> list:
    """The reader traps that apply to the encodings of ``mode`` (FAExportLib.reader_traps), each once."""
    from FAExportLib.pipeline import MODES

    found = {}
    for encoding in MODES.get(mode, ()):
        for item in checked.reader_traps.get(encoding, ()):
            if item.applies:
                found.setdefault(item.line(), item)
    return list(found.values())


def trapsTooltip(checked: "Preview", mode: str) -> str:
    """The reader traps that apply, one per line with what to do, for the preview's tooltip ("" when none does)."""
    return "\n".join(_("Reader trap: {trap}").format(trap=item.line()) for item in appliedTraps(checked, mode))


# --- FAExportLib's messages in the panel's words

# FAExportLib's fields -> the panel's widget whose text names the field in messages.
PANEL_FIELDS = {
    "mode": "exportModeLabel",
    "quantity": "quantityLabel",
    "quantity_code": "quantityCodeLabel",
    "unit": "quantityUnitLabel",
    "scale": "scaleLabel",
    "plain_integers": "plainIntegersCheckBox",
    "profile": "navigationProfileCheckBox",
    "allow_coarse_scale": "allowCoarseScaleCheckBox",
    "replace_nonfinite": "replaceNonFiniteCheckBox",
    "laterality": "lateralityLabel",
    "series_description": "seriesDescriptionLabel",
    "series_number": "seriesNumberLabel",
    "patient_name": "patientNameLabel",
    "patient_id": "patientIDLabel",
    "study_description": "studyDescriptionLabel",
    "source_dicom": "sourceVolumeLabel",
    "resample_to_source": "resampleToSourceCheckBox",
    "output_folder": "writeToFolderCheckBox",
    "add_to_database": "addToDatabaseCheckBox",
    "fallback": "sendFallbackLabel",
    "called_ae": "sendCalledAELabel",
    "calling_ae": "sendCallingAELabel",
    "stow_user": "sendUserLabel",
    "stow_password": "sendPasswordLabel",
    "stow_token": "sendTokenLabel",
    "destination_dimse": "sendAddressLabel",
    "destination_stow": "sendURLLabel",
}


def panelLabel(ui):
    """FAExportLib's fields named by the panel's labels, quoted (``"Unit" ms``); a field the panel does not show is
    named in words (the panel never sets it, but a message may still mention it).
    """
    from FAExportSlicerLib.field_names import labelsFrom

    # A checkbox's text is long ("Plain integers (readers get value x scale)"): its name is the part before "(".
    names = {name: '"' + getattr(ui, widget).text.split("(")[0].strip().rstrip(":") + '"' for name, widget in PANEL_FIELDS.items()}
    label = labelsFrom(names, otherwise=lambda field: field.name.replace("_", " ") + (f" {field.value}" if field.value else ""))
    # The profile's checkbox is its one value ("--profile navigation" on the command line): its label says it all.
    return lambda field: names["profile"] if field.name == "profile" else label(field)


def inPanelWords(ui, message) -> str:
    """An FAExportLib error, or a message (a send result's line), in the panel's words.

    NaN/infinite voxels get the panel's own way out: its checkbox replaces them with 0 (the library's way out names
    a value to give, which the panel does not take).
    """
    from FAExportLib import FAExportError, Field
    from FAExportLib.errors import render

    label = panelLabel(ui)
    if not isinstance(message, FAExportError):
        return render(message, label)
    remedy = None
    if message.field == "replace_nonfinite" and message.remedy:
        remedy = (_("fix the map, or tick {checkbox}").format(checkbox=label(Field("replace_nonfinite"))),)
    return message.render(label, remedy=remedy)
