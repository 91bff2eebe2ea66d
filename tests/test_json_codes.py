"""Coded columns of the JSON writer (issue 14, JSON budget): each row's text is exactly what
json.dumps writes for its value, and the codes are int32 (half the memory of int64 codes, the
largest part of the JSON write's own peak on a storm), on hostile text, values past int32, times before 1970 and empty columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_json_bytes import HOSTILE  # every character json.dumps escapes, and markup

from logscope.render.json_codes import Unplaced, coded_column, combined, encoded_values


def _row_texts(coded: list) -> list[str]:
    """Each row's JSON text: the texts of its codes, one after the other."""
    pieces = [np.asarray(part.texts.to_pylist(), dtype=object)[part.codes] for part in coded]
    return ["".join(row) for row in zip(*pieces, strict=True)] if pieces else []


def _dumped(values: list) -> list[str]:
    return [json.dumps(None if pd.isna(value) else value, ensure_ascii=False) for value in values]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(pd.Categorical(HOSTILE * 3 + [None])),
        pd.Series([*HOSTILE, None], dtype="string"),
        pd.Series([*HOSTILE, None], dtype=object),
        pd.Series([None, 7, "x", True], dtype=object),  # values of other types: json.dumps writes each
    ],
    ids=["categorical", "arrow strings", "object strings", "mixed objects"],
)
def test_hostile_text_is_coded_in_int32_as_json_dumps_writes_it_and_a_lone_surrogate_left_to_the_dict_path(
    column,
):
    coded = coded_column(column)
    assert [part.codes.dtype for part in coded] == [np.dtype("int32")]
    assert _row_texts(coded) == _dumped(column.tolist())
    with pytest.raises(Unplaced):  # UTF-8 cannot hold it: json.dumps writes the document
        coded_column(pd.concat([column, pd.Series(["half \ud800 pair"], dtype=object)]).astype(object))


def test_integers_past_int32_whose_span_is_small_are_coded_exactly_in_int32():
    values = [2**40 + 5, None, 2**40, 2**40 + 5, -(2**62), None]
    for column in (
        pd.Series(values[:1] * 3 + values[2:4], dtype="int64"),
        pd.Series(values[:4], dtype="Int64"),
    ):
        coded = coded_column(column)
        assert coded[0].codes.dtype == np.dtype("int32")
        assert _row_texts(coded) == _dumped(column.tolist())
    wide = pd.Series(values, dtype="Int64")  # a span past twice the rows: factorized
    assert _row_texts(coded_column(wide)) == _dumped(wide.tolist())


def test_times_before_1970_with_nanoseconds_and_missing_are_coded_in_int32_as_isoformat_writes():
    stamps = pd.Series(
        pd.to_datetime(
            format="ISO8601",
            arg=["1969-12-31T23:59:59.999", "1900-02-28T00:00:00.000000001", None, "2024-02-29T12:00:00.25", "1969-12-31T23:59:59"]
        )
    )  # fmt: skip
    for column in (stamps, stamps.dt.tz_localize("UTC")):
        coded = coded_column(column)
        assert {part.codes.dtype for part in coded} == {np.dtype("int32")}
        expected = ["null" if pd.isna(value) else json.dumps(value.isoformat()) for value in column]
        assert _row_texts(coded) == expected
    on_milliseconds = stamps.drop(1)
    assert _row_texts(coded_column(on_milliseconds)) == [
        "null" if pd.isna(value) else json.dumps(value.isoformat()) for value in on_milliseconds
    ]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([], dtype="int64"),
        pd.Series([], dtype="Int64"),
        pd.Series([], dtype="string"),
        pd.Series(pd.Categorical([], categories=["a"])),
        pd.Series([], dtype="datetime64[ns, UTC]"),
        pd.Series([], dtype=bool),
    ],
    ids=["int64", "Int64", "string", "categorical", "time", "bool"],
)
def test_an_empty_column_is_coded_as_no_rows_of_int32(column):
    coded = coded_column(column, boolean=column.dtype == bool)
    assert all(len(part.codes) == 0 and part.codes.dtype == np.dtype("int32") for part in coded)
    assert encoded_values(np.array([], dtype=object)).to_pylist() == []


@pytest.mark.parametrize("rows, sizes", [(50, [3, 4, 2]), (300, [3, 40, 5, 2]), (300, [2**31, 2**31, 7])])
def test_each_combination_names_the_codes_of_its_rows_in_int32(rows, sizes):
    """Fewer combinations than rows (each coded by its packed key), more (the ones seen, hashed,
    each column's code read from the key's digits), and sizes whose product passes the packing
    limit (refactorized: each column's code read where the combination first is)."""
    rng = np.random.default_rng(14)
    codes = [rng.integers(0, min(size, 9), rows) for size in sizes]  # int64
    combination, picked = combined(codes, sizes)
    assert combination.dtype == np.dtype("int32")
    for column, at in zip(codes, picked, strict=True):
        assert (np.asarray(at)[combination] == column).all()
    distinct = {tuple(row) for row in np.stack(codes, axis=1).tolist()}
    assert len({tuple(np.asarray(at)[code] for at in picked) for code in set(combination.tolist())}) == len(
        distinct
    )
