"""What a line's record holds, and the pure helpers the grammar and the fast path both build it with."""

from __future__ import annotations

import re
import sys
from typing import Any

from logscope.route import route_from_url

Record = dict[str, Any]

# Envelope formats, named in each record as `ts_format` so the parse stage converts times per format.
SYSLOG, DIAGS, ERRORLOG = "rfc3339", "diags", "errorlog"
# BSD syslog (`Mar  4 09:12:44`): no year and no zone; the zone comes from the node's own lines
# (frame.infer_bsd_zones), else UTC is assumed and the offset says so.
BSD = "bsd"
NO_TIME = "none"  # an excerpt whose lines carry no time: `ts` stays unknown, never invented

# Expressway `Detail=`/`Event=` values that name a transaction step or an access decision.
DETAIL_KINDS = {
    "Receive Request": "receive_request",
    "Sending Request": "sending_request",
    "Receive Response": "receive_response",
    "Sending Response": "sending_response",
}
EVENT_KINDS = {
    "Request Allowed": "request_allowed",
    "Sending HTTP error response": "http_error",
}
# Expressway keys that have a column of their own; every other key lands in `extra`.
KEY_COLUMNS = {
    "Module": "module",
    "Level": "level",
    "Detail": "detail",
    "Event": "event",
    "Txn-id": "txn_id",
    "TrackingID": "tracking_id",
    "Src-ip": "src_ip",
    "Src-port": "src_port",
    "Dst-ip": "dst_ip",
    "Dst-port": "dst_port",
    "Username": "username",
    "Reason": "reason",
    "Status": "status",
    "Method": "method",
    "Request": "url",
}

# `UTCTime=` repeats the envelope's time in UTC (which `ts` already holds): not kept, to keep a
# million-event frame small. Every other key without a column of its own is kept in `extra`.
REDUNDANT_KEYS = frozenset({"UTCTime"})
# The pseudo-key of free text between the pairs (expressway_kv.lark): the event's message when it
# has no `Msg=`.
FREE_TEXT_KEY = ""
TRANSACTION_KINDS = frozenset(DETAIL_KINDS.values())


# An address a publisher masked (`192.0.2.xx`, `10.*.*.4`, `<REDACTED>`). Kept as written (one log
# masks one address the same way, so lines still meet by it), but never taken to tell servers apart:
# two servers may share a mask, so checks that compare servers name them by host (section 7).
_MASKED_ADDRESS = re.compile(r"(?i)<?redacted>?|((\d{1,3}|x+|\*+)\.){3}(\d{1,3}|x+|\*+)")


def is_masked(address: str) -> bool:
    """Whether an address was masked by whoever published the log."""
    return bool(_MASKED_ADDRESS.fullmatch(address)) and not address.replace(".", "").isdigit()


def server_fields(token: str) -> Record:
    """`server=cucm.steven.lab(10.48.36.215)` -> server_name and server_ip (each only when not empty)."""
    name, _, address = token.removeprefix("server=").rstrip(")").partition("(")
    fields: Record = {}
    if name:
        fields["server_name"] = name
    if address:
        fields["server_ip"] = address
    return fields


_OPENSSL_ERROR = re.compile(r"error:([0-9A-Fa-f]+):(.*)")


def split_openssl_error(text: str) -> Record:
    """`error:1416F086:SSL routines:fn:certificate verify failed` -> code and reason.

    OpenSSL 1.1.1 writes library:function:reason, 3.x leaves the function empty (`SSL routines::`);
    the reason is the last colon-separated part in both.
    """
    text = text.strip()
    match = _OPENSSL_ERROR.match(text)
    if not match:
        return {"ssl_reason": text}
    return {"ssl_error_code": match.group(1).upper(), "ssl_reason": match.group(2).rsplit(":", 1)[-1]}


_REQUEST_LINE = re.compile(r"([A-Z]+) (\S+)(?: (HTTP/[\d.]+))?")
_STATUS_LINE = re.compile(r"HTTP/[\d.]+ (\d{3})(?: (.*))?")


def http_start_line(text: str) -> Record:
    """Fields from an HTTP request or status line (`Msg=` or the first `|` line of `HTTPMSG:`)."""
    text = text.strip().lstrip("|").strip()
    if match := _STATUS_LINE.fullmatch(text):
        return {"status": int(match.group(1)), "reason": (match.group(2) or "").strip()}
    if match := _REQUEST_LINE.fullmatch(text):
        return {"method": match.group(1), "url": match.group(2)}
    return {}


def kv_record(pairs: list[tuple[str, str]]) -> Record:
    """Turn Expressway key/value pairs into a record (shared by the fast path and the grammar)."""
    record: Record = {}
    extra: dict[str, str] = {}
    message = None
    for key, raw_value in pairs:
        # padded values (`Detail=" Access allowed "`) compare trimmed; the message keeps its lines
        value = raw_value if key in ("HTTPMSG", "SIPMSG") else raw_value.strip()
        column = KEY_COLUMNS.get(key)
        if column:
            record[column] = value
        elif key == "Msg":
            message = value
            record.update(http_start_line(value))
        elif key == FREE_TEXT_KEY:
            message = message if message is not None else value
        elif key in ("HTTPMSG", "SIPMSG"):
            message = value.strip()
            record.update(http_start_line(message.split("\n", 1)[0]))
        elif key not in REDUNDANT_KEYS:
            extra[sys.intern(key)] = value
    if extra:
        record["extra"] = extra
    record["kind"] = DETAIL_KINDS.get(record.get("detail", ""), "") or EVENT_KINDS.get(
        record.get("event", ""), "other"
    )
    # A transaction step's message is its HTTP start line, already split into method/url or
    # status/reason (and kept whole in `raw`); other events keep theirs.
    if message is not None and record["kind"] not in TRANSACTION_KINDS:
        record["message"] = message
    for column in ("txn_id", "src_port", "dst_port", "status"):
        if column in record:
            record[column] = _int_or_none(record[column])
    if route := route_from_url(record.get("url")) if record["kind"] == "receive_request" else None:
        record.update(
            route_segment=route.segment,
            route_domain=route.domain,
            route_scheme=route.scheme,
            route_host=route.host,
            route_port=route.port,
            route_error=route.error,
        )
    return record


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


# --- body dispatch -----------------------------------------------------------------------------

_KV_START = re.compile(r'\s*[A-Za-z_][A-Za-z0-9_.-]*[ \t]*=[ \t]*"')  # `Key= "v"`: a padded first pair
_ATS_START = re.compile(r"\s*(\[[^\]\n]+\] *|\{0x[0-9A-Fa-f]+\} *|[A-Za-z_][\w.-]* +)?[A-Z]+:")


def body_family(body: str, ts_format: str) -> str:
    """Which grammar claims a body: 'kv', 'ats', 'errorlog' or 'text' (kept raw)."""
    if ts_format == ERRORLOG:
        return "errorlog"
    if _KV_START.match(body):
        return "kv"
    if _ATS_START.match(body):
        return "ats"
    return "text"
