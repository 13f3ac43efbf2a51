"""Slicer's DICOM database and the DICOM module's browser after an export: CTK's insert() alone fills no browser column
and signals nothing, so the logic updates the displayed fields and the open browser itself (and logs no error when there
is no browser, as in batch mode); "Show in DICOM browser" selects the new series.

The database is the CTK-modelled stand-in of slicer_standins.py; the browser is a stand-in of the table manager.
"""

import logging
import types

from slicer_harness.conftest import load_map

import pydicom

# --- after insert(): displayed fields, databaseChanged, the browser's tables


def test_ctk_insert_alone_leaves_the_browser_columns_empty_and_signals_nothing(tmp_path):
    """The stand-in's fidelity: what CTK's insert() does not do is what the logic must do itself."""
    from slicer_standins import ctkDICOMDatabase

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
    assert database.seriesUIDs() == {"1.2.3.4"}
    assert database.displayedSeries() == {} and database.databaseChangedCount == 0
    database.insert(str(path))  # already present: skipped
    assert len(database.filesForSeries("1.2.3.4")) == 1
    database.updateDisplayedFields()
    assert database.displayedSeries()["1.2.3.4"]["PatientsName"] == "Doe^Jane" and database.databaseChangedCount == 1
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
    updates = []
    tableManager = types.SimpleNamespace(updateTableViews=lambda: updates.append(True))
    browser = types.SimpleNamespace(dicomBrowser=types.SimpleNamespace(dicomTableManager=lambda: tableManager))
    slicer.modules.DICOMInstance = types.SimpleNamespace(browserWidget=browser)
    try:
        panel.ui.exportButton.click()
    finally:
        del slicer.modules.DICOMInstance
    assert updates == [True]
    assert len(slicer.dicomDatabase.displayedSeries()) == 2


# --- Show in DICOM browser


def test_show_in_dicom_browser_selects_the_new_series(slicer, panel, tmp_path, monkeypatch):
    import types

    load_map(slicer, tmp_path, "axial")
    assert not panel.ui.showInBrowserButton.enabled
    for index in range(panel.ui.exportModeComboBox.count):
        if panel.ui.exportModeComboBox.itemText(index).startswith("MR images + Parametric Map"):
            panel.ui.exportModeComboBox.currentIndex = index
    panel.ui.exportButton.click()
    selections, selected = {}, []

    def table(name):
        return types.SimpleNamespace(setCurrentSelection=lambda uids: selections.__setitem__(name, list(uids)))

    tables = types.SimpleNamespace(patientsTable=lambda: table("patients"), studiesTable=lambda: table("studies"), seriesTable=lambda: table("series"), updateTableViews=lambda: None)

    def selectModule(name):  # what opening the DICOM module makes: its instance with a browser
        selected.append(name)
        slicer.modules.DICOMInstance = types.SimpleNamespace(browserWidget=types.SimpleNamespace(dicomBrowser=types.SimpleNamespace(dicomTableManager=lambda: tables)))

    monkeypatch.setattr(slicer.util, "selectModule", selectModule)
    try:
        panel.ui.showInBrowserButton.click()
    finally:
        vars(slicer.modules).pop("DICOMInstance", None)
    database = slicer.dicomDatabase
    (studyUID,) = {database.studyForSeries(uid) for uid in database.seriesUIDs()}
    assert selected == ["DICOM"]
    assert selections["patients"] == [database.patientForStudy(studyUID)]
    assert selections["studies"] == [studyUID]
    assert sorted(selections["series"]) == sorted(database.seriesUIDs()) and len(selections["series"]) == 2
