"""What stands in for Slicer's module machinery when FAExport.py is imported outside the application.

PyPI slicer-core and PythonSlicer have MRML but neither Qt nor slicer.ScriptedLoadableModule. Only FAExportLogic is used
there, so the module's base classes are empty classes and the parameter node is a plain class. FAExport.py tells the
two cases apart by slicer.app (set only inside the application), never by catching ImportError.
"""

ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget, VTKObservationMixin = (
    type(name, (), {}) for name in ("ScriptedLoadableModule", "ScriptedLoadableModuleLogic", "ScriptedLoadableModuleTest", "ScriptedLoadableModuleWidget", "VTKObservationMixin")
)


def parameterNodeWrapper(cls):
    return cls


def WithinRange(minimum, maximum):  # noqa: N802 -- Slicer's name
    return None
