"""Parse stage: log members -> one row per event in the `events` DataFrame.

A snapshot is read in large binary chunks, never as one string. Lines that no signature can use are
counted, not parsed: in an Expressway snapshot only `traffic_server` lines matter, so a byte search
for the process name pre-selects them (``tests/test_fast_path.py`` checks the pre-selection against
the envelope grammar). Selected events go through :func:`logscope.lines.parse_event`. DEBUG events
whose `HTTPMSG:` body continues on `|`- or space-led lines are folded into one event first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

import pandas as pd

from logscope.frame import (
    EVENT_COLUMNS,
    EVENT_DTYPES,
    KINDS,
    TEXT_COLUMNS,
    infer_bsd_zones,
    records_to_frame,
    typed,
)
from logscope.lines import parse_event
from logscope.lines.phrases import SafetyNet
from logscope.lines.tvcs import TvcsLines
from logscope.markers import MarkerLines

__all__ = ["EVENT_COLUMNS", "EVENT_DTYPES", "KINDS", "FrameBuilder", "ParseResult", "ParseStats"]

CHUNK_BYTES = 8 * 1024 * 1024
FRAME_ROWS = 20_000  # records turned into a typed frame at a time
MAX_EVENT_BYTES = 256 * 1024  # an event longer than this is truncated (and counted)
MAX_LINE_BYTES = 4 * 1024 * 1024  # a line longer than this is skipped without being buffered
# `HTTPMSG:`/`SIPMSG:` alone on the line after the pairs belongs to the event above (a dialect).
_CONTINUATION_START = (b"|", b" ", b"\t", b"HTTPMSG:", b"SIPMSG:")
_BLANK = (b"", b"\r")
# An editor's search window puts `Line N: ` (maybe indented) before every line it lists, continuation
# lines too: what follows the prefix says whether the line continues the event above it.
_LINE_PREFIX = re.compile(rb"[ \t]*Line \d+: ")
_LINE_PREFIXES = re.compile(rb"(?m)^[ \t]*Line \d+: ")
_MAY_HAVE_PREFIX = (b"Line ", b" ", b"\t")


def _continues(block: bytes, position: int) -> bool:
    """Whether the line at `position` continues the event above it (an HTTP/SIP message line)."""
    if block.startswith(_MAY_HAVE_PREFIX, position) and (prefix := _LINE_PREFIX.match(block, position)):
        position = prefix.end()
    return block.startswith(_CONTINUATION_START, position)


class LogMember(Protocol):
    """What the parse stage needs of a bundle member (see :class:`logscope.bundle.Member`)."""

    source: str
    host: str | None

    def display(self) -> str: ...

    def open(self) -> BinaryIO: ...


@dataclass
class ParseStats:
    lines: int = 0
    bytes: int = 0
    events: int = 0
    selected: int = 0
    unparsed: int = 0
    partial: int = 0
    truncated: int = 0
    oversize_lines: int = 0
    invalid_utf8: int = 0
    seconds: float = 0.0
    by_source: dict[str, int] = field(default_factory=dict)
    parse_errors: dict[str, int] = field(default_factory=dict)  # lines whose parsing raised, by error

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ParseResult:
    events: pd.DataFrame
    stats: ParseStats
    unread: list[tuple[LogMember, str]] = field(default_factory=list)  # logs cut by a read error
    # lines that speak of a certificate/TLS failure no rule read (design.md layer (a)):
    # {file, line, text, family}, in file order
    unrecognised: list[dict] = field(default_factory=list)
    # DEBUG_MARKER lines from any line of the logs: {node, ts, text, file, line} (logscope.markers)
    markers: list[dict] = field(default_factory=list)
    tls_records: list[dict] = field(default_factory=list)  # tvcs traversal lines (logscope.lines.tvcs)
    tvcs_seen: bool = False  # whether any line of the logs names the tvcs process (traversal checks need it)


# --- reading events out of a binary stream ------------------------------------------------------


def _needle_for(source: str, all_events: bool, head: bytes | None = None) -> bytes | None:
    """The byte string that pre-selects lines; None selects every line.

    Expressway snapshots: only `traffic_server` lines feed a signature. An ATS diags.log / error.log
    is traffic-server output throughout, and so is taken an excerpt whose head holds no pristine
    envelope (bare bodies, a dialect): its lines may not name their process, so all are read.
    """
    if all_events or source != "log" or (head is not None and not _PRISTINE_LINE.search(head)):
        return None
    return b" traffic_server"


_PRISTINE_LINE = re.compile(
    rb"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d) +\S+ +\S+(\[\d+\])?: "
)
HEAD_BYTES = 64 * 1024


class _Replayed:
    """A stream whose first bytes were read ahead (to choose the pre-selection), served again."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.rest.read(size)
        if size < 0:
            data, self.head = self.head + self.rest.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        return data


def iter_events(
    stream: BinaryIO,
    stats: ParseStats,
    *,
    needle: bytes | None = None,
    progress: Callable[[int], None] | None = None,
    on_block: Callable[[bytes, int], None] | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, event bytes) for each selected event, continuation lines folded in.

    A line is selected when it contains `needle` (all lines when None) and does not itself start
    like a continuation. Lines after a selected event that start with `|`, space or tab are folded
    into it, so a DEBUG `HTTPMSG:` body stays with its event. `on_block(block, first line number)`
    sees every block of whole lines before its events are selected (the safety net reads them all).
    """
    carry = b""
    line_base = 1  # line number of the first line in `carry + chunk`
    pending: tuple[int, bytes] | None = None
    skipping_long_line = False
    for chunk in _line_chunks(stream, stats):
        if progress:
            progress(stats.bytes)
        if skipping_long_line:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1 :]
            line_base += 1
            skipping_long_line = False
        buffer = carry + chunk
        end = buffer.rfind(b"\n")
        if end < 0:
            if len(buffer) > MAX_LINE_BYTES:
                stats.oversize_lines += 1
                carry, skipping_long_line = b"", True
            else:
                carry = buffer
            continue
        carry = buffer[end + 1 :]
        block = buffer[: end + 1]
        if on_block:
            on_block(block, line_base)
        pending = yield from _events_in_block(block, line_base, needle, pending)
        line_base += block.count(b"\n")
    if carry:
        if on_block:
            on_block(carry + b"\n", line_base)
        pending = yield from _events_in_block(carry + b"\n", line_base, needle, pending)
        line_base += 1
    stats.lines += line_base - 1
    if pending:
        yield pending


def _line_chunks(stream: BinaryIO, stats: ParseStats) -> Iterator[bytes]:
    """The stream in chunks whose line ends are all `\\n`: a lone CR (old Mac line ends, or a CR-only
    log) ends a line too, so such a file is not read as one line cut at MAX_EVENT_BYTES. A CR at
    the end of a chunk waits for the next one, which may start with the LF of the same CRLF."""
    held = b""
    while chunk := stream.read(CHUNK_BYTES):
        stats.bytes += len(chunk)
        chunk = held + chunk
        held = b""
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                chunk, held = chunk[:-1], b"\r"
            chunk = _LONE_CR.sub(b"\n", chunk)
        if chunk:
            yield chunk
    if held:
        yield b"\n"


_LONE_CR = re.compile(rb"\r(?!\n)")


def _events_in_block(
    block: bytes, line_base: int, needle: bytes | None, pending: tuple[int, bytes] | None
) -> Iterator[tuple[int, bytes]]:
    """Events inside `block` (whole lines). Returns the event that may continue in the next block."""
    if pending is not None:
        folded, position = _fold_continuations(block, 0)
        if folded:
            pending = (pending[0], pending[1] + b"\n" + folded)
        if position < len(block):
            yield pending
            pending = None
        else:
            return pending
    else:
        position = 0
    line_no, counted_to = line_base, 0
    size = len(block)
    while position < size:
        if needle is None:
            start = position
        else:
            hit = block.find(needle, position)
            if hit < 0:
                break
            start = block.rfind(b"\n", 0, hit) + 1
            if start < position:
                start = position
        end = block.index(b"\n", start)
        line_no += block.count(b"\n", counted_to, start)
        counted_to = start
        if _continues(block, start) or (end - start <= 1 and block[start:end] in _BLANK):
            position = end + 1  # a continuation without its event, or a blank line: no event
            continue
        folded, after = _fold_continuations(block, end + 1)
        text = block[start:end] + (b"\n" + folded if folded else b"")
        if after >= size:
            return (line_no, text)
        yield (line_no, text)
        position = after
    return None


def _fold_continuations(block: bytes, position: int) -> tuple[bytes, int]:
    """Continuation lines starting at `position`: (their bytes joined by newlines, position after)."""
    start = position
    size = len(block)
    while position < size and _continues(block, position):
        position = block.index(b"\n", position) + 1
    if position == start:
        return b"", position
    folded = block[start : position - 1]
    return (_LINE_PREFIXES.sub(b"", folded) if b"Line " in folded else folded), position


# --- records -> frame ------------------------------------------------------------------------------


def _decode(raw: bytes, stats: ParseStats) -> str:
    if len(raw) > MAX_EVENT_BYTES:
        stats.truncated += 1
        raw = raw[:MAX_EVENT_BYTES]
    raw = raw.lstrip(b"\0")  # a NUL run before a line is what a crashed writer left, not the line
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        stats.invalid_utf8 += 1
        text = raw.decode("utf-8", errors="replace")
    # CRLF line ends, and the byte order mark an editor put before the first line
    return text.replace("\r\n", "\n").rstrip("\r").replace("\x00", "\ufffd").removeprefix("\ufeff")


class FrameBuilder:
    """Collects records into the `events` frame without ever holding the whole log twice.

    Every FRAME_ROWS records, the compact columns (times, numbers, categoricals) become a typed
    chunk frame; the free-text columns (raw line, message, unknown keys) go to one list each,
    which shares the string objects instead of copying them. Rows with identical unknown keys share
    one `extra` dict: treat those dicts as read-only. `build()` concatenates the compact
    chunks (small) and attaches the text lists once.
    """

    TEXT_COLUMNS = TEXT_COLUMNS
    SHARED_EXTRAS = 4096

    def __init__(self, *, year: int | None = None) -> None:
        self.year = year
        self.extras: dict[tuple, dict] = {}
        self.records: list[dict] = []
        self.chunks: list[pd.DataFrame] = []
        self.text: dict[str, list] = {column: [] for column in self.TEXT_COLUMNS}

    def add(self, record: dict) -> None:
        if extra := record.get("extra"):
            record["extra"] = self._shared(extra)
        self.records.append(record)
        if len(self.records) >= FRAME_ROWS:
            self.flush()

    def _shared(self, extra: dict) -> dict:
        """One dict for every row with the same unknown keys and values (`Last-via-addr=""` on most
        transaction lines): a third of the rows of a snapshot would otherwise each hold a copy."""
        key = tuple(extra.items())
        shared = self.extras.get(key)
        if shared is None and len(self.extras) < self.SHARED_EXTRAS:
            self.extras[key] = shared = extra
        return shared if shared is not None else extra

    def flush(self) -> None:
        if not self.records:
            return
        for column, values in self.text.items():
            values.extend(record.get(column) for record in self.records)
        self.chunks.append(records_to_frame(self.records, year=self.year, text_columns=False))
        self.records = []

    def build(self) -> pd.DataFrame:
        """The typed `events` frame, sorted by time across nodes (a no-op for an ordered log)."""
        self.flush()
        if not self.chunks:
            return records_to_frame([], year=self.year)
        frame = pd.concat(self.chunks, ignore_index=True) if len(self.chunks) > 1 else self.chunks[0]
        self.chunks = []
        for column, dtype in {**EVENT_DTYPES, "ts_offset": "category"}.items():
            if dtype == "category" and not isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype("category")
        for column, values in self.text.items():
            frame[column] = typed(pd.Series(values, dtype=object, index=frame.index), EVENT_DTYPES[column])
        self.text = {column: [] for column in self.TEXT_COLUMNS}
        frame = infer_bsd_zones(frame[list(EVENT_COLUMNS)])
        if not (frame["ts"].is_monotonic_increasing and not frame["ts"].hasnans):
            frame = frame.sort_values(["ts", "source", "line"], kind="stable", na_position="last")
        return frame.reset_index(drop=True)


def parse_stream(
    stream: BinaryIO,
    source_name: str,
    stats: ParseStats,
    builder: FrameBuilder,
    *,
    source_kind: str = "log",
    default_node: str | None = None,
    all_events: bool = False,
    progress: Callable[[int], None] | None = None,
    unrecognised: list[dict] | None = None,
    markers: MarkerLines | None = None,
    tvcs: TvcsLines | None = None,
) -> int:
    """Parse the selected events of one log stream into `builder`; return how many there were.

    Lines that speak of a certificate or TLS failure that no rule read are added to `unrecognised`.
    """
    count = 0
    head = stream.read(HEAD_BYTES)
    needle = _needle_for(source_kind, all_events, head)
    net = SafetyNet(source_name)
    stream = _Replayed(head, stream)
    on_block = net.block if markers is None else _both(net.block, markers.reader(source_name, default_node))
    on_block = on_block if tvcs is None else _both(on_block, tvcs.reader(source_name, default_node))
    events = iter_events(stream, stats, needle=needle, progress=progress, on_block=on_block)
    for line_no, raw in events:
        text = _decode(raw, stats)
        record = _parse_or_unparsed(text, stats)
        net.event(line_no, raw, record)
        if record["kind"] == "unparsed":
            stats.unparsed += 1
        if record.pop("partial", False):
            stats.partial += 1
            record["partial"] = True
        record["host"] = record.get("node")
        if default_node:
            record["node"] = default_node
        record["source"] = source_name
        record["line"] = line_no
        record["raw"] = text
        builder.add(record)
        count += 1
    stats.selected += count
    stats.by_source[source_name] = count
    if unrecognised is not None:
        unrecognised += net.finish()
    return count


def _both(
    first: Callable[[bytes, int], None], second: Callable[[bytes, int], None]
) -> Callable[[bytes, int], None]:
    """One `on_block` callback that feeds every block to two readers (the safety net, the markers)."""

    def read(block: bytes, line_base: int) -> None:
        first(block, line_base)
        second(block, line_base)

    return read


def _parse_or_unparsed(text: str, stats: ParseStats) -> dict:
    """The event's record; a line whose parsing raises is an unparsed row (design.md layer (b)),
    never the end of the analysis. The error's type is counted so a bug still shows in the stats."""
    try:
        return parse_event(text)
    except Exception as error:  # any parser bug costs one line, not the log
        name = type(error).__name__
        stats.parse_errors[name] = stats.parse_errors.get(name, 0) + 1
        return {"kind": "unparsed"}


def parse_members(
    members: Iterable[LogMember],
    *,
    all_events: bool = False,
    year: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ParseResult:
    """Parse every log member into one `events` frame, sorted by time across nodes.

    `progress(done, total)` is called with bytes read so far, when given.
    """
    members = list(members)
    total = sum(getattr(member, "size", 0) or 0 for member in members)
    stats = ParseStats()
    started = datetime.now(UTC)
    builder = FrameBuilder(year=year)
    unread: list[tuple[LogMember, str]] = []
    unrecognised: list[dict] = []
    marked, tvcs = MarkerLines(), TvcsLines()
    for member in members:
        try:
            with member.open() as stream:
                parse_stream(
                    stream,
                    member.display(),
                    stats,
                    builder,
                    source_kind=member.source,
                    default_node=_node_of(member),
                    all_events=all_events,
                    progress=(lambda done: progress(done, total)) if progress else None,
                    unrecognised=unrecognised,
                    markers=marked,
                    tvcs=tvcs,
                )
        except OSError as error:  # the log vanished or a disk failed: what was read stays
            unread.append((member, f"read error: {error.strerror or error}; the log was not read in full"))
    events = builder.build()
    stats.events = len(events)
    stats.seconds = (datetime.now(UTC) - started).total_seconds()
    read = tvcs.claimed()
    unrecognised = [line for line in unrecognised if (line["file"], line["line"]) not in read]
    return ParseResult(
        events, stats, unread, unrecognised, marked.markers(year=year), tvcs.records, tvcs_seen=tvcs.seen
    )


def _node_of(member: LogMember) -> str | None:
    """The node every event of a member belongs to.

    Each cluster peer keeps its own log, so a snapshot named for its host speaks for that node even
    where a line's envelope spells the host differently (the column `host` keeps what was written).
    A log with no host in its name takes each line's envelope host; ATS's own logs have none.
    """
    if member.host:
        return member.host
    return None if member.source == "log" else "ats"
