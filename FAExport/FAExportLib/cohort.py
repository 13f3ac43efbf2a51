"""A cohort in one command: every subject's maps exported as one study, in parallel processes, resumable.

Each subject (or subject and session) is one job, idempotent by its key: its series are exported into a hidden staging
folder, then the folder is renamed to ``OUTDIR/<key>`` with a record of what it holds (``faexport-subject.json``). A
subject is complete when its folder and record exist, so a rerun skips it; one killed or failed half-way left only
its staging folder, which the rerun removes before exporting the subject again: no series is ever written twice.
Sending (optional) happens after the subject's folder is in place, and its outcome is recorded too: a rerun sends
again the files of a subject whose send did not complete (the same instances, so an archive keeps one copy).

The result of every subject is written, after each one, to ``OUTDIR/faexport-cohort.json`` and ``.csv``.
"""

import csv
import io
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .cohort_sources import SubjectJob
from .errors import FAExportError, OutputError
from .metadata import ExportMetadata
from .pipeline import MapInput, SeriesResult
from .workflow import ExportOptions, export_maps_and_send, send_series

RECORD = "faexport-subject.json"
COHORT_JSON = "faexport-cohort.json"
COHORT_CSV = "faexport-cohort.csv"
STAGING_PREFIX = ".faexport-staging-"
CSV_COLUMNS = ("subject", "status", "maps", "series_written", "max_value_error", "send", "folder", "error", "skipped_files")


@dataclass(frozen=True)
class SubjectResult:
    """What became of one subject.

    Attributes:
        subject: the job's key (``sub-01``, ``sub-01_ses-1``).
        status: ``exported`` (this run), ``complete`` (by an earlier run: skipped) or ``failed``.
        maps: the map files exported (or meant to be).
        series: the series written, as the command line's JSON describes them.
        max_value_error: the largest value error measured after reading the series back.
        send: ``complete``, ``partial``, ``none`` (nothing arrived), ``failed`` or empty when not sending.
        error: why the subject failed (or why sending failed), in the command line's words.
        skipped_files: files of the subject that were not exported, and why.
        seconds: the time the subject took in its worker.

    """

    subject: str
    status: str
    maps: list[str] = field(default_factory=list)
    series: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    max_value_error: float | None = None
    send: str = ""
    error: str = ""
    skipped_files: list[str] = field(default_factory=list)
    folder: str = ""
    seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        """Exported (now or before), and sent in full when sending."""
        return self.status != "failed" and self.send in ("", "complete")

    def csv_row(self) -> dict:
        return {
            "subject": self.subject,
            "status": self.status,
            "maps": ";".join(self.maps),
            "series_written": len(self.series),
            "max_value_error": "" if self.max_value_error is None else f"{self.max_value_error:.6g}",
            "send": self.send,
            "folder": self.folder,
            "error": self.error,
            "skipped_files": ";".join(self.skipped_files),
        }


@dataclass(frozen=True)
class CohortSettings:
    """What every subject is exported with (picklable: it goes to the worker processes)."""

    options: ExportOptions
    destination: object = None  # send.DimseDestination or send.StowDestination
    fallback: str | None = None


def run_cohort(
    jobs: Sequence[SubjectJob],
    output_dir: str | Path,
    settings: CohortSettings,
    *,
    workers: int = 1,
    report: Callable[[SubjectResult, int, int], None] | None = None,
    start_method: str | None = None,
) -> list[SubjectResult]:
    """Export every job into ``output_dir/<key>`` (``workers`` processes), skipping complete ones; returns every result.

    ``report(result, done, total)`` is called in this process as each subject ends. One subject's failure does not
    stop the others. The cohort's JSON and CSV are rewritten after each subject. ``start_method`` is multiprocessing's
    (None: the platform's default); a process running Qt (Slicer) must not fork itself: it passes ``spawn``.
    """
    output = Path(output_dir).absolute()
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the output folder {output}: {error.strerror}; choose a folder you can write to") from None
    remove_leftovers(output)
    results: dict[str, SubjectResult] = {}

    def finished(result: SubjectResult) -> None:
        results[result.subject] = result
        write_cohort_report(output, [results[job.key] for job in jobs if job.key in results])
        if report is not None:
            report(result, len(results), len(jobs))

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            finished(export_subject(job, output, settings))
        return [results[job.key] for job in jobs]
    context = multiprocessing.get_context(start_method) if start_method else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = {pool.submit(export_subject, job, output, settings): job for job in jobs}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    try:
                        finished(future.result())
                    except Exception as error:  # the worker itself died (killed, out of memory): that subject failed
                        finished(SubjectResult(job.key, "failed", error=f"the worker ended: {type(error).__name__}: {error}"))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [results[job.key] for job in jobs]


def export_subject(job: SubjectJob, output: Path, settings: CohortSettings) -> SubjectResult:
    """Export one subject's maps as one study into ``output/<key>``, unless a complete record is there; then send."""
    started = time.monotonic()
    folder = output / job.key
    base = SubjectResult(job.key, "failed", maps=[str(item.path) for item in job.maps], skipped_files=[f"{path}: {why}" for path, why in job.skipped], folder=str(folder))
    try:
        record = read_record(folder)
        if record is not None:
            record = replace(record, status="complete")
            if settings.destination is None or record.send == "complete":
                return replace(record, seconds=time.monotonic() - started)
        else:
            if job.problem:
                return replace(base, error=job.problem, seconds=time.monotonic() - started)
            record = _export(job, output, folder, settings, base)
        if settings.destination is not None:
            record = _send(job, folder, settings, record)
        return replace(record, seconds=time.monotonic() - started)
    except FAExportError as error:
        return replace(base, error=" ".join(str(error).split()), seconds=time.monotonic() - started)
    except Exception as error:  # one subject's unexpected failure is reported, and the others go on
        return replace(base, error=f"internal error: {type(error).__name__}: {error} (please report this)", seconds=time.monotonic() - started)


def _maps(job: SubjectJob, quantity: str | None) -> list[MapInput]:
    """The subject's maps, each with its quantity: the manifest's, else ``quantity`` (given for all), else its name's."""
    from .map_names import quantity_from_file_name
    from .volume_files import read_volume_file

    return [read_volume_file(item.path).map_input(str(item.path), item.quantity or quantity or quantity_from_file_name(item.path)) for item in job.maps]


def _options(job: SubjectJob, settings: CohortSettings) -> ExportOptions:
    from .sources import SourceSeries

    metadata = replace(settings.options.metadata or ExportMetadata(), **job.metadata)
    source = SourceSeries.from_folder(job.source_dicom) if job.source_dicom else None
    return replace(settings.options, metadata=metadata, source=source)


def _export(job: SubjectJob, output: Path, folder: Path, settings: CohortSettings, base: SubjectResult) -> SubjectResult:
    for leftover in output.glob(f"{STAGING_PREFIX}{job.key}.*"):  # a run killed while exporting this subject
        shutil.rmtree(leftover, ignore_errors=True)
    if folder.exists():
        raise OutputError(f"{folder} exists but holds no record of a complete export ({RECORD}); move it away, then run again")
    staging = output / f"{STAGING_PREFIX}{job.key}.{os.getpid()}"
    try:
        delivery = export_maps_and_send(_maps(job, settings.options.quantity), staging, _options(job, settings))
        series = [moved(item, staging, folder) for item in delivery.export.series]
        record = replace(
            base,
            status="exported",
            series=[item.to_json() for item in series],
            warnings=list(delivery.export.warnings),
            max_value_error=max(item.measured_max_error for item in series),
        )
        write_record(staging, record)
        os.rename(staging, folder)  # the subject is complete at once, or not at all
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def moved(series: SeriesResult, old: Path, new: Path) -> SeriesResult:
    """``series`` as it is once its folder ``old`` is renamed ``new``."""

    def path(text: str) -> str:
        return str(new / Path(text).relative_to(old))

    return replace(series, directory=path(series.directory), files=[path(item) for item in series.files])


def _send(job: SubjectJob, folder: Path, settings: CohortSettings, record: SubjectResult) -> SubjectResult:
    series = [SeriesResult(**item) for item in record.series]

    def reencode(mode: str, parametric_maps: list[SeriesResult]) -> list[SeriesResult]:
        """The fallback of a refused Parametric Map: the same maps in ``mode``, moved into the subject's folder."""
        from .workflow import fallback_metadata

        options = _options(job, settings)
        refused = {item.input for item in parametric_maps}
        again = replace(options, mode=mode, metadata=fallback_metadata(options.metadata or ExportMetadata(), parametric_maps[0]), source=None)
        staging = folder.parent / f"{STAGING_PREFIX}{job.key}.fallback.{os.getpid()}"
        try:
            written = export_maps_and_send([item for item in _maps(job, settings.options.quantity) if item.name in refused], staging, again).export.series
            for item in written:
                os.rename(item.directory, folder / Path(item.directory).name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return [moved(item, staging, folder) for item in written]

    try:
        sent = send_series(series, settings.destination, fallback=settings.fallback, reencode=reencode)
    except FAExportError as error:
        record = replace(record, send="failed", error=f"sending failed: {' '.join(str(error).split())}")
    else:
        fallback = [item.to_json() for item in sent.fallback.series] if sent.fallback is not None else []
        complete = sent.complete or sent.fallback_complete
        record = replace(record, series=record.series + fallback, send="complete" if complete else sent.state, error="" if complete else "; ".join(sent.messages()))
    write_record(folder, record)
    return record


def write_record(folder: Path, result: SubjectResult) -> None:
    """The subject's record, its paths relative to its folder (the output folder may be moved), written atomically."""
    document = asdict(replace(result, status="exported", seconds=0.0))
    for item in document["series"]:
        item["directory"] = Path(item["directory"]).name
        item["files"] = [str(Path(path).relative_to(Path(path).parent.parent)) for path in item["files"]]
    _write_atomically(folder / RECORD, json.dumps(document, indent=1))


def read_record(folder: Path) -> SubjectResult | None:
    """The subject's record, if its folder holds one whose series are all there; else None."""
    try:
        document = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None
    for item in document["series"]:
        item["directory"] = str(folder / item["directory"])
        item["files"] = [str(folder / path) for path in item["files"]]
        if not all(Path(path).is_file() for path in item["files"]):
            return None
    return SubjectResult(**{**document, "folder": str(folder)})


def write_cohort_report(output: Path, results: list[SubjectResult]) -> None:
    """``faexport-cohort.json`` (every subject, its series and errors) and ``.csv`` (a row per subject)."""
    _write_atomically(output / COHORT_JSON, json.dumps({"subjects": [asdict(item) for item in results]}, indent=1))
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(item.csv_row() for item in results)
    _write_atomically(output / COHORT_CSV, table.getvalue())


def remove_leftovers(output: Path) -> None:
    """Remove what a killed run left: staging folders and partial reports of processes that no longer exist (those of
    a run still going are kept), in the output folder and in each subject's folder.
    """
    candidates = [*output.glob(f"{STAGING_PREFIX}*"), *output.glob(".*.partial"), *output.glob(f"*/.{RECORD}.*.partial")]
    for path in candidates:
        pid = path.name.removesuffix(".partial").rsplit(".", 1)[-1]
        if pid.isdigit() and int(pid) > 0 and not _alive(int(pid)):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


class ProgressLine:
    """Progress on stderr: a bar redrawn in place on a terminal, one plain line per subject otherwise (logs, CI)."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.failed = 0

    def __call__(self, result: SubjectResult, done: int, total: int) -> None:
        self.failed += not result.succeeded
        rate = done / max(time.monotonic() - self.started, 1e-9)
        outcome = result.status if not result.error else f"{result.status}: {result.error}"
        if not self.terminal:
            print(f"faexport: [{done}/{total}] {result.subject}: {outcome}", file=self.stream, flush=True)
            return
        filled = round(self.width * done / total)
        bar = "#" * filled + "." * (self.width - filled)
        if not result.succeeded:
            print(f"\r\x1b[Kfaexport: {result.subject}: {outcome}", file=self.stream)
        end = "\n" if done == total else ""
        print(f"\r\x1b[K[{bar}] {done}/{total} subjects, {self.failed} failed, {rate:.2f}/s", end=end, file=self.stream, flush=True)
