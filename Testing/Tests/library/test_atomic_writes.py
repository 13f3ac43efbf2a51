"""A series appears complete or not at all: disk full, a file-size limit, a kill, a cancel."""

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import nibabel
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]


def write_map(path: Path, shape=(64, 64, 12)) -> Path:
    values = np.random.default_rng(7).random(shape).astype(np.float32)
    affine = np.diag([0.9, 0.9, 2.0, 1.0])
    image = nibabel.Nifti1Image(values, affine)
    image.set_sform(affine, 1)
    image.set_qform(affine, 1)
    nibabel.save(image, path)
    return path


def run_cli(*args: str, file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    def limit_file_size():
        # A file-size limit makes a write fail part-way, as a full disk does; EFBIG instead of SIGXFSZ.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    env = dict(os.environ, PYTHONPATH=str(REPO / "FAExport"))
    return subprocess.run(
        [sys.executable, "-m", "FAExportLib", "export", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        preexec_fn=limit_file_size if file_size_limit else None,
    )


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_write_failing_in_the_second_series_leaves_neither(tmp_path):
    source = write_map(tmp_path / "fa.nii.gz")
    output = tmp_path / "out"
    output.mkdir()
    (output / "earlier.txt").write_text("earlier export")
    # Each MR slice file (~8 kB) fits under the limit, the one Parametric Map file (~200 kB) does not:
    # the MR series is complete in its partial folder when the PM write fails.
    result = run_cli(str(source), str(output), "--mode", "mr+pm", file_size_limit=60_000)
    assert result.returncode == 1
    assert result.stderr.startswith("faexport: error: writing ")
    assert result.stderr.endswith("PM00001.dcm failed: File too large; nothing was written\n")
    assert listing(output) == ["earlier.txt"]


def test_disk_full_on_a_small_filesystem_leaves_nothing(tmp_path):
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.decode().strip()}); the file-size-limit test covers the same path")
    try:
        source = write_map(tmp_path / "fa.nii.gz")
        result = run_cli(str(source), str(mount_point / "out"), "--mode", "mr")
        assert result.returncode == 1
        assert result.stderr.endswith("failed: No space left on device; nothing was written\n")
        assert listing(mount_point / "out") == []
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_killed_mid_write_leaves_only_a_hidden_partial_folder(tmp_path):
    source = write_map(tmp_path / "fa.nii.gz", shape=(64, 64, 40))
    output = tmp_path / "out"
    marker = tmp_path / f"kill-{uuid.uuid4().hex}"
    # Kill the process from inside, right after it has written its fifth file.
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO / "FAExport")!r})
        from FAExportLib.cli import main
        def progress(message, done):
            if done == 5:
                open({str(marker)!r}, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            return False
        import FAExportLib.workflow as workflow
        original = workflow.export_volumes
        workflow.export_volumes = lambda *a, **k: original(*a, **dict(k, progress=progress))
        main(["export", {str(source)!r}, {str(output)!r}])
        """,
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert result.returncode == -signal.SIGKILL
    assert marker.exists()
    entries = list(output.iterdir())
    assert len(entries) == 1
    assert entries[0].name.startswith(".") and entries[0].name.endswith(".partial")
    assert len(list(entries[0].iterdir())) == 5


def test_two_exports_at_once_into_one_folder_do_not_collide(tmp_path):
    source = write_map(tmp_path / "fa.nii.gz", shape=(32, 32, 20))
    output = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO / "FAExport"))
    command = [sys.executable, "-m", "FAExportLib", "export", str(source), str(output), "--json"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outputs = [p.communicate() for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    series = [json.loads(stdout)["series"][0] for stdout, _ in outputs]
    assert len({s["series_instance_uid"] for s in series}) == 3
    assert len({s["directory"] for s in series}) == 3
    for item in series:
        assert sorted(Path(f).name for f in item["files"]) == sorted(p.name for p in Path(item["directory"]).iterdir())
        assert len(item["files"]) == 20
    assert len(list(output.iterdir())) == 3
