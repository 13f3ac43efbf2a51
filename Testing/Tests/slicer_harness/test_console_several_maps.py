"""Several maps exported from the Python console as series of one study (``FAExportLogic.exportVolumes``), on Slicer's
real MRML (PyPI slicer-core): volumes loaded from NIfTI by Slicer's storage node, subject hierarchies built as Slicer's
DICOM loader builds them, the series read back by SimpleITK (GDCM) and pydicom, ``slicer.dicomDatabase`` CTK's own
ctkDICOMDatabase (ctk_dicom_core.py).
"""

from pathlib import Path

from FAExport import FAExportLogic
from slicer_harness.conftest import POSITION_TOLERANCE_MM, place_in_dicom_study

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, map_values, write_volume
from dicom_database_views import displayed_series, fail_storage_after, series_uids
from readers import compare, read_simpleitk
from test_console_logic import database, scene  # noqa: F401 (the fixtures of the console's tests)

import slicer
from FAExportLib import InputError, OutputError

PATIENT = {"DICOM.PatientName": "Doe^Jane", "DICOM.PatientID": "MRN-0042", "DICOM.PatientSex": "F", "DICOM.PatientBirthDate": "19700101"}
STUDY_UID, OTHER_STUDY_UID = "1.2.826.0.1.3680043.8.498.21", "1.2.826.0.1.3680043.8.498.31"


def load_named_map(tmp_path: Path, scene, file_name: str, geometry_name: str, kind: str):
    """A map written as ``file_name`` and read by Slicer's reader (the node is named after the file, e.g. dti_MD)."""
    geometry = GEOMETRIES[geometry_name]
    values = map_values(kind, geometry.shape)
    path = write_volume(tmp_path / file_name, values, geometry.affine)
    return FAExportLogic.readVolumeFile(path, scene), values, geometry.affine


def set_quantity(node, code: tuple[str, str, str], units: tuple[str, str, str]) -> None:
    """VoxelValueQuantity and VoxelValueUnits as Slicer's DICOM Parametric Map reader sets them."""
    quantity, unit = slicer.vtkCodedEntry(), slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning(*code)
    unit.SetValueSchemeMeaning(*units)
    node.SetVoxelValueQuantity(quantity)
    node.SetVoxelValueUnits(unit)


def test_fa_and_md_on_different_grids_become_series_of_one_study_in_the_database(tmp_path, scene, database):
    fa, faValues, faAffine = load_named_map(tmp_path, scene, "dti_FA.nii.gz", "oblique", "fa")
    md, mdValues, mdAffine = load_named_map(tmp_path, scene, "dti_MD.nii.gz", "anisotropic", "diffusivity")
    result = FAExportLogic().exportVolumes([fa, md], mode="mr", outputFolder=tmp_path / "out", metadata={"series_number": 700})
    assert result.addedToDatabase
    assert [(series.input, series.quantity, series.series_description, series.series_number) for series in result.series] == [
        ("dti_FA", "FA", "FA map", 700),
        ("dti_MD", "MD", "MD map (mm2/s)", 701),
    ]
    headers = [pydicom.dcmread(series.files[0], stop_before_pixels=True) for series in result.series]
    assert len({(header.PatientID, header.StudyInstanceUID, header.FrameOfReferenceUID) for header in headers}) == 1
    assert len({header.SeriesInstanceUID for header in headers}) == 2
    # Each series read back by GDCM (SimpleITK) where it was written, within its bound and at its place.
    for series, values, affine in zip(result.series, (faValues, mdValues), (faAffine, mdAffine), strict=True):
        comparison = compare(values, affine, read_simpleitk(Path(series.directory)))
        assert comparison.max_value_error <= series.max_quantization_error
        assert comparison.max_position_error_mm <= POSITION_TOLERANCE_MM
    # Slicer's DICOM database has a row for every series, with all its files, under one patient and one study.
    assert series_uids(database) == {series.series_instance_uid for series in result.series}
    for series in result.series:
        assert len(database.filesForSeries(series.series_instance_uid)) == len(series.files)
    assert database.patients() == (database.patientForStudy(headers[0].StudyInstanceUID),)  # a QStringList: a tuple
    assert set(database.seriesForStudy(headers[0].StudyInstanceUID)) == series_uids(database)
    displayed = displayed_series(database)
    assert sorted(fields["SeriesDescription"] for fields in displayed.values()) == ["FA map", "MD map (mm2/s)"]


def test_each_map_is_exported_as_its_own_quantity_attribute_then_name_then_the_given_quantity(tmp_path, scene):
    md, _, _ = load_named_map(tmp_path, scene, "dti_MD.nii.gz", "axial", "diffusivity")
    rd, _, _ = load_named_map(tmp_path, scene, "radial.nii.gz", "axial", "diffusivity")
    ad, _, _ = load_named_map(tmp_path, scene, "dti_FA.nii.gz", "axial", "diffusivity")  # misnamed: its attribute wins
    set_quantity(ad, ("113204", "DCM", "Axial Diffusivity"), ("mm2/s", "UCUM", "mm2/s"))
    result = FAExportLogic().exportVolumes([md, rd, ad], mode="pm", quantity="RD", outputFolder=tmp_path / "out", addToDatabase=False)
    assert [(series.input, series.quantity) for series in result.series] == [("dti_MD", "MD"), ("radial", "RD"), ("dti_FA", "AD")]
    concepts = []
    for series in result.series:
        mapping = pydicom.dcmread(series.files[0], stop_before_pixels=True).SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
        concepts.append(mapping.QuantityDefinitionSequence[0].ConceptCodeSequence[0].CodeMeaning)
    assert concepts == ["Mean Diffusivity", "Radial Diffusivity", "Axial Diffusivity"]


def test_a_map_stating_no_quantity_is_refused_with_nothing_written(tmp_path, scene, database):
    fa, _, _ = load_named_map(tmp_path, scene, "dti_FA.nii.gz", "axial", "fa")
    other, _, _ = load_named_map(tmp_path, scene, "Volume.nii.gz", "axial", "fa")
    with pytest.raises(InputError) as raised:
        FAExportLogic().exportVolumes([fa, other], outputFolder=tmp_path / "out")
    assert str(raised.value) == (
        'the quantity of volume "Volume" is not known: it has no VoxelValueQuantity, and no part of its name names a quantity; '
        "rename it after its quantity (e.g. FA, dti_MD, T1map), or set quantity for the maps that state none"
    )
    assert raised.value.field == "quantity"
    assert not (tmp_path / "out").exists()
    assert series_uids(database) == set()


def test_maps_under_different_subject_hierarchy_studies_are_refused_naming_them(tmp_path, scene, database):
    fa, _, _ = load_named_map(tmp_path, scene, "dti_FA.nii.gz", "axial", "fa")
    md, _, _ = load_named_map(tmp_path, scene, "dti_MD.nii.gz", "axial", "diffusivity")
    place_in_dicom_study(scene, fa, PATIENT, {"StudyInstanceUID": STUDY_UID, "DICOM.StudyDescription": "Brain DTI"}, seriesUID="1.2.826.0.1.3680043.8.498.22")
    place_in_dicom_study(scene, md, PATIENT, {"StudyInstanceUID": OTHER_STUDY_UID, "DICOM.StudyDescription": "Follow-up"}, seriesUID="1.2.826.0.1.3680043.8.498.32")
    shNode = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    names = [shNode.GetItemName(shNode.GetItemByUID("DICOM", uid)) for uid in (STUDY_UID, OTHER_STUDY_UID)]
    with pytest.raises(InputError) as raised:
        FAExportLogic().exportVolumes([fa, md], outputFolder=tmp_path / "out")
    assert str(raised.value) == (
        f'the volumes sit under 2 different studies in the subject hierarchy ("dti_FA" under study "{names[0]}" ({STUDY_UID}), '
        f'"dti_MD" under study "{names[1]}" ({OTHER_STUDY_UID})), and one export writes one study; '
        "move them under one study (Data module), or export each study's volumes separately"
    )
    assert not (tmp_path / "out").exists()
    assert series_uids(database) == set()


def test_a_map_outside_any_study_joins_the_study_of_the_others(tmp_path, scene):
    fa, _, _ = load_named_map(tmp_path, scene, "dti_FA.nii.gz", "axial", "fa")
    md, _, _ = load_named_map(tmp_path, scene, "dti_MD.nii.gz", "axial", "diffusivity")
    place_in_dicom_study(scene, md, PATIENT, {"StudyInstanceUID": STUDY_UID, "DICOM.StudyDescription": "Brain DTI"}, seriesUID="1.2.826.0.1.3680043.8.498.22")
    result = FAExportLogic().exportVolumes([fa, md], outputFolder=tmp_path / "out", addToDatabase=False)
    for series in result.series:
        header = pydicom.dcmread(series.files[0], stop_before_pixels=True)
        assert (header.StudyInstanceUID, header.PatientID, str(header.PatientName), header.StudyDescription) == (STUDY_UID, "MRN-0042", "Doe^Jane", "Brain DTI")


def test_a_series_description_naming_one_series_is_refused_in_the_consoles_words(tmp_path, scene):
    fa, _, _ = load_named_map(tmp_path, scene, "dti_FA.nii.gz", "axial", "fa")
    md, _, _ = load_named_map(tmp_path, scene, "dti_MD.nii.gz", "axial", "diffusivity")
    with pytest.raises(InputError) as raised:
        FAExportLogic().exportVolumes([fa, md], mode="mr+pm", outputFolder=tmp_path / "out", addToDatabase=False, metadata={"series_description": "DTI"})
    assert str(raised.value) == (
        "metadata[\"series_description\"] names one series; 2 maps make 4, each described by its quantity (e.g. 'FA map'); "
        "leave it out, or export the maps one by one"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("volumes", "message"),
    [
        (lambda fa: fa, "exportVolumes takes a list of volume nodes; give [node, ...], or export one volume with exportVolume"),
        (lambda fa: [], "no volume was given; give the scalar maps to export"),
        (lambda fa: [fa, None], "volume 2 of 2 is None; give volume nodes (e.g. getNode('MD'))"),
        (lambda fa: [fa, fa], 'volume "dti_FA" is given twice; give each volume once'),
    ],
    ids=["one node", "empty", "None", "twice"],
)
def test_what_is_not_a_list_of_distinct_volumes_is_refused(tmp_path, scene, volumes, message):
    fa, _, _ = load_named_map(tmp_path, scene, "dti_FA.nii.gz", "axial", "fa")
    with pytest.raises(InputError) as raised:
        FAExportLogic().exportVolumes(volumes(fa), outputFolder=tmp_path / "out", addToDatabase=False)
    assert str(raised.value) == message


def test_a_failing_database_insert_leaves_none_of_the_maps_series(tmp_path, scene, database):
    fa, _, _ = load_named_map(tmp_path, scene, "dti_FA.nii.gz", "axial", "fa")
    md, _, _ = load_named_map(tmp_path, scene, "dti_MD.nii.gz", "axial", "diffusivity")
    fail_storage_after(database, GEOMETRIES["axial"].shape[2] + 3)  # within the second map's series
    with pytest.raises(OutputError, match=r"^Slicer's DICOM database holds 3 of the 24 files of series 'MD map \(mm2/s\)'"):
        FAExportLogic().exportVolumes([fa, md], mode="mr")
    assert series_uids(database) == set()


def test_two_maps_of_one_name_stay_apart_in_the_result(tmp_path, scene):
    first, firstValues, _ = load_named_map(tmp_path, scene, "FA.nii.gz", "axial", "fa")
    (tmp_path / "again").mkdir()
    second, _, _ = load_named_map(tmp_path / "again", scene, "FA.nii.gz", "axial", "fa")
    slicer.util.arrayFromVolume(second)[:] = np.float32(0.5)
    result = FAExportLogic().exportVolumes([first, second], mode="pm", outputFolder=tmp_path / "out", addToDatabase=False)
    assert [series.input for series in result.series] == [f"FA ({first.GetID()})", f"FA ({second.GetID()})"]
    assert [float(pydicom.dcmread(series.files[0]).pixel_array.max()) for series in result.series] == [float(firstValues.max()), 0.5]
