"""Real archives on loopback: Orthanc and dcmtk's storescp receive every mode over DICOM C-STORE (dcmtk storescu).

The servers come from Debian's packages (``orthanc``, ``dcmtk``); ``Testing/run.py test`` installs them when
missing. Each archive must accept every file, and what it gives back must decode to the exported values.
"""

import io
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, map_values
from readers import decoded_values

from FAExportLib import export_volume

SERVERS = ("Orthanc", "storescu", "storescp")
pytestmark = pytest.mark.skipif(
    any(shutil.which(name) is None for name in SERVERS),
    reason="Debian packages orthanc and dcmtk are not installed (python3 Testing/run.py test installs them)",
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


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    """Orthanc on loopback with a private storage folder; yields (DICOM port, REST base URL)."""
    folder = tmp_path_factory.mktemp("orthanc")
    dicom_port, http_port = free_port(), free_port()
    config = {
        "Name": "FAExportTest",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": True,
        "Plugins": [],
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    process = subprocess.Popen(["Orthanc", str(folder / "orthanc.json")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(http_port, process)
        wait_for_port(dicom_port, process)
        yield dicom_port, f"http://127.0.0.1:{http_port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def storescp(tmp_path_factory):
    """dcmtk's storescp with its default (non-promiscuous) configuration: it refuses SOP classes it does not know."""
    folder = tmp_path_factory.mktemp("storescp")
    port = free_port()
    process = subprocess.Popen(["storescp", "--aetitle", "STORESCP", "--output-directory", str(folder), str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, process)
        yield port, folder
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One export per mode of an oblique FA map: mode -> SeriesResult (mr+pm gives both)."""
    geometry = GEOMETRIES["oblique"]
    values = map_values("fa", geometry.shape).transpose(2, 1, 0)  # [k, j, i]
    series = {}
    for mode in ("mr", "sc", "pm"):
        (series[mode],) = export_volume(values, geometry.affine, tmp_path_factory.mktemp(mode), mode=mode).series
    return series, values


def store(port: int, called_aet: str, files) -> subprocess.CompletedProcess:
    """C-STORE with dcmtk's storescu, proposing exactly the SOP classes of the files (-R)."""
    return subprocess.run(["storescu", "--required", "--aetitle", "FAEXPORT", "--call", called_aet, "127.0.0.1", str(port), *map(str, files)], capture_output=True, text=True, timeout=120, check=False)


def orthanc_get(base: str, path: str, data: bytes | None = None):
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=30) as response:
        body = response.read()
    return body if path.endswith("/file") else json.loads(body)


@pytest.mark.parametrize("mode", ["mr", "sc", "pm"])
def test_orthanc_accepts_each_mode_and_returns_the_same_values(tmp_path, orthanc, exported, mode):
    dicom_port, base = orthanc
    series_by_mode, values = exported
    series = series_by_mode[mode]
    result = store(dicom_port, "ORTHANC", series.files)
    assert result.returncode == 0, result.stderr
    (found,) = orthanc_get(base, "/tools/lookup", data=series.series_instance_uid.encode())
    assert found["Type"] == "Series"
    instances = orthanc_get(base, f"/series/{found['ID']}/instances")
    assert len(instances) == len(series.files)
    by_sop = {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID: path for path in series.files}
    for instance in instances:
        returned = pydicom.dcmread(io.BytesIO(orthanc_get(base, f"/instances/{instance['ID']}/file")))
        original = pydicom.dcmread(by_sop[returned.SOPInstanceUID])
        assert np.array_equal(decoded_values(returned), decoded_values(original))
        assert returned.SOPClassUID == original.SOPClassUID
    if mode != "mr":  # one multi-frame file, frames in k order for this positive-determinant grid
        (path,) = series.files
        assert np.max(np.abs(decoded_values(pydicom.dcmread(path)) - values)) <= series.max_quantization_error


@pytest.mark.parametrize("mode", ["mr", "sc", "pm"])
def test_dcmtk_storescp_with_its_default_configuration(tmp_path, storescp, exported, mode):
    """A strict archive: storescp accepts only the storage SOP classes it knows (no --promiscuous)."""
    port, folder = storescp
    series = exported[0][mode]
    result = store(port, "STORESCP", series.files)
    assert result.returncode == 0, result.stderr
    received = {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in Path(folder).iterdir() if path.is_file()}
    sent = {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in series.files}
    assert sent <= received
