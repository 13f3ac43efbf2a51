"""The harness' model of ``Slicer --python-script`` (Testing/Harness/slicer_python_script.py) behaves as Slicer 5.12.3
does where the batch script depends on it: a script that raises, or simply returns, leaves the application running;
sys.exit and slicer.util.exit end it with their status; the script sees Slicer's sys.argv and runs as __main__.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

HARNESS = REPO / "Testing" / "Harness"
HANG_SECONDS = 8  # the application starts in about one


def run_script(tmp_path: Path, source: str, *args: str, timeout: float = 60) -> tuple[int, str, dict]:
    script = tmp_path / "script.py"
    script.write_text(source)
    report = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH=str(HARNESS), SLICER_SCRIPT_REPORT=str(report), QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, "-c", "import slicer_python_script; slicer_python_script.launch()", str(script), *args]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=timeout, check=False)
    return completed.returncode, completed.stderr, json.loads(report.read_text())


@pytest.mark.parametrize("source", ['raise ImportError("No module named \'x\'")\n', 'print("done")\n'], ids=["raises", "returns"])
def test_a_script_that_does_not_exit_leaves_slicer_running(tmp_path, source):
    with pytest.raises(subprocess.TimeoutExpired) as hung:
        run_script(tmp_path, source, timeout=HANG_SECONDS)
    if "raise" in source:  # PythonQt printed the traceback, and the event loop went on
        assert b"ImportError: No module named 'x'" in hung.value.stderr


def test_slicer_util_exit_ends_slicer_with_its_status(tmp_path):
    status, stderr, report = run_script(tmp_path, "import slicer.util\nslicer.util.exit(4)\nprint('after exit')\n")
    assert (status, report) == (4, {"exitRequests": [4], "systemExit": None, "uncaughtExceptions": [], "status": 4}), stderr


def test_sys_exit_ends_slicer_through_pythonqts_handler(tmp_path):
    status, stderr, report = run_script(tmp_path, "import sys\nsys.exit(3)\n")
    assert (status, report) == (3, {"exitRequests": [], "systemExit": 3, "uncaughtExceptions": [], "status": 3}), stderr


def test_the_script_runs_as_main_with_slicers_argv_and_its_folder_on_the_path(tmp_path):
    source = "import sys, slicer.util\nok = __name__ == '__main__' and sys.argv[1:] == ['--input', 'x'] and sys.path[0] == {folder!r}\nslicer.util.exit(0 if ok else 1)\n"
    status, stderr, _ = run_script(tmp_path, source.format(folder=str(tmp_path)), "--input", "x")
    assert status == 0, stderr
