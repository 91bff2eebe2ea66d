"""The pyarrow backend of the block scanner: the common events read in bulk, the rest one by one.

It gives exactly what :mod:`~logscope.scan.pyscan` gives (and so what the C scanner gives) for a
block, faster, by reading the events that dominate real logs across the whole block at once:
single-line events of printable ASCII with an RFC 3339 syslog envelope and a key="value" body,
followed by a line that opens with an RFC 3339 time (or by nothing). Those are matched with one
RE2 expression over the array of lines, their times computed with numpy, their bodies reduced to
skeletons (values emptied) that are planned once per distinct skeleton, and their value spans read
from the positions of the block's `"` bytes. Every other event (multi-line, non-ASCII, another
dialect or body family, an odd time, ...) goes to pyscan's per-event rules, which accept or decline
it. The two sets of rows are merged in block order with shapes numbered by first appearance, as
pyscan numbers them, so `scan(block) == pyscan.scan(block)` (tests/test_scan.py pins it).
"""

from __future__ import annotations

from array import array

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import logscope.scan.layout as L
from logscope.scan import pyscan
from logscope.scan.dates import days_from_civil, days_in_month

_HTTPMSG = np.frombuffer(b"HTTPMSG:", np.uint8)
_SIPMSG = np.frombuffer(b"SIPMSG:", np.uint8)
_ENVELOPE = (
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d) "
    r"[!-Z\\^-~]+ [!#-9;<>-Z\\^-~]+(?:\[\d{1,18}\])?: "
    r"[A-Za-z_][A-Za-z0-9_.-]*=\""
)
_LEVEL_NAMES = pa.array(list(L.LEVELS))
_WINDOW = 16  # bytes of a line's head looked at (continuation marks, the next line's time)


def scan(
    block: bytes, line_base: int = 1, needle: bytes | None = None, year: int | None = None
) -> pyscan.RawScan:
    """Scan one block of whole lines (see the package docstring for the contract)."""
    if not block or (needle is not None and (not needle or b"\n" in needle)):
        return pyscan.scan(block, line_base, needle, year)
    lines = _Lines(block)
    opener, last = lines.events(needle)
    fast = _fast_candidates(lines, opener, last)
    bulk = _Bulk(block)
    accepted = bulk.read(lines, opener[fast], last[fast])
    slow = np.ones(len(opener), dtype=bool)
    slow[np.flatnonzero(fast)[accepted]] = False
    scanner = pyscan._Scanner(block, year)
    starts, ends, line_base_ = lines.starts, lines.ends, line_base
    for i, j in zip(opener[slow].tolist(), last[slow].tolist(), strict=True):
        scanner.event(int(starts[i]), int(ends[j]), line_base_ + i, j != i)
    if len(scanner.raw.shapes) >= L.MAX_SHAPES:
        return pyscan.scan(block, line_base, needle, year)
    merged = _merge(bulk, scanner.finish(), line_base)
    if merged is None:  # more shapes than a block may hold: pyscan decides which ones are declined
        return pyscan.scan(block, line_base, needle, year)
    return merged


class _Lines:
    """The block's lines as numpy arrays: starts, ends (no line end) and their head bytes."""

    def __init__(self, block: bytes) -> None:
        self.data = data = np.frombuffer(block, dtype=np.uint8)
        size = len(data)
        newlines = np.flatnonzero(data == 10)
        starts = np.concatenate((np.zeros(1, np.int64), newlines + 1))
        ends = np.concatenate((newlines, np.array([size], np.int64)))
        if starts[-1] == size:  # the block ends with a line end: no line after it
            starts, ends = starts[:-1], ends[:-1]
        self.starts, self.ends, self.size = starts, ends, size
        index = np.minimum(starts[:, None] + np.arange(_WINDOW), size - 1)
        head = data[index]
        head[np.arange(_WINDOW)[None, :] >= (ends - starts)[:, None]] = 10  # past the line: a line end
        self.head = head

    def events(self, needle: bytes | None) -> tuple[np.ndarray, np.ndarray]:
        """(opening line, last line) of every event, as pyscan finds them."""
        head, starts, ends = self.head, self.starts, self.ends
        first = head[:, 0]
        continuation = (first == ord("|")) | (first == ord(" ")) | (first == ord("\t"))
        continuation |= (head[:, :8] == _HTTPMSG).all(axis=1) | (head[:, :7] == _SIPMSG).all(axis=1)
        length = ends - starts
        blank = (length == 0) | ((length == 1) & (first == 13))
        opens = ~continuation & ~blank
        if needle is not None:
            opens &= self._holds(needle)
        opener = np.flatnonzero(opens)
        breaks = np.flatnonzero(~continuation)
        after = np.searchsorted(breaks, opener, side="right")
        next_break = np.append(breaks, len(starts))[after]
        return opener, next_break - 1

    def _holds(self, needle: bytes) -> np.ndarray:
        offsets = np.append(self.starts, self.size).astype(np.int64)
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(self.data)]
        lines = pa.Array.from_buffers(pa.large_binary(), len(self.starts), buffers)
        return pc.match_substring(lines, needle).to_numpy(zero_copy_only=False)


def _fast_candidates(lines: _Lines, opener: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Events the bulk reader may take: printable ASCII (and tabs past the first line), followed
    by a line that opens with an RFC 3339 time, by a blank line or by nothing; the bulk regex and
    the shape plans decide the rest."""
    data, starts, ends = lines.data, lines.starts, lines.ends
    sized = ends[last] - starts[opener] <= L.MAX_EVENT_BYTES
    odd = ((data < 0x20) | (data > 0x7E)) & (data != 10)
    odd_at = np.flatnonzero(odd)
    clean = np.searchsorted(odd_at, ends[opener]) == np.searchsorted(odd_at, starts[opener])
    odd_at = np.flatnonzero(odd & (data != 9))
    clean &= np.searchsorted(odd_at, ends[last]) == np.searchsorted(odd_at, starts[opener])
    nxt = last + 1
    has_next = nxt < len(starts)
    head = lines.head[np.minimum(nxt, len(starts) - 1)]
    digit = (head >= ord("0")) & (head <= ord("9"))
    timed = digit[:, [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]].all(axis=1)
    timed &= (head[:, 4] == ord("-")) & (head[:, 7] == ord("-")) & (head[:, 10] == ord("T"))
    timed &= head[:, 13] == ord(":")
    blank_next = head[:, 0] == 10
    return sized & clean & (~has_next | timed | blank_next)


class _Bulk:
    """The rows, value spans and shapes of the events read in bulk."""

    def __init__(self, block: bytes) -> None:
        self.block = block
        self.rows = np.empty((0, L.NCOL), dtype=np.int64)
        self.values = np.empty((0, 2), dtype=np.int64)
        self.shapes: list[tuple[str, ...]] = []

    def read(self, lines: _Lines, opener: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Read the candidate events (lines `opener` to `last`); return the indices it accepted.

        One RE2 match (no captures: a DFA) checks the envelope; the fields are then found from the
        positions of the first three spaces, which the envelope's character classes fix. An event
        of several lines is read when its first line ends in (or its second opens with) a message
        marker, `HTTPMSG:` or `SIPMSG:`: the message is the last value, up to the event's end."""
        data = lines.data
        starts, ends = lines.starts[opener], lines.ends[opener]
        if len(opener) == 0:
            return np.empty(0, dtype=np.int64)
        matched = pc.match_substring_regex(_spans(data, starts, ends), _ENVELOPE).to_numpy(False)
        at = np.flatnonzero(matched)
        if len(at) == 0:
            return at
        start, end, event_end = starts[at], ends[at], lines.ends[last[at]]
        second = lines.head[np.minimum(opener[at] + 1, len(lines.starts) - 1)]
        follow = np.where((second[:, :8] == _HTTPMSG).all(axis=1), 2, 3)
        follow = np.where((second[:, :7] == _SIPMSG).all(axis=1) | (follow == 2), follow, 1)
        follow = np.where(last[at] > opener[at], follow, 0)  # 0: one line; 1: no marker line
        spaces = np.flatnonzero(data == 32)
        first = np.searchsorted(spaces, start)
        ts_end, host_end, body = spaces[first], spaces[first + 1], spaces[first + 2] + 1
        has_pid = data[body - 3] == ord("]")
        brackets = np.flatnonzero(data == ord("["))
        bracket = (
            brackets[np.minimum(np.searchsorted(brackets, host_end), len(brackets) - 1)]
            if len(brackets)
            else body
        )
        proc_end = np.where(has_pid, bracket, body - 2)
        procs = _spans(data, host_end + 1, proc_end)
        ok = ~pc.is_in(procs, _LEVEL_NAMES).to_numpy(zero_copy_only=False)
        ts, valid = _times(data, start, ts_end)
        ok &= valid
        quotes = np.flatnonzero(data == 34)
        skeletons, paired = _skeletons(data, quotes, body, end)
        shape_ids, counts, marker_end, ok = self._plan(skeletons, follow, ok & paired)
        pairs = counts - ((follow >= 2) | (marker_end >= 0))
        in_line = np.searchsorted(quotes, end) - np.searchsorted(quotes, body) == 2 * pairs
        ok &= in_line | (marker_end >= 0)
        keep = np.flatnonzero(ok)
        start, event_end, body, count = start[keep], event_end[keep], body[keep], counts[keep]
        ts_end, host_end, proc_end = ts_end[keep], host_end[keep], proc_end[keep]
        rows = np.tile(np.asarray(pyscan._TEMPLATE, dtype=np.int64), (len(keep), 1))
        rows[:, L.OFFSET], rows[:, L.LENGTH] = start, event_end - start
        rows[:, L.LINE] = opener[at[keep]]  # the line index; the merge adds the block's first line
        rows[:, L.DIALECT], rows[:, L.FAMILY], rows[:, L.TS] = L.RFC3339, L.KV, ts[keep]
        rows[:, L.TS_START], rows[:, L.TS_LEN] = start, ts_end - start
        rows[:, L.HOST_START], rows[:, L.HOST_LEN] = ts_end + 1, host_end - ts_end - 1
        rows[:, L.PROC_START], rows[:, L.PROC_LEN] = host_end + 1, proc_end - host_end - 1
        pid_digits = np.where(has_pid[keep], body - 3 - proc_end - 1, 0)
        rows[:, L.PID] = np.where(pid_digits > 0, _digits(data, proc_end + 1, pid_digits, 18), L.NULL)
        rows[:, L.SHAPE], rows[:, L.VALUES_COUNT] = shape_ids[keep], count
        rows[:, L.VALUES_FIRST] = np.cumsum(count) - count
        message = np.full(len(keep), -1, dtype=np.int64)  # where a message value opens
        second_line = lines.starts[np.minimum(opener[at[keep]] + 1, len(lines.starts) - 1)]
        message = np.where(follow[keep] == 2, second_line + 8, message)
        message = np.where(follow[keep] == 3, second_line + 7, message)
        self.values = _value_spans(quotes, body, pairs[keep], marker_end[keep], message, event_end)
        self.rows = rows
        return at[keep]

    def _plan(
        self, skeletons: pa.Array, follow: np.ndarray, ok: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A shape id, value count and message marker end (in the skeleton; -1: none) per event,
        planned once per distinct (skeleton, next line) by pyscan's own rules (`pairs`, `plan`):
        an event whose plan pyscan refuses is not read."""
        encoded = pc.dictionary_encode(skeletons)
        if len(encoded.dictionary) == 0:
            return (np.zeros(len(ok), np.int64),) * 2 + (np.full(len(ok), -1),) + (ok & False,)
        key = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64) * 4 + follow
        distinct, index = np.unique(key, return_inverse=True)
        texts = encoded.dictionary.to_pylist()
        planner = pyscan._Scanner(b"", None)
        ids, sizes, ends = [], [], []
        for combined in distinct.tolist():
            plan, marker_end = _plan_one(planner, texts[combined // 4], combined % 4)
            ids.append(-1 if plan is False else plan[1])
            sizes.append(0 if plan is False else plan[2])
            ends.append(marker_end)
        shape_ids, counts = np.asarray(ids, np.int64)[index], np.asarray(sizes, np.int64)[index]
        self.shapes = planner.raw.shapes
        valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
        return shape_ids, counts, np.asarray(ends, np.int64)[index], ok & (shape_ids >= 0) & valid


_FOLLOWING = {2: b"HTTPMSG", 3: b"SIPMSG"}


def _plan_one(planner: pyscan._Scanner, skeleton: str | None, follow: int) -> tuple:
    """pyscan's plan for a first line's skeleton (`follow`: 0 one line, 1 no marker on line two,
    2/3 HTTPMSG/SIPMSG opens line two) and the end of a marker in the skeleton (-1: none)."""
    if skeleton is None:
        return False, -1
    text = skeleton.encode()
    if marker := pyscan._MARKER.search(text):
        return planner.plan(text[: marker.end()], b""), marker.end()
    if follow == 1:
        return False, -1
    return planner.plan(text, _FOLLOWING.get(follow, b"")), -1


def _value_spans(
    quotes: np.ndarray,
    body: np.ndarray,
    pairs: np.ndarray,
    marker_end: np.ndarray,
    message: np.ndarray,
    event_end: np.ndarray,
) -> np.ndarray:
    """(start, length) of each value: the k-th pair's between the 2k-th and (2k+1)-th `"` of its
    body, then the message (if any) up to the event's end. A marker on the first line ends where the
    skeleton says, moved right by the values emptied before it."""
    total = int(pairs.sum())
    first = np.searchsorted(quotes, body)
    owner = np.repeat(np.arange(len(body)), pairs)
    within = np.arange(total) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    opening = quotes[first[owner] + 2 * within]
    closing = quotes[first[owner] + 2 * within + 1]
    lengths = closing - opening - 1
    emptied = np.bincount(owner, weights=lengths, minlength=len(body)).astype(np.int64)
    message = np.where(marker_end >= 0, body + marker_end + emptied, message)
    has_message = message >= 0
    count = pairs + has_message
    slots = np.cumsum(count) - count
    spans = np.empty((int(count.sum()), 2), dtype=np.int64)
    spans[np.repeat(slots, pairs) + within] = np.stack((opening + 1, lengths), axis=1)
    spans[slots[has_message] + pairs[has_message]] = np.stack(
        (message[has_message], event_end[has_message] - message[has_message]), axis=1
    )
    return spans


def _skeletons(
    data: np.ndarray, quotes: np.ndarray, body: np.ndarray, end: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Each body with its quoted values emptied (what pyscan's `_VALUE.sub(b'""', ...)` gives when
    the body's `"` pair up), and whether they pair up: the pieces between values, joined by `""`."""
    first = np.searchsorted(quotes, body)
    paired = (np.searchsorted(quotes, end) - first) % 2 == 0
    n = np.where(paired, np.searchsorted(quotes, end) - first, 0)
    size = n + 2
    base = np.cumsum(size) - size
    offsets = np.empty(int(size.sum()), dtype=np.int64)
    offsets[base], offsets[base + size - 1] = body, end
    within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    offsets[np.repeat(base, n) + 1 + within] = quotes[np.repeat(first, n) + within] + (within & 1)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    every = pa.Array.from_buffers(pa.large_string(), len(offsets) - 1, buffers)
    pieces_per = n // 2 + 1
    piece = np.repeat(base, pieces_per) + 2 * (
        np.arange(int(pieces_per.sum())) - np.repeat(np.cumsum(pieces_per) - pieces_per, pieces_per)
    )
    lists = pa.LargeListArray.from_arrays(
        pa.array(np.concatenate(([0], np.cumsum(pieces_per)))), every.take(pa.array(piece))
    )
    return pc.binary_join(lists, pa.scalar('""', pa.large_string())), paired


def _spans(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The byte spans [start, end) of `data` (in order, not overlapping) as a string array."""
    if len(starts) == 0:
        return pa.array([], pa.large_string())
    offsets = np.empty(len(starts) * 2, dtype=np.int64)
    offsets[0::2], offsets[1::2] = starts, ends
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    every = pa.Array.from_buffers(pa.large_string(), 2 * len(starts) - 1, buffers)
    return every.take(pa.array(np.arange(0, 2 * len(starts), 2)))


def _digits(data: np.ndarray, at: np.ndarray, count: np.ndarray, most: int) -> np.ndarray:
    """The decimal number written in the `count` (at most `most`) digit bytes at `at`."""
    value = np.zeros(len(at), dtype=np.int64)
    for k in range(most):
        more = k < count
        digit = data[np.minimum(at + k, len(data) - 1)].astype(np.int64) - ord("0")
        value = np.where(more, value * 10 + digit, value)
    return value


def _times(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC ns of each RFC 3339 time data[start:end] (the envelope regex checked its form) and
    whether it is valid; pyscan nulls an invalid one, so such an event is not read in bulk."""
    field = {
        name: _digits(data, start + at, np.full(len(start), size), size) for name, at, size in _TIME_FIELDS
    }
    dot = data[np.minimum(start + 19, len(data) - 1)] == ord(".")
    z = data[end - 1] == ord("Z")
    zone = np.where(z, end - 1, np.where(data[end - 3] == ord(":"), end - 6, end - 5))
    frac_len = np.where(dot, zone - start - 20, 0)
    nanos = _digits(data, start + 20, frac_len, 9) * 10 ** (9 - frac_len)
    hours = np.where(z, 0, _digits(data, zone + 1, np.full(len(zone), 2), 2))
    minutes = np.where(z, 0, _digits(data, end - 2, np.full(len(zone), 2), 2))
    offset = (hours * 60 + minutes) * 60_000_000_000
    offset = np.where(data[zone] == ord("-"), -offset, offset)
    y, mo, d = field["y"], field["mo"], field["d"]
    valid = (y >= 1678) & (y <= 2261) & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= days_in_month(y, mo))
    valid &= (field["h"] <= 23) & (field["mi"] <= 59) & (field["s"] <= 59) & (hours <= 23) & (minutes <= 59)
    days = days_from_civil(y, np.clip(mo, 1, 12), d)
    seconds = days * 86400 + field["h"] * 3600 + field["mi"] * 60 + field["s"]
    return np.where(valid, seconds, 0) * 1_000_000_000 + nanos - offset, valid


_TIME_FIELDS = (("y", 0, 4), ("mo", 5, 2), ("d", 8, 2), ("h", 11, 2), ("mi", 14, 2), ("s", 17, 2))


def _merge(bulk: _Bulk, slow: pyscan.RawScan, line_base: int) -> pyscan.RawScan | None:
    """Both sets of rows in block order, shapes renumbered by first appearance and value spans in
    row order, as pyscan writes them (None: more distinct shapes than a block may hold)."""
    slow_rows = np.frombuffer(slow.events, dtype=np.int64).reshape(-1, L.NCOL)
    slow_values = np.frombuffer(slow.values, dtype=np.int64).reshape(-1, 2)
    fast_rows = bulk.rows.copy()
    fast_rows[:, L.LINE] += line_base
    keys = bulk.shapes + [s for s in slow.shapes]
    names: dict[tuple[str, ...], int] = {}
    global_of = np.asarray([names.setdefault(key, len(names)) for key in keys] + [-1], np.int64)
    slow_rows = slow_rows.copy()
    fast_rows[:, L.SHAPE] = global_of[fast_rows[:, L.SHAPE]]
    slow_rows[:, L.SHAPE] = global_of[
        np.where(slow_rows[:, L.SHAPE] >= 0, slow_rows[:, L.SHAPE] + len(bulk.shapes), -1)
    ]
    slow_rows[:, L.VALUES_FIRST] += len(bulk.values)
    rows = np.concatenate((fast_rows, slow_rows))
    rows = rows[np.argsort(rows[:, L.OFFSET], kind="stable")]
    values = np.concatenate((bulk.values, slow_values))
    shape = rows[:, L.SHAPE]
    used = shape >= 0
    distinct, first = np.unique(shape[used], return_index=True)
    if len(distinct) > L.MAX_SHAPES:
        return None
    order = distinct[np.argsort(first)]
    renumber = np.full(len(names) + 1, -1, np.int64)
    renumber[order] = np.arange(len(order))
    rows[:, L.SHAPE] = renumber[shape]
    count = np.where(used, rows[:, L.VALUES_COUNT], 0)
    first_new = np.cumsum(count) - count
    gather = (
        np.repeat(rows[:, L.VALUES_FIRST], count) + np.arange(int(count.sum())) - np.repeat(first_new, count)
    )
    rows[:, L.VALUES_FIRST] = np.where(used, first_new, 0)
    by_id = list(names)
    raw = pyscan.RawScan(shapes=[by_id[i] for i in order.tolist()])
    raw.events = array("q", rows.tobytes())
    raw.values = array("q", values[gather].tobytes())
    raw.declined = slow.declined
    return raw
