// A Python binding of CTK's ctkDICOMDatabase and ctkDICOMIndexer for FAExport's tests (pybind11).
//
// It exposes the calls FAExport and Slicer's own export path make on slicer.dicomDatabase (grep FAExport/ and
// Slicer v5.12.3 Modules/Scripted/DICOM*, Modules/Scripted/DICOMLib/Widgets/qSlicerDICOMExportDialog.cxx), and
// what the tests read to see the browser's view, with the conversions PythonQt makes in Slicer
// (PythonQtConv.cpp): QString <-> str (a null QString reaches Python as "", None passes a null QString),
// QStringList -> tuple of str, Q_PROPERTYs as attributes, Q_INVOKABLE methods with their C++ defaults, and a
// signal emitted by calling it (database.databaseChanged()) and connected by its signature
// (database.connect("databaseChanged()", slot)).

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>

#include <QCoreApplication>
#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <functional>
#include <map>
#include <stdexcept>

#include "ctkDICOMDatabase.h"
#include "ctkDICOMIndexer.h"

namespace py = pybind11;

namespace pybind11
{
namespace detail
{
template <> struct type_caster<QString>
{
  PYBIND11_TYPE_CASTER(QString, const_name("str"));

  bool load(handle source, bool)
  {
    if (source.is_none())
    {
      value = QString();
      return true;
    }
    if (!PyUnicode_Check(source.ptr()))
    {
      return false;
    }
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(source.ptr(), &size);
    if (data == nullptr)
    {
      PyErr_Clear();
      return false;
    }
    value = QString::fromUtf8(data, static_cast<int>(size));
    return true;
  }

  static handle cast(const QString& text, return_value_policy, handle)
  {
    const QByteArray bytes = text.toUtf8();
    return PyUnicode_DecodeUTF8(bytes.constData(), bytes.size(), "replace");
  }
};

template <> struct type_caster<QStringList>
{
  PYBIND11_TYPE_CASTER(QStringList, const_name("tuple[str, ...]"));

  bool load(handle source, bool convert)
  {
    if (!isinstance<sequence>(source) || isinstance<str>(source))
    {
      return false;
    }
    QStringList items;
    for (handle item : reinterpret_borrow<sequence>(source))
    {
      make_caster<QString> caster;
      if (!caster.load(item, convert))
      {
        return false;
      }
      items << cast_op<QString>(caster);
    }
    value = items;
    return true;
  }

  static handle cast(const QStringList& items, return_value_policy policy, handle parent)
  {
    tuple result(items.size());
    for (int index = 0; index < items.size(); ++index)
    {
      result[index] = reinterpret_steal<object>(make_caster<QString>::cast(items[index], policy, parent));
    }
    return result.release();
  }
};
} // namespace detail
} // namespace pybind11

namespace
{

// A slot that calls a Python callable; PythonQt passes a signal's arguments to a slot that takes them, here the
// signals connected take none or one QString.
template <typename... Arguments> std::function<void(Arguments...)> pythonSlot(py::function slot)
{
  auto held = std::make_shared<py::function>(std::move(slot));
  return [held](Arguments... arguments) {
    py::gil_scoped_acquire gil;
    try
    {
      (*held)(arguments...);
    }
    catch (py::error_already_set& error)
    {
      // PythonQt prints an exception raised in a slot and goes on; so does this.
      error.restore();
      PyErr_Print();
    }
  };
}

bool connectDatabaseSignal(ctkDICOMDatabase& database, const std::string& signature, py::function slot)
{
  using NoArgument = void (ctkDICOMDatabase::*)();
  using OneString = void (ctkDICOMDatabase::*)(QString);
  static const std::map<std::string, NoArgument> noArgument = {
    {"databaseChanged()", &ctkDICOMDatabase::databaseChanged},
    {"opened()", &ctkDICOMDatabase::opened},
    {"closed()", &ctkDICOMDatabase::closed},
    {"displayedFieldsUpdated()", &ctkDICOMDatabase::displayedFieldsUpdated},
  };
  static const std::map<std::string, OneString> oneString = {
    {"instanceAdded(QString)", &ctkDICOMDatabase::instanceAdded},
    {"seriesAdded(QString)", &ctkDICOMDatabase::seriesAdded},
    {"studyAdded(QString)", &ctkDICOMDatabase::studyAdded},
    {"seriesRemoved(QString)", &ctkDICOMDatabase::seriesRemoved},
    {"studyRemoved(QString)", &ctkDICOMDatabase::studyRemoved},
  };
  if (auto found = noArgument.find(signature); found != noArgument.end())
  {
    return static_cast<bool>(QObject::connect(&database, found->second, &database, pythonSlot<>(std::move(slot))));
  }
  if (auto found = oneString.find(signature); found != oneString.end())
  {
    return static_cast<bool>(QObject::connect(&database, found->second, &database, pythonSlot<QString>(std::move(slot))));
  }
  throw py::value_error("the binding connects no signal " + signature + " of ctkDICOMDatabase");
}

// ctkDICOMIndexer waits for its worker thread in a QEventLoop (waitForImportFinished), which needs the application
// Slicer always has; without one the wait would return at once, before anything was indexed.
void requireApplication()
{
  if (QCoreApplication::instance() == nullptr)
  {
    throw std::runtime_error("ctkDICOMIndexer needs a Qt application (Slicer's): create the QApplication first (slicer_app.install())");
  }
}

} // namespace

PYBIND11_MODULE(_ctkDICOMCore, module)
{
  module.doc() = "CTK's ctkDICOMDatabase and ctkDICOMIndexer (CTK 5056664a, as Slicer 5.12.3 pins it), for FAExport's tests";

  py::class_<ctkDICOMDatabase> database(module, "ctkDICOMDatabase", py::dynamic_attr());
  database.def(py::init<>())
    .def(py::init<QString>(), py::arg("databaseFile"))
    // Q_PROPERTYs
    .def_property_readonly("isOpen", &ctkDICOMDatabase::isOpen)
    .def_property_readonly("isInMemory", &ctkDICOMDatabase::isInMemory)
    .def_property_readonly("lastError", &ctkDICOMDatabase::lastError)
    .def_property_readonly("databaseFilename", &ctkDICOMDatabase::databaseFilename)
    .def_property_readonly("databaseDirectory", &ctkDICOMDatabase::databaseDirectory)
    .def_property("tagsToPrecache", &ctkDICOMDatabase::tagsToPrecache, &ctkDICOMDatabase::setTagsToPrecache)
    .def_property("tagsToExcludeFromStorage", &ctkDICOMDatabase::tagsToExcludeFromStorage, &ctkDICOMDatabase::setTagsToExcludeFromStorage)
    .def_property_readonly("patientFieldNames", &ctkDICOMDatabase::patientFieldNames)
    .def_property_readonly("studyFieldNames", &ctkDICOMDatabase::studyFieldNames)
    .def_property_readonly("seriesFieldNames", &ctkDICOMDatabase::seriesFieldNames)
    .def_property("useShortStoragePath", &ctkDICOMDatabase::useShortStoragePath, &ctkDICOMDatabase::setUseShortStoragePath)
    // opening and closing
    .def("openDatabase", &ctkDICOMDatabase::openDatabase, py::arg("databaseFile"), py::arg("connectionName") = QString())
    .def("closeDatabase", &ctkDICOMDatabase::closeDatabase)
    .def("initializeDatabase", [](ctkDICOMDatabase& self) { return self.initializeDatabase(); })
    .def("schemaVersion", &ctkDICOMDatabase::schemaVersion)
    .def("schemaVersionLoaded", &ctkDICOMDatabase::schemaVersionLoaded)
    // Not a Q_INVOKABLE: the name of the QSqlDatabase connection, for the tests' browser views (the same Qt, so
    // PyQt5.QtSql.QSqlDatabase.database(name) is this connection, as ctkDICOMTableView's queries use it).
    .def("connectionName", [](ctkDICOMDatabase& self) { return self.database().connectionName(); })
    // queries
    .def("patients", &ctkDICOMDatabase::patients)
    .def("studiesForPatient", &ctkDICOMDatabase::studiesForPatient, py::arg("patientUID"))
    .def("seriesForStudy", &ctkDICOMDatabase::seriesForStudy, py::arg("studyUID"))
    .def("instancesForSeries", &ctkDICOMDatabase::instancesForSeries, py::arg("seriesUID"), py::arg("hits") = -1)
    .def("studyForSeries", &ctkDICOMDatabase::studyForSeries, py::arg("seriesUID"))
    .def("patientForStudy", &ctkDICOMDatabase::patientForStudy, py::arg("studyUID"))
    .def("filesForSeries", &ctkDICOMDatabase::filesForSeries, py::arg("seriesUID"), py::arg("hits") = -1)
    .def("fileForInstance", &ctkDICOMDatabase::fileForInstance, py::arg("sopInstanceUID"))
    .def("seriesForFile", &ctkDICOMDatabase::seriesForFile, py::arg("fileName"))
    .def("instanceForFile", &ctkDICOMDatabase::instanceForFile, py::arg("fileName"))
    .def("descriptionForSeries", &ctkDICOMDatabase::descriptionForSeries, py::arg("seriesUID"))
    .def("descriptionForStudy", &ctkDICOMDatabase::descriptionForStudy, py::arg("studyUID"))
    .def("nameForPatient", &ctkDICOMDatabase::nameForPatient, py::arg("patientUID"))
    .def("displayedNameForPatient", &ctkDICOMDatabase::displayedNameForPatient, py::arg("patientUID"))
    .def("fieldForPatient", &ctkDICOMDatabase::fieldForPatient, py::arg("field"), py::arg("patientUID"))
    .def("fieldForStudy", &ctkDICOMDatabase::fieldForStudy, py::arg("field"), py::arg("studyInstanceUID"))
    .def("fieldForSeries", &ctkDICOMDatabase::fieldForSeries, py::arg("field"), py::arg("seriesInstanceUID"))
    .def("patientsCount", &ctkDICOMDatabase::patientsCount)
    .def("studiesCount", &ctkDICOMDatabase::studiesCount)
    .def("seriesCount", &ctkDICOMDatabase::seriesCount)
    .def("imagesCount", &ctkDICOMDatabase::imagesCount)
    .def("allFiles", &ctkDICOMDatabase::allFiles)
    .def("fileExistsAndUpToDate", &ctkDICOMDatabase::fileExistsAndUpToDate, py::arg("filePath"))
    .def("instanceValue", py::overload_cast<const QString, const QString>(&ctkDICOMDatabase::instanceValue), py::arg("sopInstanceUID"), py::arg("tag"))
    .def("fileValue", py::overload_cast<const QString, const QString>(&ctkDICOMDatabase::fileValue), py::arg("fileName"), py::arg("tag"))
    .def("fileValue", py::overload_cast<const QString, const unsigned short, const unsigned short>(&ctkDICOMDatabase::fileValue), py::arg("fileName"), py::arg("group"), py::arg("element"))
    .def_static("compositePatientID", &ctkDICOMDatabase::compositePatientID, py::arg("patientID"), py::arg("patientsName"), py::arg("patientsBirthDate"))
    // indexing
    .def("insert", py::overload_cast<const QString&, bool, bool, bool, const QString&>(&ctkDICOMDatabase::insert), py::arg("filePath"), py::arg("storeFile") = true,
      py::arg("generateThumbnail") = true, py::arg("createHierarchy") = true, py::arg("destinationDirectoryName") = QString())
    .def("prepareInsert", &ctkDICOMDatabase::prepareInsert)
    .def("updateDisplayedFields", &ctkDICOMDatabase::updateDisplayedFields)
    .def("isDisplayedFieldsTableAvailable", &ctkDICOMDatabase::isDisplayedFieldsTableAvailable)
    // removing
    .def("removeSeries", &ctkDICOMDatabase::removeSeries, py::arg("seriesInstanceUID"), py::arg("clearCachedTags") = false, py::arg("cleanup") = true)
    .def("removeStudy", &ctkDICOMDatabase::removeStudy, py::arg("studyInstanceUID"), py::arg("cleanup") = true)
    .def("removePatient", &ctkDICOMDatabase::removePatient, py::arg("patientUID"), py::arg("cleanup") = true)
    .def("cleanup", &ctkDICOMDatabase::cleanup, py::arg("vacuum") = false)
    // signals: calling one emits it, as in PythonQt
    .def("databaseChanged", [](ctkDICOMDatabase& self) { emit self.databaseChanged(); })
    .def("connect", &connectDatabaseSignal, py::arg("signature"), py::arg("slot"));

  py::class_<ctkDICOMIndexer>(module, "ctkDICOMIndexer")
    .def(py::init<>())
    .def_property("backgroundImportEnabled", &ctkDICOMIndexer::isBackgroundImportEnabled, &ctkDICOMIndexer::setBackgroundImportEnabled)
    .def_property("followSymlinks", &ctkDICOMIndexer::followSymlinks, &ctkDICOMIndexer::setFollowSymlinks)
    .def_property_readonly("importing", &ctkDICOMIndexer::isImporting)
    .def("setDatabase", &ctkDICOMIndexer::setDatabase, py::arg("database"), py::keep_alive<1, 2>())
    .def("database", &ctkDICOMIndexer::database, py::return_value_policy::reference)
    .def(
      "addDirectory",
      [](ctkDICOMIndexer& self, const QString& directoryName, bool copyFile, bool includeHidden) {
        requireApplication();
        py::gil_scoped_release released;
        self.addDirectory(directoryName, copyFile, includeHidden);
      },
      py::arg("directoryName"), py::arg("copyFile") = false, py::arg("includeHidden") = true)
    .def(
      "addDirectory",
      [](ctkDICOMIndexer& self, ctkDICOMDatabase* database, const QString& directoryName, bool copyFile, bool includeHidden) {
        requireApplication();
        py::gil_scoped_release released;
        self.addDirectory(database, directoryName, copyFile, includeHidden);
      },
      py::arg("database"), py::arg("directoryName"), py::arg("copyFile") = false, py::arg("includeHidden") = true, py::keep_alive<1, 2>())
    .def(
      "addListOfFiles",
      [](ctkDICOMIndexer& self, const QStringList& listOfFiles, bool copyFile) {
        requireApplication();
        py::gil_scoped_release released;
        self.addListOfFiles(listOfFiles, copyFile);
      },
      py::arg("listOfFiles"), py::arg("copyFile") = false)
    .def(
      "addListOfFiles",
      [](ctkDICOMIndexer& self, ctkDICOMDatabase* database, const QStringList& listOfFiles, bool copyFile) {
        requireApplication();
        py::gil_scoped_release released;
        self.addListOfFiles(database, listOfFiles, copyFile);
      },
      py::arg("database"), py::arg("listOfFiles"), py::arg("copyFile") = false, py::keep_alive<1, 2>())
    .def(
      "addFile",
      [](ctkDICOMIndexer& self, ctkDICOMDatabase* database, const QString& filePath, bool copyFile) {
        requireApplication();
        py::gil_scoped_release released;
        self.addFile(database, filePath, copyFile);
      },
      py::arg("database"), py::arg("filePath"), py::arg("copyFile") = false, py::keep_alive<1, 2>())
    .def(
      "waitForImportFinished",
      [](ctkDICOMIndexer& self, int msecTimeout) {
        requireApplication();
        py::gil_scoped_release released;
        self.waitForImportFinished(msecTimeout);
      },
      py::arg("msecTimeout") = -1)
    .def("cancel", &ctkDICOMIndexer::cancel);
}
