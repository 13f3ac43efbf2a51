"""FAExportLib version (written into SoftwareVersions)."""

__version__ = "0.1.0"

# ImplementationVersionName (SH, at most 16 characters) in every file's meta information.
IMPLEMENTATION_VERSION_NAME = f"FAEXPORT_{__version__}"
