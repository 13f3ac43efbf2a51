"""Reading a written series back, independently of the arrays the writer used.

Every voxel is decoded from the bytes on disk, as a reader's modality LUT (or Real World Value Mapping) decodes it,
and compared with the input; each slice is matched to the input by its ImagePositionPatient and its plane by its
orientation and pixel spacing, so a geometry mistake fails too.

What is parsed, and by whom. The files are parsed by pydicom, but for what the encoders write from one template:

- single-frame series (``mr``): the first file is parsed by pydicom in full; every other file must repeat its bytes
  exactly, except the elements that differ from slice to slice (``SLICE_ELEMENTS``), which are read from each file and
  checked (UIDs, instance number, position, slice location, pixel data). A file that does not is parsed by pydicom and
  checked element by element, and refused: the files of one series differ in nothing else.
- multi-frame files (``sc``, ``pm``): pydicom parses everything but the per-frame functional groups and the pixels,
  which a strict reader takes from their offsets.

The fast reader knows one encoding, explicit VR little endian with elements of defined length (what FAExport
writes); anything else is parsed by pydicom in full. Parsing 182 headers written from one template again with
pydicom took most of the verification's time.
"""

import re
import struct
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut

from . import real_world_values
from .errors import VerificationError
from .series import SeriesPlan

# Positions written as DS carry ~1e-10 mm; anything beyond this is a wrong slice.
POSITION_TOLERANCE_MM = 1e-4
EXPLICIT_VR_LITTLE_ENDIAN = b"1.2.840.10008.1.2.1"
# The elements of a single-frame file that differ from slice to slice (the file meta group length counts the
# length of the instance UID it repeats), in tag order; every other byte is the same in every file of a series.
GROUP_LENGTH, MEDIA_STORAGE_SOP_INSTANCE_UID, TRANSFER_SYNTAX_UID = 0x00020000, 0x00020003, 0x00020010
SOP_INSTANCE_UID, INSTANCE_NUMBER, IMAGE_POSITION_PATIENT, SLICE_LOCATION = 0x00080018, 0x00200013, 0x00200032, 0x00201041
FLOAT_PIXEL_DATA, PIXEL_DATA = 0x7FE00008, 0x7FE00010
SLICE_ELEMENTS = (GROUP_LENGTH, MEDIA_STORAGE_SOP_INSTANCE_UID, SOP_INSTANCE_UID, INSTANCE_NUMBER, IMAGE_POSITION_PATIENT, SLICE_LOCATION, PIXEL_DATA)
PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, PLANE_POSITION_SEQUENCE = 0x52009230, 0x00209113
FRAMES_COMPARED_AT_ONCE = 16  # exact comparisons of float frames: bounds the temporary to a few frames

# Explicit VR little endian: these VRs have a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
_LONG_LENGTH_VRS = frozenset((b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"))
_HEADER = struct.Struct("<HH2sH")
_LONG_LENGTH = struct.Struct("<I")
_ITEM = struct.Struct("<HHI")
# Value representations as PS3.5 6.2 defines them (padding stripped first).
_DS = re.compile(rb"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_IS = re.compile(rb"[+-]?[0-9]{1,12}")
_UID = re.compile(rb"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def allowed_error(bound: float, max_abs: float) -> float:
    """``bound`` plus float64 rounding of value/slope and stored x slope."""
    return bound + 8 * np.finfo(np.float64).eps * max_abs


def check_bound(measured: float, bound: float, max_abs: float) -> float:
    """Raise VerificationError if ``measured`` exceeds the series' bound."""
    if not measured <= allowed_error(bound, max_abs):
        raise VerificationError(
            f"the series read back differs from the input by {measured:.6g}, more than its bound {bound:.6g}; "
            "nothing was written (please report this as a bug)",
        )
    return measured


def stored_index_at(plan: SeriesPlan, position, name: str) -> int:
    """The stored slice at ``position`` (LPS), or VerificationError if none is there."""
    distances = np.linalg.norm(plan.geometry.positions - np.asarray(position, dtype=np.float64), axis=1)
    stored_index = int(np.argmin(distances))
    if not distances[stored_index] <= POSITION_TOLERANCE_MM:  # also refuses NaN
        raise VerificationError(f"{name} has an image position that matches no slice of the input; nothing was written")
    return stored_index


def check_plane(plan: SeriesPlan, name: str, orientation, pixel_spacing) -> None:
    """VerificationError unless the file's ImageOrientationPatient and PixelSpacing put a slice's last column and last
    row where the input's are (within POSITION_TOLERANCE_MM; one voxel away for a slice of one row or column).
    """
    geometry = plan.geometry
    try:
        cosines = np.array([float(v) for v in orientation], dtype=np.float64)
        row_spacing, column_spacing = (float(v) for v in pixel_spacing)
    except (TypeError, ValueError):  # absent, or not 6 and 2 numbers
        cosines, row_spacing, column_spacing = np.full(6, np.nan), np.nan, np.nan
    if cosines.shape != (6,):
        cosines = np.full(6, np.nan)
    columns, rows = max(geometry.columns - 1, 1), max(geometry.rows - 1, 1)
    last_column = columns * (column_spacing * cosines[:3] - geometry.column_spacing * geometry.row_direction)
    last_row = rows * (row_spacing * cosines[3:] - geometry.row_spacing * geometry.column_direction)
    if not max(np.linalg.norm(last_column), np.linalg.norm(last_row)) <= POSITION_TOLERANCE_MM:  # also refuses NaN
        raise VerificationError(f"{name} has an image orientation or pixel spacing other than the input's; nothing was written")


def _linear_error(stored: np.ndarray, slope: float, intercept: float, scale: float, expected: np.ndarray, out: np.ndarray) -> float:
    """Max |(stored x slope + intercept) / scale - expected| in float64: the operations of pydicom's modality LUT
    (``stored.astype(float64) * slope``, ``+= intercept``) and of the check, in their order, so the measured error is the
    same to the last bit; ``out`` (float64, the shape of ``stored``) holds the intermediate values.
    """
    if slope == 1.0 and intercept == 0.0 and scale == 1.0 and stored.dtype.str[1:] == expected.dtype.str[1:] and np.array_equal(stored, expected):
        return 0.0  # the decoded values are the stored ones (exact in float64): equal values are no error at all
    np.multiply(stored, slope, out=out, dtype=np.float64)
    if intercept != 0.0:  # adding 0 changes no magnitude
        out += intercept
    if scale != 1.0:
        out /= scale  # plain integers: a reader decodes value x factor
    np.subtract(out, expected, out=out)
    np.abs(out, out=out)
    return float(out.max())


def _modality_lut_error(plan: SeriesPlan, stored_index: int, stored: np.ndarray, ds: Dataset, scale: float) -> float:
    """Max |decoded - input| of one slice decoded by pydicom's modality LUT (the files FAExport writes never need it)."""
    decoded = np.asarray(apply_modality_lut(stored, ds), dtype=np.float64) / scale
    return float(np.max(np.abs(decoded - plan.stored_slice(stored_index).astype(np.float64))))


def modality_rescale(ds: Dataset) -> tuple[float, float] | None:
    """(slope, intercept) of the modality LUT stage as pydicom applies it, or None if it is a table (or absent)."""
    if ds.get("ModalityLUTSequence") or "RescaleSlope" not in ds or "RescaleIntercept" not in ds:
        return None
    return float(ds.RescaleSlope), float(ds.RescaleIntercept)


# --------------------------------------------------------------------------------------------------
# The strict reader of explicit VR little endian elements of defined length


class _Unreadable(Exception):
    """Bytes the strict reader does not read; pydicom parses the file instead."""


def _elements(data: bytes, start: int, end: int) -> Iterator[tuple[int, bytes, int, int, int]]:
    """(tag, VR, header offset, value offset, value end) of each element of ``data[start:end]``."""
    position = start
    while position < end:
        if position + 8 > end:
            raise _Unreadable
        group, element, vr, length = _HEADER.unpack_from(data, position)
        value = position + 8
        if vr in _LONG_LENGTH_VRS:
            if position + 12 > end:
                raise _Unreadable
            (length,) = _LONG_LENGTH.unpack_from(data, position + 8)
            value = position + 12
        if length == 0xFFFFFFFF or value + length > end:
            raise _Unreadable
        yield (group << 16) | element, vr, position, value, value + length
        position = value + length


def _items(data: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each item of a sequence whose value is ``data[start:end]``."""
    position = start
    while position < end:
        if position + 8 > end:
            raise _Unreadable
        group, element, length = _ITEM.unpack_from(data, position)
        if (group, element) != (0xFFFE, 0xE000) or length == 0xFFFFFFFF or position + 8 + length > end:
            raise _Unreadable
        yield position + 8, position + 8 + length
        position += 8 + length


def _file_elements(data: bytes) -> Iterator[tuple[int, bytes, int, int, int]]:
    """The top-level elements of a DICOM file, file meta included; _Unreadable unless the data set is explicit VR little endian."""
    if data[128:132] != b"DICM":
        raise _Unreadable
    syntax = None
    for element in _elements(data, 132, len(data)):
        tag, _, _, value, end = element
        if tag == TRANSFER_SYNTAX_UID:
            syntax = data[value:end].rstrip(b"\0 ")
        elif tag >> 16 != 0x0002 and syntax != EXPLICIT_VR_LITTLE_ENDIAN:
            raise _Unreadable
        yield element


def _text(value: bytes, pattern: re.Pattern, count: int, name: str, keyword: str) -> list[bytes]:
    """``count`` values of a DS, IS or UI element, each checked against its VR; VerificationError if they are not."""
    values = [v.strip(b" \0") for v in value.split(b"\\")]
    if len(values) != count or not all(pattern.fullmatch(v) for v in values):
        raise VerificationError(f"{name} has an invalid {keyword}; nothing was written")
    return values


def _decimals(value: bytes, count: int, name: str, keyword: str) -> list[float]:
    return [float(v) for v in _text(value, _DS, count, name, keyword)]


# --------------------------------------------------------------------------------------------------
# Single-frame series


class _SliceLayout:
    """The first file of a single-frame series cut at its per-slice elements: the pieces between them, which every file
    of the series repeats byte for byte, and the VR and header length of each per-slice element.
    """

    def __init__(self, data: bytes):
        self.pieces: list[bytes] = []
        self.slots: list[tuple[int, bytes, int]] = []  # (tag, VR, header length)
        self.tags: list[int] = []
        start, piece_starts, meta_end = 0, [], None
        for tag, vr, header, value, end in _file_elements(data):
            self.tags.append(tag)
            if meta_end is None and tag >> 16 != 0x0002:
                meta_end = header
            if tag in SLICE_ELEMENTS:
                piece_starts.append(start)
                self.pieces.append(data[start:header])
                self.slots.append((tag, vr, value - header))
                start = end
        self.pieces.append(data[start:])
        if [slot[0] for slot in self.slots] != list(SLICE_ELEMENTS) or meta_end is None:
            raise _Unreadable
        # The file meta ends in the piece after its instance UID, the third: where, counted from that piece's start.
        self.meta_end_in_piece = meta_end - piece_starts[2]
        if not 0 <= self.meta_end_in_piece <= len(self.pieces[2]):
            raise _Unreadable

    def read(self, data: bytes) -> dict[int, tuple[int, int]] | None:
        """(value offset, value end) of each per-slice element of ``data``, or None if the other bytes are not the
        first file's; the file meta group length must count to the end of the file meta.
        """
        position, values, meta_end = 0, {}, None
        for index, (tag, vr, header) in enumerate(self.slots):
            piece = self.pieces[index]
            if data[position : position + len(piece)] != piece:
                return None
            if index == 2:
                meta_end = position + self.meta_end_in_piece
            position += len(piece)
            if position + header > len(data):
                return None
            group, element, found_vr, length = _HEADER.unpack_from(data, position)
            if header == 12:
                (length,) = _LONG_LENGTH.unpack_from(data, position + 8)
            start = position + header
            if (group << 16) | element != tag or found_vr != vr or start + length > len(data):
                return None
            values[tag] = (start, start + length)
            position = start + length
        if data[position:] != self.pieces[-1]:
            return None
        group_length_start, group_length_end = values[GROUP_LENGTH]
        if group_length_end - group_length_start != 4 or _LONG_LENGTH.unpack_from(data, group_length_start)[0] != meta_end - group_length_end:
            return None
        return values


class _SliceChecks:
    """What must hold across the files of one single-frame series: one file per slice, unique instances."""

    def __init__(self, plan: SeriesPlan):
        self.plan = plan
        self.slices: set[int] = set()
        self.instances: set[str] = set()

    def check(self, name: str, uid: str, position: list[float], location: float | None) -> int:
        """The stored index of the file's slice; VerificationError if its position, slice location or UID is wrong or repeated."""
        stored_index = stored_index_at(self.plan, position, name)
        if stored_index in self.slices:
            raise VerificationError(f"{name} repeats the position of another slice; nothing was written")
        self.slices.add(stored_index)
        if uid in self.instances:
            raise VerificationError(f"{name} repeats the SOP Instance UID of another file; nothing was written")
        self.instances.add(uid)
        if location is not None and not abs(location - float(self.plan.geometry.positions[stored_index] @ self.plan.geometry.normal)) <= POSITION_TOLERANCE_MM:
            raise VerificationError(f"{name} has a slice location other than its position's; nothing was written")
        return stored_index


def single_frame_error(plan: SeriesPlan, files: list[Path]) -> float:
    """Max |decoded - input| over a series of one file per slice, decoded with the modality LUT."""
    if len(files) != plan.geometry.slice_count:
        raise VerificationError(f"{len(files)} files were written for {plan.geometry.slice_count} slices; nothing was written")
    first = files[0].read_bytes()
    ds = pydicom.dcmread(BytesIO(first))
    try:
        layout = _SliceLayout(first)
        _check_against(layout, first, ds)
    except _Unreadable:
        return _parsed_series_error(plan, files)
    name = files[0].name
    _check_rescale(plan, ds, name)
    check_value_mapping(plan, ds, name)
    check_plane(plan, name, ds.get("ImageOrientationPatient"), ds.get("PixelSpacing"))
    rescale, dtype = modality_rescale(ds), _native_dtype(ds)
    if rescale is None or dtype is None or int(ds.get("NumberOfFrames") or 1) != 1:
        return _parsed_series_error(plan, files)
    rows, columns = plan.geometry.rows, plan.geometry.columns
    if (ds.Rows, ds.Columns) != (rows, columns):
        raise VerificationError(f"{name} holds {ds.Columns}x{ds.Rows} pixels for slices of {columns}x{rows}; nothing was written")
    slope, intercept = rescale
    scale = plan.rescale.read_back_scale  # plain integers: value x factor
    checks = _SliceChecks(plan)
    out = np.empty((rows, columns), dtype=np.float64)
    worst = 0.0
    for number, path in enumerate(files):
        data = first if number == 0 else path.read_bytes()
        values = layout.read(data)
        if values is None:  # say what differs if pydicom sees it (a rescale, a position), else that something does
            _parsed_slice(plan, path, checks)
            raise VerificationError(f"{path.name} differs from the series' other files beyond its own slice's elements; nothing was written")
        uid = _text(data[slice(*values[SOP_INSTANCE_UID])], _UID, 1, path.name, "SOP Instance UID")[0]
        if len(uid) > 64:
            raise VerificationError(f"{path.name} has an invalid SOP Instance UID; nothing was written")
        if data[slice(*values[MEDIA_STORAGE_SOP_INSTANCE_UID])] != data[slice(*values[SOP_INSTANCE_UID])]:
            raise _other_instance(path.name)
        _text(data[slice(*values[INSTANCE_NUMBER])], _IS, 1, path.name, "Instance Number")
        position = _decimals(data[slice(*values[IMAGE_POSITION_PATIENT])], 3, path.name, "Image Position (Patient)")
        location = _decimals(data[slice(*values[SLICE_LOCATION])], 1, path.name, "Slice Location")[0]
        stored_index = checks.check(path.name, uid.decode("ascii"), position, location)
        start, end = values[PIXEL_DATA]
        if end - start != rows * columns * dtype.itemsize:
            raise VerificationError(f"the pixel data holds {end - start} bytes, not one slice of {columns}x{rows}; nothing was written")
        stored = np.frombuffer(data, dtype=dtype, count=rows * columns, offset=start).reshape(rows, columns)
        worst = max(worst, _linear_error(stored, slope, intercept, scale, plan.stored_slice(stored_index), out))
    return worst


def _check_against(layout: _SliceLayout, data: bytes, ds: Dataset) -> None:
    """_Unreadable unless the strict reader and pydicom read the first file alike: the same elements, and the same
    per-slice values.
    """
    values = layout.read(data)
    try:
        agree = (
            values is not None
            and layout.tags == [int(tag) for tag in ds.file_meta.keys()] + [int(tag) for tag in ds.keys()]
            and data[slice(*values[SOP_INSTANCE_UID])].rstrip(b"\0").decode("ascii") == ds.SOPInstanceUID
            and [float(v) for v in data[slice(*values[IMAGE_POSITION_PATIENT])].split(b"\\")] == [float(v) for v in ds.ImagePositionPatient]
            and values[PIXEL_DATA][1] - values[PIXEL_DATA][0] == len(ds.PixelData)
        )
    except (AttributeError, TypeError, ValueError, UnicodeDecodeError):
        agree = False
    if not agree:
        raise _Unreadable


def _check_rescale(plan: SeriesPlan, ds: Dataset, name: str) -> None:
    if str(ds.RescaleSlope) != plan.rescale.slope_text or str(ds.RescaleIntercept) != plan.rescale.intercept_text:
        raise VerificationError(f"{name} has another rescale than the series; nothing was written")


def check_value_mapping(plan: SeriesPlan, ds: Dataset, name: str) -> None:
    """VerificationError unless an integer encoding's file maps its stored values to the map's as the series does, in
    its Real World Value Mapping: present with the series' slope and intercept when the unit is known, else absent.
    """
    found = real_world_values.file_mapping(ds.get("RealWorldValueMappingSequence"))
    expected = real_world_values.linear_map(plan.rescale) if plan.quantity.unit is not None else None
    if found != expected:
        raise VerificationError(f"{name} has another Real World Value Mapping than the series' values; nothing was written")


def _native_dtype(ds: Dataset) -> np.dtype | None:
    """The little-endian dtype of native single-sample pixels as the file's attributes describe them, or None."""
    if ds.file_meta.TransferSyntaxUID.is_compressed or ds.SamplesPerPixel != 1 or ds.BitsAllocated not in (8, 16, 32) or ds.BitsStored != ds.BitsAllocated:
        return None
    return np.dtype(f"<{'i' if ds.PixelRepresentation else 'u'}{ds.BitsAllocated // 8}")


def _other_instance(name: str) -> VerificationError:
    return VerificationError(f"{name}: its file meta names another SOP Instance UID than its data set; nothing was written")


def _parsed_slice(plan: SeriesPlan, path: Path, checks: _SliceChecks) -> tuple[int, float]:
    """One file parsed by pydicom in full and checked element by element: (stored index, max |decoded - input|)."""
    ds = pydicom.dcmread(path)
    if ds.file_meta.get("MediaStorageSOPInstanceUID") != ds.get("SOPInstanceUID"):
        raise _other_instance(path.name)
    location = ds.get("SliceLocation")
    stored_index = checks.check(path.name, str(ds.SOPInstanceUID), [float(v) for v in ds.ImagePositionPatient], None if location is None else float(location))
    _check_rescale(plan, ds, path.name)
    check_value_mapping(plan, ds, path.name)
    check_plane(plan, path.name, ds.get("ImageOrientationPatient"), ds.get("PixelSpacing"))
    return stored_index, _modality_lut_error(plan, stored_index, stored_frames(ds)[0], ds, plan.rescale.read_back_scale)


def _parsed_series_error(plan: SeriesPlan, files: list[Path]) -> float:
    """Max |decoded - input| with every file parsed by pydicom (files in another encoding than FAExport writes)."""
    checks = _SliceChecks(plan)
    return max(_parsed_slice(plan, path, checks)[1] for path in files)


# --------------------------------------------------------------------------------------------------
# Multi-frame files


def multi_frame_error(plan: SeriesPlan, files: list[Path], value_mapping: Callable[[Dataset], tuple[float, float] | None]) -> float:
    """Max |decoded - input| over one multi-frame file; frames are matched to slices by their Plane Position.

    ``value_mapping(ds)`` gives the (slope, intercept) that takes the file's stored values to the map's values, or None
    for pydicom's modality LUT. At most a few frames are held in float64 at a time.
    """
    if len(files) != 1:
        raise VerificationError(f"{len(files)} files were written for one multi-frame image; nothing was written")
    name = files[0].name
    data = files[0].read_bytes()
    try:
        header_end, positions, (pixel_tag, start, end) = _multi_frame_layout(data)
        ds = pydicom.dcmread(BytesIO(data[:header_end]))  # all but the per-frame groups and the pixels
        dtype = np.dtype("<f4") if pixel_tag == FLOAT_PIXEL_DATA else _native_dtype(ds)
        if dtype is None:
            raise _Unreadable
        frames = _frames(ds, data, start, end, dtype)
    except _Unreadable:
        ds = pydicom.dcmread(BytesIO(data))
        frames = stored_frames(ds)
        positions = [[float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient] for frame in ds.PerFrameFunctionalGroupsSequence]
    if len(positions) != plan.geometry.slice_count or len(frames) != plan.geometry.slice_count:
        raise VerificationError(f"{name} holds {len(frames)} frames for {plan.geometry.slice_count} slices; nothing was written")
    if plan.rescale is not None:
        check_value_mapping(plan, ds, name)
    shared = ds.SharedFunctionalGroupsSequence[0] if ds.get("SharedFunctionalGroupsSequence") else Dataset()
    orientation = shared.PlaneOrientationSequence[0].get("ImageOrientationPatient") if shared.get("PlaneOrientationSequence") else None
    spacing = shared.PixelMeasuresSequence[0].get("PixelSpacing") if shared.get("PixelMeasuresSequence") else None
    check_plane(plan, name, orientation, spacing)
    indices = [stored_index_at(plan, position, name) for position in positions]
    if len(set(indices)) != len(indices):
        raise VerificationError(f"{name} has two frames at one position; nothing was written")
    scale = plan.rescale.read_back_scale if plan.rescale is not None else 1.0  # plain integers: value x factor
    mapping = value_mapping(ds)
    if mapping is None:
        return max(_modality_lut_error(plan, stored_index, frame, ds, scale) for stored_index, frame in zip(indices, frames, strict=True))
    slope, intercept = mapping
    order = plan.geometry.slice_order
    if indices == list(range(len(indices))) and slope == 1.0 and intercept == 0.0 and scale == 1.0:
        # Frames in storage order, stored as the values: compare several frames at once, exactly (most Parametric Maps).
        volume = plan.array if order[0] == 0 else plan.array[::-1]
        step = FRAMES_COMPARED_AT_ONCE
        if frames.dtype.str[1:] == volume.dtype.str[1:] and all(np.array_equal(frames[n : n + step], volume[n : n + step]) for n in range(0, len(frames), step)):
            return 0.0
    out = np.empty(frames.shape[1:], dtype=np.float64)
    return max(_linear_error(frame, slope, intercept, scale, plan.stored_slice(stored_index), out) for stored_index, frame in zip(indices, frames, strict=True))


def _multi_frame_layout(data: bytes) -> tuple[int, list[list[float]], tuple[int, int, int]]:
    """Where the header before the per-frame groups ends, each frame's ImagePositionPatient, and the pixel element
    (tag, value offset, value end); _Unreadable unless the per-frame groups and the pixels are the file's last two elements.
    """
    elements = list(_file_elements(data))
    if len(elements) < 2 or elements[-2][0] != PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE or elements[-1][0] not in (FLOAT_PIXEL_DATA, PIXEL_DATA):
        raise _Unreadable
    _, _, header_end, groups_start, groups_end = elements[-2]
    positions = []
    for item_start, item_end in _items(data, groups_start, groups_end):
        found = [_plane_position(data, value, end) for tag, _, _, value, end in _elements(data, item_start, item_end) if tag == PLANE_POSITION_SEQUENCE]
        if len(found) != 1:
            raise _Unreadable
        positions.append(found[0])
    pixel_tag, _, _, pixels_start, pixels_end = elements[-1]
    return header_end, positions, (pixel_tag, pixels_start, pixels_end)


def _plane_position(data: bytes, start: int, end: int) -> list[float]:
    """The ImagePositionPatient of a Plane Position Sequence's one item."""
    items = list(_items(data, start, end))
    if len(items) != 1:
        raise _Unreadable
    found = [data[value:value_end] for tag, vr, _, value, value_end in _elements(data, *items[0]) if tag == IMAGE_POSITION_PATIENT and vr == b"DS"]
    values = found[0].split(b"\\") if len(found) == 1 else []
    if len(values) != 3 or not all(_DS.fullmatch(v.strip(b" ")) for v in values):
        raise _Unreadable  # pydicom then says what it reads there
    return [float(v) for v in values]


def _frames(ds: Dataset, data: bytes, start: int, end: int, dtype: np.dtype) -> np.ndarray:
    """The frames as stored, a view of ``data[start:end]``, shaped by the file's own attributes."""
    frames, rows, columns = int(ds.get("NumberOfFrames") or 1), ds.Rows, ds.Columns
    if end - start < frames * rows * columns * dtype.itemsize:
        raise VerificationError(f"the pixel data holds {end - start} bytes, fewer than {frames} frames of {columns}x{rows}; nothing was written")
    return np.frombuffer(data, dtype=dtype, count=frames * rows * columns, offset=start).reshape(frames, rows, columns)


def stored_frames(ds: Dataset) -> np.ndarray:
    """Every frame as stored, shape (frames, rows, columns), read as the file's own attributes describe it.

    For native (uncompressed) pixels this is a view of the file's bytes: what pydicom's pixel_array gives,
    without its copy and per-file decoder set-up (half the read-back time of a single-frame series).
    """
    frames, rows, columns = int(ds.get("NumberOfFrames") or 1), ds.Rows, ds.Columns
    if "FloatPixelData" in ds:
        buffer, dtype = ds.FloatPixelData, np.dtype("<f4")
    elif ds.file_meta.TransferSyntaxUID.is_compressed or ds.SamplesPerPixel != 1 or ds.BitsAllocated not in (8, 16, 32) or ds.BitsStored != ds.BitsAllocated:
        return ds.pixel_array.reshape(frames, rows, columns)
    else:
        buffer, dtype = ds.PixelData, np.dtype(f"<{'i' if ds.PixelRepresentation else 'u'}{ds.BitsAllocated // 8}")
    if len(buffer) < frames * rows * columns * dtype.itemsize:
        raise VerificationError(f"the pixel data holds {len(buffer)} bytes, fewer than {frames} frames of {columns}x{rows}; nothing was written")
    return np.frombuffer(buffer, dtype=dtype, count=frames * rows * columns).reshape(frames, rows, columns)
