"""Export NIfTI/NRRD maps to DICOM from Slicer's command line, without the main window.

    Slicer --no-splash --no-main-window --python-script FAExportBatch.py -- --input fa.nii.gz [--input FOLDER ...]
        [--output DIR] [--no-database] [--mode mr|sc|pm|mr+pm] [the options of python -m FAExportLib export]
        [--send-dimse HOST:PORT --called-ae AE | --send-stow URL] [--fallback sc|mr]
    Slicer ... --python-script FAExportBatch.py -- --cohort SOURCE --output DIR [--jobs N] [--maps FA,MD] [options]

With --cohort, a BIDS-derivatives folder or CSV manifest is exported as python -m FAExportLib export-many does (each
subject one study, in --jobs processes, resumable; Docs/command-line.md), and each subject's series are added to
Slicer's DICOM database as it completes (unless --no-database).

Files are read with Slicer's own volume reader; each is exported on its own into Slicer's DICOM database
(unless --no-database) and/or into --output. Exits with status 0 when every file was exported, 1 when any
failed (each failure is printed as one line, the others are still exported) or when FAExport cannot run in this
Slicer (one line says why and what to do), 2 on a usage error, 4 when every file was exported but a send did not
store everything (each file's send result says what arrived).
"""

import argparse
import json
import sys
import traceback
from pathlib import Path

# The module folder (two levels up) holds FAExport.py and FAExportLib/; put it first so this script also works
# when started from a source checkout rather than an installed extension.
MODULE_FOLDER = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(MODULE_FOLDER))

# Only the standard library above: FAExport and FAExportLib are imported inside run(), whose every way out ends
# Slicer (see exit_application). An import error here, at the top, would leave Slicer running without a window.
VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr")
EXIT_FAILURE = 1  # FAExportLib.cli.EXIT_FAILURE, known here before FAExportLib is (it may be what fails to import)
OWN_PACKAGES = ("FAExport", "FAExportLib", "FAExportSlicerLib")
PYDICOM_REQUIREMENT = "pydicom>=3.0"  # Resources/requirements.txt: pydicom.pixels and the Parametric Map need 3.x


def build_parser() -> argparse.ArgumentParser:
    from FAExportLib.cli import add_cohort_options, add_export_options, add_send_options

    parser = argparse.ArgumentParser(prog="FAExportBatch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", action="append", metavar="PATH", help="NIfTI/NRRD file, or a folder of them (searched recursively); repeatable")
    parser.add_argument("--cohort", dest="source", metavar="SOURCE", help="instead of --input: a cohort (BIDS-derivatives folder or CSV manifest), each subject one study in a sub-folder of --output")
    parser.add_argument("--output", metavar="DIR", help="also write each series into a new sub-folder of DIR")
    parser.add_argument("--no-database", action="store_true", help="do not add the series to Slicer's DICOM database (then --output is required)")
    add_cohort_options(parser)
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
    from FAExportLib.errors import FAExportError, command_line_label

    return error.render(command_line_label) if isinstance(error, FAExportError) else f"unexpected {type(error).__name__}: {error}"


def main(argv: list[str]) -> int:
    from FAExport import FAExportLogic

    from FAExportLib.cli import EXIT_SEND_INCOMPLETE, EXIT_USAGE, destination_from_arguments, metadata_from_arguments
    from FAExportLib.errors import FAExportError, command_line_label

    if argv[:1] == ["--"]:
        argv = argv[1:]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as error:
        return EXIT_USAGE if error.code else 0
    if (args.input is None) == (args.source is None):
        print("FAExportBatch: error: give the maps to export with --input PATH (repeatable), or a cohort with --cohort SOURCE", file=sys.stderr)
        return EXIT_USAGE
    if args.source is not None:
        return export_cohort(args)
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


def export_cohort(args: argparse.Namespace) -> int:
    """--cohort: FAExportLib's export-many into --output, each subject's series added to Slicer's database as it completes.

    The workers are spawned, never forked: a process running Qt must not fork itself. Under Slicer, sys.executable
    is PythonSlicer (Base/QTCore/qSlicerCoreApplication.cxx:1350-1352), a plain Python with Slicer's packages, which
    the spawned workers run.
    """
    from FAExportLib import FAExportError, SeriesResult
    from FAExportLib.cli import EXIT_USAGE, run_many

    if not args.output:
        print("FAExportBatch: error: --cohort writes each subject into a sub-folder of --output DIR: give it", file=sys.stderr)
        return EXIT_USAGE
    addSeries, notAdded = None, []
    if not args.no_database:
        from FAExportSlicerLib import database

        try:
            slicerDatabase = database.openDicomDatabase()
        except FAExportError as error:
            print(f"FAExportBatch: error: {describe(error)}", file=sys.stderr)
            return EXIT_FAILURE

        def addSeries(result) -> None:
            if result.status == "failed":
                return
            try:
                database.addToDatabase(slicerDatabase, [SeriesResult(**item) for item in result.series])
            except FAExportError as error:
                notAdded.append(result.subject)
                print(f"FAExportBatch: error: {result.subject}: exported into {result.folder}, but not added to Slicer's database: {describe(error)}", file=sys.stderr)

    status = run_many(args, on_subject=addSeries, start_method="spawn")
    return status or (EXIT_FAILURE if notAdded else 0)


def installed_version(package: str) -> str | None:
    """The version of ``package`` this Python imports: the module's own when it is imported (it is the one that ran),
    else the installed distribution's; None when it is not installed.
    """
    version = getattr(sys.modules.get(package), "__version__", None)
    if version:
        return str(version)
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def import_problem(error: ImportError) -> str:
    """What could not be imported and what to do about it, in one line."""
    package = (error.name or "").split(".")[0]
    if package in OWN_PACKAGES:
        return f"FAExport's files are incomplete or from different versions ({error}; in {MODULE_FOLDER}); reinstall the FAExport extension with Slicer's Extensions Manager"
    if package == "pydicom":
        version = installed_version("pydicom")
        try:
            too_old = version is None or int(version.split(".")[0]) < 3
        except ValueError:
            too_old = False
        if too_old:
            has = f"has pydicom {version}" if version else "has no pydicom"
            return f'FAExport needs {PYDICOM_REQUIREMENT} and this Python {has} ({error}); install it: "{sys.executable}" -m pip install "{PYDICOM_REQUIREMENT}"'
    return f'FAExport cannot be loaded: {error}; install what is missing into this Python ("{sys.executable}" -m pip install ...), or reinstall the FAExport extension'


def loading_problem() -> str | None:
    """Why FAExport cannot run in this Slicer or Python (None when it can): its release, or a package that does not import."""
    try:
        from FAExportSlicerLib.requirements import slicerVersionProblem

        problem = slicerVersionProblem()  # Slicer 5.10's pydicom is 2.4: say the release, not the package
        if problem is not None:
            return problem
        import FAExport  # noqa: F401 -- imported here, not at the top, so that a failure is one line and an exit

        import FAExportLib.cli  # noqa: F401
    except ImportError as error:
        return import_problem(error)
    return None


def run(argv: list[str]) -> int:
    """Load FAExport, then main(); any failure is one error line and status 1 (an unexpected one after its traceback).

    Never raises: Slicer prints an exception escaping a --python-script and goes on running without a window.
    """
    try:
        problem = loading_problem()
        if problem is not None:
            print(f"FAExportBatch: error: {problem}", file=sys.stderr)
            return EXIT_FAILURE
        return main(argv)
    except Exception:
        traceback.print_exc()
        print("FAExportBatch: error: unexpected failure (traceback above); please report it", file=sys.stderr)
        return EXIT_FAILURE


def exit_application(status: int) -> None:
    """End Slicer with ``status``.

    Slicer runs a --python-script from its event loop and goes on running after it: it exits by itself only with
    runPythonAndExit, which --python-script does not set (Base/QTCore/qSlicerCoreApplication.cxx:1378-1399,
    qSlicerCoreCommandOptions.cxx:111-137). slicer.util.exit (Base/Python/slicer/util.py:197) asks the application to
    leave its event loop with ``status``, which qSlicerCoreApplication::exec returns as Slicer's exit status. Under plain
    Python (PyPI slicer-core) there is no application: sys.exit.
    """
    try:
        import slicer
        import slicer.util
    except ImportError:
        sys.exit(status)
    if hasattr(slicer, "app"):
        slicer.util.exit(status)
    else:
        sys.exit(status)


if __name__ == "__main__":
    exit_application(run(sys.argv[1:]))
