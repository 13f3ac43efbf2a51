"""Sending after export, into real archives on loopback: Orthanc with DICOMweb, and a storescp that accepts only classic storage.

Every mode arrives by C-STORE and by STOW-RS and comes back (Orthanc's REST API, WADO-RS) with identical pixel
data decoding to the exported values; a Parametric Map refused by an archive gives the one clear message, the
local series stays intact and --fallback sends the fallback in the same study and frame of reference; an
archive stopped mid-send leaves a result listing exactly what arrived; wrong ports, silent hosts and wrong AE
titles give one-line errors within a bounded time; secrets never show. All traffic goes to 127.0.0.1.
"""

import hashlib
import io
import json
import os
import socket
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from archives import Orthanc, classic_only_fixture, orthanc_fixture, require_servers
from conftest import GEOMETRIES, map_values, run_cli, write_volume
from readers import decoded_values

from FAExportLib import export_volume
from FAExportLib.send import FAILED, PARAMETRIC_MAP_STORAGE, REFUSED, STORED, DimseDestination, SendError, StowDestination, send_files
from FAExportLib.workflow import send_series

pytestmark = require_servers()
TIMEOUT = 5.0  # the tests' send timeout (seconds); a bounded error must come well within a few of these
MODES = ("mr", "sc", "pm")
SECRET = "s3cret-Pa55word"
TOKEN = "t0ken-abcdef-123456"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    yield from orthanc_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def classic_only(tmp_path_factory):
    """dcmtk storescp accepting only MR, CT and Secondary Capture storage (no Parametric Map)."""
    yield from classic_only_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def fa_map(tmp_path_factory):
    """An oblique FA map: (values[k, j, i], affine, NIfTI path)."""
    geometry = GEOMETRIES["oblique"]
    values = map_values("fa", geometry.shape)
    path = write_volume(tmp_path_factory.mktemp("input") / "fa.nii.gz", values, geometry.affine)
    return values.transpose(2, 1, 0), geometry.affine, path


def export(fa_map, folder: Path, mode: str):
    values, affine, _ = fa_map
    return export_volume(values, affine, folder, mode=mode).series


def dimse(archive, called: str | None = None, port: int | None = None) -> DimseDestination:
    port = port or (archive.dicom_port if isinstance(archive, Orthanc) else archive.port)
    return DimseDestination.parse(f"127.0.0.1:{port}", called or archive.aet, "FAEXPORTTEST", TIMEOUT)


def digest(paths) -> dict[str, str]:
    return {str(path): hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in paths}


def pixel_bytes(ds) -> bytes:
    return ds.FloatPixelData if "FloatPixelData" in ds else ds.PixelData


def assert_same_instances(local_files, returned: list[pydicom.Dataset], values, bound: float):
    """Identical pixel data, same SOP class, decoded values equal to the local files' and within the export bound."""
    by_uid = {pydicom.dcmread(path).SOPInstanceUID: pydicom.dcmread(path) for path in local_files}
    assert sorted(ds.SOPInstanceUID for ds in returned) == sorted(by_uid)
    for ds in returned:
        original = by_uid[ds.SOPInstanceUID]
        assert ds.SOPClassUID == original.SOPClassUID
        assert pixel_bytes(ds) == pixel_bytes(original)
        assert np.array_equal(decoded_values(ds), decoded_values(original))
    if len(returned) == 1:  # multi-frame: frames in k order for this positive-determinant grid
        assert np.max(np.abs(decoded_values(returned[0]) - values)) <= bound + 1e-12


def from_orthanc(orthanc: Orthanc, series) -> list[pydicom.Dataset]:
    (found,) = orthanc.get("/tools/lookup", data=series.series_instance_uid.encode())
    return [pydicom.dcmread(io.BytesIO(orthanc.get(f"/instances/{item['ID']}/file"))) for item in orthanc.get(f"/series/{found['ID']}/instances")]


def from_wado_rs(orthanc: Orthanc, series) -> list[pydicom.Dataset]:
    from dicomweb_client.api import DICOMwebClient

    client = DICOMwebClient(url=orthanc.dicomweb)
    return client.retrieve_series(series.study_instance_uid, series.series_instance_uid)


# --- every mode, both protocols, back with identical pixels


@pytest.mark.parametrize("protocol", ["dimse", "stow"])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_arrives_and_comes_back_identical(tmp_path, orthanc, fa_map, mode, protocol):
    (series,) = export(fa_map, tmp_path, mode)
    destination = dimse(orthanc) if protocol == "dimse" else StowDestination.parse(orthanc.dicomweb, timeout=TIMEOUT)
    sent = send_files(series.files, destination)
    assert sent.state == "complete", sent.summary()
    assert [item.outcome for item in sent.instances] == [STORED] * len(series.files)
    assert all(item.status == 0 for item in sent.instances)
    returned = from_orthanc(orthanc, series) if protocol == "dimse" else from_wado_rs(orthanc, series)
    assert_same_instances(series.files, returned, fa_map[0], series.max_quantization_error)


@pytest.mark.parametrize("option", ["--send-dimse", "--send-stow"])
def test_cli_mr_plus_pm_sends_both_series_and_reports_each_instance(tmp_path, orthanc, fa_map, option):
    target = f"127.0.0.1:{orthanc.dicom_port}" if option == "--send-dimse" else orthanc.dicomweb
    extra = ["--called-ae", orthanc.aet] if option == "--send-dimse" else []
    completed = run_cli("export", str(fa_map[2]), str(tmp_path / "out"), "--mode", "mr+pm", option, target, *extra, "--send-timeout", "10", "--json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["send"]["state"] == "complete"
    files = [path for series in report["series"] for path in series["files"]]
    assert report["send"]["total"] == len(files) == len(report["send"]["arrived"])
    assert {item["file"] for item in report["send"]["instances"]} == set(files)
    assert all(item["outcome"] == "stored" and item["status_hex"] == "0x0000" for item in report["send"]["instances"])
    assert set(report["send"]["arrived"]) <= orthanc.stored_sop_instance_uids()


# --- an archive that refuses the Parametric Map


def test_refused_parametric_map_gives_the_message_and_keeps_the_series(tmp_path, classic_only, fa_map):
    series = export(fa_map, tmp_path, "mr+pm")
    files = [path for item in series for path in item.files]
    before = digest(files)
    sent = send_series(series, dimse(classic_only))
    assert sent.state == "partial"
    assert sent.refused_classes == [PARAMETRIC_MAP_STORAGE]
    pm = [item for item in sent.instances if item.sop_class_uid == PARAMETRIC_MAP_STORAGE]
    assert [item.outcome for item in pm] == [REFUSED] and pm[0].context_result == 3
    assert all(item.outcome == STORED for item in sent.instances if item.sop_class_uid != PARAMETRIC_MAP_STORAGE)
    (message,) = [line for line in sent.messages() if "Parametric Map Storage" in line]
    assert message.startswith("the archive refused Parametric Map Storage (1.2.840.10008.5.1.4.1.1.30): presentation context rejected")
    assert "mode mr or sc, which carry the values as integers with one rescale slope" in message
    assert "\n" not in message
    assert digest(files) == before  # nothing lost or changed locally
    received = {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in classic_only.received_files()}
    assert set(sent.to_json()["arrived"]) <= received
    assert pm[0].sop_instance_uid not in received


def test_cli_refused_pm_exits_4_with_one_line_and_the_files_stay(tmp_path, classic_only, fa_map):
    completed = run_cli(
        "export", str(fa_map[2]), str(tmp_path / "out"), "--mode", "pm", "--send-dimse", f"127.0.0.1:{classic_only.port}", "--called-ae", classic_only.aet, "--json",
    )
    assert completed.returncode == 4, completed.stderr
    report = json.loads(completed.stdout)
    assert report["send"]["state"] == "none" and report["send"]["refused_sop_classes"] == [PARAMETRIC_MAP_STORAGE]
    refusal = [line for line in completed.stderr.splitlines() if "Parametric Map Storage" in line]
    assert len(refusal) == 1 and "mode mr or sc" in refusal[0]
    (pm,) = report["series"]
    assert all(Path(path).is_file() for path in pm["files"])
    assert pydicom.dcmread(pm["files"][0]).SOPClassUID == PARAMETRIC_MAP_STORAGE


@pytest.mark.parametrize("fallback", ["sc", "mr"])
def test_cli_fallback_sends_the_fallback_in_the_same_study_and_frame_of_reference(tmp_path, classic_only, fa_map, fallback):
    completed = run_cli(
        "export", str(fa_map[2]), str(tmp_path / "out"), "--mode", "pm", "--fallback", fallback,
        "--send-dimse", f"127.0.0.1:{classic_only.port}", "--called-ae", classic_only.aet, "--json",
    )  # fmt: skip
    assert completed.returncode == 5, completed.stderr
    report = json.loads(completed.stdout)
    (pm,) = report["series"]
    fallback_report = report["send"]["fallback"]
    assert fallback_report["mode"] == fallback and fallback_report["send"]["state"] == "complete"
    assert any(f"so the {fallback.upper()} series was sent instead" in line for line in report["send"]["messages"])
    (series,) = fallback_report["series"]
    assert series["study_instance_uid"] == pm["study_instance_uid"]
    assert series["frame_of_reference_uid"] == pm["frame_of_reference_uid"]
    assert series["series_instance_uid"] != pm["series_instance_uid"]
    received = {ds.SOPInstanceUID: ds for ds in (pydicom.dcmread(path, stop_before_pixels=True) for path in classic_only.received_files())}
    local_pm = pydicom.dcmread(pm["files"][0], stop_before_pixels=True)
    for path in series["files"]:
        arrived = received[pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID]
        assert (arrived.StudyInstanceUID, arrived.FrameOfReferenceUID, arrived.PatientID) == (local_pm.StudyInstanceUID, local_pm.FrameOfReferenceUID, local_pm.PatientID)
    assert Path(pm["files"][0]).is_file()  # the PM stays local


def test_fallback_that_cannot_be_exported_keeps_the_first_result(tmp_path, classic_only, fa_map):
    completed = run_cli(
        "export", str(fa_map[2]), str(tmp_path / "out"), "--mode", "pm", "--fallback", "mr", "--scale", "1000000",
        "--send-dimse", f"127.0.0.1:{classic_only.port}", "--called-ae", classic_only.aet, "--json",
    )  # fmt: skip
    assert completed.returncode == 4, completed.stderr
    send = json.loads(completed.stdout)["send"]
    assert send["refused_sop_classes"] == [PARAMETRIC_MAP_STORAGE] and send["fallback"] is None
    (note,) = [line for line in send["messages"] if "fallback could not be exported" in line]
    assert "the MR fallback could not be exported" in note and "int16" in note


def test_mr_plus_pm_with_fallback_mr_sends_no_second_mr(tmp_path, classic_only, fa_map):
    series = export(fa_map, tmp_path, "mr+pm")
    sent = send_series(series, dimse(classic_only), fallback="mr", reencode=lambda mode, pm: pytest.fail("no re-encoding expected"))
    assert sent.fallback is None
    assert any("already carries the values" in line for line in sent.messages())


# --- the archive stops mid-send


@pytest.mark.parametrize("protocol", ["dimse", "stow"])
def test_archive_stopped_mid_send_lists_exactly_what_arrived(tmp_path, fa_map, protocol):
    (tmp_path / "archive").mkdir()
    archive = Orthanc(tmp_path / "archive").start()
    try:
        (series,) = export(fa_map, tmp_path / "out", "mr")
        before = digest(series.files)
        destination = dimse(archive) if protocol == "dimse" else StowDestination.parse(archive.dicomweb, timeout=TIMEOUT)

        def stop_after_three(message: str, done: int) -> bool:
            if done == 3:
                archive.stop()
            return False

        sent = send_files(series.files, destination, progress=stop_after_three)
        assert sent.state == "partial"
        assert [item.outcome for item in sent.instances[:3]] == [STORED] * 3
        assert all(item.outcome == FAILED for item in sent.instances[3:])
        assert sent.error and "\n" not in sent.error
        assert any(line.startswith("partial send: 3 of") for line in sent.messages())
        archive.start()  # same storage: what did really arrive?
        assert archive.stored_sop_instance_uids() == set(sent.to_json()["arrived"])
        assert digest(series.files) == before
    finally:
        archive.stop()


def test_cancel_stops_sending_and_lists_what_arrived(tmp_path, orthanc, fa_map):
    (series,) = export(fa_map, tmp_path, "mr")
    sent = send_files(series.files, dimse(orthanc), progress=lambda message, done: done == 2)
    assert [item.outcome for item in sent.instances[:2]] == [STORED] * 2
    assert {item.meaning for item in sent.instances[2:]} == {"not sent: sending was cancelled"}
    assert sent.state == "partial" and set(sent.to_json()["arrived"]) <= orthanc.stored_sop_instance_uids()
    assert not {item.sop_instance_uid for item in sent.instances[2:]} & orthanc.stored_sop_instance_uids()


# --- unreachable, silent, wrong AE: one line, bounded time


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections and never answers (a host that hangs)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def assert_one_line_soon(sent, started: float, *words: str):
    elapsed = time.monotonic() - started
    assert elapsed < 3 * TIMEOUT + 5, f"took {elapsed:.1f} s"
    assert sent.state == "none" and sent.error and "\n" not in sent.error
    for word in words:
        assert word in sent.error, sent.error
    assert all(item.outcome == FAILED for item in sent.instances)


def closed_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range: a connection to a closed ephemeral port on loopback
    can be answered by the connecting socket itself (TCP self-connect, when the kernel picks that port as its source),
    which then looks like a server aborting the association.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]) if Path("/proc/sys/net/ipv4/ip_local_port_range").exists() else 32768
    for port in range(low - 1, 1024, -1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral range")


@pytest.mark.parametrize("protocol", ["dimse", "stow"])
def test_wrong_port_is_one_line(tmp_path, fa_map, protocol):
    (series,) = export(fa_map, tmp_path, "pm")
    port = closed_port()
    destination = dimse(None, "ANY", port) if protocol == "dimse" else StowDestination.parse(f"http://127.0.0.1:{port}/dicom-web", timeout=TIMEOUT)
    started = time.monotonic()
    assert_one_line_soon(send_files(series.files, destination), started, "connection refused", str(port))


@pytest.mark.parametrize("protocol", ["dimse", "stow"])
def test_host_that_never_answers_times_out(tmp_path, fa_map, silent_port, protocol):
    (series,) = export(fa_map, tmp_path, "pm")
    destination = dimse(None, "ANY", silent_port) if protocol == "dimse" else StowDestination.parse(f"http://127.0.0.1:{silent_port}/dicom-web", timeout=TIMEOUT)
    started = time.monotonic()
    assert_one_line_soon(send_files(series.files, destination), started, f"{TIMEOUT:g} s")


def test_unreachable_loopback_host(tmp_path, fa_map):
    (series,) = export(fa_map, tmp_path, "pm")
    started = time.monotonic()
    sent = send_files(series.files, DimseDestination.parse(f"127.0.0.2:{closed_port()}", "ANY", timeout=TIMEOUT))
    assert_one_line_soon(sent, started, "cannot connect to ANY@127.0.0.2")


def test_wrong_called_ae_title(tmp_path, orthanc, fa_map):
    (series,) = export(fa_map, tmp_path, "pm")
    started = time.monotonic()
    sent = send_files(series.files, dimse(orthanc, called="NOTORTHANC"))
    assert_one_line_soon(sent, started, "rejected the association", "Called AE title not recognised", "--called-ae")


def test_cli_send_failure_is_one_line_exit_4_and_the_export_stands(tmp_path, fa_map):
    port = closed_port()
    completed = run_cli("export", str(fa_map[2]), str(tmp_path / "out"), "--mode", "sc", "--send-dimse", f"127.0.0.1:{port}", "--send-timeout", "5")
    assert completed.returncode == 4
    errors = [line for line in completed.stderr.splitlines() if line]
    assert errors == [f"faexport: error: cannot connect to ANY-SCP@127.0.0.1:{port}: connection refused (nothing listens on port {port}); check the host and port"]
    assert "Wrote SC series" in completed.stdout and "0 of 1 instances stored" in completed.stdout
    (folder,) = (tmp_path / "out").iterdir()
    assert len(list(folder.iterdir())) == 1


# --- secrets


@pytest.fixture(scope="module")
def guarded_orthanc(tmp_path_factory):
    yield from orthanc_fixture(tmp_path_factory, "guarded", users={"faexport": SECRET})


def test_stow_basic_auth_from_the_environment(tmp_path, guarded_orthanc, fa_map):
    env = {"FAEXPORT_STOW_PASSWORD": SECRET}
    completed = run_cli_env(env, "export", str(fa_map[2]), str(tmp_path / "out"), "--mode", "pm", "--send-stow", guarded_orthanc.dicomweb, "--stow-user", "faexport", "--json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["send"]["state"] == "complete"
    assert SECRET not in completed.stdout + completed.stderr
    for path in report["series"][0]["files"]:
        assert SECRET.encode() not in Path(path).read_bytes()


@pytest.mark.parametrize("credentials", [{"FAEXPORT_STOW_PASSWORD": "wrong-" + SECRET}, {"FAEXPORT_STOW_TOKEN": TOKEN}])
def test_refused_credentials_never_show(tmp_path, guarded_orthanc, fa_map, credentials):
    user = ["--stow-user", "faexport"] if "FAEXPORT_STOW_PASSWORD" in credentials else []
    completed = run_cli_env(credentials, "export", str(fa_map[2]), str(tmp_path / "out"), "--mode", "pm", "--send-stow", guarded_orthanc.dicomweb, *user, "--json")
    assert completed.returncode == 4
    report = json.loads(completed.stdout)
    assert report["send"]["instances"][0]["meaning"].startswith("HTTP 401")
    assert "not authorized" in report["send"]["error"]
    (secret,) = credentials.values()
    assert secret not in completed.stdout + completed.stderr


def run_cli_env(env: dict, *args: str):
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return run_cli(*args)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


# --- destinations refused before anything is written (no network)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--send-dimse", "pacs.example.org"], "is not HOST:PORT"),
        (["--send-dimse", "127.0.0.1:104", "--called-ae", "A" * 17], "is not an AE title"),
        (["--mode", "mr", "--fallback", "sc", "--send-dimse", "127.0.0.1:104"], "mode mr writes none"),
        (["--mode", "pm", "--fallback", "sc"], "add --send-dimse or --send-stow"),
        (["--send-stow", "ftp://127.0.0.1/dicom-web"], "is not an http(s) URL"),
        (["--send-stow", "http://pacs.example.org/dicom-web", "--stow-token", TOKEN], "refusing to send credentials in clear text"),
        (["--send-stow", "https://user:pw@pacs.example.org/dicom-web"], "put no user name or password in the STOW-RS URL"),
        (["--send-stow", "https://pacs.example.org/dicom-web", "--stow-user", "me"], "needs a password"),
    ],
)
def test_bad_destinations_are_refused_before_exporting(tmp_path, fa_map, args, message):
    completed = run_cli("export", str(fa_map[2]), str(tmp_path / "out"), *args)
    assert completed.returncode == 2
    (line,) = completed.stderr.splitlines()
    assert message in line and line.endswith("(nothing was written)")
    assert TOKEN not in line and not (tmp_path / "out").exists()


def test_fallback_outside_an_export_is_refused(tmp_path, fa_map):
    series = export(fa_map, tmp_path, "pm")
    with pytest.raises(SendError, match="must be one of sc, mr"):
        send_series(series, DimseDestination.parse("127.0.0.1:104"), fallback="pm")


# --- the Slicer logic (on slicer-core) and the batch script


@pytest.fixture
def slicer_database(tmp_path, monkeypatch):
    """Slicer's DICOM database as the DICOM module makes it available: CTK's own ctkDICOMDatabase (ctk_dicom_core.py)."""
    from dicom_database_views import open_database_in

    import slicer

    database = open_database_in(tmp_path / "SlicerDICOMDatabase")
    monkeypatch.setattr(slicer, "dicomDatabase", database, raising=False)
    return database


@pytest.fixture
def fa_node(fa_map):
    from FAExport import FAExportLogic

    import slicer

    scene = slicer.vtkMRMLScene()
    yield FAExportLogic.readVolumeFile(fa_map[2], scene)
    scene.Clear(True)


def test_logic_sends_from_the_database_and_falls_back_into_it(classic_only, fa_node, slicer_database):
    from FAExport import FAExportLogic

    result = FAExportLogic().exportVolume(fa_node, mode="pm", sendTo=dimse(classic_only), fallback="sc")
    (pm,) = result.series
    assert result.sent.refused_classes == [PARAMETRIC_MAP_STORAGE] and result.sent.fallback.sent.complete
    (sc,) = result.sent.fallback.series
    assert (sc.study_instance_uid, sc.frame_of_reference_uid) == (pm.study_instance_uid, pm.frame_of_reference_uid)
    assert len(slicer_database.filesForSeries(sc.series_instance_uid)) == 1 and len(slicer_database.filesForSeries(pm.series_instance_uid)) == 1
    assert all(item.file.startswith(slicer_database.databaseDirectory) for item in result.sent.instances)  # the database's verified copies
    assert "the archive refused Parametric Map Storage" in result.summary()
    # The browser lists both series in one study, the fallback's too, with CTK's displayed fields filled.
    from dicom_database_views import displayed_series

    shown = displayed_series(slicer_database)
    assert set(shown) == {pm.series_instance_uid, sc.series_instance_uid}
    assert [(fields["Count"], fields["NumberOfSeries"], fields["NumberOfStudies"]) for fields in shown.values()] == [(1, 2, 1)] * 2


def test_logic_send_series_by_stow_after_export(tmp_path, orthanc, fa_node):
    from FAExport import FAExportLogic

    logic = FAExportLogic()
    result = logic.exportVolume(fa_node, mode="sc", outputFolder=tmp_path, addToDatabase=False)
    sent = logic.sendSeries(result, StowDestination.parse(orthanc.dicomweb, timeout=TIMEOUT))
    assert sent.complete
    assert_same_instances(result.series[0].files, from_wado_rs(orthanc, result.series[0]), fa_map_values(fa_node), result.series[0].max_quantization_error)


def fa_map_values(node):
    import slicer

    return slicer.util.arrayFromVolume(node).astype(np.float64)


def test_logic_without_pynetdicom_explains_and_writes_nothing(tmp_path, monkeypatch, fa_node):
    import importlib

    from FAExport import FAExportLogic

    real_import = importlib.import_module

    def without_pynetdicom(name, *args):
        if name == "pynetdicom":
            raise ImportError("No module named 'pynetdicom'", name="pynetdicom")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_pynetdicom)
    with pytest.raises(SendError, match=r"needs the Python package pynetdicom>=2.1; install it once from Slicer's Python console: slicer.packaging.pip_install"):
        FAExportLogic().exportVolume(fa_node, mode="mr", outputFolder=tmp_path / "out", addToDatabase=False, sendTo=DimseDestination.parse("127.0.0.1:104"))
    assert not (tmp_path / "out").exists()


def test_batch_sends_each_file_and_exits_4_when_the_archive_refuses(tmp_path, orthanc, classic_only, fa_map):
    from slicer_harness.conftest import run_batch

    inputs = [str(fa_map[2])]
    completed = run_batch("--input", *inputs, "--output", str(tmp_path / "a"), "--no-database", "--mode", "pm", "--send-dimse", f"127.0.0.1:{orthanc.dicom_port}", "--called-ae", orthanc.aet, "--json")
    assert completed.returncode == 0, completed.stderr
    (item,) = json.loads(completed.stdout)["files"]
    assert item["send"]["state"] == "complete" and set(item["send"]["arrived"]) <= orthanc.stored_sop_instance_uids()
    refused = run_batch("--input", *inputs, "--output", str(tmp_path / "b"), "--no-database", "--mode", "pm", "--send-dimse", f"127.0.0.1:{classic_only.port}", "--called-ae", classic_only.aet)
    assert refused.returncode == 4, refused.stderr
    assert "the archive refused Parametric Map Storage" in refused.stdout
    bad = run_batch("--input", *inputs, "--output", str(tmp_path / "c"), "--no-database", "--send-dimse", "nowhere")
    assert bad.returncode == 2 and "is not HOST:PORT" in bad.stderr and not (tmp_path / "c").exists()


# --- a STOW-RS service that refuses the Parametric Map class (stand-in: Orthanc 1.10 cannot be told to)


class RefusingStowService:
    """A STOW-RS endpoint on loopback answering as PS3.18 10.5.3 describes a refusal.

    HTTP 409 with a FailedSOPSequence item whose FailureReason is 0x0122 for Parametric Maps, 200 with a
    ReferencedSOPSequence item for anything else. It records each request's Authorization header.
    """

    def __init__(self):
        import http.server
        import threading

        service = self
        self.authorizations: list[str | None] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 -- http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])) if "Content-Length" in self.headers else self._chunked()
                service.authorizations.append(self.headers.get("Authorization"))
                start = body.index(b"DICM") - 128
                ds = pydicom.dcmread(io.BytesIO(body[start:]), stop_before_pixels=True)
                item = pydicom.Dataset()
                item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
                answer = pydicom.Dataset()
                if ds.SOPClassUID == PARAMETRIC_MAP_STORAGE:
                    item.FailureReason = 0x0122
                    answer.FailedSOPSequence, code = [item], 409
                else:
                    answer.ReferencedSOPSequence, code = [item], 200
                payload = json.dumps(answer.to_json_dict()).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/dicom+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _chunked(self) -> bytes:
                data = b""
                while (size := int(self.rfile.readline().strip(), 16)) > 0:
                    data += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
                return data

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dicom-web"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def refusing_stow():
    service = RefusingStowService()
    yield service
    service.close()


def test_stow_refusal_of_the_parametric_map_class_and_the_bearer_token(tmp_path, fa_map, refusing_stow):
    series = export(fa_map, tmp_path, "mr+pm")
    sent = send_series(series, StowDestination.parse(refusing_stow.url, token=TOKEN, timeout=TIMEOUT))
    assert refusing_stow.authorizations and set(refusing_stow.authorizations) == {f"Bearer {TOKEN}"}
    (pm,) = [item for item in sent.instances if item.sop_class_uid == PARAMETRIC_MAP_STORAGE]
    assert (pm.outcome, pm.status) == (REFUSED, 0x0122) and pm.meaning == "HTTP 409; Failure: Refused: SOP Class Not Supported"
    assert sent.state == "partial" and sent.refused_classes == [PARAMETRIC_MAP_STORAGE]
    (message,) = [line for line in sent.messages() if "Parametric Map Storage" in line]
    assert "status 0x0122" in message and "mode mr or sc" in message
    assert TOKEN not in json.dumps(sent.to_json()) + sent.summary()
