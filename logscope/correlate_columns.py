"""Column helpers of the correlate stage: integer transaction keys and per-transaction picks, each
done once over whole columns (issue 14: no merge, no string key, no per-row conversion).

Everything here works on positions into the events frame and on integer codes (a categorical's
codes, an integer column's values): a string is converted once per distinct value, never per row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

TXN_KEY = ["node", "pid", "txn_id"]
INT64_MIN = np.iinfo("int64").min
INT64_MAX = np.iinfo("int64").max
# Codes of the columns of one key are packed into one int64 while their product stays below this;
# an integer column spread wider than PACKED_RANGE is factorized first (at most one code per row).
PACKED_LIMIT = 1 << 62
PACKED_RANGE = 1 << 31


def kind_codes(kind: pd.Series, positions: np.ndarray) -> tuple[np.ndarray, Callable[[str], int]]:
    """The kind of each line at `positions` as an integer code, and the code of a kind's name (-2
    for a kind no line has): lines are compared to a name once per distinct kind, not per row."""
    if not isinstance(kind.dtype, pd.CategoricalDtype):
        kind = kind.astype("category")
    categories = kind.cat.categories

    def code_of(name: str) -> int:
        return categories.get_loc(name) if name in categories else -2

    return kind.cat.codes.to_numpy()[positions], code_of


def key_codes(column: pd.Series, positions: np.ndarray) -> tuple[np.ndarray, int]:
    """The values at `positions` as codes 0..size-1 (a missing value is a code of its own), and size.

    A categorical gives its codes; an integer column its values shifted to start at 1; anything
    else, or integers too spread out to pack, is factorized. An integer column costs one take of
    its values at the steps, shifted in place (no masked or filtered copies): on a 1 GiB file
    each 2 M-row array is 16 MB of fresh pages, and page faults were half of this stage's time.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()[positions].astype("int64")
        codes += 1
        return codes, len(column.cat.categories) + 1
    if pd.api.types.is_integer_dtype(column.dtype):
        taken = column.array[positions]
        missing = np.asarray(taken.isna(), dtype=bool)
        if missing.all():
            return np.zeros(len(positions), dtype="int64"), 1
        codes = taken.to_numpy(dtype="int64", na_value=0, copy=False)  # no copy when none is missing
        known = ~missing if missing.any() else True
        low = int(np.min(codes, where=known, initial=INT64_MAX))
        high = int(np.max(codes, where=known, initial=INT64_MIN))
        if high - low < PACKED_RANGE and low > INT64_MIN:
            codes -= low - 1
            codes[missing] = 0
            return codes, high - low + 2
    codes, uniques = pd.factorize(column.array[positions], use_na_sentinel=False)
    return codes.astype("int64", copy=False), len(uniques)


def transaction_numbers(events: pd.DataFrame, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each step line's transaction number (0.., in order of first appearance) and the position (in
    `positions`) of each transaction's first line. A missing node or pid is a key of its own.

    The columns' codes are packed into one int64 (in place, each column's codes freed once added)
    and factorized once (hashing, not sorting); int32 keys, when they fit, hash in half the
    memory (25 ms against 32-84 ms for 2 M lines).
    """
    key, size = key_codes(events[TXN_KEY[0]], positions)
    for column in TXN_KEY[1:]:
        key, size = _packed(key, size, events[column], positions)
    narrow = size <= np.iinfo("int32").max
    group = pd.factorize(key.astype("int32") if narrow else key)[0].astype("int64", copy=False)
    # Numbers are given in order of first appearance: a transaction starts where the running maximum rises.
    highest = np.maximum.accumulate(group, out=key)  # the key is no longer needed: its memory is reused
    first_rows = np.flatnonzero(np.concatenate(([True], highest[1:] != highest[:-1])))
    return group, first_rows


def _packed(key: np.ndarray, size: int, column: pd.Series, positions: np.ndarray) -> tuple[np.ndarray, int]:
    """The key with the column's codes packed in (key * count + code), and its new size."""
    codes, count = key_codes(column, positions)
    if size * count >= PACKED_LIMIT:
        key, _ = pd.factorize(key)
        key, size = key.astype("int64", copy=False), int(key.max()) + 1
    key *= count
    key += codes
    return key, size * count


def reduced(stamps: np.ndarray, group: np.ndarray, count: int, ufunc: np.ufunc) -> np.ndarray:
    """Minimum or maximum time per transaction, as int64 nanoseconds (INT64_MIN, NaT, where none)."""
    fill = INT64_MAX if ufunc is np.minimum else INT64_MIN + 1
    known = stamps != INT64_MIN
    if not known.all():
        group, stamps = group[known], stamps[known]
    result = np.full(count, fill, dtype="int64")
    ufunc.at(result, group, stamps)
    result[result == fill] = INT64_MIN
    return result


def picked_rows(rows: np.ndarray, group: np.ndarray, count: int, last: bool) -> np.ndarray:
    """Per transaction, the first (or last) of `rows` (the positions of its lines of one kind, in
    order); -1 where it has none."""
    if last:
        picked = np.full(count, -1, dtype="int64")
        np.maximum.at(picked, group[rows], rows)
        return picked
    picked = np.full(count, INT64_MAX, dtype="int64")
    np.minimum.at(picked, group[rows], rows)
    picked[picked == INT64_MAX] = -1
    return picked


def start_order(starts: np.ndarray) -> np.ndarray:
    """The order of a stable sort by start time with the unknown times (NaT) last, as sort_values."""
    return np.argsort(np.where(starts == INT64_MIN, INT64_MAX, starts), kind="stable")


def utc_times(stamps: np.ndarray) -> pd.Series:
    """int64 nanoseconds (INT64_MIN for none) as a UTC datetime column."""
    return pd.Series(pd.DatetimeIndex(stamps.view("datetime64[ns]")).tz_localize("UTC"))


def taken(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """The column's values at `rows` (-1: missing), keeping its dtype (a categorical's categories)."""
    return pd.Series(column.array.take(rows, allow_fill=True))


def str_category(column: pd.Series) -> pd.Series:
    """`column.astype(str).astype("category")`, converted once per category for a categorical."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column.astype(str).astype("category")
    return _used_sorted_categories(column, str)


def string_category(column: pd.Series) -> pd.Series:
    """The column as a category of strings (its values' categories only), converted once per value."""
    if not isinstance(column.dtype, pd.CategoricalDtype) or column.cat.categories.empty:
        return column.astype("string").astype("category")
    return _used_sorted_categories(column, "string")


def _used_sorted_categories(column: pd.Series, dtype) -> pd.Series:
    """The categorical with only the categories its values use, converted to `dtype` and sorted:
    what converting every value and making a category of the result gives, done per category."""
    codes = column.cat.codes.to_numpy()
    # the missing (-1) counted first: no filtered copy of the codes
    counts = np.bincount(np.add(codes, 1, dtype="int64"), minlength=len(column.cat.categories) + 1)
    used = np.flatnonzero(counts[1:])
    strings = pd.Index(column.cat.categories[used].astype(dtype))
    order = strings.argsort()
    remap = np.full(len(column.cat.categories) + 1, -1, dtype="int64")  # the last: code -1 stays -1
    remap[used[order]] = np.arange(len(order))
    codes = remap[codes]
    return pd.Series(pd.Categorical.from_codes(codes, categories=strings[order]))


def wanted_codes(column: pd.Series, wanted: pd.Index) -> np.ndarray:
    """Each value's position in `wanted` (strings), -1 where it is missing or not wanted; a
    categorical is looked up once per category."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return wanted.get_indexer(column.astype("string"))
    found = np.append(wanted.get_indexer(column.cat.categories.astype("string")), -1)
    return found[column.cat.codes.to_numpy()]  # code -1 (missing) reads the -1 appended
