"""Slicer's translation functions for the helpers, or the text as it is outside the application.

``_`` is slicer.i18n.tr itself, not a wrapper: tr takes its translation context from its caller's file (slicer/i18n.py,
getContext), so each helper file keeps a context of its own. Outside the application (PyPI slicer-core, PythonSlicer)
there is no slicer.i18n, and the text is returned unchanged.
"""

import slicer

__all__ = ["_", "translate"]

if hasattr(slicer, "app"):
    from slicer.i18n import tr as _
    from slicer.i18n import translate
else:

    def _(text: str) -> str:
        return text

    def translate(context: str, text: str) -> str:
        return text
