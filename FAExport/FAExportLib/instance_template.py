"""Files that share most of their attributes, encoded once: the single-frame instances of one series.

The slices of an ``mr`` series differ only in a few elements (SOP Instance UID, position, pixel data).
Encoding all ~70 elements again for every file is most of pydicom's export time, so each shared element
is encoded once, by pydicom itself, and each file is assembled from those bytes and its own few elements.
The result is byte for byte what ``Dataset.save_as(..., enforce_file_format=True)`` writes (tested).
"""

import bisect
import struct

from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.tag import Tag

PREAMBLE = b"\0" * 128 + b"DICM"
MEDIA_STORAGE_SOP_INSTANCE_UID = Tag(0x0002, 0x0003)
GROUP_LENGTH_HEADER = struct.pack("<HH2sH", 0x0002, 0x0000, b"UL", 4)
# Explicit VR little endian: these VRs have a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
LONG_LENGTH_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT"))


def encode_elements(elements, encodings: list[str]) -> bytes:
    """Explicit VR Little Endian encoding of ``elements`` (in the given order), by pydicom."""
    stream = DicomBytesIO()
    stream.is_little_endian = True
    stream.is_implicit_VR = False
    for element in elements:
        write_data_element(stream, element, encodings)
    return stream.getvalue()


def encode_element(tag: int, vr: str, value: str | bytes) -> list[bytes]:
    """One element, explicit VR little endian, as pydicom writes it: a text value (UI, IS, DS: the default character
    repertoire) padded to even length with a NUL for UI, else a space; a byte value (OB, OW) with a NUL. As chunks: the
    header, then the value (not copied).
    """
    if isinstance(value, str):
        value = value.encode("ascii")
        if len(value) % 2:
            value += b"\0" if vr == "UI" else b" "
    elif len(value) % 2:
        value = bytes(value) + b"\0"
    if vr in LONG_LENGTH_VRS:
        return [struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr.encode("ascii"), 0, len(value)), value]
    return [struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode("ascii"), len(value)), value]


class InstanceTemplate:
    """Encodes instances made of ``shared`` plus, per instance, exactly the elements ``varying_keywords`` name."""

    def __init__(self, shared: Dataset, file_meta: FileMetaDataset, varying_keywords: list[str]) -> None:
        self._encodings = convert_encodings(shared.get("SpecificCharacterSet"))
        self._varying_tags = sorted(Tag(keyword) for keyword in varying_keywords)
        segments: list[list[DataElement]] = [[] for _ in range(len(self._varying_tags) + 1)]
        for element in shared:  # a Dataset iterates in tag order, as a file must be written
            if element.tag in self._varying_tags:
                raise ValueError(f"{element.keyword} is both shared and varying")
            segments[bisect.bisect(self._varying_tags, element.tag)].append(element)
        self._segments = [encode_elements(segment, self._encodings) for segment in segments]
        meta = FileMetaDataset(file_meta)
        meta.FileMetaInformationVersion = b"\x00\x01"
        if MEDIA_STORAGE_SOP_INSTANCE_UID in meta:
            del meta[MEDIA_STORAGE_SOP_INSTANCE_UID]
        before = [element for element in meta if element.tag < MEDIA_STORAGE_SOP_INSTANCE_UID and element.tag.element != 0]
        after = [element for element in meta if element.tag > MEDIA_STORAGE_SOP_INSTANCE_UID]
        self._meta_before = encode_elements(before, ["iso8859"])
        self._meta_after = encode_elements(after, ["iso8859"])

    def encode(self, sop_instance_uid: str, varying: Dataset) -> list[bytes]:
        """The complete file of one instance (preamble, file meta, data set), as chunks to write in order."""
        instance_uid = encode_elements([DataElement(MEDIA_STORAGE_SOP_INSTANCE_UID, "UI", sop_instance_uid)], ["iso8859"])
        group_length = len(self._meta_before) + len(instance_uid) + len(self._meta_after)
        parts = [PREAMBLE, GROUP_LENGTH_HEADER, struct.pack("<I", group_length), self._meta_before, instance_uid, self._meta_after, self._segments[0]]
        if sorted(element.tag for element in varying) != self._varying_tags:
            raise ValueError("an instance must give exactly the varying elements of its template")
        for element, segment in zip(varying, self._segments[1:], strict=True):
            parts.append(encode_elements([element], self._encodings))
            parts.append(segment)
        return parts

    def encode_values(self, sop_instance_uid: str, values: list[tuple[str, str | bytes]]) -> list[bytes]:
        """``encode`` with the varying elements given as (VR, value) in tag order, UIDs, numbers or bytes: the same file,
        without a pydicom Dataset per instance (setting and writing its elements was a third of an mr export's time).
        """
        if len(values) != len(self._varying_tags):
            raise ValueError("an instance must give exactly the varying elements of its template")
        instance_uid = b"".join(encode_element(MEDIA_STORAGE_SOP_INSTANCE_UID, "UI", sop_instance_uid))
        group_length = len(self._meta_before) + len(instance_uid) + len(self._meta_after)
        parts = [PREAMBLE, GROUP_LENGTH_HEADER, struct.pack("<I", group_length), self._meta_before, instance_uid, self._meta_after, self._segments[0]]
        for tag, (vr, value), segment in zip(self._varying_tags, values, self._segments[1:], strict=True):
            parts += encode_element(tag, vr, value)
            parts.append(segment)
        return parts
