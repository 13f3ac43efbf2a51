"""FAExportLib version (written into SoftwareVersions) and the implementation identity in every file's meta information."""

import uuid

__version__ = "0.1.0"

# ImplementationVersionName (SH, at most 16 characters) in every file's meta information.
IMPLEMENTATION_VERSION_NAME = f"FAEXPORT_{__version__}"
# ImplementationClassUID: FAExport's own (not pydicom's), one per ImplementationVersionName. A UUID-derived UID
# (PS3.5 B.2, root 2.25) needs no registered root; the UUID is a name-based (version 5) hash of the version name, so
# each version has one UID and another version another.
IMPLEMENTATION_CLASS_UID = f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, 'https://github.com/FAExport/' + IMPLEMENTATION_VERSION_NAME).int}"
