"""The panel's patient, study and series fields: the study an export joins (shown read-only) or the new one it creates,
and the metadata and laterality the logic gets from them.
"""

from FAExportSlicerLib.i18n import _
from FAExportSlicerLib.scene import subjectHierarchyMetadata


class StudySection:
    """The patient, study and series widgets."""

    def __init__(self, ui) -> None:
        self.ui = ui

    def joinedStudy(self, parameters) -> dict:
        """Patient and study the export joins: those of the source series, else of the maps' DICOM study (the first
        map's that sits under one, as the logic joins it).
        """
        for volumeNode in (parameters.sourceVolume, parameters.inputVolume, *parameters.alsoExportVolumes):
            if volumeNode is not None:
                values = subjectHierarchyMetadata(volumeNode)
                if values:
                    return values
        return {}

    def update(self, parameters) -> None:
        """A joined study's patient and study, read-only; else editable fields for a new study."""
        joined = self.joinedStudy(parameters)
        for lineEdit, key in (
            (self.ui.patientNameLineEdit, "patient_name"),
            (self.ui.patientIDLineEdit, "patient_id"),
            (self.ui.studyDescriptionLineEdit, "study_description"),
        ):
            lineEdit.readOnly = bool(joined)
            if joined:
                lineEdit.text = joined.get(key, "")
        if joined:
            self.ui.studyLabel.text = _("Joins the existing study {study} (patient and study come from it).").format(study=joined.get("study_description") or joined["study_instance_uid"])
        else:
            self.ui.studyLabel.text = _("A new study is created with these fields.")

    def options(self, parameters) -> dict:
        """The logic's laterality and metadata arguments: the series fields, and patient and study for a new study."""
        metadata = {}
        if parameters.seriesDescription:
            metadata["series_description"] = parameters.seriesDescription
        if parameters.seriesNumber:
            metadata["series_number"] = parameters.seriesNumber
        if not self.joinedStudy(parameters):
            for key, value in (("patient_name", parameters.patientName), ("patient_id", parameters.patientID), ("study_description", parameters.studyDescription)):
                if value.strip():
                    metadata[key] = value.strip()
        return {"laterality": parameters.laterality.value or None, "metadata": metadata or None}
