"""``DICOMLib`` stand-in: only ``DICOMUtils``, enough to run the module's self-test (``FAExportTest``) in the harness."""
