"""Export NIfTI/NRRD maps to DICOM from Slicer's command line, without the main window.

    Slicer --no-splash --no-main-window --python-script FAExportBatch.py -- --input fa.nii.gz [--input FOLDER ...]
        [--output DIR] [--no-database] [--mode mr|sc|pm|mr+pm] [the options of python -m FAExportLib export]

Files are read with Slicer's own volume reader; each is exported on its own into Slicer's DICOM database
(unless --no-database) and/or into --output. Exits with status 0 when every file was exported, 1 when any
failed (each failure is printed as one line, the others are still exported), 2 on a usage error.
"""

import argparse
import json
import sys
from pathlib import Path

# The module folder (two levels up) holds FAExport.py and FAExportLib/; put it first so this script also works
# when started from a source checkout rather than an installed extension.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from FAExport import FAExportLogic

import slicer
from FAExportLib.cli import EXIT_FAILURE, EXIT_USAGE, add_export_options, metadata_from_arguments

VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="FAExportBatch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", action="append", required=True, metavar="PATH", help="NIfTI/NRRD file, or a folder of them (searched recursively); repeatable")
    parser.add_argument("--output", metavar="DIR", help="also write each series into a new sub-folder of DIR")
    parser.add_argument("--no-database", action="store_true", help="do not add the series to Slicer's DICOM database (then --output is required)")
    add_export_options(parser)
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
        allowCoarseScale=args.allow_coarse_scale,
    )
    failed = [(path, outcome) for path, outcome in outcomes if isinstance(outcome, Exception)]
    for path, error in failed:
        print(f"FAExportBatch: error: {path}: {error}", file=sys.stderr)
    for path, outcome in outcomes:
        for warning in [] if isinstance(outcome, Exception) else outcome.warnings:
            print(f"FAExportBatch: warning: {path}: {warning}", file=sys.stderr)
    if args.json:
        report = [
            {"input": path, "error": str(outcome)} if isinstance(outcome, Exception) else {"input": path, "series": [item.to_json() for item in outcome.series], "warnings": outcome.warnings}
            for path, outcome in outcomes
        ]
        print(json.dumps({"files": report}))
    else:
        for path, outcome in outcomes:
            if not isinstance(outcome, Exception):
                print(f"{path}:\n{outcome.summary()}")
    print(f"FAExportBatch: {len(outcomes) - len(failed)} of {len(outcomes)} files exported", file=sys.stderr)
    return EXIT_FAILURE if failed else 0


def exit_application(status: int) -> None:
    """Leave Slicer with ``status`` (a --python-script does not end the application by itself)."""
    if hasattr(slicer, "app"):
        slicer.util.exit(status)
    else:  # plain Python with PyPI slicer-core
        sys.exit(status)


if __name__ == "__main__":
    exit_application(main(sys.argv[1:]))
