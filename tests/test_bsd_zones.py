"""BSD syslog lines take their node's zone and year (frame.infer_bsd_zones), worked on codes: the
frame it gives equals the one the row-by-row version (kept here as the reference) gave."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from logscope.frame import UTC_ASSUMED, _known_zones, _offset_delta, infer_bsd_zones


def _row_by_row(frame: pd.DataFrame) -> pd.DataFrame:
    """infer_bsd_zones as it was written before it worked on codes (commit 8d7e38d)."""
    assumed = frame["ts_offset"] == UTC_ASSUMED
    if not assumed.any():
        return frame
    known = _known_zones(frame["ts_offset"])
    node = frame["node"].astype(str)
    zones = (
        pd.DataFrame({"node": node, "ts_offset": frame["ts_offset"].astype(str)})
        .loc[known & frame["node"].isin(frame.loc[assumed, "node"].unique())]
        .groupby("node")["ts_offset"]
        .agg(lambda offsets: offsets.mode().iloc[0])
    )
    if zones.empty:
        return frame
    zone = node.map(zones).where(assumed)
    shift = zone.dropna()
    shift = shift.map({text: _offset_delta(text) for text in shift.unique()})
    frame = frame.copy(deep=False)
    frame["ts"] = frame["ts"].astype("datetime64[ns, UTC]")
    frame.loc[shift.index, "ts"] = frame.loc[shift.index, "ts"] - pd.to_timedelta(shift.to_numpy())
    years = pd.DataFrame({"node": node, "ts": frame["ts"]}).loc[known]
    year = node.map(years.groupby("node")["ts"].median().dt.year).loc[shift.index]
    change = (year - frame.loc[shift.index, "ts"].dt.year).dropna().astype(int)
    for delta in sorted(set(change) - {0}):
        rows = change.index[change == delta]
        frame.loc[rows, "ts"] = frame.loc[rows, "ts"] + pd.DateOffset(years=delta)
    offsets = frame["ts_offset"].astype(str)
    offsets.loc[shift.index] = zone.loc[shift.index]
    frame["ts_offset"] = offsets.astype("category")
    return frame


_OFFSETS = st.sampled_from(["+01:00", "-05:30", "+0200", UTC_ASSUMED, "unknown", None])
_NODES = st.sampled_from(["expc1", "expc2", "nan", None])
_TIMES = st.one_of(
    st.none(),
    st.datetimes(
        min_value=pd.Timestamp("2024-12-31").to_pydatetime(),
        max_value=pd.Timestamp("2027-01-02").to_pydatetime(),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TIMES, _OFFSETS, _NODES), max_size=25))
def test_zones_and_years_inferred_on_codes_equal_the_row_by_row_reading(rows):
    frame = pd.DataFrame(
        {
            "ts": pd.Series([t for t, _, _ in rows], dtype="datetime64[ns]").dt.tz_localize("UTC"),
            "ts_offset": pd.Series([o for _, o, _ in rows], dtype="category"),
            "node": pd.Series([n for _, _, n in rows], dtype="category"),
            "line": range(len(rows)),
        }
    )
    pd.testing.assert_frame_equal(infer_bsd_zones(frame), _row_by_row(frame), check_categorical=True)


def test_a_node_takes_its_most_frequent_zone_and_its_year():
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(
                [
                    "2025-06-01 10:00",
                    "2025-06-01 10:01",
                    "2025-06-01 10:02",
                    "2026-06-01 12:00",
                    "2026-06-01 12:00",
                ],
                utc=True,
            ),
            "ts_offset": pd.Series(
                ["+02:00", "+02:00", "-05:00", UTC_ASSUMED, UTC_ASSUMED], dtype="category"
            ),
            "node": pd.Series(["expc1", "expc1", "expc1", "expc1", "expc2"], dtype="category"),
        }
    )
    got = infer_bsd_zones(frame)
    assert list(got["ts_offset"].astype(str)) == ["+02:00", "+02:00", "-05:00", "+02:00", UTC_ASSUMED]
    assert got["ts"][3] == pd.Timestamp("2025-06-01 10:00", tz="UTC")  # 12:00 at +02:00, in 2025
    assert got["ts"][4] == pd.Timestamp("2026-06-01 12:00", tz="UTC")  # expc2 has no zone: UTC kept
    pd.testing.assert_frame_equal(got, _row_by_row(frame), check_categorical=True)
