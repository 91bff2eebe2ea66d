"""Undoing what publishers do to log lines: lines wrapped at a fixed width, events flattened onto one line.

log-lines.md section 7, "Line structure". Both are decided on physical lines before any grammar
runs, so the record path and the scanner path see the same events:

- A line that opens with no envelope (and is no `|`/space-led message line) continues the event above
  it when that event has an envelope (a log whose events carry envelopes does not mix in bare bodies)
  or when its body is plainly incomplete (an unclosed quote, a known ATS message cut short). How to
  join: after a hyphen, or at a confirmed fixed width (the line is as long as the longest line of its
  group and another line has that length), the break was mid-word: no separator; otherwise the
  publisher broke at a space and lost it: one space.
- A second envelope inside a line (a full RFC 3339 envelope, or `host process[pid]:`) opens a new event.

The envelope openings mirror grammars/envelope.lark (RFC3339, BSD_TIME, PRI_VERSION, DIAGS_HEAD,
HOST_PROCESS with a pid, LINE_PREFIX); a line they do not open is parsed by those grammars as a bare
body, which is what a wrapped piece would otherwise become.
"""

from __future__ import annotations

import re

from logscope.lines.fastpath import parse_event

_TIME = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)"
_BSD = rb"[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d"
_HOST_PROC_PID = rb"[^\s\[\]=\"]+[ \t]+[A-Za-z_][\w.-]*\[\d+\]:"
# envelope.lark's headless_line without a pid (`expe1 tvcs: `), the process a word and not a level
_HOST_PROC = (
    rb"[^\s\[\]=\"]+[ \t]+(?!(?:DIAG|DEBUG|STATUS|NOTE|WARNING|ERROR|FATAL|ALERT|EMERGENCY):)"
    rb"[A-Za-z_][\w.-]*: "
)
# What opens an event at the start of a line (the cheap RFC 3339 test first: the pristine shape).
_OPENS = re.compile(
    rb"\d{4}-\d\d-\d\dT\d\d:\d\d"
    rb"|<\d{1,3}>1 "
    rb"|\[[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d"
    rb"|" + _BSD + rb" "
    rb"|[ \t]*Line \d+: "
    rb"|\d{8}\.\d\dh\d\dm\d\ds "
    rb"|" + _HOST_PROC_PID + rb"|" + _HOST_PROC
)
_PRISTINE_OPENING = re.compile(rb"\d{4}-\d\d-\d\dT")
# A second envelope inside a line, after a blank: a full time-host-process envelope, or a host and
# a process with its pid (the time may be missing, or a BSD time).
_DIAGS_TIME = rb"\[[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?\] "  # ATS diags.log's envelope
_MID_ENVELOPE = re.compile(
    rb"[ \t]+(?=(?:<\d{1,3}>1 )?" + _TIME + rb"[ \t]+[^\s\[\]=\"]+[ \t]+[A-Za-z_][\w.-]*(?:\[\d+\])?:?[ \t]"
    rb"|(?:" + _BSD + rb"[ \t]+)?" + _HOST_PROC_PID + rb"|" + _DIAGS_TIME + rb")"
)
# What a second envelope holds past a line's own head: a syslog `]:`, an RFC 3339 time, an ATS diags
# time. The scanners decline an ATS or text body holding one (pyscan uses this; _cscan.c's flat_tail).
MAY_BE_FLATTENED = re.compile(rb"\]:|\dT\d\d:\d\d:\d\d|\d\d:\d\d:\d\d(?:\.\d+)?\] ")
# The line's own envelope, where the search for a second one starts.
_HEAD = re.compile(
    rb"[ \t]*(?:Line \d+: )?(?:<\d{1,3}>1 )?(?:" + _TIME + rb"|" + _BSD + rb")?[ \t]*"
    rb"[^\s\[\]=\"]+[ \t]+[A-Za-z_][\w.-]*(?:\[\d+\])?:?"
)
# ATS messages that have a fixed tail: cut short when the opening is there and the tail is not.
_OPENINGS = re.compile(rb"Core server certificate|(?:SNI|SAN|Origin hostname) \(|SSL connection failed")
_WHOLE = re.compile(
    rb"Core server certificate verification failed for \(.*depth=-?\d+\s*$"
    rb"|(?:SNI|SAN|Origin hostname) \(.*\)\s*not in certificate\..*\)\s*$"
    rb"|SSL connection failed for\s*['\"].*['\"]:\s*\S.*:\s*\S"
)


def opens_event(line: bytes) -> bool:
    """Whether a physical line opens with an envelope (any dialect of log-lines section 7)."""
    return _PRISTINE_OPENING.match(line) is not None or _OPENS.match(line) is not None


def incomplete(first_line: bytes) -> bool:
    """Whether an event's first line is plainly cut short: an unclosed quote, a hyphen at its end,
    or a known ATS message without its fixed tail."""
    if first_line.count(b'"') % 2 or first_line.rstrip().endswith(b"-"):
        return True
    return _OPENINGS.search(first_line) is not None and _WHOLE.search(first_line) is None


def continues(first_line: bytes, line: bytes) -> bool:
    """Whether `line` (no envelope, no message marker, not blank) continues the event `first_line` opened."""
    return not opens_event(line) and (opens_event(first_line) or incomplete(first_line))


def join(pieces: list[bytes]) -> bytes:
    """One line from the pieces a fixed-width wrap made of it (see the module docstring).

    After a hyphen the break was mid-word. A piece shorter than the longest was broken at a space.
    A piece as long as the longest may be either: mid-word by default when another line confirms the
    width, at a space otherwise; and the grammars decide where one join reads more of the event
    than the other (`Msg="GET` + `/path HTTP/1.1"`, a URL or a `Detail` cut in two).
    """
    lengths = [len(piece) for piece in pieces[:-1]]
    width = max(lengths)
    confirmed = [*lengths, len(pieces[-1])].count(width) > 1
    separators = []
    for piece, length in zip(pieces, lengths, strict=False):
        if piece.endswith(b"-"):
            separators.append(b"")
        elif length < width:
            separators.append(b" ")
        else:
            separators.append(None if confirmed else _AMBIGUOUS)
    for index, separator in enumerate(separators):
        if separator is None or separator is _AMBIGUOUS:
            separators[index] = _read_better(pieces, separators, index, b"" if separator is None else b" ")
    return pieces[0] + b"".join(sep + piece for sep, piece in zip(separators, pieces[1:], strict=True))


_AMBIGUOUS = b"?"


def _read_better(pieces: list[bytes], separators: list, index: int, default: bytes) -> bytes:
    """The separator at break `index` whose join the grammars read more of; `default` on a tie."""
    other = b" " if default == b"" else b""
    scores = []
    for choice in (default, other):
        trial = [
            choice if i == index else (b" " if s in (None, _AMBIGUOUS) else s)
            for i, s in enumerate(separators)
        ]
        text = pieces[0] + b"".join(sep + piece for sep, piece in zip(trial, pieces[1:], strict=True))
        scores.append(_fields_read(text))
    return other if scores[1] > scores[0] else default


def _fields_read(text: bytes) -> int:
    """How much of an event the grammars read: its fields with a value, a known kind counting most."""
    try:
        record = parse_event(text.decode("utf-8", errors="replace"))
    except Exception:  # a join the grammars cannot take reads nothing
        return -1
    known = record.get("kind") not in (None, "other", "unparsed")
    return 100 * known + sum(1 for value in record.values() if value not in (None, "", {}))


def split_flattened(line_no: int, text: bytes) -> list[tuple[int, bytes]]:
    """The events of one line that several were flattened onto (the line itself when one); message
    lines folded below the first line stay with the last event."""
    newline = text.find(b"\n")
    first = text if newline < 0 else text[:newline]
    head = _HEAD.match(first)
    position = head.end() if head else 1
    # every second envelope holds one of these past the line's own head (the cheap test: most lines)
    if MAY_BE_FLATTENED.search(first, position) is None:
        return [(line_no, text)]
    starts, ends = [0], []
    while found := _MID_ENVELOPE.search(first, position):
        ends.append(found.start())
        starts.append(found.end())
        head = _HEAD.match(first, found.end())
        position = head.end() if head else found.end() + 1
    if not ends:
        return [(line_no, text)]
    ends.append(len(text))
    return [(line_no, text[start:end]) for start, end in zip(starts, ends, strict=True) if end > start]
