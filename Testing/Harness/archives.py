"""Real archives on loopback for the tests: Orthanc (with its DICOMweb plugin) and dcmtk's storescp.

Each runs with its own configuration, storage folder and free ports, on 127.0.0.1 only, and is stopped by
the fixture that started it. The servers come from Debian's packages (orthanc, orthanc-dicomweb, dcmtk);
``Testing/run.py test`` installs them. Without them the archive tests are skipped, except under ``CI=true``,
where a missing or unstartable archive fails the run.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from processes import stop_process

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
PROGRAMS = ("Orthanc", "storescu", "storescp")
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing_servers() -> list[str]:
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if not DICOMWEB_PLUGIN.exists():
        missing.append(str(DICOMWEB_PLUGIN))
    return missing


def require_servers():
    """pytestmark for archive tests: skip without the servers, but never in CI (there a missing archive fails)."""
    missing = missing_servers()
    return pytest.mark.skipif(
        bool(missing) and not IN_CI,
        reason=f"not installed: {', '.join(missing)} (Debian packages orthanc, orthanc-dicomweb, dcmtk; python3 Testing/run.py test installs them)",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server exited with {process.returncode}: {process.stdout.read() if process.stdout else ''}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


class Orthanc:
    """One Orthanc process on loopback; ``start()`` again on the same folder keeps what it stored."""

    def __init__(self, folder: Path, aet: str = "ORTHANC", users: dict[str, str] | None = None, lua: str | None = None):
        self.folder = folder
        self.aet = aet
        self.dicom_port, self.http_port = free_port(), free_port()
        self.users = users or {}
        config = {
            "Name": "FAExportTest",
            "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "index"),
            "DicomAet": aet,
            "DicomPort": self.dicom_port,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": bool(self.users),
            "RegisteredUsers": self.users,
            "DicomCheckCalledAet": True,
            "Plugins": [str(DICOMWEB_PLUGIN)],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }
        if lua is not None:
            (folder / "filter.lua").write_text(lua)
            config["LuaScripts"] = [str(folder / "filter.lua")]
        (folder / "orthanc.json").write_text(json.dumps(config))
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.base}/dicom-web"

    def start(self) -> "Orthanc":
        self.process = subprocess.Popen(["Orthanc", str(self.folder / "orthanc.json")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_port(self.http_port, self.process)
        wait_for_port(self.dicom_port, self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def get(self, path: str, data: bytes | None = None):
        request = urllib.request.Request(self.base + path, data=data)
        if self.users:
            import base64

            user, password = next(iter(self.users.items()))
            request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return body if path.endswith("/file") else json.loads(body)

    def stored_sop_instance_uids(self) -> set[str]:
        """Every SOPInstanceUID the archive holds."""
        uids = set()
        for instance_id in self.get("/instances"):
            uids.add(self.get(f"/instances/{instance_id}")["MainDicomTags"]["SOPInstanceUID"])
        return uids


def orthanc_fixture(tmp_path_factory, name: str = "orthanc", **options):
    """Start an Orthanc for a test module; yields it, stops it afterwards."""
    archive = Orthanc(tmp_path_factory.mktemp(name), **options).start()
    try:
        yield archive
    finally:
        archive.stop()


def classic_only_fixture(tmp_path_factory):
    """Start a storescp accepting only MR, CT and Secondary Capture storage (no Parametric Map) for a test module."""
    archive = StoreSCP(tmp_path_factory.mktemp("classic"), classic_only=True).start()
    try:
        yield archive
    finally:
        archive.stop()


# storescp accepting only classic storage classes (MR, CT, single- and multi-frame Secondary Capture):
# the dcmtk association negotiation profile format (dcmtk's storescp.cfg), written for this test.
CLASSIC_ONLY_STORESCP_CONFIG = """\
[[TransferSyntaxes]]
[Uncompressed]
TransferSyntax1 = LocalEndianExplicit
TransferSyntax2 = OppositeEndianExplicit
TransferSyntax3 = LittleEndianImplicit

[[PresentationContexts]]
[ClassicStorage]
PresentationContext1 = MRImageStorage\\Uncompressed
PresentationContext2 = CTImageStorage\\Uncompressed
PresentationContext3 = SecondaryCaptureImageStorage\\Uncompressed
PresentationContext4 = MultiframeGrayscaleWordSecondaryCaptureImageStorage\\Uncompressed

[[Profiles]]
[ClassicOnly]
PresentationContexts = ClassicStorage
"""


class StoreSCP:
    """dcmtk's storescp on loopback writing into ``folder``; ``classic_only`` refuses every other SOP class."""

    def __init__(self, folder: Path, aet: str = "STORESCP", classic_only: bool = False):
        self.folder, self.aet, self.port = folder, aet, free_port()
        self.received = folder / "received"
        self.received.mkdir()
        self.arguments = ["storescp", "--aetitle", aet, "--output-directory", str(self.received)]
        if classic_only:
            (folder / "storescp.cfg").write_text(CLASSIC_ONLY_STORESCP_CONFIG)
            self.arguments += ["--config-file", str(folder / "storescp.cfg"), "ClassicOnly"]
        self.process: subprocess.Popen | None = None

    def start(self) -> "StoreSCP":
        self.process = subprocess.Popen([*self.arguments, str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_port(self.port, self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def received_files(self) -> list[Path]:
        return sorted(path for path in self.received.iterdir() if path.is_file())
