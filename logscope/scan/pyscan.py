"""The Python backend of the block scanner: byte regular expressions per event, spans out.

It writes the flat layout of :mod:`logscope.scan.layout`; the C extension (_cscan.c) implements the
same rules byte for byte, and tests/test_scan.py compares them. Every rule is strict: one space
between tokens, ASCII hosts, processes and thread tags, a known shape or nothing. What is not sure is
declined, never guessed.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field

import logscope.scan.layout as L
from logscope.lines.unwrap import MAY_BE_FLATTENED

_MONTHS = {
    m.encode(): i + 1
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    )
}
_LEVEL_CODES = {level.encode(): i + 1 for i, level in enumerate(L.LEVELS)}
_CONTINUATION_START = (b"|", b" ", b"\t", b"HTTPMSG:", b"SIPMSG:")
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f]")
_HOST = rb"([!-Z\\^-~]+)"  # printable ASCII but [ ]
_PROC = rb"([!#-9;<>-Z\\^-~]+)"  # and no : = "
_RFC3339 = rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)"
_MON_DAY = rb"([A-Z][a-z]{2})(?: (\d\d)|  ?(\d))"
_SYSLOG = re.compile(_RFC3339 + rb" " + _HOST + rb" " + _PROC + rb"(?:\[(\d{1,18})\])?:", re.S)
_BSD = re.compile(
    _MON_DAY + rb" (\d\d):(\d\d):(\d\d) " + _HOST + rb" " + _PROC + rb"(?:\[(\d{1,18})\])?:", re.S
)
_RFC5424 = re.compile(
    rb"<\d{1,3}>1 "
    + _RFC3339
    + rb" "
    + _HOST
    + rb" ([!-~]+) (\d{1,18}|-) [!-~]+ - (?:\xef\xbb\xbf)?(?=[!-~\x80-\xff])"
)
_DIAGS = re.compile(rb"\[" + _MON_DAY + rb" (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\]")
_UTC_KEY = re.compile(rb'UTCTime="')
_UTC_TIME = re.compile(rb'UTCTime="(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:,(\d{1,9}))?"')
_KV_START = re.compile(rb'[A-Za-z_][A-Za-z0-9_.-]*="')
_PAIR = re.compile(rb'([A-Za-z_][A-Za-z0-9_.-]*)="([^"\n]*)":?')
_VALUE = re.compile(rb'"[^"\n]*"')
_MARKER = re.compile(rb" (HTTPMSG|SIPMSG):")
_NEXT_MARKER = re.compile(rb"\n(HTTPMSG|SIPMSG):")
_ATS = re.compile(
    rb"(?:\[([ -\\^-~]+)\] |\{(0x[0-9A-Fa-f]+)\} |([A-Za-z_][A-Za-z0-9_.-]*) )?"
    rb"(DIAG|DEBUG|STATUS|NOTE|WARNING|ERROR|FATAL|ALERT|EMERGENCY): (?=[^ \t])"
)
# A superset of what body_family() calls an ATS body: a body it matches is ATS or declined, never text.
_ATS_START = re.compile(rb"(\[[^\]\n]+\] *|\{0x[0-9A-Fa-f]+\} *|[A-Za-z_][^ \t\n]* +)?[A-Z]+:")
_KNOWN_OPENING = re.compile(
    rb"Core server certificate verification failed for "
    rb"|(?:SNI|SAN|Origin hostname) \("
    rb"|SSL connection failed for "
)
# An opening word of those messages, however it is spaced: the grammar's openings take any run of
# spaces or tabs between their words, so a message that starts like one and is not one of the exact
# openings above is declined, never read as free text (the C scanner's `loose_opening`).
_LOOSE_OPENING = re.compile(rb"(?:Core|SSL|SNI|SAN|Origin)[ \t(]")
_SERVER = rb"server=([!-'*-~]*)\(([!-'*-~]*)\)"  # printable ASCII but ( )
_VERIFY = re.compile(
    rb"Core server certificate verification failed for \(([^)\n]*)\)\. Action=([A-Za-z]+) Error=(.+?) "
    + _SERVER
    + rb" depth=(-?\d{1,18})"
)
_NAME_CHECK = re.compile(
    rb"(SNI|SAN|Origin hostname) \(([^)\n]*)\) not in certificate\. Action=([A-Za-z]+) " + _SERVER
)
_SSL_FAILED = re.compile(rb"SSL connection failed for (?:'([^'\n]*)'|\"([^\"\n]*)\"): (?=[^ \t])")
# What opens the line after an event (or ends the block, or a blank line) so that the event is whole:
# the envelopes read natively. Any other line may be a piece a publisher wrapped off the event above
# (logscope.lines.unwrap, stricter there), so the event is declined. The C scanner's `whole_after`.
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d"
_WHOLE_AFTER = re.compile(
    rb"\d{4}-\d\d-\d\dT\d\d:\d\d|<\d{1,3}>1 |\[" + _MONTH + rb"|" + _MONTH + rb" |\r?\n|\r?\Z"
)
_UNICODE_SPACES = frozenset(" \t\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)


@dataclass
class RawScan:
    """What a backend returns for one block: flat int64 rows, value spans, shapes and declines."""

    events: array = field(default_factory=lambda: array("q"))  # NCOL per accepted event
    values: array = field(default_factory=lambda: array("q"))  # (start, length) per kv value
    shapes: list[tuple[str, ...]] = field(default_factory=list)  # key sequence per shape id
    declined: array = field(default_factory=lambda: array("q"))  # (offset, length, line, reason)

    @property
    def count(self) -> int:
        return len(self.events) // L.NCOL


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def time_ns(year: int, month: int, day: int, hh: int, mm: int, ss: int, frac: bytes | None) -> int | None:
    """UTC nanoseconds of a wall time, or None when it is not a valid time pandas can hold."""
    if not (1678 <= year <= 2261 and 1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    if hh > 23 or mm > 59 or ss > 59:
        return None
    nanos = int(frac.ljust(9, b"0")) if frac else 0
    seconds = days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss
    return seconds * 1_000_000_000 + nanos


_HOURS: dict[tuple, int | None] = {}


def _rfc3339_ns(m: re.Match, base: int) -> int | None:
    g = m.groups()[base : base + 8]
    key = (g[0], g[1], g[2], g[3], g[7])
    hour = _HOURS.get(key, 0)
    if hour == 0:
        hour = _hour_ns(g)
        if len(_HOURS) < 65536:
            _HOURS[key] = hour
    minutes, seconds = int(g[4]), int(g[5])
    if hour is None or minutes > 59 or seconds > 59:
        return None
    nanos = int(g[6].ljust(9, b"0")) if g[6] else 0
    return hour + (minutes * 60 + seconds) * 1_000_000_000 + nanos


def _hour_ns(g: tuple) -> int | None:
    """UTC ns of the hour of an RFC 3339 time, its zone applied (None: not a time pandas holds)."""
    ns = time_ns(int(g[0]), int(g[1]), int(g[2]), int(g[3]), 0, 0, None)
    zone = g[7]
    if ns is None:
        return None
    if zone == b"Z":
        return ns
    hours, minutes = int(zone[1:3]), int(zone[-2:])
    if hours > 23 or minutes > 59:
        return None
    offset = (hours * 60 + minutes) * 60_000_000_000
    return ns - offset if zone[:1] == b"+" else ns + offset


def _yearless_ns(month: bytes, day: bytes, hh: bytes, mm: bytes, ss: bytes, frac, year) -> int | None:
    if year is None or month not in _MONTHS or (frac is not None and len(frac) > 6):
        return None
    return time_ns(year, _MONTHS[month], int(day), int(hh), int(mm), int(ss), frac)


class _Scanner:
    def __init__(self, block: bytes, year: int | None) -> None:
        self.block, self.year = block, year
        self.raw = RawScan()
        self.shape_ids: dict[tuple[bytes, ...], int] = {}
        self.plans: dict[tuple[bytes, bytes], tuple | bool] = {}
        self.events: list[int] = []  # lists while scanning (fast appends), arrays at the end
        self.values: list[int] = []
        self.declined: list[int] = []

    def finish(self) -> RawScan:
        raw = self.raw
        raw.events, raw.values, raw.declined = (
            array("q", self.events),
            array("q", self.values),
            array("q", self.declined),
        )
        return raw

    def decline(self, start: int, length: int, line: int, reason: int) -> None:
        self.declined.extend((start, length, line, reason))

    def event(self, start: int, end: int, line: int, multiline: bool) -> None:
        """One event: block[start:end] (no final newline)."""
        block = self.block
        after = end + 1
        if not multiline and end > start and block[end - 1] == 13:
            end -= 1
        length = end - start
        if length > L.MAX_EVENT_BYTES:
            return self.decline(start, length, line, L.DECLINE_OVERLONG)
        if after < len(block) and not _WHOLE_AFTER.match(block, after):
            return self.decline(start, length, line, L.DECLINE_WRAPPED)
        text = block[start:end]
        if b"\0" in text:
            return self.decline(start, length, line, L.DECLINE_NUL)
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            return self.decline(start, length, line, L.DECLINE_UTF8)
        if _CONTROL.search(text) or b"\t" in text.split(b"\n", 1)[0]:  # a tab in the first line: odd spacing
            return self.decline(start, length, line, L.DECLINE_CONTROL)
        row = _TEMPLATE.copy()
        row[L.OFFSET], row[L.LENGTH], row[L.LINE] = start, length, line
        body = self.envelope(text, row)
        if body is None or not self.body(text, body, row, start):
            return self.decline(start, length, line, L.DECLINE_SHAPE)
        for column in _SPAN_STARTS:
            if row[column + 1] >= 0:
                row[column] += start
        self.events.extend(row)
        return None

    def envelope(self, text: bytes, row: list[int]) -> int | None:
        """Fill the envelope columns; return where the body starts (None: declined)."""
        if m := _SYSLOG.match(text):
            row[L.DIALECT] = L.RFC3339
            row[L.TS] = _or_null(_rfc3339_ns(m, 0))
            row[L.TS_START], row[L.TS_LEN] = m.start(1), m.end(8) - m.start(1)
            _set_spans(row, m, ((L.HOST_START, 9), (L.PROC_START, 10)))
            row[L.PID] = int(m[11]) if m[11] is not None else L.NULL
            body = m.end()
            if m[10].decode() in L.LEVELS:
                return None
        elif m := _RFC5424.match(text):
            row[L.DIALECT] = L.RFC5424
            row[L.TS] = _or_null(_rfc3339_ns(m, 0))
            row[L.TS_START], row[L.TS_LEN] = m.start(1), m.end(8) - m.start(1)
            _set_spans(row, m, ((L.HOST_START, 9), (L.PROC_START, 10)))
            row[L.PID] = int(m[11]) if m[11] != b"-" else L.NULL
            return m.end()
        elif m := _BSD.match(text):
            row[L.DIALECT] = L.BSD
            row[L.TS_START], row[L.TS_LEN] = m.start(1), m.end(6) - m.start(1)
            _set_spans(row, m, ((L.HOST_START, 7), (L.PROC_START, 8)))
            row[L.PID] = int(m[9]) if m[9] is not None else L.NULL
            body = m.end()
            if m[8].decode() in L.LEVELS or m[1] not in _MONTHS:
                return None
            utc = _UTC_KEY.search(text, body)
            if utc is not None:
                stamp = _UTC_TIME.match(text, utc.start())
                if stamp is None:
                    return None
                g = stamp.groups()
                ns = time_ns(int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]), g[6])
                if ns is None:
                    return None
                row[L.TS] = ns
                row[L.TS_START], row[L.TS_LEN] = stamp.start(1), stamp.end() - 1 - stamp.start(1)
            else:
                day = m[2] or m[3]
                row[L.TS] = _or_null(_yearless_ns(m[1], day, m[4], m[5], m[6], b"0", self.year))
        elif m := _DIAGS.match(text):
            row[L.DIALECT] = L.DIAGS
            row[L.TS_START], row[L.TS_LEN] = m.start(1), m.end() - 1 - m.start(1)
            day = m[2] or m[3]
            row[L.TS] = _or_null(_yearless_ns(m[1], day, m[4], m[5], m[6], m[7], self.year))
            body = m.end()
        else:
            return None
        if text[body : body + 1] != b" " or text[body + 1 : body + 2] in (b"", b" ", b"\t", b"\n"):
            return None
        return body + 1

    def body(self, text: bytes, body: int, row: list[int], base: int) -> bool:
        if _KV_START.match(text, body):
            row[L.FAMILY] = L.KV
            return self.pairs(text, body, row, base)
        if b"\n" in text:
            return False
        if MAY_BE_FLATTENED.search(text, body):
            return False
        if _ATS_START.match(text, body):
            row[L.FAMILY] = L.ATS
            return self.ats(text, body, row)
        row[L.FAMILY], row[L.KIND] = L.TEXT, L.KIND_OTHER
        return _message(text, body, row)

    def pairs(self, text: bytes, position: int, row: list[int], base: int) -> bool:
        """A key="value" body: its skeleton (values emptied) picks a per-shape regex, matched once."""
        newline = text.find(b"\n", position)
        first = text[position:] if newline < 0 else text[position:newline]
        skeleton = _VALUE.sub(b'""', first)
        if marker := _MARKER.search(skeleton):
            key = (skeleton[: marker.end()], b"")
        elif newline >= 0:
            following = _NEXT_MARKER.match(text, newline)
            if following is None:
                return False
            key = (skeleton, following[1])
        else:
            key = (skeleton, b"")
        plan = self.plans.get(key)
        if plan is None:
            if len(self.plans) >= 4 * L.MAX_SHAPES:  # a cache: forgetting it changes no output
                self.plans.clear()
            plan = self.plans[key] = self.plan(*key)
        if plan is False:
            return False
        regex, shape_id, count = plan
        m = regex.fullmatch(text, position)
        if m is None:
            return False
        spans = self.values
        row[L.SHAPE], row[L.VALUES_FIRST], row[L.VALUES_COUNT] = shape_id, len(spans) // 2, count
        spans.extend([x for start, end in m.regs[1:] for x in (base + start, end - start)])
        return True

    def plan(self, skeleton: bytes, next_line: bytes):
        """(regex with one group per value, shape id, value count) for a skeleton, or False."""
        keys: list[bytes] = []
        parts: list[bytes] = []
        position, size = 0, len(skeleton)
        while True:
            m = _PAIR.match(skeleton, position)
            if m is None or len(keys) >= L.MAX_PAIRS or m[1] in (b"HTTPMSG", b"SIPMSG"):
                return False
            keys.append(m[1])
            parts.append(m[1] + b'="([^"\n]*)"' + (b":" if m[0].endswith(b":") else b""))
            position = m.end()
            if position == size:
                break
            if skeleton[position : position + 1] != b" ":
                return False
            if message := _MARKER.match(skeleton, position):
                if message.end() != size:
                    return False
                keys.append(message[1])
                break
            position += 1
        pattern = b" ".join(parts)
        if len(keys) > len(parts):
            pattern += b" " + keys[-1] + b":(.*)"
        elif next_line:
            keys.append(next_line)
            pattern += b"\n" + next_line + b":(.*)"
        shape = tuple(keys)
        shape_id = self.shape_ids.get(shape)
        if shape_id is None:
            if len(self.shape_ids) >= L.MAX_SHAPES:
                return False
            shape_id = self.shape_ids[shape] = len(self.shape_ids)
            self.raw.shapes.append(tuple(key.decode() for key in shape))
        return re.compile(pattern, re.S), shape_id, len(keys)

    def ats(self, text: bytes, body: int, row: list[int]) -> bool:
        m = _ATS.match(text, body)
        if m is None:
            return False
        thread = 1 if m[1] is not None else 2 if m[2] is not None else None
        if thread is not None:
            row[L.THREAD_START], row[L.THREAD_LEN] = m.start(thread), m.end(thread) - m.start(thread)
        if m[3] is not None:
            row[L.PROGRAM_START], row[L.PROGRAM_LEN] = m.start(3), m.end(3) - m.start(3)
        row[L.LEVEL] = _LEVEL_CODES[m[4]]
        message = m.end()
        if text[message] in b"<(":
            return False
        if not _KNOWN_OPENING.match(text, message):
            if _LOOSE_OPENING.match(text, message):  # the grammar reads spaced or tabbed openings
                return False
            row[L.KIND] = L.KIND_OTHER
            return _message(text, message, row)
        if not _fits_end(text):
            return False
        if v := _VERIFY.fullmatch(text, message):
            row[L.KIND] = L.KIND_VERIFY
            _set_spans(row, v, ((L.F1_START, 1), (L.ACTION_START, 2), (L.F3_START, 3)))
            _set_spans(row, v, ((L.SERVER_START, 4), (L.IP_START, 5)))
            row[L.DEPTH] = int(v[6])
            return b" server=" not in text[v.start(3) : v.end(3)]
        if c := _NAME_CHECK.fullmatch(text, message):
            row[L.KIND], row[L.NAME_CHECK] = L.KIND_NAME_CHECK, L.NAME_CHECKS.index(c[1].decode()) + 1
            _set_spans(row, c, ((L.F1_START, 2), (L.ACTION_START, 3), (L.SERVER_START, 4), (L.IP_START, 5)))
            return True
        if f := _SSL_FAILED.match(text, message):
            row[L.KIND] = L.KIND_SSL_FAILED
            name = 1 if f[1] is not None else 2
            _set_spans(row, f, ((L.F1_START, name),))
            row[L.F3_START], row[L.F3_LEN] = f.end(), len(text) - f.end()
            return True
        return False


def _set_spans(row: list[int], m: re.Match, pairs: tuple[tuple[int, int], ...]) -> None:
    for column, group in pairs:
        row[column], row[column + 1] = m.start(group), m.end(group) - m.start(group)


def _fits_end(text: bytes) -> bool:
    """Whether the event ends in a character Python's str.strip() keeps (not a space of any kind)."""
    tail = text[-4:].decode("utf-8", errors="ignore")
    return bool(tail) and tail[-1] not in _UNICODE_SPACES and not tail[-1].isspace()


def _message(text: bytes, start: int, row: list[int]) -> bool:
    """A free-text message from `start` to the end: kept whole, so it must need no stripping."""
    if start >= len(text) or not _fits_end(text):
        return False
    head = text[start : start + 4].decode("utf-8", errors="ignore")
    if not head or head[0].isspace():
        return False
    row[L.MSG_START], row[L.MSG_LEN] = start, len(text) - start
    return True


def _or_null(value: int | None) -> int:
    return L.NULL if value is None else value


_SPAN_STARTS = (
    L.TS_START,
    L.HOST_START,
    L.PROC_START,
    L.THREAD_START,
    L.PROGRAM_START,
    L.MSG_START,
    L.F1_START,
    L.ACTION_START,
    L.F3_START,
    L.SERVER_START,
    L.IP_START,
)


def _template_row() -> list[int]:
    row = [L.NULL] * L.NCOL
    for column in _SPAN_STARTS:
        row[column], row[column + 1] = 0, -1
    row[L.DIALECT] = row[L.FAMILY] = row[L.KIND] = row[L.LEVEL] = row[L.NAME_CHECK] = 0
    row[L.SHAPE], row[L.VALUES_FIRST], row[L.VALUES_COUNT] = -1, 0, 0
    return row


_TEMPLATE = _template_row()


def scan(block: bytes, line_base: int = 1, needle: bytes | None = None, year: int | None = None) -> RawScan:
    """Scan one block of whole lines (see the package docstring for the contract)."""
    scanner = _Scanner(block, year)
    size = len(block)
    position, line_no, counted_to = 0, line_base, 0
    while position < size:
        if needle is None:
            start = position
        else:
            hit = block.find(needle, position)
            if hit < 0:
                break
            start = max(block.rfind(b"\n", 0, hit) + 1, position)
        end = block.find(b"\n", start)
        end = size if end < 0 else end
        line_no += block.count(b"\n", counted_to, start)
        counted_to = start
        if block.startswith(_CONTINUATION_START, start) or block[start:end] in (b"", b"\r"):
            position = end + 1
            continue
        last = end
        while last + 1 < size and block.startswith(_CONTINUATION_START, last + 1):
            nxt = block.find(b"\n", last + 1)
            last = size if nxt < 0 else nxt
        scanner.event(start, last, line_no, last != end)
        position = last + 1
    return scanner.finish()
