"""A cohort from Slicer's batch mode (FAExportBatch.py --cohort): each subject one study in a sub-folder of --output,
added to Slicer's DICOM database as it completes, the workers spawned (never forked from a Qt process), and Slicer
ended with the run's status.
"""

import json
from pathlib import Path

import pydicom
from readers import compare, read_simpleitk
from test_batch_mode import assert_ended_by_the_script, load_batch_module, run_batch_in_slicer
from test_cohort_export import affine, bids_tree, read_csv


def test_a_cohort_in_batch_mode_lands_in_slicers_database_one_study_per_subject(slicer, tmp_path, capsys):
    truth = bids_tree(tmp_path / "derivatives", 2)
    batch = load_batch_module()
    status = batch.run(["--cohort", str(tmp_path / "derivatives"), "--output", str(tmp_path / "out"), "--jobs", "2", "--mode", "pm"])
    assert status == 0, capsys.readouterr().err
    assert "faexport: 2 of 2 subjects exported, 0 failed" in capsys.readouterr().err
    database = slicer.dicomDatabase
    patients = database.patients()
    assert len(patients) == 2
    for patient in patients:
        (study,) = database.studiesForPatient(patient)
        series = database.seriesForStudy(study)
        assert len(series) == 2
        for uid in series:
            (path,) = database.filesForSeries(uid)
            ds = pydicom.dcmread(path)
            record = next(item for item in json.loads((tmp_path / "out" / ds.PatientID / "faexport-subject.json").read_text())["series"] if item["series_instance_uid"] == uid)
            values = ds.pixel_array.astype("float64")  # float32 frames: the Parametric Map's values as they are
            assert abs(values.max() - truth[record["input"]].max()) <= record["max_quantization_error"]


def test_a_cohort_in_slicers_python_script_mode_spawns_its_workers_and_ends_slicer(tmp_path):
    truth = bids_tree(tmp_path / "derivatives", 2)
    completed, report = run_batch_in_slicer(tmp_path, "--cohort", str(tmp_path / "derivatives"), "--output", str(tmp_path / "out"), "--jobs", "2", "--no-database")
    assert completed.returncode == 0, completed.stderr
    assert_ended_by_the_script(report, 0)
    rows = read_csv(tmp_path / "out" / "faexport-cohort.csv")
    assert [row["status"] for row in rows.values()] == ["exported", "exported"]
    record = json.loads((tmp_path / "out" / "sub-01" / "faexport-subject.json").read_text())
    for series in record["series"]:
        comparison = compare(truth[series["input"]], affine(), read_simpleitk(tmp_path / "out" / "sub-01" / series["directory"]))
        assert comparison.max_value_error <= series["max_quantization_error"] * (1 + 1e-6) + 1e-12


def test_batch_takes_files_or_a_cohort(tmp_path):
    batch = load_batch_module()
    for arguments in ([], ["--input", str(tmp_path), "--cohort", str(tmp_path)]):
        completed, report = run_batch_in_slicer(tmp_path, "--output", str(tmp_path / "out"), *arguments)
        assert completed.returncode == 2
        assert completed.stderr == "FAExportBatch: error: give the maps to export with --input PATH (repeatable), or a cohort with --cohort SOURCE\n"
        assert_ended_by_the_script(report, 2)
    assert batch.run(["--cohort", str(tmp_path)]) == 2
    assert not Path(tmp_path / "out").exists()
