"""Scanner tables -> pieces of the `events` frame, and the frame built from pieces (issue 14, item 1).

The parse stage scans each event-aligned block; the accepted events become one piece here (typed
columns built per column, not per row), the declined ones are parsed by the reference path and
become a piece of records. :class:`PieceBuilder` joins the pieces in file order into the same frame
:class:`logscope.parse.FrameBuilder` builds from records, dtypes and categories included (see
:func:`chunked_categorical` for why categories need care).
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.frame import (
    EVENT_COLUMNS,
    EVENT_DTYPES,
    FRAME_ROWS,
    KIND_DTYPE,
    KINDS,
    PORT_COLUMNS,
    SMALL_CATEGORIES,
    TEXT_COLUMNS,
    UTC_ASSUMED,
    category_dtype,
    infer_bsd_zones,
    records_to_frame,
)
from logscope.lines.phrases import FAILURE_KINDS
from logscope.lines.records import KEY_COLUMNS, REDUNDANT_KEYS
from logscope.scan import compact
from logscope.scan.coded import Coded, normalized
from logscope.scan.columns import ScanResult, span_codes, span_strings, trimmed_values
from logscope.scan.times import bsd_zones, yearless_times, zone_texts
from logscope.scan.values import clear_caches

# Envelopes whose time this layer converts as the record path does (BSD and diags through
# logscope.scan.times); others go to the record path.
_NATIVE_DIALECTS = ("rfc3339", "rfc5424", "bsd", "diags")
_NOT_EXTRA = frozenset(KEY_COLUMNS) | {"Msg", "HTTPMSG", "SIPMSG", ""} | REDUNDANT_KEYS
_OFFSET = r"(?P<offset>Z|[+-]\d\d:?\d\d)$"
_CATEGORY_COLUMNS = tuple(c for c, d in EVENT_DTYPES.items() if d == "category")
_ENCODED = (*_CATEGORY_COLUMNS, "ts_offset", "kind")
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


def _extras(result: ScanResult, table: pa.Table) -> list:
    """Per row its unknown keys as the record path's `extra` (values trimmed of ASCII space; None
    when none); rows with the same unknown keys and values share one dict (treat them as
    read-only). The values are read as codes per shape, and a dict made per distinct combination."""
    out = np.full(table.num_rows, None, dtype=object)
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
        texts = [part.dictionary.to_pylist() for part in parts]
        names = [sys.intern(keys[i]) for i in positions]
        dicts = np.empty(len(first), dtype=object)
        dicts[:] = [
            dict(
                zip(
                    names,
                    (text[part.codes[row]] for text, part in zip(texts, parts, strict=True)),
                    strict=True,
                )
            )
            for row in first.tolist()
        ]
        out[rows] = dicts[inverse]
    return out.tolist()


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


Piece = dict[str, object]  # column -> pyarrow array (`extra`: a list of dicts)


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
    for column in _ENCODED:
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
    texts = [_whole_characters(tail) for tail in tails.dictionary.cast(pa.binary()).to_pylist()]
    dictionary = pa.array(texts, pa.string())
    return Coded(tails.codes, dictionary).mapped(
        pc.struct_field(pc.extract_regex(dictionary, _OFFSET), "offset")
    )


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
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            values = np.asarray(series.astype(object))
            piece[column] = pa.array([None if pd.isna(v) else str(v) for v in values], pa.string())
        else:
            piece[column] = pa.array(series)
    return compact_piece(piece)


def chunked_categorical(indices: np.ndarray, dictionary: pa.Array) -> pd.Categorical:
    """The categories the record builder gives a column, from codes whose dictionary is in order of
    appearance: it types every FRAME_ROWS rows apart (categories in order of appearance, dtype
    string) and concatenates. Chunks with the same set of categories are one dtype to pandas and
    keep the first chunk's order; otherwise pandas falls back to sorted categories."""
    total, count = len(indices), len(dictionary)
    same = (
        total <= FRAME_ROWS
        or all(
            np.count_nonzero(np.bincount(part + 1, minlength=count + 1)[1:]) == count  # -1 (null) in bin 0
            for start in range(0, total, FRAME_ROWS)
            for part in (indices[start : start + FRAME_ROWS],)
        )
    )
    if same:
        return pd.Categorical.from_codes(indices, dtype=_string_categories(dictionary))
    return sorted_categorical(indices, dictionary, "string")


def sorted_categorical(indices: np.ndarray, dictionary: pa.Array, dtype: str = "object") -> pd.Categorical:
    """Codes -> a categorical with sorted categories, as `astype("category")` of the values makes
    (of dtype `dtype`: string when they come from string categories)."""
    count = len(dictionary)
    order = pc.sort_indices(dictionary).to_numpy()
    remap = np.empty(count + 1, np.int32)
    remap[order] = np.arange(count, dtype=np.int32)
    remap[count] = -1
    # the distinct values in code point order (UTF-8 byte order is the same), as astype("category")
    # sorts them; from object values it infers the categories' dtype
    values = dictionary.take(pa.array(order))
    if dtype == "string":
        categories = _string_categories(values)
    else:  # the categories' dtype inferred from the values
        categories = pd.CategoricalDtype(pd.Index(values.to_pylist(), dtype=None))
    return pd.Categorical.from_codes(remap[indices], dtype=categories)


def _string_categories(values: pa.Array) -> pd.CategoricalDtype:
    """The dtype `category_dtype(values.to_pylist(), "string")` gives; a long list's index is made
    from the Arrow values themselves, not from a Python string per value (~0.15 s and ~50 MiB for
    the 1 GiB storm's 480,000 tracking ids)."""
    if len(values) <= SMALL_CATEGORIES:
        return category_dtype(values.to_pylist(), "string")
    return pd.CategoricalDtype(pd.Index(pd.array(values, dtype="string")))


class PieceBuilder:
    """Pieces (pyarrow columns) in file order -> the `events` frame the record builder builds."""

    def __init__(self, *, year: int | None = None, backend: str = "compiled") -> None:
        self.year, self.backend = year, backend
        self.pieces: list[Piece] = []
        self.sequences: list[tuple[int, int]] = []  # (block number, rows) per piece
        self.extras: dict[tuple, dict] = {}  # `extra` contents -> the dict the rows share
        self.sequence = 0

    def next_sequence(self) -> int:
        """A number for the next block: pieces sort by (block, line), so a block's scanned and
        declined events keep file order."""
        self.sequence += 1
        return self.sequence

    def add(self, piece: Piece, sequence: int) -> None:
        """Keep a block's piece for the build (compacted where it was built: `compact_piece`); its
        `extra` dicts are shared with equal ones of earlier blocks."""
        if piece and len(piece["line"]):
            piece["extra"] = compact.shared_extras(piece["extra"], self.extras)
            self.pieces.append(piece)
            self.sequences.append((sequence, len(piece["line"])))

    def build(self) -> pd.DataFrame:
        """The typed `events` frame, sorted by time across nodes (a no-op for an ordered log).

        Each column is built from its parts, which are then dropped, and the memory they held is
        given back before the next column: the frame grows as the pieces shrink, rather than next
        to all of them (the 1 GiB storm's pieces are ~260 MiB, its frame ~450 MiB)."""
        clear_caches()  # the scan is over
        if not self.pieces:
            return records_to_frame([], year=self.year)
        compact.release_freed_memory()  # what the scan freed, before the run's largest allocation
        order = self._order()
        columns: dict[str, object] = {}
        for column in EVENT_COLUMNS:
            columns[column] = _built_column(column, [piece.pop(column) for piece in self.pieces], order)
            compact.release_freed_memory()
        self.pieces, self.sequences, self.extras = [], [], {}
        # in EVENT_COLUMNS order from the start: selecting them afterwards copied every column
        frame = infer_bsd_zones(
            pd.DataFrame({column: columns.pop(column) for column in EVENT_COLUMNS}, copy=False)
        )
        if not (frame["ts"].is_monotonic_increasing and not frame["ts"].hasnans):
            frame = frame.sort_values(["ts", "source", "line"], kind="stable", na_position="last")
        return frame.reset_index(drop=True)

    def _order(self) -> np.ndarray | None:
        """The rows in (block, line) order, the order of the file; None when they are in it already
        (every log read front to back: no sort then)."""
        lines = compact.integer_column([piece["line"] for piece in self.pieces]).to_numpy()
        blocks, sizes = zip(*self.sequences, strict=True)
        block_of_row = np.repeat(np.array(blocks, np.int64), sizes)
        steps = np.diff(block_of_row)
        if np.all(steps >= 0) and np.all(np.diff(lines)[steps == 0] >= 0):
            return None  # a stable sort would leave every row where it is
        return np.lexsort((lines, block_of_row))


def _built_column(column: str, parts: list, order: np.ndarray | None):
    """One column of the frame from its pieces' parts, rows taken in `order` (None: as they are)."""
    dtype = EVENT_DTYPES.get(column)
    if column == "extra":
        return _extra_column(parts, order)
    if dtype == "string":  # the text stays in its pieces' buffers when no row moves
        chunked = compact.texts(parts)
        return pd.array(chunked if order is None else chunked.take(pa.array(order)), dtype="string")
    if dtype == "Int64":
        return compact.integer_column(parts, order)
    if column in _ENCODED:
        indices, dictionary = _joined_codes(parts, order)
        if column == "kind":
            remap = np.array([KINDS.index(k) for k in dictionary.to_pylist()] + [-1], np.int32)
            return pd.Categorical.from_codes(remap[indices], dtype=KIND_DTYPE)
        if column == "ts_offset":
            return sorted_categorical(indices, dictionary)
        return compact.without_lookup_table(chunked_categorical(indices, dictionary))
    array = pa.chunked_array(parts)
    if order is not None:
        array = array.take(pa.array(order))
    if dtype == "boolean":
        array = array.combine_chunks()
        mask = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        values = np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        return pd.arrays.BooleanArray(values, mask)
    return array.to_pandas()  # ts


def _extra_column(parts: list[list], order: np.ndarray | None) -> pd.Series:
    """The `extra` dicts (shared, see `compact.shared_extras`) as one object column, read straight
    from the parts: assigning a list to an object array inspects every item (4x slower)."""
    total = sum(len(part) for part in parts)
    values = np.fromiter(itertools.chain.from_iterable(parts), dtype=object, count=total)
    return pd.Series(values if order is None else values[order], dtype=object)


def _joined_codes(parts: list, order: np.ndarray | None) -> tuple[np.ndarray, pa.Array]:
    """Dictionary-encoded pieces -> codes in frame order and a dictionary in order of appearance."""
    indices, dictionary = compact.joined_codes(parts)
    if order is None:
        return indices, dictionary
    indices = indices[order]
    appearance = pd.unique(indices[indices >= 0])
    remap = np.full(len(dictionary) + 1, -1, np.int32)
    remap[appearance] = np.arange(len(appearance), dtype=np.int32)
    return remap[indices], dictionary.take(pa.array(appearance, pa.int64()))


def _object_categories(column: pd.Series) -> pd.Categorical:
    values = column.array
    return pd.Categorical.from_codes(values.codes, categories=pd.Index(values.categories, dtype=object))


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
