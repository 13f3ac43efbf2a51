"""The panel's encoding options and what they write: the scale (its error shown first), plain integers (only for the
integer modes; files hold value x factor), a coarse scale refused until the override offered for it is ticked, NaN
voxels blocking the export until 0 is accepted, laterality, and the preview's warnings (a NIfTI whose transforms
disagree). Files are read back with pydicom, dcm2niix and vtkITK.
"""

from slicer_harness.conftest import choose, load_map, written_files

import numpy as np
import pydicom
from conftest import GEOMETRIES, map_values, write_volume
from dicom_database_views import series_uids
from readers import compare, read_dcm2niix, read_pydicom, read_vtkitk

PARAMETRIC_MAP_STORAGE = "1.2.840.10008.5.1.4.1.1.30"


# --- scale


def test_scale_choice_and_custom_scale_show_their_error_and_reach_the_files(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", kind="signed")  # -3..5
    choose(panel.ui.scaleComboBox, "x1000")
    first, warning, traps = panel.ui.previewLabel.text.splitlines()
    assert first == "Values -3 to 5 are stored as integers -3000 to 5000 (RescaleSlope 0.001); worst-case quantization error 0.0005."
    assert warning.startswith("Warning: 4617 voxels of the FA map lie outside 0 to 1, what FA means")  # the default quantity is FA
    assert traps == "Reader traps: Weasis, vtk-dicom and others (see the tooltip)"  # slope 0.001
    choose(panel.ui.scaleComboBox, "x32000")
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text.startswith("Cannot export: the largest value 5 ")
    assert panel.ui.previewLabel.text == ""
    choose(panel.ui.scaleComboBox, "custom")
    assert panel.ui.customScaleSpinBox.enabled
    panel.ui.customScaleSpinBox.value = 250.0
    assert panel.parameters.customScale == 250.0
    assert panel.ui.previewLabel.text.splitlines()[0] == "Values -3 to 5 are stored as integers -750 to 1250 (RescaleSlope 0.004); worst-case quantization error 0.002."
    panel.ui.exportButton.click()
    (seriesUID,) = series_uids(slicer.dicomDatabase)
    import pydicom

    dataset = pydicom.dcmread(slicer.dicomDatabase.filesForSeries(seriesUID)[0], stop_before_pixels=True)
    assert float(dataset.RescaleSlope) == 0.004
    assert "RescaleSlope 0.004" in panel.ui.resultLabel.text


def test_a_coarse_scale_is_refused_until_the_override_shown_for_it_is_ticked(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", name="FA")
    assert not panel.ui.allowCoarseScaleCheckBox.visible
    choose(panel.ui.scaleComboBox, "custom")
    panel.ui.customScaleSpinBox.value = 1.0
    reason = panel.ui.disabledReasonLabel.text
    assert not panel.ui.exportButton.enabled and reason.startswith("Cannot export: "), reason
    assert reason.endswith('to export anyway, allow coarse scales ("Allow a coarse scale")') and "--" not in reason, reason
    assert panel.ui.allowCoarseScaleCheckBox.visible
    panel.ui.allowCoarseScaleCheckBox.checked = True
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    assert "\nWarning: " in panel.ui.previewLabel.text  # the coarse scale allowed is still said
    panel.ui.exportButton.click()
    ((_, files),) = written_files(slicer).items()
    assert "Warning: " in panel.ui.resultLabel.text
    stored = np.concatenate([pydicom.dcmread(path).pixel_array.ravel() for path in files])
    assert set(np.unique(stored)) <= {0, 1} and float(pydicom.dcmread(files[0]).RescaleSlope) == 1.0  # what the user allowed
    choose(panel.ui.scaleComboBox, "auto")
    panel.ui.allowCoarseScaleCheckBox.checked = False
    assert not panel.ui.allowCoarseScaleCheckBox.visible  # a fine scale: no override to offer


def test_a_parametric_map_of_values_too_close_for_int16_exports_exactly_while_the_integer_modes_refuse(slicer, panel, tmp_path):
    """A Parametric Map stores float32 and uses no scale: the coarse-scale rule is the integer encodings' alone."""
    node, fa, _ = load_map(slicer, tmp_path, "axial", name="T1")
    values = (10000.0 + 0.01 * fa).astype(np.float32)  # 10000 to 10000.01: int16 steps far coarser than the spread
    slicer.util.updateVolumeFromArray(node, values)
    choose(panel.ui.exportModeComboBox, "MR images (")
    assert not panel.ui.exportButton.enabled and "too coarse" in panel.ui.disabledReasonLabel.text
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert panel.ui.exportButton.enabled, panel.ui.disabledReasonLabel.text
    assert "the Parametric Map stores them as float32" in panel.ui.previewLabel.text
    assert "coarse" not in panel.ui.previewLabel.text
    panel.ui.exportButton.click()
    ((sop, (file,)),) = written_files(slicer).items()
    assert sop == PARAMETRIC_MAP_STORAGE
    stored = np.frombuffer(pydicom.dcmread(file).FloatPixelData, dtype="<f4")
    assert np.array_equal(np.sort(stored), np.sort(values.ravel()))


# --- plain integers


def test_plain_integers_only_for_integer_modes_preview_states_the_factor_and_files_hold_value_times_factor(slicer, panel, tmp_path):
    _, values, affine = load_map(slicer, tmp_path, "oblique", name="FA")
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert not panel.ui.plainIntegersCheckBox.enabled
    assert panel.ui.plainIntegersCheckBox.toolTip.startswith("Only for MR images or Secondary Capture")
    choose(panel.ui.exportModeComboBox, "MR images (")
    assert panel.ui.plainIntegersCheckBox.enabled
    choose(panel.ui.scaleComboBox, "x1000")
    panel.ui.plainIntegersCheckBox.checked = True
    assert panel.parameters.plainIntegers
    preview = panel.ui.previewLabel.text
    assert "plain integers 0 to 1000 = value x 1000 (RescaleSlope 1)" in preview, preview
    assert "readers get the values multiplied by 1000" in preview
    panel.ui.writeToFolderCheckBox.checked = True
    panel.ui.outputFolderPathLineEdit.currentPath = str(tmp_path / "out")
    (tmp_path / "out").mkdir()
    panel.ui.addToDatabaseCheckBox.checked = False
    panel.ui.exportButton.click()
    assert "plain integers: readers get FA x 1000 (RescaleSlope 1)" in panel.ui.resultLabel.text, panel.ui.resultLabel.text
    (seriesFolder,) = [path for path in (tmp_path / "out").iterdir() if path.is_dir()]
    files = sorted(seriesFolder.glob("*.dcm"))
    first = pydicom.dcmread(files[0])
    assert float(first.RescaleSlope) == 1.0 and float(first.RescaleIntercept) == 0.0
    assert "x1000" in first.SeriesDescription.replace(" ", "")
    expected = np.rint(values.astype(np.float64) * 1000)
    assert compare(expected, affine, read_pydicom(files)).max_value_error == 0.0
    assert compare(expected, affine, read_dcm2niix(seriesFolder, tmp_path / "dcm2niix")).max_value_error == 0.0
    # Back to a Parametric Map: the ticked option no longer applies and the preview says float32 again.
    choose(panel.ui.exportModeComboBox, "Parametric Map")
    assert "float32" in panel.ui.previewLabel.text and "plain integers" not in panel.ui.previewLabel.text


# --- NaN voxels, laterality, warnings


def test_nan_voxels_block_the_export_until_the_user_accepts_zero(slicer, panel, tmp_path):
    values = map_values("fa", GEOMETRIES["axial"].shape)
    values[1, 2, 3], values[4, 5, 6] = np.nan, np.inf
    path = write_volume(tmp_path / "nan.nrrd", values, GEOMETRIES["axial"].affine)  # Slicer's NRRD reader keeps NaN
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "nan")
    storage = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    assert panel.ui.inputVolumeSelector.currentNode() is node
    assert not panel.ui.exportButton.enabled
    assert panel.ui.disabledReasonLabel.text == 'Cannot export: 2 voxels are NaN or infinite (at IJK 1,2,3; 4,5,6); fix the map, or tick "Replace NaN/infinite voxels with 0"'
    panel.ui.replaceNonFiniteCheckBox.checked = True
    assert panel.ui.exportButton.enabled
    assert panel.ui.previewLabel.text.startswith("Values 0 to 1 are stored as integers 0 to ")
    panel.ui.exportButton.click()
    (seriesUID,) = series_uids(slicer.dicomDatabase)
    readBack = read_vtkitk(slicer.dicomDatabase.filesForSeries(seriesUID))
    expected = np.where(np.isfinite(values), values, 0.0)
    assert compare(expected, GEOMETRIES["axial"].affine, readBack).max_value_error <= 1.0 / 32000


def test_laterality_chosen_in_the_panel_is_written(slicer, panel, tmp_path):
    load_map(slicer, tmp_path, "axial", name="FA")
    items = [panel.ui.lateralityComboBox.itemText(index) for index in range(panel.ui.lateralityComboBox.count)]
    assert items == ["not given", "L (left)", "R (right)", "B (both)", "U (unpaired)"]
    choose(panel.ui.lateralityComboBox, "L (left)")
    choose(panel.ui.exportModeComboBox, "MR images + Parametric Map")
    panel.ui.exportButton.click()
    found = written_files(slicer)
    mr = pydicom.dcmread(found["1.2.840.10008.5.1.4.1.1.4"][0], stop_before_pixels=True)
    assert "L" in (mr.get("Laterality"), mr.get("ImageLaterality"))
    pm = pydicom.dcmread(found[PARAMETRIC_MAP_STORAGE][0], stop_before_pixels=True)
    frameLateralities = {str(dataset.FrameLaterality) for dataset in _datasets(pm) if "FrameLaterality" in dataset}
    assert frameLateralities == {"L"}


def _datasets(dataset):
    """Every dataset nested in ``dataset`` (sequence items), itself included."""
    yield dataset
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                yield from _datasets(item)


def test_a_nifti_whose_sform_and_qform_disagree_is_named_in_the_preview(slicer, panel, tmp_path):
    import nibabel

    values = np.linspace(0, 1, 4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    image = nibabel.Nifti1Image(values, np.diag([1.0, 1.0, 2.0, 1.0]))
    qform = np.diag([1.0, 1.0, 2.0, 1.0])
    qform[:3, 3] = [10, 0, 0]
    image.set_qform(qform, code=1)
    image.set_sform(np.diag([1.0, 1.0, 2.0, 1.0]), code=2)
    path = tmp_path / "disagree.nii.gz"
    nibabel.save(image, path)
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "disagree")
    storage = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    node.SetAndObserveStorageNodeID(storage.GetID())
    panel.ui.inputVolumeSelector.setCurrentNode(node)
    warning = panel.ui.previewLabel.text.splitlines()[-1]
    assert warning.startswith("Warning: disagree.nii.gz: its sform (code 2, aligned) and qform (code 1, scanner) place the map up to 10 mm apart"), warning
    assert panel.ui.exportButton.enabled  # a warning, not a refusal
