"""Stopping the servers the tests start (Orthanc, storescp, OHIF's server): standard library only, as run.py imports
the web viewer harness before any environment exists.
"""

import subprocess


def stop_process(process: "subprocess.Popen | None", timeout: float = 30) -> None:
    """Terminate a running process and wait for it; kill it when it does not end within ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
