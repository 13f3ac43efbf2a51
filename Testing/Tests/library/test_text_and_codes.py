"""Every text and code a user can give: refused before anything is written with an exact message, or written as a
valid DICOM value (dciodvfy: zero errors) that pydicom reads back as given.
"""

import json
import re
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
from conftest import run_cli
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID
from readers import dciodvfy_errors

AFFINE = np.diag([1.0, 1.0, 2.0, 1.0])
UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "fa.nii.gz"
    image = nibabel.Nifti1Image(np.linspace(0.0, 1.0, 24, dtype=np.float32).reshape(4, 3, 2), AFFINE)
    image.set_sform(AFFINE, 1)
    image.set_qform(AFFINE, 1)
    nibabel.save(image, path)
    return path


def export_ok(source: Path, output: Path, *options: str) -> list[dict]:
    result = run_cli("export", str(source), str(output), "--json", *options)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)["series"]


def assert_refused(source: Path, output: Path, message: str, *options: str) -> None:
    result = run_cli("export", str(source), str(output), *options)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"faexport: error: {message}\n")
    assert not output.exists()


def assert_valid(series: list[dict]) -> list[pydicom.Dataset]:
    """dciodvfy finds no error in the first file of every series; return those files read by pydicom."""
    datasets = []
    for item in series:
        assert dciodvfy_errors(item["files"][0]) == [], item["mode"]
        datasets.append(pydicom.dcmread(item["files"][0]))
    return datasets


# 1. Codes (PS3.3 8.8)

LONG_MEANING = "M" * 65


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--unit", f"mm2/s,UCUM,{LONG_MEANING}", f"--unit mm2/s,UCUM,{LONG_MEANING}: the code meaning is 65 bytes long in UTF-8 (65 characters); DICOM (LO) allows at most 64: shorten it"),
        ("--unit", "um2/ms,UCUM," + "µ" * 33, "--unit um2/ms,UCUM," + "µ" * 33 + ": the code meaning is 66 bytes long in UTF-8 (33 characters); DICOM (LO) allows at most 64: shorten it"),
        (
            "--quantity-code",
            "110808,DICOM-CONTROLLED-TERMS,Fractional Anisotropy",
            ("--quantity-code 110808,DICOM-CONTROLLED-TERMS,Fractional Anisotropy: the code coding scheme designator 'DICOM-CONTROLLED-TERMS' must "
            "be at most 16 printable ASCII characters without a backslash (DICOM SH)"),
        ),
        (
            "--method-code",
            "µ1,99TEST,Method",
            "--method-code µ1,99TEST,Method: the code value 'µ1' must be printable ASCII without a backslash (code values are identifiers)",
        ),
        (
            "--method-code",
            "urn:oid:,99TEST,Method",
            ("--method-code urn:oid:,99TEST,Method: the code value 'urn:oid:' is not a complete URN (urn:<namespace>:<name>) or URL "
            "(http(s)://<host>...) without spaces"),
        ),
        (
            "--anatomic-region",
            "12738006,SCT,Brain\\Head",
            "--anatomic-region 12738006,SCT,Brain\\Head: the code meaning contains a backslash or control characters; remove them",
        ),
    ],
    ids=["meaning-65-characters", "meaning-66-bytes", "scheme-too-long", "non-ascii-value", "incomplete-urn", "backslash-in-meaning"],
)
@pytest.mark.parametrize("mode", ["pm", "mr+pm"])
def test_invalid_codes_are_refused_before_writing(tmp_path, source, option, value, message, mode):
    assert_refused(source, tmp_path / "out", message, "--mode", mode, option, value)


def test_long_and_urn_code_values_are_written_where_the_standard_says(tmp_path, source):
    series = export_ok(
        source,
        tmp_path / "out",
        "--mode",
        "pm",
        "--quantity-code",
        "A-VERY-LONG-CODE-VALUE-1,99TEST,Test quantity",
        "--unit",
        "1,UCUM,no units",
        "--method-code",
        "urn:oid:1.2.3.4,99TEST,Test method",
    )
    (dataset,) = assert_valid(series)
    (mapping,) = dataset.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence
    quantity, method = (item.ConceptCodeSequence[0] for item in mapping.QuantityDefinitionSequence)
    assert "CodeValue" not in quantity and quantity.LongCodeValue == "A-VERY-LONG-CODE-VALUE-1"
    assert "CodeValue" not in method and method.URNCodeValue == "urn:oid:1.2.3.4"
    assert (quantity.CodeMeaning, method.CodeMeaning) == ("Test quantity", "Test method")


@pytest.mark.parametrize("mode", ["pm", "mr+pm"])
def test_non_ascii_code_meanings_declare_utf8(tmp_path, source, mode):
    series = export_ok(source, tmp_path / "out", "--mode", mode, "--quantity", "MD", "--unit", "um2/ms,UCUM,µm²/ms")
    for dataset in assert_valid(series):
        # The Parametric Map's value mapping is in its shared functional groups; the MR images' at their top level.
        groups = dataset.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in dataset else dataset
        assert dataset.SpecificCharacterSet == "ISO_IR 192"
        assert groups.RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence[0].CodeMeaning == "µm²/ms"


def test_ascii_maps_declare_no_character_set(tmp_path, source):
    """An MR series whose text is all ASCII (FA, unit 1 "no units") declares no character set: the default repertoire."""
    for dataset in assert_valid(export_ok(source, tmp_path / "out", "--mode", "mr")):
        assert "SpecificCharacterSet" not in dataset
        assert dataset.RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence[0].CodeMeaning == "no units"


# 2. Lengths of the values actually written


def test_series_description_is_checked_with_the_suffix_mr_pm_appends(tmp_path, source):
    assert_refused(
        source,
        tmp_path / "out",
        "--series-description becomes 65 bytes long with the suffix ' (Parametric Map)' that this mode appends to one of its series; "
        "DICOM (LO) allows at most 64: shorten it to at most 47 bytes",
        "--mode",
        "mr+pm",
        "--series-description",
        "D" * 48,
    )
    series = export_ok(source, tmp_path / "fits", "--mode", "mr+pm", "--series-description", "D" * 47)
    mr, pm = assert_valid(series)
    assert (mr.SeriesDescription, pm.SeriesDescription, pm.ContentDescription) == ("D" * 47, "D" * 47 + " (Parametric Map)", "D" * 47 + " (Parametric Map)")
    assert len(export_ok(source, tmp_path / "mr", "--mode", "mr", "--series-description", "D" * 64)) == 1


def test_second_series_number_must_stay_within_is(tmp_path, source):
    assert_refused(
        source,
        tmp_path / "out",
        "--series-number 2147483647: this mode writes 2 series numbered from it, and 2147483648 is beyond DICOM's largest (IS) "
        "2147483647; give at most 2147483646",
        "--mode",
        "mr+pm",
        "--series-number",
        "2147483647",
    )
    mr, pm = assert_valid(export_ok(source, tmp_path / "fits", "--mode", "mr+pm", "--series-number", "2147483646"))
    assert (mr.SeriesNumber, pm.SeriesNumber) == (2147483646, 2147483647)


# 3. Code strings, laterality, person names


def test_body_part_is_normalized_to_a_code_string(tmp_path, source):
    (dataset,) = assert_valid(export_ok(source, tmp_path / "out", "--body-part", " brain "))
    assert dataset.BodyPartExamined == "BRAIN"
    assert_refused(
        source,
        tmp_path / "bad",
        "--body-part 'brain-stem' contains '-', which a DICOM code string (CS) cannot hold: use letters, digits, spaces and '_' "
        "(e.g. BRAIN, HEAD, KNEE)",
        "--body-part",
        "brain-stem",
    )
    assert_refused(source, tmp_path / "long", "--body-part 'ABCDEFGHIJKLMNOPQ' is 17 characters long; DICOM (CS) allows at most 16", "--body-part", "ABCDEFGHIJKLMNOPQ")


@pytest.mark.parametrize("mode", ["mr", "sc", "pm"])
def test_a_paired_body_part_needs_its_side(tmp_path, source, mode):
    assert_refused(
        source,
        tmp_path / "out",
        "the body part KNEE is paired, so DICOM needs its side: give --laterality L (left), R (right), B (both) or U (only if the "
        "map does not show one side)",
        "--mode",
        mode,
        "--body-part",
        "knee",
    )


@pytest.mark.parametrize("laterality", ["L", "r", "B", "U"])
@pytest.mark.parametrize("body_part", ["KNEE", "BRAIN"])  # paired; unpaired (a map of one hemisphere, say)
@pytest.mark.parametrize("mode", ["mr", "sc", "pm"])
def test_laterality_is_written_where_each_iod_wants_it(tmp_path, source, mode, body_part, laterality):
    (dataset,) = assert_valid(export_ok(source, tmp_path / "out", "--mode", mode, "--body-part", body_part, "--laterality", laterality))
    side = laterality.upper()
    if mode == "pm":
        assert dataset.SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].FrameLaterality == side
        assert "Laterality" not in dataset  # Frame Laterality present: series Laterality must be absent
    else:
        # Series Laterality takes only L or R, only for a paired part, and must be absent when Image Laterality is present
        # (found by fuzzing: L on BRAIN as series Laterality was a dciodvfy error).
        series_side = side in "LR" and body_part == "KNEE"
        assert (dataset.get("Laterality"), dataset.get("ImageLaterality")) == ((side, None) if series_side else (None, side))


def test_a_parametric_map_without_body_part_has_no_empty_laterality(tmp_path, source):
    (dataset,) = assert_valid(export_ok(source, tmp_path / "out", "--mode", "pm", "--quantity", "T1", "--quantity-code", "T1,99TEST,T1", "--unit", "ms,UCUM,ms"))
    assert "BodyPartExamined" not in dataset and "Laterality" not in dataset
    assert dataset.SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].FrameLaterality == "U"


def test_invalid_laterality_is_refused(tmp_path, source):
    assert_refused(source, tmp_path / "out", "--laterality must be L (left), R (right), B (both) or U (unpaired), not 'left'", "--laterality", "left")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("A^B^C^D^E^F", "--patient-name has 6 name components ('^'-separated); DICOM (PN) allows at most 5: family^given^middle^prefix^suffix"),
        ("A=B=C=D", "--patient-name has 4 component groups ('='-separated); DICOM (PN) allows at most 3 (alphabetic=ideographic=phonetic)"),
        ("A" * 65 + "=B", "--patient-name (component group 1) is 65 characters long; DICOM (PN) allows at most 64 per component group"),
        ("Yamada^Tarou=" + "山田" * 11, "--patient-name (component group 2) is 66 bytes long in UTF-8 (22 characters); DICOM (PN) allows at most 64 per component group: shorten it"),
    ],
)
def test_person_name_components_and_groups_are_checked(tmp_path, source, name, message):
    assert_refused(source, tmp_path / "out", message, "--patient-name", name)


# dciodvfy 20260927 holds a whole PN value to 64 bytes; PS3.5 6.2 limits each component group to 64 (as pydicom
# and DCMTK check). These are its only complaints about such a name.
DCIODVFY_PN_TOTAL_LENGTH = [
    "Error - Value invalid for this VR - (0x0010,0x0010) PN Patient's Name  PN [1] = <{name}> - Length invalid for this VR = {length}, expected <= 64",
    "Error - Dicom dataset contains invalid data values for Value Representations",
]


def test_a_valid_three_group_name_longer_than_64_in_total_is_written(tmp_path, source):
    from pydicom.config import RAISE
    from pydicom.valuerep import validate_value

    name = "Yamadaaaaaaaaaaaaaaaaaaa^Tarouuuuuuuuuuuuuuuuuu^M^Dr^Jr=山田^太郎=やまだ^たろう"
    assert len(name) > 64
    validate_value("PN", name, RAISE)  # pydicom's PS3.5 check: every group within 64
    for mode in ("mr", "pm"):
        (item,) = export_ok(source, tmp_path / mode, "--mode", mode, "--patient-name", name)
        assert dciodvfy_errors(item["files"][0]) == [line.format(name=name, length=len(name.encode())) for line in DCIODVFY_PN_TOTAL_LENGTH]
        dataset = pydicom.dcmread(item["files"][0])
        assert dataset.SpecificCharacterSet == "ISO_IR 192"
        assert dataset.get_item("PatientName").value.decode("utf-8").rstrip(" ") == name


# 4. Identity of the files


def test_implementation_class_uid_is_faexports_own_and_every_uid_is_valid_and_unique(tmp_path, source):
    from FAExportLib.version import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, __version__

    assert IMPLEMENTATION_VERSION_NAME == f"FAEXPORT_{__version__}" and len(IMPLEMENTATION_VERSION_NAME) <= 16
    assert UID.match(IMPLEMENTATION_CLASS_UID) and len(IMPLEMENTATION_CLASS_UID) <= 64
    assert IMPLEMENTATION_CLASS_UID != PYDICOM_IMPLEMENTATION_UID
    instance_uids = []
    for item in export_ok(source, tmp_path / "out", "--mode", "mr+pm") + export_ok(source, tmp_path / "sc", "--mode", "sc"):
        for path in item["files"]:
            dataset = pydicom.dcmread(path)
            assert dataset.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
            assert dataset.file_meta.ImplementationVersionName == IMPLEMENTATION_VERSION_NAME
            uids = [element.value for element in dataset.iterall() if element.VR == "UI"] + [dataset.file_meta.MediaStorageSOPInstanceUID]
            for uid in uids:
                assert UID.match(str(uid)) and len(str(uid)) <= 64, uid
            instance_uids.append(str(dataset.SOPInstanceUID))
    assert len(instance_uids) == len(set(instance_uids))


# 5. The same checks from Slicer's logic


def test_logic_checks_codes_and_writes_laterality(tmp_path):
    from FAExport import FAExportLogic

    import slicer
    from FAExportLib import InputError

    scene = slicer.vtkMRMLScene()
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "FA")
    slicer.util.updateVolumeFromArray(node, np.linspace(0.0, 1.0, 24, dtype=np.float32).reshape(2, 3, 4))
    logic = FAExportLogic()
    with pytest.raises(InputError, match=r"^unit='1,UCUM,M{65}': the code meaning is 65 bytes long"):  # the console's words
        logic.exportVolume(node, mode="pm", unit=f"1,UCUM,{LONG_MEANING}", outputFolder=tmp_path / "refused", addToDatabase=False)
    with pytest.raises(InputError, match=r"^the body part KNEE is paired"):
        logic.exportVolume(node, mode="pm", metadata={"body_part_examined": "knee"}, outputFolder=tmp_path / "refused", addToDatabase=False)
    assert not (tmp_path / "refused").exists()
    result = logic.exportVolume(node, mode="pm", metadata={"body_part_examined": "knee"}, laterality="R", outputFolder=tmp_path / "out", addToDatabase=False)
    dataset = pydicom.dcmread(result.series[0].files[0])
    assert dataset.SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].FrameLaterality == "R"
    assert dciodvfy_errors(result.series[0].files[0]) == []
    scene.Clear(True)
