"""``python -m FAExportLib``: the command line."""

import gc
import sys

from .cli import main

status = main()
# The interpreter's last garbage collections at exit traverse every object the imports made (numpy's, pydicom's
# dictionaries): a tenth of an export's run. Nothing of the export is left for them to collect (files are closed
# where they are written), so they are skipped; reference counting still frees what it frees, and Python still
# flushes stdout and stderr and runs atexit handlers.
gc.freeze()
sys.exit(status)
