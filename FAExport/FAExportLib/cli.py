"""Command line: ``python -m FAExportLib export INPUT [INPUT ...] OUTDIR [options]``.

Several inputs become series of one study (one patient, one frame of reference), each map's quantity told from its
file name unless --quantity is given.

On bad input it prints one line on stderr that says what is wrong and what to do, exits non-zero,
and leaves nothing behind. With --send-dimse or --send-stow the written series are then sent to an archive.

Exit status: 0 written (and, when sending, every instance stored); 1 nothing written (bad input, failure);
2 usage error; 3 internal error; 4 written, but not everything reached the archive (refused, failed, partial
or unreachable: the result says which instances arrived); 5 written, the archive refused the Parametric Map
and the --fallback series arrived in its place.
"""

import argparse
import json
import os
import sys
import traceback
import warnings
from pathlib import Path

from .codes import Code
from .errors import FAExportError, Field, SendError, SendInterrupted, command_line_label
from .metadata import ExportMetadata
from .navigation import PROFILES
from .pipeline import MODES, ExportResult
from .sources import SourceSeries
from .version import __version__
from .workflow import Delivery, ExportOptions, check_send_request, export_maps_and_send

PROG = "faexport"
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_SEND_INCOMPLETE = 4
EXIT_SENT_FALLBACK = 5


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage on errors; the contract is one line."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see --help)\n")


def _code(text: str) -> Code:
    try:
        return Code.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _unit(text: str) -> Code:
    from .quantities import parse_unit

    try:
        return parse_unit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog=PROG, description="Export float quantitative maps (e.g. diffusion FA) to DICOM without losing values.")
    parser.add_argument("--version", action="version", version=f"FAExport {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    export = commands.add_parser("export", help="export NIfTI or NRRD volumes as DICOM series of one study")
    export.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="NIfTI (.nii, .nii.gz) or NRRD (.nrrd, .nhdr) scalar volume; several become series of one study, each map's "
        "quantity told from its file name (dti_FA, fa, param-MD, T1map, ...) unless --quantity is given",
    )
    export.add_argument("output", metavar="OUTDIR", help="folder that receives one new sub-folder per series (created if missing)")
    add_export_options(export)
    commands.add_parser("quantities", help="list the quantities known by name, with their DICOM codes and default units (Markdown)")
    add_send_options(export)
    many = commands.add_parser("export-many", help="export a cohort: each subject's maps as one study, from a BIDS-derivatives folder or a CSV manifest")
    many.add_argument("source", metavar="SOURCE", help="a BIDS-derivatives folder (sub-*/[ses-*/]...) or a CSV manifest (subject,map[,session,quantity,source_dicom,patient_id,...])")
    many.add_argument("output", metavar="OUTDIR", help="folder that receives one sub-folder per subject, and faexport-cohort.csv and .json (created if missing)")
    add_cohort_options(many)
    add_export_options(many)
    add_send_options(many)
    return parser


def add_cohort_options(parser: argparse.ArgumentParser) -> None:
    """How a cohort is run; Slicer's batch script (--cohort) takes the same ones."""
    parser.add_argument("--jobs", type=_positive_int, default=1, metavar="N", help="subjects exported at once, each in its own process (default 1)")
    parser.add_argument("--maps", type=lambda text: [name for name in text.split(",") if name], metavar="FA,MD,...", help="BIDS: export only the maps of these quantities")
    parser.add_argument("--space", metavar="LABEL", help="BIDS: export only the maps of this space- entity (e.g. T1w), for subjects with maps in several")
    parser.add_argument("--model", metavar="LABEL", help="BIDS: export only the maps of this model- entity (e.g. tensor), for subjects with maps of several")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """Every export option but INPUT and OUTDIR; Slicer's batch script (FAExportBatch.py) takes the same ones."""
    parser.add_argument(
        "--mode",
        choices=list(MODES),
        default="mr",
        help="mr: classic MR images, int16 + one rescale (default); sc: multi-frame Secondary Capture, uint16 + rescale; "
        "pm: Parametric Map, exact float32 with codes; mr+pm: both series in one study",
    )
    parser.add_argument("--scale", default="auto", help="1000, 32000, auto (default: finest that fits int16) or any positive number; stored = value x scale")
    parser.add_argument(
        "--quantity",
        help="FA, MD, T1, T2*, R2*, PD, MTR, CBF, Ktrans, ve, QSM, ... (see the quantities command), a DICOM quantity's "
        "keyword or meaning, or another short name, for every map (default: told from each file's name; FA for one map "
        "whose name tells none)",
    )
    parser.add_argument("--quantity-code", type=_code, metavar="VALUE,SCHEME,MEANING", help="quantity code (default: the known quantity's, e.g. 110808,DCM,Fractional Anisotropy)")
    parser.add_argument(
        "--unit",
        type=_unit,
        metavar="UCUM|VALUE,SCHEME,MEANING",
        help="unit as a UCUM code (ms, s, mm2/s, um2/ms, 1/s, ppm, Hz, %%, 1, ...) or in full (default: the quantity's, e.g. 1 for FA, "
        "mm2/s for diffusivities; T1 and others have none: pm needs it, mr and sc put it in the series description)",
    )
    parser.add_argument(
        "--plain-integers",
        action="store_true",
        help="mr, sc: store round(value x scale) with RescaleSlope 1 and an integer window, the factor in the series description "
        "(e.g. 'FA x1000'); for viewers that mishandle fractional slopes or windows. Readers then get value x scale",
    )
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        help="navigation: classic MR for surgical navigation systems and web viewers: stored = round(value x factor) with the "
        "factor of the quantity's unit (FA x10000, diffusivities x10^6 in mm2/s, ms x1; --scale sets another), RescaleSlope 1, "
        "one integer window, a Real World Value Mapping in every file; square in-plane pixels only",
    )
    parser.add_argument("--method-code", type=_code, metavar="VALUE,SCHEME,MEANING", help="measurement method, e.g. 113231,DCM,Single Tensor (pm)")
    parser.add_argument("--anatomic-region", type=_code, metavar="VALUE,SCHEME,MEANING", help="Frame Anatomy region (pm; default from --body-part: BRAIN -> 12738006,SCT,Brain)")
    parser.add_argument("--source-dicom", metavar="DIR", help="DICOM series the map was computed from, in the same scanner space: join its patient, study and frame of reference")
    parser.add_argument("--source-series-uid", metavar="UID", help="which series of --source-dicom, if it holds several")
    parser.add_argument(
        "--resample-to-source",
        action="store_true",
        help="resample the map onto the grid of --source-dicom first (trilinear), so that OHIF can overlay the Parametric Map on it; "
        "the result says how much interpolation changed the values",
    )
    parser.add_argument("--replace-nonfinite", type=float, metavar="VALUE", help="replace NaN/infinite voxels with VALUE instead of refusing them")
    parser.add_argument(
        "--allow-coarse-scale",
        action="store_true",
        help="export even when the scale's step is too coarse for the values (refused by default: see Docs/encodings.md, the coarse-scale rule)",
    )
    identity = parser.add_argument_group("patient, study and series")
    identity.add_argument("--patient-name", default="Anonymous^")
    identity.add_argument("--patient-id", help="default: a generated anonymous ID")
    identity.add_argument("--patient-birth-date", default="", metavar="YYYYMMDD")
    identity.add_argument("--patient-sex", default="", choices=["", "M", "F", "O"])
    identity.add_argument("--study-instance-uid", help="join an existing study (default: a new study)")
    identity.add_argument("--study-id", default="")
    identity.add_argument("--study-date", metavar="YYYYMMDD", help="default: today")
    identity.add_argument("--study-description", default="")
    identity.add_argument("--accession-number", default="")
    identity.add_argument("--series-description", help="default: '<quantity> map', e.g. 'FA map'")
    identity.add_argument("--series-number", type=int)
    identity.add_argument("--content-creator-name", default="", help="who made the map (pm ContentCreatorName)")
    identity.add_argument("--body-part", help="BodyPartExamined (default: the quantity's, e.g. BRAIN for FA and MD, none for T1; '' for none)")
    identity.add_argument("--laterality", metavar="L|R|B|U", help="side of a paired body part: L, R, B (both) or U (unpaired); required for a paired --body-part")
    identity.add_argument("--frame-of-reference-uid", help="share the source images' frame of reference (default: new)")
    parser.add_argument("--json", action="store_true", help="print one JSON object describing what was written")


def add_send_options(parser: argparse.ArgumentParser) -> None:
    """Sending after export; Slicer's batch script takes the same ones. Secrets also come from the environment."""
    send = parser.add_argument_group("sending after export (to one archive)")
    target = send.add_mutually_exclusive_group()
    target.add_argument("--send-dimse", metavar="HOST:PORT", help="send the written series with DICOM C-STORE to this archive")
    target.add_argument("--send-stow", metavar="URL", help="send the written series with DICOMweb STOW-RS to this base URL (e.g. https://pacs/dicom-web)")
    send.add_argument("--called-ae", default="ANY-SCP", metavar="AE", help="the archive's AE title (C-STORE; default ANY-SCP)")
    send.add_argument("--calling-ae", default="FAEXPORT", metavar="AE", help="this sender's AE title (C-STORE; default FAEXPORT)")
    send.add_argument("--stow-user", metavar="USER", help="HTTP basic auth user (STOW-RS); the password comes from FAEXPORT_STOW_PASSWORD")
    send.add_argument("--stow-password", metavar="PASSWORD", help="prefer the environment variable FAEXPORT_STOW_PASSWORD: options stay in shell history")
    send.add_argument("--stow-token", metavar="TOKEN", help="bearer token (STOW-RS); prefer the environment variable FAEXPORT_STOW_TOKEN")
    send.add_argument("--send-timeout", type=float, default=30.0, metavar="SECONDS", help="limit for connecting and for each answer of the archive (default 30)")
    send.add_argument("--fallback", choices=["sc", "mr"], help="if the archive refuses the Parametric Map class, re-encode in this mode (same study and frame of reference) and send that")


def destination_from_arguments(args: argparse.Namespace):
    """The archive to send to (checked, with the fallback, before anything is exported), or None."""
    check_send_request(args.mode, args.send_dimse or args.send_stow, args.fallback)
    if not (args.send_dimse or args.send_stow):
        return None
    from .send import DimseDestination, StowDestination

    if args.send_dimse:
        if args.stow_user or args.stow_password or args.stow_token:
            raise SendError("--stow-user, --stow-password and --stow-token are for --send-stow; C-STORE identifies the sender by --calling-ae")
        return DimseDestination.parse(args.send_dimse, args.called_ae, args.calling_ae, args.send_timeout)
    password = args.stow_password or os.environ.get("FAEXPORT_STOW_PASSWORD")
    token = args.stow_token or os.environ.get("FAEXPORT_STOW_TOKEN")
    return StowDestination.parse(args.send_stow, args.stow_user, password if args.stow_user else None, token, args.send_timeout)


def metadata_from_arguments(args: argparse.Namespace) -> ExportMetadata:
    return ExportMetadata(
        patient_name=args.patient_name,
        patient_id=args.patient_id,
        patient_birth_date=args.patient_birth_date,
        patient_sex=args.patient_sex,
        study_instance_uid=args.study_instance_uid,
        study_id=args.study_id,
        study_date=args.study_date,
        study_description=args.study_description,
        accession_number=args.accession_number,
        series_description=args.series_description,
        series_number=args.series_number,
        frame_of_reference_uid=args.frame_of_reference_uid,
        body_part_examined=args.body_part,
        content_creator_name=args.content_creator_name,
        anatomic_region=args.anatomic_region,
        laterality=args.laterality,
    )


def summary(result: ExportResult) -> str:
    lines = []
    for series in result.series:
        lines.append(f'Wrote {series.mode.upper()} series "{series.series_description}": {len(series.files)} file{"s" if len(series.files) > 1 else ""} in {series.directory}')
        if series.profile:
            lines.append(f"  Profile {series.profile}: stored = round({series.quantity} x {series.value_scale:.12g}), RescaleSlope 1; the Real World Value Mapping divides by {series.value_scale:.12g}")
        elif series.plain_integers:
            lines.append(f"  Plain integers, RescaleSlope 1: readers get {series.quantity} x {series.value_scale:.12g}; divide by {series.value_scale:.12g}")
        elif series.rescale_slope is not None:
            lines.append(f"  RescaleSlope {series.rescale_slope:.12g}, RescaleIntercept {series.rescale_intercept:.12g} (one for the whole series)")
        lines.append(f"  worst-case quantization error {series.max_quantization_error:.3g}; measured after reading back: {series.measured_max_error:.3g}")
    return "\n".join(lines)


def options_from_arguments(args: argparse.Namespace) -> ExportOptions:
    """What to write, as the arguments say (the source DICOM folder is read here)."""
    return ExportOptions(
        mode=args.mode,
        scale=args.scale,
        quantity=args.quantity,
        quantity_code=args.quantity_code,
        unit=args.unit,
        method=args.method_code,
        metadata=metadata_from_arguments(args),
        source=SourceSeries.from_folder(args.source_dicom, args.source_series_uid) if args.source_dicom else None,
        replace_nonfinite=args.replace_nonfinite,
        plain_integers=args.plain_integers,
        allow_coarse_scale=args.allow_coarse_scale,
        profile=args.profile,
        resample_to_source=args.resample_to_source,
    )


def run_export(args: argparse.Namespace, destination=None, on_exported=None) -> tuple[Delivery, list[dict]]:
    """Export (and send) as the arguments say; returns what was done and, per input, its JSON description (file,
    quantity, the NIfTI transform used). ``on_exported(result)`` is called once the export is written, before
    anything is sent.
    """
    from .volume_files import read_volume_file

    quantities = input_quantities(args.inputs, args.quantity)
    maps, inputs_json = [], []
    for path, quantity in zip(args.inputs, quantities, strict=True):
        volume = read_volume_file(path)
        maps.append(volume.map_input(path, quantity))
        inputs_json.append({"input": path, "quantity": quantity, "input_transform": volume.transform.to_json() if volume.transform is not None else None})
    delivery = export_maps_and_send(
        maps,
        args.output,
        options_from_arguments(args),
        destination=destination,
        fallback=args.fallback,
        on_exported=on_exported,
    )
    return delivery, inputs_json


def input_quantities(paths: list[str], quantity: str | None) -> list[str]:
    """Each input's quantity name: ``quantity`` for all; else told from each file's name (refused when a name tells
    none or several); one input whose name tells none is FA, the command's default for one map.
    """
    from .map_names import quantity_from_file_name, read_file_name

    if quantity is not None:
        return [quantity] * len(paths)
    if len(paths) == 1:
        reading = read_file_name(paths[0])
        return [reading.quantity or ("FA" if reading.tells_nothing else quantity_from_file_name(paths[0]))]
    return [quantity_from_file_name(path) for path in paths]


def _one_line(text: str) -> str:
    """The command line contract is one line per message, whatever a reader's or the user's text holds."""
    return " ".join(text.split())


def send_exit_status(sent) -> int:
    if sent.complete:
        return 0
    return EXIT_SENT_FALLBACK if sent.fallback_complete else EXIT_SEND_INCOMPLETE


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "export-many":
        return run_many(args)
    if args.command == "quantities":
        from .quantities import markdown_table

        print(markdown_table())
        return 0
    try:
        destination = destination_from_arguments(args)
    except FAExportError as error:
        print(f"{PROG}: error: {error} (nothing was written)", file=sys.stderr)
        return EXIT_USAGE
    notes: list[str] = []

    def report_export_warnings(result: ExportResult) -> None:
        """The export's warnings, as soon as it is written: what sending warns about afterwards is not the export's."""
        notes.extend([*result.warnings, *(f"{item.category.__name__}: {item.message}" for item in stray)])
        for note in notes:
            print(f"{PROG}: warning: {_one_line(note)}", file=sys.stderr)
        del stray[:]
        warnings.simplefilter("default")  # while sending: each library warning once, reported with the send
        warnings.simplefilter("ignore", ResourceWarning)

    try:
        with warnings.catch_warnings(record=True) as stray:  # success is quiet: no library's warning reaches stderr raw
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", ResourceWarning)  # as Python's default: a library's unclosed socket or file says nothing of the export
            delivery, inputs = run_export(args, destination, report_export_warnings)
    except FAExportError as error:
        print(f"{PROG}: error: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("FAEXPORT_DEBUG"):
            traceback.print_exc()
        print(f"{PROG}: internal error: {type(error).__name__}: {error}; nothing was written (please report this)", file=sys.stderr)
        return EXIT_INTERNAL
    for item in stray:
        print(f"{PROG}: warning: while sending: {item.category.__name__}: {_one_line(str(item.message))}", file=sys.stderr)
    report = {**delivery.export.to_json(), "warnings": notes, "inputs": inputs}
    if len(inputs) == 1:
        report["input_transform"] = inputs[0]["input_transform"]  # as before several inputs were taken
    return report_delivery(args, delivery, report)


def report_delivery(args: argparse.Namespace, delivery: Delivery, report: dict) -> int:
    """Print the export and the send (one JSON object with --json), and return the exit status."""
    result, sent, error = delivery.export, delivery.sent, delivery.send_error
    if isinstance(error, SendInterrupted):
        print(f"{PROG}: interrupted while sending; the exported series are kept", file=sys.stderr)
    elif error is not None:
        print(f"{PROG}: error: sending failed: {_one_line(str(error))}; the exported series are kept", file=sys.stderr)
    if sent is None:
        print(json.dumps(report) if args.json else summary(result))
        return 0 if error is None else 130 if isinstance(error, SendInterrupted) else EXIT_SEND_INCOMPLETE
    if args.json:
        print(json.dumps({**report, "send": sent.to_json()}))
    else:
        print(summary(result))
        print(sent.summary())
    for line in sent.messages():
        print(f"{PROG}: {'error' if not sent.complete else 'note'}: {line}", file=sys.stderr)
    return send_exit_status(sent)


# Options that name one subject's patient, study or series: a cohort takes them per subject, from its manifest.
PER_SUBJECT_OPTIONS = ("patient_id", "study_instance_uid", "frame_of_reference_uid", "source_dicom", "source_series_uid", "series_description")


def run_many(args: argparse.Namespace, on_subject=None, start_method: str | None = None) -> int:
    """``export-many``: every subject of a cohort as one study; one line per subject on stderr, a summary at the end.

    ``on_subject(result)`` is called as each subject ends (Slicer's batch script adds its series to the database);
    ``start_method``: see cohort.run_cohort.
    """
    from .cohort import COHORT_CSV, CohortSettings, ProgressLine, run_cohort
    from .cohort_sources import read_cohort

    given = [name for name in PER_SUBJECT_OPTIONS if getattr(args, name) is not None]
    if args.patient_name != "Anonymous^":
        given.insert(0, "patient_name")
    if given:
        options = ", ".join(command_line_label(Field(name)) for name in given)
        print(f"{PROG}: error: {options} name{'s' if len(given) == 1 else ''} one subject's patient, study or series; a cohort takes them per subject "
              "from its CSV manifest (columns patient_id, patient_name, study_instance_uid, source_dicom, ...): leave them out (nothing was written)", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    try:
        destination = destination_from_arguments(args)
        jobs = read_cohort(args.source, maps=args.maps, space=args.space, model=args.model)
    except FAExportError as error:
        print(f"{PROG}: error: {_one_line(str(error))} (nothing was written)", file=sys.stderr)
        return EXIT_USAGE
    if not jobs:
        print(f"{PROG}: error: {args.source} holds no subject with maps to export (nothing was written)", file=sys.stderr)
        return EXIT_FAILURE
    settings = CohortSettings(options_from_arguments(args), destination, args.fallback)
    try:
        progress = ProgressLine()

        def report(result, done: int, total: int) -> None:
            progress(result, done, total)
            if on_subject is not None:
                on_subject(result)

        results = run_cohort(jobs, args.output, settings, workers=args.jobs, report=report, start_method=start_method)
    except FAExportError as error:
        print(f"{PROG}: error: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the subjects completed are kept, and a rerun of the same command goes on from there", file=sys.stderr)
        return 130
    failed = [item for item in results if item.status == "failed"]
    unsent = [item for item in results if item.status != "failed" and not item.succeeded]
    before = sum(item.status == "complete" for item in results)
    counts = f"{len(results) - len(failed)} of {len(results)} subjects exported" + (f" ({before} by an earlier run)" if before else "")
    sending = f", {len(unsent)} not fully sent" if unsent else ""
    print(f"{PROG}: {counts}, {len(failed)} failed{sending}; each subject's result is in {Path(args.output) / COHORT_CSV}", file=sys.stderr)
    if args.json:
        from dataclasses import asdict

        print(json.dumps({"subjects": [asdict(item) for item in results]}))
    return EXIT_FAILURE if failed else EXIT_SEND_INCOMPLETE if unsent else 0
