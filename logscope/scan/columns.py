"""A backend's flat spans -> one pyarrow Table per block, the same for both backends.

Strings are decoded once per distinct byte value; kv columns are mapped once per shape (key
sequence) and gathered for every row of that shape with numpy; HTTP start lines, routes and OpenSSL
errors are decoded once per distinct value. A shape this layer cannot map with certainty (a
repeated key; a start line and a Status/Reason/Method/Request key in one body, whose winner depends
on order) declines its events, and so does a number field Python's int() would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from logscope.lines.records import (
    DETAIL_KINDS,
    EVENT_KINDS,
    KEY_COLUMNS,
    REDUNDANT_KEYS,
    TRANSACTION_KINDS,
    _int_or_none,
    http_start_line,
    split_openssl_error,
)
from logscope.route import route_from_url
from logscope.scan import layout as L
from logscope.scan.pyscan import RawScan

_START_LINE_KEYS = frozenset({"Status", "Reason", "Method", "Request"})
_INT_COLUMNS = ("txn_id", "src_port", "dst_port", "status")
_ROUTE = ("segment", "domain", "scheme", "host", "port", "error")
STRING_COLUMNS = (
    "host", "process", "thread", "level", "program", "kind", "message", "sni", "name_check", "action",
    "verify_error", "server_name", "server_ip", "ssl_error_code", "ssl_reason", "module", "detail",
    "event", "tracking_id", "src_ip", "dst_ip", "method", "url", "reason", "username",
    "route_segment", "route_domain", "route_scheme", "route_host", "route_error",
)  # fmt: skip
INT_COLUMNS = ("pid", "depth", "txn_id", "src_port", "dst_port", "status", "route_port")


@dataclass
class ScanResult:
    """One block scanned: `events` (one row per accepted event), `declined` (offset, length, line,
    reason), and per kv event its `shape` id into `shapes` with (start, length) value spans in
    `values` (rows values_first .. values_first + values_count)."""

    events: pa.Table
    declined: pa.Table
    shapes: list[tuple[str, ...]]
    values: np.ndarray


def _decoder(block: bytes):
    cache: dict[bytes, str] = {}

    def decode(start: int, length: int) -> str | None:
        if length < 0:
            return None
        raw = block[start : start + length]
        text = cache.get(raw)
        if text is None:
            text = cache[raw] = raw.decode("utf-8")
        return text

    return decode


def _spans(decode, rows: np.ndarray, column: int) -> list[str | None]:
    return [decode(int(s), int(n)) for s, n in zip(rows[:, column], rows[:, column + 1], strict=True)]


def _shape_plan(shape: tuple[str, ...]) -> dict[str, int] | None:
    """Key -> position for one shape, or None when the shape is declined."""
    if len(set(shape)) != len(shape):
        return None
    has_message = any(key in ("Msg", "HTTPMSG", "SIPMSG") for key in shape)
    if has_message and _START_LINE_KEYS & set(shape):
        return None
    return {key: i for i, key in enumerate(shape)}


def to_table(block: bytes, raw: RawScan) -> ScanResult:
    """Build the block's ScanResult from a backend's RawScan."""
    rows = np.frombuffer(raw.events, dtype=np.int64).reshape(-1, L.NCOL) if raw.count else np.zeros((0, L.NCOL), np.int64)
    values = np.frombuffer(raw.values, dtype=np.int64).reshape(-1, 2) if len(raw.values) else np.zeros((0, 2), np.int64)
    decode = _decoder(block)
    plans = [_shape_plan(shape) for shape in raw.shapes]
    keep = np.ones(len(rows), dtype=bool)
    columns: dict[str, list] = {name: [None] * len(rows) for name in (*STRING_COLUMNS, *INT_COLUMNS)}
    extras: list[dict | None] = [None] * len(rows)
    for name, column in (
        ("host", L.HOST_START), ("process", L.PROC_START), ("thread", L.THREAD_START),
        ("program", L.PROGRAM_START), ("message", L.MSG_START), ("sni", L.F1_START),
        ("action", L.ACTION_START), ("verify_error", L.F3_START), ("server_name", L.SERVER_START),
        ("server_ip", L.IP_START),
    ):  # fmt: skip
        columns[name] = _spans(decode, rows, column)
    diags = rows[:, L.DIALECT] == L.DIAGS  # ATS's diags.log: only the traffic server writes it
    columns["process"] = ["traffic_server" if d else p for d, p in zip(diags, columns["process"], strict=True)]
    for name in ("server_name", "server_ip"):  # `server=(ip)`: an empty part is absent
        columns[name] = [value or None for value in columns[name]]
    for i, row in enumerate(rows):
        family, kind = int(row[L.FAMILY]), int(row[L.KIND])
        columns["pid"][i] = None if row[L.PID] == L.NULL else int(row[L.PID])
        columns["level"][i] = L.LEVELS[row[L.LEVEL] - 1] if row[L.LEVEL] else None
        if family == L.KV:
            keep[i] = _kv_row(decode, row, values, raw.shapes, plans, columns, extras, i)
            continue
        columns["kind"][i] = L.ATS_KINDS[kind]
        if kind == L.KIND_VERIFY:
            columns["depth"][i] = int(row[L.DEPTH])
        elif kind == L.KIND_NAME_CHECK:
            columns["name_check"][i] = L.NAME_CHECKS[row[L.NAME_CHECK] - 1]
        elif kind == L.KIND_SSL_FAILED:
            columns["server_name"][i], columns["sni"][i] = columns["sni"][i], None
            error = _openssl(columns["verify_error"][i])
            columns["verify_error"][i] = None
            columns["ssl_error_code"][i] = error.get("ssl_error_code")
            columns["ssl_reason"][i] = error.get("ssl_reason")
    arrays = {
        "offset": pa.array(rows[:, L.OFFSET]),
        "length": pa.array(rows[:, L.LENGTH]),
        "line": pa.array(rows[:, L.LINE]),
        "dialect": pa.array([L.DIALECTS[d] for d in rows[:, L.DIALECT]], pa.string()),
        "ts": pa.array(rows[:, L.TS], mask=rows[:, L.TS] == L.NULL).cast(pa.timestamp("ns", "UTC")),
        "ts_start": pa.array(rows[:, L.TS_START]),
        "ts_len": pa.array(rows[:, L.TS_LEN]),
        **{name: pa.array(columns[name], pa.string()) for name in STRING_COLUMNS},
        **{name: pa.array(columns[name], pa.int64()) for name in INT_COLUMNS},
        "shape": pa.array(rows[:, L.SHAPE], pa.int32()),
        "values_first": pa.array(rows[:, L.VALUES_FIRST]),
        "values_count": pa.array(rows[:, L.VALUES_COUNT], pa.int32()),
        "extra": pa.array(extras, pa.map_(pa.string(), pa.string())),
    }
    table = pa.table(arrays)
    declined = np.frombuffer(raw.declined, dtype=np.int64).reshape(-1, 4) if len(raw.declined) else np.zeros((0, 4), np.int64)
    dropped = rows[~keep]
    declined_rows = np.concatenate(
        [declined, np.stack([dropped[:, L.OFFSET], dropped[:, L.LENGTH], dropped[:, L.LINE],
                             np.full(len(dropped), L.DECLINE_SHAPE)], axis=1)]
    ) if len(dropped) else declined  # fmt: skip
    declined_rows = declined_rows[np.argsort(declined_rows[:, 2], kind="stable")]
    return ScanResult(
        events=table.filter(pa.array(keep)) if not keep.all() else table,
        declined=pa.table(
            {
                "offset": pa.array(declined_rows[:, 0]),
                "length": pa.array(declined_rows[:, 1]),
                "line": pa.array(declined_rows[:, 2]),
                "reason": pa.array([L.DECLINE_REASONS[r] for r in declined_rows[:, 3]], pa.string()),
            }
        ),
        shapes=raw.shapes,
        values=values,
    )


_OPENSSL: dict[str, dict] = {}
_START_LINES: dict[str, dict] = {}
_ROUTES: dict[str, dict] = {}
_CACHE_LIMIT = 65536


def _cached(cache: dict, key: str, compute):
    value = cache.get(key)
    if value is None:
        value = compute(key)
        if len(cache) < _CACHE_LIMIT:
            cache[key] = value
    return value


def _openssl(text: str) -> dict:
    return _cached(_OPENSSL, text, split_openssl_error)


def _route(url: str) -> dict:
    def compute(url: str) -> dict:
        route = route_from_url(url)
        return {} if route is None else {f"route_{part}": getattr(route, part) for part in _ROUTE}

    return _cached(_ROUTES, url, compute)


def _kv_row(decode, row, values, shapes, plans, columns, extras, i) -> bool:
    """One kv event's columns from its shape's plan; False declines it."""
    plan = plans[row[L.SHAPE]]
    if plan is None:
        return False
    first = int(row[L.VALUES_FIRST])
    record: dict = {}
    extra: dict[str, str] = {}
    message = None
    for key, position in plan.items():
        value = decode(int(values[first + position, 0]), int(values[first + position, 1]))
        column = KEY_COLUMNS.get(key)
        if column:
            record[column] = value
        elif key == "Msg":
            message = value
            record.update(_cached(_START_LINES, value, http_start_line))
        elif key in ("HTTPMSG", "SIPMSG"):
            message = value.strip()
            record.update(_cached(_START_LINES, message.split("\n", 1)[0], http_start_line))
        elif key not in REDUNDANT_KEYS:
            extra[key] = value
    kind = DETAIL_KINDS.get(record.get("detail", ""), "") or EVENT_KINDS.get(record.get("event", ""), "other")
    record["kind"] = kind
    if message is not None and kind not in TRANSACTION_KINDS:
        record["message"] = message
    for column in _INT_COLUMNS:
        if column in record:
            try:
                record[column] = _int_or_none(record[column])
            except ValueError:  # a digit int() does not read (superscripts): the reference decides
                return False
    if kind == "receive_request" and record.get("url"):
        record.update(_route(record["url"]))
    for column, value in record.items():
        columns[column][i] = value
    extras[i] = list(extra.items()) if extra else None
    return True
