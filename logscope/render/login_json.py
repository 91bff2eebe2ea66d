"""The JSON `logins` array as text, written column-wise (issue 16, speed).

A storm's JSON lists every login and every request of it: hundreds of thousands of step objects,
which `json.dumps(indent=2)` writes value by value in Python. Here each column is encoded once per
distinct value (`json.dumps` of the value itself, so escaping is the standard library's) and the
objects are assembled by pyarrow's element-wise string joins, byte for byte what
`json.dumps(login_documents(...), indent=2, ensure_ascii=False)` writes at the same depth. Anything
this writer does not know how to place (a column of another type, a login without requests, steps
not grouped by login) returns None and the caller takes the dict path.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.render.logins import LOGIN_FIELDS, STEP_FIELDS, iso_times

if TYPE_CHECKING:
    from logscope.report import Report

INDENT = "  "
TEXT = pa.large_string()  # 64-bit offsets: the array's text may pass 2 GiB on a very large storm


def logins_json(report: Report, *, level: int, user: str | None = None) -> str | None:
    """The report's `logins` array (of `user` when given) as JSON text at nesting `level`."""
    logins, steps = report.logins, report.login_steps
    if logins is None or logins.empty or steps is None:
        return "[]"
    if user is not None:
        logins = logins[logins["user"].str.lower().eq(user.lower()).fillna(False).astype(bool)]
    return logins_array(logins, steps, level=level)


def logins_array(logins: pd.DataFrame, steps: pd.DataFrame, *, level: int) -> str | None:
    """The logins (each with its steps) as the JSON array text at nesting `level` (0: a document of
    its own, 1: a value of the report's top-level object); None when only the dict path can."""
    if logins.empty:
        return "[]"
    steps = steps[steps["login"].isin(logins["login"])]
    order = logins["login"].to_numpy()
    ladder = steps["login"].to_numpy()
    if not _grouped(order, ladder):
        return None
    bounds = np.flatnonzero(np.r_[True, ladder[1:] != ladder[:-1]])
    try:
        header = _headers(logins, steps, bounds, level)
    except _Unplaced:
        return None
    last = np.r_[bounds[1:] - 1, len(ladder) - 1]
    close = "\n" + _pad(level + 2) + "]\n" + _pad(level + 1) + "}"
    ends = np.zeros(len(ladder), dtype="int64")  # ",\n" between steps, the login's close after its last
    ends[last] = 1
    ends[last[-1]] = 2  # and the array's close after the very last
    suffix = pc.take(pa.array([",\n", close + ",\n", close + "\n" + _pad(level) + "]"], TEXT), pa.array(ends))
    slot = np.full(len(ladder), len(bounds), dtype="int64")  # the login's head before its first step
    slot[bounds] = np.arange(len(bounds))
    prefix = pc.take(pa.concat_arrays([header, pa.array([""], TEXT)]), pa.array(slot))
    prefix = _joined(
        [pa.array(np.where(np.arange(len(ladder)) == 0, "[\n", "").astype(object), TEXT), prefix]
    )
    try:
        return _text_of(_step_objects(steps, level + 3, prefix, suffix))
    except _Unplaced:
        return None


def _text_of(pieces: pa.Array) -> str:
    """The strings of an array one after the other: its data buffer, decoded once."""
    if pieces.null_count:
        raise _Unplaced
    offsets = np.frombuffer(pieces.buffers()[1], dtype="int64")[
        pieces.offset : pieces.offset + len(pieces) + 1
    ]
    data = memoryview(pieces.buffers()[2])[int(offsets[0]) : int(offsets[-1])]
    return str(data, "utf-8")


def _grouped(order: np.ndarray, ladder: np.ndarray) -> bool:
    """Steps contiguous per login, in the logins' order, every login with at least one step."""
    if len(ladder) == 0 or len(np.unique(order)) != len(order):
        return False
    runs = ladder[np.r_[True, ladder[1:] != ladder[:-1]]]
    return len(runs) == len(order) and bool((runs == order).all())


class _Unplaced(Exception):
    """A value this writer does not encode as json.dumps would: the dict path writes it."""


def _headers(logins: pd.DataFrame, steps: pd.DataFrame, bounds: np.ndarray, level: int) -> pa.Array:
    """Each login's text up to and including `"steps": [` and the newline of its first step."""
    inner = _pad(level + 2)
    pieces: list[Any] = [_pad(level + 1) + "{\n"]
    for index, name in enumerate(LOGIN_FIELDS):
        pieces += [("" if index == 0 else ",\n") + f'{inner}"{name}": ', _arrow_column(logins, name)]
    pieces += [f',\n{inner}"stages": ', pa.array(_stages(logins["stages"].tolist(), level + 2), TEXT)]
    pieces += [f',\n{inner}"finding": ', pa.array(_login_findings(logins, steps, bounds), TEXT)]
    pieces.append(f',\n{inner}"steps": [\n')
    return _joined(pieces)


def _stages(values: list[Any], level: int) -> list[str]:
    """Each login's `stages` object: the few distinct ones written once each."""
    written: dict[tuple[tuple[Any, Any], ...], str] = {}
    texts = []
    for value in values:
        if not isinstance(value, dict):
            raise _Unplaced
        key = tuple(value.items())
        if key not in written:
            text = json.dumps(value, indent=2, ensure_ascii=False)
            written[key] = text.replace("\n", "\n" + _pad(level))
        texts.append(written[key])
    return texts


def _login_findings(logins: pd.DataFrame, steps: pd.DataFrame, bounds: np.ndarray) -> list[str]:
    """Per login, the finding of its first request at the failed step that names one (as JSON)."""
    if "finding" not in steps:
        return ["null"] * len(logins)
    codes, uniques = pd.factorize(steps["finding"], use_na_sentinel=True)
    named = np.array([bool(value) for value in uniques] + [False], dtype=bool)[codes]
    step_codes, step_names = pd.factorize(steps["step"], use_na_sentinel=True)
    wanted = pd.Index(step_names, dtype=object).get_indexer(logins["failed_step"].astype(object).to_numpy())
    wanted = np.repeat(wanted, np.diff(np.r_[bounds, len(steps)]))
    at_failed = named & (wanted >= 0) & (step_codes == wanted)
    first = np.minimum.reduceat(np.where(at_failed, np.arange(len(steps)), len(steps)), bounds)
    texts = np.array([*(_encode(value) for value in uniques), "null"], dtype=object)
    found = np.where(first < len(steps), codes[np.minimum(first, len(steps) - 1)], len(uniques))
    return texts[found].tolist()


def _step_objects(steps: pd.DataFrame, level: int, prefix: pa.Array, suffix: pa.Array) -> pa.Array:
    """One JSON object per step (at nesting `level`), between its `prefix` and `suffix`."""
    inner = _pad(level + 1)
    names = (*STEP_FIELDS, "start", "failed")
    pieces: list[Any] = [prefix]
    for index, name in enumerate(names):
        lead = _pad(level) + "{\n" if index == 0 else ",\n"
        pieces.append(f'{lead}{inner}"{name}": ')
        pieces.append(_arrow_column(steps, name))
    pieces.append("\n" + _pad(level) + "}")
    pieces.append(suffix)
    return _joined(pieces)


def _joined(pieces: list[Any]) -> pa.Array:
    """Row by row, the pieces (arrays, or text the same in every row) one after the other."""
    parts = [pa.scalar(piece, TEXT) if isinstance(piece, str) else piece for piece in pieces]
    return pc.binary_join_element_wise(*parts, pa.scalar("", TEXT))


def _arrow_column(frame: pd.DataFrame, name: str) -> pa.Array:
    """A step column as the JSON text of each value, by pyarrow, never a per-row Python value."""
    if name not in frame:
        return pa.array(np.full(len(frame), "null", dtype=object), TEXT)
    column = frame[name]
    if _is_time(column):
        times = _arrow_times(column)
        return times if times is not None else pa.array(_time_texts(column), TEXT)
    if name == "failed":
        return pc.take(
            pa.array(["false", "true"], TEXT), pa.array(column.to_numpy(dtype=bool).astype("int8"))
        )
    if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        numbers = column.astype("Int64")
        values = pa.array(
            numbers.to_numpy(dtype="int64", na_value=0), mask=numbers.isna().to_numpy(dtype=bool)
        )
        return pc.fill_null(pc.cast(values, TEXT), "null")
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    encoded = pa.concat_arrays([_encoded_values(np.asarray(uniques, dtype=object)), pa.array(["null"], TEXT)])
    codes = np.where(codes >= 0, codes, len(uniques)).astype("int64")
    return pc.take(encoded, pa.array(codes))


_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'  # what json's encode_basestring escapes (ensure_ascii=False)


def _encoded_values(values: np.ndarray) -> pa.Array:
    """Distinct values as JSON texts: a text with nothing to escape is quoted by pyarrow, any other
    value written by `_encode` (the standard library's escaping)."""
    if len(values) == 0:
        return pa.array([], TEXT)
    if not all(isinstance(value, str) for value in values):
        return pa.array([_encode(value) for value in values], TEXT)
    try:
        texts = pa.array(values, TEXT)
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: the standard library writes it
        return pa.array([_encode(value) for value in values], TEXT)
    odd = pc.match_substring_regex(texts, _NEEDS_ESCAPE).to_numpy(zero_copy_only=False)
    quoted = _joined(['"', texts, '"'])
    if not odd.any():
        return quoted
    escaped = np.full(len(values), "", dtype=object)
    escaped[odd] = [_encode(value) for value in values[odd]]
    return pc.if_else(pa.array(odd), pa.array(escaped, TEXT), quoted)


def _is_time(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column)


def _arrow_times(column: pd.Series) -> pa.Array | None:
    """Each UTC or naive time as `iso_times` writes it, quoted (null for NaT), built by pyarrow: the
    whole seconds are formatted once per distinct second, the fraction (6 digits, or 9 below a
    microsecond, none when zero) by integer casts. None for another time zone."""
    tz = getattr(column.dtype, "tz", None)
    if tz is not None and str(tz) != "UTC":
        return None
    stamps = column.to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(stamps)
    ticks = np.where(missing, 0, stamps.astype("int64"))
    seconds = ticks // 1_000_000_000
    fraction = ticks - seconds * 1_000_000_000
    codes, distinct = pd.factorize(seconds)
    whole = np.datetime_as_string(distinct.astype("datetime64[s]"), unit="s").astype(object)
    base = pc.take(pa.array(whole, TEXT), pa.array(codes.astype("int64")))
    parts, fractions = pd.factorize(fraction)
    digits = [_fraction(int(value)) for value in fractions]
    tail = pc.take(pa.array(digits, TEXT), pa.array(parts.astype("int64")))
    quoted = _joined(['"', base, tail, '+00:00"' if tz is not None else '"'])
    return pc.if_else(pa.array(missing), pa.scalar("null", TEXT), quoted)


def _fraction(nanoseconds: int) -> str:
    """The fraction of a second as Timestamp.isoformat writes it: none, 6 digits, or 9 below a us."""
    if nanoseconds == 0:
        return ""
    return f".{nanoseconds:09d}" if nanoseconds % 1000 else f".{nanoseconds // 1000:06d}"


def _time_texts(column: pd.Series) -> np.ndarray:
    """Each time as its JSON text (what the dict path writes: the ISO text, quoted, or null)."""
    texts = iso_times(column)
    return np.array(["null" if text is None else f'"{text}"' for text in texts], dtype=object)


def _encode(value: Any) -> str:
    """One value as json.dumps writes it; only the types the dict path produces."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return encode_basestring(value)  # what json.dumps(value, ensure_ascii=False) calls
    if isinstance(value, (int, np.integer)):
        return int.__repr__(int(value))
    raise _Unplaced


def _pad(level: int) -> str:
    return INDENT * level
