"""FAExportLib: export float quantitative maps (e.g. diffusion FA) to DICOM without losing values.

Pure Python on numpy and pydicom; nothing here imports Slicer, Qt or VTK. The entry point is
``export_volume(array_kji, ijk_to_ras, output_dir, mode=..., scale=...)``.
"""

from .codes import Code, Quantity
from .errors import CoarseScaleError, ExportCancelled, FAExportError, InputError, OutputError, ScaleError, VerificationError
from .metadata import ExportMetadata
from .pipeline import MODES, ExportResult, Preview, SeriesResult, export_volume, preview
from .quantities import known_quantities, parse_unit, quantity_by_name
from .version import __version__
