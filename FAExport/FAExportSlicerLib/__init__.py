"""FAExport's Slicer-bound helpers: scene, database, requirements, result and the panel's sections.

FAExport.py keeps the module, its parameter node, the panel's wiring and the logic's public methods; this package holds
what they call, one concern per file, as Slicer keeps a module's helpers in a sibling package (DICOMLib, DataProbeLib).
Unlike FAExportLib (the encoder, which never imports Slicer), these files may import slicer, qt, ctk and vtk.

Slicer imports FAExport.py when it starts, and with it the files FAExport.py imports at module scope: those import
numpy, pydicom and FAExportLib only inside the functions that use them. The panel's section files import qt, so only
the panel imports them (qt does not exist outside the application).
"""

import importlib
import sys

# Every file of this package, each after those it imports: the order in which a reload must run them.
MODULES = (
    "i18n", "field_names", "options", "parameters", "requirements", "labels", "result", "database", "scene", "several_maps",
    "export", "without_application", "progress", "quantity_section", "study_section", "encoding_section",
    "output_section", "send_section", "several_maps_section",
)  # fmt: skip


def reloadHelpers() -> list[str]:
    """Run again every file of this package that is loaded, dependencies first; returns their names.

    Slicer's Reload (ScriptedLoadableModuleWidget.onReload -> slicer.util.reloadScriptedModule in Base/Python/slicer/
    util.py) runs only the module's own file again: without this, a helper edited during development would stay stale.
    """
    reloaded = []
    for name in MODULES:
        module = sys.modules.get(f"{__name__}.{name}")
        if module is not None:
            importlib.reload(module)
            reloaded.append(name)
    return reloaded
