"""A cohort read from a BIDS-derivatives folder or a CSV manifest: one job per subject (and session), its maps, its
patient, the files not exported and why; what is wrong with one subject is that subject's problem, what is wrong with
the whole source is refused before anything runs.
"""

import csv
import json
import pickle
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import fa_like, make_affine, rotation, run_cli, write_nifti

from FAExportLib import InputError
from FAExportLib.cohort_sources import MapFile, SubjectJob, read_cohort

SHAPE = (5, 4, 3)
AFFINE = make_affine(rotation(0, 3, -4), (2.0, 2.0, 2.5), (-10.0, 5.0, 0.0))


def write_map(path: Path, scale: float = 1.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_nifti(path, fa_like(SHAPE) * np.float32(scale), AFFINE)


def dwi_folder(root: Path, *parts: str) -> Path:
    return root.joinpath(*parts, "dwi")


def by_key(jobs: list[SubjectJob]) -> dict[str, SubjectJob]:
    return {job.key: job for job in jobs}


def names(job: SubjectJob) -> list[str]:
    return [item.path.name for item in job.maps]


def skipped(job: SubjectJob) -> dict[str, str]:
    return {Path(path).name: why for path, why in job.skipped}


# BIDS derivatives


def test_a_bids_folder_gives_one_job_per_subject_with_its_maps_and_the_files_skipped_with_why(tmp_path):
    for label in ("sub-10", "sub-02"):
        folder = dwi_folder(tmp_path, label)
        write_map(folder / f"{label}_model-tensor_param-fa_dwimap.nii.gz")
        write_map(folder / f"{label}_model-tensor_param-md_dwimap.nii.gz", 0.003)
        write_map(folder / f"{label}_desc-brain_mask.nii.gz")
        write_map(folder / f"{label}_desc-preproc_dwi.nii.gz")
        (folder / f"{label}_model-tensor_param-fa_dwimap.json").write_text("{}")  # sidecars are no image: not listed
    jobs = read_cohort(tmp_path)
    assert [job.key for job in jobs] == ["sub-02", "sub-10"]
    job = jobs[0]
    assert names(job) == ["sub-02_model-tensor_param-fa_dwimap.nii.gz", "sub-02_model-tensor_param-md_dwimap.nii.gz"]
    assert all(item.quantity is None and item.path.is_file() for item in job.maps)  # told from the name on export
    assert skipped(job) == {
        "sub-02_desc-brain_mask.nii.gz": "it is a mask or a segmentation, not a map",
        "sub-02_desc-preproc_dwi.nii.gz": "no part of its name names a quantity",
    }
    assert (job.problem, job.source_dicom) == (None, None)
    assert job.metadata == {"patient_id": "sub-02", "patient_name": "sub-02"}


def test_each_session_is_a_job_of_the_same_patient(tmp_path):
    for session in ("ses-pre", "ses-post"):
        write_map(dwi_folder(tmp_path, "sub-01", session) / f"sub-01_{session}_model-tensor_param-fa_dwimap.nii.gz")
    (tmp_path / "sub-01" / "sub-01_sessions.tsv").write_text("session_id\nses-pre\nses-post\n")  # the subject's own file: no data outside sessions
    jobs = read_cohort(tmp_path)
    assert [job.key for job in jobs] == ["sub-01_ses-post", "sub-01_ses-pre"]
    assert [names(job) for job in jobs] == [["sub-01_ses-post_model-tensor_param-fa_dwimap.nii.gz"], ["sub-01_ses-pre_model-tensor_param-fa_dwimap.nii.gz"]]
    assert {job.metadata["patient_id"] for job in jobs} == {"sub-01"}


def test_maps_selects_quantities_in_their_order_and_lists_the_others_as_skipped(tmp_path):
    folder = dwi_folder(tmp_path, "sub-01")
    for param in ("fa", "md", "rd", "ad"):
        write_map(folder / f"sub-01_model-tensor_param-{param}_dwimap.nii.gz")
    (job,) = read_cohort(tmp_path, maps=["rd", "FA"])
    assert names(job) == ["sub-01_model-tensor_param-rd_dwimap.nii.gz", "sub-01_model-tensor_param-fa_dwimap.nii.gz"]
    assert skipped(job) == {
        "sub-01_model-tensor_param-ad_dwimap.nii.gz": "AD, not among --maps RD,FA",
        "sub-01_model-tensor_param-md_dwimap.nii.gz": "MD, not among --maps RD,FA",
    }
    (job,) = read_cohort(tmp_path, maps=["T1"])
    assert (job.maps, job.problem) == ((), "no map of T1 found: none of its 4 image files is one (each is listed with why under skipped files)")


def test_maps_naming_no_quantity_a_file_name_tells_is_refused(tmp_path):
    write_map(dwi_folder(tmp_path, "sub-01") / "sub-01_fa.nii.gz")
    with pytest.raises(InputError) as raised:
        read_cohort(tmp_path, maps=["FA", "fractional"])
    assert str(raised.value) == (
        "--maps FA,fractional: 'fractional' is not a quantity a file's name tells (those are the quantities known by name: FA, MD, T1, R2*, QSM, ...); "
        "name quantities of the quantities command"
    )


def test_maps_of_one_quantity_in_several_spaces_are_a_problem_until_a_space_is_chosen(tmp_path):
    folder = dwi_folder(tmp_path, "sub-01")
    for space in ("T1w", "MNI152NLin2009cAsym"):
        write_map(folder / f"sub-01_space-{space}_model-tensor_param-fa_dwimap.nii.gz")
    write_map(folder / "sub-01_space-T1w_model-tensor_param-md_dwimap.nii.gz", 0.003)
    write_map(dwi_folder(tmp_path, "sub-02") / "sub-02_space-T1w_model-tensor_param-fa_dwimap.nii.gz")
    jobs = by_key(read_cohort(tmp_path))
    assert jobs["sub-01"].problem == "its FA maps are in several spaces (MNI152NLin2009cAsym, T1w) and FAExport does not pick one; choose with --space LABEL"
    assert jobs["sub-02"].problem is None  # one subject's ambiguity is its own

    jobs = by_key(read_cohort(tmp_path, space="t1w"))
    assert names(jobs["sub-01"]) == ["sub-01_space-T1w_model-tensor_param-fa_dwimap.nii.gz", "sub-01_space-T1w_model-tensor_param-md_dwimap.nii.gz"]
    assert skipped(jobs["sub-01"]) == {"sub-01_space-MNI152NLin2009cAsym_model-tensor_param-fa_dwimap.nii.gz": "space-MNI152NLin2009cAsym, not --space t1w"}
    assert jobs["sub-01"].problem is None


def test_maps_of_one_quantity_from_several_models_are_a_problem_until_a_model_is_chosen(tmp_path):
    folder = dwi_folder(tmp_path, "sub-01")
    write_map(folder / "sub-01_model-tensor_param-fa_dwimap.nii.gz")
    write_map(folder / "sub-01_model-dki_param-fa_dwimap.nii.gz")
    write_map(folder / "sub-01_param-md_dwimap.nii.gz", 0.003)
    (job,) = read_cohort(tmp_path)
    assert job.problem == "its FA maps are in several models (dki, tensor) and FAExport does not pick one; choose with --model LABEL"
    (job,) = read_cohort(tmp_path, model="dki")
    assert names(job) == ["sub-01_model-dki_param-fa_dwimap.nii.gz"]
    assert skipped(job) == {"sub-01_model-tensor_param-fa_dwimap.nii.gz": "model-tensor, not --model dki", "sub-01_param-md_dwimap.nii.gz": "no model- entity, not --model dki"}


def test_maps_of_one_quantity_that_differ_otherwise_are_a_problem_that_names_them(tmp_path):
    folder = dwi_folder(tmp_path, "sub-01")
    write_map(folder / "sub-01_desc-FA_dwimap.nii.gz")
    write_map(folder / "sub-01_desc-FA_run-2_dwimap.nii.gz")
    (job,) = read_cohort(tmp_path)
    assert job.problem == "it has 2 FA maps (sub-01_desc-FA_dwimap.nii.gz, sub-01_desc-FA_run-2_dwimap.nii.gz) and FAExport does not pick one; list the one to export in a CSV manifest"


def test_a_subject_without_maps_is_a_problem_of_its_own(tmp_path):
    write_map(dwi_folder(tmp_path, "sub-01") / "sub-01_fa.nii.gz")
    write_map(dwi_folder(tmp_path, "sub-02") / "sub-02_desc-brain_mask.nii.gz")
    dwi_folder(tmp_path, "sub-03").mkdir(parents=True)
    jobs = by_key(read_cohort(tmp_path))
    assert jobs["sub-01"].problem is None
    assert jobs["sub-02"].problem == "no map found: none of its 1 image files is one (each is listed with why under skipped files)"
    assert jobs["sub-03"].problem == "no map found: its folders hold no image file (.nii, .nii.gz, .nrrd, .nhdr)"


def test_participants_tsv_gives_each_patient_its_sex_and_the_patient_columns(tmp_path):
    for label in ("sub-01", "sub-02", "sub-03", "sub-04"):
        write_map(dwi_folder(tmp_path, label) / f"{label}_fa.nii.gz")
    (tmp_path / "participants.tsv").write_text(
        "participant_id\tage\tsex\tpatient_id\tpatient_birth_date\n"
        "sub-01\t34\tfemale\tHOSP-7\t19900131\n"
        "sub-02\t41\tM\tn/a\tn/a\n"
        "03\tn/a\tunknown\t\t\n"  # without the sub- prefix, as spreadsheets write it; a sex DICOM has no word for
        "sub-04\t50\tO\t\t1990-01-31\n",
    )
    jobs = by_key(read_cohort(tmp_path))
    assert jobs["sub-01"].metadata == {"patient_id": "HOSP-7", "patient_name": "sub-01", "patient_sex": "F", "patient_birth_date": "19900131"}
    assert jobs["sub-02"].metadata == {"patient_id": "sub-02", "patient_name": "sub-02", "patient_sex": "M"}
    assert jobs["sub-03"].metadata == {"patient_id": "sub-03", "patient_name": "sub-03"}
    assert jobs["sub-04"].problem == "patient_birth_date must be a date written YYYYMMDD (e.g. 20240131), not '1990-01-31'"
    assert [job.problem for key, job in jobs.items() if key != "sub-04"] == [None, None, None]


def test_participants_tsv_without_participant_id_is_refused(tmp_path):
    write_map(dwi_folder(tmp_path, "sub-01") / "sub-01_fa.nii.gz")
    (tmp_path / "participants.tsv").write_text("subject\tsex\nsub-01\tM\n")
    with pytest.raises(InputError) as raised:
        read_cohort(tmp_path)
    assert str(raised.value) == f"{tmp_path / 'participants.tsv'} has no participant_id column, which BIDS requires; add it (sub-<label> per row), or remove the file"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "absent", "{root}/absent does not exist; "),
        (lambda root: (root / "empty").mkdir() or root / "empty", "{root}/empty holds no sub-<label> folder; "),
        (lambda root: (root / "notes.txt").write_text("x") and root / "notes.txt", "{root}/notes.txt is neither a folder nor a .csv file; "),
    ],
)
def test_a_source_neither_bids_nor_a_manifest_is_refused_saying_what_it_must_be(tmp_path, make, message):
    with pytest.raises(InputError) as raised:
        read_cohort(make(tmp_path))
    assert str(raised.value) == message.format(root=tmp_path) + (
        "SOURCE must be a BIDS-derivatives folder (sub-<label>/[ses-<label>/]<datatype>/<files>) "
        "or a CSV manifest (a .csv file whose header names at least the columns subject and map)"
    )


def test_a_derivatives_folder_of_pipelines_names_those_that_hold_subjects(tmp_path):
    write_map(dwi_folder(tmp_path / "dipy", "sub-01") / "sub-01_fa.nii.gz")
    (tmp_path / "logs").mkdir()
    with pytest.raises(InputError) as raised:
        read_cohort(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path} holds no sub-<label> folder (its folders dipy do: give one of them); SOURCE must be")


# CSV manifest


def manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cohort.csv"
    path.write_text(text)
    return path


def test_a_manifest_gives_each_subject_its_maps_quantities_patient_and_source_from_paths_relative_to_it(tmp_path):
    fa, md, t1 = (write_map(tmp_path / "maps" / name) for name in ("a_fractional.nii.gz", "a_mean.nii.gz", "b.nii.gz"))
    (tmp_path / "dicom" / "A").mkdir(parents=True)
    path = manifest(
        tmp_path,
        "Subject, Map ,quantity,source_dicom,patient_name,study_description\n"
        "A,maps/a_fractional.nii.gz;maps/a_mean.nii.gz,FA;MD,dicom/A,Doe^Jane,\n"
        f"B,{t1},T1,,,Relaxometry\n"
        "A,,,,,DTI\n",  # another row of A adds to it
    )
    jobs = read_cohort(path)
    assert [job.key for job in jobs] == ["A", "B"]  # the manifest's order
    a, b = jobs
    assert a.maps == (MapFile(fa, "FA"), MapFile(md, "MD"))
    assert a.source_dicom == tmp_path / "dicom" / "A"
    assert a.metadata == {"patient_id": "A", "patient_name": "Doe^Jane", "study_description": "DTI"}
    assert b.maps == (MapFile(t1, "T1"),)
    assert (b.source_dicom, b.metadata) == (None, {"patient_id": "B", "patient_name": "B", "study_description": "Relaxometry"})
    assert (a.problem, b.problem) == (None, None)
    assert pickle.loads(pickle.dumps(jobs)) == jobs  # jobs cross to worker processes


def test_rows_of_one_subject_add_maps_and_a_session_column_makes_one_study_per_session(tmp_path):
    for name in ("pre_fa.nii.gz", "pre_md.nii.gz", "post_fa.nii.gz"):
        write_map(tmp_path / name)
    path = manifest(tmp_path, "subject,session,map\nP1,pre,pre_fa.nii.gz\nP1,pre,pre_md.nii.gz\nP1,post,post_fa.nii.gz\n")
    jobs = read_cohort(path)
    assert [(job.key, names(job), job.metadata["patient_id"]) for job in jobs] == [
        ("P1_pre", ["pre_fa.nii.gz", "pre_md.nii.gz"], "P1"),
        ("P1_post", ["post_fa.nii.gz"], "P1"),
    ]
    assert all(item.quantity is None for job in jobs for item in job.maps)


def test_an_unknown_column_refuses_the_whole_manifest_naming_it_and_the_columns_understood(tmp_path):
    path = manifest(tmp_path, "subject,map,patient_age\nA,a.nii.gz,034Y\n")
    with pytest.raises(InputError) as raised:
        read_cohort(path)
    assert str(raised.value) == (
        "the manifest cohort.csv has a column 'patient_age' that FAExport does not understand (understood: subject, session, map, quantity, source_dicom, "
        "patient_name, patient_id, patient_birth_date, patient_sex, study_instance_uid, study_id, study_date, study_time, study_description, accession_number, "
        "referring_physician_name, series_description, series_number, series_instance_uid, frame_of_reference_uid, body_part_examined, content_creator_name, "
        "anatomic_region, laterality); rename or remove it"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the manifest {path} is empty; it needs a header row naming at least the columns subject and map"),
        ("subject,quantity\nA,FA\n", "the manifest cohort.csv has no 'map' column (its header row: subject, quantity; understood: subject, session, map,"),
        ("subject,map,map\nA,a,b\n", "the manifest cohort.csv has the column 'map' twice; keep one"),
        ("subject,map\n,a.nii.gz\n", "row 2 of the manifest cohort.csv has no subject; every row needs one"),
        ("subject,map\nA,a.nii.gz\n../up,b.nii.gz\n", "the subject '../up' (row 3 of the manifest cohort.csv) cannot name an output folder; use letters, digits"),
        ("subject,map\nA,a.nii.gz,extra\n", "row 2 of the manifest cohort.csv has 3 cells, and its header names 2 columns; quote cells that hold commas"),
    ],
)
def test_a_malformed_manifest_is_refused_in_one_line(tmp_path, text, message):
    path = manifest(tmp_path, text)
    with pytest.raises(InputError) as raised:
        read_cohort(path)
    assert str(raised.value).startswith(message.format(path=path))
    assert "\n" not in str(raised.value)


def test_what_is_wrong_with_one_subject_is_its_problem_and_the_others_go_on(tmp_path):
    write_map(tmp_path / "fa.nii.gz")
    write_map(tmp_path / "md.nii.gz")
    path = manifest(
        tmp_path,
        "subject,map,quantity,patient_id,patient_birth_date,series_number,source_dicom\n"
        "ok,fa.nii.gz,,,,,\n"
        "missing,fa.nii.gz;gone.nii.gz,,,,,\n"
        "miscounted,fa.nii.gz;md.nii.gz,FA,,,,\n"
        "twoids,fa.nii.gz,,X1,,,\n"
        "twoids,md.nii.gz,,X2,,,\n"
        "baddate,fa.nii.gz,,,2001-02-03,,\n"
        "badnumber,fa.nii.gz,,,,first,\n"
        "nosource,fa.nii.gz,,,,,dicom/none\n"
        "twice,fa.nii.gz,,,,,\n"
        "twice,fa.nii.gz,,,,,\n"
        "badquantity,fa.nii.gz,F@,,,,\n",
    )
    jobs = by_key(read_cohort(path))
    assert (jobs["ok"].problem, names(jobs["ok"])) == (None, ["fa.nii.gz"])
    assert jobs["missing"].problem == f"row 3: the map {tmp_path / 'gone.nii.gz'} does not exist"
    assert jobs["miscounted"].problem == "row 4 names 2 maps and 1 quantity; give one quantity per map, in the same order"
    assert jobs["twoids"].problem == "its rows give patient_id 2 values (X1, X2); give one"
    assert jobs["baddate"].problem == "patient_birth_date must be a date written YYYYMMDD (e.g. 20240131), not '2001-02-03'"
    assert jobs["badnumber"].problem == "series_number must be a whole number, not 'first'"
    assert jobs["nosource"].problem == f"row 9: the source_dicom folder {tmp_path / 'dicom' / 'none'} does not exist"
    assert jobs["twice"].problem == f"row 11: the map {tmp_path / 'fa.nii.gz'} is listed twice"
    assert jobs["badquantity"].problem.startswith("row 12: quantity 'F@' is not a known name")


def test_options_that_select_among_bids_files_are_refused_with_a_manifest(tmp_path):
    path = manifest(tmp_path, "subject,map\nA,a.nii.gz\n")
    with pytest.raises(InputError) as raised:
        read_cohort(path, space="T1w")
    assert str(raised.value) == "--space T1w selects among the maps of a BIDS folder, and a manifest names each of its maps; leave it out"


# Through the command line: one subject's problem is its own failure


def test_a_cohort_with_one_ambiguous_subject_exports_the_others_and_reports_why(tmp_path):
    root = tmp_path / "derivatives"
    write_map(dwi_folder(root, "sub-01") / "sub-01_model-tensor_param-fa_dwimap.nii.gz")
    write_map(dwi_folder(root, "sub-01") / "sub-01_desc-brain_mask.nii.gz")
    for space in ("T1w", "MNI"):
        write_map(dwi_folder(root, "sub-02") / f"sub-02_space-{space}_model-tensor_param-fa_dwimap.nii.gz")
    result = run_cli("export-many", str(root), str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    with open(tmp_path / "out" / "faexport-cohort.csv", newline="") as stream:
        rows = {row["subject"]: row for row in csv.DictReader(stream)}
    assert (rows["sub-01"]["status"], rows["sub-02"]["status"]) == ("exported", "failed")
    assert rows["sub-02"]["error"] == "its FA maps are in several spaces (MNI, T1w) and FAExport does not pick one; choose with --space LABEL"
    assert rows["sub-01"]["skipped_files"] == f"{dwi_folder(root, 'sub-01') / 'sub-01_desc-brain_mask.nii.gz'}: it is a mask or a segmentation, not a map"
    record = json.loads((tmp_path / "out" / "sub-01" / "faexport-subject.json").read_text())
    header = pydicom.dcmread(next((tmp_path / "out" / "sub-01" / record["series"][0]["directory"]).iterdir()), stop_before_pixels=True)
    assert (header.PatientID, str(header.PatientName), header.SeriesDescription) == ("sub-01", "sub-01", "FA map")
