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


def encode_elements(elements, encodings: list[str]) -> bytes:
    """Explicit VR Little Endian encoding of ``elements`` (in the given order), by pydicom."""
    stream = DicomBytesIO()
    stream.is_little_endian = True
    stream.is_implicit_VR = False
    for element in elements:
        write_data_element(stream, element, encodings)
    return stream.getvalue()


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
