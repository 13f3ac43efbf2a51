"""CTK's own ctkDICOMDatabase and ctkDICOMIndexer (CTK 5056664a, the revision Slicer 5.12.3 pins), for the tests.

``from ctk_dicom_core import ctkDICOMDatabase, ctkDICOMIndexer`` builds the binding on first use
(ctk_dicom_build.py; Testing/Harness/ctk_dicom holds its CMakeLists and the pybind11 code) and imports it.

One Qt in the process, as in Slicer where the database and the panel share the application's Qt: PyQt5's QtCore, QtGui
and QtSql are imported first, so the module's libQt5Core.so.5 and libQt5Sql.so.5 resolve to the libraries PyQt5
loaded (the PyQt5-Qt5 wheel's), never to Debian's copies of the same sonames; ``loaded_qt_core_libraries()`` says
which files are mapped, for the test that checks it. QSqlDatabase's SQLite driver is then PyQt5's plugin
(PyQt5's qt.conf names its plugin folder).
"""

import sys

import ctk_dicom_build
from PyQt5 import QtCore, QtGui, QtSql  # noqa: F401 -- loaded before the binding: see the module's docstring

_folder = str(ctk_dicom_build.ensure_built())
if _folder not in sys.path:
    sys.path.insert(0, _folder)

from _ctkDICOMCore import ctkDICOMDatabase, ctkDICOMIndexer  # noqa: E402 -- after the build and PyQt5

__all__ = ["ctkDICOMDatabase", "ctkDICOMIndexer", "loaded_qt_core_libraries"]


def loaded_qt_core_libraries() -> set[str]:
    """The files mapped into this process under the name libQt5Core.so.5 (one, PyQt5's, when all is well)."""
    with open("/proc/self/maps") as maps:
        return {line.split()[-1] for line in maps if line.rstrip().endswith("libQt5Core.so.5")}
