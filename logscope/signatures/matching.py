"""The declarative `where` filters of a signature: which rows of a frame match."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd


def normalize_text(value: Any) -> str:
    """Compare OpenSSL texts across versions: 1.1.1 `self signed`, 3.x `self-signed`; case-free."""
    return re.sub(r"\s+", " ", str(value).strip().lower().replace("self-signed", "self signed"))


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
        found = series.astype("object").map(lambda v: False if pd.isna(v) else bool(pattern.search(str(v))))
        mask &= found.astype(bool)
    if "min" in condition:
        mask &= (pd.to_numeric(series, errors="coerce") >= condition["min"]).fillna(False).astype(bool)
    if "max" in condition:
        mask &= (pd.to_numeric(series, errors="coerce") <= condition["max"]).fillna(False).astype(bool)
    if "missing" in condition:
        mask &= series.isna() == bool(condition["missing"])
    if "not" in condition:
        mask &= ~_text_in(series, condition["not"])
    return mask


def _text_in(series: pd.Series, values: list) -> pd.Series:
    wanted = {normalize_text(value) for value in values}
    normalized = series.astype("object").map(lambda v: None if pd.isna(v) else normalize_text(v))
    return normalized.isin(wanted).astype(bool)
