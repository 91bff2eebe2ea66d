"""Columns as coded JSON texts: each row's text is `texts[codes[row]]`, every distinct text written
once (issue 14: the JSON of a login storm's hundreds of thousands of requests in well under a second).

The texts are what `json.dumps(value, ensure_ascii=False)` writes for each value (the standard
library's escaping for any text that needs it), and times as `Timestamp.isoformat()` writes them.
A code is an integer the column already has wherever it can be (a categorical's code, an integer
or a second less its column's smallest): hashing every row (factorizing) cost more than the rest.
Codes are int32 (int64 past CODE32_ROWS rows): a storm's steps have a dozen coded columns, all
alive until the document order is built, and int64 codes made them the largest part of the JSON
write's own peak (on the 1 GiB storm, 126 MiB over the report in a fresh process; 81 MiB now).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.render.logins import iso_times

TEXT = pa.large_string()  # 64-bit offsets: the array's text may pass 2 GiB on a very large storm
PACKED_LIMIT = 1 << 62
NANOSECONDS = 1_000_000_000
MILLISECOND = 1_000_000
# Up to this many rows a code is int32: a column's texts are at most about twice its rows (an
# integer's or a second's range, see _integer_codes) and an object's pieces a dozen columns, so
# even the codes into all of them concatenated stay below 2**31.
CODE32_ROWS = 1 << 24


class Unplaced(Exception):
    """A value this writer does not encode as json.dumps would: the dict path writes it."""


@dataclass(frozen=True)
class Coded:
    """A column's JSON text per row as `texts[codes]`."""

    codes: np.ndarray  # int32 (int64 past CODE32_ROWS rows), one per row, 0 <= code < len(texts)
    texts: pa.Array  # TEXT, no nulls

    def taken(self) -> pa.Array:
        return pc.take(self.texts, pa.array(self.codes))


def code_type(rows: int) -> np.dtype:
    """The integer type of the codes of a column of `rows` rows."""
    return np.dtype("int32" if rows <= CODE32_ROWS else "int64")


def as_codes(values: np.ndarray, *, plus: int = 0) -> np.ndarray:
    """`values + plus` as codes (code_type), in one pass: no int64 temporary when int32 will do.
    The sum is computed in the values' type when it is wider (the result fits the codes' type even
    where the values do not: an integer less its column's smallest), else in the codes' type."""
    kind = code_type(len(values))
    if values.dtype.itemsize < kind.itemsize:  # a categorical's int8/int16 codes, bools
        codes = values.astype(kind)
        codes += plus
        return codes
    return np.add(values, plus, out=np.empty(len(values), dtype=kind), casting="unsafe")


def null_column(rows: int) -> Coded:
    return Coded(np.zeros(rows, dtype=code_type(rows)), pa.array(["null"], TEXT))


def coded_column(column: pd.Series, *, boolean: bool = False) -> list[Coded]:
    """The column as JSON texts: one Coded, or two for a UTC or naive time (the second, then its
    fraction and zone). `boolean`: the values read as bools (`false`/`true`)."""
    if is_time(column):
        return _time_codes(column)
    if boolean:
        return [Coded(as_codes(column.to_numpy(dtype=bool)), pa.array(["false", "true"], TEXT))]
    if isinstance(column.dtype, pd.CategoricalDtype):
        try:
            categories = encoded_values(np.asarray(column.cat.categories, dtype=object))
        except Unplaced:  # an unused category may be of any type: only the values used count
            pass
        else:
            return [_null_first(column.cat.codes.to_numpy(), categories)]
    if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return [_integer_codes(column)]
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return [_null_first(codes, encoded_values(np.asarray(uniques, dtype=object)))]


def _null_first(codes: np.ndarray, encoded: pa.Array) -> Coded:
    """Codes into `encoded` (-1: missing) as codes into `null` + `encoded`."""
    return Coded(as_codes(codes, plus=1), pa.concat_arrays([pa.array(["null"], TEXT), encoded]))


def _integer_codes(column: pd.Series) -> Coded:
    """Integers as their decimal text (pyarrow's cast, as int.__repr__ writes them): the code is
    the value less the smallest, when the values span at most about twice the rows."""
    if column.dtype != np.dtype("int64"):
        column = column.astype("Int64")
    values = column.to_numpy(dtype="int64", na_value=0)
    missing = column.isna().to_numpy(dtype=bool) if column.dtype != np.dtype("int64") else None
    known = values if missing is None or not missing.any() else values[~missing]
    if len(known) == 0:
        return null_column(len(values))
    low, high = int(known.min()), int(known.max())
    if high - low <= 2 * len(values) + 1024:
        codes = as_codes(values, plus=1 - low)
        if missing is not None:
            codes[missing] = 0
        numbers = pc.cast(pa.array(np.arange(low, high + 1, dtype="int64")), TEXT)
        return Coded(codes, pa.concat_arrays([pa.array(["null"], TEXT), numbers]))
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    numbers = pc.cast(pa.array(np.asarray(uniques, dtype="int64")), TEXT)
    return _null_first(codes, numbers)


def combined(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """One code per combination of the columns' codes, and per combination each column's code.

    Codes are packed into one int64 (refactorized before a product of sizes would pass
    PACKED_LIMIT). When the combinations that could be are no more than the rows, the packed key
    is the code (every combination gets a text, unused ones too); else one code per combination
    seen, in order of first appearance."""
    key, size = codes[0].astype("int64"), sizes[0]
    packed = True  # the key is every column's code in mixed radix
    for column, count in zip(codes[1:], sizes[1:], strict=True):
        if size * count >= PACKED_LIMIT:
            factorized, uniques = pd.factorize(key)
            key, size, packed = factorized.astype("int64", copy=False), len(uniques), False
        key *= count
        key += column
        size *= count
    if packed and size <= len(key):
        return as_codes(key), _digits(np.arange(size, dtype="int64"), sizes)
    combination, seen = pd.factorize(key)
    del key
    if packed:  # each combination's key is its columns' codes: no need to find where it first is
        return as_codes(combination), _digits(seen, sizes)
    highest = np.maximum.accumulate(combination)  # codes come in order of first appearance
    first = np.flatnonzero(np.r_[True, highest[1:] != highest[:-1]])
    return as_codes(combination), [column[first] for column in codes]


def _digits(key: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """A packed key's digits in the mixed radix `sizes` (the first the most significant)."""
    digits = []
    for size in reversed(sizes):
        digits.append(key % size)
        key = key // size
    return digits[::-1]


NEEDS_ESCAPE = r'[\x00-\x1f"\\]'  # what json's encode_basestring escapes (ensure_ascii=False)


def encoded_values(values: np.ndarray) -> pa.Array:
    """Distinct values as JSON texts: a text with nothing to escape is quoted by pyarrow, any other
    value written by `encode` (the standard library's escaping)."""
    if len(values) == 0:
        return pa.array([], TEXT)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":  # not all str (checked in C)
        return texts_array([encode(value) for value in values])
    try:
        texts = pa.array(values, TEXT)
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: the standard library writes it
        return texts_array([encode(value) for value in values])
    odd = pc.match_substring_regex(texts, NEEDS_ESCAPE).to_numpy(zero_copy_only=False)
    quoted = joined(['"', texts, '"'])
    if not odd.any():
        return quoted
    escaped = np.full(len(values), "", dtype=object)
    escaped[odd] = [encode(value) for value in values[odd]]
    return pc.if_else(pa.array(odd), texts_array(escaped), quoted)


def texts_array(values: Any) -> pa.Array:
    """JSON texts as an array; one UTF-8 cannot hold (a lone surrogate, which json.dumps writes as
    it is with ensure_ascii=False) leaves the document to the dict path."""
    try:
        return pa.array(values, TEXT)
    except (pa.ArrowException, UnicodeEncodeError) as error:
        raise Unplaced from error


def joined(pieces: list[Any]) -> pa.Array:
    """Row by row, the pieces (arrays, or text the same in every row) one after the other."""
    parts = [pa.scalar(piece, TEXT) if isinstance(piece, str) else piece for piece in pieces]
    return pc.binary_join_element_wise(*parts, pa.scalar("", TEXT))


def is_time(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column)


def _time_codes(column: pd.Series) -> list[Coded]:
    """Each UTC or naive time as `iso_times` writes it, quoted (null for NaT): the whole second
    (code 0 for none), then the fraction (6 digits, or 9 below a microsecond, none when zero) and
    zone. Another time zone: one Coded of isoformat texts."""
    tz = getattr(column.dtype, "tz", None)
    if tz is not None and str(tz) != "UTC":
        codes, uniques = pd.factorize(pd.Series(_time_texts(column), dtype=object))
        return [Coded(as_codes(codes), texts_array(np.asarray(uniques, dtype=object)))]
    stamps = column.to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(stamps)
    seconds, fraction = np.divmod(stamps.view("int64"), NANOSECONDS)
    del stamps
    fraction = fraction.astype("int32")  # below 10**9
    some_missing = bool(missing.any())
    known = seconds[~missing] if some_missing else seconds
    if len(known) == 0:
        return [null_column(len(seconds))]
    zone = '+00:00"' if tz is not None else '"'
    return [
        _second_codes(seconds, known, missing if some_missing else None),
        _fraction_codes(fraction, missing if some_missing else None, zone),
    ]


def _second_codes(seconds: np.ndarray, known: np.ndarray, missing: np.ndarray | None) -> Coded:
    """`"` and the whole second of each time (`null` for none, code 0): the code is the second less
    the first, when the times span at most about twice the rows in seconds."""
    low, high = int(known.min()), int(known.max())
    if high - low <= 2 * len(seconds) + 1024:
        codes = as_codes(seconds, plus=1 - low)
        distinct = np.arange(low, high + 1, dtype="int64")
    else:
        if missing is not None:
            seconds = np.where(missing, low, seconds)
        factorized, distinct = pd.factorize(seconds)
        codes = as_codes(factorized, plus=1)
    if missing is not None:
        codes[missing] = 0
    return Coded(codes, pa.concat_arrays([pa.array(["null"], TEXT), quoted_seconds(distinct)]))


def quoted_seconds(seconds: np.ndarray) -> pa.Array:
    """`"` and each second since 1970 as numpy's `datetime_as_string(unit="s")` writes it
    (YYYY-MM-DDTHH:MM:SS), the digits computed as bytes (numpy's formatting and the conversion
    of its text cost 20 ms for the storm's 20k seconds); numpy writes years outside 1000-9999."""
    days, clock = np.divmod(seconds, 86400)
    year, month, day = _civil(days)
    if not ((year >= 1000) & (year <= 9999)).all():
        texts = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
        return joined(['"', pa.array(texts, TEXT)])
    text = np.empty((len(seconds), 20), dtype=np.uint8)
    for column, mark in zip((0, 5, 8, 11, 14, 17), '"--T::', strict=True):
        text[:, column] = ord(mark)
    fields = ((year, 1, 4), (month, 6, 2), (day, 9, 2), (clock // 3600, 12, 2), (clock // 60 % 60, 15, 2))
    for value, column, width in (*fields, (clock % 60, 18, 2)):
        for digit in range(width):
            text[:, column + digit] = ord("0") + value // 10 ** (width - 1 - digit) % 10
    offsets = np.arange(0, 20 * (len(seconds) + 1), 20, dtype="int64")
    return pa.LargeStringArray.from_buffers(len(seconds), pa.py_buffer(offsets), pa.py_buffer(text))


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each day since 1970-01-01 in the proleptic Gregorian calendar
    (H. Hinnant's civil_from_days)."""
    shifted = days + 719468
    era = np.floor_divide(shifted, 146097)
    day_of_era = shifted - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    march_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * march_month + 2) // 5 + 1
    month = np.where(march_month < 10, march_month + 3, march_month - 9)
    return year_of_era + era * 400 + (month <= 2), month, day


def _fraction_codes(fraction: np.ndarray, missing: np.ndarray | None, zone: str) -> Coded:
    """The fraction of the second and the zone's closing text (none for a missing time, code 0):
    the code is the millisecond plus one when every time is on a millisecond."""
    if missing is not None:
        fraction = np.where(missing, 0, fraction)
    milliseconds, rest = np.divmod(fraction, MILLISECOND)
    if not rest.any():
        codes = as_codes(milliseconds, plus=1)
        texts = _millisecond_tails(zone)
    else:
        factorized, distinct = pd.factorize(fraction)
        codes = as_codes(factorized, plus=1)
        texts = pa.array(["", *(_fraction(int(value)) + zone for value in distinct)], TEXT)
    if missing is not None:
        codes[missing] = 0
    return Coded(codes, texts)


@functools.cache
def _millisecond_tails(zone: str) -> pa.Array:
    """Nothing (a missing time), then each millisecond's fraction and the zone."""
    return pa.array(["", *(_fraction(ms * MILLISECOND) + zone for ms in range(1000))], TEXT)


def _fraction(nanoseconds: int) -> str:
    """The fraction of a second as Timestamp.isoformat writes it: none, 6 digits, or 9 below a us."""
    if nanoseconds == 0:
        return ""
    return f".{nanoseconds:09d}" if nanoseconds % 1000 else f".{nanoseconds // 1000:06d}"


def _time_texts(column: pd.Series) -> np.ndarray:
    """Each time as its JSON text (what the dict path writes: the ISO text, quoted, or null)."""
    texts = iso_times(column)
    return np.array(["null" if text is None else f'"{text}"' for text in texts], dtype=object)


def encode(value: Any) -> str:
    """One value as json.dumps writes it; only the types the dict path produces."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return encode_basestring(value)  # what json.dumps(value, ensure_ascii=False) calls
    if isinstance(value, (int, np.integer)):
        return int.__repr__(int(value))
    raise Unplaced
