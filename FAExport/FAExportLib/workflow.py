"""The one export workflow every interface runs: export (verified), deliver, send, and fall back.

The command line, Slicer's logic (and through it the panel, the batch script and the Export-to-DICOM dialog) all
call ``export_and_send``; the fallback (an archive refused the Parametric Map, so the same values are re-encoded
as SC or MR in the same study and sent instead) exists here only.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from .codes import Code, Quantity
from .errors import FAExportError, Field, Message, SendError, SendInterrupted
from .metadata import ExportMetadata
from .pipeline import ExportResult, MapInput, SeriesResult, export_volumes
from .sources import SourceSeries

FALLBACK_MODES = ("sc", "mr")
Progress = Callable[[str, int], bool]  # (message, files done) -> True to cancel; send.py has its own: it is imported only to send
Deliver = Callable[[list[SeriesResult]], list[SeriesResult]]


@dataclass(frozen=True)
class ExportOptions:
    """What to write, beyond the voxels and their geometry.

    Attributes:
        mode: ``mr`` (int16 MR images, one per slice), ``sc`` (multi-frame Secondary Capture), ``pm`` (float32
            Parametric Map) or ``mr+pm`` (both, one study).
        scale: ``auto`` (finest that fits), ``1000``, ``32000`` or a positive number; stored integer = value x scale.
        quantity: a known quantity's name (FA, MD, T1, ...) or a ``Quantity``.
        quantity_code: the quantity's code instead of the known one's (``Code`` or ``VALUE,SCHEME,MEANING``).
        unit: the unit (a UCUM code such as ``ms``, or a ``Code``) instead of the quantity's.
        method: the measurement method code (Parametric Map).
        metadata: patient, study and series fields; None: an anonymous new study.
        source: the DICOM series the map was computed from: the export joins its patient, study and frame of reference.
        replace_nonfinite: replace NaN/infinite voxels with this value instead of refusing them.
        plain_integers: ``mr``/``sc``: stored = round(value x scale) with RescaleSlope 1, the factor in the description.
        allow_coarse_scale: export even when the scale's step is too coarse for the values (refused by default).
        profile: ``navigation``: classic MR for navigation systems and web viewers (``mr`` only): plain integers at the
            factor of the quantity's unit (``scale`` a number: that factor), a Real World Value Mapping in every file,
            square in-plane pixels only (navigation.py).
        resample_to_source: resample the map onto ``source``'s grid first (trilinear), so that a Parametric Map can be
            overlaid on it in OHIF; the result says how much interpolation changed the values.

    """

    mode: str = "mr"
    scale: str | float = "auto"
    quantity: str | Quantity | None = "FA"
    quantity_code: Code | str | None = None
    unit: Code | str | None = None
    method: Code | str | None = None
    metadata: ExportMetadata | None = None
    source: SourceSeries | None = None
    replace_nonfinite: float | None = None
    plain_integers: bool = False
    allow_coarse_scale: bool = False
    profile: str | None = None
    resample_to_source: bool = False

    def keywords(self) -> dict:
        """The options as ``export_volume``'s keyword arguments."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True)
class Delivery:
    """What ``export_and_send`` did.

    Attributes:
        export: the series written and verified (as ``deliver`` placed them) and the export's warnings.
        sent: what reached the archive, per instance, with any fallback; None when not sending or sending failed.
        send_error: why sending failed after the export succeeded (the export stands), or None.

    """

    export: ExportResult
    sent: "SendResult | None" = None  # noqa: F821 -- send.py is imported only when sending
    send_error: SendError | None = None


def check_fallback_mode(fallback: str) -> None:
    """Refuse a fallback mode that is not one (SendError naming the option)."""
    if fallback not in FALLBACK_MODES:
        raise SendError(Field("fallback"), f" must be one of {', '.join(FALLBACK_MODES)}, not {fallback!r}", value=fallback)


def check_send_request(mode: str, destination, fallback: str | None) -> None:
    """Refuse a fallback that cannot apply, before anything is exported (SendError naming the option)."""
    if fallback is None:
        return
    check_fallback_mode(fallback)
    if "pm" not in mode:
        raise SendError(Field("fallback"), f" replaces a refused Parametric Map; mode {mode} writes none (use ", Field("mode", "pm"), " or mr+pm)", value=fallback)
    if destination is None:
        raise SendError(Field("fallback"), " applies when sending", remedy=("add ", Field("destination_dimse"), " or ", Field("destination_stow")))


def export_and_send(
    array: np.ndarray,
    ijk_to_ras: np.ndarray,
    output_dir: str | Path,
    options: ExportOptions,
    *,
    input_warnings: Sequence[str] = (),
    **keywords,
) -> Delivery:
    """Export ``array[k, j, i]`` with its 4x4 IJK-to-RAS matrix (mm) as ``options`` say, then send it: ``export_maps_and_send``
    for one map, whose other keyword arguments it takes. ``input_warnings`` (from reading its file) come first in the
    result's warnings.
    """
    return export_maps_and_send([MapInput(array, ijk_to_ras, input_warnings=input_warnings)], output_dir, options, **keywords)


def export_maps_and_send(
    maps: Sequence[MapInput],
    output_dir: str | Path,
    options: ExportOptions,
    *,
    destination=None,
    fallback: str | None = None,
    progress: Progress | None = None,
    deliver: Deliver | None = None,
    on_exported: Callable[[ExportResult], None] | None = None,
) -> Delivery:
    """Export ``maps`` (one study: see ``pipeline.export_volumes``) as ``options`` say, then send them to ``destination``.

    Args:
        maps: the maps, each with its voxels, IJK-to-RAS matrix, name, quantity (or None: ``options.quantity``) and warnings.
        output_dir: the folder that receives one new sub-folder per series.
        options: what to write (see ExportOptions).
        destination: a ``send.DimseDestination`` or ``send.StowDestination``, or None to only export.
        fallback: ``sc`` or ``mr``: when the archive refuses the Parametric Map class, export the same values in this
            mode (same study and frame of reference), deliver and send that.
        progress: ``progress(message, done)`` before each file written or sent; returning True cancels.
        deliver: puts each export's series where they belong and returns them as placed there (Slicer's logic adds them
            to its DICOM database); the fallback series are delivered the same way, before they are sent.
        on_exported: called with the export's result once it is written and delivered, before anything is sent (the
            command line reports the export's warnings then, so that what sending warns about is not taken for them).

    Raises FAExportError, with nothing written, when the export cannot be done. A failure while sending raises
    nothing: the export stands, and ``Delivery.send_error`` says what went wrong.

    """
    check_send_request(options.mode, destination, fallback)
    exported = _export(maps, output_dir, options, progress, deliver)
    if on_exported is not None:
        on_exported(exported)
    if destination is None:
        return Delivery(exported)

    def reencode(mode: str, parametric_maps: list[SeriesResult]) -> list[SeriesResult]:
        again = replace(options, mode=mode, metadata=fallback_metadata(options.metadata or ExportMetadata(), parametric_maps[0]))
        refused = {item.input for item in parametric_maps}
        return _export([replace(item, input_warnings=()) for item in maps if item.name in refused], output_dir, again, progress, deliver).series

    try:
        return Delivery(exported, send_series(exported.series, destination, fallback=fallback, reencode=reencode, progress=progress))
    except KeyboardInterrupt:
        return Delivery(exported, send_error=SendInterrupted("interrupted while sending"))
    except ImportError as error:
        return Delivery(exported, send_error=SendError(f"the Python package {error.name or 'pynetdicom or dicomweb-client'} is missing: pip install pynetdicom dicomweb-client"))
    except FAExportError as error:  # a file vanished, the fallback's destination was wrong
        return Delivery(exported, send_error=error if isinstance(error, SendError) else SendError(*error.problem, remedy=error.remedy, field=error.field, value=error.value))
    except Exception as error:  # a network library's own failure: the export stands, and says so; never "nothing was written"
        logging.getLogger(__name__).exception("unexpected error while sending")
        return Delivery(exported, send_error=SendError(f"unexpected {type(error).__name__} while sending: {error}"))


def _export(maps: Sequence[MapInput], output_dir, options: ExportOptions, progress, deliver) -> ExportResult:
    result = export_volumes(maps, output_dir, **options.keywords(), progress=progress)
    return replace(result, series=list(deliver(list(result.series)))) if deliver is not None else result


def fallback_metadata(metadata: ExportMetadata, parametric_map: SeriesResult) -> ExportMetadata:
    """``metadata`` for re-encoding: the Parametric Map's patient, study and frame of reference, a new series."""
    import pydicom

    from .sources import PATIENT_STUDY_FIELDS

    ds = pydicom.dcmread(parametric_map.files[0], stop_before_pixels=True)
    values = {name: str(ds.get(keyword, "") or "") for name, keyword in PATIENT_STUDY_FIELDS.items()}
    return replace(metadata, **values, frame_of_reference_uid=parametric_map.frame_of_reference_uid, series_instance_uid=None, series_number=None)


def send_series(
    series: list[SeriesResult],
    destination,
    *,
    fallback: str | None = None,
    reencode: Callable[[str, list[SeriesResult]], list[SeriesResult]] | None = None,
    progress: Progress | None = None,
):
    """Send what one export wrote; with ``fallback`` (sc or mr) and a refused Parametric Map, re-encode and send that.

    ``reencode(mode, parametric_maps)`` exports the maps of those Parametric Map series again in ``mode``, in their
    study and frame of reference (see fallback_metadata), and returns the written series. Returns a ``send.SendResult``.
    """
    import pydicom

    from .send import FallbackResult, send_files

    if fallback is not None:
        check_fallback_mode(fallback)
    sent = send_files([path for item in series for path in item.files], destination, progress)
    if fallback is None or not sent.parametric_map_refused:
        return sent
    parametric_maps = [item for item in series if item.mode == "pm"]
    already = [item for item in series if item.mode == fallback]
    if already and {item.input for item in already} >= {item.input for item in parametric_maps}:
        uids = {item.sop_instance_uid for item in sent.stored}
        arrived = all(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID in uids for item in already for path in item.files)
        if arrived:
            return replace(sent, notes=(f"no fallback sent: the {fallback.upper()} series of this export, which arrived, already carr{'ies' if len(already) == 1 else 'y'} the values",))
    if reencode is None:
        raise SendError("a fallback needs the volume to re-encode", remedy="send it from an export (the export's fallback option), which has the volume")
    try:
        fallback_series = reencode(fallback, parametric_maps)
    except FAExportError as error:  # e.g. the values do not fit the scale in that mode: the first send's result stands
        remedy = ("; ", *error.remedy) if error.remedy else ()
        return replace(sent, notes=(Message(f"the Parametric Map was refused, and the {fallback.upper()} fallback could not be exported: ", *error.problem, *remedy),))
    fallback_sent = send_files([path for item in fallback_series for path in item.files], destination, progress)
    note = f"the Parametric Map was refused, so the {fallback.upper()} series was sent instead ({len(fallback_sent.stored)} of {len(fallback_sent.instances)} instances stored)"
    return replace(sent, fallback=FallbackResult(fallback, fallback_series, fallback_sent), notes=(note,))
