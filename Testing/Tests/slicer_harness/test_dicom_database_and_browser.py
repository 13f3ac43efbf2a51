"""Slicer's DICOM database and the DICOM module's browser after an export: CTK's insert() alone fills no browser column
and signals nothing, so the logic updates the displayed fields and the open browser itself (and logs no error when there
is no browser, as in batch mode); "Show in DICOM browser" selects the new series.

On a fresh Slicer profile the database does not exist yet: the first export creates it where Slicer would. Rows
deleted through another connection (the browser's) do not make a re-export invisible.

The database is CTK's own ctkDICOMDatabase (Testing/Harness/ctk_dicom_core.py; one object per connection), read
through the browser's own table queries (dicom_database_views.py); the browser widget is the stand-in of
Testing/Harness/slicer_app/dicom_browser.py (classic tables or the visual browser).
"""

import logging
import os

from slicer_harness.conftest import choose, load_map

import pydicom
import pytest
import slicer_app.dicom_browser
from ctk_dicom_core import ctkDICOMDatabase, ctkDICOMIndexer, loaded_qt_core_libraries
from dicom_database_views import count_signal, displayed_series, open_database_in, series_uids, wait_for

# --- CTK's own database: what insert() does and does not do (each a behaviour the logic depends on)


def write_instance(path, sopUID: str = "1.2.3.4.5", **values) -> str:
    """A small MR instance of patient Doe^Jane (P1), study 1.2.3, series 1.2.3.4; ``values`` change or (None) drop attributes."""
    dataset = pydicom.Dataset()
    attributes = {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.4", "PatientName": "Doe^Jane", "PatientID": "P1", "StudyInstanceUID": "1.2.3", "SeriesInstanceUID": "1.2.3.4", "Modality": "MR"}
    for keyword, value in (attributes | values | {"SOPInstanceUID": sopUID}).items():
        if value is not None:
            setattr(dataset, keyword, value)
    dataset.file_meta = pydicom.dataset.FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPInstanceUID = sopUID
    dataset.save_as(path, enforce_file_format=True)
    return str(path)


def test_ctk_insert_alone_fills_no_browser_column_and_signals_nothing_until_updateDisplayedFields(tmp_path):
    """insert() emits nothing for an on-disk database (CTK signals only an in-memory one); updateDisplayedFields()
    fills the browser's columns, then emits displayedFieldsUpdated and databaseChanged. (No events are processed
    here: the file watcher's databaseChanged, see the indexer's test, cannot interfere.)
    """
    database = open_database_in(tmp_path / "db")
    signalled, updated = count_signal(database), count_signal(database, "displayedFieldsUpdated()")
    database.insert(write_instance(tmp_path / "one.dcm"))
    assert series_uids(database) == {"1.2.3.4"}
    (fields,) = displayed_series(database).values()  # listed (the rows are joined) but with empty displayed columns
    assert (fields["PatientsName"], fields["NumberOfSeries"], fields["Count"]) == (None, None, None)
    assert signalled == [] and updated == []
    database.updateDisplayedFields()
    (fields,) = displayed_series(database).values()
    assert (fields["PatientsName"], fields["NumberOfStudies"], fields["NumberOfSeries"], fields["Count"]) == ("Doe, Jane", 1, 1, 1)
    assert signalled == [()] and updated == [()]


def test_ctk_replaces_a_stored_copy_when_the_same_instance_is_inserted_again(tmp_path):
    database = open_database_in(tmp_path / "db")
    database.insert(write_instance(tmp_path / "one.dcm", SeriesDescription="first"))
    (stored,) = database.filesForSeries("1.2.3.4")
    database.insert(write_instance(tmp_path / "one.dcm", SeriesDescription="changed"))  # a stored (relative) file is never "up to date"
    assert database.filesForSeries("1.2.3.4") == (stored,) and database.imagesCount() == 1
    assert pydicom.dcmread(stored).SeriesDescription == "changed"
    assert stored.startswith(str(tmp_path / "db" / "dicom")) and stored.endswith(".dcm")


def test_ctk_names_patients_by_its_own_key_not_the_dicom_patient_id(tmp_path):
    database = open_database_in(tmp_path / "db")
    database.insert(write_instance(tmp_path / "one.dcm"))
    (patientKey,) = database.patients()
    assert patientKey == "1" and database.patientForStudy("1.2.3") == patientKey
    assert database.fieldForPatient("PatientID", patientKey) == "P1"
    assert database.studiesForPatient(patientKey) == ("1.2.3",) and database.seriesForStudy("1.2.3") == ("1.2.3.4",)


def test_ctk_refuses_an_instance_without_a_study_uid_and_reads_tags_with_dcmtk(tmp_path, capfd):
    database = open_database_in(tmp_path / "db")
    database.insert(write_instance(tmp_path / "one.dcm", ImageType=["ORIGINAL", "PRIMARY"]))
    database.insert(write_instance(tmp_path / "two.dcm", sopUID="1.2.3.4.6", StudyInstanceUID=None))  # uidsForDataSet: required
    assert database.instancesForSeries("1.2.3.4") == ("1.2.3.4.5",)
    assert "Required information (patient name, patient ID, study instance UID) is missing from dataset" in capfd.readouterr().err
    (stored,) = database.filesForSeries("1.2.3.4")
    assert database.fileValue(stored, "0010,0010") == "Doe^Jane"
    assert database.fileValue(stored, "0008,0008") == "ORIGINAL\\PRIMARY"  # DCMTK's string of a multi-valued element
    assert database.fileValue(stored, "0008,103E") == ""  # absent: an empty string (PythonQt's null QString)


def test_ctk_insert_caches_outlive_rows_deleted_through_another_connection_until_prepareInsert(tmp_path):
    """The export's connection remembers the patient, study and series it inserted; the browser's connection deletes them.
    Without prepareInsert() the next insert writes the image row alone: no table of the browser reaches it.
    """
    database = open_database_in(tmp_path / "db")
    database.insert(write_instance(tmp_path / "one.dcm"))
    browser = open_database_in(tmp_path / "db")  # a second connection on the same file
    browser.removePatient(browser.patients()[0])
    assert series_uids(database) == set() and database.patients() == ()
    database.insert(write_instance(tmp_path / "two.dcm", sopUID="1.2.3.4.6"))
    assert series_uids(database) == {"1.2.3.4"} and database.studyForSeries("1.2.3.4") == "" and database.patients() == ()
    database.updateDisplayedFields()
    assert displayed_series(database) == {}
    database.removeSeries("1.2.3.4")
    database.prepareInsert()
    database.insert(write_instance(tmp_path / "two.dcm", sopUID="1.2.3.4.6"))
    assert database.studyForSeries("1.2.3.4") == "1.2.3" and len(database.patients()) == 1
    database.updateDisplayedFields()
    assert set(displayed_series(database)) == {"1.2.3.4"}


def test_ctk_indexer_inserts_through_a_fresh_connection_and_fills_the_displayed_fields_there(slicer, tmp_path):
    """ctkDICOMIndexer::addDirectory, as Slicer's export dialog calls it: its worker opens its own connection on the
    database file, so the application's connection's insert caches are bypassed and the displayed fields are filled
    there; the application's database hears of it only through the watcher on its file (databaseChanged, once the
    event loop runs).
    """
    database = open_database_in(tmp_path / "db")
    database.insert(write_instance(tmp_path / "one.dcm"))
    open_database_in(tmp_path / "db").removePatient("1")  # the browser deletes the patient
    signalled, updated = count_signal(database), count_signal(database, "displayedFieldsUpdated()")
    (tmp_path / "export").mkdir()
    write_instance(tmp_path / "export" / "two.dcm", sopUID="1.2.3.4.6")
    write_instance(tmp_path / "export" / ".hidden.dcm", sopUID="1.2.3.4.7")  # includeHidden defaults to true
    (tmp_path / "export" / "notes.txt").write_text("not DICOM")  # skipped with a warning
    indexer = ctkDICOMIndexer()
    indexer.setDatabase(database)
    indexer.addDirectory(str(tmp_path / "export"), True)
    assert not indexer.importing
    assert updated == []
    (fields,) = displayed_series(database).values()
    assert (fields["PatientsName"], fields["Count"]) == ("Doe, Jane", 2)
    assert all(path.startswith(str(tmp_path / "db" / "dicom")) for path in database.filesForSeries("1.2.3.4"))
    assert wait_for(signalled)


def test_the_binding_converts_as_pythonqt_does(tmp_path):
    """What Slicer's Python sees of the database (PythonQtConv.cpp): Q_PROPERTYs are attributes, a QStringList is a
    tuple, a null QString is "" and None passes one, a signal is connected by its signature and emitted by a call.
    """
    database = ctkDICOMDatabase()
    assert database.isOpen is False and database.lastError == "" and database.databaseDirectory == ""
    assert database.patients() == ()  # a closed database: CTK logs the failed query, returns an empty list
    database = open_database_in(tmp_path / "db")
    assert database.databaseFilename == str(tmp_path / "db" / "ctkDICOM.sql") and database.databaseDirectory == str(tmp_path / "db")
    database.insert(write_instance(tmp_path / "one.dcm"))  # insert(path) with CTK's defaults: stored, indexed
    assert database.studyForSeries("no such series") == "" and database.studyForSeries(None) == ""
    assert isinstance(database.filesForSeries("1.2.3.4"), tuple) and database.tagsToPrecache[0] == "0008,0018"  # CTK's defaults
    emitted = []
    assert database.connect("databaseChanged()", lambda: emitted.append("slot"))
    database.databaseChanged()
    assert emitted == ["slot"]
    with pytest.raises(ValueError, match=r"the binding connects no signal patientAdded\(\) of ctkDICOMDatabase"):
        database.connect("patientAdded()", print)


def test_the_build_names_the_missing_ctk_tarball(tmp_path, monkeypatch):
    """A clone without ../shared/vendor cannot build the real database: the build says which file is missing."""
    import ctk_dicom_build

    monkeypatch.setattr(ctk_dicom_build, "CTK_TARBALL", tmp_path / "vendor" / "CTK-5056664a.tar.gz")
    monkeypatch.setattr(ctk_dicom_build, "BUILD_ROOT", tmp_path / "build")
    with pytest.raises(ctk_dicom_build.BuildError) as raised:
        ctk_dicom_build.ensure_built()
    assert str(raised.value) == f"CTK's source is missing: {tmp_path / 'vendor' / 'CTK-5056664a.tar.gz'} (the shared vendor folder next to the repository); the real DICOM database cannot be built without it"


def test_one_qt_in_the_process_pyqt5_widgets_and_ctk_database_share_it(slicer, tmp_path):
    """As in Slicer, where the database and the panel share the application's Qt: libQt5Core is mapped once, from
    PyQt5's wheel, and a connection CTK opened is one QtSql (PyQt5's) sees by its name.
    """
    from PyQt5 import QtSql, QtWidgets

    database = open_database_in(tmp_path / "db")
    database.insert(write_instance(tmp_path / "one.dcm"))
    label = QtWidgets.QLabel(database.fieldForSeries("Modality", "1.2.3.4"))
    assert QtWidgets.QLabel.text(label) == "MR"
    (library,) = loaded_qt_core_libraries()
    assert "/PyQt5/Qt5/lib/" in library
    assert QtSql.QSqlDatabase.connectionNames().count(database.connectionName()) == 1
    assert "QSQLITE" in QtSql.QSqlDatabase.drivers()


def test_export_refreshes_an_open_dicom_browser_and_logs_no_error_without_one(slicer, panel, tmp_path, caplog):
    load_map(slicer, tmp_path, "axial")
    updated = count_signal(slicer.dicomDatabase, "displayedFieldsUpdated()")
    with caplog.at_level(logging.ERROR):
        panel.ui.exportButton.click()  # the DICOM module's browser does not exist (as in every batch run)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert updated == [()]  # the logic's updateDisplayedFields(), which also emits databaseChanged
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
    assert reopened.openDatabase(str(folder / "ctkDICOM.sql")) and reopened.seriesForStudy(reopened.studyForSeries(seriesUID)) == (seriesUID,)
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
    assert series_uids(browser) == set() and database.patients() == ()


def browser_columns(fields: dict) -> tuple:
    """The columns of one listed series that say the browser shows it in full: patient, counts, series."""
    return (fields["PatientsName"], fields["PatientID"], fields["NumberOfStudies"], fields["NumberOfSeries"], fields["Count"], fields["Modality"], fields["SeriesDescription"])


def test_a_re_export_into_a_study_deleted_in_the_browser_is_shown_by_the_browser(slicer, tmp_path):
    """After each export the browser's tables list the series in full: the first export; then, after the browser
    deleted the patient through its own connection, a re-export into the same study; then another one beside it.
    """
    node, _, _ = load_map(slicer, tmp_path, "axial")
    first = export_into_study(node, None)
    slices = len(first.files)
    assert {uid: browser_columns(fields) for uid, fields in displayed_series(slicer.dicomDatabase).items()} == {first.series_instance_uid: ("Doe, Jane", "P1", 1, 1, slices, "MR", "FA map")}
    delete_patient_in_the_browser(slicer.dicomDatabase)
    second = export_into_study(node, first.study_instance_uid)
    shown = displayed_series(slicer.dicomDatabase)
    assert {uid: browser_columns(fields) for uid, fields in shown.items()} == {second.series_instance_uid: ("Doe, Jane", "P1", 1, 1, slices, "MR", "FA map")}
    assert slicer.dicomDatabase.seriesForStudy(first.study_instance_uid) == (second.series_instance_uid,)
    third = export_into_study(node, first.study_instance_uid)
    shown = displayed_series(slicer.dicomDatabase)
    assert set(shown) == {second.series_instance_uid, third.series_instance_uid}
    assert {browser_columns(fields) for fields in shown.values()} == {("Doe, Jane", "P1", 1, 2, slices, "MR", "FA map")}


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
