"""One export from Slicer: volume nodes (one, or several as series of one study) and FAExportOptions in, FAExportLib's
workflow (export, verify, send, fall back) run once, Slicer's DICOM database as the place each series is delivered
to, an FAExportResult out.

The console, the panel, the batch script and the Export-to-DICOM dialog all come here through
``FAExportLogic.exportVolume`` or ``exportVolumes``. Errors raised here say their fields in the console's words (FAExportOptions' names);
the panel and the dialog render the same errors in theirs (``FAExportSlicerLib.field_names``).
"""

import contextlib
import logging
import shutil
import tempfile
from dataclasses import replace
from typing import TYPE_CHECKING

from FAExportSlicerLib import database, scene, several_maps
from FAExportSlicerLib.field_names import consoleLabel
from FAExportSlicerLib.options import FAExportOptions
from FAExportSlicerLib.requirements import ensureSendLibrary, slicerVersionProblem
from FAExportSlicerLib.result import FAExportResult

if TYPE_CHECKING:
    from FAExportLib import ExportOptions, Preview, SeriesResult
    from FAExportLib.send import SendResult


@contextlib.contextmanager
def inConsoleWords():
    """FAExportLib's errors raised inside say their fields as the console gives them (``str(error)``); their structure
    stays, so that the panel and the dialog render them in their own words.
    """
    from FAExportLib import FAExportError

    try:
        yield
    except FAExportError as error:
        raise error.in_words(consoleLabel)  # the same error, its words changed


def exportNode(volumeNode, options: FAExportOptions) -> FAExportResult:
    """Export ``volumeNode`` as ``options`` say (see FAExportOptions): ``exportNodes`` with one node."""
    return exportNodes([volumeNode], options)


def exportNodes(volumeNodes, options: FAExportOptions) -> FAExportResult:
    """Export the nodes as series of one study, as ``options`` say (see FAExportOptions and several_maps.py);
    FAExportError, with nothing written or added to the database, when it cannot be done. A failed send raises
    nothing: the result's ``sendError`` says why.
    """
    with inConsoleWords():
        return _export(volumeNodes, options)


def _export(volumeNodes, options: FAExportOptions) -> FAExportResult:
    from FAExportLib import Field, InputError, OutputError
    from FAExportLib.workflow import check_send_request, export_maps_and_send

    problem = slicerVersionProblem()
    if problem:
        raise InputError(problem)
    if not (options.addToDatabase or options.outputFolder):
        raise OutputError("nothing to export to", remedy=("give ", Field("output_folder"), ", or ", Field("add_to_database", "True")))
    check_send_request(options.mode, options.sendTo, options.fallback)  # export_maps_and_send checks it too, but only after the library prompt below
    # The nodes are checked (kinds, quantities, one study) before a first export creates Slicer's DICOM database.
    nodes = several_maps.checkedVolumes(volumeNodes)
    libraryOptions = libraryExportOptions(nodes, options)
    maps = several_maps.mapInputs(nodes, options)
    if options.sendTo is not None:
        ensureSendLibrary(options.sendTo)  # before exporting: asks to install pynetdicom, or explains
    slicerDatabase = database.openDicomDatabase() if options.addToDatabase else None

    def deliver(series: "list[SeriesResult]") -> "list[SeriesResult]":
        """Into Slicer's database (which keeps its own copies), when asked; the series as they are stored there. Files
        written only to be inserted are deleted at once, not kept while they are sent.
        """
        if slicerDatabase is None:
            return series
        database.addToDatabase(slicerDatabase, series)
        if options.outputFolder:
            return series
        stored = [database.inDatabase(slicerDatabase, item) for item in series]
        for item in series:
            shutil.rmtree(item.directory, ignore_errors=True)
        return stored

    workFolder = None if options.outputFolder else tempfile.mkdtemp(prefix="FAExport-")
    try:
        delivery = export_maps_and_send(
            maps,
            options.outputFolder or workFolder,
            libraryOptions,
            destination=options.sendTo,
            fallback=options.fallback,
            progress=options.progressCallback,
            deliver=deliver,
        )
    finally:
        if workFolder is not None:
            shutil.rmtree(workFolder, ignore_errors=True)
    result = FAExportResult(
        series=list(delivery.export.series),
        addedToDatabase=slicerDatabase is not None,
        outputFolder=str(options.outputFolder) if options.outputFolder else None,
        sent=delivery.sent,
        sendError=delivery.send_error and delivery.send_error.in_words(consoleLabel),  # returned, not raised: in the console's words too
        warnings=list(delivery.export.warnings),
    )
    logResult(result)
    return result


def previewNode(volumeNode, options: FAExportOptions) -> "Preview":
    """FAExportLib's preview of the node's voxels for the options that decide the stored values."""
    from FAExportLib import preview

    with inConsoleWords():
        return preview(
            scene.voxelArray(volumeNode),
            "auto" if options.mode == "pm" else options.scale,
            options.replaceNonFinite,
            allow_coarse_scale=options.allowCoarseScale,
            quantity=options.quantity or scene.quantityOf(volumeNode) or "FA",
            plain_integers=options.plainIntegers and options.mode != "pm",
            integers=options.mode != "pm",
            profile=options.profile,
            mode=options.mode,
            ijk_to_ras=scene.worldIJKToRAS(volumeNode) if options.profile or "pm" in options.mode else None,
            source=scene.sourceSeries(options.sourceVolumeNode, options.sourceSeriesInstanceUID) if "pm" in options.mode or options.resampleToSource else None,
            resample_to_source=options.resampleToSource,
        )


def sendExported(exported, destination, progressCallback=None) -> "SendResult":
    """Send the series of an earlier export (an FAExportResult or a list of FAExportLib's SeriesResult)."""
    from FAExportLib.workflow import send_series

    ensureSendLibrary(destination)
    series = exported.series if isinstance(exported, FAExportResult) else list(exported)
    with inConsoleWords():
        sent = send_series(series, destination, progress=progressCallback)
    logResult(FAExportResult(series=[], sent=sent))
    return sent


def exportFile(logic, path, options: FAExportOptions) -> FAExportResult:
    """Read a NIfTI/NRRD file with Slicer's reader into a private scene (the user's is untouched, and this one freed
    after the file) and export it with ``logic.exportVolume``; the file's NIfTI transform warning comes first.
    """
    import slicer
    from FAExportLib.volume_files import nifti_header_warnings

    with inConsoleWords():
        scene.checkNonFiniteNIfTI(path, options.replaceNonFinite)
    fileWarnings = nifti_header_warnings(path)  # which NIfTI transform Slicer's reader used, if the other differs
    for warning in fileWarnings:
        logging.warning("FAExport: %s", warning)
    privateScene = slicer.vtkMRMLScene()
    try:
        result = logic.exportVolume(scene.readVolumeFile(path, privateScene), options)
    finally:
        privateScene.Clear(True)
    result.warnings[:0] = fileWarnings
    return result


def exportFiles(logic, paths, options: FAExportOptions) -> "list[tuple[str, FAExportResult | Exception]]":
    """Each file on its own with ``logic.exportFile``: a failure is logged and reported, and the others go on. An
    unexpected error (a bug, not a refused input) is logged with its traceback.
    """
    from FAExportLib import FAExportError

    outcomes = []
    for path in paths:
        try:
            outcomes.append((str(path), logic.exportFile(path, options)))
        except FAExportError as error:
            logging.error("FAExport: %s: %s", path, error)
            outcomes.append((str(path), error))
        except Exception as error:
            logging.exception("FAExport: %s: unexpected error", path)
            outcomes.append((str(path), error))
    return outcomes


def libraryExportOptions(volumeNodes: list, options: FAExportOptions) -> "ExportOptions":
    """FAExportLib's options for the nodes: one node's quantity is the given one, else its own (VoxelValueQuantity),
    else FA (several nodes each have their own: several_maps.mapQuantity); the patient and study of their
    subject-hierarchy study (unless told not to join it); the source series read from the database.
    """
    from FAExportLib import ExportOptions

    quantity = options.quantity
    if len(volumeNodes) == 1 and quantity is None and options.quantityCode is None:
        quantity = scene.quantityOf(volumeNodes[0]) or "FA"
    studyVolume = several_maps.studyVolume(volumeNodes) if options.joinSubjectHierarchyStudy else volumeNodes[0]
    metadata = scene.exportMetadata(studyVolume, options.metadata, options.joinSubjectHierarchyStudy)
    if options.laterality is not None:
        metadata = replace(metadata, laterality=options.laterality)
    return ExportOptions(
        mode=options.mode,
        scale=options.scale,
        quantity=quantity,
        quantity_code=options.quantityCode,
        unit=options.unit,
        method=options.methodCode,
        metadata=metadata,
        source=scene.sourceSeries(options.sourceVolumeNode, options.sourceSeriesInstanceUID),
        replace_nonfinite=options.replaceNonFinite,
        plain_integers=options.plainIntegers,
        allow_coarse_scale=options.allowCoarseScale,
        profile=options.profile,
        resample_to_source=options.resampleToSource,
    )


def logResult(result: FAExportResult) -> None:
    """What was written (and sent) at INFO, what to check at WARNING, a failed send at ERROR: Slicer's log keeps it."""
    logging.info("FAExport: %s", result.summary())
    for warning in result.warnings:
        logging.warning("FAExport: %s", warning)
    if result.sent is not None and not result.sent.complete:
        for line in result.sent.messages(consoleLabel):
            logging.error("FAExport: %s", line)
    if result.sendError is not None:
        logging.error("FAExport: sending failed: %s; the exported series are kept", result.sendError.render(consoleLabel))
