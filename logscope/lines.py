"""One line (one event) to one record: the Lark grammars and the fast path they define.

The grammars in ``grammars/*.lark`` are the single source of truth for what a line means. Two
regular expressions give a fast path for the two shapes that make up most of a snapshot (the syslog
envelope and Expressway's key="value" body); every line they decline goes to the full grammar, and
``tests/test_fast_path.py`` proves on samples and random input that both paths give the same record.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedInput

from logscope.resources import grammar_path
from logscope.route import route_from_url

Record = dict[str, Any]

# Envelope formats, named in each record as `ts_format` so the parse stage converts times per format.
SYSLOG, DIAGS, ERRORLOG = "rfc3339", "diags", "errorlog"

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
TRANSACTION_KINDS = frozenset(DETAIL_KINDS.values())

# --- the grammars ------------------------------------------------------------------------------


def _lark(name: str, **options: Any) -> Lark:
    path = grammar_path(name)
    return Lark(
        path.read_text(encoding="utf-8"),
        parser="lalr",
        import_paths=[str(path.parent)],
        source_path=str(path),
        **options,
    )


class _Envelope(Transformer):
    def syslog_line(self, items: list) -> Record:
        ts, host, process, *rest = items
        record: Record = {"ts_raw": str(ts), "ts_format": SYSLOG, "node": str(host)}
        record["process"] = str(process)
        for item in rest:
            if isinstance(item, int):
                record["pid"] = item
            else:
                record["body"] = item
        return record

    def diags_line(self, items: list) -> Record:
        ts, body = items
        return {"ts_raw": str(ts), "ts_format": DIAGS, "process": "traffic_server", "body": body}

    def errorlog_line(self, items: list) -> Record:
        ts, body = items
        return {"ts_raw": str(ts), "ts_format": ERRORLOG, "process": "traffic_server", "body": body}

    def pid(self, items: list) -> int:
        return int(items[0])

    def body(self, items: list) -> str:
        return str(items[0])

    def start(self, items: list) -> Record:
        return items[0]


class _KeyValues(Transformer):
    def pair(self, items: list) -> tuple[str, str]:
        return str(items[0]), str(items[1])[1:-1]

    def httpmsg(self, items: list) -> tuple[str, str]:
        return "HTTPMSG", str(items[0])[len("HTTPMSG:") :]

    def start(self, items: list) -> list[tuple[str, str]]:
        return items


class _AtsDiag(Transformer):
    def start(self, items: list) -> Record:
        record: Record = {}
        for item in items:
            if isinstance(item, dict):
                record.update(item)
            elif isinstance(item, Token) and item.type == "LEVEL":
                record["level"] = str(item)
        return record

    generic = start

    def origin(self, items: list) -> Record:
        token = items[0]
        return {"thread": str(token)} if token.type == "THREAD" else {"program": str(token)}

    def message(self, items: list) -> Record:
        return items[0]

    def debug_context(self, items: list) -> Record:
        tag = next(str(item) for item in items if item.type == "DEBUG_TAG")
        return {"module": tag[1:-1]}

    def text(self, items: list) -> Record:
        return {"kind": "other", "message": str(items[0]).strip()}

    def action(self, items: list) -> Record:
        return {"action": str(items[0])}

    def verify_failed(self, items: list) -> Record:
        record: Record = {"kind": "tls_verify_failed", "sni": ""}
        for item in items:
            if isinstance(item, dict):
                record.update(item)
            elif item.type == "PAREN_GROUP":
                record["sni"] = str(item)[1:-1]
            elif item.type == "SERVER":
                record.update(server_fields(str(item)))
            elif item.type == "ERROR_TEXT":
                record["verify_error"] = str(item)
            elif item.type == "SIGNED_INT":
                record["depth"] = int(item)
        return record

    def name_not_in_cert(self, items: list) -> Record:
        record: Record = {"kind": "sni_not_in_cert", "sni": ""}
        for item in items:
            if isinstance(item, dict):
                record.update(item)
            elif item.type == "NAME_CHECK":
                record["name_check"] = str(item).strip()
            elif item.type == "PAREN_GROUP":
                record["sni"] = str(item)[1:-1]
            elif item.type == "SERVER":
                record.update(server_fields(str(item)))
        return record

    def ssl_connect_failed(self, items: list) -> Record:
        name, error = (str(item) for item in items)
        return {"kind": "ssl_connect_failed", "server_name": name[1:-1], **split_openssl_error(error)}


class _ErrorLog(Transformer):
    def start(self, items: list) -> Record:
        return items[0]

    def text(self, items: list) -> Record:
        return {"kind": "other", "message": str(items[0]).strip()}

    def connect_fail(self, items: list) -> Record:
        record: Record = {"kind": "connect_attempt_failed"}
        for item in items:
            if isinstance(item, tuple):
                record[item[0]] = item[1]
            elif item.type == "WORDCHARS":
                record["reason"] = str(item)
            elif item.type == "ADDR":
                record["dst_ip"] = str(item)
            elif item.type == "INT":
                record["dst_port"] = int(item)
        return _connect_fields(record)

    def item(self, items: list) -> tuple[str, str]:
        return str(items[0]), items[1]

    def value(self, items: list) -> str:
        text = str(items[0])
        return text[1:-1] if text.startswith("'") else text


def _connect_fields(record: Record) -> Record:
    """Map error.log's `key=value` items onto event columns; keep the rest as `extra`."""
    extra = {}
    for key in [k for k in record if k not in _RECORD_KEYS]:
        extra[key] = record.pop(key)
    if "url" in extra:
        record["url"] = extra.pop("url")
    if "connection_result" in extra:
        record["message"] = extra["connection_result"]
    if extra:
        record["extra"] = extra
    return record


_RECORD_KEYS = {"kind", "reason", "dst_ip", "dst_port"}


@cache
def grammars() -> dict[str, Lark]:
    """The compiled grammars, built once per process (LALR with inline transformers: fast)."""
    return {
        "envelope": _lark("envelope.lark", transformer=_Envelope()),
        "kv": _lark("expressway_kv.lark", transformer=_KeyValues()),
        "ats": _lark("ats_diag.lark", transformer=_AtsDiag(), start=["start", "generic"]),
        "errorlog": _lark("ats_errorlog.lark", transformer=_ErrorLog()),
    }


# --- pure helpers shared by both paths ---------------------------------------------------------


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
    for key, value in pairs:
        column = KEY_COLUMNS.get(key)
        if column:
            record[column] = value
        elif key == "Msg":
            message = value
            record.update(http_start_line(value))
        elif key == "HTTPMSG":
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

_KV_START = re.compile(r'\s*[A-Za-z_][A-Za-z0-9_.-]*="')
_ATS_START = re.compile(r"\s*(\[[^\]\n]+\] +|[A-Za-z_][\w.-]* +)?[A-Z]+:")


def body_family(body: str, ts_format: str) -> str:
    """Which grammar claims a body: 'kv', 'ats', 'errorlog' or 'text' (kept raw)."""
    if ts_format == ERRORLOG:
        return "errorlog"
    if _KV_START.match(body):
        return "kv"
    if _ATS_START.match(body):
        return "ats"
    return "text"


def parse_body_with_grammar(body: str, family: str) -> tuple[Record, bool]:
    """Parse a body with its family grammar. Returns (record, parsed_fully)."""
    if family == "text":
        return {"kind": "other", "message": body.strip()}, True
    parser = grammars()[family]
    try:
        if family == "kv":
            return kv_record(parser.parse(body)), True
        if family == "ats":
            return parser.parse(body, start="start"), True
        return parser.parse(body), True
    except UnexpectedInput:
        pass
    if family == "ats":
        try:
            return salvage_tls_fields(parser.parse(body, start="generic")), False
        except UnexpectedInput:
            pass
    return {"kind": "other", "message": body.strip()}, False


# A certificate warning or SSL error cut short or reworded keeps what can still be read: a failure is
# never dropped because its line did not match the grammar exactly (the row stays marked partial).
_SALVAGE_OPENINGS = (
    ("tls_verify_failed", re.compile(r"Core server certificate verification failed for \(([^)\n]*)\)?")),
    ("sni_not_in_cert", re.compile(r"(SNI|SAN|Origin hostname) \(([^)\n]*)\)? not in certificate")),
    ("ssl_connect_failed", re.compile(r"SSL connection failed for ['\"]([^'\"\n]*)['\"]?:?[ \t]*(.*)")),
)
_SALVAGE_ACTION = re.compile(r"\bAction=([A-Za-z]+)\b")
_SALVAGE_ERROR = re.compile(r"\bError=(.+?)(?=[ \t]+(?:server=|depth=)|[ \t]*$)")
_SALVAGE_SERVER = re.compile(r"\bserver=[^()\s]*\([^()\s]*\)")
_SALVAGE_DEPTH = re.compile(r"\bdepth=(-?\d+)\b")


def salvage_tls_fields(record: Record) -> Record:
    """Fields of a known TLS failure message that did not parse in full (a cut line, an extra field)."""
    message = record.get("message") or ""
    for kind, opening in _SALVAGE_OPENINGS:
        match = opening.match(message)
        if match is None:
            continue
        fields: Record = {"kind": kind}
        if kind == "ssl_connect_failed":
            fields["server_name"] = match.group(1)
            fields.update(split_openssl_error(match.group(2)) if match.group(2).strip() else {})
            return {**record, **fields}
        if kind == "tls_verify_failed":
            fields["sni"] = match.group(1)
        else:
            fields["name_check"], fields["sni"] = match.group(1), match.group(2)
        if action := _SALVAGE_ACTION.search(message):
            fields["action"] = action.group(1)
        if kind == "tls_verify_failed" and (error := _SALVAGE_ERROR.search(message)):
            fields["verify_error"] = error.group(1).strip()
        if server := _SALVAGE_SERVER.search(message):
            fields.update(server_fields(server.group()))
        if kind == "tls_verify_failed" and (depth := _SALVAGE_DEPTH.search(message)):
            fields["depth"] = int(depth.group(1))
        return {**record, **fields}
    return record


def parse_line(text: str) -> Record:
    """The reference parse of one event (envelope and body) with the Lark grammars only."""
    try:
        record = grammars()["envelope"].parse(text)
    except UnexpectedInput:
        return {"kind": "unparsed"}
    body = record.pop("body", "")
    fields, complete = parse_body_with_grammar(body, body_family(body, record["ts_format"]))
    record.update(fields)
    if not complete:
        record["partial"] = True
    return record


# --- the fast path -----------------------------------------------------------------------------
# Regular expressions that mirror the grammars for the common, regular shapes. Anything they do not
# match exactly is declined (None) and parsed by the grammar; tests/test_fast_path.py checks that the
# two agree wherever the fast path answers.

_FAST_SYSLOG = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) +([^\s\[\]]+) +"
    r"([^\s\[\]:]+)(?:\[(\d+)\])?:(.*)",
    re.S,
)
_FAST_DIAGS = re.compile(r"\[([A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?)\](.+)", re.S)
_FAST_PAIR = re.compile(r'[ \t]*([A-Za-z_][A-Za-z0-9_.-]*)="([^"]*)":?')
_FAST_PAIR_RUN = re.compile(r'(?:[ \t]*[A-Za-z_][A-Za-z0-9_.-]*="[^"]*":?)+')
_FAST_HTTPMSG = re.compile(r"[ \t]*HTTPMSG:([\s\S]*)")
_LEVELS = "DIAG|DEBUG|STATUS|NOTE|WARNING|ERROR|FATAL|ALERT|EMERGENCY"
_FAST_ATS = re.compile(
    rf"[ \t]*(?:\[([^\]\n]+)\][ \t]+|([A-Za-z_][\w.-]*)[ \t]+)?({_LEVELS}):[ \t]*([^ \t].*)", re.S
)
# Message openings the grammar commits to; when one opens a message the specific pattern must match.
_KNOWN_OPENING = re.compile(
    r"Core server certificate verification failed for "
    r"|(?:SNI|SAN|Origin hostname) \("
    r"|SSL connection failed for "
)
_FAST_VERIFY = re.compile(
    r"Core server certificate verification failed for \(([^)\n]*)\)\.[ \t]+Action=([A-Za-z]+)[ \t]+"
    r"Error=([^\n]+?)(?= server=)[ \t]+(server=[^()\s]*\([^()\s]*\))[ \t]+depth=(-?\d+)[ \t]*"
)
_FAST_NAME_CHECK = re.compile(
    r"(SNI|SAN|Origin hostname) \(([^)\n]*)\) not in certificate\.[ \t]+Action=([A-Za-z]+)[ \t]+"
    r"(server=[^()\s]*\([^()\s]*\))[ \t]*"
)
_FAST_SSL_FAILED = re.compile(r"SSL connection failed for ('[^'\n]*'|\"[^\"\n]*\"):[ \t]*([^\n]+)")


def fast_pairs(body: str) -> list[tuple[str, str]] | None:
    """Key/value pairs of a body made only of `key="value"` pairs, else None (grammar decides)."""
    run = _FAST_PAIR_RUN.match(body)
    if run is None:
        return None
    pairs = _FAST_PAIR.findall(body, 0, run.end())
    rest = body[run.end() :]
    if rest.strip(" \t"):
        httpmsg = _FAST_HTTPMSG.match(rest)
        if httpmsg is None:
            return None
        pairs.append(("HTTPMSG", httpmsg.group(1)))
    return pairs


def fast_ats(body: str) -> Record | None:
    """An ATS diagnostic body, parsed as ats_diag.lark would, or None to let the grammar decide."""
    match = _FAST_ATS.fullmatch(body)
    if match is None:
        return None
    thread, program, level, message = match.groups()
    if message.startswith(("<", "(")):  # a debug location or tag: rare, the grammar parses it
        return None
    record: Record = {"thread": thread} if thread is not None else {}
    if program is not None:
        record["program"] = program
    if not _KNOWN_OPENING.match(message):
        record.update(kind="other", message=message.strip(), level=level)
        return record
    if verify := _FAST_VERIFY.fullmatch(message):
        sni, action, error, server, depth = verify.groups()
        record.update(kind="tls_verify_failed", sni=sni, action=action, verify_error=error, depth=int(depth))
        record.update(server_fields(server))
    elif check := _FAST_NAME_CHECK.fullmatch(message):
        name_check, sni, action, server = check.groups()
        record.update(kind="sni_not_in_cert", sni=sni, name_check=name_check, action=action)
        record.update(server_fields(server))
    elif failed := _FAST_SSL_FAILED.fullmatch(message):
        record.update(kind="ssl_connect_failed", server_name=failed.group(1)[1:-1])
        record.update(split_openssl_error(failed.group(2)))
    else:
        return None
    record["level"] = level
    return record


def _fast_envelope(text: str) -> tuple[Record, str] | None:
    if match := _FAST_SYSLOG.fullmatch(text):
        ts, host, process, pid, body = match.groups()
        record: Record = {"ts_raw": ts, "ts_format": SYSLOG, "node": host, "process": process}
        if pid is not None:
            record["pid"] = int(pid)
        return record, body
    if match := _FAST_DIAGS.fullmatch(text):
        return {"ts_raw": match.group(1), "ts_format": DIAGS, "process": "traffic_server"}, match.group(2)
    return None


def fast_parse_line(text: str) -> Record | None:
    """Parse a line of a regular shape without the grammar; None for anything else."""
    envelope = _fast_envelope(text)
    if envelope is None:
        return None
    record, body = envelope
    family = body_family(body, record["ts_format"])
    if family == "kv":
        pairs = fast_pairs(body)
        if pairs is None:
            return None
        fields = kv_record(pairs)
    elif family == "ats":
        fields = fast_ats(body)
        if fields is None:
            return None
    elif family == "text":
        fields = {"kind": "other", "message": body.strip()}
    else:
        return None
    record.update(fields)
    return record


def parse_event(text: str) -> Record:
    """Parse one event: the fast path when it applies, the full grammar otherwise."""
    return fast_parse_line(text) or parse_line(text)
