"""The panel's quantity, code and unit fields: the quantity list, what a volume's own quantity fills in, what an empty
unit field means, the logic's quantity arguments, and why the fields cannot make a Parametric Map.
"""

from FAExportSlicerLib.i18n import _
from FAExportSlicerLib.labels import codeText, inPanelWords, quantityLabel, unitText
from FAExportSlicerLib.scene import quantityOf

OTHER_QUANTITY = "other"  # the quantity parameter for a code and unit typed in


class QuantitySection:
    """The quantity combo and the code and unit fields; FAExportLib's quantities are imported when the panel is set up."""

    def __init__(self, ui) -> None:
        self.ui = ui

    def populate(self) -> None:
        """The known quantities, then "other" (code and unit typed in). Slicer starts without FAExportLib; setup may import it."""
        from FAExportLib import known_quantities

        combo = self.ui.quantityComboBox
        combo.clear()
        combo.addItem(_("from the volume, else FA"), "")
        for name, quantity in known_quantities().items():
            combo.addItem(quantityLabel(name, quantity), name)
        combo.addItem(_("other (enter code and unit)"), OTHER_QUANTITY)
        combo.maxVisibleItems = 20  # about 40 entries: show half of them at once, not Qt's 10

    def choose(self, parameters, index: int) -> None:
        """The quantity picked in the combo; the previous quantity's unit (and code) no longer apply."""
        if parameters is None or index < 0:
            return
        quantity = self.ui.quantityComboBox.itemData(index) or ""
        if quantity == parameters.quantity:
            return
        wasModifying = parameters.StartModify()
        try:
            parameters.quantity = quantity
            parameters.quantityUnit = ""  # the previous quantity's unit would be wrong for this one: its own default applies
            if quantity != OTHER_QUANTITY:
                parameters.quantityCode = ""
        finally:
            parameters.EndModify(wasModifying)

    def prefillFromVolume(self, parameters, volumeNode) -> None:
        """Quantity, code and unit from the node's VoxelValueQuantity/Units, when it has them."""
        quantity = quantityOf(volumeNode)
        if quantity is None:
            return
        from FAExportLib import known_quantities

        known = known_quantities()
        wasModifying = parameters.StartModify()
        try:
            if quantity.name in known and known[quantity.name].code == quantity.code:
                parameters.quantity = quantity.name
            else:
                parameters.quantity = OTHER_QUANTITY
            parameters.quantityCode = codeText(quantity.code) if quantity.code else ""
            parameters.quantityUnit = unitText(quantity.unit) if quantity.unit else ""
        finally:
            parameters.EndModify(wasModifying)

    def update(self, parameters) -> None:
        """The combo shows the quantity; the code field is enabled when a code can be typed; the unit field's placeholder."""
        index = self.ui.quantityComboBox.findData(parameters.quantity)
        if index >= 0 and index != self.ui.quantityComboBox.currentIndex:
            self.ui.quantityComboBox.currentIndex = index
        other = parameters.quantity == OTHER_QUANTITY
        self.ui.quantityCodeLineEdit.enabled = other or self.needsCode(parameters)
        self.ui.quantityUnitLineEdit.placeholderText = self.unitPlaceholder(parameters)

    def needsCode(self, parameters) -> bool:
        """The chosen known quantity has no code in DICOM's vocabulary (a Parametric Map then needs one typed)."""
        from FAExportLib import known_quantities

        quantity = known_quantities().get(parameters.quantity)
        return quantity is not None and quantity.code is None

    def options(self, parameters) -> dict:
        """The logic's quantity and unit arguments for the quantity, code and unit fields (ValueError for a bad code)."""
        from FAExportLib import Code, Quantity
        from FAExportLib.quantities import parse_unit

        unit = parameters.quantityUnit.strip()
        if parameters.quantity == OTHER_QUANTITY:
            code = Code.parse(parameters.quantityCode)
            return {"quantity": Quantity(code.meaning or code.value, code=code, unit=parse_unit(unit) if unit else None)}
        options = {"quantity": parameters.quantity} if parameters.quantity else {}
        if parameters.quantityCode.strip() and self.needsCode(parameters):
            options["quantityCode"] = parameters.quantityCode.strip()
        if unit:
            options["unit"] = unit  # a UCUM code or VALUE,SCHEME,MEANING: exportVolume parses it
        return options

    def previewQuantity(self, parameters):
        """The quantity the preview checks the values against; None for a malformed typed code (``problem`` says so)."""
        try:
            return self.options(parameters).get("quantity")
        except ValueError:
            return None

    def unitPlaceholder(self, parameters) -> str:
        """What an empty unit field means for the chosen quantity: its own unit, or the UCUM codes it takes."""
        from FAExportLib import InputError
        from FAExportLib.quantities import quantity_by_name

        name = parameters.quantity
        if name == OTHER_QUANTITY:
            return _("UCUM code, e.g. ms or mm2/s")
        if not name:
            quantity = quantityOf(parameters.inputVolume) if parameters.inputVolume else None
            name = quantity.name if quantity is not None else "FA"
        try:
            quantity = quantity_by_name(name)
        except (InputError, ValueError):
            return _("UCUM code, e.g. ms or mm2/s")
        if quantity.unit is not None:
            return _("{unit} (the unit of {quantity})").format(unit=unitText(quantity.unit), quantity=quantity.name)
        if quantity.units:
            return _("UCUM code: {units}").format(units=_(" or ").join(quantity.units))
        return _("UCUM code, e.g. ms or mm2/s")

    def missingCode(self, parameters) -> str:
        """"other" without a typed code: what to enter (empty when nothing is missing)."""
        if parameters.quantity == OTHER_QUANTITY and not parameters.quantityCode.strip():
            return _("Enter the quantity's code as VALUE,SCHEME,MEANING (e.g. 110808,DCM,Fractional Anisotropy).")
        return ""

    def problem(self, parameters, oneMap: bool = True) -> str:
        """The unit field's text when it is not a unit; for a Parametric Map of one map, a quantity without code or unit.
        With several maps (``oneMap`` False) each map's quantity is checked by the several maps' section; only a
        typed code that is not one is refused here.
        """
        from FAExportLib import FAExportError
        from FAExportLib.pm import check_quantity
        from FAExportLib.quantities import parse_unit

        if parameters.quantityUnit.strip():
            try:
                parse_unit(parameters.quantityUnit)
            except ValueError as error:
                return _("Cannot export: {error}").format(error=inPanelWords(self.ui, error))
        if not oneMap:
            try:
                self.options(parameters)
            except ValueError as error:
                return _("Cannot export: {error}").format(error=inPanelWords(self.ui, error))
            return ""
        if "pm" not in parameters.exportMode.value or parameters.inputVolume is None:
            return ""
        try:
            options = self.options(parameters)
            quantity = options.get("quantity")
            if quantity is None:
                quantity = quantityOf(parameters.inputVolume) or "FA"
            from FAExportLib.pipeline import resolve_quantity

            check_quantity(resolve_quantity(quantity, quantity_code=options.get("quantityCode"), unit=options.get("unit"), method=None))
        except (FAExportError, ValueError) as error:
            return _("Cannot export: {error}").format(error=inPanelWords(self.ui, error))
        return ""
