"""``slicer.ScriptedLoadableModule`` stand-in, modelled on Slicer v5.12.3 Base/Python/slicer/ScriptedLoadableModule.py.

Behaviour kept because modules depend on it: the module base sets defaults on ``parent`` and registers
``slicer.selfTests[name]``; ``resourcePath`` is ``<module folder>/Resources/<file>``; the widget base, given no
parent, makes a ``qMRMLWidget`` with a ``QVBoxLayout`` and calls ``setup()`` and ``show()`` from ``__init__`` (so a
subclass's ``setup`` runs before the rest of the subclass's ``__init__``); the logic base keeps one singleton
``vtkMRMLScriptedModuleNode`` per module tagged with the module name; the test base is a ``unittest.TestCase``.
Not modelled: the developer section (Reload and Test), module unloading.
"""

import importlib
import logging
import os
import unittest

import qt
import slicer

__all__ = ["ScriptedLoadableModule", "ScriptedLoadableModuleLogic", "ScriptedLoadableModuleTest", "ScriptedLoadableModuleWidget"]


class ScriptedLoadableModule:
    def __init__(self, parent):
        super().__init__()
        self.parent = parent
        self.moduleName = self.__class__.__name__
        parent.title = ""
        parent.categories = []
        parent.dependencies = []
        parent.contributors = []
        parent.helpText = ""
        parent.acknowledgementText = ""
        for extension in (".svg", ".png"):
            iconPath = os.path.join(os.path.dirname(parent.path), "Resources/Icons", self.moduleName + extension)
            if os.path.isfile(iconPath):
                parent.icon = qt.QIcon(iconPath)
                break
        if not hasattr(slicer, "selfTests"):
            slicer.selfTests = {}
        slicer.selfTests[self.moduleName] = self.runTest

    def resourcePath(self, filename):
        return os.path.join(os.path.dirname(self.parent.path), "Resources", filename)

    def getDefaultModuleDocumentationLink(self, docPage=None):
        url = slicer.app.documentationBaseUrl + docPage if docPage else slicer.app.moduleDocumentationUrl(self.moduleName)
        return f'<p>For more information, see the <a href="{url}">online documentation</a>.</p>'

    def runTest(self, msec=100, **kwargs):
        module = importlib.import_module(self.__module__)
        testCase = getattr(module, self.moduleName + "Test")()
        testCase.messageDelay = msec
        testCase.runTest(**kwargs)


class ScriptedLoadableModuleWidget:
    def __init__(self, parent=None):
        super().__init__()
        self.moduleName = self.__class__.__name__
        if self.moduleName.endswith("Widget"):
            self.moduleName = self.moduleName[:-6]
        self.developerMode = False
        if not parent:
            self.parent = slicer.qMRMLWidget()
            self.parent.setLayout(qt.QVBoxLayout())
            self.parent.setMRMLScene(slicer.mrmlScene)
        else:
            self.parent = parent
        self.layout = self.parent.layout()
        if not parent:
            self.setup()
            self.parent.show()

    def resourcePath(self, filename):
        return os.path.join(os.path.dirname(slicer.util.modulePath(self.moduleName)), "Resources", filename)

    def cleanup(self):
        pass

    def setup(self):
        pass

    def onReload(self):
        """Slicer's (Base/Python/slicer/ScriptedLoadableModule.py) calls slicer.util.reloadScriptedModule, which runs the
        module's own file again and rebuilds the widget; recorded here, not done.
        """
        RELOADED_MODULES.append(self.moduleName)


RELOADED_MODULES: list = []


class ScriptedLoadableModuleLogic:
    def __init__(self, parent=None):
        super().__init__()
        self.moduleName = self.__class__.__name__
        if self.moduleName.endswith("Logic"):
            self.moduleName = self.moduleName[:-5]
        self.isSingletonParameterNode = True

    def getParameterNode(self):
        parameterNode = slicer.mrmlScene.GetSingletonNode(self.moduleName, "vtkMRMLScriptedModuleNode")
        if parameterNode:
            if parameterNode.GetAttribute("ModuleName") != self.moduleName:
                parameterNode.SetAttribute("ModuleName", self.moduleName)
            return parameterNode
        return slicer.mrmlScene.AddNode(self.createParameterNode())

    def createParameterNode(self):
        node = slicer.mrmlScene.CreateNodeByClass("vtkMRMLScriptedModuleNode")
        node.UnRegister(None)
        node.SetSingletonTag(self.moduleName)
        node.SetAttribute("ModuleName", self.moduleName)
        node.SetName(slicer.mrmlScene.GenerateUniqueName(self.moduleName))
        return node


class ScriptedLoadableModuleTest(unittest.TestCase):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messageDelay = 0

    def delayDisplay(self, message, requestedDelay=None, msec=None):
        logging.info(message)
        slicer.app.processEvents()

    def runTest(self):
        pass
