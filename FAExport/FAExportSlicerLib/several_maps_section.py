"""The panel's "Also export" list: other maps exported with the scalar map as series of one study, each map's quantity
shown, the fields that name one series or one quantity's code and unit disabled (FAExportLib refuses them for several
maps), the number of series in the preview, and what would refuse one of the other maps.

The list is synced in code: parameterNodeWrapper has no GUI connector for a qMRMLCheckableNodeComboBox (Slicer 5.12.3
Base/Python/slicer/parameterNodeWrapper/guiConnectors.py). The scalar map itself is never one of the others: it is
unchecked in the list (and not user-checkable there) and ignored if a saved list holds it.
"""

from FAExportSlicerLib import several_maps
from FAExportSlicerLib.i18n import _
from FAExportSlicerLib.labels import inPanelWords, previewText
from FAExportSlicerLib.quantity_section import OTHER_QUANTITY  # its code and unit fields define the quantity itself

import qt

ORIGINS = {
    several_maps.FROM_ATTRIBUTE: _("the volume's quantity"),
    several_maps.FROM_NAME: _("its name"),
    several_maps.FROM_OPTION: _("the Quantity field"),
}


class SeveralMapsSection:
    """The "Also export" list, the maps' quantities label, and the previews of the other maps (cached on what they depend on)."""

    def __init__(self, ui, logic) -> None:
        self.ui = ui
        self.logic = logic
        self.previewKey = None
        self.previewState = ([], "")
        # The single-map tooltips, restored when the other maps are unchecked.
        self.singleMapToolTips = {name: getattr(ui, name).toolTip for name in ("quantityCodeLineEdit", "quantityUnitLineEdit", "seriesDescriptionLineEdit", "quantityComboBox")}
        self.singleMapQuantityItem = ui.quantityComboBox.itemText(0)

    # --- which maps

    def others(self, parameters) -> list:
        """The other maps to export: checked, still in the scene, not the scalar map, each once."""
        others = []
        for node in parameters.alsoExportVolumes:
            if node is not None and node.GetScene() is not None and node is not parameters.inputVolume and node not in others:
                others.append(node)
        return others

    def volumes(self, parameters) -> list:
        """Every map to export, the scalar map first."""
        main = [parameters.inputVolume] if parameters.inputVolume is not None else []
        return main + self.others(parameters)

    def several(self, parameters) -> bool:
        return parameters.inputVolume is not None and bool(self.others(parameters))

    def setChecked(self, parameters) -> None:
        """The maps checked in the list (the scalar map left out)."""
        if parameters is None:
            return
        checkedNodes = self.ui.alsoExportSelector.checkedNodes()
        checked = [node for node in checkedNodes if node is not parameters.inputVolume]
        if list(parameters.alsoExportVolumes) != checked:
            parameters.alsoExportVolumes = checked
        elif len(checked) < len(checkedNodes):
            # The scalar map was checked (ctkCheckableComboBox may toggle a row that is not user-checkable): the
            # parameter is unchanged, so no panel update would uncheck it.
            self.showChecks(parameters)

    # --- what the panel shows

    def update(self, parameters, given) -> None:
        """The list's checks, the maps' quantities, and the single-map fields' states. ``given``: the Quantity field's
        quantity (None for "from the volume").
        """
        self.showChecks(parameters)
        several = self.several(parameters)
        self.ui.severalMapsLabel.visible = several
        self.ui.severalMapsLabel.text = self.quantitiesText(parameters, given) if several else ""
        other = parameters.quantity == OTHER_QUANTITY
        code, unit, description = self.ui.quantityCodeLineEdit, self.ui.quantityUnitLineEdit, self.ui.seriesDescriptionLineEdit
        if several:
            code.enabled = code.enabled and other  # QuantitySection.update enabled it for "other" (or a quantity without code)
            unit.enabled = other  # "other": the code and unit define the quantity of the maps that state none
            description.enabled = False
        else:
            unit.enabled = description.enabled = True
        reasons = {
            "quantityCodeLineEdit": _("With several maps each is exported with its own quantity's code; to type one, uncheck the maps under Also export."),
            "quantityUnitLineEdit": _("With several maps each is exported in its own quantity's unit; to type one, uncheck the maps under Also export."),
            "seriesDescriptionLineEdit": _('With several maps each series is described by its quantity (e.g. "FA map", "MD map (mm2/s)"); to describe one series, export its map alone.'),
            "quantityComboBox": _("With several maps: the quantity of the maps whose volume states none (no quantity of its own, none in its name)."),
        }
        for name, reason in reasons.items():
            widget = getattr(self.ui, name)
            usedAsForOneMap = not several or (widget.enabled and name != "quantityComboBox")
            widget.toolTip = self.singleMapToolTips[name] if usedAsForOneMap else reason
        self.ui.quantityComboBox.setItemText(0, _("each map's own") if several else self.singleMapQuantityItem)
        if several and not other:
            unit.placeholderText = _("each map's own")  # QuantitySection's placeholder names the scalar map's unit

    def showChecks(self, parameters) -> None:
        """The list shows the parameter's maps checked; the scalar map cannot be checked there. Signals are blocked:
        the list's own checkedNodesChanged writes the parameter, which must not run while the panel updates.
        """
        selector = self.ui.alsoExportSelector
        others = self.others(parameters)
        wasBlocked = selector.blockSignals(True)
        try:
            for node in (selector.nodeFromIndex(index) for index in range(selector.nodeCount())):  # nodes() is not Q_INVOKABLE
                checked = node in others
                if (selector.checkState(node) == qt.Qt.Checked) != checked:
                    selector.setCheckState(node, qt.Qt.Checked if checked else qt.Qt.Unchecked)
                selector.setUserCheckable(node, node is not parameters.inputVolume)
        finally:
            selector.blockSignals(wasBlocked)

    def quantities(self, parameters, given) -> "list[tuple[object, several_maps.MapQuantity | Exception]]":
        """Each map with the quantity it is exported as, or the InputError that says none is known."""
        from FAExportLib import FAExportError

        result = []
        for node in self.volumes(parameters):
            try:
                result.append((node, several_maps.mapQuantity(node, given)))
            except FAExportError as error:
                result.append((node, error))
        return result

    def quantitiesText(self, parameters, given) -> str:
        """One line per map: its name, its quantity and where that comes from."""
        lines = [_("One study, each map as its own quantity:")]
        for node, quantity in self.quantities(parameters, given):
            if isinstance(quantity, several_maps.MapQuantity):
                lines.append(_("{map}: {quantity} (from {origin})").format(map=node.GetName(), quantity=quantity.name, origin=ORIGINS[quantity.origin]))
            else:
                lines.append(_("{map}: quantity not known").format(map=node.GetName()))
        return "\n".join(lines)

    def mainQuantity(self, parameters, given):
        """The quantity the scalar map is exported as among several (for its preview); ``given`` when none is known."""
        quantity = self.quantities(parameters, given)[0][1] if parameters.inputVolume is not None else None
        return quantity.quantity if isinstance(quantity, several_maps.MapQuantity) else given

    def seriesText(self, parameters) -> str:
        """How many series the export writes, for the preview."""
        maps = len(self.volumes(parameters))
        perMap = 2 if parameters.exportMode.value == "mr+pm" else 1
        return _("{maps} maps: {series} series are written into one study.").format(maps=maps, series=maps * perMap)

    # --- why the maps cannot be exported together

    def problem(self, parameters, given, encoding: dict) -> str:
        """Why the maps cannot be exported together (empty when they can): maps under different studies, a map whose
        quantity is not known or cannot make a Parametric Map, an other map's values; cached on what it depends on.
        """
        from FAExportLib import FAExportError

        try:
            several_maps.studyVolume(self.volumes(parameters))
        except FAExportError as error:
            return _("Cannot export: {error}").format(error=inPanelWords(self.ui, error))
        quantities = self.quantities(parameters, given)
        for _node, quantity in quantities:
            if not isinstance(quantity, several_maps.MapQuantity):
                return _("Cannot export: {error}").format(error=inPanelWords(self.ui, quantity))
        if "pm" in encoding["mode"]:
            problem = self.parametricMapProblem(quantities)
            if problem:
                return problem
        return self.othersPreview(parameters, quantities[1:], encoding)[1]

    def parametricMapProblem(self, quantities) -> str:
        """A map whose quantity a Parametric Map cannot carry (no code, no unit), in the panel's words."""
        from FAExportLib import FAExportError
        from FAExportLib.pipeline import resolve_quantity
        from FAExportLib.pm import check_quantity

        for node, quantity in quantities:
            try:
                check_quantity(resolve_quantity(quantity.quantity, quantity_code=None, unit=None, method=None))
            except (FAExportError, ValueError) as error:
                return _('Cannot export "{map}": {error}').format(map=node.GetName(), error=inPanelWords(self.ui, error))
        return ""

    def othersPreview(self, parameters, quantities, encoding: dict) -> "tuple[list[str], str]":
        """(the other maps' previews, each line after the map's name; why one of them cannot be exported), cached on
        what it depends on.
        """
        key = (tuple((node.GetID(), self.voxelsTime(node), str(quantity.quantity)) for node, quantity in quantities), tuple(sorted(encoding.items())))
        if key != self.previewKey:
            from FAExportLib import FAExportError

            lines, reason = [], ""
            for node, quantity in quantities:
                try:
                    checked = self.logic.preview(node, quantity=quantity.quantity, **encoding)
                except FAExportError as error:
                    reason = _('Cannot export "{map}": {error}').format(map=node.GetName(), error=inPanelWords(self.ui, error))
                    break
                lines.extend(f"{node.GetName()}: {line}" for line in previewText(checked, encoding["mode"], encoding.get("profile"), trapDetails=False).split("\n"))
            self.previewState = (lines, reason)
            self.previewKey = key
        return self.previewState

    @staticmethod
    def voxelsTime(node) -> int:
        """When the node's voxels last changed (new image data, or voxels edited in place)."""
        imageData = node.GetImageData()
        scalars = imageData.GetPointData().GetScalars() if imageData is not None else None
        return max(imageData.GetMTime() if imageData is not None else 0, scalars.GetMTime() if scalars is not None else 0)

    def previewText(self, parameters, given, encoding: dict, mainText: str) -> str:
        """The preview of several maps: each map's (the scalar map's is ``mainText``), each line after the map's name,
        then how many series are written.
        """
        quantities = [(node, quantity) for node, quantity in self.quantities(parameters, given)[1:] if isinstance(quantity, several_maps.MapQuantity)]
        main = [f"{parameters.inputVolume.GetName()}: {line}" for line in mainText.split("\n")]
        return "\n".join([*main, *self.othersPreview(parameters, quantities, encoding)[0], self.seriesText(parameters)])

    # --- the logic's options

    def restricted(self, options: dict) -> dict:
        """The panel's options for several maps: no series description, and no quantity code or unit besides the
        quantity they define ("other"), which FAExportLib would refuse or apply to some maps only.
        """
        metadata = {name: value for name, value in (options.get("metadata") or {}).items() if name != "series_description"}
        kept = {name: value for name, value in options.items() if name not in ("quantityCode", "unit", "metadata")}
        return {**kept, "metadata": metadata or None}
