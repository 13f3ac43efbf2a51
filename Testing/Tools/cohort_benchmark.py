#!/usr/bin/env python3
"""Cohort throughput: ``python -m FAExportLib export-many`` on synthetic BIDS-derivatives cohorts, with --jobs 1 and 2.

    .venv/bin/python Testing/Tools/cohort_benchmark.py            # 50 subjects of small maps, 10 of MNI-sized maps
    .venv/bin/python Testing/Tools/cohort_benchmark.py --quick    # 10 small, 2 MNI

Each subject has an FA and an MD map (BEP016 names) on one grid. Every run is a fresh command line on a fresh output
folder, timed from start to exit (imports, reading, encoding, verifying by reading back, writing the cohort's CSV), in
a wrapper process that reports the peak resident memory of the largest process of the run (the command line or one of
its workers: getrusage(RUSAGE_CHILDREN).ru_maxrss). Each configuration runs --repeat times (default 5), in turn with the other; the median
is reported. Prints Markdown tables; Docs/performance.md quotes them.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel
import numpy as np

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "FAExport"
SIZES = {"small": (64, 64, 40), "MNI": (182, 218, 182)}  # i, j, k
WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode\n"
    "seconds = time.perf_counter() - start\n"
    "print(code, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def fa_field(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Smooth FA-like values in 0..1 with noise, different per subject."""
    rng = np.random.default_rng(seed)
    axes = np.meshgrid(*[np.linspace(0.0, 1.0, n, dtype=np.float32) for n in shape], indexing="ij")
    field = 0.5 + 0.25 * np.sin(5.0 * axes[0] + seed) * np.cos(3.0 * axes[1]) + 0.2 * axes[2]
    return np.clip(field + rng.normal(0.0, 0.03, shape).astype(np.float32), 0.0, 1.0).astype(np.float32)


def make_cohort(root: Path, subjects: int, shape: tuple[int, int, int]) -> int:
    """Write the cohort; returns the number of maps."""
    affine = np.diag([2.0, 2.0, 2.0, 1.0]) if shape != SIZES["MNI"] else np.diag([-1.0, 1.0, 1.0, 1.0])
    (root / "dataset_description.json").parent.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "benchmark", "BIDSVersion": "1.9.0", "DatasetType": "derivative"}))
    for number in range(1, subjects + 1):
        folder = root / f"sub-{number:03d}" / "dwi"
        folder.mkdir(parents=True)
        fa = fa_field(shape, number)
        md = (0.0005 + 0.002 * (1.0 - fa)).astype(np.float32)
        for name, values in (("fa", fa), ("md", md)):
            image = nibabel.Nifti1Image(values, affine)
            image.set_sform(affine, code=1)
            image.set_qform(affine, code=1)
            nibabel.save(image, str(folder / f"sub-{number:03d}_model-tensor_param-{name}_dwimap.nii.gz"))
    return 2 * subjects


def median_runs(source: Path, work: Path, mode: str, repeat: int) -> dict[int, dict]:
    """For --jobs 1 and 2, the run of median time among ``repeat`` runs each (the machine should be idle).

    The two are run in turn (1, 2, 1, 2, ...) so that a drift of the machine over the runs (this virtual machine's
    file creation slows as runs go on) weighs on both alike. Each run writes into a fresh folder, deleted and synced
    to disk before the next, so that one run's writing back (a cohort of MNI maps writes 290 MB) does not slow the next.
    """
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for number in range(repeat):
        for jobs, results in runs.items():
            folder = work / f"{source.name}-jobs{jobs}-{number}"
            os.sync()
            results.append(run(source, folder, jobs, mode))
            shutil.rmtree(folder)
    return {jobs: sorted(items, key=lambda item: item["seconds"])[len(items) // 2] for jobs, items in runs.items()}


def run(source: Path, output: Path, jobs: int, mode: str) -> dict:
    command = [sys.executable, "-m", "FAExportLib", "export-many", str(source), str(output), "--jobs", str(jobs), "--mode", mode]
    environment = dict(os.environ, PYTHONPATH=str(PACKAGE))
    completed = subprocess.run([sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, env=environment, check=False)
    code, seconds, peak_kib = completed.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"export-many failed ({code}): {completed.stderr.strip()}")
    return {"seconds": float(seconds), "peak_mib": int(peak_kib) / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 small subjects and 2 MNI ones")
    parser.add_argument("--mode", default="mr", help="export mode (default mr, the command's default)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each configuration; the median is reported (default 5)")
    args = parser.parse_args()
    cohorts = [("small", 10 if args.quick else 50), ("MNI", 2 if args.quick else 10)]
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; mode {args.mode}; {time.strftime('%Y-%m-%d')}\n")
    print("| cohort | maps | --jobs 1 | --jobs 2 | speed-up | maps/s (1 / 2) | peak memory per process (1 / 2) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="faexport-cohort-benchmark-") as work:
        for size, subjects in cohorts:
            source = Path(work) / f"{size}-source"
            maps = make_cohort(source, subjects, SIZES[size])
            medians = median_runs(source, Path(work), args.mode, args.repeat)
            one, two = medians[1], medians[2]
            shape = "x".join(map(str, SIZES[size]))
            print(
                f"| {subjects} subjects x FA+MD, {shape} | {maps} | {one['seconds']:.1f} s | {two['seconds']:.1f} s | "
                f"{one['seconds'] / two['seconds']:.2f}x | {maps / one['seconds']:.1f} / {maps / two['seconds']:.1f} | "
                f"{one['peak_mib']:.0f} / {two['peak_mib']:.0f} MiB |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
