"""The `events` frame built from the parse stage's pieces (issue 14, item 1).

Each block of a log becomes a piece (columns in pyarrow, text as dictionary codes; see
:mod:`logscope.scan.events`). :class:`PieceBuilder` joins the pieces in file order into the same frame
:class:`logscope.parse.FrameBuilder` builds from records, dtypes and categories included (see
:func:`chunked_categorical` for why categories need care), giving back each column's parts as it goes.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

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
    SMALL_CATEGORIES,
    category_dtype,
    infer_bsd_zones,
    records_to_frame,
    time_sorted,
)
from logscope.scan import compact
from logscope.scan.values import clear_caches

Piece = dict[str, object]  # column -> pyarrow array (`extra`: compact.SharedDicts)
# the columns a piece keeps as dictionary codes until the build
ENCODED_COLUMNS = (*(c for c, d in EVENT_DTYPES.items() if d == "category"), "ts_offset", "kind")
# A categorical column whose pieces' dictionaries hold this many values in all has its dictionaries
# joined, and the joined one sorted, on a second thread from the start of the build, while the
# columns before it are built: Arrow does both without the GIL, and for the 1 GiB storm's tracking
# ids and URLs they were most of the build's serial time (the build 2.56-2.82 -> 1.60-1.85 s).
AHEAD_VALUES = 1 << 16


@dataclass
class JoinedAhead:
    """A column's dictionaries joined (compact.joined_dictionaries) and the joined one's sort order."""

    encoded: pa.ChunkedArray
    sorted_order: np.ndarray


def joined_ahead(parts: list) -> JoinedAhead:
    """What the build's second thread makes of a column's parts (Arrow calls only: no GIL held)."""
    encoded = compact.joined_dictionaries(parts)
    chunks = [chunk for chunk in encoded.chunks if len(chunk)]
    dictionary = chunks[0].dictionary if chunks else pa.array([], encoded.type.value_type)
    return JoinedAhead(encoded, pc.sort_indices(dictionary).to_numpy())


def chunked_categorical(
    indices: np.ndarray, dictionary: pa.Array, sorted_order: np.ndarray | None = None
) -> pd.Categorical:
    """The categories the record builder gives a column, from codes whose dictionary is in order of
    appearance: it types every FRAME_ROWS rows apart (categories in order of appearance, dtype
    string) and concatenates. Chunks with the same set of categories are one dtype to pandas and
    keep the first chunk's order; otherwise pandas falls back to sorted categories (`sorted_order`:
    the dictionary's, when known)."""
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
    return sorted_categorical(indices, dictionary, "string", sorted_order)


def sorted_categorical(
    indices: np.ndarray, dictionary: pa.Array, dtype: str = "object", sorted_order: np.ndarray | None = None
) -> pd.Categorical:
    """Codes -> a categorical with sorted categories, as `astype("category")` of the values makes
    (of dtype `dtype`: string when they come from string categories)."""
    count = len(dictionary)
    order = pc.sort_indices(dictionary).to_numpy() if sorted_order is None else sorted_order
    remap = np.empty(count + 1, compact.code_dtype(count))
    remap[order] = np.arange(count, dtype=remap.dtype)
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
        self.extra_codes: dict[tuple, int] = {}  # `extra` contents -> its code in `extra_dicts`
        self.extra_dicts: list[dict] = []  # the dicts the rows of every piece share
        self.sequence = 0

    def next_sequence(self) -> int:
        """A number for the next block: pieces sort by (block, line), so a block's scanned and
        declined events keep file order."""
        self.sequence += 1
        return self.sequence

    def add(self, piece: Piece, sequence: int) -> None:
        """Keep a block's piece for the build (compacted where it was built: `compact_piece`); its
        `extra` dicts are shared with equal ones of earlier blocks (its column becomes codes)."""
        if piece and len(piece["line"]):
            piece["extra"] = compact.shared_extras(piece["extra"], self.extra_codes, self.extra_dicts)
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
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="logscope-join") as thread:
            ahead = {
                column: thread.submit(joined_ahead, [piece[column] for piece in self.pieces])
                for column in self._many_valued()
            }
            for column in EVENT_COLUMNS:
                parts = [piece.pop(column) for piece in self.pieces]
                if column == "extra":
                    columns[column] = _extra_column(parts, self.extra_dicts, order)
                else:
                    columns[column] = _built_column(column, parts, order, ahead.pop(column, None))
                compact.release_freed_memory()
        self.pieces, self.sequences, self.extra_codes, self.extra_dicts = [], [], {}, []
        # in EVENT_COLUMNS order from the start: selecting them afterwards copied every column
        return time_sorted(
            infer_bsd_zones(
                pd.DataFrame({column: columns.pop(column) for column in EVENT_COLUMNS}, copy=False)
            )
        )

    def _many_valued(self) -> list[str]:
        """The categorical columns whose dictionaries are joined ahead (AHEAD_VALUES)."""
        return [
            column
            for column in ENCODED_COLUMNS
            if column not in ("kind", "ts_offset")
            and sum(len(piece[column].dictionary) for piece in self.pieces if _is_coded(piece[column]))
            >= AHEAD_VALUES
        ]

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


def _is_coded(part: object) -> bool:
    return isinstance(part, pa.Array) and pa.types.is_dictionary(part.type)


def _built_column(column: str, parts: list, order: np.ndarray | None, ahead: Future | None = None):
    """One column of the frame from its pieces' parts, rows taken in `order` (None: as they are);
    `ahead`: its JoinedAhead, being made on the build's second thread."""
    dtype = EVENT_DTYPES.get(column)
    if dtype == "string":  # the text stays in its pieces' buffers when no row moves
        chunked = compact.texts(parts)
        return pd.array(chunked if order is None else chunked.take(pa.array(order)), dtype="string")
    if dtype == "Int64":
        return compact.integer_column(parts, order)
    if column in ENCODED_COLUMNS:
        joined = ahead.result() if ahead is not None else None
        indices, dictionary = _joined_codes(parts, order, joined.encoded if joined else None)
        if column == "kind":
            kinds = [KINDS.index(k) for k in dictionary.to_pylist()]
            remap = np.array([*kinds, -1], compact.code_dtype(len(KINDS)))
            return pd.Categorical.from_codes(remap[indices], dtype=KIND_DTYPE)
        if column == "ts_offset":
            return sorted_categorical(indices, dictionary)
        sorted_order = joined.sorted_order if joined and order is None else None  # else not this dictionary's
        return compact.without_lookup_table(chunked_categorical(indices, dictionary, sorted_order))
    array = pa.chunked_array(parts)
    if order is not None:
        array = array.take(pa.array(order))
    if dtype == "boolean":
        array = array.combine_chunks()
        mask = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        values = np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        return pd.arrays.BooleanArray(values, mask)
    return array.to_pandas()  # ts


def _extra_column(parts: list[np.ndarray], dicts: list[dict], order: np.ndarray | None) -> pd.Series:
    """The `extra` column from its parts' codes into `dicts` (see `compact.shared_extras`), rows
    taken in `order`: one take of the dicts by code, no Python step per row."""
    codes = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    if order is not None:
        codes = codes[order]
    table = np.empty(len(dicts) + 1, dtype=object)  # the last entry, None: what -1 reads
    table[: len(dicts)] = np.fromiter(dicts, dtype=object, count=len(dicts))
    return pd.Series(table[codes], dtype=object)


def _joined_codes(
    parts: list, order: np.ndarray | None, encoded: pa.ChunkedArray | None = None
) -> tuple[np.ndarray, pa.Array]:
    """Dictionary-encoded pieces -> codes in frame order and a dictionary in order of appearance."""
    indices, dictionary = compact.joined_codes(parts, encoded)
    if order is None:
        return indices, dictionary
    indices = indices[order]
    appearance = pd.unique(indices[indices >= 0])
    remap = np.full(len(dictionary) + 1, -1, indices.dtype)
    remap[appearance] = np.arange(len(appearance), dtype=indices.dtype)
    return remap[indices], dictionary.take(pa.array(appearance, pa.int64()))
