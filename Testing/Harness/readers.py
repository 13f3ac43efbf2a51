"""Independent readers of a written DICOM series, a ground-truth comparator, and dciodvfy parsing.

Each reader returns a :class:`ReadBack`: the decoded values (indexed in the reader's own voxel order) and where
each voxel centre is, in RAS mm, either as a 4x4 affine or (pydicom) as an explicit position per voxel. None of
them uses FAExportLib.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])  # its own inverse: RAS_FROM_LPS too


@dataclass
class ReadBack:
    """Decoded values and voxel-centre geometry (RAS mm) of a series, as one reader sees it."""

    reader: str
    values: np.ndarray
    affine: np.ndarray | None = None  # 4x4 index -> RAS for the axes of ``values``
    positions: np.ndarray | None = None  # values.shape + (3,), RAS mm; used instead of ``affine``
    float32: bool = False  # the reader keeps values or the slope in float32

    def ras_positions(self) -> np.ndarray:
        """RAS position of every voxel centre, shape values.shape + (3,)."""
        if self.positions is not None:
            return self.positions
        index = np.stack(np.meshgrid(*[np.arange(n) for n in self.values.shape], indexing="ij"), axis=-1)
        return index.astype(np.float64) @ self.affine[:3, :3].T + self.affine[:3, 3]


def _tool(name: str) -> str:
    """A binary of the test venv if there, else from PATH."""
    import shutil
    import sys

    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed")
    return found


def sorted_by_position(files) -> list:
    """Files sorted along the slice normal (row cosine x column cosine), as Slicer's DICOM plugin sorts them."""
    import pydicom

    keyed = []
    for path in files:
        dataset = pydicom.dcmread(str(path), stop_before_pixels=True)
        orientation = np.array([float(x) for x in dataset.ImageOrientationPatient])
        normal = np.cross(orientation[:3], orientation[3:])
        keyed.append((float(np.dot(normal, [float(x) for x in dataset.ImagePositionPatient])), str(path)))
    return [path for _, path in sorted(keyed)]


def read_dcm2niix(series_directory: Path, work_directory: Path) -> ReadBack:
    """Convert with dcm2niix (uncompressed, no BIDS sidecar), load with nibabel (whose affine is RAS already).

    dcm2niix keeps the rescale as the NIfTI float32 scl_slope / scl_inter (or converts to float32), so its values
    carry float32 rounding: ``float32=True``.
    """
    import nibabel

    work_directory.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [_tool("dcm2niix"), "-z", "n", "-b", "n", "-f", "out", "-o", str(work_directory), str(series_directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    outputs = sorted(work_directory.glob("*.nii"))
    assert result.returncode == 0 and len(outputs) == 1, (
        f"dcm2niix exit {result.returncode}, outputs {outputs}:\n{result.stdout}\n{result.stderr}"
    )
    image = nibabel.load(str(outputs[0]))
    values = np.asarray(image.get_fdata(dtype=np.float64))
    assert values.ndim == 3 or (values.ndim == 4 and values.shape[3] == 1), values.shape
    return ReadBack("dcm2niix", values.reshape(values.shape[:3]), affine=np.asarray(image.affine, dtype=float), float32=True)


def read_simpleitk(series_directory: Path) -> ReadBack:
    """SimpleITK ImageSeriesReader (GDCM) with its own file sorting; LPS geometry converted to RAS."""
    import SimpleITK as sitk

    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(series_directory))
    assert len(files) > 0, f"GDCM found no series in {series_directory}"
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    return _simpleitk_read_back(reader.Execute())


def read_simpleitk_file(path: Path) -> ReadBack:
    """SimpleITK (GDCM) ``ReadImage`` of one multi-frame file (ImageSeriesReader makes it a 4-D image)."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    assert image.GetDimension() == 3, image.GetSize()
    return _simpleitk_read_back(image)


def _simpleitk_read_back(image) -> ReadBack:
    """Values (i, j, k) and RAS geometry of a 3-D SimpleITK image (LPS)."""
    import SimpleITK as sitk

    values = sitk.GetArrayFromImage(image).transpose(2, 1, 0).astype(np.float64)  # (k, j, i) -> (i, j, k)
    lps = np.eye(4)
    lps[:3, :3] = np.array(image.GetDirection()).reshape(3, 3) @ np.diag(image.GetSpacing())
    lps[:3, 3] = image.GetOrigin()
    return ReadBack("simpleitk", values, affine=LPS_FROM_RAS @ lps)


def decoded_values(dataset) -> np.ndarray:
    """pydicom's pixels in real-world units: Float Pixel Data as is, integers through the modality LUT (float64)."""
    from pydicom.pixels import apply_modality_lut

    if "FloatPixelData" in dataset:
        return np.asarray(dataset.pixel_array, dtype=np.float64)
    return np.asarray(apply_modality_lut(dataset.pixel_array, dataset), dtype=np.float64)


def read_pydicom(files) -> ReadBack:
    """Every file on its own: ``apply_modality_lut`` for values; IPP, IOP and PixelSpacing for each voxel centre.

    No spacing or regularity is assumed across slices: each slice's voxels are placed from its own IPP, so an
    IPP error on a single slice shows up as a position error.
    """
    import pydicom
    from pydicom.pixels import apply_modality_lut

    slices = []
    positions = []
    for path in sorted_by_position(files):
        dataset = pydicom.dcmread(path)
        stored = dataset.pixel_array
        values = np.asarray(apply_modality_lut(stored, dataset), dtype=np.float64)  # (rows, columns) = (j, i)
        orientation = np.array([float(x) for x in dataset.ImageOrientationPatient])
        row_spacing, column_spacing = (float(x) for x in dataset.PixelSpacing)  # (between rows, between columns)
        ipp = np.array([float(x) for x in dataset.ImagePositionPatient])
        i, j = np.meshgrid(np.arange(dataset.Columns), np.arange(dataset.Rows), indexing="ij")
        lps = (
            ipp
            + i[..., None] * column_spacing * orientation[:3]  # along a row: column index increases
            + j[..., None] * row_spacing * orientation[3:]  # down a column: row index increases
        )
        slices.append(values.T)
        positions.append(lps * [-1.0, -1.0, 1.0])
    return ReadBack("pydicom", np.stack(slices, axis=-1), positions=np.stack(positions, axis=2))


def read_pydicom_multiframe(path: Path) -> tuple[ReadBack, "pydicom.Dataset"]:
    """pydicom: an SC (uint16 through its top-level RescaleSlope/Intercept) or a PM (float32 through its Real World
    Value Mapping); each frame placed by its own Plane Position, spacing and orientation from the shared groups.
    """
    import pydicom

    ds = pydicom.dcmread(str(path))
    shared = ds.SharedFunctionalGroupsSequence[0]
    frames = ds.pixel_array.reshape(int(ds.NumberOfFrames), ds.Rows, ds.Columns)
    if "FloatPixelData" in ds:
        assert frames.dtype == np.float32 and ds.BitsAllocated == 32, (frames.dtype, ds.BitsAllocated)
        mapping = shared.RealWorldValueMappingSequence[0]
        slope, intercept = float(mapping.RealWorldValueSlope), float(mapping.RealWorldValueIntercept)
    else:
        assert frames.dtype == np.uint16 and ds.PixelRepresentation == 0, (frames.dtype, ds.PixelRepresentation)
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        assert list(ds.PixelSpacing) == list(shared.PixelMeasuresSequence[0].PixelSpacing)
    values = frames.astype(np.float64) * slope + intercept
    orientation = np.array([float(x) for x in shared.PlaneOrientationSequence[0].ImageOrientationPatient])
    row_spacing, column_spacing = (float(x) for x in shared.PixelMeasuresSequence[0].PixelSpacing)
    i, j = np.meshgrid(np.arange(ds.Columns), np.arange(ds.Rows), indexing="ij")
    positions = []
    for frame in ds.PerFrameFunctionalGroupsSequence:
        ipp = np.array([float(x) for x in frame.PlanePositionSequence[0].ImagePositionPatient])
        lps = ipp + i[..., None] * column_spacing * orientation[:3] + j[..., None] * row_spacing * orientation[3:]
        positions.append(lps * [-1.0, -1.0, 1.0])
    return ReadBack("pydicom-multiframe", values.transpose(2, 1, 0), positions=np.stack(positions, axis=2)), ds


def read_vtkitk(files) -> ReadBack:
    """slicer-core's vtkITKArchetypeImageSeriesScalarReader with GDCM, called as Slicer's DICOMScalarVolumePlugin
    ``loadFilesWithSeriesReader`` calls it; geometry is the inverse of the reader's RASToIJK matrix (what Slicer
    puts on the volume node).
    """
    import slicer
    from vtk.util.numpy_support import vtk_to_numpy

    ordered = sorted_by_position(files)
    reader = slicer.vtkITKArchetypeImageSeriesScalarReader()
    reader.SetArchetype(ordered[0])
    for path in ordered:
        reader.AddFileName(path)
    reader.SetSingleFile(0)
    reader.SetOutputScalarTypeToNative()
    reader.SetDesiredCoordinateOrientationToNative()
    reader.SetUseNativeOriginOn()
    reader.SetDICOMImageIOApproachToGDCM()
    reader.Update()
    assert reader.GetErrorCode() == 0, f"vtkITK GDCM reader error code {reader.GetErrorCode()}"
    image = reader.GetOutput()
    dimensions = image.GetDimensions()
    values = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(dimensions[::-1]).transpose(2, 1, 0)
    ras_to_ijk = _matrix(reader.GetRasToIjkMatrix())
    return ReadBack("vtkitk", values.astype(np.float64), affine=np.linalg.inv(ras_to_ijk))


def read_slicer_volume_file(path: Path) -> ReadBack:
    """Load a NIfTI/NRRD as Slicer does: vtkMRMLVolumeArchetypeStorageNode into a vtkMRMLScalarVolumeNode."""
    from slicer import vtkMRMLScalarVolumeNode, vtkMRMLScene, vtkMRMLVolumeArchetypeStorageNode
    from vtk import vtkMatrix4x4
    from vtk.util.numpy_support import vtk_to_numpy

    scene = vtkMRMLScene()
    node = vtkMRMLScalarVolumeNode()
    scene.AddNode(node)
    storage = vtkMRMLVolumeArchetypeStorageNode()
    scene.AddNode(storage)
    storage.SetFileName(str(path))
    assert storage.ReadData(node), f"Slicer could not read {path}"
    image = node.GetImageData()
    dimensions = image.GetDimensions()
    values = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(dimensions[::-1]).transpose(2, 1, 0)
    matrix = vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return ReadBack("slicer-file", values.astype(np.float64), affine=_matrix(matrix))


def _matrix(vtk_matrix) -> np.ndarray:
    return np.array([[vtk_matrix.GetElement(r, c) for c in range(4)] for r in range(4)])


@dataclass
class Comparison:
    """Result of mapping every read voxel onto the ground-truth grid."""

    max_position_error_mm: float
    errors: np.ndarray  # |read - truth| per read voxel
    truth: np.ndarray  # matched truth value per read voxel

    @property
    def max_value_error(self) -> float:
        return float(self.errors.max())


def compare(truth: np.ndarray, truth_affine: np.ndarray, read: ReadBack) -> Comparison:
    """Map every voxel centre of ``read`` into the truth's index space and compare.

    Requires the same number of voxels and that the nearest truth grid points form a one-to-one map (each truth
    voxel read exactly once, none outside the grid). Returns the largest distance in mm between a read voxel
    centre and its truth grid point, and the value errors. A mirrored or transposed volume with correct
    values-in-place is accepted (it is the same image); a mirror that moves values is caught by the value error.
    """
    assert read.values.size == truth.size, f"{read.reader}: {read.values.shape} voxels vs truth {truth.shape}"
    positions = read.ras_positions().reshape(-1, 3)
    inverse = np.linalg.inv(truth_affine)
    index = positions @ inverse[:3, :3].T + inverse[:3, 3]
    nearest = np.rint(index)
    offset_mm = np.linalg.norm((index - nearest) @ truth_affine[:3, :3].T, axis=1)
    inside = np.all((nearest >= 0) & (nearest <= np.array(truth.shape) - 1), axis=1)
    assert inside.all(), (
        f"{read.reader}: {np.count_nonzero(~inside)} voxel centres fall outside the truth grid, e.g. index "
        f"{index[~inside][0]}"
    )
    flat = np.ravel_multi_index(tuple(nearest.astype(int).T), truth.shape)
    unique = np.unique(flat).size
    assert unique == truth.size, (
        f"{read.reader}: read voxels land on only {unique} of {truth.size} truth grid points "
        f"(max offset {offset_mm.max():.3g} mm)"
    )
    matched = truth.reshape(-1)[flat].astype(np.float64)
    errors = np.abs(read.values.reshape(-1) - matched)
    return Comparison(max_position_error_mm=float(offset_mm.max()), errors=errors, truth=matched)


def run_dciodvfy(path) -> list:
    """All output lines of dciodvfy for one file (it writes to stderr and exits 0 even on errors)."""
    result = subprocess.run([_tool("dciodvfy"), str(path)], capture_output=True, text=True, check=False)
    return [line.strip() for line in (result.stdout + "\n" + result.stderr).splitlines() if line.strip()]


def dciodvfy_errors(path) -> list:
    """Lines of dciodvfy output that report an error ("Error - ...")."""
    return [line for line in run_dciodvfy(path) if line.startswith("Error")]


def dciodvfy_warnings(path) -> list:
    """Lines of dciodvfy output that report a warning."""
    return [line for line in run_dciodvfy(path) if line.startswith("Warning")]
