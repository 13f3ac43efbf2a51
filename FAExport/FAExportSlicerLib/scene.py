"""What FAExport reads from Slicer's scene: a volume node's voxels, geometry and quantity, its subject-hierarchy study,
the DICOM series it was computed from, and volume files read with Slicer's own reader.

Works on any MRML scene (the application's, a private one, or PyPI slicer-core's): no Qt.
"""

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from FAExportSlicerLib.database import dicomDatabase

import slicer
import slicer.util
import vtk
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSubjectHierarchyConstants, vtkMRMLSubjectHierarchyNode

if TYPE_CHECKING:
    import numpy as np

    from FAExportLib import ExportMetadata, Quantity
    from FAExportLib.sources import SourceSeries

NON_SCALAR_NODE_CLASSES = {
    "vtkMRMLLabelMapVolumeNode": "a labelmap (its voxels are segment labels, not measurements)",
    # Checked in this order: Slicer's vector volume node derives from its tensor volume node.
    "vtkMRMLVectorVolumeNode": "a vector or RGB volume (extract one scalar component first)",
    "vtkMRMLTensorVolumeNode": "a tensor volume (compute a scalar map such as FA from it first)",
}


# --- the map's voxels, geometry and quantity


def firstScalarVolume(scene):
    """The first node that is exactly a scalar volume, as the panel's selector lists them (not a DWI, DTI or labelmap)."""
    for index in range(scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")):
        node = scene.GetNthNodeByClass(index, "vtkMRMLScalarVolumeNode")
        if node.GetClassName() == "vtkMRMLScalarVolumeNode" and not node.GetHideFromEditors():
            return node
    return None


def voxelArray(volumeNode: vtkMRMLScalarVolumeNode) -> "np.ndarray":
    """The node's voxels as array[k, j, i], a view of its image data (no copy); refuses what is not one scalar map."""
    from FAExportLib import InputError

    if volumeNode is None:
        raise InputError("no volume was given; select the scalar map to export")
    name = volumeNode.GetName()
    for className, what in NON_SCALAR_NODE_CLASSES.items():
        if volumeNode.IsA(className):
            raise InputError(f'volume "{name}" is {what}; FAExport exports scalar maps')
    imageData = volumeNode.GetImageData()
    if imageData is None or imageData.GetPointData().GetScalars() is None:
        raise InputError(f'volume "{name}" has no voxels (no image data); load or compute the map first')
    components = imageData.GetNumberOfScalarComponents()
    if components != 1:
        raise InputError(f'volume "{name}" has {components} values per voxel; FAExport exports scalar maps (one value per voxel)')
    return slicer.util.arrayFromVolume(volumeNode)


def worldIJKToRAS(volumeNode: vtkMRMLScalarVolumeNode) -> "np.ndarray":
    """IJK-to-RAS where the user sees the volume: with its parent transforms applied, which must be linear."""
    from FAExportLib import InputError

    ijkToRAS = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASMatrix(ijkToRAS)
    matrix = slicer.util.arrayFromVTKMatrix(ijkToRAS)
    transformNode = volumeNode.GetParentTransformNode()
    if transformNode is None:
        return matrix
    if not transformNode.IsTransformToWorldLinear():
        raise InputError(
            f'volume "{volumeNode.GetName()}" is under the non-linear transform "{transformNode.GetName()}"; DICOM images '
            "cannot carry a warp: harden the transform (Data module, right-click the volume, Harden transform) to resample "
            "the map, or remove the transform",
        )
    toWorld = vtk.vtkMatrix4x4()
    transformNode.GetMatrixTransformToWorld(toWorld)
    return slicer.util.arrayFromVTKMatrix(toWorld) @ matrix


def quantityOf(volumeNode: vtkMRMLScalarVolumeNode) -> "Quantity | None":
    """The node's VoxelValueQuantity/Units as a Quantity (known ones by code), or None when not set."""
    from FAExportLib import Code, Quantity
    from FAExportLib.quantities import quantity_by_code

    coded = volumeNode.GetVoxelValueQuantity()
    if coded is None or coded.IsEmpty():
        return None
    code = Code(coded.GetCodeValue(), coded.GetCodingSchemeDesignator(), coded.GetCodeMeaning())
    quantity = quantity_by_code(code)  # FAExport's names and DICOM's vocabulary
    if quantity is None:
        quantity = Quantity(code.meaning or code.value, code=code, unit=None)
    units = volumeNode.GetVoxelValueUnits()
    if units is not None and not units.IsEmpty():
        quantity = replace(quantity, unit=Code(units.GetCodeValue(), units.GetCodingSchemeDesignator(), units.GetCodeMeaning()))
    return quantity


# --- patient and study: the subject hierarchy, the source series


# What DICOMPlugin.addSeriesInSubjectHierarchy (Slicer 5.12.3 Modules/Scripted/DICOMLib/DICOMPlugin.py, lines 394-441)
# writes on the patient and study items when the source file's value is empty: display text, not the study's values.
# (An empty study ID, date or time, patient sex or birth date is written empty; vtkSlicerSubjectHierarchyModuleLogic::
# InsertDicomSeriesInHierarchy only names new items "NewPatient"/"NewStudy", Modules/Loadable/SubjectHierarchy/Logic.)
EMPTY_PATIENT_ID_PREFIX = "Patient-"  # + StudyInstanceUID: the source's PatientID was empty (line 401)
EMPTY_PATIENT_NAME = "No name"  # line 413
EMPTY_STUDY_DESCRIPTION = "No study description"  # line 440
JOIN_IDENTITY_FIELDS = ("patient_name", "patient_id", "study_instance_uid")


def subjectHierarchyStudy(volumeNode: vtkMRMLScalarVolumeNode) -> "tuple[vtkMRMLSubjectHierarchyNode, int, str] | None":
    """The DICOM study the volume sits under in the subject hierarchy: (subject hierarchy, study item, StudyInstanceUID),
    or None when it sits under none (a study folder made by hand, without a UID, is none: there is nothing to join).
    """
    scene = volumeNode.GetScene()
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene) if scene else None
    if shNode is None:
        return None
    item = shNode.GetItemByDataNode(volumeNode)
    constants = vtkMRMLSubjectHierarchyConstants
    studyItem = shNode.GetItemAncestorAtLevel(item, constants.GetDICOMLevelStudy()) if item else 0
    if not studyItem:
        return None
    studyUID = shNode.GetItemUID(studyItem, constants.GetDICOMUIDName()) or shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyInstanceUIDAttributeName())
    return (shNode, studyItem, studyUID) if studyUID else None


def subjectHierarchyMetadata(volumeNode: vtkMRMLScalarVolumeNode) -> dict:
    """Patient and study attributes of the DICOM study the volume sits under in the subject hierarchy (empty if none).

    Read from a file of that study in Slicer's DICOM database: the files are what the study holds there and in the
    archive, and a series whose patient differs from them lands under another patient (a split study). Without such
    a file, the subject hierarchy's attributes, Slicer's placeholders read back as the empty values they stand for.
    Empty values are returned too: a joined study's empty PatientName or PatientID must not become FAExport's defaults.
    """
    study = subjectHierarchyStudy(volumeNode)
    if study is None:
        return {}
    shNode, studyItem, studyUID = study
    database = dicomDatabase()
    fromFiles = studyFileMetadata(database, shNode, studyItem, studyUID) if database is not None else None
    return fromFiles if fromFiles is not None else subjectHierarchyStudyAttributes(shNode, studyItem, studyUID)


def studyFileMetadata(database, shNode: vtkMRMLSubjectHierarchyNode, studyItem: int, studyUID: str) -> dict | None:
    """Patient and study attributes of the first readable file of the study in the database, or None when it holds none."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from FAExportLib.sources import PATIENT_STUDY_FIELDS

    for path in studyFileCandidates(database, shNode, studyItem, studyUID):
        if not path or not os.path.isfile(path):
            continue  # an instance the database no longer has, or a file deleted behind its back
        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError):
            continue
        if str(dataset.get("StudyInstanceUID", "")) != studyUID:
            continue  # a series item moved under this study by hand: its file belongs to another study
        values = {name: str(dataset.get(keyword, "") or "") for name, keyword in PATIENT_STUDY_FIELDS.items()}
        return {**values, "study_instance_uid": studyUID}
    return None


def studyFileCandidates(database, shNode: vtkMRMLSubjectHierarchyNode, studyItem: int, studyUID: str) -> Iterator[str]:
    """Files of the study, lazily: those its series items were loaded from, then those of any series of the study in the database."""
    children = vtk.vtkIdList()
    shNode.GetItemChildren(studyItem, children, True)
    for index in range(children.GetNumberOfIds()):
        child = children.GetId(index)
        # One file per series: its instances share patient and study (and each look-up is a database query).
        yield from itemFiles(database, shNode, child, shNode.GetItemDataNode(child), hits=1)
    # A scene from an .mrb (no instance UIDs) whose study was imported into the database again.
    for seriesUID in database.seriesForStudy(studyUID):
        yield from database.filesForSeries(seriesUID, 1)


def subjectHierarchyStudyAttributes(shNode: vtkMRMLSubjectHierarchyNode, studyItem: int, studyUID: str) -> dict:
    """Patient and study attributes of the subject hierarchy's items, Slicer's placeholders read back as empty."""
    constants = vtkMRMLSubjectHierarchyConstants
    description = shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyDescriptionAttributeName())
    values = {
        "study_instance_uid": studyUID,
        "study_id": shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyIDAttributeName()),
        "study_date": shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyDateAttributeName()),
        "study_time": shNode.GetItemAttribute(studyItem, constants.GetDICOMStudyTimeAttributeName()),
        "study_description": "" if description == EMPTY_STUDY_DESCRIPTION else description,
    }
    patientItem = shNode.GetItemAncestorAtLevel(studyItem, constants.GetDICOMLevelPatient())
    if not patientItem:
        return values  # no patient known: FAExport's defaults, as for a new study
    name = shNode.GetItemAttribute(patientItem, constants.GetDICOMPatientNameAttributeName())
    patientID = shNode.GetItemAttribute(patientItem, constants.GetDICOMPatientIDAttributeName()) or shNode.GetItemUID(patientItem, constants.GetDICOMUIDName())
    return {
        **values,
        "patient_name": "" if name == EMPTY_PATIENT_NAME else name,
        "patient_id": "" if isEmptyPatientIDPlaceholder(shNode, patientItem, patientID) else patientID,
        "patient_sex": shNode.GetItemAttribute(patientItem, constants.GetDICOMPatientSexAttributeName()),
        "patient_birth_date": shNode.GetItemAttribute(patientItem, constants.GetDICOMPatientBirthDateAttributeName()),
    }


def isEmptyPatientIDPlaceholder(shNode: vtkMRMLSubjectHierarchyNode, patientItem: int, patientID: str) -> bool:
    """Whether ``patientID`` is "Patient-" + the UID of one of the patient's studies, which DICOMPlugin makes up for an
    empty PatientID (the patient item is created for the first study loaded; a real ID may start with "Patient-").
    """
    if not patientID.startswith(EMPTY_PATIENT_ID_PREFIX):
        return False
    studies = vtk.vtkIdList()
    shNode.GetItemChildren(patientItem, studies, False)
    uidName = vtkMRMLSubjectHierarchyConstants.GetDICOMUIDName()
    return any(patientID == EMPTY_PATIENT_ID_PREFIX + shNode.GetItemUID(studies.GetId(index), uidName) for index in range(studies.GetNumberOfIds()))


def exportMetadata(volumeNode: vtkMRMLScalarVolumeNode, metadata: "ExportMetadata | dict | None", joinSubjectHierarchyStudy: bool = True) -> "ExportMetadata":
    """The user's fields, with the patient and study of the volume's subject-hierarchy study when it has one (unless told not to join it)."""
    from FAExportLib import ExportMetadata, InputError

    if isinstance(metadata, dict):
        try:
            metadata = ExportMetadata(**metadata)
        except TypeError as error:
            raise InputError(f"metadata: {error}; use the field names of FAExportLib.ExportMetadata") from None
    metadata = metadata or ExportMetadata()
    if not joinSubjectHierarchyStudy:
        return metadata
    # As FAExportLib.sources.SourceSeries.joined: the study's identity always (an empty PatientName or PatientID too,
    # which FAExport's defaults would replace), its other attributes where it has them.
    joined = {name: value for name, value in subjectHierarchyMetadata(volumeNode).items() if value or name in JOIN_IDENTITY_FIELDS}
    return replace(metadata, **joined)


def sourceSeries(sourceVolumeNode: vtkMRMLScalarVolumeNode | None = None, sourceSeriesInstanceUID: str | None = None) -> "SourceSeries | None":
    """The DICOM series the map was computed from, read from Slicer's DICOM database."""
    if sourceVolumeNode is None and not sourceSeriesInstanceUID:
        return None
    import pydicom

    from FAExportLib import InputError
    from FAExportLib.sources import SourceSeries

    database = dicomDatabase()
    if database is None:
        raise InputError("a source series was given but Slicer's DICOM database is not open; open the DICOM module first")
    if sourceVolumeNode is not None:
        files = sourceFiles(database, sourceVolumeNode)
        if not files:
            raise InputError(f'the source volume "{sourceVolumeNode.GetName()}" was not loaded from DICOM; choose a volume loaded from the DICOM database')
    else:
        files = list(database.filesForSeries(sourceSeriesInstanceUID))
    missing = [path for path in files if not path or not os.path.isfile(path)]
    if not files or missing:
        raise InputError("the source series' files are not in Slicer's DICOM database any more; re-import the source DICOM series")
    return SourceSeries.from_datasets([pydicom.dcmread(path, stop_before_pixels=True) for path in files])


def sourceFiles(database, volumeNode: vtkMRMLScalarVolumeNode) -> list[str]:
    """The DICOM files a volume was loaded from, as each loader records them (see itemFiles)."""
    scene = volumeNode.GetScene()
    shNode = vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene) if scene else None
    item = shNode.GetItemByDataNode(volumeNode) if shNode else 0
    return itemFiles(database, shNode, item, volumeNode)


def itemFiles(database, shNode: vtkMRMLSubjectHierarchyNode | None, item: int, node, hits: int = -1) -> list[str]:
    """The DICOM files a subject hierarchy item (and its data node, if any) was loaded from (the first ``hits`` of them).

    Slicer's scalar volume plugin sets the node attribute ``DICOM.instanceUIDs``
    (Modules/Scripted/DICOMPlugins/DICOMScalarVolumePlugin.py). Other plugins, such as SlicerDMRI's diffusion one
    (Modules/Scripted/DMRIPlugins/DICOMDiffusionVolumePlugin.py), only call DICOMPlugin.addSeriesInSubjectHierarchy
    (Modules/Scripted/DICOMLib/DICOMPlugin.py), which records the instance UIDs (UID name ``DICOMInstanceUID``) and
    the series UID (UID name ``DICOM``) on the series' subject hierarchy item.
    """
    instanceUIDs = ((node.GetAttribute("DICOM.instanceUIDs") if node is not None else None) or "").split()
    seriesUID = ""
    if not instanceUIDs and item:
        instanceUIDs = (shNode.GetItemUID(item, vtkMRMLSubjectHierarchyConstants.GetDICOMInstanceUIDName()) or "").split()
        seriesUID = shNode.GetItemUID(item, vtkMRMLSubjectHierarchyConstants.GetDICOMUIDName()) or ""
    if instanceUIDs:
        return [database.fileForInstance(uid) for uid in (instanceUIDs if hits < 0 else instanceUIDs[:hits])]
    return list(database.filesForSeries(seriesUID, hits)) if seriesUID else []


# --- volume files


def volumeFile(volumeNode) -> str:
    """The file the map was loaded from (its storage node's), or "" for a map computed in the scene."""
    storageNode = volumeNode.GetStorageNode()
    return (storageNode.GetFileName() or "") if storageNode is not None else ""


def readVolumeFile(path: str | os.PathLike, scene) -> vtkMRMLScalarVolumeNode:
    """Read a NIfTI/NRRD file into ``scene`` with Slicer's own volume reader (the geometry Slicer shows)."""
    from FAExportLib import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file")
    volumeNode = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", path.name.split(".")[0])
    storageNode = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storageNode.SetFileName(str(path))
    storageNode.SetSingleFile(1)
    if not storageNode.ReadData(volumeNode):
        raise InputError(f"Slicer could not read {path} as a scalar volume; give a NIfTI (.nii, .nii.gz) or NRRD (.nrrd, .nhdr) file")
    return volumeNode


def checkNonFiniteNIfTI(path: str | os.PathLike, replaceNonFinite: float | None) -> None:
    """Refuse NaN/infinite voxels of a NIfTI file: Slicer's (ITK's) reader silently turns them into 0."""
    from FAExportLib import Field, InputError
    from FAExportLib.volume_files import nifti_nonfinite_count

    if not str(path).lower().endswith((".nii", ".nii.gz")):
        return  # Slicer's NRRD reader keeps them, and exportVolume refuses them
    count = nifti_nonfinite_count(path)
    if count and replaceNonFinite != 0:
        raise InputError(
            f"{count} voxel{'s' if count > 1 else ''} of {path} {'are' if count > 1 else 'is'} NaN or infinite, and Slicer's NIfTI reader turns them into 0 when loading",
            remedy=("fix the map, or accept 0 for them explicitly (", Field("replace_nonfinite", "0"), ")"),
            field="replace_nonfinite",
        )
