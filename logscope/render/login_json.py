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
  bytes, 1.4 MiB at a time, never decoded into a Python string.

Anything this writer does not know how to place (a column of another type, a login without
requests, steps not grouped by login) returns None and the caller takes the dict path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.render.json_codes import (
    TEXT,
    Coded,
    Unplaced,
    coded_column,
    combined,
    encode,
    joined,
    null_column,
    texts_array,
)
from logscope.render.logins import LOGIN_FIELDS, STEP_FIELDS

if TYPE_CHECKING:
    from logscope.report import Report

INDENT = "  "
# Texts gathered per chunk: about 3k steps, 1.4 MiB of text. Small chunks reuse the allocator's
# buffers: 1 MiB chunks took half the time 20 MiB chunks did on the 1 GiB storm (page faults).
CHUNK_ELEMENTS = 1 << 14
# The fields whose value starts a new piece: the runs between are written per distinct combination
# (see the module's docstring); a time is two pieces (the second, then the fraction and what follows).
STEP_PIECE_STARTS = ("server", "txn_id", "start")
HEADER_PIECE_STARTS = ("user", "start", "end")


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
    return None if chunks is None else "".join(str(chunk, "utf-8") for chunk in chunks)


def logins_chunks(
    logins: pd.DataFrame, steps: pd.DataFrame, *, level: int
) -> Iterator[bytes | memoryview] | None:
    """The array text of `logins_array` as UTF-8 bytes in chunks of 1.4 MiB (buffers of pyarrow
    arrays, not copied); None when only the dict path can write it. Every value is encoded before
    this returns: the chunks themselves cannot fail."""
    if logins.empty:
        return iter([b"[]"])
    order = logins["login"].to_numpy()
    steps = steps[_of_logins(steps["login"].to_numpy(), order)]
    ladder = steps["login"].to_numpy()
    if not _grouped(order, ladder):
        return None
    bounds = np.flatnonzero(np.r_[True, ladder[1:] != ladder[:-1]])
    try:
        header = _header_pieces(logins, steps, bounds, level)
        pieces = _step_pieces(steps, level + 3, _suffixes(bounds, len(ladder), level))
    except Unplaced:
        return None
    texts = pa.concat_arrays([piece.texts for piece in (*header, *pieces)])
    if texts.null_count:
        return None
    return _gathered(texts, _document_order(header, pieces, bounds))


def _document_order(header: list[Coded], pieces: list[Coded], bounds: np.ndarray) -> np.ndarray:
    """The positions in the concatenated texts (each piece's, header pieces first) in document
    order: per step its login's head when it is the login's first step, then the step's pieces."""
    rows, logins = len(pieces[0].codes), len(bounds)
    sizes = [len(piece.texts) for piece in (*header, *pieces)]
    wide = sum(sizes) > np.iinfo("int32").max
    order = np.empty(rows * len(pieces) + logins * len(header), dtype="int64" if wide else "int32")
    login_of = np.repeat(np.arange(logins), np.diff(np.r_[bounds, rows]))
    at = {  # where each login's head and each step's pieces start
        "header": bounds * len(pieces) + np.arange(logins) * len(header),
        "step": np.arange(rows) * len(pieces) + (login_of + 1) * len(header),
    }
    start = 0
    for index, piece in enumerate((*header, *pieces)):
        where = at["header"] + index if index < len(header) else at["step"] + (index - len(header))
        order[where] = piece.codes + start
        start += sizes[index]
    return order


def _gathered(texts: pa.Array, order: np.ndarray) -> Iterator[bytes | memoryview]:
    """`[`, then the texts at `order` one after the other, as the data buffers of pyarrow takes."""
    yield b"[\n"
    for start in range(0, len(order), CHUNK_ELEMENTS):
        chunk = pc.take(texts, pa.array(order[start : start + CHUNK_ELEMENTS]))
        yield _data(chunk)


def _data(strings: pa.Array) -> memoryview:
    """The strings of a (fresh, offset 0) array one after the other: its data buffer, as bytes."""
    end = int(np.frombuffer(strings.buffers()[1], dtype="int64")[len(strings)])
    return memoryview(strings.buffers()[2])[:end]  # not copied


def _of_logins(ladder: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Which steps belong to one of the logins: a range check when the logins are numbered one
    after the other (all of a report's are), else a lookup."""
    if _numbered(order):
        return (ladder >= order[0]) & (ladder <= order[-1])
    return pd.Series(ladder).isin(order).to_numpy()


def _numbered(order: np.ndarray) -> bool:
    return order.dtype.kind in "iu" and bool((np.diff(order) == 1).all())


def _grouped(order: np.ndarray, ladder: np.ndarray) -> bool:
    """Steps contiguous per login, in the logins' order, every login with at least one step."""
    if len(ladder) == 0 or not (_numbered(order) or len(pd.unique(order)) == len(order)):
        return False
    runs = ladder[np.r_[True, ladder[1:] != ladder[:-1]]]
    return len(runs) == len(order) and bool((runs == order).all())


def _header_pieces(logins: pd.DataFrame, steps: pd.DataFrame, bounds: np.ndarray, level: int) -> list[Coded]:
    """Each login's text up to and including `"steps": [` and the newline of its first step, as
    pieces (one code per login)."""
    fields = [(name, _coded(logins, name)) for name in LOGIN_FIELDS]
    fields += [("stages", [_stages(logins["stages"], level + 2)])]
    fields += [("finding", [_login_findings(logins, steps, bounds)])]
    return _object_pieces(fields, level + 1, HEADER_PIECE_STARTS, [f',\n{_pad(level + 2)}"steps": [\n'])


def _stages(values: pd.Series, level: int) -> Coded:
    """Each login's `stages` object: the few distinct ones written once each (a struct column read
    by its fields, dicts as they are)."""
    codes, combinations = _stage_combinations(values)
    texts = [json.dumps(dict(key), indent=2, ensure_ascii=False) for key in combinations]
    return Coded(codes, texts_array([text.replace("\n", "\n" + _pad(level)) for text in texts]))


def _stage_combinations(values: pd.Series) -> tuple[np.ndarray, list[tuple[tuple[Any, Any], ...]]]:
    """Per login, the code of its stages' (name, state) items among the distinct ones."""
    if isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_struct(values.dtype.pyarrow_dtype):
        return _struct_combinations(pa.array(values.array))  # one StructArray, chunks combined
    listed = values.tolist()
    if not all(map(isinstance, listed, repeat(dict))):  # the loop in C: one object per login
        raise Unplaced
    written: dict[tuple[tuple[Any, Any], ...], int] = {}
    number = written.setdefault
    codes = [number(tuple(value.items()), len(written)) for value in listed]
    return np.array(codes, dtype="int64"), list(written)


def _struct_combinations(struct: pa.StructArray) -> tuple[np.ndarray, list[tuple[tuple[Any, Any], ...]]]:
    """`_stage_combinations` of a struct column: each field's values coded once, then the codes
    mixed into one int per login (a login without stages, a null struct, cannot be placed)."""
    if struct.null_count:
        raise Unplaced
    names = [struct.type.field(index).name for index in range(struct.type.num_fields)]
    key = np.zeros(len(struct), dtype="int64")
    dictionaries = []
    for index in range(len(names)):
        field = struct.field(index)
        encoded = field if pa.types.is_dictionary(field.type) else field.dictionary_encode()
        dictionary = [*encoded.dictionary.to_pylist(), None]  # the last entry: a missing state
        if (int(key.max(initial=0)) + 1) * len(dictionary) >= 2**62:  # too many to mix into one int
            raise Unplaced
        indices = encoded.indices.fill_null(len(dictionary) - 1).to_numpy().astype("int64")
        key = key * len(dictionary) + indices
        dictionaries.append(dictionary)
    codes, distinct = pd.factorize(key)
    combinations = []
    for mixed in np.asarray(distinct, dtype="int64").tolist():
        states = []
        for dictionary in reversed(dictionaries):
            mixed, at = divmod(mixed, len(dictionary))
            states.append(dictionary[at])
        combinations.append(tuple(zip(names, reversed(states), strict=True)))
    return codes.astype("int64", copy=False), combinations


def _login_findings(logins: pd.DataFrame, steps: pd.DataFrame, bounds: np.ndarray) -> Coded:
    """Per login, the finding of its first request at the failed step that names one (as JSON)."""
    if "finding" not in steps:
        return null_column(len(logins))
    codes, uniques = _factorized(steps["finding"])
    named = np.array([bool(value) for value in uniques] + [False], dtype=bool)[codes]
    step_codes, step_names = _factorized(steps["step"])
    wanted = positions_in(logins["failed_step"], step_names)
    wanted = np.repeat(wanted, np.diff(np.r_[bounds, len(steps)]))
    at_failed = named & (wanted >= 0) & (step_codes == wanted)
    first = np.minimum.reduceat(np.where(at_failed, np.arange(len(steps)), len(steps)), bounds)
    texts = [*(encode(value) for value in uniques), "null"]
    found = np.where(first < len(steps), codes[np.minimum(first, len(steps) - 1)], len(uniques))
    return Coded(found.astype("int64", copy=False), texts_array(texts))


def positions_in(column: pd.Series, names: Any) -> np.ndarray:
    """Each value's position in `names` (-1: not there, or missing), as `Index.get_indexer` gives
    it; text looked up by pyarrow (a storm's logins: 51k strings, 10 ms as Python objects)."""
    try:
        values, known = pa.array(column, pa.string()), pa.array(names, pa.string())
    except (pa.ArrowException, UnicodeEncodeError):  # not all text (or a lone surrogate)
        return pd.Index(names, dtype=object).get_indexer(column.astype(object).to_numpy())
    return pc.index_in(values, value_set=known).fill_null(-1).to_numpy().astype("int64", copy=False)


def _factorized(column: pd.Series) -> tuple[np.ndarray, Any]:
    """Codes (-1: missing) and the values they stand for: a categorical's own, else factorized."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), column.cat.categories
    return pd.factorize(column, use_na_sentinel=True)


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
    """The step objects (at nesting `level`, each followed by its suffix) as pieces."""
    fields = [(name, _coded(steps, name)) for name in (*STEP_FIELDS, "start", "failed")]
    return _object_pieces(fields, level, STEP_PIECE_STARTS, ["\n" + _pad(level) + "}", suffix])


def _object_pieces(
    fields: list[tuple[str, list[Coded]]], level: int, starts: tuple[str, ...], tail: list[Any]
) -> list[Coded]:
    """JSON objects (at nesting `level`, one per row, then `tail`) as pieces: runs of fields with
    their keys, a new run at the value of each field in `starts` and at a time's fraction, each run
    written once per distinct combination of its values."""
    inner = _pad(level + 1)
    runs: list[list[Any]] = [[]]
    for index, (name, parts) in enumerate(fields):
        runs[-1].append((_pad(level) + "{\n" if index == 0 else ",\n") + f'{inner}"{name}": ')
        for part, coded in enumerate(parts):
            if (name in starts and index) or part:
                runs.append([])
            runs[-1].append(coded)
    runs[-1] += tail
    return [_run(run) for run in runs]


def _run(items: list[Any]) -> Coded:
    """Fields (Coded) and the text between them (str) as one piece, written once per combination
    of the fields' codes."""
    fields = [item for item in items if isinstance(item, Coded)]
    if len(fields) == 1:
        return Coded(
            fields[0].codes, joined([item if isinstance(item, str) else item.texts for item in items])
        )
    codes, picked = combined([field.codes for field in fields], [len(field.texts) for field in fields])
    taken = iter([pc.take(field.texts, pa.array(at)) for field, at in zip(fields, picked, strict=True)])
    return Coded(codes, joined([item if isinstance(item, str) else next(taken) for item in items]))


def _coded(frame: pd.DataFrame, name: str) -> list[Coded]:
    """A column of the frame as coded JSON texts (null where the frame has no such column)."""
    if name not in frame:
        return [null_column(len(frame))]
    return coded_column(frame[name], boolean=name == "failed")


def _pad(level: int) -> str:
    return INDENT * level
