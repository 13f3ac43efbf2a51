"""Real web-viewer code on FAExport's output: cornerstone3D's DICOM decoding under node, and the OHIF viewer in
headless Chromium against an archive's DICOMweb.

Everything comes from the registries by pinned version: ``package.json`` and its lockfile pin cornerstone3D
(``@cornerstonejs/core``, ``@cornerstonejs/dicom-image-loader``), ``dicom-parser`` and ``playwright-core``; its
``ohifApp`` entry pins the OHIF viewer's npm package ``@ohif/app``, whose tarball ships the built app (``dist/``).
Chromium is Debian's ``chromium`` package. ``install()`` puts the npm parts in this folder (``node_modules/``,
``ohif-app/``, both ignored by git) on first use; ``Testing/run.py test`` calls it.

Standard library only (``Testing/run.py`` imports this module before any environment exists).
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from processes import stop_process

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
OHIF_APP = HERE / "ohif-app"
OHIF_DIST = OHIF_APP / "dist"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
NODE_TIMEOUT = 300  # seconds for one node script; a decode takes about a second, an OHIF page load under 30
_LOCK_STAMP = NODE_MODULES / ".faexport-lock.sha256"


def missing_tools(*, browser: bool = True) -> list[str]:
    """The programs this harness needs that are not installed: node and npm (Debian nodejs, npm) and, with
    ``browser``, chromium (Debian chromium; only OHIF needs it, cornerstone's decoding runs under node alone).
    """
    missing = [name for name in ("node", "npm") if shutil.which(name) is None]
    if browser and not CHROMIUM.exists():
        missing.append(str(CHROMIUM))
    return missing


def _lock_digest() -> str:
    return hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()


def npm_packages_installed() -> bool:
    """True when node_modules holds exactly what package-lock.json pins (installed by ``install``)."""
    return _LOCK_STAMP.exists() and _LOCK_STAMP.read_text().strip() == _lock_digest()


def ohif_app_pin() -> dict:
    """The pinned OHIF app package: {package, version, integrity} from package.json's ``ohifApp``."""
    return json.loads((HERE / "package.json").read_text())["ohifApp"]


def ohif_app_installed() -> bool:
    stamp = OHIF_APP / "integrity"
    return (OHIF_DIST / "index.html").exists() and stamp.exists() and stamp.read_text().strip() == ohif_app_pin()["integrity"]


def _install_npm_packages() -> None:
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    _LOCK_STAMP.write_text(_lock_digest() + "\n")


def _install_ohif_app() -> None:
    """npm pack the pinned @ohif/app, check its sha512 against the pin, and unpack only its built app (dist/)."""
    pin = ohif_app_pin()
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run(
            ["npm", "pack", f"{pin['package']}@{pin['version']}", "--pack-destination", scratch, "--json"],
            cwd=scratch, check=True, capture_output=True, text=True,
        )
        tarball = Path(scratch) / json.loads(packed.stdout)[0]["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != pin["integrity"]:
            raise RuntimeError(f"{tarball.name}: sha512 {digest} is not the pinned {pin['integrity']} (package.json ohifApp); pin the version again or find out why it changed")
        shutil.rmtree(OHIF_APP, ignore_errors=True)
        OHIF_APP.mkdir()
        with tarfile.open(tarball) as archive:
            members = [member for member in archive.getmembers() if member.name.startswith("package/dist/") and (member.isfile() or member.isdir())]
            for member in members:
                member.name = member.name.removeprefix("package/")
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse links and paths out of the folder
                archive.extractall(OHIF_APP, members=members, filter="data")
            else:
                archive.extractall(OHIF_APP, members=members)
    (OHIF_APP / "integrity").write_text(pin["integrity"] + "\n")


def install() -> None:
    """Install the pinned npm packages and the OHIF app into this folder when missing or stale (needs node and npm)."""
    if not npm_packages_installed():
        print("Installing cornerstone3D, dicom-parser and playwright-core from the npm registry (first run only)...", flush=True)
        _install_npm_packages()
    if not ohif_app_installed():
        print(f"Fetching the OHIF viewer's built app ({ohif_app_pin()['package']} {ohif_app_pin()['version']}) from the npm registry (first run only)...", flush=True)
        _install_ohif_app()


def run_node(script: str, *arguments: str, timeout: float = NODE_TIMEOUT) -> dict:
    """Run one of this folder's node scripts; its stdout is one JSON object. Raises with its stderr when it fails."""
    result = subprocess.run(["node", str(HERE / script), *arguments], cwd=HERE, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"node {script} exited with {result.returncode}: {result.stderr.strip()[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def cornerstone_decode(files, *, float_textures: bool = True) -> dict:
    """What cornerstone3D's own loaders make of one series' files (see cornerstone_decode.mjs for the fields)."""
    options = [] if float_textures else ["--no-float-textures"]
    return run_node("cornerstone_decode.mjs", *options, *map(str, files))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OhifServer:
    """serve_ohif.mjs on a free loopback port: OHIF's built app with ``dicomweb`` proxied under /dicom-web."""

    def __init__(self, dicomweb: str):
        self.dicomweb = dicomweb
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def viewer_url(self, study_instance_uid: str) -> str:
        return f"{self.base}/viewer?StudyInstanceUIDs={study_instance_uid}"

    def start(self) -> "OhifServer":
        self.process = subprocess.Popen(
            ["node", str(HERE / "serve_ohif.mjs"), str(OHIF_DIST), self.dicomweb, str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve_ohif.mjs exited with {self.process.returncode}: {self.process.stdout.read()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"serve_ohif.mjs does not listen on port {self.port} after 30 s")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


def ohif_screenshot(url: str, screenshot: Path, *, open_thumbnail: str | None = None, timeout: float = 120) -> dict:
    """Open ``url`` in headless Chromium, optionally double-click the study browser's thumbnail whose text holds
    ``open_thumbnail``, save ``screenshot``; return what each viewport shows (see ohif_screenshot.mjs).
    """
    arguments = [url, str(screenshot), str(int(timeout))]
    if open_thumbnail is not None:
        arguments.append(open_thumbnail)
    return run_node("ohif_screenshot.mjs", *arguments, timeout=timeout * 3)
