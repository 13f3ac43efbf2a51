"""Batch mode: FAExportBatch.py as Slicer runs it with --python-script (here under plain Python with slicer-core), and the
command line on the same broken inputs.

Each file is exported on its own: a refused, truncated or unreadable file, or an unexpected error, is one line and the
other files are still exported; any error at all ends the run with status 1, never a hang.
"""

import gzip
import json
import sys
from pathlib import Path

from slicer_harness.conftest import BATCH_SCRIPT, POSITION_TOLERANCE_MM, only_entries, run_batch

import numpy as np
import pytest
from conftest import GEOMETRIES, map_values, run_cli, write_volume
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
    geometry = GEOMETRIES["axial"]
    for name in ("a", "b"):
        write_volume(tmp_path / f"{name}.nrrd", map_values("fa", geometry.shape), geometry.affine)
    original = batch.FAExportLogic.exportFile

    def exportFile(self, path, *options, **keywords):
        if Path(path).name == "a.nrrd":
            raise RuntimeError("simulated bug")
        return original(self, path, *options, **keywords)

    monkeypatch.setattr(batch.FAExportLogic, "exportFile", exportFile)
    assert batch.run(["--input", str(tmp_path), "--output", str(tmp_path / "out"), "--no-database"]) == 1
    stderr = capsys.readouterr().err
    assert f"FAExportBatch: error: {tmp_path / 'a.nrrd'}: unexpected RuntimeError: simulated bug" in stderr
    assert stderr.rstrip().endswith("FAExportBatch: 1 of 2 files exported")


def test_batch_exits_with_status_1_on_any_error_outside_the_files(monkeypatch, capsys):
    batch = load_batch_module()
    monkeypatch.setattr(batch, "main", lambda argv: 1 / 0)
    assert batch.run([]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err
