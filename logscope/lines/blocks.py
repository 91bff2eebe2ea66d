"""Reading a log's bytes as events: chunks with `\n` line ends, events with their continuation lines.

Moved out of the parse stage so both of its paths read the same blocks (:func:`event_blocks`, blocks
that end at an event boundary): the scanner path (:mod:`logscope.scan`) scans them, the record path
(:func:`iter_events`) reads their events one at a time. The same blocks matter: where a publisher's
wrapped piece is joined depends on what a block holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, Protocol

import numpy as np

from logscope.lines.unwrap import continues as _wrap_continues
from logscope.lines.unwrap import join as _join_wrapped
from logscope.lines.unwrap import opens_event, split_flattened


class _Stats(Protocol):
    lines: int
    bytes: int
    oversize_lines: int


CHUNK_BYTES = 8 * 1024 * 1024
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


def iter_events(
    stream: BinaryIO,
    stats: _Stats,
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
    pending: tuple[int, bytes] | None = None
    for block, line_base, _aligned, _offset in event_blocks(stream, stats, progress):
        if on_block:
            on_block(block, line_base)
        pending = yield from _events_in_block(block, line_base, needle, pending)
    if pending:
        yield from selected_events(pending, needle)


def _line_chunks(stream: BinaryIO, stats: _Stats) -> Iterator[bytes]:
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
        position = 0
        if b"\n" not in pending[1]:  # its first line may be wrapped onto this block's first lines
            first, position = _unwrap(pending[1], block, 0)
            pending = (pending[0], first)
        folded, position = _fold_continuations(block, position)
        if folded:
            pending = (pending[0], pending[1] + b"\n" + folded)
        if position < len(block):
            yield from selected_events(pending, needle)
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
            start = _event_start(block, start, position)
        end = block.index(b"\n", start)
        line_no += block.count(b"\n", counted_to, start)
        counted_to = start
        if _continues(block, start) or (end - start <= 1 and block[start:end] in _BLANK):
            position = end + 1  # a continuation without its event, or a blank line: no event
            continue
        first, after = _unwrap(block[start:end], block, end + 1)
        folded, after = _fold_continuations(block, after)
        text = first + (b"\n" + folded if folded else b"")
        if after >= size:
            return (line_no, text)
        yield from selected_events((line_no, text), needle)
        position = after
    return None


def selected_events(event: tuple[int, bytes], needle: bytes | None) -> list[tuple[int, bytes]]:
    """The events of one selected line (several when a publisher flattened them onto it): with a
    needle, only those that hold it, as if each had been a line of its own."""
    events = split_flattened(*event)
    if needle is None or len(events) == 1:
        return events
    return [piece for piece in events if needle in piece[1]]


def _unwrap(first: bytes, block: bytes, position: int) -> tuple[bytes, int]:
    """The event's first line with the pieces a fixed-width wrap broke off it (lines after it that
    open with no envelope: logscope.lines.unwrap) joined back; and the position after them."""
    size = len(block)
    if position >= size or _PRISTINE_START.match(block, position) or _continues(block, position):
        return first, position  # the pristine shape: the next line opens an event or folds as a message
    pieces = [first[:-1] if first.endswith(b"\r") else first]
    while position < size:
        end = block.index(b"\n", position)
        line = block[position : end - 1] if block[end - 1 : end] == b"\r" else block[position:end]
        if not line.strip() or _continues(block, position) or not _wrap_continues(b" ".join(pieces), line):
            break
        pieces.append(line)
        position = end + 1
    return (first if len(pieces) == 1 else _join_wrapped(pieces)), position


_PRISTINE_START = re.compile(rb"\d{4}-\d\d-\d\dT")


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


def event_blocks(
    stream: BinaryIO, stats: _Stats, progress: Callable[[int], None] | None = None
) -> Iterator[tuple[bytes, int, bool, int]]:
    """(block of whole lines, its first line number, whether it ends at an event boundary, the byte
    offset of its first byte in the stream).

    Every line once, with its line number, overlong lines skipped and counted; a block
    is cut where the next line opens an event (not a continuation), so no event spans two blocks.
    Where no such cut exists (a very long run of continuation lines) or a line over MAX_LINE_BYTES
    is skipped, the block ends at a line end and says so: its last event may go on in the next one.
    """
    carry, line_base, skipping, consumed = b"", 1, False, 0
    for chunk in _line_chunks(stream, stats):
        consumed += len(chunk)  # a lone CR became LF: the same length, so offsets are the file's
        if progress:
            progress(stats.bytes)
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk, line_base, skipping = chunk[newline + 1 :], line_base + 1, False
        if b"\n" not in chunk:
            whole = carry.rfind(b"\n") + 1
            if len(carry) - whole + len(chunk) > MAX_LINE_BYTES:  # the record path skips this line
                stats.oversize_lines += 1
                if whole:
                    yield carry[:whole], line_base, False, consumed - len(chunk) - len(carry)
                    line_base += carry.count(b"\n", 0, whole)
                carry, skipping = b"", True
                continue
        offset = consumed - len(chunk) - len(carry)  # where the carried bytes, then the chunk, begin
        block, carry, aligned = _next_block(carry, chunk)
        if block is None:
            continue
        yield block, line_base, aligned, offset
        line_base += line_ends(block)
    if carry:
        block = carry if carry.endswith(b"\n") else carry + b"\n"
        yield block, line_base, True, consumed - len(carry)
        line_base += line_ends(block)
    stats.lines += line_base - 1


def _next_block(carry: bytes, chunk: bytes) -> tuple[bytes | None, bytes, bool]:
    """The block of whole lines that `carry` then `chunk` begin with, cut before a line that opens
    an event (else after the last line end: not aligned), and the bytes left to carry; no block
    while no line has ended. The cut is looked for in the chunk first (it looks at the lines after
    a line end only, so it is the same there), and the block is then made in one copy, not two."""
    end = chunk.rfind(b"\n")
    if end >= 0 and (cut := event_cut(chunk, end)) > 0:
        return b"".join((carry, memoryview(chunk)[:cut])), chunk[cut:], True
    buffer = carry + chunk
    end = buffer.rfind(b"\n")
    if end < 0:
        return None, buffer, False
    cut = event_cut(buffer, end)
    aligned = cut > 0
    cut = cut if aligned else end + 1
    return buffer[:cut], buffer[cut:], aligned


NEWLINE = ord("\n")


def line_ends(block: bytes) -> int:
    """How many `\\n` a block holds: numpy counts a whole block three times as fast as bytes.count."""
    return int(np.count_nonzero(np.frombuffer(block, np.uint8) == NEWLINE))


def event_cut(data: bytes, end: int) -> int:
    """The last position after a `\\n` at or before `end` where a line opens an event (0: none): a
    line with an envelope, so that no piece a publisher wrapped off an event starts the next block."""
    while end >= 0:
        after = end + 1
        if after < len(data) and not _continues(data, after) and _opens(data, after):
            return after
        end = data.rfind(b"\n", 0, end)
    return 0


def _opens(data: bytes, position: int) -> bool:
    if _PRISTINE_START.match(data, position):
        return True
    newline = data.find(b"\n", position)
    return opens_event(data[position : newline if newline >= 0 else len(data)])


def looks_wrapped(head: bytes) -> bool:
    """Whether a log's first bytes hold a piece a publisher wrapped off an event (a PDF or mail copy
    is wrapped throughout, so its head tells)."""
    lines = head.split(b"\n")[:-1]
    return any(
        line.strip() and not _continues(line + b"\n", 0) and not opens_event(line.rstrip(b"\r"))
        for line in lines
    )


_MAX_PIECES = 32  # lines one wrapped line is looked for in, back from a piece of it


def _event_start(block: bytes, own: int, floor: int = 0) -> int:
    """Where the event a line (at `own`) belongs to opens: an earlier line with an envelope when the
    line is a piece a publisher wrapped off it (the needle may sit in a piece), else the line itself.
    The walk back stops at `floor` and after _MAX_PIECES lines."""
    if _PRISTINE_START.match(block, own) or opens_event(_line_at(block, own)):
        return own
    start = own
    for _ in range(_MAX_PIECES):
        if start <= floor:
            return own
        start = block.rfind(b"\n", 0, start - 1) + 1
        line = _line_at(block, start)
        if start < floor or _continues(block, start) or not line.strip():
            return own
        if opens_event(line):
            end = block.find(b"\n", start)
            end = len(block) if end < 0 else end
            return start if _unwrap(block[start:end], block, end + 1)[1] > own else own
    return own


def _line_at(block: bytes, start: int) -> bytes:
    end = block.find(b"\n", start)
    return block[start : len(block) if end < 0 else end].rstrip(b"\r")


def unwrapped_event(block: bytes, position: int) -> tuple[int, bytes, int]:
    """The event a line at `position` belongs to in a wrapped log: (its first line's start, its first
    line with the wrapped pieces joined back, how many physical lines that is)."""
    start = _event_start(block, block.rfind(b"\n", 0, position) + 1)
    end = block.find(b"\n", start)
    end = len(block) if end < 0 else end
    first, after = _unwrap(block[start:end], block, end + 1)
    return start, first, block.count(b"\n", start, max(after, end + 1))


def needs_records(block: bytes, spans: list[tuple[int, int, int]]) -> bool:
    """Whether an event the scanner declined (offset, size, line) was wrapped or flattened by a
    publisher: the scanner reads neither, so its block goes to the record path whole."""
    for start, _size, line in spans:
        first_end = block.find(b"\n", start)
        first_end = len(block) if first_end < 0 else first_end
        first = block[start:first_end]
        if _event_start(block, start) != start:  # a piece of an event that opened above it
            return True
        if _unwrap(first, block, first_end + 1)[1] != first_end + 1 or len(split_flattened(line, first)) > 1:
            return True
    return False


def events_of_block(
    block: bytes, line_base: int, needle: bytes | None, pending: tuple[int, bytes] | None
) -> tuple[list[tuple[int, bytes]], tuple[int, bytes] | None]:
    """The record path over one block: its events, and the event that may go on in the next block."""
    events: list[tuple[int, bytes]] = []
    reader = _events_in_block(block, line_base, needle, pending)
    while True:
        try:
            events.append(next(reader))
        except StopIteration as stop:
            return events, stop.value


LINE_PREFIX_WORDS = (b"line ",)  # what a line with an editor's `Line N: ` prefix holds (lower-cased)


def has_line_prefixes(block: bytes, starts: Iterable[int]) -> bool:
    """Whether an editor's `Line N: ` prefixes are in the block (the record path strips them), given
    the `starts` of its lines that hold LINE_PREFIX_WORDS in any case (a line search finds them with
    the readers' words, so the block is not searched once more for them)."""
    return any(_LINE_PREFIXES.match(block, start) for start in starts)
