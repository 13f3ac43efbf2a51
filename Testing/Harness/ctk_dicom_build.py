"""Build CTK's DICOM Core and its Python binding for the tests (Testing/Harness/ctk_dicom), once; rebuilt when missing.

    python Testing/Harness/ctk_dicom_build.py     # with the python of the environment that will import it

CTK is the tarball ``<repository>/../shared/vendor/CTK-5056664a.tar.gz`` (CTK at the commit Slicer 5.12.3 pins;
``$FAEXPORT_CTK_TARBALL`` or the workplace's ``/work/shared/vendor`` when the clone is elsewhere),
unpacked into ``.build/ctk/CTK``; the build goes to ``.build/ctk/build-<python tag>`` (both ignored
by git). Needs cmake, a C++ compiler and Debian's qtbase5-dev, libdcmtk-dev and pybind11-dev, which
``Testing/run.py test`` installs (as root). An existing build is only brought up to date (CMake's own dependency
checks: a second run takes about a second). Standard library only: run.py calls it before the tests.
"""

import fcntl
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
CTK_TARBALL_NAME = "CTK-5056664a.tar.gz"


def _vendored_tarball() -> Path:
    """The vendored CTK tarball: ``$FAEXPORT_CTK_TARBALL`` if set, else in the shared vendor folder next to the
    repository (a clone made elsewhere, as CI may make it, finds the workplace's own at /work/shared/vendor).
    """
    if os.environ.get("FAEXPORT_CTK_TARBALL"):
        return Path(os.environ["FAEXPORT_CTK_TARBALL"])
    candidates = [REPO.parent / "shared" / "vendor" / CTK_TARBALL_NAME, Path("/work/shared/vendor") / CTK_TARBALL_NAME]
    return next((path for path in candidates if path.is_file()), candidates[0])


CTK_TARBALL = _vendored_tarball()
# At the repository's top, not under Testing/ (whose README.md files the documentation test reads).
BUILD_ROOT = REPO / ".build" / "ctk"
SOURCE = Path(__file__).resolve().parent / "ctk_dicom"
# Debian package -> a file it installs that the build needs.
DEBIAN_BUILD_PACKAGES = {
    "qtbase5-dev": "/usr/lib/*/cmake/Qt5Sql/Qt5SqlConfig.cmake",  # a pattern: the folder is the architecture's
    "libdcmtk-dev": "/usr/include/dcmtk/dcmdata/dctk.h",
    "pybind11-dev": "/usr/include/pybind11/pybind11.h",
}


class BuildError(RuntimeError):
    """The binding could not be built; the message says what is missing and how to get it."""


def module_folder(python_tag: str | None = None) -> Path:
    """The folder that holds (or will hold) ``_ctkDICOMCore`` for this Python."""
    tag = python_tag or sysconfig.get_config_var("EXT_SUFFIX").strip(".").removesuffix(".so")
    return BUILD_ROOT / f"build-{tag}"


def missing_requirements() -> list[str]:
    """The Debian packages and programs the build needs that are not installed."""
    missing = [package for package, pattern in DEBIAN_BUILD_PACKAGES.items() if not glob.glob(pattern)]
    missing += [program for program in ("cmake", "c++") if shutil.which(program) is None]
    return missing


def _unpack_ctk() -> Path:
    source = BUILD_ROOT / "CTK"
    if (source / "Libs" / "DICOM" / "Core" / "ctkDICOMDatabase.cpp").is_file():
        return source
    if not CTK_TARBALL.is_file():
        raise BuildError(f"CTK's source is missing: {CTK_TARBALL} (the shared vendor folder next to the repository); the real DICOM database cannot be built without it")
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_ROOT) as scratch, tarfile.open(CTK_TARBALL) as archive:
        try:
            archive.extractall(scratch, filter="data")  # the tarball's top folder is CTK/
        except TypeError:  # Python before 3.11.4 has no extraction filters
            archive.extractall(scratch)  # noqa: S202 -- our own vendored tarball
        shutil.rmtree(source, ignore_errors=True)
        Path(scratch, "CTK").rename(source)
    return source


def _pyqt_qt_library_folder() -> Path:
    import PyQt5  # the environment's PyQt5: the binding links against the Qt it bundles

    folder = Path(PyQt5.__file__).parent / "Qt5" / "lib"
    if not (folder / "libQt5Core.so.5").is_file():
        raise BuildError(f"PyQt5's bundled Qt is not in {folder}; install the PyQt5-Qt5 wheel of Testing/requirements.txt")
    return folder


def ensure_built(jobs: int = 2) -> Path:
    """Build (or bring up to date) the binding for the running Python; return the folder to put on sys.path."""
    missing = missing_requirements()
    if missing:
        raise BuildError(f"cannot build CTK's DICOM database for the tests, missing: {' '.join(missing)}; run python3 Testing/run.py test as root (it installs them) or apt-get install {' '.join(missing)}")
    build = module_folder()
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with open(BUILD_ROOT / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time (two environments, two test runs)
        ctk = _unpack_ctk()
        if not (build / "CMakeCache.txt").is_file():
            print(f"Building CTK's DICOM database for the tests in {build.relative_to(REPO)} (first run only, about a minute)...", file=sys.stderr, flush=True)
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            configure = [
                "cmake", *generator, "-S", str(SOURCE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                f"-DCTK_SOURCE_DIR={ctk}", f"-DPYQT_QT_LIBRARY_DIR={_pyqt_qt_library_folder()}", f"-DPYTHON_EXECUTABLE={sys.executable}",
            ]  # fmt: skip
            _run(configure, build)
        _run(["cmake", "--build", str(build), "--parallel", str(jobs)], build)
    return build


def _run(command: list[str], build: Path) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        if command[1] != "--build":
            shutil.rmtree(build, ignore_errors=True)  # a failed configuration is not kept as if it were done
        raise BuildError(f"building CTK's DICOM database failed ({' '.join(command[:2])}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


if __name__ == "__main__":
    try:
        print(ensure_built(int(os.environ.get("CTK_BUILD_JOBS", "2"))))
    except BuildError as error:
        sys.exit(str(error))
