"""Export NIfTI/NRRD maps to DICOM from Slicer's command line, without the main window.

    Slicer --no-splash --no-main-window --python-script FAExportBatch.py -- --input fa.nii.gz [--input FOLDER ...]
        [--output DIR] [--no-database] [--mode mr|sc|pm|mr+pm] [the options of python -m FAExportLib export]
        [--send-dimse HOST:PORT --called-ae AE | --send-stow URL] [--fallback sc|mr]

Files are read with Slicer's own volume reader; each is exported on its own into Slicer's DICOM database
(unless --no-database) and/or into --output. Exits with status 0 when every file was exported, 1 when any
failed (each failure is printed as one line, the others are still exported), 2 on a usage error, 4 when
every file was exported but a send did not store everything (each file's send result says what arrived).
"""

import argparse
import json
import sys
import traceback
from pathlib import Path

# The module folder (two levels up) holds FAExport.py and FAExportLib/; put it first so this script also works
# when started from a source checkout rather than an installed extension.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from FAExport import FAExportLogic

import slicer
import slicer.util
from FAExportLib.cli import EXIT_FAILURE, EXIT_SEND_INCOMPLETE, EXIT_USAGE, add_export_options, add_send_options, destination_from_arguments, metadata_from_arguments
from FAExportLib.errors import FAExportError, command_line_label

VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="FAExportBatch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", action="append", required=True, metavar="PATH", help="NIfTI/NRRD file, or a folder of them (searched recursively); repeatable")
    parser.add_argument("--output", metavar="DIR", help="also write each series into a new sub-folder of DIR")
    parser.add_argument("--no-database", action="store_true", help="do not add the series to Slicer's DICOM database (then --output is required)")
    add_export_options(parser)
    add_send_options(parser)
    return parser


def input_files(paths: list[str]) -> list[Path]:
    """Every volume file named or found below the named folders, in a stable order."""
    files = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(VOLUME_SUFFIXES)))
        else:
            files.append(path)
    return files


def describe(error: Exception) -> str:
    """A refused input says what to do, naming this script's options; anything else is named as the unexpected error it is."""
    return error.render(command_line_label) if isinstance(error, FAExportError) else f"unexpected {type(error).__name__}: {error}"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as error:
        return EXIT_USAGE if error.code else 0
    if args.no_database and not args.output:
        print("FAExportBatch: error: with --no-database, give --output DIR (otherwise nothing would be written)", file=sys.stderr)
        return EXIT_USAGE
    if args.source_dicom or args.source_series_uid:  # the maps of a batch run join no source series: refused, not ignored
        print(
            "FAExportBatch: error: --source-dicom and --source-series-uid are not taken in batch mode; export each map computed "
            "from a DICOM series with python -m FAExportLib export ... --source-dicom DIR, or from the panel's \"computed from\"",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        destination = destination_from_arguments(args)
    except FAExportError as error:
        print(f"FAExportBatch: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    files = input_files(args.input)
    if not files:
        print(f"FAExportBatch: error: no .nii, .nii.gz, .nrrd or .nhdr file in {', '.join(args.input)}", file=sys.stderr)
        return EXIT_FAILURE
    outcomes = FAExportLogic().exportFiles(
        files,
        mode=args.mode,
        scale=args.scale,
        quantity=args.quantity,
        quantityCode=args.quantity_code,
        unit=args.unit,
        methodCode=args.method_code,
        metadata=metadata_from_arguments(args),
        outputFolder=args.output,
        addToDatabase=not args.no_database,
        replaceNonFinite=args.replace_nonfinite,
        plainIntegers=args.plain_integers,
        allowCoarseScale=args.allow_coarse_scale,
        sendTo=destination,
        fallback=args.fallback,
    )
    failed = [(path, outcome) for path, outcome in outcomes if isinstance(outcome, Exception)]
    for path, error in failed:
        print(f"FAExportBatch: error: {path}: {describe(error)}", file=sys.stderr)
    for path, outcome in outcomes:
        for warning in [] if isinstance(outcome, Exception) else outcome.warnings:
            print(f"FAExportBatch: warning: {path}: {warning}", file=sys.stderr)
    if args.json:
        report = [
            {"input": path, "error": describe(outcome)}
            if isinstance(outcome, Exception)
            else {
                "input": path,
                "series": [item.to_json() for item in outcome.series],
                "warnings": outcome.warnings,
                "send": outcome.sent.to_json() if outcome.sent else None,
                "send_error": describe(outcome.sendError) if outcome.sendError else None,
            }
            for path, outcome in outcomes
        ]
        print(json.dumps({"files": report}))
    else:
        for path, outcome in outcomes:
            if not isinstance(outcome, Exception):
                print(f"{path}:\n{outcome.summary(command_line_label)}")
    print(f"FAExportBatch: {len(outcomes) - len(failed)} of {len(outcomes)} files exported", file=sys.stderr)
    unsent = [(path, outcome) for path, outcome in outcomes if not isinstance(outcome, Exception) and (outcome.sendError or (outcome.sent is not None and not outcome.sent.complete))]
    for path, outcome in unsent:
        why = f"sending failed: {describe(outcome.sendError)}" if outcome.sendError else "not everything reached the archive (see its send result)"
        print(f"FAExportBatch: error: {path}: exported, but {why}", file=sys.stderr)
    return EXIT_FAILURE if failed else EXIT_SEND_INCOMPLETE if unsent else 0


def run(argv: list[str]) -> int:
    """main(), and any error it did not expect printed with its traceback: the exit status is then 1, never a hang.

    With --python-script Slicer does not end by itself (Docs/developer_guide/script_repository/gui.md), so an
    exception escaping here would leave it running without a window.
    """
    try:
        return main(argv)
    except Exception:
        traceback.print_exc()
        print("FAExportBatch: error: unexpected failure (traceback above); please report it", file=sys.stderr)
        return EXIT_FAILURE


def exit_application(status: int) -> None:
    """Leave Slicer with ``status`` (a --python-script does not end the application by itself)."""
    if hasattr(slicer, "app"):
        slicer.util.exit(status)
    else:  # plain Python with PyPI slicer-core
        sys.exit(status)


if __name__ == "__main__":
    exit_application(run(sys.argv[1:]))
