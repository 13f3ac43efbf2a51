"""Demo: export the real FA map shipped in Testing/Data as a DICOM series and prove the values survived.

Run it with ``python3 Testing/run.py demo [--output DIR] [--mode mr] [--scale auto]``. It writes the
series, then reads it back with dcm2niix (an independent reader) and prints the largest value and
position differences against the NIfTI it started from.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel
import numpy as np

from FAExportLib import ExportResult, FAExportError, export_volume
from FAExportLib.cli import summary
from FAExportLib.volume_files import read_volume

REPO = Path(__file__).resolve().parents[2]
DEMO_MAP = REPO / "Testing" / "Data" / "dipy_small_FA.nii.gz"
# The dcm2niix wheel installs its binary beside the environment's python.
DCM2NIIX = shutil.which("dcm2niix", path=str(Path(sys.executable).parent)) or "dcm2niix"


def dcm2niix_errors(series_dir: str, truth_kji: np.ndarray, truth_ijk_to_ras: np.ndarray) -> tuple[float, float]:
    """Convert with dcm2niix; return (max value error, max voxel-centre distance in mm) against the truth."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([DCM2NIIX, "-z", "n", "-b", "n", "-f", "readback", "-o", folder, series_dir], check=True, capture_output=True)
        image = nibabel.load(Path(folder) / "readback.nii")
        values = np.asarray(image.dataobj, dtype=np.float64)  # applies dcm2niix's scl_slope
        affine = image.affine
    # Map every read-back voxel index into the truth's index space through both affines.
    to_truth = np.linalg.inv(truth_ijk_to_ras) @ affine
    ijk = np.indices(values.shape).reshape(3, -1)
    truth_ijk = (to_truth[:3, :3] @ ijk + to_truth[:3, 3:4])
    nearest = np.rint(truth_ijk).astype(int)
    spacing = np.linalg.norm(truth_ijk_to_ras[:3, :3], axis=0)
    position_error = float(np.max(np.linalg.norm((truth_ijk - nearest) * spacing[:, None], axis=0)))
    truth = truth_kji[nearest[2], nearest[1], nearest[0]].astype(np.float64)
    return float(np.max(np.abs(values.reshape(-1) - truth))), position_error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=str(DEMO_MAP), help="NIfTI or NRRD map (default: the shipped FA map)")
    parser.add_argument("--output", default=str(REPO / "demo-output"), help="folder for the series (default: demo-output/)")
    parser.add_argument("--mode", default="mr+pm", help="mr, sc, pm or mr+pm (default)")
    parser.add_argument("--scale", default="auto")
    args = parser.parse_args()

    array, ijk_to_ras = read_volume(args.input)
    print(f"Input: {args.input}  shape (i,j,k) {array.shape[::-1]}, FA {array.min():.4f}..{array.max():.4f}")
    try:
        result = export_volume(array, ijk_to_ras, args.output, mode=args.mode, scale=args.scale, quantity="FA")
    except FAExportError as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return 1
    for series in result.series:
        print(summary(ExportResult([series])))
        value_error, position_error = dcm2niix_errors(series.directory, array, ijk_to_ras)
        print(f"  dcm2niix read back: max value error {value_error:.3g} (bound {series.max_quantization_error:.3g}), max position error {position_error:.2g} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
