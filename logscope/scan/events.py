"""Scanner tables -> pieces of the `events` frame (issue 14, item 1).

The parse stage scans each event-aligned block; the accepted events become one piece here (typed
columns built per column, not per row), the declined ones are parsed by the reference path and
become a piece of records. :mod:`logscope.scan.build` joins the pieces into the frame.
"""

from __future__ import annotations

import sys
from itertools import repeat

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.frame import (
    EVENT_DTYPES,
    PORT_COLUMNS,
    TEXT_COLUMNS,
    UTC_ASSUMED,
    records_to_frame,
)
from logscope.lines.phrases import FAILURE_KINDS
from logscope.lines.records import KEY_COLUMNS, REDUNDANT_KEYS
from logscope.scan import compact
from logscope.scan.build import ENCODED_COLUMNS, Piece
from logscope.scan.coded import Coded, normalized
from logscope.scan.columns import ScanResult, span_codes, span_strings, trimmed_values
from logscope.scan.times import bsd_zones, yearless_times, zone_texts

# Envelopes whose time this layer converts as the record path does (BSD and diags through
# logscope.scan.times); others go to the record path.
_NATIVE_DIALECTS = ("rfc3339", "rfc5424", "bsd", "diags")
_NOT_EXTRA = frozenset(KEY_COLUMNS) | {"Msg", "HTTPMSG", "SIPMSG", ""} | REDUNDANT_KEYS
_OFFSET = r"(?P<offset>Z|[+-]\d\d:?\d\d)$"
_INTEGERS = tuple(c for c, d in EVENT_DTYPES.items() if d == "Int64")
_TEXTS = tuple(c for c, d in EVENT_DTYPES.items() if d == "string")


def native_rows(result: ScanResult) -> np.ndarray:
    """Which accepted rows this layer builds (the others are sent to the record path): a BSD line
    whose UTCTime gives a zone the record path would not read the same way is one of the others."""
    dialect = result.base["dialect"]
    native = np.array(
        pc.is_in(dialect, pa.array(_NATIVE_DIALECTS)).to_numpy(zero_copy_only=False), dtype=bool
    )
    rows, _, readable = _zoned_bsd(result)
    native[rows[~readable]] = False
    return native


def _zoned_bsd(result: ScanResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BSD rows timed by their body's UTCTime (their time span is the UTC time, which starts
    with a digit), each one's zone offset (seconds) and whether it is read as the record path reads
    it; computed once per block."""
    if "bsd_zones" not in result.memo:
        result.memo["bsd_zones"] = _bsd_zones_of(result.block, result.base)
    return result.memo["bsd_zones"]


def _bsd_zones_of(block: bytes, table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bsd = np.asarray(pc.equal(table["dialect"], "bsd").to_numpy(zero_copy_only=False), dtype=bool)
    if not bsd.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    starts = table["ts_start"].to_numpy()
    data = np.frombuffer(block, dtype=np.uint8)
    first = data[np.clip(starts, 0, max(len(data) - 1, 0))] if len(data) else np.zeros(len(starts), np.uint8)
    rows = np.flatnonzero(bsd & (first >= ord("0")) & (first <= ord("9")))
    offsets = table["offset"].to_numpy()[rows]
    local = span_strings(block, offsets, np.minimum(table["length"].to_numpy()[rows], 15))
    universal = pc.fill_null(table["ts"].take(pa.array(rows)).cast(pa.int64()), 0).to_numpy()
    zone, readable = bsd_zones(local, universal)
    return rows, zone, readable


def _yearless(result: ScanResult, rows: np.ndarray, table: pa.Table, offset: Coded, year):
    """`ts` and `ts_offset` of the BSD and diags rows (of `table`, the block's `rows`) as the record
    path gives them (logscope.frame: a yearless time through diags_times, UTC assumed for BSD,
    `unknown` for diags; a BSD line with a UTCTime keeps the scanner's time and gets its zone)."""
    ts = table["ts"]
    bsd, diags = (_is(table["dialect"], name) for name in ("bsd", "diags"))
    if not (bsd.any() or diags.any()):
        return ts, offset
    n = len(bsd)
    zoned_rows, zone_seconds, _ = _zoned_bsd(result)  # block rows, in order
    chosen = np.flatnonzero(rows)  # the block rows of `table`, in order
    by_utc = np.isin(chosen, zoned_rows)
    zoned, zone = np.flatnonzero(by_utc), zone_seconds[np.isin(zoned_rows, chosen)]
    yearless = diags | (bsd & ~by_utc)
    if yearless.any():
        at = np.flatnonzero(yearless)
        texts = span_strings(result.block, table["ts_start"].to_numpy()[at], table["ts_len"].to_numpy()[at])
        texts = pc.if_else(pa.array(bsd[yearless]), pc.binary_join_element_wise(texts, ".000", ""), texts)
        times = np.full(n, -1, np.int64)
        times[yearless] = pc.fill_null(yearless_times(texts, year).cast(pa.int64()), -1).to_numpy()
        missing = yearless & (times == -1)
        ts = pc.if_else(pa.array(yearless), pa.array(times, mask=missing).cast(ts.type), ts)
    zones = np.full(n, None, object)
    zones[zoned] = zone_texts(zone)
    zones[bsd & ~by_utc] = UTC_ASSUMED
    return ts, Coded.encode(pa.array(zones, pa.string())).where(bsd, offset)


def _is(array: pa.Array | pa.ChunkedArray, text: str) -> np.ndarray:
    """Where `array` holds `text`, as numpy booleans."""
    return np.asarray(pc.fill_null(pc.equal(array, text), False).to_numpy(zero_copy_only=False), dtype=bool)


def _whole(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _categorical(array: pa.Array | pa.ChunkedArray) -> pd.Categorical:
    encoded = _whole(array).dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return pd.Categorical.from_codes(codes, categories=pd.Index(encoded.dictionary.to_pylist(), dtype=object))


def _extras(result: ScanResult, table: pa.Table) -> compact.SharedDicts:
    """Per row its unknown keys as the record path's `extra` (values trimmed of ASCII space; None
    when none), as codes: rows with the same unknown keys and values share one dict (treat them as
    read-only). The values are read as codes per shape, and a dict made per distinct combination."""
    codes = np.full(table.num_rows, -1, dtype=np.int32)
    made: list[dict] = []
    shapes = table["shape"].to_numpy()
    firsts = table["values_first"].to_numpy()
    for shape_id in np.unique(shapes[shapes >= 0]).tolist():
        keys = result.shapes[shape_id]
        positions = [i for i, key in enumerate(keys) if key not in _NOT_EXTRA]
        if not positions:
            continue
        rows = np.flatnonzero(shapes == shape_id)
        index = firsts[rows][:, None] + np.array(positions, dtype=np.int64)[None, :]
        parts = trimmed_values(result.block, result.values, index)
        first, inverse = _combinations([part.codes for part in parts])
        names = [sys.intern(keys[i]) for i in positions]
        codes[rows] = inverse + len(made)
        # each key's values at the combinations' first rows, then a dict per combination
        values = [_texts_at(part, first) for part in parts]
        made.extend(map(dict, map(zip, repeat(names), zip(*values, strict=True))))
    return compact.SharedDicts(codes, made)


def _texts_at(column: Coded, rows: np.ndarray) -> list[str | None]:
    """The column's values at `rows` as Python strings, one string object per dictionary value: the
    dicts holding a value share it (a key's few values over thousands of combinations), and the
    helper's reply pickles each once."""
    texts = [*column.dictionary.to_pylist(), None]  # a null code (-1) reads the last
    return [texts[code] for code in column.codes[rows].tolist()]


def _combinations(codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """For rows of codes (one array per column, no nulls): the first row of each distinct
    combination, and each row's combination (an index into those)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    bound = 1
    for column in codes:
        size = int(column.max()) + 1 if len(column) else 1
        if bound * size >= 2**62:  # the key would overflow: number the combinations so far
            key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
            bound = int(key.max()) + 1
        key = key * size + column
        bound *= size
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def scanned_piece(
    result: ScanResult,
    rows: np.ndarray,
    source: str,
    default_node: str | None,
    block_offset: int = 0,
    year: int | None = None,
) -> Piece:
    """The accepted `rows` of a block's scan as a piece of the events frame (pyarrow columns).

    Their text stays in the log: `offset` (from the start of the stream; the block starts at
    `block_offset`) and `length` say where, and `raw` is null (logscope.event_texts reads it).
    `year`: the year of yearless times (None: the record path's rule, see frame.diags_times)."""
    table = result.base.filter(pa.array(rows)) if not rows.all() else result.base
    table = table.combine_chunks()
    n = table.num_rows
    coded = {name: column.filter(rows) for name, column in result.coded.items()}

    piece: Piece = {}
    starts, lengths = table["ts_start"].to_numpy(), table["ts_len"].to_numpy()
    offset = zone_offsets(result.block, starts, lengths).coalesce(Coded.constant("unknown", n))
    ts, offset = _yearless(result, rows, table, offset, year)
    piece["ts"] = _whole(ts)
    piece["ts_offset"] = offset
    piece["kind"] = coded["kind"]
    for column, dtype in EVENT_DTYPES.items():
        if column == "node":
            piece[column] = Coded.constant(default_node, n) if default_node else coded["host"]
        elif column == "source":
            piece[column] = Coded.constant(source, n) if source is not None else Coded.nulls(n)
        elif column == "partial":
            piece[column] = pa.nulls(n, pa.bool_())
        elif column == "raw":
            piece[column] = pa.nulls(n, pa.string())
        elif column == "offset":
            piece[column] = pc.add(_whole(table["offset"]), block_offset)
        elif column == "length":
            piece[column] = _whole(table["length"])
        elif column == "extra":
            piece[column] = _extras(result, table)
        elif column == "line":
            piece[column] = _whole(table["line"])
        elif dtype == "Int64" and column in PORT_COLUMNS:
            values = _whole(table[column])
            outside = pc.or_(pc.less(values, 0), pc.greater(values, 65535))
            piece[column] = pc.if_else(outside, pa.nulls(n, pa.int64()), values)
        elif dtype == "category":
            piece[column] = coded[column]
        else:
            piece[column] = _whole(table[column])
    return piece


def compact_piece(piece: Piece) -> Piece:
    """The piece as it waits for the build: text columns as dictionary codes (each block's distinct
    values once, not every row's text) and every column in the narrowest type that holds it
    (logscope.scan.compact). Done where the piece is built, so a helper process sends less."""
    for column in ENCODED_COLUMNS:
        piece[column] = compact.compact_codes(_settled(piece[column]))
    for column in _INTEGERS:
        piece[column] = compact.compact_integers(_whole(piece[column]))
    for column in _TEXTS:
        piece[column] = compact.compact_text(_whole(piece[column]))
    return piece


def _settled(column: Coded | pa.Array | pa.ChunkedArray) -> pa.Array:
    """A text column in the form `dictionary_encode` gives a text array: a coded column of the scan
    (a value may stand twice in its dictionary, or be unused) normalised, text as it is."""
    if isinstance(column, Coded):
        return column.normalized()
    array = _whole(column)
    return normalized(array) if pa.types.is_dictionary(array.type) else array


def zone_offsets(block: bytes, starts: np.ndarray, lengths: np.ndarray) -> Coded:
    """The zone offset that ends each time text (spans of `block`: `Z`, `+hh:mm`, `+hhmm`; null:
    none). The pattern reads at most a text's last six characters, so it runs once per distinct
    tail, not per row. A tail is the text's last six bytes (a time is ASCII), less the bytes of a
    character cut at its start: the same matches as over the last six characters. The tails are
    encoded as bytes and made whole once per distinct tail."""
    count = len(starts)
    if not count:
        return Coded.nulls(0)
    size = np.where(lengths >= 0, np.minimum(lengths, 6), -1)
    tails = span_codes(block, starts + np.maximum(lengths - 6, 0), size)  # as bytes: maybe a cut character
    dictionary = _whole_tails(tails.dictionary.cast(pa.binary()))
    return Coded(tails.codes, dictionary).mapped(
        pc.struct_field(pc.extract_regex(dictionary, _OFFSET), "offset")
    )


def _whole_tails(tails: pa.Array) -> pa.Array:
    """The tails (binary) as text, each less the continuation bytes of a character cut at its start:
    when no tail holds a byte past ASCII (a time's, nearly always) they are their own text, with no
    Python string per tail (a BSD copy's block has ~14,000 distinct tails)."""
    data = tails.buffers()[2]
    if data is None or not (np.frombuffer(data, np.uint8) >= 0x80).any():
        return tails.cast(pa.string())
    return pa.array([_whole_characters(tail) for tail in tails.to_pylist()], pa.string())


def _whole_characters(tail: bytes) -> str:
    """A tail of bytes without the continuation bytes of a character cut at its start."""
    cut = 0
    while cut < min(3, len(tail)) and 0x80 <= tail[cut] < 0xC0:
        cut += 1
    return tail[cut:].decode("utf-8")


def record_piece(records: list[dict], year: int | None) -> Piece:
    """Records of the reference path as a piece (typed as the record builder types them), compacted
    as `scan_block` compacts a scanned one."""
    if not records:
        return {}
    frame = records_to_frame(records, year=year, text_columns=False)
    piece: Piece = {column: [record.get(column) for record in records] for column in TEXT_COLUMNS}
    piece["raw"] = pa.array(piece["raw"], pa.string())
    piece["message"] = pa.array(piece["message"], pa.string())
    piece["extra"] = compact.SharedDicts.of(piece["extra"])
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            values = np.asarray(series.astype(object))
            piece[column] = pa.array([None if pd.isna(v) else str(v) for v in values], pa.string())
        else:
            piece[column] = pa.array(series)
    return compact_piece(piece)


def declined_spans(result: ScanResult, native: np.ndarray) -> list[tuple[int, int, int]]:
    """(offset, length, line) of the events for the reference path: the scanner's declined ones and
    the accepted ones this layer does not build (`native` False), in line order."""
    declined = result.declined
    spans = list(
        zip(
            declined["offset"].to_pylist(),
            declined["length"].to_pylist(),
            declined["line"].to_pylist(),
            strict=True,
        )
    )
    if not native.all():
        other = result.base.filter(pa.array(~native))
        spans += zip(
            other["offset"].to_pylist(), other["length"].to_pylist(), other["line"].to_pylist(), strict=True
        )
    return sorted(spans, key=lambda span: span[2])


def net_events(
    block: bytes,
    block_offset: int,
    piece: Piece,
    hit_lines: list[int],
    declined: list[tuple[int, bytes]],
    records: list[dict],
) -> list[tuple[int, bytes, dict]]:
    """The events the safety net must see, in line order: the declined ones, and the scanned ones
    (`piece`'s rows, whose offsets count from the stream's start: `block` starts at `block_offset`)
    that are failure rows or hold a phrase line (the net does nothing with the others)."""
    out = [(line, raw, record) for (line, raw), record in zip(declined, records, strict=True)]
    if piece and len(piece["line"]):
        starts = piece["offset"].to_numpy().astype(np.int64) - block_offset
        sizes = piece["length"].to_numpy()
        lines = piece["line"].to_numpy()
        kinds = pc.is_in(piece["kind"], pa.array(sorted(FAILURE_KINDS)))
        wanted = np.array(kinds.to_numpy(zero_copy_only=False), dtype=bool)
        if hit_lines:
            wanted[_holding(block, starts, sizes, lines, hit_lines)] = True
        fields = ("kind", "thread", "level", "module", "process")
        rows = np.flatnonzero(wanted)
        chosen = {name: piece[name].take(pa.array(rows)).to_pylist() for name in fields}
        for i, row in enumerate(rows.tolist()):
            record = {name: chosen[name][i] for name in fields}
            out.append((int(lines[row]), block[starts[row] : starts[row] + sizes[row]], record))
    return sorted(out, key=lambda event: event[0])


def _holding(block: bytes, starts: np.ndarray, sizes: np.ndarray, lines: np.ndarray, hit_lines: list[int]):
    """The rows (events in line order) whose lines hold one of `hit_lines`: a hit can only be in the
    last event opening at or before it, so only those few events' line ends are counted."""
    hits = np.unique(np.asarray(hit_lines, np.int64))
    owners = np.searchsorted(lines, hits, "right") - 1
    found = owners >= 0
    hits, owners = hits[found], owners[found]
    ends = np.array(
        [
            lines[row] + block.count(b"\n", starts[row], starts[row] + sizes[row]) + 1
            for row in owners.tolist()
        ],
        dtype=np.int64,
    )
    return np.unique(owners[hits < ends])
