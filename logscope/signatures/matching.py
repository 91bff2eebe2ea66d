"""The declarative `where` filters of a signature: which rows of a frame match."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd


def normalize_text(value: Any) -> str:
    """Compare OpenSSL texts across versions: 1.1.1 `self signed`, 3.x `self-signed`; case-free."""
    return _one_space(str(value).strip().lower().replace("self-signed", "self signed"))


def where_mask(frame: pd.DataFrame, alternatives: list[dict[str, Any]]) -> pd.Series:
    """Rows matching any of the alternatives; each alternative is column -> condition (all must hold).

    Conditions: a list of values (text compared by :func:`normalize_text`), or a table with one of
    `regex` (case-insensitive search), `min`/`max` (numbers), `missing` (true/false), `not` (a list).
    """
    mask = pd.Series(False, index=frame.index)
    for alternative in alternatives:
        part = pd.Series(True, index=frame.index)
        for column, condition in alternative.items():
            part &= _condition_mask(frame, column, condition)
        mask |= part
    return mask


def _condition_mask(frame: pd.DataFrame, column: str, condition: Any) -> pd.Series:
    if column not in frame:
        return pd.Series(False, index=frame.index)
    series = frame[column]
    if isinstance(condition, list):
        return _text_in(series, condition)
    if not isinstance(condition, dict):
        return _text_in(series, [condition])
    mask = pd.Series(True, index=frame.index)
    if "regex" in condition:
        pattern = re.compile(condition["regex"], re.IGNORECASE)
        # searched with each run of white space as one space: a log's spacing is not its meaning
        found = map_distinct(series, lambda v: bool(pattern.search(_one_space(str(v)))), missing=False)
        mask &= pd.Series(found.astype(bool), index=frame.index)
    if "min" in condition:
        mask &= (pd.to_numeric(series, errors="coerce") >= condition["min"]).fillna(False).astype(bool)
    if "max" in condition:
        mask &= (pd.to_numeric(series, errors="coerce") <= condition["max"]).fillna(False).astype(bool)
    if "missing" in condition:
        mask &= series.isna() == bool(condition["missing"])
    if "not" in condition:
        mask &= ~_text_in(series, condition["not"])
    return mask


def _one_space(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _text_in(series: pd.Series, values: list) -> pd.Series:
    wanted = {normalize_text(value) for value in values}
    found = map_distinct(series, lambda v: normalize_text(v) in wanted, missing=False)
    return pd.Series(found.astype(bool), index=series.index)


def map_distinct(series: pd.Series, function: Any, missing: Any = None) -> np.ndarray:
    """`function` of each row's value, called once per distinct value (a storm repeats a few
    thousand values over millions of rows); `missing` where the value is missing. A bool array when
    every result is a bool, else an object array."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, uniques = series.cat.codes.to_numpy(), series.cat.categories
    else:
        codes, uniques = pd.factorize(series)
    results = [function(value) for value in uniques] + [missing]
    if all(type(result) is bool for result in results):  # a test: a bool array, not objects
        return np.array(results, dtype=bool)[codes]
    mapped = np.empty(len(results), dtype=object)
    mapped[:] = results
    return mapped[codes]


def map_distinct_rows(frame: pd.DataFrame, columns: list[str], function: Any) -> np.ndarray:
    """`function(*values)` of each row's values in `columns` (None where missing; a missing column is
    all None), called once per distinct combination: the combinations are numbered by factorizing
    column by column."""
    key = np.zeros(len(frame), dtype="int64")
    coded = [_codes(frame[column]) if column in frame else None for column in columns]
    for codes, _ in filter(None, coded):
        key, _ = pd.factorize(key * (int(codes.max(initial=-1)) + 2) + codes + 1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    picked = [
        [None] * len(first)
        if part is None
        else [part[1][code] if code >= 0 else None for code in part[0][first]]
        for part in coded
    ]
    mapped = np.empty(len(first), dtype=object)
    mapped[:] = [function(*values) for values in zip(*picked, strict=True)]
    return mapped[inverse.reshape(-1)]


def _codes(series: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes of a column's values (-1 where missing) and the values they stand for."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(dtype="int64"), series.cat.categories.tolist()
    codes, uniques = pd.factorize(series)
    return codes.astype("int64"), uniques.tolist()
