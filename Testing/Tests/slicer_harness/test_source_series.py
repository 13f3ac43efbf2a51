"""The series a map was computed from ("Computed from"), read from Slicer's DICOM database: a DWI loaded by SlicerDMRI
records its DICOM UIDs only on its subject-hierarchy item, and is accepted as the source from the console and the
panel; the map then joins the source's patient, study and frame of reference, and references its series.
"""

import types

from slicer_harness.conftest import load_map

import pydicom
import pytest
from dicom_database_views import series_uids
from readers import compare, read_vtkitk


def dwi_loaded_like_slicerdmri(slicer, tmp_path, scene, seriesUID, instanceUIDs, withInstanceUIDs=True):
    """A DWI node placed in the subject hierarchy as DICOMPlugin.addSeriesInSubjectHierarchy does for SlicerDMRI's
    DICOMDiffusionVolumePlugin (Modules/Scripted/DMRIPlugins/DICOMDiffusionVolumePlugin.py): UID "DICOM" = series UID,
    UID "DICOMInstanceUID" = space-separated SOP instance UIDs; no DICOM.instanceUIDs node attribute.
    """
    node = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "DWI")
    node.SetAndObserveImageData(scene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode").GetImageData())
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    item = shNode.CreateItem(shNode.GetSceneItemID(), node)
    shNode.SetItemUID(item, "DICOM", seriesUID)
    if withInstanceUIDs:
        shNode.SetItemUID(item, "DICOMInstanceUID", " ".join(instanceUIDs))
    assert node.GetAttribute("DICOM.instanceUIDs") is None
    return node


@pytest.mark.parametrize("withInstanceUIDs", [True, False], ids=["instance-uids", "series-uid-only"])
def test_a_dwi_loaded_by_slicerdmri_is_accepted_as_source(slicer, tmp_path, withInstanceUIDs):
    import FAExport

    scene = slicer.vtkMRMLScene()
    source, _, _ = load_map(types.SimpleNamespace(mrmlScene=scene), tmp_path, "axial", name="b0")
    logic = FAExport.FAExportLogic()
    sourceSeries = logic.exportVolume(source, mode="mr", quantity="DWI", metadata={"patient_name": "Doe^Jane", "patient_id": "MRN-7"}).series[0]
    instanceUIDs = [pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in sourceSeries.files]
    dwi = dwi_loaded_like_slicerdmri(slicer, tmp_path, scene, sourceSeries.series_instance_uid, instanceUIDs, withInstanceUIDs)
    mapNode, _, _ = load_map(types.SimpleNamespace(mrmlScene=scene), tmp_path, "axial", name="fa")
    (series,) = logic.exportVolume(mapNode, mode="pm", sourceVolumeNode=dwi, outputFolder=tmp_path / "out", addToDatabase=False).series
    dataset = pydicom.dcmread(series.files[0], stop_before_pixels=True)
    assert dataset.StudyInstanceUID == sourceSeries.study_instance_uid
    assert dataset.FrameOfReferenceUID == sourceSeries.frame_of_reference_uid
    assert (str(dataset.PatientName), dataset.PatientID) == ("Doe^Jane", "MRN-7")
    assert dataset.ReferencedSeriesSequence[0].SeriesInstanceUID == sourceSeries.series_instance_uid


def test_the_source_series_joined_from_the_panel_reads_back(slicer, panel, tmp_path):
    """'Computed from' a DWI loaded by SlicerDMRI, chosen in the panel: the map joins its study; values read back by vtkITK."""
    import FAExport

    source, _, _ = load_map(slicer, tmp_path, "axial", name="b0")
    sourceSeries = FAExport.FAExportLogic().exportVolume(source, mode="mr", quantity="DWI", metadata={"patient_name": "Doe^Jane", "patient_id": "MRN-7"}).series[0]
    instanceUIDs = [pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in sourceSeries.files]
    dwi = dwi_loaded_like_slicerdmri(slicer, tmp_path, slicer.mrmlScene, sourceSeries.series_instance_uid, instanceUIDs)
    node, values, affine = load_map(slicer, tmp_path, "axial", name="FA")
    panel.ui.inputVolumeSelector.setCurrentNode(node)
    panel.ui.sourceVolumeSelector.setCurrentNode(dwi)
    assert panel.parameters.sourceVolume is dwi
    panel.ui.exportButton.click()
    new = [uid for uid in series_uids(slicer.dicomDatabase) if uid != sourceSeries.series_instance_uid]
    files = slicer.dicomDatabase.filesForSeries(new[0])
    assert pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID == sourceSeries.study_instance_uid
    assert compare(values, affine, read_vtkitk(files)).max_value_error <= 1.0 / 32000
