"""The read-back verification: every export is read back from disk, and a written file that differs from what it should
be (a voxel, a rescale, a position, a plane, a per-slice or a shared element) fails the export with VerificationError
and leaves nothing behind.

The files are changed after they are written and before they are read back, by wrapping the verification functions.
Most changes are made by pydicom itself (read, change one attribute, save): FAExport's files are byte for byte what
pydicom writes, so only the changed element differs, which is what a template's mistake would look like.
"""

from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import GEOMETRIES, fa_like
from pydicom.uid import ImplicitVRLittleEndian

from FAExportLib import VerificationError, export_volume, verify

GEOMETRY = GEOMETRIES["las"]  # slices stored in reverse array order: the read-back matches them by position


def volume(signed: bool = False) -> np.ndarray:
    values = fa_like(GEOMETRY.shape).transpose(2, 1, 0).copy()  # array[k, j, i]
    return values * np.float32(2.0) - np.float32(1.0) if signed else values


# The verification functions as the module defines them (the fixture below wraps them).
SINGLE_FRAME_ERROR, MULTI_FRAME_ERROR = verify.single_frame_error, verify.multi_frame_error


@pytest.fixture
def before_read_back(monkeypatch):
    """``install(change)``: ``change(files)`` runs on the written files just before the verification reads them back (and
    may return the list of files to verify instead); returns the list of (plan, files, extra arguments, measured error) of
    each verification that completed.
    """
    completed = []

    def install(change=None):
        for name, original in (("single_frame_error", SINGLE_FRAME_ERROR), ("multi_frame_error", MULTI_FRAME_ERROR)):

            def wrapped(plan, files, *args, original=original):
                files = list(files)
                replaced = change(files) if change is not None else None
                if isinstance(replaced, list) and replaced and all(isinstance(f, Path) for f in replaced):
                    files = replaced
                measured = original(plan, files, *args)
                completed.append((plan, files, args, measured))
                return measured

            monkeypatch.setattr(verify, name, wrapped)
        return completed

    return install


def run_export(tmp_path: Path, mode: str, values=None, **options):
    return export_volume(volume() if values is None else values, GEOMETRY.affine, tmp_path / "out", mode=mode, **options)


def rewrite(path: Path, **attributes) -> None:
    """Change attributes of a written file with pydicom, byte for byte as pydicom writes it otherwise."""
    ds = pydicom.dcmread(path)
    for keyword, value in attributes.items():
        if keyword.startswith("meta_"):
            setattr(ds.file_meta, keyword[5:], value)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def replace_bytes(path: Path, old: bytes, new: bytes) -> None:
    """Replace the one occurrence of ``old`` (before the pixel data) by ``new`` of the same length."""
    data = path.read_bytes()
    header = data[: data.rindex(b"\xe0\x7f")]
    assert len(old) == len(new) and header.count(old) == 1, (old, header.count(old))
    start = header.index(old)
    path.write_bytes(data[:start] + new + data[start + len(old) :])


def change_pixel(path: Path, offset_from_end: int, dtype: str) -> None:
    """Change one stored value, ``offset_from_end`` values before the end of the file: an integer by 16384, a float by 0.25."""
    data = bytearray(path.read_bytes())
    size = np.dtype(dtype).itemsize
    start = len(data) - offset_from_end * size
    value = np.frombuffer(bytes(data[start : start + size]), dtype=dtype).copy()
    if value.dtype.kind == "f":
        value += np.float32(0.25)
    else:
        value ^= 0x4000
    data[start : start + size] = value.tobytes()
    path.write_bytes(bytes(data))


def nothing_written(tmp_path: Path) -> bool:
    return not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# 1. The fast read-back measures exactly what pydicom parsing every file measures


@pytest.mark.parametrize(
    ("mode", "options"),
    [("mr", {}), ("mr", {"plain_integers": True}), ("mr", {"signed": True}), ("sc", {}), ("sc", {"signed": True}), ("pm", {}), ("pm", {"float64": True})],
)
def test_read_back_measures_what_pydicom_measures(tmp_path, before_read_back, monkeypatch, mode, options):
    """The error measured from the files' bytes is, to the last bit, the one measured with every file parsed by pydicom."""
    values = volume(signed=options.pop("signed", False))
    if options.pop("float64", False):
        values = values.astype(np.float64) / 3.0  # float32 rounding: a non-zero bound and error
    completed = before_read_back()
    result = run_export(tmp_path, mode, values, **options)
    ((plan, _, args, measured),) = completed
    published = [Path(f) for f in result.series[0].files]
    assert measured == result.series[0].measured_max_error <= result.series[0].max_quantization_error
    if mode == "mr":
        assert verify._parsed_series_error(plan, published) == measured
    else:

        def unreadable(data):
            raise verify._Unreadable

        monkeypatch.setattr(verify, "_multi_frame_layout", unreadable)
        assert MULTI_FRAME_ERROR(plan, published, *args) == measured


@pytest.mark.parametrize("mode", ["mr", "sc", "pm", "mr+pm"])
def test_pydicom_parses_one_header_per_series(tmp_path, before_read_back, monkeypatch, mode):
    """What FAExport writes is read the fast way: pydicom parses the first file of an mr series, and a multi-frame
    file's header without its per-frame groups and pixels; the rest is read from offsets (and compared with that parse).
    """
    parsed = []
    original = pydicom.dcmread

    def counting(source, *args, **kwargs):
        parsed.append(len(source.getbuffer()) if isinstance(source, BytesIO) else Path(source).stat().st_size)
        return original(source, *args, **kwargs)

    monkeypatch.setattr(verify.pydicom, "dcmread", counting)
    before_read_back()
    result = run_export(tmp_path, mode)
    assert len(parsed) == len(result.series)
    for series, size in zip(result.series, parsed, strict=True):
        first = Path(series.files[0]).stat().st_size
        assert size == first if series.mode == "mr" else size < first - GEOMETRY.shape[0] * GEOMETRY.shape[1] * GEOMETRY.shape[2]


# 2. A file that differs from what it should be fails the export, and nothing is written


def first_position(files):
    return pydicom.dcmread(files[0]).ImagePositionPatient


MR_CHANGES = {
    "a voxel of one file": (lambda files: change_pixel(files[3], 7, "<i2"), "differs from the input by"),
    "two files' pixels swapped": (
        lambda files: [p.write_bytes(d) for p, d in zip((files[1], files[2]), swapped_pixels(files[1], files[2]), strict=True)],
        "differs from the input by",
    ),
    "the rescale of one file": (lambda files: bump_digit(files[4], "RescaleSlope"), "has another rescale than the series"),
    "the rescale of every file": (lambda files: [bump_digit(f, "RescaleSlope") for f in files], "has another rescale than the series"),
    "the intercept of one file": (lambda files: rewrite(files[2], RescaleIntercept="0.5"), "has another rescale than the series"),
    "the position of one file": (lambda files: bump_digit(files[2], "ImagePositionPatient"), "matches no slice of the input"),
    "a position repeated": (lambda files: rewrite(files[2], ImagePositionPatient=first_position(files)), "repeats the position of another slice"),
    "a slice location": (lambda files: rewrite(files[2], SliceLocation="123.25"), "has a slice location other than its position's"),
    "the orientation of every file": (
        lambda files: [rewrite(f, ImageOrientationPatient=["0", "-1", "0", "-1", "0", "0"]) for f in files],
        "has an image orientation or pixel spacing other than the input's",
    ),
    "the pixel spacing of every file": (
        lambda files: [rewrite(f, PixelSpacing=["1.2", "1.5001"]) for f in files],
        "has an image orientation or pixel spacing other than the input's",
    ),
    "a shared element of one file": (lambda files: rewrite(files[2], PatientName="Someone^Else"), "differs from the series' other files"),
    "the series UID of one file": (lambda files: rewrite(files[5], SeriesInstanceUID="1.2.3.4"), "differs from the series' other files"),
    "an element added to one file": (lambda files: rewrite(files[1], StationName="X"), "differs from the series' other files"),
    "the file meta group length": (lambda files: bump_group_length(files[3]), "differs from the series' other files"),
    "bytes after the pixel data": (lambda files: files[2].write_bytes(files[2].read_bytes() + b"\0\0"), "differs from the series' other files"),
    "a SOP Instance UID repeated": (
        lambda files: rewrite(files[2], SOPInstanceUID=pydicom.dcmread(files[0]).SOPInstanceUID, meta_MediaStorageSOPInstanceUID=pydicom.dcmread(files[0]).SOPInstanceUID),
        "repeats the SOP Instance UID of another file",
    ),
    "a file meta naming another instance": (lambda files: bump_digit(files[2], "MediaStorageSOPInstanceUID"), "its file meta names another SOP Instance UID"),
    "an invalid instance number": (lambda files: replace_instance_number(files[2]), "has an invalid Instance Number"),
    "one row of pixels missing": (lambda files: rewrite(files[2], PixelData=pydicom.dcmread(files[2]).PixelData[: -2 * GEOMETRY.shape[0]]), "the pixel data holds"),
    "a file missing": (lambda files: files[:4] + files[5:], "files were written for"),
    "the value mapping of every file": (lambda files: [change_value_mapping(f) for f in files], "has another Real World Value Mapping than the series' values"),
    "the value mapping removed from every file": (lambda files: [change_value_mapping(f, remove=True) for f in files], "has another Real World Value Mapping than the series' values"),
}


def change_value_mapping(path: Path, remove: bool = False) -> None:
    """Double the slope of the file's top-level Real World Value Mapping, or remove the mapping."""
    ds = pydicom.dcmread(path)
    if remove:
        del ds.RealWorldValueMappingSequence
    else:
        ds.RealWorldValueMappingSequence[0].RealWorldValueSlope *= 2
    ds.save_as(path, enforce_file_format=True)


def swapped_pixels(a: Path, b: Path) -> tuple[bytes, bytes]:
    data_a, data_b = a.read_bytes(), b.read_bytes()
    size = 2 * GEOMETRY.shape[0] * GEOMETRY.shape[1]
    return data_a[:-size] + data_b[-size:], data_b[:-size] + data_a[-size:]


def bump_digit(path: Path, keyword: str) -> None:
    """Change the last digit of a DS or UI value in place (same length)."""
    data = path.read_bytes()
    ds = pydicom.dcmread(BytesIO(data))
    element = (ds.file_meta if keyword.startswith("MediaStorage") else ds).get_item(keyword)
    value = data[element.value_tell : element.value_tell + element.length]
    text = value.rstrip(b" \0")
    digit = next(i for i in range(len(text) - 1, -1, -1) if text[i : i + 1].isdigit())
    changed = text[:digit] + str((int(text[digit : digit + 1]) + 5) % 10).encode() + text[digit + 1 :] + value[len(text) :]
    path.write_bytes(data[: element.value_tell] + changed + data[element.value_tell + element.length :])


def bump_group_length(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[140:144] = (int.from_bytes(data[140:144], "little") + 2).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def replace_instance_number(path: Path) -> None:
    data = path.read_bytes()
    element = pydicom.dcmread(BytesIO(data)).get_item("InstanceNumber")
    path.write_bytes(data[: element.value_tell] + b"x" * element.length + data[element.value_tell + element.length :])


@pytest.mark.parametrize("change", list(MR_CHANGES))
def test_a_changed_mr_file_fails_the_export(tmp_path, before_read_back, change):
    corrupt, message = MR_CHANGES[change]
    before_read_back(corrupt)
    with pytest.raises(VerificationError, match=message):
        run_export(tmp_path, "mr")
    assert nothing_written(tmp_path)


def frame_position(path: Path, frame: int) -> bytes:
    """The DS text of a frame's ImagePositionPatient, as written."""
    position = pydicom.dcmread(path).PerFrameFunctionalGroupsSequence[frame].PlanePositionSequence[0].ImagePositionPatient
    text = "\\".join(str(v) for v in position).encode()
    return text + b" " * (len(text) % 2)


def move_frame(path: Path, frame: int) -> None:
    old = frame_position(path, frame)
    replace_bytes(path, old, old.replace(b".", b"7", 1) if b"." in old else old[:-1] + b"7")


def repeat_frame_position(path: Path) -> None:
    first, second = frame_position(path, 0), frame_position(path, 1)
    assert len(first) == len(second)
    replace_bytes(path, second, first)


def swap_frames(path: Path, dtype: str) -> None:
    data = bytearray(path.read_bytes())
    size = np.dtype(dtype).itemsize * GEOMETRY.shape[0] * GEOMETRY.shape[1]
    end = len(data)
    last, before = data[end - size : end], data[end - 2 * size : end - size]
    data[end - 2 * size : end] = last + before
    path.write_bytes(bytes(data))


def change_shared(path: Path, change) -> None:
    ds = pydicom.dcmread(path)
    change(ds.SharedFunctionalGroupsSequence[0])
    ds.save_as(path, enforce_file_format=True)


MULTI_FRAME_CHANGES = {
    "pm: a voxel": ("pm", lambda files: change_pixel(files[0], 11, "<f4"), "differs from the input by"),
    "pm: two frames swapped": ("pm", lambda files: swap_frames(files[0], "<f4"), "differs from the input by"),
    "pm: a frame moved": ("pm", lambda files: move_frame(files[0], 2), "matches no slice of the input"),
    "pm: a frame position repeated": ("pm", lambda files: repeat_frame_position(files[0]), "has two frames at one position"),
    "pm: the real world value slope": (
        "pm",
        lambda files: change_shared(files[0], lambda shared: setattr(shared.RealWorldValueMappingSequence[0], "RealWorldValueSlope", 1.5)),
        "differs from the input by",
    ),
    "pm: the orientation": (
        "pm",
        lambda files: change_shared(files[0], lambda shared: setattr(shared.PlaneOrientationSequence[0], "ImageOrientationPatient", ["0", "1", "0", "1", "0", "0"])),
        "has an image orientation or pixel spacing other than the input's",
    ),
    "pm: the pixel spacing": (
        "pm",
        lambda files: change_shared(files[0], lambda shared: setattr(shared.PixelMeasuresSequence[0], "PixelSpacing", ["1.2", "1.6"])),
        "has an image orientation or pixel spacing other than the input's",
    ),
    "pm: a frame missing": ("pm", lambda files: rewrite(files[0], NumberOfFrames=GEOMETRY.shape[2] - 1), "frames for"),
    "sc: a voxel": ("sc", lambda files: change_pixel(files[0], 5, "<u2"), "differs from the input by"),
    "sc: two frames swapped": ("sc", lambda files: swap_frames(files[0], "<u2"), "differs from the input by"),
    "sc: the rescale": ("sc", lambda files: bump_digit(files[0], "RescaleSlope"), "differs from the input by"),
    "sc: a frame moved": ("sc", lambda files: move_frame(files[0], 1), "matches no slice of the input"),
    "sc: the value mapping": ("sc", lambda files: change_value_mapping(files[0]), "has another Real World Value Mapping than the series' values"),
}


@pytest.mark.parametrize("change", list(MULTI_FRAME_CHANGES))
def test_a_changed_multi_frame_file_fails_the_export(tmp_path, before_read_back, change):
    mode, corrupt, message = MULTI_FRAME_CHANGES[change]
    before_read_back(corrupt)
    with pytest.raises(VerificationError, match=message):
        run_export(tmp_path, mode)
    assert nothing_written(tmp_path)


# 3. Files in another encoding than FAExport writes are parsed by pydicom, and verified all the same


def as_implicit_vr(path: Path) -> None:
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)


def with_undefined_lengths(path: Path) -> None:
    ds = pydicom.dcmread(path)
    ds["PerFrameFunctionalGroupsSequence"].is_undefined_length = True
    for item in ds.PerFrameFunctionalGroupsSequence:
        item.is_undefined_length_sequence_item = True
    ds.save_as(path, enforce_file_format=True)


@pytest.mark.parametrize(("mode", "reencode"), [("mr", as_implicit_vr), ("sc", as_implicit_vr), ("pm", with_undefined_lengths)])
def test_files_in_another_encoding_are_parsed_by_pydicom(tmp_path, before_read_back, mode, reencode):
    completed = before_read_back(lambda files: [reencode(f) for f in files])
    result = run_export(tmp_path, mode)
    assert completed and result.series[0].measured_max_error == completed[0][3]


@pytest.mark.parametrize(("mode", "dtype"), [("mr", "<i2"), ("pm", "<f4")])
def test_a_changed_voxel_in_another_encoding_fails_the_export(tmp_path, before_read_back, mode, dtype):
    reencode = as_implicit_vr if mode == "mr" else with_undefined_lengths
    before_read_back(lambda files: [reencode(f) for f in files] + [change_pixel(files[len(files) // 2], 3, dtype)])
    with pytest.raises(VerificationError, match="differs from the input by"):
        run_export(tmp_path, mode)
    assert nothing_written(tmp_path)
