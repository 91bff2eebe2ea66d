"""The integer-code helpers of the correlate stage give what the per-row conversions they replace
gave (issue 14: correlate works on codes, converting per distinct value)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from logscope.correlate_columns import (
    INT64_MIN,
    key_codes,
    str_category,
    string_category,
    transaction_numbers,
)
from logscope.correlate_link import has_neighbour


@pytest.mark.parametrize(
    "values",
    [
        [5, None, 7, 5, None],
        [None, None],
        [INT64_MIN, 3, None, 3],
        [0, 2**40, None, 2**40],
        [-3, -1, None, -3],
        [12, 12, 12],
    ],
)
def test_integer_key_codes_group_values_as_factorize_does_with_a_missing_value_a_key_of_its_own(values):
    column = pd.Series([99, *values], dtype="Int64")  # position 0 is not a step: left out
    positions = np.arange(1, len(column))
    codes, size = key_codes(column, positions)
    expected, _ = pd.factorize(column.array[positions], use_na_sentinel=False)
    assert (pd.factorize(codes)[0] == pd.factorize(expected)[0]).all()
    assert codes.min() >= 0 and codes.max() < size


@pytest.mark.parametrize(
    "values, categories",
    [
        (["b", None, "a", "b"], ["c", "b", "a"]),  # "c" unused: dropped, the rest sorted
        ([None, None], ["x"]),
        ([None], []),
        (["é", "e", "E"], ["é", "e", "E"]),
    ],
)
def test_category_columns_are_what_converting_each_row_gives(values, categories):
    column = pd.Series(pd.Categorical(values, categories=pd.Index(categories, dtype="string")))
    pd.testing.assert_series_equal(str_category(column), column.astype(str).astype("category"))
    pd.testing.assert_series_equal(
        string_category(column),
        column.cat.remove_unused_categories().astype("string").astype("category"),
    )


def test_a_neighbour_is_within_the_window_at_both_ends_and_only_in_its_own_group():
    second = 1_000_000_000
    left = (np.array([0, 0, 0, 1]), np.array([4, 4, 4, 4]), np.array([10, 20, 30, 10]) * second)
    right = (np.array([0, 0, 1]), np.array([4, 4, 5]), np.array([11, 29, 10]) * second)
    assert has_neighbour(left, right, second).tolist() == [True, False, True, False]
    nudged = (right[0], right[1], right[2] + np.array([1, -1, 0]))
    assert has_neighbour(left, nudged, second).tolist() == [False, False, False, False]


@pytest.mark.parametrize(
    "txn_ids",
    [[1, 2, 1, 3, 2], [1, 2**31 - 9, 1, 2**30, 2**31 - 9], [2**40, 7, 2**40, 2**41, 7]],
)  # packed into int32; into int64 (a range under 2**31, times node and pid); factorized first
def test_transaction_numbers_follow_first_appearance_of_node_pid_and_txn_id(txn_ids):
    events = pd.DataFrame(
        {
            "node": pd.Categorical(["a", "b", "a", None, "b"]),
            "pid": pd.array([10, 10, 10, None, 10], dtype="Int64"),
            "txn_id": pd.array(txn_ids, dtype="Int64"),
        }
    )
    group, first_rows = transaction_numbers(events, np.arange(len(events)))
    keys = list(zip(events["node"].astype(object), events["pid"].astype(object), txn_ids, strict=True))
    expected = [list(dict.fromkeys(keys)).index(key) for key in keys]
    assert group.tolist() == expected
    assert first_rows.tolist() == [keys.index(key) for key in dict.fromkeys(keys)]
