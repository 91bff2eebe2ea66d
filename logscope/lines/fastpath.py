"""The fast path: regular expressions that mirror the grammars for the common, regular shapes.

Anything they do not match exactly is declined (None) and parsed by the grammar;
``tests/test_fast_path.py`` checks that the two agree wherever the fast path answers.
"""

from __future__ import annotations

import re

from logscope.lines.grammar import parse_line
from logscope.lines.records import (
    DIAGS,
    SYSLOG,
    Record,
    body_family,
    kv_record,
    server_fields,
    split_openssl_error,
)

_FAST_SYSLOG = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) +([^\s\[\]]+) +"
    r"((?!(?:DIAG|DEBUG|STATUS|NOTE|WARNING|ERROR|FATAL|ALERT|EMERGENCY):)[^\s\[\]:=\"]+)(?:\[(\d+)\])?:(.*)",
    re.S,
)
_FAST_DIAGS = re.compile(r"\[([A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?)\](.+)", re.S)
_FAST_PAIR = re.compile(r'[ \t]*([A-Za-z_][A-Za-z0-9_.-]*)="([^"]*)":?')
_FAST_PAIR_RUN = re.compile(r'(?:[ \t]*[A-Za-z_][A-Za-z0-9_.-]*="[^"]*":?)+')
_FAST_HTTPMSG = re.compile(r"[ \t]*\n?(HTTPMSG|SIPMSG):([\s\S]*)")
_LEVELS = "DIAG|DEBUG|STATUS|NOTE|WARNING|ERROR|FATAL|ALERT|EMERGENCY"
_FAST_ATS = re.compile(
    r"[ \t]*(?:\[([^\]\n]+)\][ \t]+|\{(0x[0-9A-Fa-f]+)\}[ \t]+|([A-Za-z_][\w.-]*)[ \t]+)?"
    rf"({_LEVELS}):[ \t]*([^ \t].*)",
    re.S,
)
# Message openings the grammar commits to; when one opens a message the specific pattern must match.
_KNOWN_OPENING = re.compile(
    r"Core[ \t]+server[ \t]+certificate[ \t]+verification[ \t]+failed[ \t]+for"
    r"|(?:SNI|SAN|Origin[ \t]+hostname)[ \t]*\("
    r"|SSL[ \t]+connection[ \t]+failed[ \t]+for"
)
_FAST_VERIFY = re.compile(
    r"Core server certificate verification failed for \(([^)\n]*)\)\.[ \t]+Action=([A-Za-z]+)[ \t]+"
    r"Error=([^\n]+?)(?=[ \t]+server=)[ \t]+(server=[^()\s]*\([^()\s]*\))[ \t]+depth=(-?\d+)[ \t]*"
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
        pairs.append((httpmsg.group(1), httpmsg.group(2)))
    return pairs


def fast_ats(body: str) -> Record | None:
    """An ATS diagnostic body, parsed as ats_diag.lark would, or None to let the grammar decide."""
    match = _FAST_ATS.fullmatch(body)
    if match is None:
        return None
    thread, hex_thread, program, level, message = match.groups()
    thread = thread if thread is not None else hex_thread
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
