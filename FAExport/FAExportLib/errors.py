"""Errors raised by FAExportLib.

Every message says what was wrong and what to do; the command line prints it as one line.
"""


class FAExportError(Exception):
    """Base class: an export that could not be done; nothing was written."""


class InputError(FAExportError):
    """The input volume, its geometry or its metadata cannot be exported as given."""


class ScaleError(InputError):
    """The values do not fit the chosen scale."""


class CoarseScaleError(ScaleError):
    """The values fit the chosen scale, but its step is too coarse for them (see scaling.MIN_LEVELS)."""


class OutputError(FAExportError):
    """The output location cannot receive the series."""


class VerificationError(FAExportError):
    """The series read back differs from the input by more than its bound."""


class ExportCancelled(FAExportError):
    """The user cancelled the export through the progress callback; nothing was written."""


def name_options(message: str, names: "dict[str, str]") -> str:
    """``message`` with each command-line option (``--unit``) replaced by what another interface calls it.

    Messages name the CLI's options; the panel and the export dialog show their own field labels or tag names.
    ``names`` maps option (with its dashes) to the replacement; an option is replaced only as a whole word
    (``--quantity`` does not touch ``--quantity-code``).
    """
    import re

    for option in sorted(names, key=len, reverse=True):
        message = re.sub(re.escape(option) + r"(?![\w-])", lambda _match, name=names[option]: name, message)
    return message
