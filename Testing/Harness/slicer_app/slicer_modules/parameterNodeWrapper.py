"""``slicer.parameterNodeWrapper`` stand-in, modelled on Slicer v5.12.3 Base/Python/slicer/parameterNodeWrapper/.

Kept (wrapper.py, serializers.py, validators.py, guiConnectors.py): the decorator turns annotated class fields into
properties stored in the wrapped ``vtkMRMLScriptedModuleNode`` (str/int/float/bool/Path/Enum as parameters, the Enum
by member name; MRML nodes as node references, checked against the annotated class); validators run on every write
and raise ``ValueError`` (``WithinRange``: "Value must be within range [a, b], is v"); ``connectGui(gui)`` binds every
widget whose dynamic property ``SlicerParameterName`` names a field, writes the values into the widgets, writes a
widget's changes back (a validator's error then propagates out of the widget's signal, as in Slicer) and rewrites all
widgets on every ModifiedEvent of the node; ``disconnectGui(tag)``; ``AddObserver``/``RemoveObserver`` forward to the
node. Connectors are chosen by exact widget type as Slicer's are (``type(widget) == qt.QDoubleSpinBox`` ...); the
float connector sets the spin box range from ``WithinRange`` (overriding the ``.ui``), unbounded without one.
``list[X]`` fields as serializers.py's ListSerializer stores them: the length in the parameter ``<name>.len``, each
element as an X field named ``<name>.<index>`` (a node as the node reference of that role, with an empty parameter of
that name, as NodeSerializer writes it), elements beyond a shorter list removed; one write is one ModifiedEvent
(slicer.util.NodeModify); a node removed from the scene reads as None. No GUI connector takes a list.
Not modelled: parameter packs, caching, ``Default``/``Choice`` GUIs beyond the combo box, GUI creation, and the
ObservedList a list field reads as in Slicer (here a plain list: assign the whole list to change it).
"""

import enum
import pathlib
import typing

import ctk
import qt
import slicer
import vtk

SlicerParameterNamePropertyName = "SlicerParameterName"


class Validator:
    def validate(self, value) -> None:
        raise NotImplementedError


class WithinRange(Validator):
    def __init__(self, minimum, maximum):
        self.minimum, self.maximum = minimum, maximum

    def validate(self, value) -> None:
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"Value must be within range [{self.minimum}, {self.maximum}], is {value}")


class Minimum(Validator):
    def __init__(self, minimum):
        self.minimum = minimum

    def validate(self, value) -> None:
        if value < self.minimum:
            raise ValueError(f"Value must be greater than or equal to {self.minimum}, is {value}")


class Maximum(Validator):
    def __init__(self, maximum):
        self.maximum = maximum

    def validate(self, value) -> None:
        if value > self.maximum:
            raise ValueError(f"Value must be less than or equal to {self.maximum}, is {value}")


class Decimals:
    def __init__(self, value: int):
        self.value = value


def _split(annotation):
    if typing.get_origin(annotation) is typing.Annotated:
        return annotation.__origin__, list(annotation.__metadata__)
    return annotation, []


def _isNodeType(datatype) -> bool:
    return isinstance(datatype, type) and issubclass(datatype, slicer.vtkMRMLNode)


def _listElement(datatype):
    """The element annotation of ``list[X]``, or None for any other type."""
    return typing.get_args(datatype)[0] if typing.get_origin(datatype) is list else None


class _Field:
    def __init__(self, name, annotation, default):
        self.name = name
        self.type, self.annotations = _split(annotation)
        self.validators = [a for a in self.annotations if isinstance(a, Validator)]
        self.default = default
        self.element = _listElement(self.type)

    def isIn(self, node) -> bool:
        names = node.GetParameterNames() or ()
        return f"{self.name}.len" in names if self.element is not None else self.name in names

    def _elementField(self, index: int) -> "_Field":
        return _Field(f"{self.name}.{index}", self.element, None)

    def _length(self, node) -> int:
        return int(node.GetParameter(f"{self.name}.len")) if self.isIn(node) else 0

    def _readList(self, node) -> list:
        return [self._elementField(index).read(node) for index in range(self._length(node))]

    def _writeList(self, node, values) -> None:
        """ListSerializer.write: each element, the new length, then the elements beyond it removed; one ModifiedEvent."""
        values = list(values)
        wasModifying = node.StartModify()
        try:
            oldLength = self._length(node)
            for index, value in enumerate(values):
                self._elementField(index).write(node, value)
            node.SetParameter(f"{self.name}.len", str(len(values)))
            for index in range(len(values), oldLength):
                node.UnsetParameter(f"{self.name}.{index}")
                node.RemoveNodeReferenceIDs(f"{self.name}.{index}")
        finally:
            node.EndModify(wasModifying)

    def read(self, node):
        if self.element is not None:
            return self._readList(node)
        if _isNodeType(self.type):
            return node.GetNodeReference(self.name)
        if not node.GetParameterNames() or self.name not in node.GetParameterNames():
            self.write(node, self.default)
        text = node.GetParameter(self.name)
        if isinstance(self.type, type) and issubclass(self.type, enum.Enum):
            return self.type[text]
        if self.type is bool:
            return text == "True"
        return self.type(text)

    def write(self, node, value) -> None:
        for validator in self.validators:
            validator.validate(value)
        if self.element is not None:
            self._writeList(node, value)
        elif _isNodeType(self.type):
            if value is not None and not isinstance(value, self.type):
                raise ValueError(f"Expected type {self.type.__name__}, got {type(value).__name__}")
            if "." in self.name:  # a list element: NodeSerializer.write also sets an empty parameter of its name
                node.SetParameter(self.name, "")
            node.SetNodeReferenceID(self.name, value.GetID() if value is not None else None)
        elif isinstance(value, enum.Enum):
            node.SetParameter(self.name, value.name)
        else:
            node.SetParameter(self.name, str(self.type(value)))


class _Connector:
    """One widget <-> one field, by exact widget type (guiConnectors.py)."""

    def __init__(self, widget, field: _Field):
        self.widget, self.field, self.callback = widget, field, None
        kind = type(widget)
        if kind is qt.QDoubleSpinBox and field.type in (float, int):
            withinRange = next((a for a in field.annotations if isinstance(a, WithinRange)), None)
            decimals = next((a for a in field.annotations if isinstance(a, Decimals)), None)
            if decimals is not None:
                widget.decimals = decimals.value
            widget.minimum = withinRange.minimum if withinRange else float("-inf")
            widget.maximum = withinRange.maximum if withinRange else float("inf")
            self.signal, self.read, self.write = "valueChanged(double)", lambda: widget.value, self._setValue
        elif kind is qt.QSpinBox and field.type is int:
            self.signal, self.read, self.write = "valueChanged(int)", lambda: widget.value, self._setValue
        elif kind is qt.QCheckBox and field.type is bool:
            self.signal, self.read, self.write = "toggled(bool)", lambda: widget.checked, lambda v: setattr(widget, "checked", v)
        elif kind is qt.QLineEdit and field.type is str:
            self.signal, self.read, self.write = "textChanged(QString)", lambda: widget.text, self._setText
        elif kind is qt.QComboBox and isinstance(field.type, type) and issubclass(field.type, enum.Enum):
            label = getattr(field.type, "label", lambda member: member.name)
            self.members = list(field.type)
            widget.clear()
            for member in self.members:
                widget.addItem(label(member))
            self.signal, self.read, self.write = "currentIndexChanged(int)", lambda: self.members[widget.currentIndex], self._setEnum
        elif kind is ctk.ctkPathLineEdit and field.type in (pathlib.Path, pathlib.PosixPath, pathlib.PurePath):
            self.signal, self.read, self.write = "currentPathChanged(QString)", lambda: field.type(widget.currentPath), lambda v: setattr(widget, "currentPath", str(v))
        elif kind is slicer.qMRMLNodeComboBox and _isNodeType(field.type):
            widget.nodeTypes = [field.type.__name__]
            self.signal, self.read, self.write = "currentNodeChanged(vtkMRMLNode*)", widget.currentNode, widget.setCurrentNode
        else:
            raise RuntimeError(f"Unable to create GUI connector from datatype '{field.type}' to widget type '{kind.__name__}'")

    def _setValue(self, value):
        self.widget.value = value

    def _setText(self, value):
        if self.widget.text != value:
            self.widget.text = value

    def _setEnum(self, value):
        self.widget.currentIndex = self.members.index(value)

    def onChanged(self, callback) -> None:
        if self.callback is not None:
            self.widget.disconnect(self.signal, self.callback)
        self.callback = callback
        if callback is not None:
            self.widget.connect(self.signal, callback)


class _Wrapper:
    _fields: dict

    def __init__(self, parameterNode):
        object.__setattr__(self, "parameterNode", parameterNode)
        object.__setattr__(self, "_guis", {})
        object.__setattr__(self, "_nextTag", 0)
        object.__setattr__(self, "_updatingGui", False)
        for field in self._fields.values():
            if not _isNodeType(field.type) and not field.isIn(parameterNode):
                field.write(parameterNode, field.default)

    def __getattr__(self, name):
        if name in self._fields:
            return self._fields[name].read(self.parameterNode)
        raise AttributeError(name)

    def __setattr__(self, name, value):
        if name not in self._fields:
            raise AttributeError(f"{type(self).__name__} has no parameter {name!r}")
        self._fields[name].write(self.parameterNode, value)

    def getValue(self, name):
        return getattr(self, name)

    def setValue(self, name, value):
        setattr(self, name, value)

    def AddObserver(self, event, callback, priority=0.0):  # noqa: N802 -- VTK's name
        return self.parameterNode.AddObserver(event, callback, priority)

    def RemoveObserver(self, tag):  # noqa: N802 -- VTK's name
        self.parameterNode.RemoveObserver(tag)

    def StartModify(self):  # noqa: N802
        return self.parameterNode.StartModify()

    def EndModify(self, wasModified):  # noqa: N802
        return self.parameterNode.EndModify(wasModified)

    def Modified(self):  # noqa: N802
        self.parameterNode.Modified()

    def connectGui(self, gui) -> int:
        widgets = gui.findChildren(qt.QWidget) if hasattr(gui, "isWidgetType") else list(vars(gui).values())
        bound = {w.property(SlicerParameterNamePropertyName): w for w in widgets if w.property(SlicerParameterNamePropertyName)}
        connectors = {name: _Connector(widget, self._fields[name]) for name, widget in bound.items()}
        tag = self._nextTag
        object.__setattr__(self, "_nextTag", tag + 1)
        for name, connector in connectors.items():
            connector.write(getattr(self, name))
            connector.onChanged(self._guiToParameter(name, connector))
        observer = self.parameterNode.AddObserver(vtk.vtkCommand.ModifiedEvent, lambda caller, event: self._updateGui())
        self._guis[tag] = (connectors, observer)
        return tag

    def disconnectGui(self, tag) -> None:
        connectors, observer = self._guis.pop(tag, ({}, None))
        for connector in connectors.values():
            connector.onChanged(None)
        if observer is not None:
            self.parameterNode.RemoveObserver(observer)

    def _guiToParameter(self, name, connector):
        def callback(*unused):
            if self._updatingGui:
                return
            wasModifying = self.parameterNode.StartModify()
            try:
                setattr(self, name, connector.read())
            finally:
                self.parameterNode.EndModify(wasModifying)

        return callback

    def _updateGui(self) -> None:
        if self._updatingGui:
            return
        object.__setattr__(self, "_updatingGui", True)
        try:
            for connectors, _ in self._guis.values():
                for name, connector in connectors.items():
                    connector.write(getattr(self, name))
        finally:
            object.__setattr__(self, "_updatingGui", False)


def parameterNodeWrapper(classtype=None):
    def wrap(cls):
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = {}
        for name, annotation in hints.items():
            default = getattr(cls, name, None)
            baseType, _ = _split(annotation)
            if default is None and not _isNodeType(baseType):
                default = {str: "", int: 0, float: 0.0, bool: False}.get(baseType, None)
                if default is None and isinstance(baseType, type) and issubclass(baseType, enum.Enum):
                    default = next(iter(baseType))
                if default is None and baseType in (pathlib.Path,):
                    default = pathlib.Path()
                if default is None and _listElement(baseType) is not None:
                    default = []
            fields[name] = _Field(name, annotation, default)
        namespace = {"_fields": fields, "__doc__": cls.__doc__, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
        namespace.update({k: v for k, v in vars(cls).items() if callable(v) and not k.startswith("__")})
        return type(cls.__name__, (_Wrapper,), namespace)

    return wrap if classtype is None else wrap(classtype)
