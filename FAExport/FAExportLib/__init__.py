"""FAExportLib: export float quantitative maps (e.g. diffusion FA) to DICOM without losing values.

Pure Python on numpy and pydicom; nothing here imports Slicer, Qt or VTK. The entry point is
``export_and_send(array_kji, ijk_to_ras, output_dir, ExportOptions(mode=..., scale=...), destination=...)``, the workflow
every interface runs (``export_volume`` is its export step); ``export_maps_and_send([MapInput(...), ...], ...)`` exports
several maps as series of one study.
"""

from .codes import Code, Quantity
from .errors import CoarseScaleError, ExportCancelled, FAExportError, Field, InputError, OutputError, ScaleError, SendError, VerificationError
from .metadata import ExportMetadata
from .pipeline import MODES, ExportResult, MapInput, Preview, SeriesResult, export_volume, export_volumes, preview
from .quantities import known_quantities, parse_unit, quantity_by_name
from .version import __version__
from .workflow import Delivery, ExportOptions, export_and_send, export_maps_and_send
