"""The module's logic as the Python console uses it, on Slicer's real MRML (PyPI slicer-core): volume node -> DICOM files and database.

Volumes are loaded through Slicer's own storage node; subject hierarchies are built as Slicer's DICOM loader
builds them; results are read back with Slicer's vtkITK DICOM series reader (what its scalar volume DICOM
plugin runs), dcm2niix and pydicom. ``slicer.dicomDatabase`` is CTK's own ctkDICOMDatabase (ctk_dicom_core.py).
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from FAExport import FAExportLogic
from slicer_harness.conftest import POSITION_TOLERANCE_MM, load_case, only_entries, place_in_dicom_study

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, PACKAGE_ROOT, map_values, write_volume
from dicom_database_views import count_signal, fail_storage_after, open_database_in, series_uids
from readers import compare, dciodvfy_errors, read_dcm2niix, read_slicer_volume_file, read_vtkitk
from test_pm_sc_values_and_geometry import read_dcmqi

import slicer
from FAExportLib import ExportCancelled, InputError, OutputError
from vtk import vtkMatrix4x4, vtkThinPlateSplineTransform
from vtk.util.numpy_support import vtk_to_numpy


@pytest.fixture
def scene():
    scene = slicer.vtkMRMLScene()
    yield scene
    scene.Clear(True)


@pytest.fixture
def database(tmp_path, monkeypatch):
    """Slicer's DICOM database, as the DICOM module makes it available: ``slicer.dicomDatabase``."""
    database = open_database_in(tmp_path / "SlicerDICOMDatabase")
    monkeypatch.setattr(slicer, "dicomDatabase", database, raising=False)
    return database


def faexport_temp_folders() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("FAExport-")}


@pytest.mark.parametrize("file_format", ["nii", "nrrd"])
@pytest.mark.parametrize("geometry_name", ["oblique", "las", "nonsquare"])
def test_node_exports_with_values_and_geometry_read_back_by_slicer_and_dcm2niix(tmp_path, scene, geometry_name, file_format):
    volumeNode, values, affine = load_case(tmp_path, scene, geometry_name, file_format)
    result = FAExportLogic().exportVolume(volumeNode, mode="mr", outputFolder=tmp_path / "out", addToDatabase=False)
    (series,) = result.series
    assert series.measured_max_error <= series.max_quantization_error <= 2e-5
    for readBack in (read_vtkitk(series.files), read_dcm2niix(Path(series.directory), tmp_path / "dcm2niix")):
        comparison = compare(values, affine, readBack)
        # dcm2niix keeps the slope in float32: allow one float32 step of the largest value on top of the bound.
        allowance = float(np.spacing(np.float32(1.0))) if readBack.float32 else 0.0
        assert comparison.max_value_error <= series.max_quantization_error + allowance, readBack.reader
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM, readBack.reader


def test_voxels_come_from_the_node_without_a_copy(tmp_path, scene):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    array = FAExportLogic.voxelArray(volumeNode)
    assert np.shares_memory(array, vtk_to_numpy(volumeNode.GetImageData().GetPointData().GetScalars()))


def test_linear_transform_is_applied_to_the_geometry(tmp_path, scene):
    volumeNode, values, affine = load_case(tmp_path, scene, "oblique")
    rotation = np.array([[0.0, -1.0, 0.0, 12.5], [1.0, 0.0, 0.0, -3.25], [0.0, 0.0, 1.0, 40.0], [0.0, 0.0, 0.0, 1.0]])
    matrix = vtkMatrix4x4()
    for row in range(4):
        for column in range(4):
            matrix.SetElement(row, column, rotation[row, column])
    transformNode = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    transformNode.SetMatrixTransformToParent(matrix)
    volumeNode.SetAndObserveTransformNodeID(transformNode.GetID())
    (series,) = FAExportLogic().exportVolume(volumeNode, mode="mr", outputFolder=tmp_path / "out", addToDatabase=False).series
    comparison = compare(values, rotation @ affine, read_vtkitk(series.files))
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
    assert comparison.max_value_error <= series.max_quantization_error


def test_non_linear_transform_is_refused_and_nothing_written(tmp_path, scene):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    transformNode = scene.AddNewNodeByClass("vtkMRMLTransformNode", "warp")
    transformNode.SetAndObserveTransformToParent(vtkThinPlateSplineTransform())
    volumeNode.SetAndObserveTransformNodeID(transformNode.GetID())
    with pytest.raises(InputError) as raised:
        FAExportLogic().exportVolume(volumeNode, outputFolder=tmp_path / "out", addToDatabase=False)
    assert str(raised.value) == (
        'volume "axial" is under the non-linear transform "warp"; DICOM images cannot carry a warp: harden the transform '
        "(Data module, right-click the volume, Harden transform) to resample the map, or remove the transform"
    )
    assert not (tmp_path / "out").exists()


def test_series_joins_the_subject_hierarchy_study(tmp_path, scene):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    patient = {"DICOM.PatientName": "Doe^Jane", "DICOM.PatientID": "MRN-0042", "DICOM.PatientSex": "F", "DICOM.PatientBirthDate": "19700101"}
    study = {"StudyInstanceUID": "1.2.826.0.1.3680043.8.498.11", "DICOM.StudyDescription": "Brain DTI", "DICOM.StudyDate": "20260102", "DICOM.StudyTime": "101500"}
    place_in_dicom_study(scene, volumeNode, patient, study, seriesUID="1.2.826.0.1.3680043.8.498.12")
    result = FAExportLogic().exportVolume(volumeNode, mode="mr+pm", outputFolder=tmp_path / "out", addToDatabase=False, metadata={"patient_name": "Ignored^Because^Joined"})
    assert len(result.series) == 2
    for series in result.series:
        dataset = pydicom.dcmread(series.files[0], stop_before_pixels=True)
        assert dataset.StudyInstanceUID == study["StudyInstanceUID"]
        assert (str(dataset.PatientName), dataset.PatientID, dataset.PatientSex, dataset.PatientBirthDate) == ("Doe^Jane", "MRN-0042", "F", "19700101")
        assert (dataset.StudyDescription, dataset.StudyDate, dataset.StudyTime) == ("Brain DTI", "20260102", "101500")
        assert dataset.SeriesInstanceUID != "1.2.826.0.1.3680043.8.498.12"


def test_without_a_study_the_users_fields_make_a_new_study(tmp_path, scene):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    (series,) = FAExportLogic().exportVolume(volumeNode, outputFolder=tmp_path / "out", addToDatabase=False, metadata={"patient_name": "Roe^Richard", "patient_id": "R1"}).series
    dataset = pydicom.dcmread(series.files[0], stop_before_pixels=True)
    assert (str(dataset.PatientName), dataset.PatientID) == ("Roe^Richard", "R1")
    assert dataset.StudyInstanceUID == series.study_instance_uid


def test_voxel_value_quantity_and_units_of_the_node_reach_the_parametric_map(tmp_path, scene):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial", values_kind="diffusivity")
    quantity, units = slicer.vtkCodedEntry(), slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning("113202", "DCM", "Mean Diffusivity")
    units.SetValueSchemeMeaning("um2/s", "UCUM", "um2/s")
    volumeNode.SetVoxelValueQuantity(quantity)
    volumeNode.SetVoxelValueUnits(units)
    (series,) = FAExportLogic().exportVolume(volumeNode, mode="pm", outputFolder=tmp_path / "out", addToDatabase=False).series
    dataset = pydicom.dcmread(series.files[0], stop_before_pixels=True)
    mapping = dataset.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    assert mapping.QuantityDefinitionSequence[0].ConceptCodeSequence[0].CodeValue == "113202"
    assert mapping.MeasurementUnitsCodeSequence[0].CodeValue == "um2/s"
    assert dataset.SeriesDescription == "MD map (um2/s)"


def test_voxel_value_quantity_found_in_dicoms_vocabulary(tmp_path, scene):
    """A node whose VoxelValueQuantity is R1 (126393, DCM), a code of DICOM's vocabulary FAExport names R1: exported
    under that name with the node's units; with plainIntegers the MR stores round(value x factor) with slope 1.
    """
    volumeNode, values, _ = load_case(tmp_path, scene, "axial")
    quantity, units = slicer.vtkCodedEntry(), slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning("126393", "DCM", "R1")
    units.SetValueSchemeMeaning("1/s", "UCUM", "per second")
    volumeNode.SetVoxelValueQuantity(quantity)
    volumeNode.SetVoxelValueUnits(units)
    result = FAExportLogic().exportVolume(volumeNode, mode="mr+pm", outputFolder=tmp_path / "out", addToDatabase=False, plainIntegers=True)
    mr, pm = result.series
    assert (mr.series_description, pm.series_description) == ("R1 (1/s) x32000", "R1 map (1/s) (Parametric Map)")
    assert (mr.plain_integers, mr.value_scale, pm.plain_integers) == (True, 32000.0, False)
    mapping = pydicom.dcmread(pm.files[0], stop_before_pixels=True).SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    assert mapping.QuantityDefinitionSequence[0].ConceptCodeSequence[0].CodeValue == "126393"
    assert mapping.MeasurementUnitsCodeSequence[0].CodeValue == "1/s"
    stored = {float(pydicom.dcmread(path).pixel_array.max()) for path in mr.files}
    assert max(stored) == np.rint(float(values.max()) * 32000)
    assert {str(pydicom.dcmread(path, stop_before_pixels=True).RescaleSlope) for path in mr.files} == {"1"}
    assert "plain integers: readers get R1 x 32000 (RescaleSlope 1)" in result.summary()


def test_database_receives_every_series_complete(tmp_path, scene, database):
    volumeNode, values, affine = load_case(tmp_path, scene, "las")
    before = faexport_temp_folders()
    result = FAExportLogic().exportVolume(volumeNode, mode="mr+pm")
    assert result.addedToDatabase
    assert series_uids(database) == {series.series_instance_uid for series in result.series}
    for series in result.series:
        assert all(path.startswith(database.databaseDirectory) for path in series.files)
        assert len(series.files) == len(database.filesForSeries(series.series_instance_uid))
        assert dciodvfy_errors(series.files[0]) == []
    mrSeries = next(series for series in result.series if series.mode == "mr")
    assert len(mrSeries.files) == values.shape[2]
    comparison = compare(values, affine, read_vtkitk(mrSeries.files))
    assert comparison.max_value_error <= mrSeries.max_quantization_error
    assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
    assert faexport_temp_folders() == before, "the temporary export folder was left behind"


def test_database_and_folder_both_receive_the_series(tmp_path, scene, database):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    result = FAExportLogic().exportVolume(volumeNode, mode="sc", outputFolder=tmp_path / "out")
    (series,) = result.series
    assert Path(series.files[0]).parent.parent == tmp_path / "out"
    assert database.filesForSeries(series.series_instance_uid)
    assert pydicom.dcmread(database.filesForSeries(series.series_instance_uid)[0]).SOPInstanceUID == pydicom.dcmread(series.files[0]).SOPInstanceUID


def test_a_failing_database_insert_leaves_no_part_of_the_export_and_keeps_earlier_series(tmp_path, scene, database):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    earlier = FAExportLogic().exportVolume(volumeNode, mode="mr").series[0]
    fail_storage_after(database, 5)  # the next export fails within its first series
    with pytest.raises(OutputError) as raised:
        FAExportLogic().exportVolume(volumeNode, mode="mr+pm")
    assert str(raised.value).startswith("Slicer's DICOM database holds 5 of the 24 files of series 'FA map'")
    assert series_uids(database) == {earlier.series_instance_uid}
    assert len(database.filesForSeries(earlier.series_instance_uid)) == len(earlier.files)
    assert all(Path(path).is_file() for path in database.filesForSeries(earlier.series_instance_uid))


def test_cancel_leaves_the_database_and_folder_untouched(tmp_path, scene, database):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    calls = []

    def cancelAfterThreeFiles(message: str, filesDone: int) -> bool:
        calls.append(message)
        return len(calls) > 3

    inserted = count_signal(database, "instanceAdded(QString)")
    with pytest.raises(ExportCancelled):
        FAExportLogic().exportVolume(volumeNode, mode="mr", outputFolder=tmp_path / "out", progressCallback=cancelAfterThreeFiles)
    assert inserted == [] and database.imagesCount() == 0
    assert only_entries(tmp_path / "out") == []


def test_closed_database_is_a_clear_error_before_anything_is_written(tmp_path, scene, database):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial")
    database.closeDatabase()  # and no settings say where Slicer's database is (PythonSlicer, no DICOM module)
    with pytest.raises(OutputError) as raised:
        FAExportLogic().exportVolume(volumeNode, outputFolder=tmp_path / "out")
    assert str(raised.value) == "Slicer's DICOM database is not open; open the DICOM module and create or select a database, or export to a folder only"
    assert not (tmp_path / "out").exists()


def test_source_volume_from_the_database_gives_study_frame_of_reference_and_reference(tmp_path, scene, database):
    sourceNode, _, _ = load_case(tmp_path, scene, "axial")
    sourceSeries = FAExportLogic().exportVolume(sourceNode, mode="mr", quantity="DWI", metadata={"patient_name": "Doe^Jane", "patient_id": "MRN-7"}).series[0]
    # What Slicer's scalar volume DICOM plugin leaves on a loaded node: its instance UIDs in slice order.
    sourceNode.SetAttribute("DICOM.instanceUIDs", " ".join(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in sourceSeries.files))
    (tmp_path / "map").mkdir()
    mapNode, values, _ = load_case(tmp_path / "map", scene, "axial")
    result = FAExportLogic().exportVolume(mapNode, mode="pm", sourceVolumeNode=sourceNode, outputFolder=tmp_path / "out", addToDatabase=False)
    dataset = pydicom.dcmread(result.series[0].files[0], stop_before_pixels=True)
    assert dataset.StudyInstanceUID == sourceSeries.study_instance_uid
    assert dataset.FrameOfReferenceUID == sourceSeries.frame_of_reference_uid
    assert (str(dataset.PatientName), dataset.PatientID) == ("Doe^Jane", "MRN-7")
    assert dataset.ReferencedSeriesSequence[0].SeriesInstanceUID == sourceSeries.series_instance_uid
    assert len(dataset.ReferencedSeriesSequence[0].ReferencedInstanceSequence) == values.shape[2]


@pytest.mark.parametrize(
    ("node_class", "message"),
    [
        ("vtkMRMLLabelMapVolumeNode", 'volume "map" is a labelmap (its voxels are segment labels, not measurements); FAExport exports scalar maps'),
        ("vtkMRMLVectorVolumeNode", 'volume "map" is a vector or RGB volume (extract one scalar component first); FAExport exports scalar maps'),
        ("vtkMRMLDiffusionTensorVolumeNode", 'volume "map" is a tensor volume (compute a scalar map such as FA from it first); FAExport exports scalar maps'),
    ],
)
def test_non_scalar_volumes_are_refused(tmp_path, scene, node_class, message):
    node = scene.AddNewNodeByClass(node_class, "map")
    with pytest.raises(InputError) as raised:
        FAExportLogic().exportVolume(node, outputFolder=tmp_path / "out", addToDatabase=False)
    assert str(raised.value) == message
    assert not (tmp_path / "out").exists()


def test_a_parametric_map_needs_no_highdicom(tmp_path):
    """FAExportLib writes the Parametric Map with pydicom alone: without highdicom, mr+pm is written and dcmqi reads it."""
    code = (
        "import sys; sys.modules['highdicom'] = None\n"  # makes `import highdicom` raise ImportError, as when not installed
        "import slicer, FAExport\n"
        "scene = slicer.vtkMRMLScene()\n"
        f"node = FAExport.FAExportLogic.readVolumeFile({str(PACKAGE_ROOT.parent / 'Testing/Data/dipy_small_FA.nii.gz')!r}, scene)\n"
        f"result = FAExport.FAExportLogic().exportVolume(node, mode='mr+pm', outputFolder={str(tmp_path / 'pm')!r}, addToDatabase=False)\n"
        "print([len(series.files) for series in result.series], sys.modules['highdicom'] is not None)\n"
        "print(result.series[1].files[0])\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT)), check=False)
    assert completed.returncode == 0, completed.stderr
    counts, parametricMap = completed.stdout.splitlines()
    assert counts == "[10, 1] False"
    readBack, meta = read_dcmqi(Path(parametricMap), tmp_path / "dcmqi")  # what Slicer's Parametric Map loader runs
    truth = read_slicer_volume_file(PACKAGE_ROOT.parent / "Testing/Data/dipy_small_FA.nii.gz")  # the map as Slicer loads it
    comparison = compare(truth.values, truth.affine, readBack)
    assert comparison.max_value_error == 0.0 and comparison.max_position_error_mm < POSITION_TOLERANCE_MM
    assert meta["QuantityValueCode"]["CodeMeaning"] == "Fractional Anisotropy"


def test_slicer_reads_nifti_nan_as_zero_so_files_are_checked_before_loading(tmp_path, scene):
    """Why exportFile scans NIfTI data itself: Slicer's reader hides NaN (NRRD keeps it, and the node check refuses it)."""
    geometry = GEOMETRIES["axial"]
    values = map_values("fa", geometry.shape)
    values[1, 2, 3], values[4, 5, 6] = np.nan, np.inf
    for suffix in (".nii", ".nii.gz", ".nrrd"):
        path = write_volume(tmp_path / f"broken{suffix}", values, geometry.affine)
        loaded = slicer.util.arrayFromVolume(FAExportLogic.readVolumeFile(path, scene))
        if suffix == ".nrrd":
            assert np.isnan(loaded[3, 2, 1]) and np.isinf(loaded[6, 5, 4])
            with pytest.raises(InputError, match=r"^2 voxels are NaN or infinite \(at IJK 1,2,3; 4,5,6\)"):
                FAExportLogic().exportFile(path, outputFolder=tmp_path / "out", addToDatabase=False)
        else:
            assert (loaded[3, 2, 1], loaded[6, 5, 4]) == (0.0, 0.0)  # ITK's NIfTI reader: NaN and Inf become 0
            with pytest.raises(InputError, match=r"^2 voxels of .* are NaN or infinite, and Slicer's NIfTI reader turns them into 0"):
                FAExportLogic().exportFile(path, outputFolder=tmp_path / "out", addToDatabase=False)
            (series,) = FAExportLogic().exportFile(path, outputFolder=tmp_path / "out", addToDatabase=False, replaceNonFinite=0).series
            assert series.measured_max_error <= series.max_quantization_error
    assert only_entries(tmp_path / "out") != [] and len(only_entries(tmp_path / "out")) == 2


def test_preview_shows_the_error_before_exporting_and_refuses_what_would_clip(tmp_path, scene):
    volumeNode, _, _ = load_case(tmp_path, scene, "axial", values_kind="signed")  # -3..5
    logic = FAExportLogic()
    outside = "Warning: 4617 voxels of the FA map lie outside 0 to 1, what FA means (values -3 to 5; first at IJK 0,0,0); exported as they are: check the map"
    text = logic.previewText(volumeNode, mode="mr", scale="1000").split("\n")
    assert text[:2] == ["Values -3 to 5 are stored as integers -3000 to 5000 (RescaleSlope 0.001); worst-case quantization error 0.0005.", outside]
    assert "Reader trap: Weasis: RescaleSlope 0.001: measurements may show stored integers; plain integers or the navigation profile avoid it" in text[2:]
    assert all(line.startswith("Reader trap: ") for line in text[2:])
    text = logic.previewText(volumeNode, mode="pm", scale="1000", quantity="T1").split("\n")
    assert text == [
        "Values -3 to 5; the Parametric Map stores them as float32 (exact for a float32 map).",
        "Reader trap: OHIF 3.9+: it names no source series (the series the map was computed from): OHIF will not display it",
        "Reader trap: archives (PACS): an archive may refuse it: mr+pm writes an MR series beside it, and a send can fall back to sc or mr",
    ]
    with pytest.raises(InputError, match=r"^the largest value 5 .*does not fit"):
        logic.previewText(volumeNode, mode="mr", scale="32000")
