"""``Slicer --no-main-window --python-script SCRIPT -- ARGS`` for tests: the script runs inside the harness application's
event loop as Slicer runs it, and the process ends only when something asks the application to exit.

    python -c "import slicer_python_script; slicer_python_script.launch()" SCRIPT ARGS...

What Slicer v5.12.3 does, and this models:
- Applications/SlicerApp/Main.cxx:64 and Base/QTApp/qSlicerApplicationHelper.hxx:339: the command line is handled from
  a zero-timer once the event loop runs (``app.exec()``).
- Base/QTCore/qSlicerCoreApplication.cxx:1276-1300: ``sys.argv`` is the script and the arguments Slicer did not parse
  (those after ``--``, the ignore-rest flag of qSlicerCoreCommandOptions.cxx:405).
- qSlicerCoreApplication.cxx:1378-1383 -> CTK Libs/Scripting/Python/Core/ctkAbstractPythonManager.cpp:324-348
  (executeFile): the script's folder first on ``sys.path`` while it runs, ``__file__`` set, the source ``exec``-ed in
  the main module's globals (so ``__name__ == "__main__"``).
- PythonQt::handleError (commontk/PythonQt, src/PythonQt.cpp): an exception is printed (PyErr_Print) and the application
  goes on. SystemExit, with the handler Slicer enables (qSlicerCoreApplication.cxx:491-492), is turned into
  ``terminate(code)`` (:2164-2170, i.e. ``exit(code)``), the code as Python's handle_system_exit computes it.
- qSlicerCoreApplication.cxx:1396-1399: after the script the application exits by itself only with runPythonAndExit,
  which ``--python-script`` does not set (qSlicerCoreCommandOptions.cxx:111-137 sets it for a first argument ending
  in .py, or -c). So a script that neither exits nor is stopped leaves Slicer running: here, a test's timeout.
- qSlicerCoreApplication::exec (:1089-1100): the status is the event loop's, or terminate()'s code.

- Modules/Scripted/DICOM/DICOM.py initializeDICOMDatabase (on startupCompleted, with --no-main-window too): with
  ``SLICER_DOCUMENTS=FOLDER`` in the environment, ``slicer.dicomDatabase`` is CTK's own database, opened in
  ``FOLDER/SlicerDICOMDatabase`` when that exists (``slicer_app.initializeDICOMDatabase``); without it there is none.

``SLICER_VERSION=5.10`` in the environment makes the application another release (``slicer.app.majorVersion``...).
``SLICER_SCRIPT_REPORT=PATH`` writes, for the test to check how the script ended, a JSON object: ``exitRequests`` (the
statuses given to ``slicer.app.exit``, which ``slicer.util.exit`` calls), ``systemExit`` (the code of a SystemExit that
ended the script, else null), ``uncaughtExceptions`` (the exceptions PythonQt would have printed) and ``status``.
"""

import json
import os
import sys
import traceback
from pathlib import Path


def systemExitCode(error: SystemExit) -> int:
    """The status Python's handle_system_exit gives (PythonQt's custom_system_exit_exception_handler copies it)."""
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code
    print(error.code, file=sys.stderr)
    return 1


def launch() -> None:
    """Run ``sys.argv[1]`` with ``sys.argv[2:]`` as Slicer runs a --python-script; exit with Slicer's status."""
    import slicer_app
    from PyQt5 import QtCore

    script, arguments = sys.argv[1], sys.argv[2:]
    slicer = slicer_app.install()
    app = slicer.app
    if os.environ.get("SLICER_DOCUMENTS"):
        slicer_app.initializeDICOMDatabase(os.environ["SLICER_DOCUMENTS"])
    if os.environ.get("SLICER_VERSION"):
        app.setVersion(*(int(part) for part in os.environ["SLICER_VERSION"].split(".")[:2]))
    report = {"exitRequests": [], "systemExit": None, "uncaughtExceptions": [], "status": None}
    returnCode = []  # qSlicerCoreApplicationPrivate::ReturnCode, set by terminate()
    applicationExit = app.exit

    def recordedExit(status: int = 0) -> None:  # QCoreApplication::exit, observed
        report["exitRequests"].append(status)
        applicationExit(status)

    app.exit = recordedExit

    def executeFile() -> None:
        sys.argv = [script, *arguments]
        folder = str(Path(script).absolute().parent)
        sys.path.insert(0, folder)
        globals_ = sys.modules["__main__"].__dict__
        try:
            globals_["__file__"] = script
            with open(script) as source:
                exec(source.read(), globals_)
        except SystemExit as error:
            report["systemExit"] = status = systemExitCode(error)
            returnCode[:] = [status]
            applicationExit(status)
        except BaseException as error:  # PyErr_Print, and the event loop goes on
            traceback.print_exc()
            report["uncaughtExceptions"].append(type(error).__name__)
        finally:
            if folder in sys.path:
                sys.path.remove(folder)
        sys.stdout.flush()
        sys.stderr.flush()

    QtCore.QTimer.singleShot(0, executeFile)
    status = app.exec_()
    if status == 0 and returnCode:
        status = returnCode[0]
    report["status"] = status
    if os.environ.get("SLICER_SCRIPT_REPORT"):
        Path(os.environ["SLICER_SCRIPT_REPORT"]).write_text(json.dumps(report))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # the application's exit status, without tearing down Qt and VTK from Python
