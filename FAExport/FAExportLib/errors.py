"""Errors raised by FAExportLib, with the structure each interface needs to say them in its own words.

Every error says what was wrong and what to do, and nothing was written. A message is a sequence of parts:
plain text and ``Field`` references to what the user gave or can give (an export option or a metadata field,
optionally with a value to give it). ``str(error)`` renders the fields as the command line names them
(``--unit ms``); the panel renders its field labels (``"Unit" ms``), Slicer's Export-to-DICOM dialog its tag names,
the Python console its keyword arguments, each with ``error.render(label)``: no interface rewrites another's text.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """Something the user gives, named inside a message.

    Attributes:
        name: the option's name in FAExportLib: a field of ``ExportOptions`` or ``ExportMetadata`` (``unit``,
            ``series_number``, ``body_part_examined``) or a sending option (``called_ae``, ``stow_password``).
        value: a value to give it, shown after its label (``ms``, ``VALUE``), or None.

    """

    name: str
    value: str | None = None


Part = str | Field
Label = Callable[[Field], str]

# Command-line options whose name differs from the field's (the rest are --<name with dashes>).
COMMAND_LINE_OPTIONS = {
    "method": "--method-code",
    "body_part_examined": "--body-part",
    "destination_dimse": "--send-dimse",
    "destination_stow": "--send-stow",
    "stow_password": "FAEXPORT_STOW_PASSWORD (or --stow-password)",
    "stow_token": "FAEXPORT_STOW_TOKEN (or --stow-token)",
}


def command_line_label(field: Field) -> str:
    """How the command line (and Slicer's batch script, which takes the same options) names a field: ``--unit ms``."""
    option = COMMAND_LINE_OPTIONS.get(field.name, "--" + field.name.replace("_", "-"))
    return option if field.value is None else f"{option} {field.value}"


def render_parts(parts: Iterable[Part], label: Label) -> str:
    """The text of ``parts`` with each Field named by ``label``."""
    return "".join(part if isinstance(part, str) else label(part) for part in parts)


class Message(str):
    """A message that names fields, outside an error (a send result's line): as a str, the command line's words;
    ``render(label)`` gives another interface's.
    """

    parts: "tuple[Part, ...]"

    def __new__(cls, *parts: Part):
        message = super().__new__(cls, render_parts(parts, command_line_label))
        message.parts = tuple(parts)
        return message

    def render(self, label: Label = command_line_label) -> str:
        """The message with each Field named by ``label``."""
        return render_parts(self.parts, label)


def render(text: str, label: Label = command_line_label) -> str:
    """``text`` in an interface's words: a Message rendered with ``label``, any other str as it is."""
    return text.render(label) if isinstance(text, Message) else text


class FAExportError(Exception):
    """Base class: an export (or a send) that could not be done; nothing was written.

    Args:
        *problem: what was wrong, as text and Field parts.
        remedy: what to do, as text and Field parts (rendered after "; "), if the problem does not already say it.
        field: the field the error is about (default: the first Field named in the problem), for an interface that
            points at it; None when the error is about no single field (the voxels, the output folder).
        value: the offending value, when there is one.

    """

    def __init__(self, *problem: Part, remedy: "tuple[Part, ...] | Part" = (), field: str | None = None, value: object = None):
        self.problem = tuple(problem)
        self.remedy = (remedy,) if isinstance(remedy, str | Field) else tuple(remedy)
        named = [part.name for part in (*self.problem, *self.remedy) if isinstance(part, Field)]
        self.field = field if field is not None else (named[0] if named else None)
        self.value = value
        super().__init__(self.render(command_line_label))

    @property
    def fields(self) -> list[Field]:
        """Every Field the message names, in order."""
        return [part for part in (*self.problem, *self.remedy) if isinstance(part, Field)]

    def render(self, label: Label = command_line_label, remedy: "tuple[Part, ...] | None" = None) -> str:
        """The message with each Field named by ``label``; ``remedy`` replaces the error's own way out (an interface
        that cannot offer the field the remedy names says what it offers instead).
        """
        remedy = self.remedy if remedy is None else remedy
        text = render_parts(self.problem, label)
        return f"{text}; {render_parts(remedy, label)}" if remedy else text

    def in_words(self, label: Label) -> "FAExportError":
        """Make ``str(self)`` say the fields in ``label``'s words (an interface's, for those that print errors as they
        are); the structure stays for the others. Returns the error, to raise or keep.
        """
        self.args = (self.render(label),)
        return self

    def __reduce__(self):
        """Keep the structure when pickled (errors cross process boundaries in batch runs)."""
        return (_rebuild, (type(self), self.problem, self.remedy, self.field, self.value))


def _rebuild(cls, problem, remedy, field, value):
    return cls(*problem, remedy=remedy, field=field, value=value)


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


class SendError(FAExportError):
    """Sending to an archive could not be done as asked (a destination, credentials, or the fallback)."""


class SendInterrupted(SendError):
    """Sending was interrupted (Ctrl+C) after the export was written; the exported series are kept. (A cancel through
    the progress callback is no error: the instances not sent say so in the send's result.)
    """
