"""FAExport's Slicer-bound helpers: scene, database, requirements, result and the panel's sections.

FAExport.py keeps the module, its parameter node, the panel's wiring and the logic's public methods; this package holds
what they call, one concern per file, as Slicer keeps a module's helpers in a sibling package (DICOMLib, DataProbeLib).
Unlike FAExportLib (the encoder, which never imports Slicer), these files may import slicer, qt, ctk and vtk.

Slicer imports FAExport.py when it starts, and with it the files FAExport.py imports at module scope: those import
numpy, pydicom and FAExportLib only inside the functions that use them. The panel's section files import qt, so only
the panel imports them (qt does not exist outside the application).
"""
