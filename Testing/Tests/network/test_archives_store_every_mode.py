"""Real archives on loopback: Orthanc and dcmtk's storescp receive every mode over DICOM C-STORE (dcmtk storescu).

The servers come from Debian's packages (``orthanc``, ``dcmtk``) and are started as Testing/Harness/archives.py
describes; ``Testing/run.py test`` installs them when missing. Each archive must accept every file, and what it
gives back must decode to the exported values.
"""

import io
import json
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pydicom
import pytest
from archives import StoreSCP, orthanc_fixture, require_servers
from conftest import GEOMETRIES, map_values
from readers import decoded_values

from FAExportLib import export_volume

pytestmark = require_servers()


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    """Orthanc on loopback with a private storage folder; yields (DICOM port, REST base URL)."""
    for archive in orthanc_fixture(tmp_path_factory):
        yield archive.dicom_port, archive.base


@pytest.fixture(scope="module")
def storescp(tmp_path_factory):
    """dcmtk's storescp with its default (non-promiscuous) configuration: it refuses SOP classes it does not know."""
    archive = StoreSCP(tmp_path_factory.mktemp("storescp")).start()
    try:
        yield archive.port, archive.received
    finally:
        archive.stop()


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
