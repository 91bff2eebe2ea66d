"""Parse stage: log members -> one row per event in the `events` DataFrame.

A snapshot is read in large binary chunks, never as one string. Lines that no signature can use are
counted, not parsed: in an Expressway snapshot only `traffic_server` lines matter, so a byte search
for the process name pre-selects them (``tests/test_fast_path.py`` checks the pre-selection against
the envelope grammar). DEBUG events whose `HTTPMSG:` body continues on `|`- or space-led lines are
folded into one event first (logscope.lines.blocks).

Two paths give the same frame (``tests/test_scan_parse.py``), chosen by
:func:`logscope.scan.scan_path` (``LOGSCOPE_SCANNER=off|python``): the scanner path reads
event-aligned blocks with the block scanner (logscope.scan), builds the accepted events' columns
in bulk (logscope.scan.events) and gives every declined event to :func:`logscope.lines.parse_event`;
the records path gives every event to :func:`~logscope.lines.parse_event` (the fast path, then the
Lark grammars) and is used where no compiled scanner is built.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

import pandas as pd

from logscope.event_texts import EventTexts
from logscope.frame import EVENT_COLUMNS, EVENT_DTYPES, KINDS, FrameBuilder
from logscope.lines import parse_event
from logscope.lines.blocks import (
    MAX_EVENT_BYTES,
    event_blocks,
    events_of_block,
    iter_events,
    looks_wrapped,
    needs_records,
    selected_events,
)
from logscope.lines.phrases import LineFinder, SafetyNet
from logscope.lines.tvcs import TvcsLines, TvcsReader
from logscope.markers import MarkerLines, MarkerReader
from logscope.scan import line_finder, scan_path
from logscope.scan.ahead import AFTER_BYTES, BlockScan, ScanAhead, ScannedBlock, scan_block, wanted
from logscope.scan.build import PieceBuilder
from logscope.scan.events import net_events, record_piece
from logscope.scan.found import BlockLines, block_lines

__all__ = ["EVENT_COLUMNS", "EVENT_DTYPES", "KINDS", "FrameBuilder", "ParseResult", "ParseStats"]
__all__ += ["iter_events"]


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
    scanned: int = 0  # events built from the scanner's columns (the rest went through the records)
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
    # reads the text of events whose `raw` is null (the scanner leaves it in the log)
    texts: EventTexts = field(default_factory=EventTexts)


# --- reading events out of a binary stream ------------------------------------------------------


def _needle_for(source: str, all_events: bool, head: bytes | None = None) -> bytes | None:
    """The byte string that pre-selects lines; None selects every line.

    Expressway snapshots: only `traffic_server` lines feed a signature. An ATS diags.log / error.log
    is traffic-server output throughout, and so is taken an excerpt whose head holds no envelope
    that names its process (bare bodies, no process, no time...): its lines may not name their
    process, so all are read. A syslog server's copy (BSD syslog, RFC 5424) names the process as the
    snapshot does, so it is pre-selected as the snapshot is: the same rows as its pristine form.
    """
    if all_events or source != "log" or (head is not None and not _NAMED_PROCESS_LINE.search(head)):
        return None
    return b" traffic_server"


# a line whose envelope names its process: RFC 3339 (the snapshot's), BSD syslog, RFC 5424
_NAMED_PROCESS_LINE = re.compile(
    rb"(?m)^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)"
    rb"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) +\S+ +\S+(?:\[\d+\])?: "
    rb"|^<\d{1,3}>1 +\S+ +\S+ +[^\s-]\S* +(?:\d+|-) "
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


def parse_stream(
    stream: BinaryIO,
    source_name: str,
    stats: ParseStats,
    builder: FrameBuilder | PieceBuilder,
    *,
    source_kind: str = "log",
    default_node: str | None = None,
    all_events: bool = False,
    progress: Callable[[int], None] | None = None,
    unrecognised: list[dict] | None = None,
    markers: MarkerLines | None = None,
    tvcs: TvcsLines | None = None,
    ahead: ScanAhead | None = None,
) -> int:
    """Parse the selected events of one log stream into `builder`; return how many there were.

    `ahead`: the helper process that scans some of the blocks (the scanner path only).

    Lines that speak of a certificate or TLS failure that no rule read are added to `unrecognised`.
    """
    count = 0
    head = stream.read(HEAD_BYTES)
    needle = _needle_for(source_kind, all_events, head)
    net = SafetyNet(source_name)
    stream = _Replayed(head, stream)
    readers = _Readers(
        net,
        markers.reader(source_name, default_node) if markers is not None else None,
        tvcs.reader(source_name, default_node, wrapped=looks_wrapped(head)) if tvcs is not None else None,
        line_finder(),
    )
    if isinstance(builder, PieceBuilder):
        blocks = event_blocks(stream, stats, progress)
        settler = _Settler(needle, stats, builder, readers, source_name, default_node)
        count = _parse_blocks(blocks, settler, ahead)
    else:
        events = iter_events(stream, stats, needle=needle, progress=progress, on_block=readers.block)
        for line_no, raw in events:
            net.event(line_no, raw, record := _record(line_no, raw, stats, source_name, default_node))
            builder.add(record)
            count += 1
    stats.selected += count
    stats.by_source[source_name] = count
    if unrecognised is not None:
        unrecognised += net.finish()
    return count


def _record(line_no: int, raw: bytes, stats: ParseStats, source: str, default_node: str | None) -> dict:
    """One event's record by the reference path (fast path, then the Lark grammars)."""
    text = _decode(raw, stats)
    record = _parse_or_unparsed(text, stats)
    if record["kind"] == "unparsed":
        stats.unparsed += 1
    if record.pop("partial", False):
        stats.partial += 1
        record["partial"] = True
    record["host"] = record.get("node")
    if default_node:
        record["node"] = default_node
    record["source"] = source
    record["line"] = line_no
    record["raw"] = text
    return record


WAITING = 8  # blocks read and not yet settled: bounds what waits on the helper (~15 MB each)


@dataclass
class _ReadBlock:
    """A block read from the log, waiting to be settled: scanned here (`scanned`), handed to the
    helper process (`handed`), or neither (the reference path reads it)."""

    block: bytes
    line_base: int
    offset: int  # of the block's first byte in the stream
    scanned: ScannedBlock | None = None
    handed: bool = False


def _parse_blocks(
    blocks: Iterable[tuple[bytes, int, bool, int]],
    settler: _Settler,
    ahead: ScanAhead | None,
) -> int:
    """The scanner path: each event-aligned block is scanned, here or by the helper process of
    `ahead` (once AFTER_BYTES of the log were scanned here, while the helper is free); every block is
    then settled in log order, whoever scanned it."""
    waiting: deque[_ReadBlock] = deque()
    scanned_here = 0  # bytes of this log scanned by this process
    for block, line_base, aligned, block_offset in blocks:
        read = _ReadBlock(block, line_base, block_offset)
        if aligned:
            job = settler.job(line_base, block_offset)
            if ahead is not None and scanned_here >= AFTER_BYTES and ahead.free():
                ahead.hand(block, job)
                read.handed = True
            else:
                read.scanned = scan_block(block, job)
                scanned_here += len(block)
        waiting.append(read)
        while waiting and (not waiting[0].handed or ahead.ready() or len(waiting) > WAITING):
            settler.settle(waiting.popleft(), ahead)
    while waiting:
        settler.settle(waiting.popleft(), ahead)
    return settler.finish()


class _Settler:
    """Settles a log's blocks in order: accepted events become a piece of columns, declined ones
    (and blocks the scanner cannot take whole) go to the reference path, and the safety net and
    the readers see every block before its events."""

    def __init__(
        self,
        needle: bytes | None,
        stats: ParseStats,
        builder: PieceBuilder,
        readers: _Readers,
        source: str,
        default_node: str | None,
    ) -> None:
        self.needle, self.stats, self.builder, self.readers = needle, stats, builder, readers
        self.net = readers.net
        self.source, self.default_node = source, default_node
        self.count, self.pending = 0, None

    def job(self, line_base: int, block_offset: int) -> BlockScan:
        year, backend = self.builder.year, self.builder.backend
        return BlockScan(line_base, self.needle, year, backend, self.source, self.default_node, block_offset)

    def settle(self, read: _ReadBlock, ahead: ScanAhead | None) -> None:
        block, line_base, builder = read.block, read.line_base, self.builder
        scanned = ahead.take() if read.handed and ahead is not None else read.scanned
        self.readers.block(block, line_base, None if scanned is None else scanned.lines)
        sequence = builder.next_sequence()
        if (
            self.pending is not None
            or scanned is None
            or scanned.piece is None  # the scanner does not take the block
            or (scanned.declined and needs_records(block, scanned.declined))  # wrapped or flattened lines
        ):
            events, self.pending = events_of_block(block, line_base, self.needle, self.pending)
            self._add_records(events, sequence)
            return
        stats, source, node = self.stats, self.source, self.default_node
        declined = [(line, block[start : start + size]) for start, size, line in scanned.declined]
        records = [_record(line_no, raw, stats, source, node) for line_no, raw in declined]
        hit_lines = [line for line, _ in self.net.hits]
        piece = scanned.piece
        for line_no, raw, record in net_events(block, read.offset, piece, hit_lines, declined, records):
            self.net.event(line_no, raw, record)
        stats.scanned += len(piece["line"])
        self.count += len(piece["line"]) + len(records)
        builder.add(piece, sequence)
        builder.add(record_piece(records, builder.year), sequence)

    def finish(self) -> int:
        if self.pending is not None:
            self._add_records(selected_events(self.pending, self.needle), self.builder.next_sequence())
            self.pending = None
        return self.count

    def _add_records(self, events: list[tuple[int, bytes]], sequence: int) -> None:
        self.count += _add_records(
            events, self.stats, self.builder, self.net, self.source, self.default_node, sequence
        )


def _add_records(
    events: list[tuple[int, bytes]],
    stats: ParseStats,
    builder: PieceBuilder,
    net: SafetyNet,
    source: str,
    default_node: str | None,
    sequence: int,
) -> int:
    records = []
    for line_no, raw in events:
        net.event(line_no, raw, record := _record(line_no, raw, stats, source, default_node))
        records.append(record)
    builder.add(record_piece(records, builder.year), sequence)
    return len(records)


class _Readers:
    """The readers of one log's blocks (the safety net, the markers, the tvcs lines): each block is
    given to them before its events, with the lines they look for (logscope.scan.found), found
    with the block's scan or, for a block not scanned, here."""

    def __init__(
        self,
        net: SafetyNet,
        markers: MarkerReader | None,
        tvcs: TvcsReader | None,
        find: LineFinder,
    ) -> None:
        self.net, self.markers, self.tvcs, self.find = net, markers, tvcs, find

    def block(self, block: bytes, line_base: int, lines: BlockLines | None = None) -> None:
        if lines is None:
            lines = block_lines(block, line_base, self.find)
        self.net.found(lines.phrases)
        if self.markers is not None:
            self.markers.found(lines.markers)
        if self.tvcs is not None:
            self.tvcs.found(block, line_base, lines.tvcs, lines.names_tvcs)


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
    path = scan_path()
    builder = FrameBuilder(year=year) if path == "records" else PieceBuilder(year=year, backend=path)
    unread: list[tuple[LogMember, str]] = []
    unrecognised: list[dict] = []
    marked, tvcs, texts = MarkerLines(), TvcsLines(), EventTexts()
    # the helper process is stopped before the frame is built, so its memory is freed by then
    with ScanAhead() if path != "records" and wanted() else nullcontext() as ahead:
        for member in members:
            texts.add_source(member.display(), member.open)
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
                        ahead=ahead,
                    )
            except OSError as error:  # the log vanished or a disk failed: what was read stays
                reason = f"read error: {error.strerror or error}; the log was not read in full"
                unread.append((member, reason))
    events = builder.build()
    stats.events = len(events)
    stats.seconds = (datetime.now(UTC) - started).total_seconds()
    read = tvcs.claimed()
    unrecognised = [line for line in unrecognised if (line["file"], line["line"]) not in read]
    return ParseResult(
        events,
        stats,
        unread,
        unrecognised,
        marked.markers(year=year),
        tvcs.records,
        tvcs_seen=tvcs.seen,
        texts=texts,
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
