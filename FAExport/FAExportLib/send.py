"""Sending exported series to an archive: DICOM C-STORE (pynetdicom) or DICOMweb STOW-RS (dicomweb-client).

Only files an export wrote and verified are sent, each as written. Every instance gets a result: stored,
refused (the archive answered no, with its status) or failed (no answer, or never sent because sending had
stopped). Nothing is retried and the local files are never changed. pynetdicom and dicomweb-client are
imported only when sending, so exports and ``--help`` never load them. Secrets (password, token) go only
into the HTTP Authorization header: never into a message, a log record, a result or a DICOM attribute.
"""

import contextlib
import ipaddress
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pydicom

from .errors import Field, Label, Message, SendError, command_line_label, render
from .pipeline import SeriesResult

STORED, REFUSED, FAILED = "stored", "refused", "failed"
PARAMETRIC_MAP_STORAGE = "1.2.840.10008.5.1.4.1.1.30"
SOP_CLASS_NOT_SUPPORTED = 0x0122
DEFAULT_TIMEOUT = 30.0
# A-ASSOCIATE-AC presentation context results (PS3.8 9.3.3.2) that refuse the SOP class itself.
CLASS_REFUSING_CONTEXT_RESULTS = {1: "user rejection", 2: "no reason given", 3: "abstract syntax (SOP class) not supported"}
CONTEXT_RESULTS = {**CLASS_REFUSING_CONTEXT_RESULTS, 4: "transfer syntaxes not supported"}
# A-ASSOCIATE-RJ reasons (PS3.8 9.3.4): (source, reason) -> what to check.
REJECTION_HINTS = {
    (1, 2): ("the archive does not support the DICOM application context",),
    (1, 3): ("the archive does not know the calling AE title {calling}; register it there, or give the one it knows (", Field("calling_ae"), ")"),
    (1, 7): ("the archive is not called {called}; give its AE title (", Field("called_ae"), ")"),
    (3, 1): ("the archive is busy (temporary congestion); send again later",),
    (3, 2): ("the archive has too many associations open (local limit exceeded); send again later",),
}
AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # PS3.5 AE: 16 characters of the default repertoire, no backslash


def _check_ae_title(title: str, name: str) -> str:
    if not AE_TITLE.match(title) or not title.strip():
        raise SendError(Field(name), f" {title!r} is not an AE title: 1 to 16 letters, digits, spaces or symbols other than a backslash", value=title)
    return title


def _check_timeout(timeout: float) -> float:
    if not 0 < timeout <= 3600:
        raise SendError("the send timeout (", Field("send_timeout"), f") must be between 0 and 3600 seconds, not {timeout}", value=timeout)
    return float(timeout)


@dataclass(frozen=True)
class DimseDestination:
    """A DICOM archive reached with C-STORE."""

    host: str
    port: int
    called_ae: str = "ANY-SCP"
    calling_ae: str = "FAEXPORT"
    timeout: float = DEFAULT_TIMEOUT  # seconds, for connecting and for each answer

    protocol = "dimse"

    @classmethod
    def parse(cls, address: str, called_ae: str = "ANY-SCP", calling_ae: str = "FAEXPORT", timeout: float = DEFAULT_TIMEOUT) -> "DimseDestination":
        """From ``HOST:PORT`` (``[::1]:PORT`` for IPv6); SendError on anything else."""
        match = re.match(r"^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s\[\]]+)):(\d{1,5})$", address.strip())
        if not match or not 0 < int(match.group(3)) < 65536:
            raise SendError("DIMSE destination (", Field("destination_dimse"), f") {address!r} is not HOST:PORT (e.g. pacs.example.org:104)", value=address)
        return cls(
            match.group(1) or match.group(2),
            int(match.group(3)),
            _check_ae_title(called_ae, "called_ae"),
            _check_ae_title(calling_ae, "calling_ae"),
            _check_timeout(timeout),
        )

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.called_ae}@{host}:{self.port}"


@dataclass(frozen=True)
class StowDestination:
    """A DICOMweb service (its base URL, e.g. ``https://pacs/dicom-web``) reached with STOW-RS."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT

    protocol = "stow"

    @classmethod
    def parse(
        cls,
        url: str,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> "StowDestination":
        """Check the URL and the credentials; SendError (never naming a secret) on anything wrong."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SendError("STOW-RS destination (", Field("destination_stow"), f") {url!r} is not an http(s) URL (e.g. https://pacs.example.org/dicom-web)", value=url)
        if parts.username or parts.password:
            raise SendError(
                "put no user name or password in the STOW-RS URL (it would show in messages)",
                remedy=("use ", Field("stow_user"), " and ", Field("stow_password")),
                field="destination_stow",
            )
        if token and (username or password):
            raise SendError("give either a user name and password or a bearer token for STOW-RS, not both", field="stow_token")
        if password and not username:
            raise SendError("a STOW-RS password was given without a user name", remedy=("add ", Field("stow_user")))
        if username and not password:
            raise SendError(Field("stow_user"), " needs a password", remedy=("set ", Field("stow_password")))
        if (username or token) and parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise SendError(f"refusing to send credentials in clear text to {parts.hostname} over http", remedy="use an https URL", field="destination_stow")
        return cls(url.strip().rstrip("/"), username or None, password or None, token or None, _check_timeout(timeout))

    def __str__(self) -> str:
        return self.url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class InstanceResult:
    """What became of one instance at the archive."""

    file: str
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    outcome: str  # stored, refused or failed
    status: int | None = None  # DIMSE status / STOW-RS FailureReason or HTTP status; None when the archive gave none
    meaning: str = ""
    context_result: int | None = None  # DIMSE presentation context result when the context was rejected

    @property
    def class_refused(self) -> bool:
        """The archive refused this instance's SOP class (rejected context, or status 0x0122)."""
        return self.outcome == REFUSED and (self.status == SOP_CLASS_NOT_SUPPORTED or self.context_result in CLASS_REFUSING_CONTEXT_RESULTS)

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "sop_class_uid": self.sop_class_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "series_instance_uid": self.series_instance_uid,
            "outcome": self.outcome,
            "status": self.status,
            "status_hex": f"0x{self.status:04X}" if self.status is not None else None,
            "meaning": self.meaning,
            "context_result": self.context_result,
        }


@dataclass(frozen=True)
class FallbackResult:
    """The series re-encoded in another mode and sent because the archive refused the Parametric Map."""

    mode: str
    series: list[SeriesResult]
    sent: "SendResult"


@dataclass(frozen=True)
class SendResult:
    """One send: every instance's result, why sending stopped (if it did), and any fallback."""

    protocol: str
    destination: str
    instances: list[InstanceResult]
    error: str | None = None  # one line: why sending stopped or never started (a Message when it names an option)
    fallback: FallbackResult | None = None
    notes: tuple[str, ...] = ()  # one line each (Messages when they name an option)

    @property
    def stored(self) -> list[InstanceResult]:
        return [item for item in self.instances if item.outcome == STORED]

    @property
    def complete(self) -> bool:
        """Every instance arrived."""
        return bool(self.instances) and len(self.stored) == len(self.instances)

    @property
    def state(self) -> str:
        """complete, partial (some arrived) or none (nothing arrived)."""
        return "complete" if self.complete else "partial" if self.stored else "none"

    @property
    def refused_classes(self) -> list[str]:
        """SOP classes the archive refused as such, in order."""
        return list(dict.fromkeys(item.sop_class_uid for item in self.instances if item.class_refused))

    @property
    def parametric_map_refused(self) -> bool:
        return PARAMETRIC_MAP_STORAGE in self.refused_classes

    @property
    def fallback_complete(self) -> bool:
        """The Parametric Map was refused, its fallback arrived whole, and everything else arrived."""
        others = [item for item in self.instances if item.sop_class_uid != PARAMETRIC_MAP_STORAGE]
        return self.fallback is not None and self.fallback.sent.complete and all(item.outcome == STORED for item in others)

    def messages(self, label: Label = command_line_label) -> list[str]:
        """What a user must know, one line each: the stop reason, the class refusal, partial arrival, notes; options
        named by ``label`` (the command line's words by default).
        """
        lines = []
        if self.error:
            lines.append(render(self.error, label))
        for sop_class in self.refused_classes:
            lines.append(refusal_message(sop_class, next(i for i in self.instances if i.sop_class_uid == sop_class and i.class_refused)).render(label))
        refused_others = [item for item in self.instances if item.outcome == REFUSED and not item.class_refused]
        if refused_others:
            first = refused_others[0]
            lines.append(f"the archive refused {len(refused_others)} instance{'s' if len(refused_others) > 1 else ''} (first: {first.sop_instance_uid}, {_status_text(first)})")
        if self.state == "partial":
            lines.append(f"partial send: {len(self.stored)} of {len(self.instances)} instances arrived (listed in the result); the others did not")
        lines.extend(render(note, label) for note in self.notes)
        return lines

    def summary(self, label: Label = command_line_label) -> str:
        """A few lines for a terminal, the panel or the console (options named by ``label``)."""
        head = f"Sent to {self.destination} ({'C-STORE' if self.protocol == 'dimse' else 'STOW-RS'}): {len(self.stored)} of {len(self.instances)} instances stored"
        lines = [head, *("  " + line for line in self.messages(label))]
        if self.fallback is not None:
            fallback = self.fallback
            lines.append(f"  fallback: sent the {fallback.mode.upper()} series (same study and frame of reference) instead of the Parametric Map:")
            lines.extend("  " + line for line in fallback.sent.summary(label).splitlines())
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "protocol": self.protocol,
            "destination": self.destination,
            "state": self.state,
            "stored": len(self.stored),
            "total": len(self.instances),
            "error": self.error,
            "messages": self.messages(),
            "refused_sop_classes": self.refused_classes,
            "arrived": [item.sop_instance_uid for item in self.stored],
            "instances": [item.to_json() for item in self.instances],
            "fallback": None
            if self.fallback is None
            else {"mode": self.fallback.mode, "series": [s.to_json() for s in self.fallback.series], "send": self.fallback.sent.to_json()},
        }


SOP_CLASS_NAMES = {
    PARAMETRIC_MAP_STORAGE: "Parametric Map Storage",
    "1.2.840.10008.5.1.4.1.1.4": "MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.3": "Multi-frame Grayscale Word Secondary Capture Image Storage",
}


def refusal_message(sop_class_uid: str, example: InstanceResult) -> Message:
    """One line saying which class the archive refused and what to do."""
    name = SOP_CLASS_NAMES.get(sop_class_uid, "SOP class")
    text = f"the archive refused {name} ({sop_class_uid}): {_status_text(example)}; the exported files are kept"
    if sop_class_uid != PARAMETRIC_MAP_STORAGE:
        return Message(text)
    return Message(
        text,
        ". Export in mode mr or sc, which carry the values as integers with one rescale slope (or send with ",
        Field("fallback"),
        " sc or mr), or ask the archive's administrator to accept Parametric Map Storage",
    )


def _status_text(item: InstanceResult) -> str:
    if item.context_result is not None:
        return f"presentation context rejected, result {item.context_result} ({CONTEXT_RESULTS.get(item.context_result, 'unknown')})"
    if item.status is not None:
        return f"status 0x{item.status:04X} ({item.meaning})"
    return item.meaning


# --- what is sent


@dataclass(frozen=True)
class _Header:
    path: str
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    transfer_syntax_uid: str

    def result(self, outcome: str, status: int | None = None, meaning: str = "", context_result: int | None = None) -> InstanceResult:
        return InstanceResult(self.path, self.sop_class_uid, self.sop_instance_uid, self.series_instance_uid, outcome, status, meaning, context_result)


def _headers(files) -> list[_Header]:
    """Each file's identity, read from the file itself; SendError when one is missing or not DICOM."""
    headers = []
    for path in map(str, files):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            headers.append(_Header(path, str(ds.SOPClassUID), str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID), str(ds.file_meta.TransferSyntaxUID)))
        except (OSError, AttributeError, pydicom.errors.InvalidDicomError) as error:
            raise SendError(f"cannot send {path}: {error.strerror if isinstance(error, OSError) and error.strerror else error}; export again") from None
    if not headers:
        raise SendError("there is nothing to send (no files)")
    return headers


def _not_sent(headers: list[_Header], reason: str) -> list[InstanceResult]:
    return [header.result(FAILED, meaning=f"not sent: {reason}") for header in headers]


Progress = Callable[[str, int], bool]  # (message, instances done) -> True to cancel


def send_files(files, destination: DimseDestination | StowDestination, progress: Progress | None = None) -> SendResult:
    """Send ``files`` (paths of one export's series) to ``destination``; one result per instance."""
    headers = _headers(files)
    if isinstance(destination, DimseDestination):
        return _send_dimse(headers, destination, progress)
    return _send_stow(headers, destination, progress)


def _reason_not_to_send(error: str | None, progress: Progress | None, header: "_Header", done: int, destination) -> str | None:
    """Why ``header`` is not sent: sending already stopped (``error``), or the user cancels now."""
    if error is None and progress is not None and progress(f"Sending {Path(header.path).name} to {destination}", done):
        return "sending was cancelled"
    return error


# --- DIMSE C-STORE


@contextlib.contextmanager
def _captured_log(name: str) -> Iterator[list[str]]:
    """Collect a library logger's error lines (pynetdicom says why a connection failed only there)."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger(name)
    handler = Collect(level=logging.ERROR)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def _dimse_meaning(code: int) -> str:
    from pynetdicom.status import STORAGE_SERVICE_CLASS_STATUS

    category, description = STORAGE_SERVICE_CLASS_STATUS.get(code, ("Unknown", "status not defined for storage"))
    return f"{category}: {description}" if description else category


def _association_error(assoc, destination: DimseDestination, log: list[str]) -> str:
    """One line: why no association was established."""
    where = str(destination)
    if assoc.is_rejected:
        primitive = assoc.acceptor.primitive
        source, reason = int(primitive.result_source), int(primitive.diagnostic)
        hint = REJECTION_HINTS.get((source, reason), ("check the AE titles and that the archive accepts this sender",))
        kind = "permanently" if primitive.result == 1 else "for now"
        return Message(
            f"{where} rejected the association {kind} ({primitive.source_str}: {primitive.reason_str}); ",
            *(part.format(called=destination.called_ae, calling=destination.calling_ae) if isinstance(part, str) else part for part in hint),
        )
    tcp = next((line.split(":", 1)[1].strip() for line in log if line.startswith("TCP Initialisation Error")), None)
    if tcp is not None:
        if "refused" in tcp.lower():
            return f"cannot connect to {where}: connection refused (nothing listens on port {destination.port}); check the host and port"
        if "timed out" in tcp.lower():
            return f"cannot connect to {where}: no answer within {destination.timeout:g} s; check the host, port and firewall"
        return f"cannot connect to {where}: {tcp}; check the host and port"
    if any("ACSE timeout" in line for line in log):
        return f"{where} accepted the connection but did not answer the association request within {destination.timeout:g} s; is it a DICOM port?"
    return f"no association with {where} ({'; '.join(log) or 'no reason given'}); check the host, port and AE titles"


def _send_dimse(headers: list[_Header], destination: DimseDestination, progress: Progress | None) -> SendResult:
    from pynetdicom import AE
    from pynetdicom.status import code_to_category

    ae = AE(ae_title=destination.calling_ae)
    ae.connection_timeout = ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = destination.timeout
    # Exactly the SOP classes and transfer syntaxes of the files, one context per class.
    syntaxes: dict[str, list[str]] = {}
    for header in headers:
        syntaxes.setdefault(header.sop_class_uid, [])
        if header.transfer_syntax_uid not in syntaxes[header.sop_class_uid]:
            syntaxes[header.sop_class_uid].append(header.transfer_syntax_uid)
    for sop_class_uid, transfer_syntaxes in syntaxes.items():
        ae.add_requested_context(sop_class_uid, transfer_syntaxes)
    with _captured_log("pynetdicom") as log:
        assoc = ae.associate(destination.host, destination.port, ae_title=destination.called_ae)
    rejected = {str(cx.abstract_syntax): cx for cx in assoc.rejected_contexts}
    if not assoc.is_established and not (rejected and len(rejected) == len(syntaxes)):
        reason = _association_error(assoc, destination, log)
        return SendResult("dimse", str(destination), _not_sent(headers, reason), error=reason)
    results: list[InstanceResult] = []
    error = None
    try:
        for index, header in enumerate(headers):
            if header.sop_class_uid in rejected:
                result = int(rejected[header.sop_class_uid].result)
                results.append(header.result(REFUSED, meaning=f"presentation context rejected: {CONTEXT_RESULTS.get(result, 'unknown result')}", context_result=result))
                continue
            error = _reason_not_to_send(error, progress, header, index, destination)
            if error is not None:
                results.append(header.result(FAILED, meaning=f"not sent: {error}"))
                continue
            if not assoc.is_established:
                error = f"{destination} closed the association"
                results.append(header.result(FAILED, meaning=f"not sent: {error}"))
                continue
            try:
                status = assoc.send_c_store(header.path)
            except (RuntimeError, OSError) as send_error:  # the association ended under pynetdicom
                status = pydicom.Dataset()
                log_reason = str(send_error)
            else:
                log_reason = ""
            if "Status" not in status:
                # No answer: the archive may or may not have stored this one; never guessed, never resent.
                error = f"{destination} stopped answering (connection lost or no answer within {destination.timeout:g} s{'; ' + log_reason if log_reason else ''})"
                results.append(header.result(FAILED, meaning="no answer from the archive: it may or may not have stored this instance"))
                continue
            code = int(status.Status)
            outcome = STORED if code_to_category(code) in ("Success", "Warning") else REFUSED
            results.append(header.result(outcome, code, _dimse_meaning(code)))
    finally:
        if assoc.is_established:
            assoc.release()
    return SendResult("dimse", str(destination), results, error=error)


# --- DICOMweb STOW-RS

STOP_HTTP_STATUSES = {401: "not authorized: check the user name and password or token", 403: "forbidden: the account may not store here", 404: "not found: check the DICOMweb base URL", 405: "this URL does not accept STOW-RS: check the DICOMweb base URL"}


def _http_failure(error) -> tuple[int | None, str]:
    """FailureReason and its meaning from a STOW-RS error response, when the archive sent one."""
    response = error.response
    try:
        if "json" in response.headers.get("Content-Type", ""):
            dataset = pydicom.Dataset.from_json(response.content)
            failed = dataset.get("FailedSOPSequence")
            if failed and "FailureReason" in failed[0]:
                code = int(failed[0].FailureReason)
                return code, _dimse_meaning(code)
    except (ValueError, TypeError, KeyError, AttributeError):
        pass
    return None, ""


def _network_reason(error, destination: StowDestination) -> str:
    import requests

    text = str(error)
    if isinstance(error, requests.ConnectTimeout):
        return f"cannot connect to {destination}: no answer within {destination.timeout:g} s; check the URL and firewall"
    if isinstance(error, requests.ReadTimeout):
        return f"{destination} did not answer within {destination.timeout:g} s"
    if "refused" in text.lower():
        return f"cannot connect to {destination}: connection refused (nothing listens there); check the host and port"
    if "reset" in text.lower() or "aborted" in text.lower() or "RemoteDisconnected" in text:
        return f"{destination} closed the connection"
    if isinstance(error, requests.exceptions.SSLError):
        return f"cannot connect to {destination}: the TLS handshake failed (certificate?)"
    return f"cannot reach {destination} ({type(error).__name__})"


def _send_stow(headers: list[_Header], destination: StowDestination, progress: Progress | None) -> SendResult:
    import requests
    from dicomweb_client.api import DICOMwebClient

    session = requests.Session()
    if destination.username:
        session.auth = requests.auth.HTTPBasicAuth(destination.username, destination.password)
    elif destination.token:
        session.headers["Authorization"] = f"Bearer {destination.token}"
    client = DICOMwebClient(url=destination.url, session=session, timeout=destination.timeout)
    client.set_http_retry_params(retry=False)
    client_logger = logging.getLogger("dicomweb_client")
    level = client_logger.level
    client_logger.setLevel(logging.WARNING)  # its debug lines carry request headers
    results: list[InstanceResult] = []
    error = None
    try:
        for index, header in enumerate(headers):
            error = _reason_not_to_send(error, progress, header, index, destination)
            if error is not None:
                results.append(header.result(FAILED, meaning=f"not sent: {error}"))
                continue
            try:
                response = client.store_instances([pydicom.dcmread(header.path)])
            except requests.HTTPError as http_error:
                code = http_error.response.status_code
                failure, meaning = _http_failure(http_error)
                if failure is not None:
                    results.append(header.result(REFUSED, failure, f"HTTP {code}; {meaning}"))
                else:
                    results.append(header.result(REFUSED, None, f"HTTP {code} {http_error.response.reason or ''}".strip()))
                if code in STOP_HTTP_STATUSES:
                    error = f"{destination} answered HTTP {code}, {STOP_HTTP_STATUSES[code]}"
                continue
            except requests.RequestException as network_error:
                error = _network_reason(network_error, destination)
                sent_maybe = isinstance(network_error, requests.ReadTimeout) or "reset" in str(network_error).lower()
                meaning = "no answer from the archive: it may or may not have stored this instance" if sent_maybe else f"not sent: {error}"
                results.append(header.result(FAILED, meaning=meaning))
                continue
            results.append(_stow_outcome(header, response))
    finally:
        client_logger.setLevel(level)
        session.close()
    return SendResult("stow", str(destination), results, error=error)


def _stow_outcome(header: _Header, response) -> InstanceResult:
    """Read a STOW-RS response (PS3.18 10.5.3): the instance is in ReferencedSOPSequence or FailedSOPSequence."""
    for item in response.get("FailedSOPSequence", []) if response is not None else []:
        if str(item.get("ReferencedSOPInstanceUID", "")) == header.sop_instance_uid:
            code = int(item.FailureReason) if "FailureReason" in item else None
            return header.result(REFUSED, code, _dimse_meaning(code) if code is not None else "refused without a reason")
    for item in response.get("ReferencedSOPSequence", []) if response is not None else []:
        if str(item.get("ReferencedSOPInstanceUID", "")) == header.sop_instance_uid:
            warning = int(item.WarningReason) if "WarningReason" in item else None
            return header.result(STORED, warning if warning is not None else 0, _dimse_meaning(warning) if warning is not None else "Success")
    return header.result(FAILED, meaning="the archive's answer does not mention this instance: it may or may not have stored it")
