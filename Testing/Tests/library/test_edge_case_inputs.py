"""Edge-case volumes, hostile names, unwritable outputs, oversized Parametric Maps, and what the files never say.

Values are read back with pydicom (plus the modality LUT or the Float Pixel Data) and checked by dciodvfy.
"""

import getpass
import json
import os
import socket
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import run_cli, write_volume
from hypothesis import given, settings
from hypothesis import strategies as st
from readers import dciodvfy_errors, decoded_values

from FAExportLib import ExportMetadata, InputError, export_volume

MODES = ("mr", "sc", "pm")


def decoded_slices(files) -> np.ndarray:
    """Every decoded value of a series (any mode), sorted, read with pydicom alone."""
    values = []
    for path in files:
        values.append(decoded_values(pydicom.dcmread(path)).ravel())
    return np.sort(np.concatenate(values))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("case", "values"),
    [
        ("one_voxel", np.array([[[0.4375]]], dtype=np.float32)),
        ("one_slice", np.linspace(0.0, 1.0, 12, dtype=np.float32).reshape(1, 3, 4)),
        ("constant", np.full((3, 4, 5), 0.73, dtype=np.float32)),
        ("all_zero", np.zeros((2, 3, 4), dtype=np.float32)),
        ("negative_constant", np.full((2, 2, 2), -2.5, dtype=np.float32)),
    ],
)
def test_degenerate_volumes_export_validly(tmp_path, mode, case, values):
    affine = np.diag([0.5, 0.75, 3.0, 1.0])
    (series,) = export_volume(values, affine, tmp_path, mode=mode).series
    assert series.max_quantization_error >= 0 and np.isfinite(series.max_quantization_error)
    if series.rescale_slope is not None:
        assert series.rescale_slope > 0
    decoded = decoded_slices(series.files)
    assert np.max(np.abs(decoded - np.sort(values.ravel().astype(np.float64)))) <= series.max_quantization_error
    assert dciodvfy_errors(series.files[0]) == []


NON_LATIN_NAMES = ["Müller^Zoë", "山田^太郎", "Иванов^Иван", "Παπαδόπουλος^Νίκος"]


@pytest.mark.parametrize("mode", ["mr", "pm"])
def test_non_latin_names_round_trip_identically(tmp_path, mode):
    values = np.linspace(0.0, 1.0, 24, dtype=np.float32).reshape(2, 3, 4)
    source = write_volume(tmp_path / "fa.nii.gz", values.transpose(2, 1, 0), np.eye(4))
    for index, name in enumerate(NON_LATIN_NAMES):
        result = run_cli("export", str(source), str(tmp_path / f"out{index}"), "--mode", mode, "--patient-name", name, "--series-description", f"FA {name.split('^')[0]}", "--json")
        assert result.returncode == 0, result.stderr
        path = json.loads(result.stdout)["series"][0]["files"][0]
        dataset = pydicom.dcmread(path)
        assert dataset.SpecificCharacterSet == "ISO_IR 192"
        assert str(dataset.PatientName) == name
        assert dataset.SeriesDescription == f"FA {name.split('^')[0]}"
        assert dciodvfy_errors(path) == []


def test_parametric_map_over_4_gib_is_refused_before_writing(tmp_path):
    # A zero-stride view: 4.0 GiB of float32 voxels without allocating them.
    huge = np.broadcast_to(np.float32(0.5), (1025, 1024, 1024))
    with pytest.raises(InputError) as raised:
        export_volume(huge, np.eye(4), tmp_path / "out", mode="pm")
    assert str(raised.value) == (
        "the volume needs 4.00 GiB of pixel data in one pm file, more than a DICOM element holds (4 GiB); crop or resample it, "
        "or export it as mr (one file per slice)"
    )
    assert not (tmp_path / "out").exists()


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder that exists and cannot be written to, also for root (who ignores permission bits)."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")  # sysfs: root may not create folders there
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    source = write_volume(tmp_path / "fa.nii.gz", np.ones((2, 2, 2), dtype=np.float32) * 0.5, np.eye(4))
    folder = unwritable_folder(tmp_path)
    before = sorted(os.listdir(folder))
    result = run_cli("export", str(source), str(folder))
    assert result.returncode == 1
    assert result.stderr.startswith(f"faexport: error: cannot write into the output folder {folder}: ")
    assert result.stderr.rstrip().endswith("; choose a folder you can write to")
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(folder)) == before


def all_text_values(dataset: pydicom.Dataset) -> list[str]:
    """Every string value in a dataset, its nested sequences and its file meta."""
    texts = []
    datasets = [dataset, dataset.file_meta]
    while datasets:
        current = datasets.pop()
        for element in current:
            if element.VR == "SQ":
                datasets.extend(element.value)
            elif element.VR in ("AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"):
                texts.extend(str(value) for value in (element.value if element.VM > 1 else [element.value]))
    return texts


@pytest.mark.parametrize("mode", ["mr+pm", "sc"])
def test_no_path_host_or_user_name_reaches_any_attribute(tmp_path, mode):
    secret = "zq7SecretFolderName"
    folder = tmp_path / secret
    folder.mkdir()
    source = write_volume(folder / f"{secret}_fa.nii.gz", np.linspace(0, 1, 27, dtype=np.float32).reshape(3, 3, 3), np.eye(4))
    result = run_cli("export", str(source), str(folder / "out"), "--mode", mode, "--json")
    assert result.returncode == 0, result.stderr
    forbidden = {secret, str(tmp_path), socket.gethostname(), getpass.getuser()}
    for series in json.loads(result.stdout)["series"]:
        for path in series["files"]:
            texts = all_text_values(pydicom.dcmread(path))
            assert texts, path
            leaks = [(word, text) for text in texts for word in forbidden if word and word in text]
            assert leaks == [], f"{path}: {leaks}"


@pytest.mark.parametrize(
    ("shape", "ijk_to_ras", "message"),
    [
        ((100000, 1, 1), np.eye(4), "100000 slices exceed FAExport's limit of 99999; crop or resample the volume"),
        ((2, 2, 2), np.diag([1.0, 1.0, 0.0, 1.0]), "the IJK-to-RAS matrix is singular: axis k has zero length; fix the volume's spacing"),
    ],
    ids=["too_many_slices", "singular_matrix"],
)
def test_impossible_volumes_are_refused_before_writing(tmp_path, shape, ijk_to_ras, message):
    with pytest.raises(InputError) as raised:
        export_volume(np.broadcast_to(np.float32(0.5), shape), ijk_to_ras, tmp_path / "out", mode="mr")
    assert str(raised.value) == message
    assert not (tmp_path / "out").exists()


def person_name_groups(text: str) -> list[list[str]]:
    """A PN value as its '='-separated groups of '^'-separated components, without trailing empty ones: "A^B^" and
    "A^B", or "=" and "", are the same name in DICOM (and pydicom writes the shorter form).
    """
    groups = [group.split("^") for group in text.split("=")]
    for components in groups:
        while components and components[-1] == "":
            components.pop()
    while groups and not groups[-1]:
        groups.pop()
    return groups


def person_name_problems(name: str) -> dict[str, bool]:
    """What PS3.5 6.2 forbids in a PN value: more than 3 '='-separated groups, more than 5 '^'-separated components in a
    group, more than 64 characters (or UTF-8 bytes) in a group.
    """
    groups = name.split("=")
    return {
        "component groups": len(groups) > 3,
        "name components": any(len(group.split("^")) > 5 for group in groups),
        "characters long": any(len(group) > 64 for group in groups),
        "bytes long in UTF-8": any(len(group.encode()) > 64 for group in groups),
    }


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=80) | st.lists(st.text(st.sampled_from("Aé山^ "), max_size=30), max_size=5).map("=".join), description=st.text(max_size=80))
def test_any_text_is_refused_with_a_reason_or_read_back_identically(tmp_path_factory, name, description):
    """Hypothesis over patient name and series description: a backslash, control characters, a description longer than
    64 characters (or UTF-8 bytes), a name breaking PN's group and component rules are refused before writing; anything
    else comes back from the file as given.
    """
    output = tmp_path_factory.mktemp("text") / "out"
    values = np.linspace(0.0, 1.0, 8, dtype=np.float32).reshape(2, 2, 2)
    metadata = ExportMetadata(patient_name=name, series_description=description)
    try:
        (series,) = export_volume(values, np.eye(4), output, mode="mr", metadata=metadata).series
    except InputError as error:
        message = str(error)
        name_problems = person_name_problems(name)
        reasons = {
            "backslash": any("\\" in text for text in (name, description)),
            "control characters": any(any(ord(c) < 32 or ord(c) == 127 for c in text) for text in (name, description)),
            "characters long": name_problems["characters long"] or len(description) > 64,
            "bytes long in UTF-8": name_problems["bytes long in UTF-8"] or len(description.encode()) > 64,
            "name components": name_problems["name components"],
            "component groups": name_problems["component groups"],
        }
        assert any(reason in message and present for reason, present in reasons.items()), (message, name, description)
        assert not output.exists()
        return
    assert not any(person_name_problems(name).values()), f"accepted a name PS3.5 forbids: {name!r}"
    dataset = pydicom.dcmread(series.files[0])
    encoding = "utf-8" if dataset.get("SpecificCharacterSet") == "ISO_IR 192" else "ascii"

    def text_in_file(keyword: str) -> str:
        # The stored bytes, not pydicom's PersonName (which reads only the first '='-separated group); trailing
        # spaces are padding, insignificant in DICOM.
        return dataset.get_item(keyword).value.decode(encoding).rstrip(" ")

    assert person_name_groups(text_in_file("PatientName")) == person_name_groups(name.rstrip(" "))
    assert text_in_file("SeriesDescription") == (description or "FA map").rstrip(" ")
    if not (name + description).isascii() or len(name.encode()) > 64:  # the character set and byte lengths are what a validator checks
        errors = dciodvfy_errors(series.files[0])
        # dciodvfy holds a whole PN value to 64 bytes, PS3.5 each component group (see test_text_and_codes.py).
        pn_total = [line for line in errors if "(0x0010,0x0010) PN" in line or "invalid data values for Value Representations" in line]
        assert errors == (pn_total if len(text_in_file("PatientName").encode()) > 64 else []), errors
