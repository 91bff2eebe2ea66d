"""The reference parse: the Lark grammars in ``grammars/*.lark``, the single source of truth for what
a line means, and the salvage of TLS failure lines they cannot parse in full."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedInput

from logscope.lines.records import (
    BSD,
    DIAGS,
    ERRORLOG,
    EVENT_KINDS,
    FREE_TEXT_KEY,
    NO_TIME,
    SYSLOG,
    Record,
    body_family,
    kv_record,
    server_fields,
    split_openssl_error,
)
from logscope.resources import grammar_path


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
    """Envelope parts as dicts merged into one record: time, node, process, pid and body."""

    def syslog_line(self, items: list) -> Record:
        ts, host, *rest = items
        return _merge({"ts_raw": str(ts), "ts_format": SYSLOG, "node": str(host)}, rest)

    def joined_line(self, items: list) -> Record:
        ts, head, *rest = items
        host, joint, _ = str(head).rpartition("_traffic_server" if "_traffic_server" in head else "_tvcs")
        record: Record = {"ts_raw": str(ts), "ts_format": SYSLOG, "node": host, "process": joint[1:]}
        for item in rest:
            if isinstance(item, int):
                record["pid"] = item
        return _merge(record, rest)

    def bsd_line(self, items: list) -> Record:
        ts, host, *rest = items
        # the diags.log time shape with a fraction (a BSD time has none)
        return _merge({"ts_raw": f"{ts}.000", "ts_format": BSD, "node": str(host)}, rest)

    def headless_line(self, items: list) -> Record:
        head, *rest = items
        host, process = str(head).split(None, 1)
        record: Record = {"ts_raw": None, "ts_format": NO_TIME, "node": str(host), "process": str(process)}
        for item in rest:
            if isinstance(item, int):
                record["pid"] = item
        return _merge(record, rest)

    def rfc5424_line(self, items: list) -> Record:
        _, ts, host, rest = items
        app, procid, _msgid, remainder = [*str(rest).split(None, 3), "", "", ""][:4]
        # the structured data is `-` or `[...]` (kept out of the body); the message follows it
        message = remainder[1:] if remainder.startswith("-") else remainder.partition("]")[2]
        record: Record = {"ts_raw": str(ts), "ts_format": SYSLOG, "node": str(host), "process": app}
        if procid.isdigit():
            record["pid"] = int(procid)
        record["body"] = message.lstrip(" ").removeprefix("\ufeff")
        return record

    def after_host(self, items: list) -> Record:
        return _merge({}, items)

    def process(self, items: list) -> Record:
        record: Record = {"process": str(items[0])}
        for item in items[1:]:
            if isinstance(item, int):
                record["pid"] = item
        return record

    def diags_line(self, items: list) -> Record:
        head, body = items
        return {"ts_raw": str(head)[1:-1], "ts_format": DIAGS, "process": "traffic_server", **body}

    def bare_line(self, items: list) -> Record:
        return {"ts_raw": None, "ts_format": NO_TIME, **items[0]}

    def errorlog_line(self, items: list) -> Record:
        ts, body = items
        return {"ts_raw": str(ts), "ts_format": ERRORLOG, "process": "traffic_server", **body}

    def pid(self, items: list) -> int:
        return int(items[0])

    def body(self, items: list) -> Record:
        return {"body": str(items[0])}

    def start(self, items: list) -> Record:
        return items[-1]


def _merge(record: Record, parts: list) -> Record:
    for part in parts:
        if isinstance(part, dict):
            record.update(part)
    return record


class _KeyValues(Transformer):
    def pair(self, items: list) -> tuple[str, str]:
        return str(items[0]), str(items[1])[1:-1]

    def free_text(self, items: list) -> tuple[str, str]:
        return FREE_TEXT_KEY, str(items[0])

    def httpmsg(self, items: list) -> tuple[str, str]:
        key, _, message = str(items[0]).lstrip("\n").partition(":")
        return key, message

    def start(self, items: list) -> list[tuple[str, str]]:
        words = [value for key, value in items if key == FREE_TEXT_KEY]
        pairs = [item for item in items if item[0] != FREE_TEXT_KEY]
        return [*pairs, (FREE_TEXT_KEY, " ".join(words))] if words else pairs


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
        return {"thread": str(token)} if token.type in ("THREAD", "HEX_THREAD") else {"program": str(token)}

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
                record["name_check"] = " ".join(str(item).split())
            elif item.type == "PAREN_GROUP":
                record["sni"] = str(item)[1:-1]
            elif item.type == "SERVER":
                record.update(server_fields(str(item)))
        return record

    def ssl_verify_error(self, items: list) -> Record:
        _opening, _number, reason, depth = items
        return {"kind": "tls_verify_failed", "verify_error": str(reason), "depth": int(depth)}

    def ssl_connect_failed(self, items: list) -> Record:
        _opening, name, error = (str(item) for item in items)
        return {"kind": "ssl_connect_failed", "server_name": name[1:-1], **split_openssl_error(error)}

    def ssl_call_failed(self, items: list) -> Record:
        text = str(items[0]).rstrip()
        error = text[text.index("(error:") + 1 : -1]
        return {"kind": "ssl_connect_failed", **split_openssl_error(error)}


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
            elif item.type == "CONNECT_OPENING":
                continue
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


# Expressway's module of the traffic server's own events (its HTTP transaction steps).
TRAFFIC_SERVER_MODULE = "network.http.trafficserver"
# Its Event= bodies, which carry no Module (log-lines.md section 2): the HTTP proxy's allow-list verdict
# (written by traffic_server in seed 003) and the HTTP error response it sends for a refused request.
TRAFFIC_SERVER_EVENT_KINDS = frozenset(EVENT_KINDS.values())
_UTC_TIME = re.compile(r'UTCTime="(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:,(\d+))?"')


_ZONE_STEP = 15 * 60  # zones are whole quarter hours


def bsd_with_zone(local: str, utc: re.Match) -> str:
    """A BSD time (`Mar  4 09:12:44.000`) and the body's UTCTime -> RFC 3339 local time with its
    offset (rounded to a quarter hour), so the line keeps the zone it was written in."""
    universal = datetime.strptime(f"{utc[1]} {utc[2]}", "%Y-%m-%d %H:%M:%S")
    candidates = []
    for year in (universal.year - 1, universal.year, universal.year + 1):
        try:
            candidates.append(datetime.strptime(f"{year} {local.split('.')[0]}", "%Y %b %d %H:%M:%S"))
        except ValueError:  # 29 February in another year
            continue
    written = min(candidates, key=lambda when: abs((when - universal).total_seconds()))
    offset = round((written - universal).total_seconds() / _ZONE_STEP) * _ZONE_STEP
    sign, minutes = ("-" if offset < 0 else "+"), abs(offset) // 60
    shifted = universal + timedelta(seconds=offset)
    return f"{shifted:%Y-%m-%dT%H:%M:%S}.{utc[3] or '0'}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_line(text: str) -> Record:
    """The reference parse of one event (envelope and body) with the Lark grammars only."""
    try:
        record = grammars()["envelope"].parse(text)
    except UnexpectedInput:
        return {"kind": "unparsed"}
    body = record.pop("body", "")
    if record["ts_format"] == BSD and (utc := _UTC_TIME.search(body)):
        # BSD syslog has no zone: the body's own UTC time gives the time and the zone
        record["ts_raw"], record["ts_format"] = bsd_with_zone(record["ts_raw"], utc), SYSLOG
    family = body_family(body, record["ts_format"])
    if family == "text" and len(record) == 2:  # no envelope and no body shape known: not a log line
        return {"kind": "unparsed"}
    fields, complete = parse_body_with_grammar(body, family)
    if family == "ats" and "process" not in record and "level" in fields:
        record["process"] = "traffic_server"  # a bare ATS diagnostic: only the traffic server writes it
    record.update(fields)
    if "process" not in record and (
        str(record.get("module", "")).startswith(TRAFFIC_SERVER_MODULE)
        or record.get("kind") in TRAFFIC_SERVER_EVENT_KINDS
    ):
        record["process"] = "traffic_server"  # no process written: the module or event says who wrote it
    if not complete:
        record["partial"] = True
    return record
