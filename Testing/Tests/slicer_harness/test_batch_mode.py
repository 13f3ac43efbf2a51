"""Batch mode: FAExportBatch.py under plain Python with slicer-core, and as Slicer runs it with --python-script (the
harness' model of Slicer's event loop, Testing/Harness/slicer_python_script.py), and the command line on the same
broken inputs.

Each file is exported on its own: a refused, truncated or unreadable file, or an unexpected error, is one line and the
other files are still exported; any error at all, including FAExport failing to load, ends the run with status 1,
never a hang.
"""

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from slicer_harness.conftest import BATCH_SCRIPT, POSITION_TOLERANCE_MM, only_entries, run_batch

import numpy as np
import pytest
from conftest import GEOMETRIES, REPO, map_values, run_cli, write_volume
from dicom_database_views import displayed_series, open_database_in
from readers import compare, read_dcm2niix

# --- a folder of maps, destinations


def test_batch_exports_a_folder_and_reports_each_failure(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in ("axial", "las"):
        geometry = GEOMETRIES[name]
        write_volume(inputs / f"{name}.nrrd", map_values("fa", geometry.shape), geometry.affine)
    broken = map_values("fa", GEOMETRIES["axial"].shape)
    broken[1, 2, 3] = np.nan
    write_volume(inputs / "broken.nii.gz", broken, GEOMETRIES["axial"].affine)
    completed = run_batch("--input", str(inputs), "--output", str(tmp_path / "out"), "--no-database", "--mode", "sc", "--json")
    assert completed.returncode == 1, completed.stderr
    report = {Path(item["input"]).name: item for item in json.loads(completed.stdout)["files"]}
    assert sorted(report) == ["axial.nrrd", "broken.nii.gz", "las.nrrd"]
    message = (
        f"1 voxel of {inputs / 'broken.nii.gz'} is NaN or infinite, and Slicer's NIfTI reader turns them into 0 when loading; "
        "fix the map, or accept 0 for them explicitly (--replace-nonfinite 0)"
    )
    assert report["broken.nii.gz"]["error"] == message
    assert f"FAExportBatch: error: {inputs / 'broken.nii.gz'}: {message}" in completed.stderr
    assert completed.stderr.rstrip().endswith("FAExportBatch: 2 of 3 files exported")
    for name in ("axial", "las"):
        (series,) = report[f"{name}.nrrd"]["series"]
        geometry = GEOMETRIES[name]
        comparison = compare(map_values("fa", geometry.shape), geometry.affine, read_dcm2niix(Path(series["directory"]), tmp_path / f"dcm2niix-{name}"))
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
        assert comparison.max_value_error <= series["max_quantization_error"] + float(np.spacing(np.float32(1.0)))
    assert len(only_entries(tmp_path / "out")) == 2


def test_batch_without_any_destination_is_a_usage_error(tmp_path):
    completed = run_batch("--input", str(tmp_path), "--no-database")
    assert completed.returncode == 2
    assert completed.stderr.strip() == "FAExportBatch: error: with --no-database, give --output DIR (otherwise nothing would be written)"


def test_batch_refuses_a_source_series_instead_of_ignoring_it(tmp_path):
    source = write_volume(tmp_path / "fa.nii.gz", map_values("fa", GEOMETRIES["axial"].shape), GEOMETRIES["axial"].affine)
    completed = run_batch("--input", str(source), "--output", str(tmp_path / "out"), "--no-database", "--source-dicom", str(tmp_path))
    assert completed.returncode == 2
    assert completed.stderr == (
        "FAExportBatch: error: --source-dicom and --source-series-uid are not taken in batch mode; export each map computed from a DICOM "
        'series with python -m FAExportLib export ... --source-dicom DIR, or from the panel\'s "computed from"\n'
    )
    assert not (tmp_path / "out").exists()


def test_batch_without_a_database_outside_slicer_says_so(tmp_path):
    geometry = GEOMETRIES["axial"]
    write_volume(tmp_path / "fa.nii.gz", map_values("fa", geometry.shape), geometry.affine)
    completed = run_batch("--input", str(tmp_path / "fa.nii.gz"))
    assert completed.returncode == 1
    assert (
        f"FAExportBatch: error: {tmp_path / 'fa.nii.gz'}: Slicer has no DICOM database (the DICOM module is not loaded); start Slicer with its DICOM module, "
        "or export to a folder only"
    ) in completed.stderr


# --- truncated files


def truncated(path: Path, tmp_path: Path) -> Path:
    """The first 60% of the file; for .nii.gz the compressed stream is cut (EOFError in gzip), for .nii the voxels."""
    data = path.read_bytes()
    out = tmp_path / ("cut-" + path.name)
    out.write_bytes(data[: int(len(data) * 0.6)])
    return out


def test_truncated_files_are_what_the_tests_think(tmp_path):
    """The truncated .nii.gz really is a cut gzip stream (EOFError) and the .nii a cut voxel block (ValueError in numpy)."""
    geometry = GEOMETRIES["axial"]
    cut = truncated(write_volume(tmp_path / "fa.nii.gz", map_values("fa", geometry.shape), geometry.affine), tmp_path)
    with pytest.raises(EOFError), gzip.open(cut) as stream:
        stream.read()
    raw = truncated(write_volume(tmp_path / "fa.nii", map_values("fa", geometry.shape), geometry.affine), tmp_path)
    with pytest.raises(ValueError):
        np.frombuffer(raw.read_bytes()[352:], dtype="<f4")


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_batch_reports_a_truncated_file_and_exports_the_others(tmp_path, suffix):
    geometry = GEOMETRIES["axial"]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_volume(inputs / "good.nrrd", map_values("fa", geometry.shape), geometry.affine)
    whole = write_volume(tmp_path / f"whole{suffix}", map_values("fa", geometry.shape), geometry.affine)
    cut = truncated(whole, inputs)
    completed = run_batch("--input", str(inputs), "--output", str(tmp_path / "out"), "--no-database")
    assert completed.returncode == 1, completed.stderr
    # The file's size is checked against its header: the truncation is named before any reader runs.
    assert f"FAExportBatch: error: {cut}: {cut.name} is truncated: its header describes " in completed.stderr
    assert "export or copy the map again" in completed.stderr
    assert completed.stderr.rstrip().endswith("FAExportBatch: 1 of 2 files exported")
    assert len(list((tmp_path / "out").iterdir())) == 1


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_cli_refuses_a_truncated_file_with_one_line(tmp_path, suffix):
    geometry = GEOMETRIES["axial"]
    cut = truncated(write_volume(tmp_path / f"fa{suffix}", map_values("fa", geometry.shape), geometry.affine), tmp_path)
    completed = run_cli("export", str(cut), str(tmp_path / "out"))
    assert completed.returncode == 1, completed.stderr
    lines = completed.stderr.strip().splitlines()
    # A .nii is measured against its header; a cut .nii.gz fails in gzip first. Either way: one line, the file, what to do.
    truncation = lines[0].startswith(f"faexport: error: {cut.name} is truncated: its header describes ") and lines[0].endswith("export or copy the map again")
    unreadable = lines[0].startswith(f"faexport: error: cannot read {cut.name}: ") and lines[0].endswith("check that the file is complete and not corrupt")
    assert len(lines) == 1 and (truncation if suffix == ".nii" else unreadable), lines
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --- unexpected errors


def load_batch_module():
    sys.modules.pop("FAExport", None)
    sys.path.insert(0, str(BATCH_SCRIPT.parent))
    try:
        import FAExportBatch

        return FAExportBatch
    finally:
        sys.path.remove(str(BATCH_SCRIPT.parent))


def test_batch_reports_an_unexpected_error_per_file_and_goes_on(tmp_path, monkeypatch, capsys):
    batch = load_batch_module()
    import FAExport  # the module main() imports FAExportLogic from

    geometry = GEOMETRIES["axial"]
    for name in ("a", "b"):
        write_volume(tmp_path / f"{name}.nrrd", map_values("fa", geometry.shape), geometry.affine)
    original = FAExport.FAExportLogic.exportFile

    def exportFile(self, path, *options, **keywords):
        if Path(path).name == "a.nrrd":
            raise RuntimeError("simulated bug")
        return original(self, path, *options, **keywords)

    monkeypatch.setattr(FAExport.FAExportLogic, "exportFile", exportFile)
    assert batch.run(["--input", str(tmp_path), "--output", str(tmp_path / "out"), "--no-database"]) == 1
    stderr = capsys.readouterr().err
    assert f"FAExportBatch: error: {tmp_path / 'a.nrrd'}: unexpected RuntimeError: simulated bug" in stderr
    assert stderr.rstrip().endswith("FAExportBatch: 1 of 2 files exported")


def test_batch_exits_with_status_1_on_any_error_outside_the_files(monkeypatch, capsys):
    batch = load_batch_module()
    monkeypatch.setattr(batch, "main", lambda argv: 1 / 0)
    assert batch.run([]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_batch_status_for_a_failure_before_faexportlib_loads_is_faexportlibs():
    from FAExportLib.cli import EXIT_FAILURE

    assert load_batch_module().EXIT_FAILURE == EXIT_FAILURE


# --- as Slicer runs it: the script must end Slicer itself, whatever fails


SLICER_TIMEOUT = 60  # s; a one-file export takes a few
HARNESS = REPO / "Testing" / "Harness"


def run_batch_in_slicer(tmp_path: Path, *args: str, script: Path = BATCH_SCRIPT, pythonpath: tuple[Path, ...] = (), slicer_version: str | None = None, documents: Path | None = None):
    """The batch script in the harness' model of ``Slicer --no-main-window --python-script SCRIPT -- ARGS``
    (Testing/Harness/slicer_python_script.py); returns the process and its report of how the script ended. With
    ``documents``, Slicer's DICOM module has its database there (``documents/SlicerDICOMDatabase``, CTK's own).

    Slicer goes on running after the script unless something asks it to exit: still running after SLICER_TIMEOUT
    seconds is the hang a user would see, and fails the test.
    """
    report = tmp_path / "slicer-report.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*map(str, pythonpath), str(HARNESS)]), SLICER_SCRIPT_REPORT=str(report), QT_QPA_PLATFORM="offscreen")
    env.pop("SLICER_VERSION", None)
    env.pop("SLICER_DOCUMENTS", None)
    if documents:
        env["SLICER_DOCUMENTS"] = str(documents)
    if slicer_version:
        env["SLICER_VERSION"] = slicer_version
    command = [sys.executable, "-c", "import slicer_python_script; slicer_python_script.launch()", str(script), *args]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=SLICER_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as hung:
        stderr = hung.stderr.decode(errors="replace") if isinstance(hung.stderr, bytes) else hung.stderr
        pytest.fail(f"Slicer was still running {SLICER_TIMEOUT} s after the script started: nothing asked it to exit. stderr:\n{stderr}")
    return completed, json.loads(report.read_text())


def fake_pydicom(tmp_path: Path, source: str) -> Path:
    """A folder holding a package ``pydicom`` made of ``source``, to put before the installed one."""
    package = tmp_path / "fake-site" / "pydicom"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(source)
    return package.parent


def assert_ended_by_the_script(report: dict, status: int) -> None:
    """The script asked Slicer to exit once, with ``status``, through slicer.util.exit, and left no exception to PythonQt."""
    assert report == {"exitRequests": [status], "systemExit": None, "uncaughtExceptions": [], "status": status}


def test_batch_in_slicer_with_an_old_pydicom_ends_slicer_with_one_line(tmp_path):
    # pydicom 2.x has neither pydicom.pixels nor (here) the other modules FAExportLib imports; Slicer 5.12 bundles 3.0.2.
    old = fake_pydicom(tmp_path, '__version__ = "2.4.4"\n')
    completed, report = run_batch_in_slicer(tmp_path, "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--no-database", pythonpath=(old,))
    assert completed.returncode == 1
    assert completed.stderr == (
        "FAExportBatch: error: FAExport needs pydicom>=3.0 and this Python has pydicom 2.4.4 (No module named 'pydicom.dataset'); "
        f'install it: "{sys.executable}" -m pip install "pydicom>=3.0"\n'
    )
    assert_ended_by_the_script(report, 1)
    assert not (tmp_path / "out").exists()


def test_batch_in_slicer_without_faexportlib_ends_slicer_with_one_line(tmp_path):
    module = tmp_path / "FAExport"
    (module / "Resources" / "Scripts").mkdir(parents=True)
    shutil.copy2(BATCH_SCRIPT.parents[2] / "FAExport.py", module)
    shutil.copytree(BATCH_SCRIPT.parents[2] / "FAExportSlicerLib", module / "FAExportSlicerLib")
    script = Path(shutil.copy2(BATCH_SCRIPT, module / "Resources" / "Scripts"))
    completed, report = run_batch_in_slicer(tmp_path, "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--no-database", script=script)
    assert completed.returncode == 1
    assert completed.stderr == (
        f"FAExportBatch: error: FAExport's files are incomplete or from different versions (No module named 'FAExportLib'; in {module.resolve()}); "
        "reinstall the FAExport extension with Slicer's Extensions Manager\n"
    )
    assert_ended_by_the_script(report, 1)


def test_batch_in_slicer_whose_pydicom_raises_on_import_ends_slicer_after_the_traceback(tmp_path):
    broken = fake_pydicom(tmp_path, 'raise RuntimeError("simulated broken pydicom")\n')
    completed, report = run_batch_in_slicer(tmp_path, "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--no-database", pythonpath=(broken,))
    assert completed.returncode == 1
    assert "RuntimeError: simulated broken pydicom" in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("FAExportBatch: error:")]
    assert errors == ["FAExportBatch: error: unexpected failure (traceback above); please report it"]
    assert completed.stderr.endswith(errors[0] + "\n")
    assert_ended_by_the_script(report, 1)


def test_batch_in_an_older_slicer_says_which_release_it_needs(tmp_path):
    geometry = GEOMETRIES["axial"]
    source = write_volume(tmp_path / "fa.nii.gz", map_values("fa", geometry.shape), geometry.affine)
    completed, report = run_batch_in_slicer(tmp_path, "--input", str(source), "--output", str(tmp_path / "out"), "--no-database", slicer_version="5.10")
    assert completed.returncode == 1
    assert completed.stderr == (
        "FAExportBatch: error: FAExport needs 3D Slicer 5.12 or later; this is Slicer 5.10, whose bundled pydicom is too old and which has no "
        "slicer.packaging. Install the current Slicer release to use FAExport.\n"
    )
    assert_ended_by_the_script(report, 1)
    assert not (tmp_path / "out").exists()


def test_batch_in_slicer_creates_slicers_database_and_the_browser_lists_the_series(tmp_path):
    """Slicer's batch mode on a fresh profile: the export creates the default database (CTK's, in the Slicer process)
    and fills the displayed fields; the browser, reading the file afterwards through its own connection, lists it.
    """
    geometry = GEOMETRIES["axial"]
    source = write_volume(tmp_path / "fa.nii.gz", map_values("fa", geometry.shape), geometry.affine)
    completed, report = run_batch_in_slicer(tmp_path, "--input", str(source), "--mode", "mr", documents=tmp_path / "Documents")
    assert completed.returncode == 0, completed.stderr
    assert_ended_by_the_script(report, 0)
    database = open_database_in(tmp_path / "Documents" / "SlicerDICOMDatabase")
    ((seriesUID, fields),) = displayed_series(database).items()
    assert (fields["Count"], fields["NumberOfSeries"], fields["Modality"]) == (geometry.shape[2], 1, "MR")
    assert len(database.filesForSeries(seriesUID)) == geometry.shape[2]


def test_batch_in_slicer_exports_and_ends_slicer_with_its_status(tmp_path):
    geometry = GEOMETRIES["axial"]
    source = write_volume(tmp_path / "fa.nii.gz", map_values("fa", geometry.shape), geometry.affine)
    completed, report = run_batch_in_slicer(tmp_path, "--input", str(source), "--output", str(tmp_path / "out"), "--no-database", "--mode", "sc")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.rstrip().endswith("FAExportBatch: 1 of 1 files exported")
    assert_ended_by_the_script(report, 0)
    assert len(only_entries(tmp_path / "out")) == 1
    usage, report = run_batch_in_slicer(tmp_path, "--output", str(tmp_path / "out"))
    assert usage.returncode == 2 and "give the maps to export with --input PATH (repeatable), or a cohort with --cohort SOURCE" in usage.stderr
    assert_ended_by_the_script(report, 2)
