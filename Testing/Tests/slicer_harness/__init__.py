"""The Slicer-harness layer of the tests: the module's panel, logic, batch script and DICOM plugins as Slicer runs them.

A package so that its conftest.py is imported as ``slicer_harness.conftest``: a second top-level ``conftest`` would
shadow Testing/Tests/conftest.py, from which every layer imports the synthetic maps (``from conftest import ...``).
"""
