"""The `events` frame: its columns and dtypes, and typed columns from parsed records.

Typing is where hostile values meet pandas: an integer that does not fit 64 bits, a port outside
0..65535, a time pandas cannot hold all become NA / NaT here, never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from logscope.lines import DIAGS, ERRORLOG, SYSLOG
from logscope.lines.records import BSD

KINDS = (
    "receive_request",
    "sending_request",
    "receive_response",
    "sending_response",
    "request_allowed",
    "http_error",
    "tls_verify_failed",
    "sni_not_in_cert",
    "ssl_connect_failed",
    "connect_attempt_failed",
    "other",
    "unparsed",
)

# Column -> dtype. Repeated strings are categoricals, integers nullable; `extra` holds unknown keys.
EVENT_DTYPES: dict[str, str] = {
    "node": "category",
    "host": "category",
    "process": "category",
    "pid": "Int64",
    "thread": "category",
    "level": "category",
    "module": "category",
    "detail": "category",
    "event": "category",
    "txn_id": "Int64",
    "tracking_id": "category",
    "src_ip": "category",
    "src_port": "Int64",
    "dst_ip": "category",
    "dst_port": "Int64",
    "method": "category",
    "url": "category",
    "status": "Int64",
    "reason": "category",
    "username": "category",
    "route_segment": "category",
    "route_domain": "category",
    "route_scheme": "category",
    "route_host": "category",
    "route_port": "Int64",
    "route_error": "category",
    "sni": "category",
    "name_check": "category",
    "action": "category",
    "verify_error": "category",
    "server_name": "category",
    "server_ip": "category",
    "depth": "Int64",
    "ssl_error_code": "category",
    "ssl_reason": "category",
    "message": "string",
    "extra": "object",
    "partial": "boolean",
    "source": "category",
    "line": "Int64",
    # the event's bytes in its log (offset from the start, length), where its text stays in the file
    # and `raw` is null (logscope.event_texts reads it); null where `raw` holds the text
    "offset": "Int64",
    "length": "Int64",
    "raw": "string",
}
# A number outside 0..65535 in a port field is not a port: it becomes NA when the frame is built.
PORT_COLUMNS = ("src_port", "dst_port", "route_port")
EVENT_COLUMNS = ("ts", "ts_offset", "kind", *EVENT_DTYPES)
TEXT_COLUMNS = ("raw", "message", "extra")  # free text, attached once by the parse stage's builder
FRAME_ROWS = 20_000  # records turned into a typed frame at a time (FrameBuilder)


def records_to_frame(
    records: list[dict], *, year: int | None = None, text_columns: bool = True
) -> pd.DataFrame:
    """Records -> a typed frame (UTC times, offsets kept, categoricals, nullable ints).

    With `text_columns=False` the free-text columns are left out (FrameBuilder attaches them).
    The frame is made once from its typed columns: inserting ~40 columns one at a time into a
    frame cost more than typing them, on the few records of an excerpt or a declined block.
    """
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    wanted = {c: d for c, d in EVENT_DTYPES.items() if text_columns or c not in TEXT_COLUMNS}
    index = frame.index
    nothing = pd.Series(None, index=index, dtype=object)

    def given(column: str) -> pd.Series:
        return frame.get(column, nothing)

    columns: dict[str, object] = {}
    columns["ts"], columns["ts_offset"] = _timestamps(given("ts_raw"), given("ts_format"), year)
    columns["kind"] = pd.Categorical(given("kind").fillna("other"), dtype=KIND_DTYPE)
    for column, dtype in wanted.items():
        if column not in frame:
            columns[column] = missing_column(dtype, len(index))
            continue
        values = typed(frame[column], dtype)
        if column in PORT_COLUMNS:
            values = values.where(values.between(0, 65535))
        columns[column] = values.array
    order = [c for c in EVENT_COLUMNS if c in wanted or c in ("ts", "ts_offset", "kind")]
    return pd.DataFrame({column: columns[column] for column in order}, index=index)


def missing_column(dtype: str, rows: int) -> object:
    """What `typed` makes of a column of `rows` Nones, made directly (most columns of a few records)."""
    if dtype in ("Int64", "boolean"):
        array = pd.arrays.IntegerArray if dtype == "Int64" else pd.arrays.BooleanArray
        return array(np.zeros(rows, np.int64 if dtype == "Int64" else bool), np.ones(rows, bool))
    if dtype == "category":
        return pd.Categorical.from_codes(np.full(rows, -1, np.int8), dtype=category_dtype([], "string"))
    if dtype == "string":
        return pd.array([None] * rows, dtype="string")
    return np.full(rows, None, dtype=object)


# A categorical dtype checks its categories (unique, no NA: a hash table each time), ~0.3 ms a
# column: a tiny log's frame paid it ~30 times. Small category lists (most columns of most logs:
# empty, or a few nodes, levels, modules) get their dtype from a cache instead.
SMALL_CATEGORIES = 32


def category_dtype(categories: list, dtype: str) -> pd.CategoricalDtype:
    """The dtype `Categorical.from_codes(codes, categories=pd.Index(categories, dtype=dtype))` gives."""
    if len(categories) > SMALL_CATEGORIES:
        return _index_dtype(categories, dtype)
    return _cached_index_dtype(tuple(categories), dtype)


def _index_dtype(categories, dtype: str) -> pd.CategoricalDtype:
    index = pd.Index(list(categories), dtype=dtype)
    return pd.Categorical.from_codes(np.empty(0, np.int32), categories=index).dtype


_cached_index_dtype = lru_cache(maxsize=1024)(_index_dtype)
KIND_DTYPE = pd.Categorical.from_codes(np.empty(0, np.int32), categories=KINDS).dtype


def typed(series: pd.Series, dtype: str) -> pd.Series:
    if dtype == "Int64":
        return nullable_int(series)
    if dtype == "boolean":
        return series.astype("boolean")
    if dtype == "object":
        return series.astype(object)
    if dtype == "category":
        return _categorical(series)
    return series.astype(dtype)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EXACT_FLOAT = 2**53  # every integer below this in magnitude is exact as a float64


def nullable_int(series: pd.Series) -> pd.Series:
    """Integers as nullable Int64; a value that is not an integer or does not fit 64 bits is NA.

    A log field is attacker-controlled: `pid=[99999999999999999999]` must cost that field, not the
    analysis (pandas refuses to cast such a value and would raise).
    """
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.dtype.kind in "iu":
        return numbers.astype("Int64")
    if numbers.dtype.kind == "f":
        finite = numbers.abs() < _EXACT_FLOAT
        if (finite | numbers.isna()).all() and (numbers[finite] % 1 == 0).all():
            return numbers.astype("Int64")
    return pd.Series([_int64_or_na(value) for value in series], index=series.index, dtype="Int64")


def _int64_or_na(value: object) -> int | None:
    """One value as a 64-bit integer, or None (the slow path, for the rare column with a huge value)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if value != value or value % 1 or not -_EXACT_FLOAT < value < _EXACT_FLOAT:
            return None
        value = int(value)
    if not isinstance(value, int):
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d{1,19}", text):
            return None
        value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _categorical(series: pd.Series) -> pd.Series:
    """Strings as a categorical: factorized first, so only the few distinct values become text."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    names = [u if isinstance(u, str) else str(u) for u in uniques]
    if len(set(names)) < len(names):  # 1 and "1" in one column: let pandas merge them
        return series.astype("string").astype("category")
    return pd.Series(
        pd.Categorical.from_codes(codes, dtype=category_dtype(names, "string")), index=series.index
    )


_NS_MIN = pd.Timestamp.min.tz_localize("UTC")
_NS_MAX = pd.Timestamp.max.tz_localize("UTC")


def _to_utc(text: pd.Series, *, fmt: str = "ISO8601") -> pd.Series:
    """Time strings -> UTC nanoseconds; a time outside what that can hold (year 0022) becomes NaT."""
    parsed = pd.to_datetime(text, format=fmt, utc=True, errors="coerce")
    parsed = parsed.where((parsed >= _NS_MIN) & (parsed <= _NS_MAX))
    return parsed.dt.as_unit("ns")


def diags_times(text: pd.Series, year: int | None = None, now: datetime | None = None) -> pd.Series:
    """diags.log times (`Nov 22 14:00:00.123`, no year) in `year`; without one, the latest year that
    does not put them in the future, so December lines read in January land in the year before."""
    normalised = " " + text.str.replace(r"\s+", " ", regex=True)
    if year is not None:
        return _to_utc(f"{year}" + normalised, fmt=_FORMATS[DIAGS])
    now = now or datetime.now(UTC)
    times = _to_utc(f"{now.year}" + normalised, fmt=_FORMATS[DIAGS])
    future = times > pd.Timestamp(now) + pd.Timedelta(days=1)
    if future.any():
        times[future] = _to_utc(f"{now.year - 1}" + normalised[future], fmt=_FORMATS[DIAGS])
    return times


_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
UTC_ASSUMED = "UTC assumed"  # a BSD syslog time no line of its node gave a zone to
_FORMATS = {DIAGS: "%Y %b %d %H:%M:%S.%f", ERRORLOG: "%Y%m%d.%Hh%Mm%Ss"}


def _timestamps(raw: pd.Series, formats: pd.Series, year: int | None) -> tuple[pd.Series, pd.Series]:
    """Convert each envelope's time to UTC and keep the offset it was written with.

    ATS's diags.log has no year and no zone: it is read as UTC (see `diags_times` for the year),
    and its offset is reported as "unknown".
    """
    ts = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    offset = pd.Series("unknown", index=raw.index, dtype="object")
    syslog = formats == SYSLOG
    if syslog.any():
        text = raw[syslog].astype(str)
        ts[syslog] = _to_utc(text)
        offset[syslog] = text.str.extract(_OFFSET, expand=False).fillna("unknown")
    diags = formats == DIAGS
    if diags.any():
        ts[diags] = diags_times(raw[diags].astype(str), year)
    bsd = formats == BSD
    if bsd.any():
        ts[bsd] = diags_times(raw[bsd].astype(str), year)
        offset[bsd] = UTC_ASSUMED
    errorlog = formats == ERRORLOG
    if errorlog.any():
        ts[errorlog] = _to_utc(raw[errorlog].astype(str), fmt=_FORMATS[ERRORLOG])
    return ts, offset.astype("category")


def infer_bsd_zones(frame: pd.DataFrame) -> pd.DataFrame:
    """BSD syslog lines read as UTC take the zone, and the year, of their node's other lines (a line
    with `UTCTime=` or an RFC 3339 envelope); a node with none keeps UTC, its offset "UTC assumed".

    Worked on codes: a node's zone is the most frequent offset of its known lines (the first text in
    sorted order on a tie, as `Series.mode` gives it); a line with no node takes none. Row by row,
    the texts of a BSD copy's million rows took 0.65 s per 256 MiB."""
    offsets = frame["ts_offset"].array
    texts = np.array([str(value) for value in offsets.categories], dtype=object)
    offset = offsets.codes  # -1: missing
    assumed = np.isin(offset, np.flatnonzero(texts == UTC_ASSUMED))
    if not assumed.any():
        return frame
    known = _known_zones(frame["ts_offset"]).to_numpy(dtype=bool)
    nodes = frame["node"].array
    groups = pd.factorize(np.array([str(value) for value in nodes.categories], dtype=object))[0]
    node = np.where(nodes.codes >= 0, np.append(groups, -1)[nodes.codes], -1)  # -1: no node
    rows = known & (node >= 0) & np.isin(node, np.unique(node[assumed]))  # the nodes with assumed lines
    zone_of = np.append(_node_zones(node, offset, texts, rows), -1)  # a line with no node reads -1
    zone = np.where(assumed, zone_of[node], -1)
    shift = np.flatnonzero(zone >= 0)  # none when no node with assumed lines has a known one
    if not len(shift):
        return frame
    frame = frame.copy(deep=False)  # copy-on-write: only the columns set below are new
    ts = frame["ts"].astype("datetime64[ns, UTC]")
    delta = np.zeros(len(texts), dtype=np.int64)  # ns per offset code, worked out once per zone
    for code in np.unique(zone[shift]).tolist():
        delta[code] = _offset_delta(texts[code]).value
    clock = ts.dt.tz_localize(None).to_numpy().view(np.int64).copy()  # NaT reads as the smallest int64
    moved = shift[clock[shift] != np.iinfo(np.int64).min]
    clock[moved] -= delta[zone[moved]]
    ts = pd.Series(clock.view("datetime64[ns]"), index=ts.index).dt.tz_localize(UTC)
    frame["ts"] = _node_years(ts, node, known & (node >= 0), shift)
    text = np.where(offset >= 0, np.append(texts, None)[offset], None)
    text[shift] = texts[zone[shift]]
    frame["ts_offset"] = pd.Series(text, index=frame.index).astype("category")
    return frame


def _node_zones(node: np.ndarray, offset: np.ndarray, texts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per node group, the code (in `texts`) of the most frequent offset of its `rows` (-1: none);
    on a tie, the one whose text sorts first."""
    groups, width = int(node.max(initial=-1)) + 1, len(texts)
    counts = np.bincount(node[rows] * width + offset[rows], minlength=groups * width).reshape(groups, width)
    rank = np.argsort(np.argsort(texts.astype(str), kind="stable"), kind="stable")
    best = counts.max(axis=1)
    chosen = np.where(counts == best[:, None], rank[None, :], width).argmin(axis=1)
    return np.where(best > 0, chosen, -1)


def _node_years(ts: pd.Series, node: np.ndarray, known: np.ndarray, shift: np.ndarray) -> pd.Series:
    """The shifted rows moved to the year their node's known lines have (the median's year)."""
    median = ts[known].groupby(node[known]).median()
    year = pd.Series(median.dt.year.to_numpy(), index=median.index)
    change = (
        (pd.Series(node[shift], index=ts.index[shift]).map(year) - ts.iloc[shift].dt.year)
        .dropna()
        .astype(int)
    )
    for delta in sorted(set(change) - {0}):
        rows = change.index[change == delta]
        ts.loc[rows] = ts.loc[rows] + pd.DateOffset(years=delta)
    return ts


def time_sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """The events in (ts, source, line) order, missing values last, equal keys in the order they
    come, on a fresh index: what a stable `sort_values` gives, by one `np.lexsort` of the columns'
    integers (sort_values factorized each column first: 0.43 s of 1.06 s at 1 GiB).

    The frame is handed over: a sort removes each column from it once the column is taken, so the
    events are never held twice (a BSD copy, re-zoned, is sorted: +450 MiB at 1 GiB otherwise)."""
    if frame["ts"].is_monotonic_increasing and not frame["ts"].hasnans:
        return frame.reset_index(drop=True)
    keys = [part for column in ("line", "source", "ts") for part in _sort_keys(frame[column])]
    order = np.lexsort(keys)  # the last key sorts first
    del keys
    taken = {}
    for column in list(frame.columns):
        taken[column] = frame[column].array.take(order)
        del frame[column]
    return pd.DataFrame(taken, copy=False)


def _sort_keys(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column as (values, missing) integer keys: a categorical by its codes (category order, as
    pandas sorts one), a time by its int64 count, a nullable integer by its values."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        return codes, codes < 0
    missing = values.isna().to_numpy(dtype=bool)
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
        return values.to_numpy(dtype="datetime64[ns]").view(np.int64), missing
    return values.to_numpy(dtype=np.int64, na_value=0), missing


def _known_zones(offsets: pd.Series) -> pd.Series:
    """Whether each row's `ts_offset` (a categorical, as the events frame types it) is a zone
    (`+01:00`), read once per category."""
    zone = np.asarray(offsets.cat.categories.astype(str).str.fullmatch(r"[+-]\d\d:?\d\d"), dtype=bool)
    codes = offsets.cat.codes.to_numpy()
    return pd.Series(np.where(codes >= 0, zone[codes], False), index=offsets.index)


def _offset_delta(offset: str) -> pd.Timedelta:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = int(offset[1:3]), int(offset[-2:])
    return sign * pd.Timedelta(hours=hours, minutes=minutes)


class FrameBuilder:
    """Collects records into the `events` frame without ever holding the whole log twice.

    Every FRAME_ROWS records, the compact columns (times, numbers, categoricals) become a typed
    chunk frame; the free-text columns (raw line, message, unknown keys) go to one list each,
    which shares the string objects instead of copying them. Rows with identical unknown keys share
    one `extra` dict: treat those dicts as read-only. `build()` concatenates the compact
    chunks (small) and attaches the text lists once.
    """

    TEXT_COLUMNS = TEXT_COLUMNS
    SHARED_EXTRAS = 4096

    def __init__(self, *, year: int | None = None) -> None:
        self.year = year
        self.extras: dict[tuple, dict] = {}
        self.records: list[dict] = []
        self.chunks: list[pd.DataFrame] = []
        self.text: dict[str, list] = {column: [] for column in self.TEXT_COLUMNS}

    def add(self, record: dict) -> None:
        if extra := record.get("extra"):
            record["extra"] = self._shared(extra)
        self.records.append(record)
        if len(self.records) >= FRAME_ROWS:
            self.flush()

    def _shared(self, extra: dict) -> dict:
        """One dict for every row with the same unknown keys and values (`Last-via-addr=""` on most
        transaction lines): a third of the rows of a snapshot would otherwise each hold a copy."""
        key = tuple(extra.items())
        shared = self.extras.get(key)
        if shared is None and len(self.extras) < self.SHARED_EXTRAS:
            self.extras[key] = shared = extra
        return shared if shared is not None else extra

    def flush(self) -> None:
        if not self.records:
            return
        for column, values in self.text.items():
            values.extend(record.get(column) for record in self.records)
        self.chunks.append(records_to_frame(self.records, year=self.year, text_columns=False))
        self.records = []

    def build(self) -> pd.DataFrame:
        """The typed `events` frame, sorted by time across nodes (a no-op for an ordered log)."""
        self.flush()
        if not self.chunks:
            return records_to_frame([], year=self.year)
        frame = pd.concat(self.chunks, ignore_index=True) if len(self.chunks) > 1 else self.chunks[0]
        self.chunks = []
        for column, dtype in {**EVENT_DTYPES, "ts_offset": "category"}.items():
            if dtype == "category" and not isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype("category")
        for column, values in self.text.items():
            frame[column] = typed(pd.Series(values, dtype=object, index=frame.index), EVENT_DTYPES[column])
        self.text = {column: [] for column in self.TEXT_COLUMNS}
        return time_sorted(infer_bsd_zones(frame[list(EVENT_COLUMNS)]))
