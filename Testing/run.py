#!/usr/bin/env python3
"""Run FAExport's demo, tests or linter on a fresh clone with nothing but Python 3.11 or 3.12.

    python3 Testing/run.py demo     # export the shipped real FA map, print what was written and the round-trip error
    python3 Testing/run.py test     # the whole test suite (extra arguments go to pytest)
    python3 Testing/run.py lint     # ruff with Slicer's settings

The first run creates ``.venv`` at the repository root from the pinned ``Testing/requirements.txt``
(and recreates it when that file changes). Standard library only: this script is the bootstrap.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"
REQUIREMENTS = REPO / "Testing" / "requirements.txt"
STAMP = VENV / "requirements.sha256"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """Create or refresh ``.venv`` so that it holds exactly the pinned requirements."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and venv_python().exists():
        return venv_python()
    print(f"Setting up {VENV} from {REQUIREMENTS.relative_to(REPO)} (first run only)...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    STAMP.write_text(wanted + "\n")
    return venv_python()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "lint"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    python = str(ensure_venv())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "FAExport"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    if command == "demo":
        args = [python, str(REPO / "Testing" / "demo.py"), *rest]
    elif command == "test":
        args = [python, "-m", "pytest", *rest]
    else:
        args = [python, "-m", "ruff", "check", *(rest or [str(REPO)])]
    return subprocess.run(args, cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
