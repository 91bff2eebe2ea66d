"""The traversal and SIP TLS lines of Expressway's `tvcs` (log-lines.md section 8), as records.

The parse stage keeps only traffic_server lines as events, so :class:`TvcsLines` reads every block of
whole lines the parser sees (the hook the safety net and the markers use), finds the few tvcs failure
lines with one byte search per marker, and parses each with the envelope and body grammars (every
dialect of section 7) and ``grammars/tvcs.lark`` for the developer line's address values.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from lark import Lark, Transformer, UnexpectedInput

from logscope.lines.blocks import unwrapped_event
from logscope.lines.fastpath import parse_event
from logscope.lines.phrases import LineFinder, lines_holding
from logscope.resources import grammar_path

# (byte marker, what the line is): one search per marker per block
MARKERS: tuple[tuple[bytes, str], ...] = (
    (b"TLS Negotiation Error", "tls_negotiation_error"),
    (b"TCP Connection Closed", "tcp_closed"),
    (b"Failed to establish SSL connection", "ssl_failed"),
    (b"Authentication Failed", "auth_failed"),
)
MARKER_WORDS = tuple(needle.lower() for needle, _ in MARKERS)
MAX_TVCS_LINES = 20_000  # a log holding more repeats itself: the first ones tell the story
MAX_LINE = 8192  # bytes of one tvcs line read
_UTC_TIME = re.compile(r'UTCTime=\s*"\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)[,.](\d+)')
# a record's reason is read from a `Reason=` key, an HTTP status line or an ATS CONNECT failure
_REASON_WORDS = ("Reason", "HTTP/", "CONNECT")
TVCS_PROCESSES = {None, "tvcs"}  # a line that names another process is not a traversal line


class _Address(Transformer):
    def start(self, items: list) -> tuple[str | None, int | None]:
        return items[-1]

    def quoted_endpoint(self, items: list) -> tuple[str | None, int | None]:
        return items[0]

    def endpoint(self, items: list) -> tuple[str | None, int | None]:
        host = str(items[0]).strip("[]") or None
        port = int(items[1]) if len(items) > 1 and int(items[1]) <= 65535 else None
        return host, port


@cache
def _address_parser() -> Lark:
    path = grammar_path("tvcs.lark")
    return Lark(path.read_text(encoding="utf-8"), parser="lalr", transformer=_Address())


def parse_address(value: str | None) -> tuple[str | None, int | None]:
    """`['IPv4''TCP''172.16.0.10:7001']` or `172.16.0.10:7001` -> (ip, port); (None, None) unread."""
    if not value or not value.strip():
        return None, None
    try:
        return _address_parser().parse(value.strip())
    except UnexpectedInput:
        return None, None


def _port(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and int(text) <= 65535 else None


def tvcs_record(text: str) -> dict[str, Any] | None:
    """One tvcs line -> a tls_events record (no time conversion yet), or None when it is not one."""
    marker = next((name for needle, name in MARKERS if needle.decode() in text), None)
    if marker is None:
        return None
    if marker == "tcp_closed" and not any(word in text for word in _REASON_WORDS):
        return None  # a healthy close (most tvcs lines of a busy log): no parse needed to know it
    parsed = parse_event(text)
    if parsed.get("process") not in TVCS_PROCESSES:
        return None
    extra = parsed.get("extra") or {}
    reason = str(extra.get("Reason") or parsed.get("reason") or "").strip()
    if marker == "tcp_closed" and not reason:
        return None  # a close with no reason is the healthy end of a connection
    src = (parsed.get("src_ip"), _port(parsed.get("src_port")))
    dst = (parsed.get("dst_ip"), _port(parsed.get("dst_port")))
    event = parsed.get("event") or parsed.get("detail") or marker
    if marker == "ssl_failed":
        local, peer = parse_address(extra.get("localAddress")), parse_address(extra.get("remoteAddress"))
        server = str(extra.get("bServer", "")).strip().lower()
        direction = {"true": "Inbound", "false": "Outbound"}.get(server)
        event = "Failed to establish SSL connection"
    elif str(event).startswith("Outbound"):
        direction, local, peer = "Outbound", src, dst
    elif str(event).startswith("Inbound") or marker == "auth_failed":
        direction, local, peer = "Inbound", dst, src
    else:  # a TCP close names no side: the lower port is the listener's (the zone port)
        inbound = src[1] is not None and dst[1] is not None and dst[1] < src[1]
        direction = "Inbound" if inbound else None
        local, peer = (dst, src) if inbound else (src, dst)
    return {
        "kind": marker,
        "ts_raw": parsed.get("ts_raw"),
        "ts_format": parsed.get("ts_format"),
        # the body's own UTC time, for a line whose envelope has none (section 7: host and process only)
        "utc_time": f"{utc[1]}.{utc[2]}+00:00" if (utc := _UTC_TIME.search(text)) else None,
        "host": parsed.get("node"),
        "direction": direction,
        "event": str(event),
        "local_ip": local[0],
        "local_port": local[1],
        "peer_ip": peer[0],
        "peer_port": peer[1],
        "detail": reason if marker == "tcp_closed" else parsed.get("detail"),
        "checked_name": extra.get("Common-name") or None,
        "ssl_error_reason": extra.get("ssl_error_reason") or None,
        "user": extra.get("Username") or extra.get("Auth-user") or None,
    }


# log-lines.md section 8 and 10: what a Detail= or ssl_error_reason says, and which side rejected
IDENTITY = ("certificate identity was unacceptable", "hostname mismatch", "ip address mismatch")
# The alert OpenSSL sends for a name the certificate lacks (ssl_x509err2alert in OpenSSL's
# ssl/statem/statem_lib.c, ssl_verify_alarm_type before 1.1.0: hostname and IP address mismatch ->
# bad certificate, as for a few other verify errors (not yet valid, a key too small), while every CA
# error -> unknown ca; the traversal TLS lab shows both): the rejected side's view of an identity
# failure, never a CA missing (the detector weighs a lone one: traversal_checks.py).
IDENTITY_ALERTS = ("alert bad certificate",)
PURPOSE = (
    "unsupported certificate purpose",
    "unsuitable certificate purpose",
    "alert unsupported certificate",
)
ALERTS = (
    "alert unknown ca",
    "alert certificate unknown",
    "alert unsupported certificate",
)
VERIFY = (
    "self signed certificate", "self-signed certificate", "unable to get local issuer certificate",
    "unable to get issuer certificate", "unable to verify the first certificate", "certificate verify failed",
    "certificate signature failure", "unsupported certificate purpose", "unsuitable certificate purpose",
)  # fmt: skip
DISCONNECT = ("no ssl error available", "probably remote disconnect")
# A certificate outside its validity period (seed 002: the date within the validity period is one of
# the conditions of trust; log-lines.md section 5: "certificate has expired", "certificate is not yet
# valid", often the clock; section 10: the `certificate expired` alert, ssl_x509err2alert's for
# X509_V_ERR_CERT_HAS_EXPIRED). Before the purpose and CA phrases: "certificate verify failed" may
# follow it in one line.
VALIDITY = ("certificate has expired", "certificate is not yet valid", "alert certificate expired")


def classify(kind: str, detail: str | None, ssl_reason: str | None) -> tuple[str, str | None]:
    """(cause, rejected_by) of one line: identity, untrusted, purpose, expired, disconnect, auth, close,
    other;
    `self` when this side rejected the peer's certificate, `peer` when the peer's alert says it
    rejected ours."""
    text = f"{detail or ''} {ssl_reason or ''}".lower()
    if kind == "auth_failed":
        return "auth", "self"
    if kind == "tcp_closed":
        return "close", None
    if any(phrase in text for phrase in IDENTITY):
        return "identity", "self"
    if any(phrase in text for phrase in IDENTITY_ALERTS):
        return "identity", "peer"
    if any(phrase in text for phrase in VALIDITY):
        return "expired", "peer" if "alert" in text else "self"
    if any(phrase in text for phrase in PURPOSE):
        return "purpose", "peer" if "alert" in text else "self"
    if any(phrase in text for phrase in ALERTS):
        return "untrusted", "peer"
    if any(phrase in text for phrase in VERIFY):
        return "untrusted", "self"
    if any(phrase in text for phrase in DISCONNECT):
        return "disconnect", None
    return "other", None


KNOWN_CAUSES = {"identity", "untrusted", "purpose", "expired", "disconnect", "auth", "close"}


# the process name as an envelope writes it: "tvcs:", "tvcs[123]:", "tvcs " (no colon, RFC 5424), after a
# blank or a tab (an envelope with tabs for spaces)
TVCS_PROCESS_NEEDLE = re.compile(rb"[ \t]tvcs(?:\[\d+\])?[: \t]")
TVCS_NAME = b"tvcs"  # what every match of TVCS_PROCESS_NEEDLE holds, one byte after its start
# A tvcs body with no process to name it (log-lines.md section 7: "No envelope at all: a bare body
# (`Event="..." Service="SIP" ...`", and "No process at all": time and host, then the body): a line
# whose body opens with a key="value" pair at its start or after a time and a host, and carries tvcs's
# `Service="SIP"` or one of its section-8 modules. The cheap byte search goes first.
TVCS_BODY_HINTS = (b"SIP", b"network.tcp", b"developer.ssl")
TVCS_BARE_BODY = re.compile(
    rb"(?m)^(?:\xef\xbb\xbf)?[ \t]*(?:Line \d+: )?(?:[^\s=]+[ \t]+[^\s=]+[ \t]+)?"
    rb'[A-Za-z_][\w.-]*=[ \t]*"[^\n]*?'
    rb'(?:Service=[ \t]*"[ \t]*SIP[ \t]*"|Module=[ \t]*"[ \t]*(?:network\.tcp|developer\.ssl)[ \t]*")'
)


def names_tvcs(block: bytes) -> bool:
    """Whether a block of lines shows tvcs logging: its process in an envelope, or a bare tvcs body."""
    return _names_process(block) or (
        any(hint in block for hint in TVCS_BODY_HINTS) and TVCS_BARE_BODY.search(block) is not None
    )


def _names_process(block: bytes) -> bool:
    """Whether TVCS_PROCESS_NEEDLE is in the block, tried only where the process name is: a search
    of the pattern over an 8 MiB block that names no tvcs took 30-100 ms, a byte search takes ~3."""
    position = block.find(TVCS_NAME)
    while position >= 0:
        if position and TVCS_PROCESS_NEEDLE.match(block, position - 1) is not None:
            return True
        position = block.find(TVCS_NAME, position + 1)
    return False


def marker_lines(block: bytes, line_base: int, finder: LineFinder = lines_holding) -> list[tuple[int, str]]:
    """(line number, text: at most MAX_LINE bytes) of the lines of a block of whole lines that hold a
    marker, in block order (`finder` finds them in any case; a marker's own case is checked here)."""
    found: list[tuple[int, str]] = []
    for start, line_ends in finder(block, MARKER_WORDS):
        end = block.find(b"\n", start)
        end = len(block) if end < 0 else end
        if not any(block.find(needle, start, end) >= 0 for needle, _ in MARKERS):
            continue
        text = block[start : min(end, start + MAX_LINE)].decode("utf-8", "replace").rstrip("\r")
        found.append((line_base + line_ends, text))
    return found


class TvcsLines:
    """Collects the tvcs traversal lines of the logs one parse reads, as records with their place."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.seen = False  # any line naming the tvcs process: the log covers the traversal at all
        self.pieces: dict[tuple[str, int], int] = {}  # (file, line) -> physical lines of a wrapped line

    def reader(
        self,
        source: str,
        default_node: str | None,
        *,
        wrapped: bool = False,
        finder: LineFinder = lines_holding,
    ) -> TvcsReader:
        """The `on_block` callback of one log; `wrapped`: its lines were wrapped at a fixed width;
        `finder`: how the lines holding a marker are found (the safety net's, see phrases.LineFinder)."""
        return TvcsReader(self, source, default_node, wrapped=wrapped, finder=finder)

    def claimed(self) -> set[tuple[str, int]]:
        """(file, line) of every line read into a record with a known cause: the safety net need not
        list them. A line whose cause no rule knows stays listed (never a confident answer over it)."""
        return {
            (record["source"], record["line"] + piece)
            for record in self.records
            if classify(record["kind"], record["detail"], record["ssl_error_reason"])[0] in KNOWN_CAUSES
            for piece in range(self.pieces.get((record["source"], record["line"]), 1))
        }


class TvcsReader:
    """The `on_block` callback of one log: finds the tvcs markers in each block of whole lines."""

    def __init__(
        self, owner: TvcsLines, source: str, default_node: str | None, *, wrapped: bool, finder: LineFinder
    ) -> None:
        self.owner, self.source, self.default_node = owner, source, default_node
        self.wrapped, self.finder = wrapped, finder

    def __call__(self, block: bytes, line_base: int) -> None:
        named = self.owner.seen or names_tvcs(block)
        self.found(
            block, line_base, [] if self.wrapped else marker_lines(block, line_base, self.finder), named
        )

    def found(self, block: bytes, line_base: int, lines: list[tuple[int, str]], named: bool) -> None:
        """Read a block's lines holding a marker and whether it names tvcs, found elsewhere (by a
        scan: `marker_lines`, `names_tvcs`); a wrapped log's block is searched here, its own way."""
        self.owner.seen = self.owner.seen or named
        if self.wrapped:
            self._read_wrapped(block, line_base)
            return
        for line, raw in lines:
            if len(self.owner.records) >= MAX_TVCS_LINES:
                return
            self._read(raw, line)

    def _read_wrapped(self, block: bytes, line_base: int) -> None:
        """A log wrapped at a fixed width: a marker may be cut in two, so each half is looked for, and
        each line found is read as its whole event (logscope.lines.blocks.unwrapped_event)."""
        starts: dict[int, tuple[bytes, int]] = {}
        for needle, _ in MARKERS:
            for half in (needle[: len(needle) // 2], needle[len(needle) // 2 :]):
                position = block.find(half)
                while position >= 0:
                    start, text, pieces = unwrapped_event(block, position)
                    if any(marker in text for marker, _ in MARKERS):
                        starts[start] = (text, pieces)
                    position = block.find(half, position + len(half))
        line, counted = line_base, 0
        for start in sorted(starts):
            if len(self.owner.records) >= MAX_TVCS_LINES:
                return
            line += block.count(b"\n", counted, start)
            counted = start
            text, pieces = starts[start]
            self._read(text[:MAX_LINE].decode("utf-8", "replace").rstrip("\r"), line, pieces)

    def _read(self, text: str, line: int, pieces: int = 1) -> None:
        try:
            record = tvcs_record(text)
        except Exception:  # a line no rule reads stays with the safety net (listed, never dropped)
            return
        if record is None:
            return
        record.update(
            node=self.default_node or record["host"], source=self.source, line=line, raw=text.lstrip("\ufeff")
        )
        if pieces > 1:
            self.owner.pieces[(self.source, line)] = pieces
        self.owner.records.append(record)
