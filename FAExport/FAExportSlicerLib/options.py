"""FAExportOptions: what ``FAExportLogic.exportVolume`` writes, and where, one documented field per option.

Slicer imports every module file at start-up; this file imports nothing beyond the standard library.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class FAExportOptions:
    """The options of one export from Slicer (console, panel, batch script, Export-to-DICOM dialog).

    Attributes:
        mode: ``mr`` (int16 MR images, one per slice; every PACS), ``sc`` (multi-frame Secondary Capture), ``pm``
            (float32 Parametric Map; exact) or ``mr+pm`` (both, one study).
        scale: ``auto`` (the finest that fits), ``1000``, ``32000`` or a positive number: stored integer = value x scale.
        quantity: FA, MD, T1, ... (``python -m FAExportLib quantities``) or a ``Quantity``; None: the node's
            VoxelValueQuantity attribute, else FA.
        quantityCode: the quantity's code (``Code`` or "VALUE,SCHEME,MEANING") instead of the known one's.
        unit: the unit, a UCUM code such as "ms" or a ``Code``, instead of the quantity's.
        methodCode: the measurement method (Parametric Map), ``Code`` or "VALUE,SCHEME,MEANING".
        metadata: patient, study and series fields: an ``ExportMetadata`` or a dict of its field names.
        sourceVolumeNode: the volume the map was computed from, loaded from Slicer's DICOM database: the export joins
            its patient, study and frame of reference.
        sourceSeriesInstanceUID: the source series by UID instead of by node.
        outputFolder: also (or only, without the database) write each series into a new sub-folder of this folder.
        addToDatabase: add the series to Slicer's DICOM database.
        replaceNonFinite: replace NaN/infinite voxels with this value instead of refusing them.
        progressCallback: ``progressCallback(message, filesDone)`` before each file; returning True cancels.
        joinSubjectHierarchyStudy: take patient and study from the study the volume sits under in the subject
            hierarchy (the Export-to-DICOM dialog passes False: the tags the user edited there win).
        plainIntegers: ``mr``/``sc``: stored = round(value x scale) with RescaleSlope 1, the factor in the description.
        sendTo: a ``FAExportLib.send.DimseDestination`` or ``StowDestination``: send what was written, once verified.
        fallback: ``sc`` or ``mr``: if the archive refuses the Parametric Map class, export and send this instead.
        allowCoarseScale: export even when the scale's step is too coarse for the values (refused by default).
        laterality: L, R, B or U: the side of a paired body part.
        profile: ``navigation``: classic MR for navigation systems and web viewers (mode ``mr`` only): stored =
            round(value x the factor of the quantity's unit; ``scale`` a number: that factor), RescaleSlope 1, one integer
            window, a Real World Value Mapping in every file; maps with non-square in-plane pixels are refused.
        resampleToSource: resample the map onto the source series' grid first (trilinear; needs ``sourceVolumeNode`` or
            ``sourceSeriesInstanceUID``), so that OHIF can overlay the Parametric Map on it; each series says how much
            interpolation changed the values (``resampling_change``).

    """

    mode: str = "mr"
    scale: str | float = "auto"
    quantity: Any = None
    quantityCode: Any = None
    unit: Any = None
    methodCode: Any = None
    metadata: Any = None
    sourceVolumeNode: Any = None
    sourceSeriesInstanceUID: str | None = None
    outputFolder: str | os.PathLike | None = None
    addToDatabase: bool = True
    replaceNonFinite: float | None = None
    progressCallback: Callable[[str, int], bool] | None = None
    joinSubjectHierarchyStudy: bool = True
    plainIntegers: bool = False
    sendTo: Any = None
    fallback: str | None = None
    allowCoarseScale: bool = False
    laterality: str | None = None
    profile: str | None = None
    resampleToSource: bool = False

    @classmethod
    def of(cls, options: "FAExportOptions | None", keywords: dict) -> "FAExportOptions":
        """``options`` (or the defaults) with ``keywords`` changed: what every method of the logic takes."""
        if options is not None and not isinstance(options, FAExportOptions):
            raise TypeError(
                f"the options must be an FAExportOptions, not {type(options).__name__} {options!r}; give the options by name, "
                "e.g. exportVolume(node, mode='pm', scale=1000), or as FAExportOptions(mode='pm', ...)",
            )
        return (options or cls()).updated(**keywords)

    def updated(self, **keywords) -> "FAExportOptions":
        """A copy with ``keywords`` changed; an unknown name is refused (InputError listing the known ones)."""
        known = {item.name for item in fields(self)}
        unknown = sorted(set(keywords) - known)
        if unknown:
            from FAExportLib import InputError

            raise InputError(f"unknown export option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}", remedy=f"use the fields of FAExportOptions: {', '.join(sorted(known))}")
        return replace(self, **keywords)
