"""Writing a series atomically: it appears complete in the output folder, or not at all.

Files go into a hidden ``.*.partial`` folder beside the final one, are verified there, and the folder is
renamed into place in one step. A failure (disk full, a bad value, a cancel) removes the partial folder.
"""

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from .errors import ExportCancelled, OutputError
from .version import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

PARTIAL_SUFFIX = ".partial"


def os_reason(error: BaseException) -> str:
    """The operating system's words for ``error``; pydicom re-raises write errors wrapped in a new OSError."""
    seen = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return seen.strerror or os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__


def file_meta(sop_class_uid: str, sop_instance_uid: str) -> FileMetaDataset:
    """File meta information for one instance, Explicit VR Little Endian."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class_uid
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


def series_folder_name(description: str, mode: str, series_number: int, series_instance_uid: str) -> str:
    """A readable, file-system-safe and unique folder name, e.g. ``FA_map_MR_1001_73152840``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", description).strip("_")[:40] or "series"
    tail = series_instance_uid.replace(".", "")[-8:]
    return f"{slug}_{mode.upper().replace('+', '_')}_{series_number}_{tail}"


def prepare_output_folder(output_dir: str | os.PathLike) -> Path:
    """Create ``output_dir`` if needed and check that a series can be written into it."""
    folder = Path(output_dir).absolute()
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"the output folder {folder} is a file; give a folder (it is created if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the output folder {folder}: {os_reason(error)}; choose a folder you can write to") from None
    # Try for real: os.access says yes to root on read-only file systems and ignores ACLs.
    os.rmdir(_private_folder(folder, ".faexport-probe."))
    return folder


def _private_folder(output_dir: Path, prefix: str, suffix: str = "") -> Path:
    """A new folder only this process uses, inside ``output_dir``; OutputError when it cannot be made."""
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=output_dir))
    except OSError as error:
        raise OutputError(f"cannot write into the output folder {output_dir}: {os_reason(error)}; choose a folder you can write to") from None


@dataclass
class StagedSeries:
    """A series written and verified in its partial folder, not yet published."""

    partial: Path
    final: Path
    names: list[str]
    measured_max_error: float

    @property
    def files(self) -> list[Path]:
        """Paths of the files once published."""
        return [self.final / name for name in self.names]


class SeriesStaging:
    """Stage one or more series in partial folders; publish them all, or leave nothing.

    Use as a context manager: leaving it without ``publish()`` (an error, a cancel) removes every
    partial folder.
    """

    def __init__(self, output_dir: Path, progress: Callable[[str, int], bool] | None = None):
        self.output_dir = output_dir
        self.progress = progress  # (message, files done in this series) -> True to cancel
        self.staged: list[StagedSeries] = []
        self._partials: list[Path] = []

    def __enter__(self) -> "SeriesStaging":
        return self

    def __exit__(self, *exc_info) -> None:
        for partial in self._partials:
            if partial.exists():
                shutil.rmtree(partial, ignore_errors=True)

    def stage(self, folder_name: str, instances: Iterable[tuple[str, list]], verify: Callable[[list[Path]], float]) -> StagedSeries:
        """Write ``instances`` ((file name, the file's encoded chunks in order)) into a new partial folder and verify them there."""
        final = self.output_dir / folder_name
        if final.exists():
            raise OutputError(f"{final} already exists; it is never overwritten: choose another output folder")
        partial = _private_folder(self.output_dir, f".{folder_name}.", PARTIAL_SUFFIX)
        self._partials.append(partial)
        names = []
        for name, chunks in instances:
            self._report(f"Writing {folder_name}/{name}", len(names))
            try:
                with open(partial / name, "wb") as stream:
                    stream.writelines(chunks)
            except OSError as error:
                raise OutputError(f"writing {final / name} failed: {os_reason(error)}; nothing was written") from None
            names.append(name)
            del chunks  # before the next file is made and before verifying: keep one encoded instance in memory at most
        self._report(f"Verifying {folder_name}", len(names))
        measured = verify([partial / name for name in names])
        staged = StagedSeries(partial, final, names, measured)
        self.staged.append(staged)
        return staged

    def _report(self, message: str, done: int) -> None:
        if self.progress is not None and self.progress(message, done):
            raise ExportCancelled("the export was cancelled; nothing was written")

    def publish(self) -> list[StagedSeries]:
        """Move every staged series into place; on failure move back those already moved."""
        published: list[StagedSeries] = []
        try:
            for staged in self.staged:
                os.chmod(staged.partial, 0o755)  # mkdtemp makes it private; the series is for others to read too
                os.rename(staged.partial, staged.final)
                published.append(staged)
        except OSError as error:
            for staged in published:
                os.rename(staged.final, staged.partial)
            raise OutputError(f"publishing {staged.final} failed: {os_reason(error)}; nothing was written") from None
        return published
