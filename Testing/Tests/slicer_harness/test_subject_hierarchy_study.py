"""A map placed under a DICOM study in the subject hierarchy joins that study with the patient and study values its
files have in Slicer's DICOM database, never the placeholder text Slicer's DICOM loader shows for empty values
("Patient-<StudyInstanceUID>", "No name", "No study description") nor values edited in the subject hierarchy: a
series whose patient differs from its study's lands under another patient in the database (and in an archive).
"""

from slicer_harness.conftest import load_map, place_in_dicom_study, used_dicom_database

import numpy as np
import pydicom
import pytest
from dicom_database_views import series_uids
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

EMPTY = {"PatientName": "", "PatientID": "", "PatientSex": "", "PatientBirthDate": "", "StudyID": "", "StudyDescription": ""}
PATIENT_STUDY_KEYWORDS = ("PatientName", "PatientID", "PatientSex", "PatientBirthDate", "StudyID", "StudyDescription", "AccessionNumber")


def write_source_series(folder, studyUID: str, slices: int = 3, **values: str) -> list[str]:
    """A small MR series as a scanner or an anonymizer writes it, with the given patient and study values."""
    folder.mkdir(parents=True, exist_ok=True)
    seriesUID, frameUID = generate_uid(), generate_uid()
    paths = []
    for index in range(slices):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = MRImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = studyUID, seriesUID, frameUID
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber, ds.SeriesDescription = "MR", 3, index + 1, "DWI b0"
        ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.ReferringPhysicianName = "20240131", "101500", "", ""
        for keyword, value in values.items():
            setattr(ds, keyword, value)
        ds.ImagePositionPatient, ds.ImageOrientationPatient = [0.0, 0.0, 2.0 * index], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing, ds.SliceThickness = [1.0, 1.0], 2.0
        ds.Rows = ds.Columns = 4
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.PixelData = np.full((4, 4), index, dtype="<i2").tobytes()
        path = folder / f"{index}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(str(path))
    return paths


def value(path: str, keyword: str) -> str:
    """What slicer.dicomDatabase.fileValue returns for a tag: its text, empty when absent or empty."""
    return str(pydicom.dcmread(path, stop_before_pixels=True).get(keyword, "") or "")


def add_series_in_subject_hierarchy(slicer, scene, dataNode, files: list[str]) -> tuple[int, int]:
    """The subject hierarchy Slicer's DICOM loader builds for a loaded series (Slicer 5.12.3
    Modules/Scripted/DICOMLib/DICOMPlugin.py addSeriesInSubjectHierarchy, lines 297-451, fileValue read with pydicom;
    item names without the optional ID/date suffixes). Returns the (patient, study) items.
    """
    constants = slicer.vtkMRMLSubjectHierarchyConstants
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    firstFile = files[0]
    seriesItem = shNode.CreateItem(shNode.GetSceneItemID(), dataNode)
    seriesUID = value(firstFile, "SeriesInstanceUID")
    shNode.SetItemUID(seriesItem, constants.GetDICOMUIDName(), seriesUID)
    shNode.SetItemUID(seriesItem, constants.GetDICOMInstanceUIDName(), " ".join(value(path, "SOPInstanceUID") or "Unknown" for path in files))
    studyUID = value(firstFile, "StudyInstanceUID")
    patientID = value(firstFile, "PatientID") or "Patient-" + studyUID  # line 401
    patientItem = shNode.GetItemByUID(constants.GetDICOMUIDName(), patientID)
    studyItem = shNode.GetItemByUID(constants.GetDICOMUIDName(), studyUID)
    slicer.vtkSlicerSubjectHierarchyModuleLogic.InsertDicomSeriesInHierarchy(shNode, patientID, studyUID, seriesUID)
    if not patientItem:
        patientItem = shNode.GetItemByUID(constants.GetDICOMUIDName(), patientID)
        patientName = value(firstFile, "PatientName") or "No name"  # line 413
        shNode.SetItemAttribute(patientItem, constants.GetDICOMPatientNameAttributeName(), patientName)
        shNode.SetItemAttribute(patientItem, constants.GetDICOMPatientIDAttributeName(), patientID)
        shNode.SetItemAttribute(patientItem, constants.GetDICOMPatientSexAttributeName(), value(firstFile, "PatientSex"))
        shNode.SetItemAttribute(patientItem, constants.GetDICOMPatientBirthDateAttributeName(), value(firstFile, "PatientBirthDate"))
        shNode.SetItemAttribute(patientItem, constants.GetDICOMPatientCommentsAttributeName(), value(firstFile, "PatientComments"))
        shNode.SetItemName(patientItem, patientName)
    if not studyItem:
        studyItem = shNode.GetItemByUID(constants.GetDICOMUIDName(), studyUID)
        studyDescription = value(firstFile, "StudyDescription") or "No study description"  # line 440
        shNode.SetItemAttribute(studyItem, constants.GetDICOMStudyDescriptionAttributeName(), studyDescription)
        shNode.SetItemAttribute(studyItem, constants.GetDICOMStudyInstanceUIDAttributeName(), studyUID)
        shNode.SetItemAttribute(studyItem, constants.GetDICOMStudyIDAttributeName(), value(firstFile, "StudyID"))
        shNode.SetItemAttribute(studyItem, constants.GetDICOMStudyDateAttributeName(), value(firstFile, "StudyDate"))
        shNode.SetItemAttribute(studyItem, constants.GetDICOMStudyTimeAttributeName(), value(firstFile, "StudyTime"))
        shNode.SetItemName(studyItem, studyDescription)
    return patientItem, studyItem


def map_in_loaded_study(slicer, tmp_path, studyUID: str, **values: str):
    """Source files imported into the database and loaded as DICOMScalarVolumePlugin loads them (DICOM.instanceUIDs,
    DICOMScalarVolumePlugin.py line 510, then addSeriesInSubjectHierarchy); a map dragged into that study (Data module).
    Returns (map node, source files in the database, patient item, study item).
    """
    database = used_dicom_database(slicer)
    for path in write_source_series(tmp_path / "incoming", studyUID, **values):
        database.insert(path, True, True, True)
    database.updateDisplayedFields()
    (sourceSeriesUID,) = series_uids(database)
    files = sorted(database.filesForSeries(sourceSeriesUID), key=lambda path: int(value(path, "InstanceNumber")))
    scene = slicer.mrmlScene
    source, _, _ = load_map(slicer, tmp_path, "axial", name="b0")
    source.SetAttribute("DICOM.instanceUIDs", " ".join(value(path, "SOPInstanceUID") for path in files))
    patientItem, studyItem = add_series_in_subject_hierarchy(slicer, scene, source, files)
    mapNode, _, _ = load_map(slicer, tmp_path, "axial", name="FA")
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    # The application's subject hierarchy logic gives every new data node an item under the scene; slicer-core's does not.
    mapItem = shNode.GetItemByDataNode(mapNode) or shNode.CreateItem(shNode.GetSceneItemID(), mapNode)
    shNode.SetItemParent(mapItem, studyItem)
    return mapNode, files, patientItem, studyItem


def exported_to_database(slicer, mapNode) -> list[str]:
    """Export the map into Slicer's DICOM database with the logic (the console's way); the files the database holds."""
    import FAExport

    (series,) = FAExport.FAExportLogic().exportVolume(mapNode, mode="mr").series
    return sorted(slicer.dicomDatabase.filesForSeries(series.series_instance_uid))


def assert_one_patient_with_the_study(database, studyUID: str) -> None:
    """The database keeps one patient, holding the study with both series (a differing patient would be a second one)."""
    (patient,) = database.patients()
    assert database.studiesForPatient(patient) == (studyUID,)  # a QStringList reaches Python as a tuple
    assert database.patientForStudy(studyUID) == patient
    assert len(database.seriesForStudy(studyUID)) == 2


@pytest.mark.parametrize("studyUID", ["1.2.826.0.1.3680043.8.498.4711", generate_uid()], ids=["short-uid", "full-length-uid"])
def test_empty_patient_and_study_values_stay_empty_not_slicers_placeholders(slicer, tmp_path, studyUID):
    """An anonymized source (empty PatientID, PatientName, StudyDescription, ...): the subject hierarchy shows
    "Patient-<UID>", "No name", "No study description"; the exported series has the source's empty values.
    ("Patient-" + a full-length UID is too long for a PatientID: copying the placeholder refused the export.)
    """
    mapNode, sourceFiles, patientItem, studyItem = map_in_loaded_study(slicer, tmp_path, studyUID, **EMPTY)
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
    assert shNode.GetItemAttribute(patientItem, "DICOM.PatientID") == "Patient-" + studyUID
    assert shNode.GetItemAttribute(patientItem, "DICOM.PatientName") == "No name"
    assert shNode.GetItemAttribute(studyItem, "DICOM.StudyDescription") == "No study description"
    exported = exported_to_database(slicer, mapNode)
    dataset = pydicom.dcmread(exported[0], stop_before_pixels=True)
    assert dataset.StudyInstanceUID == studyUID
    for keyword in PATIENT_STUDY_KEYWORDS:
        assert str(dataset.get(keyword, "") or "") == value(sourceFiles[0], keyword) == "", keyword
    assert (dataset.StudyDate, dataset.StudyTime) == ("20240131", "101500")
    assert_one_patient_with_the_study(slicer.dicomDatabase, studyUID)


def test_the_study_files_values_win_over_values_edited_in_the_subject_hierarchy(slicer, tmp_path):
    """Patient and study edited on the subject-hierarchy items (the Export-to-DICOM dialog's "Save tags" writes the
    table there, qSlicerDICOMTagEditorWidget::commitChangesToItems): the study in the database keeps its files'
    values, so the new series carries those, and stays with its patient.
    """
    studyUID = generate_uid()
    source = {"PatientName": "Doe^Jane", "PatientID": "MRN-7", "PatientSex": "F", "PatientBirthDate": "19700101", "StudyID": "S12", "StudyDescription": "Brain DTI", "AccessionNumber": "ACC-3"}
    mapNode, sourceFiles, patientItem, studyItem = map_in_loaded_study(slicer, tmp_path, studyUID, **source)
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(slicer.mrmlScene)
    for item, attribute, edited in (
        (patientItem, "DICOM.PatientName", "Doe^Janet"),
        (patientItem, "DICOM.PatientID", "MRN-0007"),
        (patientItem, "DICOM.PatientBirthDate", "19700102"),
        (studyItem, "DICOM.StudyDescription", "Edited in Slicer"),
        (studyItem, "DICOM.StudyID", "S99"),
    ):
        shNode.SetItemAttribute(item, attribute, edited)
    exported = exported_to_database(slicer, mapNode)
    dataset = pydicom.dcmread(exported[0], stop_before_pixels=True)
    for keyword in PATIENT_STUDY_KEYWORDS:
        assert str(dataset.get(keyword, "") or "") == value(sourceFiles[0], keyword) == source[keyword], keyword
    assert_one_patient_with_the_study(slicer.dicomDatabase, studyUID)


def test_without_the_studys_files_the_subject_hierarchy_placeholders_are_read_as_empty(slicer, tmp_path):
    """A scene whose study is no longer in the database (e.g. opened from an .mrb after the database was cleared):
    the subject hierarchy's values, its placeholders as the empty values they stand for; nothing made up
    (no "Anonymous^" name, no generated patient ID).
    """
    studyUID = generate_uid()
    mapNode, _, _, _ = map_in_loaded_study(slicer, tmp_path, studyUID, **{**EMPTY, "PatientSex": "O", "StudyID": "S5"})
    for seriesUID in series_uids(slicer.dicomDatabase):
        slicer.dicomDatabase.removeSeries(seriesUID)
    exported = exported_to_database(slicer, mapNode)
    dataset = pydicom.dcmread(exported[0], stop_before_pixels=True)
    assert (dataset.StudyInstanceUID, str(dataset.PatientName), dataset.PatientID) == (studyUID, "", "")
    assert str(dataset.get("StudyDescription", "")) == ""
    assert (dataset.PatientSex, dataset.StudyID, dataset.StudyDate, dataset.StudyTime) == ("O", "S5", "20240131", "101500")


def test_a_study_in_the_database_is_read_from_its_files_when_its_series_items_name_none(slicer, tmp_path):
    """A hierarchy made by a script (InsertDicomSeriesInHierarchy; no instance UIDs on any series item) around a study
    the database holds: its files still give the patient and study, found by the study's UID.
    """
    studyUID = "1.2.826.0.1.3680043.8.498.4712"
    database = used_dicom_database(slicer)
    sourceFiles = write_source_series(tmp_path / "incoming", studyUID, **{**EMPTY, "PatientName": "Doe^Jane", "StudyDescription": "Brain DTI"})
    for path in sourceFiles:
        database.insert(path, True, True, True)
    mapNode, _, _ = load_map(slicer, tmp_path, "axial", name="FA")
    patient = {"DICOM.PatientID": "Patient-" + studyUID, "DICOM.PatientName": "Someone^Else"}
    place_in_dicom_study(slicer.mrmlScene, mapNode, patient, {"StudyInstanceUID": studyUID, "DICOM.StudyDescription": "No study description"}, seriesUID="1.2.826.0.1.3680043.8.498.4713")
    dataset = pydicom.dcmread(exported_to_database(slicer, mapNode)[0], stop_before_pixels=True)
    assert (str(dataset.PatientName), dataset.PatientID, dataset.StudyDescription) == ("Doe^Jane", "", "Brain DTI")
    assert_one_patient_with_the_study(database, studyUID)


@pytest.mark.parametrize("patientID", ["Patient-0042", "Patient-1.2.3"])
def test_a_real_patient_id_starting_like_the_placeholder_is_kept(slicer, tmp_path, patientID):
    """Only "Patient-" + the UID of one of the patient's studies is Slicer's placeholder; other such IDs are real."""
    studyUID = generate_uid()
    mapNode, _, _, _ = map_in_loaded_study(slicer, tmp_path, studyUID, **{**EMPTY, "PatientID": patientID})
    for seriesUID in series_uids(slicer.dicomDatabase):
        slicer.dicomDatabase.removeSeries(seriesUID)
    dataset = pydicom.dcmread(exported_to_database(slicer, mapNode)[0], stop_before_pixels=True)
    assert (dataset.PatientID, str(dataset.PatientName)) == (patientID, "")


def test_the_panel_shows_the_joined_studys_empty_values_not_placeholders(slicer, panel, tmp_path):
    """The panel's read-only patient and study fields show what will be written: the source's empty values."""
    studyUID = generate_uid()
    mapNode, sourceFiles, _, _ = map_in_loaded_study(slicer, tmp_path, studyUID, **EMPTY)
    panel.ui.inputVolumeSelector.setCurrentNode(mapNode)
    assert panel.ui.patientIDLineEdit.readOnly
    assert (panel.ui.patientNameLineEdit.text, panel.ui.patientIDLineEdit.text, panel.ui.studyDescriptionLineEdit.text) == ("", "", "")
    assert panel.ui.studyLabel.text == f"Joins the existing study {studyUID} (patient and study come from it)."
    sourceSeriesUID = value(sourceFiles[0], "SeriesInstanceUID")
    panel.ui.exportButton.click()
    (new,) = [uid for uid in slicer.dicomDatabase.seriesForStudy(studyUID) if uid != sourceSeriesUID]
    dataset = pydicom.dcmread(slicer.dicomDatabase.filesForSeries(new)[0], stop_before_pixels=True)
    assert (str(dataset.PatientName), dataset.PatientID, str(dataset.get("StudyDescription", ""))) == ("", "", "")
    assert_one_patient_with_the_study(slicer.dicomDatabase, studyUID)
