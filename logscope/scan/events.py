"""Scanner tables -> pieces of the `events` frame, and the frame built from pieces (issue 14, item 1).

The parse stage scans each event-aligned block; the accepted events become one piece here (typed
columns built per column, not per row), the declined ones are parsed by the reference path and
become a piece of records. :class:`PieceBuilder` joins the pieces in file order into the same frame
:class:`logscope.parse.FrameBuilder` builds from records, dtypes and categories included (see
:func:`chunked_categorical` for why categories need care).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import union_categoricals

from logscope.frame import (
    EVENT_COLUMNS,
    EVENT_DTYPES,
    FRAME_ROWS,
    KINDS,
    PORT_COLUMNS,
    TEXT_COLUMNS,
    infer_bsd_zones,
    records_to_frame,
    typed,
)
from logscope.lines.phrases import FAILURE_KINDS
from logscope.lines.records import KEY_COLUMNS, REDUNDANT_KEYS
from logscope.scan.columns import ScanResult, span_strings

# Envelopes whose time this layer converts as the record path does; others go to the record path.
_NATIVE_DIALECTS = ("rfc3339", "rfc5424")
_NOT_EXTRA = frozenset(KEY_COLUMNS) | {"Msg", "HTTPMSG", "SIPMSG", ""} | REDUNDANT_KEYS
_OFFSET = r"(?P<offset>Z|[+-]\d\d:?\d\d)$"
_CATEGORY_COLUMNS = tuple(c for c, d in EVENT_DTYPES.items() if d == "category")


def native_rows(result: ScanResult) -> np.ndarray:
    """Which accepted rows this layer builds (the others are sent to the record path)."""
    dialect = result.events["dialect"]
    return np.asarray(pc.is_in(dialect, pa.array(_NATIVE_DIALECTS)).to_numpy(zero_copy_only=False))


def _whole(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _categorical(array: pa.Array | pa.ChunkedArray) -> pd.Categorical:
    encoded = _whole(array).dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return pd.Categorical.from_codes(codes, categories=pd.Index(encoded.dictionary.to_pylist(), dtype=object))


def _nullable(array: pa.Array | pa.ChunkedArray) -> pd.arrays.IntegerArray:
    array = _whole(array)
    values = array.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.arrays.IntegerArray(values, np.asarray(array.is_null().to_numpy(zero_copy_only=False)))


def _extras(result: ScanResult, table: pa.Table) -> list:
    """Per row its unknown keys as the record path's `extra` (stripped values; None when none); rows
    with the same unknown keys and values share one dict (treat them as read-only)."""
    out: list = [None] * table.num_rows
    shapes = table["shape"].to_numpy()
    firsts = table["values_first"].to_numpy()
    values = result.values
    for shape_id in np.unique(shapes[shapes >= 0]):
        keys = result.shapes[shape_id]
        positions = [i for i, key in enumerate(keys) if key not in _NOT_EXTRA]
        if not positions:
            continue
        rows = np.flatnonzero(shapes == shape_id)
        parts = [
            pc.utf8_trim(
                span_strings(result.block, values[firsts[rows] + i, 0], values[firsts[rows] + i, 1]),
                " \t\n\r\x0b\x0c",
            )
            for i in positions
        ]
        joined = pc.binary_join_element_wise(*parts, "\0") if len(parts) > 1 else parts[0]
        encoded = joined.dictionary_encode()
        names = [sys.intern(keys[i]) for i in positions]
        dicts = [dict(zip(names, text.split("\0"), strict=True)) for text in encoded.dictionary.to_pylist()]
        for row, code in zip(rows.tolist(), encoded.indices.to_pylist(), strict=True):
            out[row] = dicts[code]
    return out


def _raw_texts(result: ScanResult, table: pa.Table) -> list[str]:
    """Each event's text as the record path decodes it (CRLF -> LF, a leading BOM dropped)."""
    raw = span_strings(result.block, table["offset"].to_numpy(), table["length"].to_numpy())
    texts = raw.to_pylist()
    if pc.any(pc.match_substring_regex(raw, "\r|^\ufeff")).as_py():
        texts = [t.replace("\r\n", "\n").rstrip("\r").removeprefix("\ufeff") for t in texts]
    return texts


def scanned_piece(
    result: ScanResult, rows: np.ndarray, source: str, default_node: str | None
) -> tuple[pd.DataFrame, dict[str, list]]:
    """The accepted `rows` of a block's scan as a piece of the events frame, and its text columns."""
    table = result.events.filter(pa.array(rows)) if not rows.all() else result.events
    n = table.num_rows
    frame: dict[str, object] = {}
    ts_text = span_strings(result.block, table["ts_start"].to_numpy(), table["ts_len"].to_numpy())
    offset = pc.extract_regex(ts_text, _OFFSET).field(0) if n else pa.array([], pa.string())
    frame["ts"] = pd.Series(table["ts"].to_pandas(), dtype="datetime64[ns, UTC]").array
    frame["ts_offset"] = pd.Categorical(pc.fill_null(offset, "unknown").to_numpy(zero_copy_only=False))
    frame["kind"] = pd.Categorical(table["kind"].to_numpy(zero_copy_only=False), categories=KINDS)
    host = table["host"]
    node = pa.array([default_node] * n, pa.string()) if default_node else host
    for column, dtype in EVENT_DTYPES.items():
        if column in TEXT_COLUMNS:
            continue
        if column == "node":
            frame[column] = _categorical(node)
        elif column == "source":
            frame[column] = pd.Categorical.from_codes(np.zeros(n, np.int32), categories=[source])
        elif column == "partial":
            frame[column] = pd.array([None] * n, dtype="boolean")
        elif dtype == "category":
            frame[column] = _categorical(table[column].combine_chunks())
        elif dtype == "Int64":
            array = _nullable(table[column].combine_chunks())
            if column in PORT_COLUMNS:
                array[(array < 0) | (array > 65535)] = pd.NA
            frame[column] = array
    text = {
        "raw": _raw_texts(result, table),
        "message": table["message"].to_pylist(),
        "extra": _extras(result, table),
    }
    return pd.DataFrame(frame), text


def record_piece(records: list[dict], year: int | None) -> tuple[pd.DataFrame, dict[str, list]]:
    """Records of the reference path as a piece (the record builder's chunk, text apart)."""
    text = {column: [record.get(column) for record in records] for column in TEXT_COLUMNS}
    return records_to_frame(records, year=year, text_columns=False), text


def chunked_categorical(column: pd.Categorical, total: int) -> pd.Categorical:
    """The categories the record builder gives a column: it types every FRAME_ROWS rows apart (with
    categories in order of appearance) and concatenates; chunks whose categories differ make pandas
    fall back to sorted categories of dtype object, equal ones keep theirs."""
    codes = column.codes
    appearance = pd.unique(codes[codes >= 0])
    slices = range(0, total, FRAME_ROWS)
    same = len(slices) <= 1 or all(
        np.array_equal(pd.unique(part[part >= 0]), appearance)
        for start in slices
        for part in (codes[start : start + FRAME_ROWS],)
    )
    if same:
        categories = pd.Index(np.asarray(column.categories, dtype=object)[appearance], dtype="string")
        remap = np.full(len(column.categories) + 1, -1, np.int32)
        remap[appearance] = np.arange(len(appearance), dtype=np.int32)
        return pd.Categorical.from_codes(remap[codes], categories=categories)
    return pd.Categorical(np.asarray(column, dtype=object))


class PieceBuilder:
    """Pieces (typed frames with their text columns apart) in file order -> the `events` frame."""

    def __init__(self, *, year: int | None = None, backend: str = "compiled") -> None:
        self.year, self.backend = year, backend
        self.pieces: list[pd.DataFrame] = []
        self.sequences: list[np.ndarray] = []
        self.text: dict[str, list] = {column: [] for column in TEXT_COLUMNS}
        self.sequence = 0

    def next_sequence(self) -> int:
        """A number for the next block: pieces sort by (block, line), so a block's scanned and
        declined events keep file order."""
        self.sequence += 1
        return self.sequence

    def add(self, piece: pd.DataFrame, text: dict[str, list], sequence: int) -> None:
        if len(piece):
            self.pieces.append(piece)
            self.sequences.append(np.full(len(piece), sequence, np.int64))
            for column, values in text.items():
                self.text[column].extend(values)

    def build(self) -> pd.DataFrame:
        """The typed `events` frame, sorted by time across nodes (a no-op for an ordered log)."""
        if not self.pieces:
            return records_to_frame([], year=self.year)
        total = sum(len(piece) for piece in self.pieces)
        lines = np.concatenate([piece["line"].to_numpy(np.int64, na_value=0) for piece in self.pieces])
        order = np.lexsort((lines, np.concatenate(self.sequences)))
        columns: dict[str, object] = {}
        for column in EVENT_COLUMNS:
            if column in TEXT_COLUMNS:
                values = np.empty(total, dtype=object)
                values[:] = self.text[column]
                columns[column] = typed(pd.Series(values[order], dtype=object), EVENT_DTYPES[column])
                self.text[column] = []
            elif column in _CATEGORY_COLUMNS or column == "ts_offset":
                joined = union_categoricals([_object_categories(piece[column]) for piece in self.pieces])
                joined = pd.Categorical.from_codes(joined.codes[order], categories=joined.categories)
                if column == "ts_offset":
                    columns[column] = pd.Categorical(np.asarray(joined, dtype=object))
                else:
                    columns[column] = chunked_categorical(joined, total)
            else:
                joined = pd.concat([piece[column] for piece in self.pieces], ignore_index=True)
                columns[column] = joined.take(order).reset_index(drop=True)
        self.pieces, self.sequences = [], []
        frame = infer_bsd_zones(pd.DataFrame(columns)[list(EVENT_COLUMNS)])
        if not (frame["ts"].is_monotonic_increasing and not frame["ts"].hasnans):
            frame = frame.sort_values(["ts", "source", "line"], kind="stable", na_position="last")
        return frame.reset_index(drop=True)


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
        other = result.events.filter(pa.array(~native))
        spans += zip(
            other["offset"].to_pylist(), other["length"].to_pylist(), other["line"].to_pylist(), strict=True
        )
    return sorted(spans, key=lambda span: span[2])


def net_events(
    result: ScanResult,
    native: np.ndarray,
    piece: pd.DataFrame,
    hit_lines: list[int],
    declined: list[tuple[int, bytes]],
    records: list[dict],
) -> list[tuple[int, bytes, dict]]:
    """The events the safety net must see, in line order: the declined ones, and the scanned ones
    that are failure rows or hold a phrase line (the net does nothing with the others)."""
    out = [(line, raw, record) for (line, raw), record in zip(declined, records, strict=True)]
    if len(piece):
        table = result.events.filter(pa.array(native)) if not native.all() else result.events
        starts, sizes = table["offset"].to_numpy(), table["length"].to_numpy()
        lines = piece["line"].to_numpy(np.int64)
        wanted = np.array(piece["kind"].isin(FAILURE_KINDS).to_numpy(), dtype=bool)
        if hit_lines:
            raw = span_strings(result.block, starts, sizes)
            ends = lines + pc.count_substring(raw, "\n").to_numpy(zero_copy_only=False) + 1
            hits = np.asarray(sorted(hit_lines), np.int64)
            wanted |= np.searchsorted(hits, lines, "left") < np.searchsorted(hits, ends, "left")
        fields = ("kind", "thread", "level", "module", "process")
        for row in np.flatnonzero(wanted).tolist():
            record = {name: _present(piece[name].iat[row]) for name in fields}
            block = result.block[starts[row] : starts[row] + sizes[row]]
            out.append((int(lines[row]), block, record))
    return sorted(out, key=lambda event: event[0])


def _present(value: object) -> object:
    return None if value is None or value is pd.NA or value != value else value
