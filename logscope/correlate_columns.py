"""Column helpers of the correlate stage: integer transaction keys and per-transaction picks, each
done once over whole columns (issue 14: no merge, no string key, no per-row conversion)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TXN_KEY = ["node", "pid", "txn_id"]


def kind_names(kind: pd.Series) -> np.ndarray:
    """The kind of each line as an array that compares to a name per distinct value, not per row."""
    if isinstance(kind.dtype, pd.CategoricalDtype):
        names = np.asarray(kind.cat.categories, dtype=object)
        codes = kind.cat.codes.to_numpy()
        return np.where(codes >= 0, names[np.maximum(codes, 0)] if len(names) else None, None)
    return kind.to_numpy(dtype=object)


def transaction_numbers(steps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each step line's transaction number (0.., in order of first appearance) and the position of
    each transaction's first line. A missing pid is a key of its own."""
    codes = np.zeros(len(steps), dtype="int64")
    for column in TXN_KEY:
        values = steps[column]
        column_codes, uniques = pd.factorize(values, use_na_sentinel=False)
        codes, _ = pd.factorize(codes * (len(uniques) + 1) + column_codes)
    codes = codes.astype("int64")
    _, first_rows = np.unique(codes, return_index=True)
    return codes, first_rows


def reduced(stamps: np.ndarray, group: np.ndarray, count: int, ufunc: np.ufunc) -> pd.Series:
    """Minimum or maximum time per transaction (NaT where a transaction has no time)."""
    fill = np.iinfo("int64").max if ufunc is np.minimum else np.iinfo("int64").min + 1
    known = stamps != np.iinfo("int64").min
    result = np.full(count, fill, dtype="int64")
    ufunc.at(result, group[known], stamps[known])
    values = result.view("datetime64[ns]").copy()
    values[result == fill] = np.datetime64("NaT")
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC"))


def picked_rows(mask: np.ndarray, group: np.ndarray, count: int, last: bool) -> np.ndarray:
    """Per transaction, the position of its first (or last) line of one kind; -1 where it has none."""
    rows = np.flatnonzero(mask)
    picked = np.full(count, -1, dtype="int64")
    if last:
        rows = rows[::-1]
    _, first = np.unique(group[rows], return_index=True)
    picked[group[rows[first]]] = rows[first]
    return picked


def taken(column: pd.Series, rows: np.ndarray) -> pd.Series:
    return pd.Series(column.array.take(rows, allow_fill=True))


def string_category(column: pd.Series) -> pd.Series:
    """The column as a category of strings (its values' categories only), converted once per value."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.cat.remove_unused_categories()
    if not isinstance(column.dtype, pd.CategoricalDtype) or column.cat.categories.empty:
        return column.astype("string").astype("category")
    strings = pd.Index(column.cat.categories.astype("string"))
    order = strings.argsort()
    remap = np.empty(len(order), dtype="int64")
    remap[order] = np.arange(len(order))
    codes = column.cat.codes.to_numpy()
    codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return pd.Series(pd.Categorical.from_codes(codes, categories=strings[order]))
