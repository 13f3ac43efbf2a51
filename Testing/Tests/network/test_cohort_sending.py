"""A cohort sent as each subject completes (``export-many --send-dimse``), into real archives on loopback.

An archive that is down leaves every subject exported and the send marked failed (exit 4); a rerun once it is up
sends each subject's files as they were written (nothing exported again), and the archive holds every instance
once. A Parametric Map refused by a classic-only archive is re-encoded per subject (``--fallback sc``) into the
subject's folder, and the fallback series arrive in the subject's study. All traffic goes to 127.0.0.1.
"""

import json
from pathlib import Path

import pydicom
import pytest
from archives import Orthanc, classic_only_fixture, require_servers
from conftest import run_cli
from test_cohort_export import bids_tree, read_csv, series_folders

from FAExportLib.send import PARAMETRIC_MAP_STORAGE

pytestmark = require_servers()


@pytest.fixture(scope="module")
def classic_only(tmp_path_factory):
    yield from classic_only_fixture(tmp_path_factory)


def written_instances(folder: Path) -> dict[str, str]:
    """SOPInstanceUID -> SOPClassUID of every file under a subject's folder."""
    headers = (pydicom.dcmread(path, stop_before_pixels=True) for path in folder.rglob("*.dcm"))
    return {ds.SOPInstanceUID: ds.SOPClassUID for ds in headers}


def test_a_cohort_sent_to_an_archive_that_is_down_is_sent_by_the_rerun_without_exporting_again(tmp_path):
    bids_tree(tmp_path / "derivatives", 2)
    (tmp_path / "orthanc").mkdir()
    archive = Orthanc(tmp_path / "orthanc")  # configured, not started: its port refuses connections
    out = tmp_path / "dicom"
    command = ["export-many", str(tmp_path / "derivatives"), str(out), "--jobs", "2", "--mode", "mr+pm",
               "--send-dimse", f"127.0.0.1:{archive.dicom_port}", "--called-ae", archive.aet, "--send-timeout", "5"]  # fmt: skip
    first = run_cli(*command)
    assert first.returncode == 4, first.stderr
    assert "faexport: 2 of 2 subjects exported, 0 failed, 2 not fully sent" in first.stderr
    rows = read_csv(out / "faexport-cohort.csv")
    assert {row["status"] for row in rows.values()} == {"exported"}
    assert {row["send"] for row in rows.values()} <= {"none", "failed"}
    folders = {key: series_folders(out / key) for key in rows}

    archive.start()
    try:
        second = run_cli(*command)
        assert second.returncode == 0, second.stderr
        rows = read_csv(out / "faexport-cohort.csv")
        assert {(row["status"], row["send"]) for row in rows.values()} == {("complete", "complete")}
        assert {key: series_folders(out / key) for key in rows} == folders  # nothing exported again
        written = {}
        for key in rows:
            written.update(written_instances(out / key))
        assert archive.stored_sop_instance_uids() == set(written)
        assert len(archive.get("/instances")) == len(written)  # each instance once
        assert len(archive.get("/studies")) == 2  # one study per subject

        third = run_cli(*command)  # complete and sent: nothing to do
        assert third.returncode == 0, third.stderr
        assert len(archive.get("/instances")) == len(written)
    finally:
        archive.stop()


def test_a_refused_parametric_map_falls_back_per_subject_into_its_folder_and_study(tmp_path, classic_only):
    bids_tree(tmp_path / "derivatives", 2)
    out = tmp_path / "dicom"
    completed = run_cli(
        "export-many", str(tmp_path / "derivatives"), str(out), "--jobs", "2", "--mode", "pm", "--fallback", "sc",
        "--send-dimse", f"127.0.0.1:{classic_only.port}", "--called-ae", classic_only.aet,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    rows = read_csv(out / "faexport-cohort.csv")
    assert {(row["status"], row["send"], row["series_written"]) for row in rows.values()} == {("exported", "complete", "4")}
    received = {ds.SOPInstanceUID: ds for ds in (pydicom.dcmread(path, stop_before_pixels=True) for path in classic_only.received_files())}
    for key in rows:
        record = json.loads((out / key / "faexport-subject.json").read_text())
        assert len(series_folders(out / key)) == 4  # two Parametric Maps kept, two fallback series beside them
        written = written_instances(out / key)
        maps = [uid for uid, sop_class in written.items() if sop_class == PARAMETRIC_MAP_STORAGE]
        fallback = [uid for uid, sop_class in written.items() if sop_class != PARAMETRIC_MAP_STORAGE]
        assert len(maps) == 2 and not set(maps) & set(received)
        assert fallback and set(fallback) <= set(received)
        study = {series["study_instance_uid"] for series in record["series"]}
        assert len(study) == 1
        assert {received[uid].StudyInstanceUID for uid in fallback} == study
        assert {received[uid].PatientID for uid in fallback} == {key}
