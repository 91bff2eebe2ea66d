"""The times of envelopes with no year or no zone, for the scanner's rows, read as the record path
reads them: ATS diags.log and BSD syslog times through `logscope.frame.diags_times` (once per
distinct text: BSD times repeat within a second), and a BSD line whose body has `UTCTime=` in the
zone `logscope.lines.grammar.bsd_with_zone` gives it (the local time's nearest year, the offset
rounded to a quarter hour), computed with numpy for the whole block.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.frame import diags_times
from logscope.scan.dates import days_from_civil, days_in_month

ZONE_STEP = 15 * 60  # as bsd_with_zone: zones are whole quarter hours
_DAY = 86_400
_LOCAL = (
    r"^(?P<month>[A-Z][a-z][a-z]) {1,2}(?P<day>[0-9]{1,2}) "
    r"(?P<hour>[0-9][0-9]):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])"
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def yearless_times(texts: pa.Array, year: int | None) -> pa.Array:
    """`diags_times` of each text (a diags time, or a BSD time with the `.000` the record path
    gives it), computed once per distinct text: UTC timestamps, null where it gives NaT."""
    encoded = texts.dictionary_encode()
    times = diags_times(pd.Series(encoded.dictionary.to_pylist(), dtype=object), year)
    return pa.Array.from_pandas(times, type=pa.timestamp("ns", "UTC")).take(encoded.indices)


def bsd_zones(local: pa.Array, universal_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per BSD line timed by its body's UTCTime: the zone offset in seconds its local time
    (`Mar  4 09:12:44`, the start of the line) gives, and whether the record path reads that zone
    the same way (a local time no year makes valid, or an offset of a day or more: no, the line goes
    to the record path)."""
    n = len(universal_ns)
    if not n:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    parts = pc.extract_regex(local, _LOCAL)
    number = {
        name: pc.fill_null(pc.cast(pc.struct_field(parts, name), pa.int64()), -1).to_numpy()
        for name in ("day", "hour", "minute", "second")
    }
    months = pc.index_in(pc.struct_field(parts, "month"), pa.array(_MONTHS))
    month = pc.fill_null(months, -1).to_numpy() + 1
    month = np.where(month >= 1, month, 0)
    universal = universal_ns // 1_000_000_000
    universal_year = universal.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    day, hour, minute, second = (number[name] for name in ("day", "hour", "minute", "second"))  # -1: unread
    clock = hour * 3600 + minute * 60 + second
    readable_clock = (month >= 1) & (hour >= 0) & (hour <= 23) & (minute >= 0) & (minute <= 59)
    readable_clock &= (second >= 0) & (second <= 59)
    gaps, distances = [], []
    for shift in (-1, 0, 1):  # bsd_with_zone's candidates, in its order (the first of equals wins)
        year = universal_year + shift
        valid = readable_clock & (day >= 1) & (day <= days_in_month(year, month))
        written = days_from_civil(year, np.where(valid, month, 1), np.where(valid, day, 1))
        gaps.append(written * _DAY + clock - universal)
        distances.append(np.where(valid, np.abs(gaps[-1]).astype(np.float64), np.inf))
    distance = np.stack(distances)
    found = np.isfinite(distance.min(axis=0))
    gap = np.choose(np.argmin(distance, axis=0), gaps)
    offset = (np.round(gap / ZONE_STEP) * ZONE_STEP).astype(np.int64)
    return np.where(found, offset, 0), found & (np.abs(offset) < _DAY)


def zone_texts(offsets: np.ndarray) -> np.ndarray:
    """Offsets in seconds -> `+HH:MM` / `-HH:MM` (object array), formatted once per distinct value."""
    distinct, codes = np.unique(offsets, return_inverse=True)
    texts = np.array([_zone_text(int(offset)) for offset in distinct], dtype=object)
    return texts[codes] if len(offsets) else np.zeros(0, object)


def _zone_text(offset: int) -> str:
    sign, minutes = ("-" if offset < 0 else "+"), abs(offset) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
