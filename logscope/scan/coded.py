"""Text columns as dictionary codes while a block's columns are built (issue 14, item 1).

A text column of the scan has few distinct values for many rows (hosts, kinds, user names, even
tracking ids repeat within a block), and the piece the build reads holds it as dictionary codes.
So a column is built as :class:`Coded`, int32 codes into a dictionary of its distinct values, from
the scanner's spans straight away (`logscope.scan.columns.span_codes`): choosing between columns,
blanking values and decoding start lines, routes or OpenSSL errors work on codes and on the few
distinct values, never on the text of every row. :func:`normalized` gives a column the one form
the build reads, the form `dictionary_encode` of its text gives: each distinct value once, in order
of first appearance, nulls as null codes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.scan.compact import narrowest


def compiled(name: str):
    """A function of the compiled scanner, or None when it is not built or LOGSCOPE_SCANNER turns
    it off (then the Arrow and numpy code beside each use of it runs)."""
    if os.environ.get("LOGSCOPE_SCANNER", "").lower() in ("python", "arrow", "off", "records"):
        return None
    try:
        import logscope.scan._cscan as extension  # type: ignore[import-not-found]
    except ImportError:
        return None
    return getattr(extension, name, None)


_renumber = compiled("renumber")


def renumbered(codes: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, pa.Buffer | None]:
    """For codes 0..count-1 (int32, -1: null): the codes held in order of first appearance, each
    code replaced by its place in that order (-1 kept), and the validity bitmap of the non-null
    ones (None: no null)."""
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    if _renumber is not None:
        order, out, validity = _renumber(codes, count)
        bitmap = None if validity is None else pa.py_buffer(validity)
        return np.frombuffer(order, dtype=np.int32), np.frombuffer(out, dtype=np.int32), bitmap
    if len(codes) and (codes.min() < -1 or codes.max() >= count):
        raise ValueError("renumber: a code out of range")
    order = pd.unique(codes)  # in order of appearance
    order = order[order >= 0].astype(np.int32)
    table = np.full(count, -1, np.int32)
    table[order] = np.arange(len(order), dtype=np.int32)
    out = through(table, codes)
    valid = out >= 0
    return order, out, None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))


def through(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """`table[codes]` as int32, a null code (-1) staying -1."""
    return np.append(np.asarray(table, dtype=np.int32), np.int32(-1))[codes]


_EMPTY = pa.array([], pa.string())


@dataclass(frozen=True)
class Coded:
    """A text column: per row an int32 code into `dictionary` (-1: null). The dictionary is a string
    array without nulls; a value may stand in it twice and some may be unused (`normalized` settles
    both), so choosing between two columns only appends one dictionary to the other."""

    codes: np.ndarray
    dictionary: pa.Array

    @classmethod
    def nulls(cls, count: int) -> Coded:
        return cls(np.full(count, -1, np.int32), _EMPTY)

    @classmethod
    def constant(cls, text: str, count: int) -> Coded:
        return cls(np.zeros(count, np.int32), pa.array([text], pa.string()))

    @classmethod
    def of_names(cls, codes: np.ndarray, names: tuple[str, ...]) -> Coded:
        """Codes 0.. into `names` (-1: null)."""
        return cls(np.asarray(codes, dtype=np.int32), pa.array(list(names), pa.string()))

    @classmethod
    def encode(cls, array: pa.Array) -> Coded:
        """A string array's values as codes."""
        encoded = array.dictionary_encode()
        indices = encoded.indices.fill_null(-1) if encoded.indices.null_count else encoded.indices
        return cls(np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int32), encoded.dictionary)

    def __len__(self) -> int:
        return len(self.codes)

    def valid(self) -> np.ndarray:
        return self.codes >= 0

    def where(self, rows: np.ndarray, other: Coded) -> Coded:
        """This column's value where `rows` is set, `other`'s elsewhere (pyarrow's if_else)."""
        if not len(other.dictionary):
            return Coded(np.where(rows, self.codes, np.int32(-1)).astype(np.int32), self.dictionary)
        if not len(self.dictionary):
            return Coded(np.where(rows, np.int32(-1), other.codes).astype(np.int32), other.dictionary)
        shifted = np.where(other.codes >= 0, other.codes + np.int32(len(self.dictionary)), np.int32(-1))
        dictionary = pa.concat_arrays([self.dictionary, other.dictionary])
        return Coded(np.where(rows, self.codes, shifted).astype(np.int32), dictionary)

    def coalesce(self, other: Coded) -> Coded:
        """This column's value, else `other`'s."""
        return self.where(self.valid(), other)

    def null_where(self, rows: np.ndarray) -> Coded:
        return Coded(np.where(rows, np.int32(-1), self.codes).astype(np.int32), self.dictionary)

    def null_if(self, text: str) -> Coded:
        """Null where the value is `text`."""
        hit = np.asarray(pc.equal(self.dictionary, text).to_numpy(zero_copy_only=False), dtype=bool)
        if not hit.any():
            return self
        table = np.where(hit, -1, np.arange(len(hit)))
        return Coded(through(table, self.codes), self.dictionary)

    def mapped(self, values: pa.Array) -> Coded:
        """The column whose value is `values[i]` where this one holds dictionary value i (`values`:
        one string per dictionary value, null for a null)."""
        if values.null_count:
            valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            codes = through(np.where(valid, np.arange(len(values)), -1), self.codes)
            return Coded(codes, values.fill_null(""))
        return Coded(self.codes, values)

    def used(self) -> Coded:
        """The same column with only the dictionary values its rows hold, in order of appearance
        (a value may still stand twice)."""
        order, codes, _ = renumbered(self.codes, len(self.dictionary))
        return Coded(codes, self.dictionary.take(pa.array(order)))

    def filter(self, rows: np.ndarray) -> Coded:
        """The rows where `rows` is set."""
        return self if rows.all() else Coded(self.codes[rows], self.dictionary)

    def normalized(self) -> pa.DictionaryArray:
        """The column in the form `dictionary_encode` of its values gives, codes into the distinct
        values its rows hold in order of first appearance, in the narrowest index type that holds
        them (as logscope.scan.compact keeps them)."""
        order, codes, validity = renumbered(self.codes, len(self.dictionary))
        used = self.dictionary.take(pa.array(order))
        distinct = used.dictionary_encode()
        if len(distinct.dictionary) < len(used):  # a value stood twice: its codes become one
            codes = through(distinct.indices.to_numpy(zero_copy_only=False), codes)
        kind = narrowest(0, len(distinct.dictionary))  # the index type compact_codes gives
        codes = codes.astype(kind.to_pandas_dtype(), copy=False)
        indices = pa.Array.from_buffers(kind, len(codes), [validity, pa.py_buffer(codes)])
        return pa.DictionaryArray.from_arrays(indices, distinct.dictionary, safe=False)

    def to_arrow(self) -> pa.DictionaryArray:
        """As an Arrow dictionary array (int32 codes), the dictionary as it is."""
        return pa.DictionaryArray.from_arrays(pa.array(self.codes, mask=self.codes < 0), self.dictionary)

    def strings(self) -> pa.Array:
        """The values as a string array."""
        return self.dictionary.take(pa.array(self.codes, mask=self.codes < 0))


def normalized(array: pa.DictionaryArray) -> pa.DictionaryArray:
    """A dictionary array in the form `dictionary_encode` of its values gives (`Coded.normalized`)."""
    indices = array.indices.fill_null(-1) if array.indices.null_count else array.indices
    codes = np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    return Coded(codes, array.dictionary).normalized()
