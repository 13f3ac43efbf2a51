"""Slicer's DICOM database and the DICOM module's browser after an export: CTK's insert() alone fills no browser column
and signals nothing, so the logic updates the displayed fields and the open browser itself (and logs no error when there
is no browser, as in batch mode); "Show in DICOM browser" selects the new series.

On a fresh Slicer profile the database does not exist yet: the first export creates it where Slicer would. Rows
deleted through another connection (the browser's) do not make a re-export invisible.

The database is the CTK-modelled stand-in of slicer_standins.py (SQLite, one instance per connection); the browser is
the stand-in of Testing/Harness/slicer_app/dicom_browser.py (classic tables or the visual browser).
"""

import logging
import os

from slicer_harness.conftest import choose, load_map

import pydicom
import pytest
import slicer_app.dicom_browser
from dicom_database_views import displayed_series, series_uids
from slicer_standins import ctkDICOMDatabase

# --- after insert(): displayed fields, databaseChanged, the browser's tables


def test_ctk_insert_alone_leaves_the_browser_columns_empty_and_signals_nothing(tmp_path):
    """The stand-in's fidelity: what CTK's insert() does not do is what the logic must do itself."""
    dataset = pydicom.Dataset()
    for keyword, value in {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.4", "PatientName": "Doe^Jane", "PatientID": "P1", "StudyInstanceUID": "1.2.3", "SeriesInstanceUID": "1.2.3.4", "SOPInstanceUID": "1.2.3.4.5", "Modality": "MR"}.items():
        setattr(dataset, keyword, value)
    dataset.file_meta = pydicom.dataset.FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    path = tmp_path / "one.dcm"
    dataset.save_as(path, enforce_file_format=True)
    database = ctkDICOMDatabase(tmp_path / "db")
    database.insert(str(path))
    assert series_uids(database) == {"1.2.3.4"}
    assert displayed_series(database) == {} and database.databaseChangedCount == 0
    database.updateDisplayedFields()
    dataset.SeriesDescription = "changed"
    dataset.save_as(path, enforce_file_format=True)
    database.insert(str(path))  # the same SOP instance again: CTK replaces the stored copy (a stored file is never "up to date")
    (stored,) = database.filesForSeries("1.2.3.4")
    assert pydicom.dcmread(stored).SeriesDescription == "changed"
    assert database.patientForStudy("1.2.3") == database.patients()[0] != "P1"  # the database's own patient key
    database.updateDisplayedFields()
    assert displayed_series(database)["1.2.3.4"]["PatientsName"] == "Doe^Jane" and database.databaseChangedCount == 2
    del dataset.StudyInstanceUID  # uidsForDataSet: patient name, patient ID and study UID are required
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.6"
    dataset.save_as(tmp_path / "two.dcm", enforce_file_format=True)
    database.insert(str(tmp_path / "two.dcm"))
    assert database.instancesForSeries("1.2.3.4") == ["1.2.3.4.5"]


def test_export_refreshes_an_open_dicom_browser_and_logs_no_error_without_one(slicer, panel, tmp_path, caplog):
    load_map(slicer, tmp_path, "axial")
    with caplog.at_level(logging.ERROR):
        panel.ui.exportButton.click()  # the DICOM module's browser does not exist (as in every batch run)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert slicer.dicomDatabase.databaseChangedCount == 1
    slicer_app.dicom_browser.selectModule("DICOM")
    try:
        panel.ui.exportButton.click()
        tables = slicer.modules.DICOMInstance.browserWidget.dicomBrowser.dicomTableManager()
        assert tables.updates == 1
    finally:
        del slicer.modules.DICOMInstance
    assert len(displayed_series(slicer.dicomDatabase)) == 2


# --- Show in DICOM browser, in whichever browser the DICOM module shows


@pytest.mark.parametrize("visual", [False, True], ids=["classic browser", "visual browser"])
def test_show_in_dicom_browser_selects_the_new_series_in_the_browser_shown(slicer, panel, tmp_path, monkeypatch, visual):
    import qt

    qt.QSettings().setValue("DICOM/UseVisualDICOMBrowser", visual)  # the DICOM module's "Use visual DICOM browser"
    load_map(slicer, tmp_path, "axial")
    assert not panel.ui.showInBrowserButton.enabled
    choose(panel.ui.exportModeComboBox, "MR images + Parametric Map")
    panel.ui.exportButton.click()
    opened = []
    monkeypatch.setattr(slicer.util, "selectModule", lambda name: (opened.append(name), slicer_app.dicom_browser.selectModule(name)))
    try:
        panel.ui.showInBrowserButton.click()
        browser = slicer.modules.DICOMInstance.browserWidget
    finally:
        vars(slicer.modules).pop("DICOMInstance", None)
    database = slicer.dicomDatabase
    (studyUID,) = {database.studyForSeries(uid) for uid in series_uids(database)}
    assert opened == ["DICOM"]
    shown = browser.dicomVisualBrowser if visual else browser.dicomBrowser
    assert shown.visible
    if visual:
        assert browser.dicomVisualBrowser.refreshes == 1
        assert browser.dicomVisualBrowser.patientView().currentPatientUID() == database.patientForStudy(studyUID)
        assert sorted(browser.dicomVisualBrowser.patientView().selectedSeriesInstanceUIDs()) == sorted(series_uids(database))
    else:
        tables = browser.dicomBrowser.dicomTableManager()
        assert tables.patientsTable().currentSelection() == (database.patientForStudy(studyUID),)
        assert tables.studiesTable().currentSelection() == (studyUID,)
        assert sorted(tables.seriesTable().currentSelection()) == sorted(series_uids(database))
    assert len(series_uids(database)) == 2


# --- first use: a fresh Slicer profile has no database yet


def test_first_export_on_a_fresh_profile_creates_slicers_default_database(slicer, panel, tmp_path):
    folder = tmp_path / "Documents" / "SlicerDICOMDatabase"  # what DICOM.py put in the settings at start-up
    assert not slicer.dicomDatabase.isOpen and not folder.exists()
    load_map(slicer, tmp_path, "axial")
    assert panel.ui.exportButton.enabled
    panel.ui.exportButton.click()
    assert slicer.dicomDatabase.isOpen and slicer.dicomDatabase.databaseDirectory == str(folder)
    assert (folder / "ctkDICOM.sql").is_file()
    (seriesUID,) = series_uids(slicer.dicomDatabase)
    assert all(path.startswith(str(folder / "dicom")) for path in slicer.dicomDatabase.filesForSeries(seriesUID))
    # The DICOM module, opened later, finds the same database (another connection on the same file).
    reopened = ctkDICOMDatabase()
    assert reopened.openDatabase(str(folder / "ctkDICOM.sql")) and series_uids(reopened) == {seriesUID}
    assert "in Slicer's DICOM database" in panel.ui.resultLabel.text


def test_first_console_export_with_an_open_browser_creates_the_database_and_tells_the_browser(slicer, tmp_path):
    from FAExport import FAExportLogic

    node, _, _ = load_map(slicer, tmp_path, "axial")
    slicer_app.dicom_browser.selectModule("DICOM")  # the user opened the DICOM module: "No valid DICOM database found"
    try:
        (series,) = FAExportLogic().exportVolume(node).series
        browser = slicer.modules.DICOMInstance.browserWidget
    finally:
        del slicer.modules.DICOMInstance
    folder = str(tmp_path / "Documents" / "SlicerDICOMDatabase")
    assert browser.databaseDirectories == [folder] and browser.dicomBrowser.databaseDirectory == folder
    assert set(series_uids(slicer.dicomDatabase)) == {series.series_instance_uid}


@pytest.mark.parametrize(
    ("occupant", "expected"),
    [
        ("notes.txt", 'the DICOM database folder {folder} holds other files and no DICOM database; open the DICOM module and click "Create new database" or "Select database folder", or export to a folder only'),
        ("ctkDICOM.sql", "Slicer's DICOM database in {folder} was made by another Slicer version or cannot be read; open the DICOM module and click \"Update database\" or \"Create new database\", or export to a folder only"),
    ],
    ids=["folder of other files", "database of another schema"],
)
def test_a_default_database_folder_slicer_would_not_use_is_refused_and_left_alone(slicer, panel, tmp_path, occupant, expected):
    import qt

    folder = tmp_path / "Documents" / "SlicerDICOMDatabase"
    folder.mkdir(parents=True)
    (folder / occupant).write_bytes(b"someone else's")
    before = sorted(os.listdir(folder))
    load_map(slicer, tmp_path, "axial")
    shown = []
    original = slicer.util.errorDisplay
    slicer.util.errorDisplay = lambda text, *args, **kwargs: shown.append(text)
    try:
        panel.ui.exportButton.click()
    finally:
        slicer.util.errorDisplay = original
    # tryWithErrorDisplay shows the error, then re-raises it out of the slot (PythonQt prints it to the log).
    assert "FAExportLib.errors.OutputError" in qt.SLOT_EXCEPTIONS.pop()
    assert not slicer.dicomDatabase.isOpen
    assert sorted(os.listdir(folder)) == before and (folder / occupant).read_bytes() == b"someone else's"
    assert shown and shown[0].startswith("Export failed.") and expected.format(folder=folder) in shown[0].replace("\n", " ")
    assert qt.QSettings().value(slicer.dicomDatabaseDirectorySettingsKey) == str(folder)


# --- rows deleted through another connection (the browser's)


def export_into_study(node, studyUID: str | None):
    from FAExport import FAExportLogic

    metadata = {"patient_name": "Doe^Jane", "patient_id": "P1"} | ({"study_instance_uid": studyUID} if studyUID else {})
    (series,) = FAExportLogic().exportVolume(node, mode="mr", metadata=metadata).series
    return series


def delete_patient_in_the_browser(database) -> None:
    """The browser's delete, through its own connection: the export's connection keeps its insert caches."""
    browser = ctkDICOMDatabase()
    assert browser.openDatabase(os.path.join(database.databaseDirectory, "ctkDICOM.sql"))
    (patientUID,) = browser.patients()
    browser.removePatient(patientUID)
    assert series_uids(browser) == set() and database.patients() == []


def test_a_re_export_into_a_study_deleted_in_the_browser_is_shown_by_the_browser(slicer, tmp_path):
    node, _, _ = load_map(slicer, tmp_path, "axial")
    first = export_into_study(node, None)
    delete_patient_in_the_browser(slicer.dicomDatabase)
    second = export_into_study(node, first.study_instance_uid)
    shown = displayed_series(slicer.dicomDatabase)
    assert set(shown) == {second.series_instance_uid}
    assert shown[second.series_instance_uid]["PatientID"] == "P1"
    assert slicer.dicomDatabase.seriesForStudy(first.study_instance_uid) == [second.series_instance_uid]


def test_a_series_stored_without_its_study_row_is_removed_and_reported(slicer, tmp_path, monkeypatch):
    """If the database still stored a series the browser cannot reach (here: insert caches kept), nothing is reported as added."""
    from FAExportLib import OutputError

    node, _, _ = load_map(slicer, tmp_path, "axial")
    first = export_into_study(node, None)
    delete_patient_in_the_browser(slicer.dicomDatabase)
    monkeypatch.setattr(slicer.dicomDatabase, "prepareInsert", lambda: None)
    with pytest.raises(OutputError) as raised:
        export_into_study(node, first.study_instance_uid)
    assert str(raised.value) == (
        "Slicer's DICOM database stored series 'FA map' without its study row, so the DICOM browser would not show it; nothing was added; "
        "restart Slicer and export again, or export to a folder and import it in the DICOM module"
    )
    assert series_uids(slicer.dicomDatabase) == set()
