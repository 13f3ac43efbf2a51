#!/usr/bin/env python3
"""Run FAExport's demo, tests or linter on a fresh clone with nothing but Python 3.11 or 3.12.

    python3 Testing/run.py demo     # export the shipped real FA map, print what was written and the round-trip error
    python3 Testing/run.py test     # the whole test suite, under Slicer's highdicom 0.27.0 and the newest (args go to pytest)
    python3 Testing/run.py lint     # ruff with Slicer's settings

The first run creates ``.venv`` at the repository root from the pinned ``Testing/requirements.txt``
(the versions Slicer bundles) and, for ``test``, ``.venv-latest`` from ``Testing/requirements-latest.txt``
(the newest highdicom); each is recreated when its file changes. ``test`` also installs the real DICOM
archives the tests send to (Debian packages orthanc, orthanc-dicomweb and dcmtk) when they are missing and it
runs as root. Under ``CI=true`` an archive that cannot be installed fails the run (elsewhere its tests skip).
``test`` then builds CTK's DICOM database for the tests (Slicer's own ctkDICOMDatabase and ctkDICOMIndexer, from
``../shared/vendor/CTK-5056664a.tar.gz``, Testing/Harness/ctk_dicom_build.py) once into the ignored
``.build/ctk``, after installing what the build needs from Debian (qtbase5-dev, libdcmtk-dev, pybind11-dev,
cmake, g++) when missing, and installs the web viewer tests' chromium (Debian) and pinned npm packages and OHIF app
(Testing/Harness/web_viewer/package.json) into ignored folders.
Standard library only: this script is the bootstrap.
"""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Environment name -> (folder, pinned requirements).
ENVIRONMENTS = {
    "slicer": (REPO / ".venv", REPO / "Testing" / "requirements.txt"),
    "latest": (REPO / ".venv-latest", REPO / "Testing" / "requirements-latest.txt"),
}


def ensure_venv(name: str = "slicer") -> Path:
    """Create or refresh an environment so that it holds exactly its pinned requirements; return its python."""
    folder, requirements = ENVIRONMENTS[name]
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = folder / "requirements.sha256"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == wanted and python.exists():
        return python
    print(f"Setting up {folder.name} from {requirements.relative_to(REPO)} (first run only)...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    stamp.write_text(wanted + "\n")
    return python


_APT_LISTS_UPDATED = False


def apt_install(packages: list[str], purpose: str) -> None:
    """Install Debian packages (as root); the package lists are updated once per run."""
    global _APT_LISTS_UPDATED
    print(f"Installing {' '.join(packages)} from Debian's packages{purpose} (first run only)...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _APT_LISTS_UPDATED:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        _APT_LISTS_UPDATED = True
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=env)


# Real DICOM archives for the network tests (Testing/Tests/network): Debian package -> a file it installs.
DEBIAN_SERVERS = {"orthanc": "Orthanc", "orthanc-dicomweb": "/usr/share/orthanc/plugins/libOrthancDicomWeb.so", "dcmtk": "storescu"}


def _installed(program_or_path: str) -> bool:
    """A program on PATH, or a path (a glob pattern) that exists."""
    return bool(glob.glob(program_or_path)) if os.sep in program_or_path else shutil.which(program_or_path) is not None


def install_missing(missing: list[str], purpose: str, without: str, needed_in_ci: str | None = None) -> None:
    """Install the ``missing`` Debian packages as root with apt-get (``purpose`` says what for). Elsewhere say what
    their absence costs (``without``) and how to install them; under CI=true, stop instead when the tests cannot do
    without them (``needed_in_ci`` names them).
    """
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        if needed_in_ci and os.environ.get("CI", "").lower() == "true":
            raise SystemExit(f"CI: {needed_in_ci} not installed and cannot be installed here (not root with apt-get): {' '.join(missing)}")
        print(f"Not installed: {' '.join(missing)} (Debian packages{purpose}); {without}. Install them with: sudo apt-get install {' '.join(missing)}", flush=True)
        return
    apt_install(missing, purpose)


def ensure_debian_servers() -> None:
    """Install Orthanc, its DICOMweb plugin and dcmtk from Debian's packages when missing (as root with apt-get; else say how)."""
    missing = [package for package, program in DEBIAN_SERVERS.items() if not _installed(program)]
    install_missing(missing, "", "the archive tests will be skipped", needed_in_ci="the archives the tests need are")


# What building CTK's DICOM Core and its binding needs (Testing/Harness/ctk_dicom): Debian package -> a file it installs.
CTK_BUILD_PACKAGES = {
    "qtbase5-dev": "/usr/lib/*/cmake/Qt5Sql/Qt5SqlConfig.cmake",  # a pattern: the folder is the architecture's
    "libdcmtk-dev": "/usr/include/dcmtk/dcmdata/dctk.h",
    "pybind11-dev": "/usr/include/pybind11/pybind11.h",
    "cmake": "cmake",
    "g++": "g++",
}


def ensure_ctk_build_packages() -> None:
    """Install what building CTK's DICOM database for the tests needs, when missing (as root with apt-get; else say how)."""
    missing = [package for package, program in CTK_BUILD_PACKAGES.items() if not _installed(program)]
    install_missing(missing, " to build CTK's DICOM database for the tests", "the tests of Slicer's DICOM database will fail")


def build_ctk(python: str, env: dict) -> int:
    """Build (first run) or bring up to date CTK's DICOM database for the tests, with the environment's python."""
    return subprocess.run([python, str(REPO / "Testing" / "Harness" / "ctk_dicom_build.py")], cwd=REPO, env=env, check=False, stdout=subprocess.DEVNULL).returncode


# Shared libraries PyQt5's Qt needs for the offscreen panel tests (Testing/Harness/slicer_app) -> Debian 12 package.
QT_LIBRARIES = {
    "libGL.so.1": "libgl1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libX11.so.6": "libx11-6",
}


def ensure_qt_libraries() -> None:
    """Install the Debian libraries Qt loads (and a font for the screenshot) when missing, as root with apt-get."""
    known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout if shutil.which("ldconfig") else ""
    missing = sorted({package for library, package in QT_LIBRARIES.items() if library not in known})
    if not Path("/usr/share/fonts/truetype/dejavu").is_dir():
        missing.append("fonts-dejavu-core")
    install_missing(missing, " for Qt", "the panel tests will fail")


# The web viewer tests (Testing/Tests/network/test_web_viewer.py): node and npm come with the machine; chromium is
# Debian's; the npm packages and the OHIF app are pinned in Testing/Harness/web_viewer/package.json.
def ensure_web_viewer() -> None:
    """Install Debian's chromium (as root with apt-get) and the web viewer harness's pinned npm packages and OHIF app
    when missing; outside CI a missing tool only skips those tests, under CI=true it fails the run.
    """
    sys.path.insert(0, str(REPO / "Testing" / "Harness"))
    import web_viewer  # standard library only

    install_missing([] if web_viewer.CHROMIUM.exists() else ["chromium"], " for the OHIF viewer tests", "the OHIF viewer tests will be skipped", needed_in_ci="chromium is")
    missing = web_viewer.missing_tools(browser=False)
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            raise SystemExit(f"CI: the web viewer tests need {' '.join(missing)} (Debian packages nodejs, npm)")
        print(f"Not installed: {' '.join(missing)} (Debian packages nodejs, npm); the web viewer tests will be skipped.", flush=True)
        return
    web_viewer.install()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "lint"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=os.pathsep.join([str(REPO / "FAExport"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    if command == "test":
        ensure_debian_servers()
        ensure_qt_libraries()
        ensure_ctk_build_packages()
        ensure_web_viewer()
        failed = 0
        for name in ENVIRONMENTS:
            python = str(ensure_venv(name))
            failed |= build_ctk(python, env)  # on failure it says why; the database's tests then fail with the same message
            print(f"== tests with the {name!r} environment ({ENVIRONMENTS[name][1].name})", flush=True)
            failed |= subprocess.run([python, "-m", "pytest", *rest], cwd=REPO, env=env, check=False).returncode
        return failed
    python = str(ensure_venv())
    if command == "demo":
        args = [python, str(REPO / "Testing" / "demo.py"), *rest]
    else:
        args = [python, "-m", "ruff", "check", *(rest or [str(REPO)])]
    return subprocess.run(args, cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
