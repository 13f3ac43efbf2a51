"""A small Slicer application for tests: real Qt (PyQt5, offscreen) + real MRML (PyPI slicer-core), no Slicer.

``install()`` makes ``import qt``, ``import ctk``, ``slicer.app``, ``slicer.mrmlScene``, ``slicer.modules``,
``slicer.qMRMLWidget``, ``slicer.qMRMLNodeComboBox``, ``slicer.qMRMLCheckableNodeComboBox``, and the submodules ``slicer.i18n``, ``slicer.packaging``,
``slicer.ScriptedLoadableModule`` and ``slicer.parameterNodeWrapper`` behave as a scripted module sees them inside
Slicer 5.12, so that the module's unmodified ``.py`` and ``.ui`` run: ``loadModule(path)`` discovers a module file
as Slicer does (module class -> ``slicer.modules.<name>``, ``slicer.modules.<Name>Instance``), and
``moduleWidget(name)`` makes its panel the way qSlicerScriptedLoadableModuleWidget does (``<Name>Widget(parent)``,
``setup()``, ``enter()``). ``slicer.util`` is slicer-core's copy of Slicer's own util.py, running on this ``qt``.

Faithful where the module depends on it (each file cites the Slicer/CTK source it models):
- ``qt``: PyQt5 with PythonQt's idioms (see qt.py);
- ``slicer.app`` (qSlicerApplication): ``testingEnabled()``, ``processEvents()``, override cursors,
  ``majorVersion``/``minorVersion``, ``temporaryPath``, ``startupCompleted()``; no main window, so
  ``slicer.util.errorDisplay`` only logs, as in Slicer with ``--no-main-window``;
- ``slicer.packaging`` exists but is not an attribute of ``slicer`` until imported (Slicer's ``slicer/__init__.py``
  does not import it).
Not modelled: PythonQt conversions, CTK's real widgets, the DICOM module and its browser, module discovery by
Slicer's factories, the main window, rendering.
"""

import os
import sys
import tempfile
import types
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_installed = {}
_application = []
_loadedModules: list[str] = []
_SUBMODULES = ("i18n", "packaging", "ScriptedLoadableModule", "parameterNodeWrapper")
qSlicerScriptedLoadableModuleWidget = None  # set by install()


def install():
    """Set up the application (idempotent); returns ``slicer``. ``uninstall()`` returns ``slicer`` to plain slicer-core."""
    if _installed:
        return _installed["slicer"]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="slicer_app-runtime-"))
    from . import qt

    sys.modules["qt"] = qt
    from . import ctk

    sys.modules["ctk"] = ctk
    from PyQt5 import QtCore, QtWidgets

    import slicer
    import slicer.util  # imported by Slicer's start-up (slicerqt.py)
    from . import qmrml

    app = application()
    app.setTestingEnabled(False)
    app.setVersion(5, 12)
    slicer.app = app
    slicer.mrmlScene = slicer.vtkMRMLScene()
    slicer.qMRMLWidget = qmrml.qMRMLWidget
    slicer.qMRMLNodeComboBox = qmrml.qMRMLNodeComboBox
    slicer.qMRMLCheckableNodeComboBox = qmrml.qMRMLCheckableNodeComboBox
    global qSlicerScriptedLoadableModuleWidget
    qSlicerScriptedLoadableModuleWidget = _scriptedModuleWidgetClass(slicer, qmrml)
    slicer.qSlicerScriptedLoadableModuleWidget = qSlicerScriptedLoadableModuleWidget
    slicer.modules = types.ModuleType("slicer.modules")
    sys.modules["slicer.modules"] = slicer.modules
    # The Slicer-only submodules: importable as slicer.X, but (like in Slicer) attributes only once imported.
    slicer.__path__.append(str(_HERE / "slicer_modules"))
    _installed["slicer"] = slicer
    return slicer


def application():
    """Slicer's application object (qSlicerApplication), created once per process (Qt allows one): ``install()`` uses
    it, and so do tests that need only a Qt application, such as CTK's indexer, which waits in a QEventLoop.
    """
    if _application:
        return _application[0]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="slicer_app-runtime-"))
    from PyQt5 import QtCore, QtWidgets

    settingsFolder = tempfile.mkdtemp(prefix="slicer_app-settings-")
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.IniFormat)
    QtCore.QSettings.setPath(QtCore.QSettings.IniFormat, QtCore.QSettings.UserScope, settingsFolder)

    class qSlicerApplication(QtWidgets.QApplication):  # noqa: N801 -- Slicer's class name
        """The parts of qSlicerApplication (Base/QTGUI/qSlicerApplication.h, Base/QTCore/qSlicerCoreApplication.h) modules use."""

        startupCompleted = QtCore.pyqtSignal()

        def __init__(self):
            super().__init__(["SlicerApp-real"])
            self._testing = False
            self._major, self._minor = 5, 12
            self._temporaryPath = tempfile.mkdtemp(prefix="slicer_app-temp-")
            QtCore.QCoreApplication.setApplicationName("Slicer")
            # qSlicerCoreApplication.cxx sets the organization too; QSettings() then opens <organization>/Slicer.ini,
            # here under the temporary settings folder (never the user's own settings).
            QtCore.QCoreApplication.setOrganizationName("slicer.org")
            QtCore.QCoreApplication.setOrganizationDomain("slicer.org")

        def testingEnabled(self) -> bool:
            return self._testing

        def setTestingEnabled(self, enabled: bool) -> None:
            self._testing = bool(enabled)

        def _getMajor(self):
            return self._major

        def _getMinor(self):
            return self._minor

        def setVersion(self, major: int, minor: int) -> None:
            """Harness only: pretend to be another Slicer release."""
            self._major, self._minor = major, minor

        majorVersion = QtCore.pyqtProperty(int, _getMajor)
        minorVersion = QtCore.pyqtProperty(int, _getMinor)
        temporaryPath = QtCore.pyqtProperty(str, lambda self: self._temporaryPath)
        documentationBaseUrl = QtCore.pyqtProperty(str, lambda self: "https://slicer.readthedocs.io/en/5.12")

        def moduleDocumentationUrl(self, moduleName: str) -> str:
            return f"https://slicer.readthedocs.io/en/5.12/user_guide/modules/{moduleName.lower()}.html"

        def commandOptions(self):
            return types.SimpleNamespace(noMainWindow=True, testingEnabled=self._testing)

        def userSettings(self):
            return QtCore.QSettings()

        settings = userSettings

    _application[:] = [qSlicerApplication()]
    return _application[0]


class ScriptedModule:
    """qSlicerScriptedLoadableModule as a scripted module's ``parent`` sees it (Base/QTGUI/qSlicerScriptedLoadableModule.cxx)."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.name = path.stem
        self.title = ""
        self.categories = []
        self.dependencies = []
        self.contributors = []
        self.helpText = ""
        self.acknowledgementText = ""
        self.hidden = False
        self.icon = None
        self._widget = None

    def widgetRepresentation(self):
        if self._widget is None:
            self._widget = qSlicerScriptedLoadableModuleWidget(self)
        return self._widget


def uninstall() -> None:
    """Remove what install() added to ``slicer`` (the QApplication stays: Qt allows one per process)."""
    if not _installed:
        return
    slicer = _installed.pop("slicer")
    for name in ("app", "mrmlScene", "modules", "selfTests", "qMRMLWidget", "qMRMLNodeComboBox", "qMRMLCheckableNodeComboBox", "qSlicerScriptedLoadableModuleWidget", "dicomDatabase", "dicomDatabaseDirectorySettingsKey", *_SUBMODULES):
        if name in vars(slicer):
            delattr(slicer, name)
    for name in ("slicer.modules", *(f"slicer.{submodule}" for submodule in _SUBMODULES)):
        sys.modules.pop(name, None)
    for name in _loadedModules:
        sys.modules.pop(name, None)  # built on the harness' base classes: not for code that runs without the application
    _loadedModules.clear()
    folder = str(_HERE / "slicer_modules")
    if folder in slicer.__path__:
        slicer.__path__.remove(folder)


def _scriptedModuleWidgetClass(slicer, qmrml):
    from PyQt5 import QtCore, QtWidgets

    class qSlicerScriptedLoadableModuleWidget(qmrml.qMRMLWidget):  # noqa: N801 -- Slicer's class name
        """Holds ``<Name>Widget(parent=self)`` and calls its enter()/exit() (Base/QTGUI/qSlicerScriptedLoadableModuleWidget.cxx)."""

        def __init__(self, module):
            super().__init__()
            self._entered = False
            self.setLayout(QtWidgets.QVBoxLayout())
            self.setMRMLScene(slicer.mrmlScene)
            self._self = getattr(sys.modules[module.name], module.name + "Widget")(parent=self)
            self._self.setup()
            setattr(slicer.modules, module.name + "Widget", self._self)

        def self(self):
            return self._self

        def enter(self):
            self._entered = True
            self._self.enter()

        def exit(self):
            self._self.exit()
            self._entered = False

        isEntered = QtCore.pyqtProperty(bool, lambda self: self._entered)

    return qSlicerScriptedLoadableModuleWidget


def initializeDICOMDatabase(documentsFolder) -> None:
    """What the DICOM module does once Slicer has started (Modules/Scripted/DICOM/DICOM.py initializeDICOMDatabase,
    lines 320-358, run on startupCompleted, in batch mode too): ``slicer.dicomDatabase`` is the application's database;
    the folder named by the settings key ``DatabaseDirectory_<schema>`` (stored as ``slicer.dicomDatabaseDirectorySettingsKey``),
    by default ``<Documents>/SlicerDICOMDatabase`` and then written to the settings, is opened; no folder is created,
    so on a fresh profile the database stays closed (QSQLITE cannot create a file in a missing folder).
    ``slicer.dicomDatabase`` is CTK's own ctkDICOMDatabase (Testing/Harness/ctk_dicom_core.py).
    """
    from ctk_dicom_core import ctkDICOMDatabase
    from PyQt5 import QtCore

    import slicer

    database = ctkDICOMDatabase()
    slicer.dicomDatabase = database
    slicer.dicomDatabaseDirectorySettingsKey = "DatabaseDirectory_" + database.schemaVersion()
    settings = QtCore.QSettings()
    folder = settings.value(slicer.dicomDatabaseDirectorySettingsKey)
    if not folder:
        folder = os.path.join(str(documentsFolder), "SlicerDICOMDatabase")
        settings.setValue(slicer.dicomDatabaseDirectorySettingsKey, folder)
    database.openDatabase(folder + "/ctkDICOM.sql")
    if database.isOpen and database.schemaVersionLoaded() != database.schemaVersion():
        database.closeDatabase()


def loadModule(path) -> ScriptedModule:
    """Load a scripted module file as Slicer's scripted module factory does; returns its ``parent`` object."""
    import importlib

    import slicer

    path = Path(path).resolve()
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    sys.modules.pop(path.stem, None)  # imported before the application existed (e.g. by a logic test): import afresh
    pythonModule = importlib.import_module(path.stem)
    _loadedModules.append(path.stem)
    module = ScriptedModule(path)
    instance = getattr(pythonModule, path.stem)(module)
    setattr(slicer.modules, path.stem.lower(), module)
    setattr(slicer.modules, path.stem + "Instance", instance)
    return module
