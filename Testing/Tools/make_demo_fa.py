"""Compute the demo FA map ``dipy_small_FA.nii.gz`` from real diffusion data shipped inside the dipy wheel.

The source is dipy's ``small_64D`` data set (``dipy/data/files/small_64D.nii`` with ``.bval``/``.bvec``):
a 10x10x10 region of a real human brain DWI scan, 2 mm isotropic, one b=0 and 64 directions at b~1000.
It is part of the installed wheel, so nothing is downloaded. A diffusion tensor is fitted with
``dipy.reconst.dti.TensorModel`` (dipy's default weighted least squares) and its fractional anisotropy is
written as float32, clipped to [0, 1], NaN replaced by 0, with the source image's geometry: the source's
sform is written as both sform and qform, with the source's codes (1, scanner, for small_64D).

Rerun it (from the repository root) in a throwaway environment; nothing here belongs in the project's venvs::

    python3 -m venv /tmp/dipyenv
    /tmp/dipyenv/bin/pip install dipy==1.12.1 nibabel==5.4.2
    /tmp/dipyenv/bin/python Testing/Tools/make_demo_fa.py

The output is byte-for-byte reproducible with those versions; Testing/Data/README.md records its sha256.
"""

import hashlib
import sys
from pathlib import Path

import dipy
import nibabel as nib
import numpy as np
from dipy.core.gradients import gradient_table
from dipy.data import get_fnames
from dipy.io.gradients import read_bvals_bvecs
from dipy.reconst.dti import TensorModel

OUTPUT = Path(__file__).resolve().parents[1] / "Data" / "dipy_small_FA.nii.gz"
SOURCE_NAME = "small_64D"


def source_geometry(header):
    """Return (affine, sform_code, qform_code) of the source: one affine, and codes that are both > 0."""
    sform_code = int(header["sform_code"])
    qform_code = int(header["qform_code"])
    if sform_code > 0:
        affine = header.get_sform()
    elif qform_code > 0:
        affine = header.get_qform()
    else:
        affine = header.get_base_affine()
    if sform_code == 0 or qform_code == 0:
        # Only one (or neither) is set: both get the affine that is there, labelled scanner coordinates.
        sform_code = qform_code = 1
    return affine, sform_code, qform_code


def compute_fa():
    """Fit the tensor model to small_64D and return (fa float32 array, source image)."""
    fimg, fbvals, fbvecs = get_fnames(name=SOURCE_NAME)
    bvals, bvecs = read_bvals_bvecs(str(fbvals), str(fbvecs))
    source = nib.load(fimg)
    data = np.asanyarray(source.dataobj).astype(np.float64)
    gtab = gradient_table(bvals, bvecs=bvecs)
    fit = TensorModel(gtab).fit(data)
    fa = np.nan_to_num(fit.fa, nan=0.0, posinf=0.0, neginf=0.0)
    fa = np.clip(fa, 0.0, 1.0).astype(np.float32)
    return fa, source


def main():
    """Compute, write and describe the demo FA map."""
    fa, source = compute_fa()
    affine, sform_code, qform_code = source_geometry(source.header)

    header = nib.Nifti1Header()
    header.set_data_dtype(np.float32)
    header.set_xyzt_units(*source.header.get_xyzt_units())
    image = nib.Nifti1Image(fa, affine, header)
    image.set_sform(affine, code=sform_code)
    image.set_qform(affine, code=qform_code)
    image.header["descrip"] = f"DTI FA, dipy {dipy.__version__} {SOURCE_NAME}".encode()[:80]
    image.header["cal_min"] = 0.0
    image.header["cal_max"] = 1.0
    nib.save(image, OUTPUT)

    written = nib.load(OUTPUT)
    qform, sform = written.header.get_qform(), written.header.get_sform()
    mismatch = float(np.abs(qform - sform).max())
    if mismatch > 1e-4:
        sys.exit(f"qform and sform disagree by {mismatch}")
    values = written.get_fdata(dtype=np.float32)
    sha256 = hashlib.sha256(OUTPUT.read_bytes()).hexdigest()

    np.set_printoptions(precision=6, suppress=True)
    print(f"source: dipy {dipy.__version__} {SOURCE_NAME}, shape {source.shape}")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")
    print(f"shape {written.shape}, dtype {written.get_data_dtype()}, spacing {written.header.get_zooms()}")
    print(f"sform_code {int(written.header['sform_code'])}, qform_code {int(written.header['qform_code'])}")
    print(f"affine (sform)\n{sform}")
    print(f"max |qform - sform| {mismatch:.3g}")
    print(f"FA min {values.min():.6f} max {values.max():.6f} mean {values.mean():.6f}")
    print(f"voxels with FA == 0: {int((values == 0).sum())}, FA > 0.95: {int((values > 0.95).sum())}")
    print(f"sha256 {sha256}")


if __name__ == "__main__":
    main()
