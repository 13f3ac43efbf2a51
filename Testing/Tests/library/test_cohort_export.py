"""A cohort in one command (``python -m FAExportLib export-many SOURCE OUTDIR``): each subject's maps as one study,
subjects in parallel processes, one bad subject not stopping the others, a per-subject result in CSV and JSON, and a
rerun (after a failure or a kill) that completes the cohort without writing any series twice.

Every series is read back with SimpleITK (an independent reader) against the map it came from.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import PACKAGE_ROOT, REPO, fa_like, make_affine, rotation, run_cli, write_nifti
from readers import compare, read_simpleitk

SHAPE = (10, 9, 7)


def affine() -> np.ndarray:
    return make_affine(rotation(0, 4, -9), (2.0, 2.0, 2.2), (-50.0, 20.0, 5.0))


def subject_maps(seed: int, shape=SHAPE) -> dict:
    """FA and MD of one subject (each subject's values differ, so a mixed-up subject is seen)."""
    fa = np.roll(fa_like(shape), seed, axis=0)
    return {"fa": fa, "md": (0.0005 + 0.002 * fa[:, ::-1, :]).astype(np.float32)}


def bids_tree(root: Path, subjects: int, shape=SHAPE) -> dict:
    """A BIDS-derivatives folder as a DTI pipeline writes it (BEP016 names), with a brain mask that is not a map."""
    (root / "dataset_description.json").parent.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "dti", "BIDSVersion": "1.9.0", "DatasetType": "derivative"}))
    truth = {}
    for number in range(1, subjects + 1):
        label = f"sub-{number:02d}"
        folder = root / label / "dwi"
        folder.mkdir(parents=True)
        maps = subject_maps(number, shape)
        for name, values in maps.items():
            path = write_nifti(folder / f"{label}_model-tensor_param-{name}_dwimap.nii.gz", values, affine())
            truth[str(path)] = values
        write_nifti(folder / f"{label}_desc-brain_mask.nii.gz", (maps["fa"] > 0.2).astype(np.float32), affine())
    return truth


def read_csv(path: Path) -> dict:
    with open(path, newline="") as stream:
        return {row["subject"]: row for row in csv.DictReader(stream)}


def series_folders(subject_folder: Path) -> list:
    return sorted(item.name for item in subject_folder.iterdir() if item.is_dir())


def check_subject(folder: Path, truth: dict, patient_id: str) -> None:
    """Two series of one study, each read back by SimpleITK onto its own map within the bound."""
    record = json.loads((folder / "faexport-subject.json").read_text())
    assert len(record["series"]) == 2
    headers = []
    for series in record["series"]:
        directory = folder / series["directory"]
        headers.append(pydicom.dcmread(next(directory.iterdir()), stop_before_pixels=True))
        comparison = compare(truth[series["input"]], affine(), read_simpleitk(directory))
        assert comparison.max_value_error <= series["max_quantization_error"] * (1 + 1e-6) + 1e-12
    assert len({ds.StudyInstanceUID for ds in headers}) == 1
    assert len({ds.FrameOfReferenceUID for ds in headers}) == 1
    assert {ds.PatientID for ds in headers} == {patient_id}
    assert sorted(ds.SeriesDescription for ds in headers) == ["FA map", "MD map (mm2/s)"]


def test_a_bids_cohort_is_exported_in_two_processes_and_a_bad_subject_is_reported_then_redone(tmp_path):
    truth = bids_tree(tmp_path / "derivatives", 3)
    broken = next(path for path in truth if "sub-02" in path and "param-md" in path)
    good = Path(broken).read_bytes()
    Path(broken).write_bytes(good[:200])  # a truncated file: this subject fails, the others go on
    out = tmp_path / "dicom"

    first = run_cli("export-many", str(tmp_path / "derivatives"), str(out), "--jobs", "2", "--json")
    assert first.returncode == 1, first.stderr
    rows = read_csv(out / "faexport-cohort.csv")
    assert {key: row["status"] for key, row in rows.items()} == {"sub-01": "exported", "sub-02": "failed", "sub-03": "exported"}
    assert "sub-02_model-tensor_param-md_dwimap.nii.gz" in rows["sub-02"]["error"]
    assert "sub-01_desc-brain_mask.nii.gz" in rows["sub-01"]["skipped_files"]
    assert "faexport: 2 of 3 subjects exported, 1 failed" in first.stderr
    assert [line.split("] ")[1].split(": ")[0] for line in first.stderr.splitlines() if line.startswith("faexport: [")].count("sub-02") == 1  # one plain line per subject
    for key in ("sub-01", "sub-03"):
        check_subject(out / key, truth, key)
    assert not (out / "sub-02").exists()
    assert json.loads(first.stdout)["subjects"][1]["status"] == "failed"
    before = {key: series_folders(out / key) for key in ("sub-01", "sub-03")}

    Path(broken).write_bytes(good)
    second = run_cli("export-many", str(tmp_path / "derivatives"), str(out), "--jobs", "2")
    assert second.returncode == 0, second.stderr
    rows = read_csv(out / "faexport-cohort.csv")
    assert {key: row["status"] for key, row in rows.items()} == {"sub-01": "complete", "sub-02": "exported", "sub-03": "complete"}
    assert "faexport: 3 of 3 subjects exported (2 by an earlier run), 0 failed" in second.stderr
    assert {key: series_folders(out / key) for key in ("sub-01", "sub-03")} == before  # nothing written twice
    check_subject(out / "sub-02", truth, "sub-02")
    assert sorted(item.name for item in out.iterdir()) == ["faexport-cohort.csv", "faexport-cohort.json", "sub-01", "sub-02", "sub-03"]


def test_a_killed_run_is_resumed_without_writing_any_series_twice(tmp_path):
    truth = bids_tree(tmp_path / "derivatives", 6, shape=(64, 64, 30))
    out = tmp_path / "dicom"
    command = [sys.executable, "-m", "FAExportLib", "export-many", str(tmp_path / "derivatives"), str(out), "--mode", "mr+pm"]
    process = subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT)), cwd=str(REPO), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "sub-01" / "faexport-subject.json").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)  # no clean-up of its own: whatever it was writing stays half-done
    process.wait()
    completed = [key for key in (f"sub-{n:02d}" for n in range(1, 7)) if (out / key / "faexport-subject.json").exists()]
    assert 1 <= len(completed) < 6, "the kill should land while the cohort is being exported"

    resumed = run_cli("export-many", str(tmp_path / "derivatives"), str(out), "--mode", "mr+pm")
    assert resumed.returncode == 0, resumed.stderr
    rows = read_csv(out / "faexport-cohort.csv")
    assert [key for key, row in rows.items() if row["status"] == "complete"] == completed
    assert all(row["status"] == "exported" for key, row in rows.items() if key not in completed)
    assert not [item.name for item in out.iterdir() if item.name.startswith(".")]  # no staging folder left
    for key, row in rows.items():
        record = json.loads((out / key / "faexport-subject.json").read_text())
        assert len(series_folders(out / key)) == len(record["series"]) == 4, key
        mr_series = [item for item in record["series"] if item["mode"] == "mr"]
        for series in mr_series:
            comparison = compare(truth[series["input"]], affine(), read_simpleitk(out / key / series["directory"]))
            assert comparison.max_value_error <= series["max_quantization_error"] * (1 + 1e-6) + 1e-12


def test_a_csv_manifest_gives_each_subject_its_maps_quantities_and_patient(tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    truth = {}
    for subject, seed in (("A", 1), ("B", 2)):
        for name, values in subject_maps(seed).items():
            path = write_nifti(maps / f"{subject}-{name}-output.nii.gz", values, affine())
            truth[str(path)] = values
    manifest = tmp_path / "cohort.csv"
    manifest.write_text(
        "subject,map,quantity,patient_id,patient_name\n"
        "A,maps/A-fa-output.nii.gz,FA,HOSP-001,Doe^Jane\n"
        "A,maps/A-md-output.nii.gz,MD,HOSP-001,Doe^Jane\n"
        "B,maps/B-fa-output.nii.gz,FA,HOSP-002,Roe^Rick\n"
        "B,maps/B-md-output.nii.gz,MD,HOSP-002,Roe^Rick\n",
    )
    result = run_cli("export-many", str(manifest), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for subject, patient_id in (("A", "HOSP-001"), ("B", "HOSP-002")):
        folder = tmp_path / "out" / subject
        record = json.loads((folder / "faexport-subject.json").read_text())
        for series in record["series"]:
            series["input"] = str(maps / Path(series["input"]).name)
        (folder / "faexport-subject.json").write_text(json.dumps(record))
        check_subject(folder, truth, patient_id)


@pytest.mark.parametrize("option", [["--patient-id", "X"], ["--study-instance-uid", "1.2.3"], ["--series-description", "FA"], ["--patient-name", "Doe^J"]])
def test_options_of_one_subject_are_refused_for_a_cohort(tmp_path, option):
    bids_tree(tmp_path / "derivatives", 1)
    result = run_cli("export-many", str(tmp_path / "derivatives"), str(tmp_path / "out"), *option)
    assert result.returncode == 2
    assert f"{option[0]} names one subject's patient, study or series; a cohort takes them per subject from its CSV manifest" in result.stderr
    assert not (tmp_path / "out").exists()
