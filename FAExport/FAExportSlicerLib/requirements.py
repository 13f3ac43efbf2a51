"""What FAExport needs around it: the Slicer release and the library of a send protocol.

Slicer 5.12 bundles pydicom 3.0.2 and has slicer.packaging; pynetdicom (C-STORE) is installed on demand, after asking
the user (Resources/requirements-send.txt).
"""

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import slicer
import slicer.util

if TYPE_CHECKING:
    from FAExportLib.send import DimseDestination, StowDestination

# Slicer releases FAExport runs on: 5.12 bundles pydicom 3.0.2 and highdicom 0.27 and has slicer.packaging (5.11+).
# Slicer 5.10 bundles pydicom 2.4 (no pydicom.pixels, which FAExportLib needs) and has neither.
MINIMUM_SLICER_VERSION = (5, 12)
RESOURCES_FOLDER = Path(__file__).resolve().parents[1] / "Resources"  # next to this package, in a checkout and installed
SEND_REQUIREMENTS_FILE = RESOURCES_FOLDER / "requirements-send.txt"
# Sending: protocol -> (module, pip requirement). Slicer bundles dicomweb-client; pynetdicom is installed on demand.
SEND_LIBRARIES = {"dimse": ("pynetdicom", "pynetdicom>=2.1"), "stow": ("dicomweb_client", "dicomweb-client>=0.59")}


def slicerVersionProblem() -> str | None:
    """Why this Slicer cannot run FAExport (None when it can, or outside the application)."""
    if not hasattr(slicer, "app"):
        return None
    version = (int(slicer.app.majorVersion), int(slicer.app.minorVersion))
    if version >= MINIMUM_SLICER_VERSION:
        return None
    return (
        f"FAExport needs 3D Slicer {MINIMUM_SLICER_VERSION[0]}.{MINIMUM_SLICER_VERSION[1]} or later; this is Slicer {version[0]}.{version[1]}, "
        "whose bundled pydicom is too old and which has no slicer.packaging. Install the current Slicer release to use FAExport."
    )


def ensureSendLibrary(destination: "DimseDestination | StowDestination") -> None:
    """Make the library for ``destination`` importable: pynetdicom is installed on demand, after asking the user."""
    from FAExportLib.send import SendError

    module, requirement = SEND_LIBRARIES[destination.protocol]
    try:
        importlib.import_module(module)
        return
    except ImportError:
        pass
    how = f"install it once from Slicer's Python console: slicer.packaging.pip_install('{requirement}')"
    mainWindow = slicer.util.mainWindow() if hasattr(slicer, "app") else None
    if mainWindow is None:  # batch mode or plain Python: nobody to ask
        raise SendError(f"sending with {'C-STORE' if destination.protocol == 'dimse' else 'STOW-RS'} needs the Python package {requirement}; {how}")
    from slicer import packaging  # Slicer 5.11+, imported by FAExport.py at start-up (slicer/__init__.py does not)

    try:
        packaging.pip_ensure(packaging.load_requirements(str(SEND_REQUIREMENTS_FILE)), requester="FAExport")  # shows a confirmation first
    except RuntimeError:
        raise SendError(f"installing {requirement} was declined, so nothing was sent; the series are kept (or {how})") from None
    importlib.import_module(module)
