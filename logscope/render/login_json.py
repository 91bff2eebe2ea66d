"""The JSON `logins` array as UTF-8 text, written column-wise (issues 14 and 16, speed).

A storm's JSON lists every login and every request of it: hundreds of thousands of step objects
(200 MiB on the 1 GiB benchmark), which `json.dumps(indent=2)` writes value by value in Python.
Here each column is encoded once per distinct value (`json.dumps` of the value itself, so escaping
is the standard library's) and the text is gathered by pyarrow, byte for byte what
`json.dumps(login_documents(...), indent=2, ensure_ascii=False)` writes at the same depth:

- a step object is five pieces, each the text of a run of fields with the keys and white space
  around them, written once per distinct combination of the run's values (a path goes with few
  seq, step and method values; server, port, status, failure and finding take few combinations);
- the document is then one `take` from the texts of all pieces (and each login's head before its
  first step), in document order: the data buffer of the result is the text itself, handed on as
  bytes, a few MiB at a time, never decoded into a Python string.

Anything this writer does not know how to place (a column of another type, a login without
requests, steps not grouped by login) returns None and the caller takes the dict path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
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
# Texts gathered per chunk: about 50k steps, 20 MiB of text (bounded memory, buffers reused).
CHUNK_ELEMENTS = 1 << 18
# The step fields whose value starts a new piece: the runs between are written per distinct
# combination (see the module's docstring); a time is two pieces (the second, then the fraction).
PIECE_STARTS = ("server", "txn_id", "start")
PACKED_LIMIT = 1 << 62


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
    chunks = logins_chunks(logins, steps, level=level)
    return None if chunks is None else b"".join(chunks).decode("utf-8")


def logins_chunks(logins: pd.DataFrame, steps: pd.DataFrame, *, level: int) -> Iterator[bytes] | None:
    """The array text of `logins_array` as UTF-8 bytes in chunks of a few MiB (buffers of pyarrow
    arrays, not copied); None when only the dict path can write it. Every value is encoded before
    this returns: the chunks themselves cannot fail."""
    if logins.empty:
        return iter([b"[]"])
    steps = steps[steps["login"].isin(logins["login"])]
    order = logins["login"].to_numpy()
    ladder = steps["login"].to_numpy()
    if not _grouped(order, ladder):
        return None
    bounds = np.flatnonzero(np.r_[True, ladder[1:] != ladder[:-1]])
    try:
        header = _headers(logins, steps, bounds, level)
        pieces = _step_pieces(steps, level + 3, _suffixes(bounds, len(ladder), level))
    except _Unplaced:
        return None
    texts = pa.concat_arrays([header, *(piece.texts for piece in pieces)])
    if texts.null_count:
        return None
    return _gathered(texts, _document_order(header, pieces, bounds))


@dataclass(frozen=True)
class Coded:
    """A column's JSON text per row as `texts[codes]`: each distinct text written once."""

    codes: np.ndarray  # int64, one per row, 0 <= code < len(texts)
    texts: pa.Array  # TEXT, no nulls

    def taken(self) -> pa.Array:
        return pc.take(self.texts, pa.array(self.codes))


def _document_order(header: pa.Array, pieces: list[Coded], bounds: np.ndarray) -> np.ndarray:
    """The positions in the concatenated texts (headers, then each piece's) in document order: per
    step its login's head when it is the login's first, then its pieces."""
    rows = len(pieces[0].codes)
    order = np.full((rows, 1 + len(pieces)), -1, dtype="int64")
    order[bounds, 0] = np.arange(len(bounds))
    start = len(header)
    for index, piece in enumerate(pieces, start=1):
        order[:, index] = piece.codes + start
        start += len(piece.texts)
    flat = order.ravel()
    flat = flat[flat >= 0]
    return flat.astype("int32") if start <= np.iinfo("int32").max else flat


def _gathered(texts: pa.Array, order: np.ndarray) -> Iterator[bytes]:
    """`[`, then the texts at `order` one after the other, as the data buffers of pyarrow takes."""
    yield b"[\n"
    for start in range(0, len(order), CHUNK_ELEMENTS):
        chunk = pc.take(texts, pa.array(order[start : start + CHUNK_ELEMENTS]))
        yield _data(chunk)


def _data(strings: pa.Array) -> bytes:
    """The strings of a (fresh, offset 0) array one after the other: its data buffer, as bytes."""
    end = int(np.frombuffer(strings.buffers()[1], dtype="int64")[len(strings)])
    return memoryview(strings.buffers()[2])[:end]  # type: ignore[return-value]  # bytes-like, not copied


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
        pieces.append(("" if index == 0 else ",\n") + f'{inner}"{name}": ')
        pieces += [coded.taken() for coded in _coded(logins, name)]
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


def _suffixes(bounds: np.ndarray, rows: int, level: int) -> Coded:
    """What follows each step object: `,` and a newline between steps, the login's close after its
    last step, and the array's close after the very last."""
    close = "\n" + _pad(level + 2) + "]\n" + _pad(level + 1) + "}"
    ends = np.zeros(rows, dtype="int64")
    last = np.r_[bounds[1:] - 1, rows - 1]
    ends[last] = 1
    ends[last[-1]] = 2
    return Coded(ends, pa.array([",\n", close + ",\n", close + "\n" + _pad(level) + "]"], TEXT))


def _step_pieces(steps: pd.DataFrame, level: int, suffix: Coded) -> list[Coded]:
    """The step objects (at nesting `level`, each followed by its suffix) as pieces: runs of fields
    with their keys, each run encoded once per distinct combination of its values."""
    inner = _pad(level + 1)
    runs: list[list[Any]] = [[]]
    for index, name in enumerate((*STEP_FIELDS, "start", "failed")):
        runs[-1].append((_pad(level) + "{\n" if index == 0 else ",\n") + f'{inner}"{name}": ')
        for part, coded in enumerate(_coded(steps, name)):
            if name in PIECE_STARTS or part:
                runs.append([])
            runs[-1].append(coded)
    runs[-1] += ["\n" + _pad(level) + "}", suffix]
    return [_run(run) for run in runs]


def _run(items: list[Any]) -> Coded:
    """Fields (Coded) and the text between them (str) as one piece, written once per distinct
    combination of the fields' codes (at its first row)."""
    fields = [item for item in items if isinstance(item, Coded)]
    if len(fields) == 1:
        return Coded(fields[0].codes, _joined([item if isinstance(item, str) else item.texts for item in items]))
    codes, first = _combined([field.codes for field in fields], [len(field.texts) for field in fields])
    texts = [item if isinstance(item, str) else pc.take(item.texts, pa.array(item.codes[first])) for item in items]
    return Coded(codes, _joined(texts))


def _combined(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """One code per distinct combination of the columns' codes (in order of first appearance), and
    the row where each first appears. Codes are packed into one int64, refactorized before a
    product of sizes would pass PACKED_LIMIT."""
    key, size = codes[0].copy(), sizes[0]
    for column, count in zip(codes[1:], sizes[1:], strict=True):
        if size * count >= PACKED_LIMIT:
            key, uniques = pd.factorize(key)
            key, size = key.astype("int64", copy=False), len(uniques)
        key *= count
        key += column
        size *= count
    combined = pd.factorize(key)[0].astype("int64", copy=False)
    highest = np.maximum.accumulate(combined)  # codes come in order of first appearance
    return combined, np.flatnonzero(np.r_[True, highest[1:] != highest[:-1]])


def _joined(pieces: list[Any]) -> pa.Array:
    """Row by row, the pieces (arrays, or text the same in every row) one after the other."""
    parts = [pa.scalar(piece, TEXT) if isinstance(piece, str) else piece for piece in pieces]
    return pc.binary_join_element_wise(*parts, pa.scalar("", TEXT))


def _coded(frame: pd.DataFrame, name: str) -> list[Coded]:
    """A column as the JSON text of each value, coded: one Coded, or two for a UTC or naive time
    (the second, then its fraction). Texts are written per distinct value, never per row."""
    if name not in frame:
        return [Coded(np.zeros(len(frame), dtype="int64"), pa.array(["null"], TEXT))]
    column = frame[name]
    if _is_time(column):
        return _time_codes(column)
    if name == "failed":
        return [Coded(column.to_numpy(dtype=bool).astype("int64"), pa.array(["false", "true"], TEXT))]
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = pd.array(uniques, dtype="Int64").to_numpy(dtype="int64", na_value=0)
        encoded = pc.cast(pa.array(values), TEXT)
    else:
        encoded = _encoded_values(np.asarray(uniques, dtype=object))
    return [_with_null(codes, encoded)]


def _with_null(codes: np.ndarray, encoded: pa.Array) -> Coded:
    """Codes into `encoded` (-1: missing) as codes into `encoded` + `null`."""
    codes = np.where(codes >= 0, codes, len(encoded)).astype("int64", copy=False)
    return Coded(codes, pa.concat_arrays([encoded, pa.array(["null"], TEXT)]))


_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'  # what json's encode_basestring escapes (ensure_ascii=False)


def _encoded_values(values: np.ndarray) -> pa.Array:
    """Distinct values as JSON texts: a text with nothing to escape is quoted by pyarrow, any other
    value written by `_encode` (the standard library's escaping)."""
    if len(values) == 0:
        return pa.array([], TEXT)
    if not all(isinstance(value, str) for value in values):
        return _texts([_encode(value) for value in values])
    try:
        texts = pa.array(values, TEXT)
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: the standard library writes it
        return _texts([_encode(value) for value in values])
    odd = pc.match_substring_regex(texts, _NEEDS_ESCAPE).to_numpy(zero_copy_only=False)
    quoted = _joined(['"', texts, '"'])
    if not odd.any():
        return quoted
    escaped = np.full(len(values), "", dtype=object)
    escaped[odd] = [_encode(value) for value in values[odd]]
    return pc.if_else(pa.array(odd), _texts(escaped), quoted)


def _texts(values: Any) -> pa.Array:
    """JSON texts as an array; one UTF-8 cannot hold (a lone surrogate, which json.dumps writes as
    it is with ensure_ascii=False) leaves the document to the dict path."""
    try:
        return pa.array(values, TEXT)
    except (pa.ArrowException, UnicodeEncodeError) as error:
        raise _Unplaced from error


def _is_time(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column)


MISSING_SECOND = np.iinfo("int64").min  # no time: the whole-second part is `null`, the fraction none


def _time_codes(column: pd.Series) -> list[Coded]:
    """Each UTC or naive time as `iso_times` writes it, quoted (null for NaT): the whole seconds
    formatted once per distinct second, the fraction (6 digits, or 9 below a microsecond, none when
    zero) and the zone once per distinct fraction. Another time zone: one Coded of isoformat texts."""
    tz = getattr(column.dtype, "tz", None)
    if tz is not None and str(tz) != "UTC":
        codes, uniques = pd.factorize(pd.Series(_time_texts(column), dtype=object))
        return [Coded(codes.astype("int64"), _texts(np.asarray(uniques, dtype=object)))]
    stamps = column.to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(stamps)
    ticks = stamps.view("int64")
    seconds = np.floor_divide(ticks, 1_000_000_000)
    fraction = ticks - seconds * 1_000_000_000
    seconds[missing] = MISSING_SECOND
    fraction[missing] = -1
    codes, distinct = pd.factorize(seconds)
    known = distinct != MISSING_SECOND
    whole = np.full(len(distinct), "null", dtype=object)
    whole[known] = ['"' + text for text in np.datetime_as_string(distinct[known].astype("datetime64[s]"), unit="s")]
    zone = '+00:00"' if tz is not None else '"'
    parts, fractions = pd.factorize(fraction)
    tails = ["" if value < 0 else _fraction(int(value)) + zone for value in fractions]
    return [
        Coded(codes.astype("int64", copy=False), pa.array(whole, TEXT)),
        Coded(parts.astype("int64", copy=False), pa.array(tails, TEXT)),
    ]


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
