"""``qt``: PyQt5 with the PythonQt idioms Slicer's Python code relies on (imported as ``qt`` by the harness).

Slicer embeds PythonQt, not PyQt. Code written for Slicer (FAExport.py, slicer.util) uses idioms PyQt does not
have; this module adds them to PyQt5's classes once, in place, so that widgets made by any means (``uic``,
constructors, ``findChildren``) behave alike:

- Qt properties are attributes: ``label.text`` reads the property and ``label.text = "x"`` writes it; a property
  shadows the C++ getter of the same name (``dialog.wasCanceled`` is a bool, as in PythonQt); ``obj.name`` is the
  objectName (PythonQt's alias, used by ``slicer.util.childWidgetVariables``).
- ``obj.connect("clicked(bool)", slot)`` / ``obj.disconnect(...)`` with a C++ signature string; like PythonQt the
  slot gets only as many arguments as it accepts (PythonQt: ``PythonQtSignalReceiver`` counts the callable's args).
- Every QObject is truthy (PyQt makes an empty QComboBox false through ``__len__``; ``slicer.util.findChildren``
  then skips it and ``childWidgetVariables`` loses it).
- An exception raised in a slot is printed and the application goes on, as PythonQt does (PyQt calls qFatal
  unless ``sys.excepthook`` is replaced). The harness records each one in ``SLOT_EXCEPTIONS`` so tests can fail on them.
- ``QUiLoader().load(qfile)`` (QtUiTools, used by ``slicer.util.loadUI``) over ``PyQt5.uic``, with the ``.ui``'s
  custom widget headers mapped to the harness modules and ``mrmlSceneChanged(vtkMRMLScene*)`` connections resolved.

What this cannot prove: PythonQt's own argument and return conversions (e.g. QStringList, QVariant, enums, VTK
object pointers) differ in details; only a real Slicer shows those.
"""

import contextlib
import inspect
import io
import re
import sys
import traceback

from PyQt5 import QtCore, uic
from PyQt5.QtCore import *  # noqa: F403 -- PythonQt's qt module exposes every Qt class at top level
from PyQt5.QtGui import *  # noqa: F403
from PyQt5.QtWidgets import *  # noqa: F403

SLOT_EXCEPTIONS: list[str] = []
_nativeDepth = [0]  # > 0 while PyQt's own Python code (uic) runs: plain PyQt attribute semantics then


@contextlib.contextmanager
def nativePyQt():
    """Plain PyQt semantics inside the block (for PyQt's pure-Python uic loader)."""
    _nativeDepth[0] += 1
    try:
        yield
    finally:
        _nativeDepth[0] -= 1


_originalGetattribute = QtCore.QObject.__getattribute__
_originalDisconnect = QtCore.QObject.disconnect
_originalSetattr = QtCore.QObject.__setattr__


def _propertyIndex(obj, name: str) -> int:
    if name.startswith("_") or _nativeDepth[0]:
        return -1
    return QtCore.QObject.metaObject(obj).indexOfProperty(name)


def _getattribute(self, name):
    index = _propertyIndex(self, name)
    if index >= 0:
        return QtCore.QObject.metaObject(self).property(index).read(self)
    if name == "name" and not _nativeDepth[0]:
        return QtCore.QObject.objectName(self)
    return _originalGetattribute(self, name)


def _setattr(self, name, value):
    index = _propertyIndex(self, name)
    if index >= 0:
        metaProperty = QtCore.QObject.metaObject(self).property(index)
        if not metaProperty.isWritable():
            raise AttributeError(f"property {name} of {type(self).__name__} is read-only")
        if not metaProperty.write(self, value):
            raise TypeError(f"cannot set property {name} of {type(self).__name__} to {value!r}")
        return
    if name == "name" and not _nativeDepth[0]:
        QtCore.QObject.setObjectName(self, value)
        return
    _originalSetattr(self, name, value)


# C++ argument type in a signature string -> the PyQt overload key.
_SIGNATURE_TYPES = {"bool": bool, "int": int, "double": float, "float": float, "QString": str, "const QString&": str, "QStringList": "QStringList"}


def _boundSignal(obj, signature: str):
    match = re.fullmatch(r"\s*(\w+)\s*\((.*)\)\s*", signature)
    if not match:
        raise ValueError(f"not a Qt signal signature: {signature!r}")
    name, arguments = match.group(1), [a.strip() for a in match.group(2).split(",") if a.strip()]
    with nativePyQt():
        signal = getattr(obj, name)
    if not isinstance(signal, QtCore.pyqtBoundSignal):
        raise AttributeError(f"{type(obj).__name__} has no signal {signature}")
    if len(arguments) == 1 and arguments[0] in _SIGNATURE_TYPES:
        with contextlib.suppress(KeyError, TypeError):
            return signal[_SIGNATURE_TYPES[arguments[0]]]
    return signal


def _acceptedArgumentCount(slot) -> int | None:
    try:
        parameters = inspect.signature(slot).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class _SlotAdapter:
    """Call a Python slot with only the leading signal arguments it accepts (PythonQt does so)."""

    def __init__(self, slot):
        self.slot = slot
        self.count = _acceptedArgumentCount(slot)

    def __call__(self, *arguments):
        return self.slot(*(arguments if self.count is None else arguments[: self.count]))


_connections: dict = {}


def _connect(self, signature, slot, *unused):
    if not isinstance(signature, str):
        raise TypeError("connect(signature, slot): give the signal as a C++ signature string, e.g. 'clicked(bool)'")
    adapter = _SlotAdapter(slot)
    _boundSignal(self, signature).connect(adapter)
    _connections.setdefault((id(self), signature), []).append((slot, adapter))
    return True


def _disconnect(self, signature=None, slot=None):
    if not isinstance(signature, str):  # PyQt's own forms: disconnect() / disconnect(connection)
        return _originalDisconnect(self) if signature is None else _originalDisconnect(signature)
    entries = _connections.get((id(self), signature), [])
    for entry in [e for e in entries if slot is None or e[0] == slot]:
        _boundSignal(self, signature).disconnect(entry[1])
        entries.remove(entry)
    return True


def _reportSlotException(exceptionType, value, tb):
    """PythonQt prints the traceback of an exception in a slot and carries on; record it for the tests."""
    text = "".join(traceback.format_exception(exceptionType, value, tb))
    SLOT_EXCEPTIONS.append(text)
    sys.stderr.write(text)


QtCore.QObject.__getattribute__ = _getattribute
QtCore.QObject.__setattr__ = _setattr
QtCore.QObject.__bool__ = lambda self: True
QtCore.QObject.connect = _connect
QtCore.QObject.disconnect = _disconnect
sys.excepthook = _reportSlotException


# Custom widget headers of Slicer's .ui files -> harness modules that define those classes.
_CUSTOM_WIDGET_MODULES = {"ctk": "ctk", "qMRML": "slicer", "qSlicer": "slicer"}


class QUiLoader(QtCore.QObject):
    """QtUiTools' loader as PythonQt exposes it: ``load(QFile)`` returns the widget tree of a Designer file."""

    def load(self, qfile, parentWidget=None):
        if isinstance(qfile, QtCore.QIODevice):
            data = bytes(qfile.readAll())
        else:
            with open(qfile, "rb") as stream:
                data = stream.read()
        text = data.decode("utf-8")
        for prefix, module in _CUSTOM_WIDGET_MODULES.items():
            text = re.sub(rf"<header>{prefix}\w*\.h</header>", f"<header>{module}</header>", text)
        # PyQt registers signals carrying Python objects under the name PyQt_PyObject.
        text = re.sub(r"\((vtk\w+)\*\)", "(PyQt_PyObject)", text)
        with nativePyQt():
            return uic.loadUi(io.StringIO(text), parentWidget)
