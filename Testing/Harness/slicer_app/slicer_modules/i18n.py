"""``slicer.i18n`` stand-in (Slicer v5.12.3 Base/Python/slicer/i18n.py): ``tr`` and ``translate`` return the source text.

Real Slicer looks the text up in the installed translation for the caller's context; with no translation installed
(the default, English) it returns the text unchanged, which is what this does.
"""

CALLS: list[tuple[str, str]] = []


def translate(context: str, text: str) -> str:
    CALLS.append((context, text))
    return text


def tr(text: str) -> str:
    CALLS.append(("", text))
    return text
