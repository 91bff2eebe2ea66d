"""The events frame is put in (ts, source, line) order by integer keys (frame.time_sorted): the
order a stable `sort_values` gives, missing values last."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from logscope.frame import time_sorted

_TIMES = st.one_of(
    st.none(), st.integers(min_value=0, max_value=4).map(lambda s: pd.Timestamp(1_700_000_000 + s, unit="s"))
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(_TIMES, st.sampled_from(["b.log", "a.log", None]), st.one_of(st.none(), st.integers(0, 3))),
        max_size=30,
    ),
    st.booleans(),
)
def test_events_are_ordered_as_a_stable_sort_of_their_columns_orders_them(rows, zoned):
    times = pd.Series([t for t, _, _ in rows], dtype="datetime64[ns]")
    frame = pd.DataFrame(
        {
            "ts": times.dt.tz_localize("UTC") if zoned else times,
            "source": pd.Series(
                [s for _, s, _ in rows], dtype=pd.CategoricalDtype(["b.log", "a.log"])
            ),  # not sorted
            "line": pd.array([n for _, _, n in rows], dtype="Int64"),
            "row": range(len(rows)),  # where each came from: the order of equal keys shows
        }
    )
    expected = frame
    if not (frame["ts"].is_monotonic_increasing and not frame["ts"].hasnans):
        expected = frame.sort_values(["ts", "source", "line"], kind="stable", na_position="last")
    pd.testing.assert_frame_equal(time_sorted(frame.copy()), expected.reset_index(drop=True))


def test_a_sort_takes_the_handed_over_frames_columns_one_by_one_and_drops_them():
    """So the events are never held twice (a BSD copy's frame is sorted after its zones are set)."""
    frame = pd.DataFrame(
        {"ts": pd.to_datetime([2, 1, 3], unit="s", utc=True), "source": ["a", "a", "a"], "line": [1, 2, 3]}
    ).astype({"source": "category", "line": "Int64"})
    ordered = time_sorted(frame)
    assert ordered["line"].tolist() == [2, 1, 3]
    assert list(frame.columns) == []  # every column taken, then dropped from the frame handed over
