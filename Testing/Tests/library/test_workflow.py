"""The one workflow every interface runs (export_and_send): the export is reported before anything is sent, it is
delivered where the caller puts it, and once it is written no failure of sending takes it back or hides it.
"""

import numpy as np
import pydicom
import pytest

from FAExportLib import ExportOptions, SendError, export_and_send, workflow
from FAExportLib.send import DimseDestination


def fa_map() -> np.ndarray:
    return np.linspace(0.0, 1.0, 3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)


def test_the_export_is_reported_and_delivered_before_sending_and_stands_when_sending_fails_unexpectedly(tmp_path, monkeypatch):
    events = []

    def broken_send(series, destination, **keywords):
        events.append("send")
        raise RuntimeError("the network library failed")

    def deliver(series):
        events.append("deliver")
        return series

    monkeypatch.setattr(workflow, "send_series", broken_send)
    delivery = export_and_send(
        fa_map(),
        np.diag([1.0, 1.0, 2.0, 1.0]),
        tmp_path / "out",
        ExportOptions(mode="mr"),
        destination=DimseDestination.parse("127.0.0.1:104"),
        deliver=deliver,
        on_exported=lambda result: events.append(f"exported {len(result.series[0].files)}"),
    )
    assert events == ["deliver", "exported 3", "send"]
    assert isinstance(delivery.send_error, SendError) and delivery.sent is None
    assert str(delivery.send_error) == "unexpected RuntimeError while sending: the network library failed"
    (series,) = delivery.export.series
    assert sorted(pydicom.dcmread(path).InstanceNumber for path in series.files) == [1, 2, 3]  # written, verified, kept


def test_an_interrupted_send_keeps_the_export(tmp_path, monkeypatch):
    def interrupted(series, destination, **keywords):
        raise KeyboardInterrupt

    monkeypatch.setattr(workflow, "send_series", interrupted)
    delivery = export_and_send(fa_map(), np.eye(4), tmp_path / "out", ExportOptions(mode="pm"), destination=DimseDestination.parse("127.0.0.1:104"))
    assert type(delivery.send_error).__name__ == "SendInterrupted"
    assert len(delivery.export.series[0].files) == 1


def test_without_a_destination_nothing_is_sent_and_a_fallback_is_refused_first(tmp_path, monkeypatch):
    monkeypatch.setattr(workflow, "send_series", lambda *args, **keywords: pytest.fail("nothing to send"))
    delivery = export_and_send(fa_map(), np.eye(4), tmp_path / "out", ExportOptions(mode="sc"))
    assert delivery.sent is None and delivery.send_error is None and len(delivery.export.series) == 1
    with pytest.raises(SendError, match=r"^--fallback must be one of sc, mr, not 'pm'$"):
        export_and_send(fa_map(), np.eye(4), tmp_path / "again", ExportOptions(mode="pm"), destination=DimseDestination.parse("127.0.0.1:104"), fallback="pm")
    assert not (tmp_path / "again").exists()
