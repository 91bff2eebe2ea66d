"""Pieces of the `events` frame held small until the frame is built (issue 14, item 3: memory).

The parse stage keeps every block's piece until the end, when :class:`logscope.scan.build.PieceBuilder`
joins them; at 1 GiB that was ~630 MiB of Arrow columns, alive next to the frame being built. A piece's
columns are stored here in the narrowest Arrow type that holds their values (an all-null column as
the null type, no buffers; integers and dictionary codes in 8/16/32 bits), and read back at the build
as the types the frame is built from: the frame is the same, only the waiting pieces are smaller.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.memory import trim_heap

_NARROW = (pa.int8(), pa.int16(), pa.int32(), pa.int64())


def narrowest(low: int, high: int) -> pa.DataType:
    """The narrowest signed integer type holding `low`..`high`."""
    for kind in _NARROW:
        bound = 1 << (kind.bit_width - 1)
        if -bound <= low and high < bound:
            return kind
    return pa.int64()


def compact_integers(array: pa.Array) -> pa.Array:
    """An integer column in the narrowest type that holds its values (all null: the null type)."""
    if array.null_count == len(array):
        return pa.nulls(len(array))
    bounds = pc.min_max(array)
    kind = narrowest(bounds["min"].as_py(), bounds["max"].as_py())
    return array if kind == array.type else array.cast(kind)


def compact_codes(array: pa.Array) -> pa.Array:
    """Text (or dictionary) values as dictionary codes in the narrowest type that can index the
    dictionary: each block's distinct values once, not every row's text (all null: the null type)."""
    if array.null_count == len(array):
        return pa.nulls(len(array))
    if not pa.types.is_dictionary(array.type):
        array = array.dictionary_encode()
    kind = narrowest(0, len(array.dictionary))
    if kind == array.indices.type:
        return array
    return pa.DictionaryArray.from_arrays(array.indices.cast(kind), array.dictionary)


def compact_text(array: pa.Array) -> pa.Array:
    """A text column that is all null (`raw` and `message` of scanned rows) as the null type."""
    return pa.nulls(len(array)) if array.null_count == len(array) else array


def code_dtype(count: int) -> np.dtype:
    """The integer type pandas keeps a categorical's codes in for `count` categories (what
    `Categorical.from_codes` converts other codes to): codes made in it are neither copied nor
    converted, and a column of few values is a quarter of its int32 size."""
    for dtype in (np.int8, np.int16, np.int32):
        if count < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def joined_dictionaries(parts: list[pa.Array]) -> pa.ChunkedArray:
    """The dictionaries of compacted code parts, encoded as one: each part's values -> their
    joined code (a chunked encoding shares one dictionary, in order of first appearance)."""
    coded = [part for part in parts if pa.types.is_dictionary(part.type)]
    kind = coded[0].dictionary.type if coded else pa.string()
    return pa.chunked_array([part.dictionary for part in coded], kind).dictionary_encode()


def joined_codes(
    parts: list[pa.Array], encoded: pa.ChunkedArray | None = None
) -> tuple[np.ndarray, pa.Array]:
    """Compacted code parts -> codes into one dictionary (in `code_dtype` of its size), the parts'
    values in order of first appearance (as `unify_dictionaries` orders them), filled part by part
    into one array. `encoded`: `joined_dictionaries(parts)` when it was made already."""
    encoded = joined_dictionaries(parts) if encoded is None else encoded
    chunks = [chunk for chunk in encoded.chunks if len(chunk)]
    kind = encoded.type.value_type
    dictionary = chunks[0].dictionary if chunks else pa.array([], kind)
    dtype = code_dtype(len(dictionary))
    joined = np.concatenate(
        [np.zeros(0, dtype), *(chunk.indices.to_numpy().astype(dtype) for chunk in chunks)]
    )
    codes = np.full(sum(len(part) for part in parts), -1, dtype)
    start = first = 0
    for part in parts:
        end = start + len(part)
        if pa.types.is_dictionary(part.type):  # else all null: -1
            last = first + len(part.dictionary)
            if last > first:  # else no value, all null
                out = codes[start:end]
                # straight into the joined array; a null's slot may hold any index: clipped, then -1
                np.take(joined[first:last], values_of(part.indices), out=out, mode="clip")
                if (nulls := nulls_of(part.indices)) is not None:
                    np.copyto(out, -1, where=nulls)
            first = last
        start = end
    return codes, dictionary


def values_of(array: pa.Array) -> np.ndarray:
    """A fixed-width numeric Arrow array's values as a view of its data buffer, null slots included
    (what they hold is undefined): no copy and no `fill_null`, which cost ~30 us a part."""
    dtype = np.dtype(array.type.to_pandas_dtype())
    if not len(array):
        return np.zeros(0, dtype)
    return np.frombuffer(array.buffers()[1], dtype, len(array), array.offset * dtype.itemsize)


def nulls_of(array: pa.Array) -> np.ndarray | None:
    """Where `array` is null (None: nowhere), read from its validity bitmap."""
    if not array.null_count:
        return None
    bits = np.frombuffer(array.buffers()[0], np.uint8)
    valid = np.unpackbits(bits, count=array.offset + len(array), bitorder="little")[array.offset :]
    return valid == 0


class SharedDicts(NamedTuple):
    """A piece's `extra` column: per row a code into `dicts` (-1: None). Rows with the same unknown
    keys and values share one dict (treat them as read-only); a column of codes moves between
    processes and joins across pieces without a Python object per row."""

    codes: np.ndarray  # int32
    dicts: list[dict]

    def equals(self, other: SharedDicts) -> bool:
        """The same dicts on the same rows (as pyarrow's `equals`, which the other columns have)."""
        return np.array_equal(self.codes, other.codes) and self.dicts == other.dicts

    @classmethod
    def of(cls, values: list[dict | None]) -> SharedDicts:
        """Per-row dicts (or None) as codes; a dict standing on several rows is kept once."""
        index: dict[int, int] = {}
        dicts: list[dict] = []
        codes = np.full(len(values), -1, np.int32)
        for row, value in enumerate(values):
            if value is not None:
                code = index.setdefault(id(value), len(dicts))
                if code == len(dicts):
                    dicts.append(value)
                codes[row] = code
        return cls(codes, dicts)


def shared_extras(extras: SharedDicts, known: dict[tuple, int], kept: list[dict]) -> np.ndarray:
    """A piece's `extra` codes turned into codes of `kept`, the dicts of every piece so far: a dict
    whose keys and values equal one kept before (`known`: contents -> its code) takes that one's
    code, any other is appended. A block shares a dict among its rows; across blocks the same few
    contents were new dicts each time (127,325 dicts of 734 contents, ~50 MiB at 1 GiB). One step
    per distinct dict of the piece, none per row."""
    remap = np.full(len(extras.dicts) + 1, -1, np.int32)  # the last entry: what -1 (None) reads
    for local, item in enumerate(extras.dicts):
        try:
            code = known.setdefault(tuple(item.items()), len(kept))
        except TypeError:  # a value that cannot be a key: the dict stays its own
            code = len(kept)
        if code == len(kept):
            kept.append(item)
        remap[local] = code
    return remap[extras.codes]


def texts(parts: list[pa.Array]) -> pa.ChunkedArray:
    """Compacted text parts as one chunked string array, chunk for chunk."""
    return pa.chunked_array([part.cast(pa.string()) for part in parts], pa.string())


def integer_column(parts: list[pa.Array], order: np.ndarray | None = None) -> pd.arrays.IntegerArray:
    """Compacted integer parts -> the frame's Int64 column (rows taken in `order` when given),
    filled part by part into one array: no full-length Arrow copy in between. A null's value is 0."""
    total = sum(len(part) for part in parts)
    values, mask = np.zeros(total, np.int64), np.ones(total, bool)
    start = 0
    for part in parts:
        end = start + len(part)
        if part.null_count < len(part):  # else all null (the null type): 0 and masked
            values[start:end] = values_of(part)
            nulls = nulls_of(part)
            mask[start:end] = False if nulls is None else nulls
            if nulls is not None:
                np.copyto(values[start:end], 0, where=nulls)
        start = end
    if order is not None:
        values, mask = values[order], mask[order]
    return pd.arrays.IntegerArray(values, mask)


def without_lookup_table(values: pd.Categorical) -> pd.Categorical:
    """`values` with its categories' hash table dropped.

    Checking that the categories are unique (when the dtype is made) leaves pandas' lookup table
    on them: an object array of every category as a Python string and a hash table. For the
    columns with many distinct values (tracking ids, URLs, user names) that is ~90 MiB at 1 GiB,
    kept for the whole run though the later stages read the codes; a lookup rebuilds it on demand.
    """
    cache = getattr(values.categories, "_cache", None)
    if isinstance(cache, dict):
        cache.pop("_engine", None)
    return values


def release_freed_memory() -> None:
    """Give the memory freed since the last call back to the system.

    Arrow's pool (mimalloc) keeps the blocks of freed arrays for its own reuse, and glibc's heap
    keeps what the scan's small objects and temporaries freed; the frame's columns are numpy arrays,
    allocated by neither of them reusing the other's. Without this, the 1 GiB storm's pieces
    (~260 MiB) and the scan's freed heap (~160 MiB) stayed resident next to the frame being built.
    """
    pa.default_memory_pool().release_unused()
    trim_heap()
