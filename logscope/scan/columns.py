"""A backend's flat spans -> one pyarrow Table per block, the same for both backends.

Strings are decoded once per distinct byte value; kv columns are mapped once per shape (key
sequence) and gathered for every row of that shape with numpy; HTTP start lines are read by RE2
kernels over the distinct values, routes decoded once per distinct route segment and OpenSSL errors
once per distinct value. A shape this layer cannot map with certainty (a
repeated key; a start line and a Status/Reason/Method/Request key in one body, whose winner depends
on order) declines its events, and so does a number field Python's int() would refuse.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import logscope.scan.layout as L
from logscope.lines.records import (
    DETAIL_KINDS,
    EVENT_KINDS,
    KEY_COLUMNS,
    REDUNDANT_KEYS,
    TRANSACTION_KINDS,
)
from logscope.scan.pyscan import RawScan
from logscope.scan.values import (
    ROUTE_PARTS,
    SPACE,
    numbers,
    openssl_fields,
    route_columns,
    route_segments,
    start_lines,
    strip_rows,
    strip_values,
)

try:  # the compiled span copy, when the extension is built and not turned off
    if os.environ.get("LOGSCOPE_SCANNER", "").lower() in ("python", "arrow", "off", "records"):
        raise ImportError("LOGSCOPE_SCANNER")
    from logscope.scan._cscan import gather as _gather  # type: ignore[attr-defined]
except ImportError:
    _gather = None

_START_LINE_KEYS = frozenset({"Status", "Reason", "Method", "Request"})
_INT_COLUMNS = ("txn_id", "src_port", "dst_port", "status")
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
    block: bytes
    memo: dict = dataclasses.field(default_factory=dict)  # what a later layer computes once per block


def span_strings(block: bytes, starts: np.ndarray, lengths: np.ndarray, *, strip: bool = False) -> pa.Array:
    """(start, length) spans of `block` -> a string array (length -1: null), built without a Python
    loop: the compiled `gather` copies the spans end to end when it is built, else Arrow's `take`
    copies them (spans that do not overlap) or a string_view array over the block's own bytes is
    cast to string (spans that do). With `strip`, every value is `str.strip`ped, as kv_record strips
    a value: ASCII space in bulk (by `gather` itself when it is built), Python for the few values
    that start or end with a non-ASCII character."""
    count = len(starts)
    if count == 0:
        return pa.array([], pa.string())
    if len(block) >= 2**31:  # Arrow string offsets are 32-bit; blocks are 8-32 MiB
        raise ValueError("a scanner block must be smaller than 2 GiB")
    valid = lengths >= 0
    if _gather is not None:
        offsets, data, edges = _gather(
            block,
            np.ascontiguousarray(starts, dtype=np.int64),
            np.ascontiguousarray(lengths, dtype=np.int64),
            strip,
        )
        validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
        array = pa.Array.from_buffers(
            pa.string(), count, [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        return array if edges is None else strip_rows(array, np.frombuffer(edges, dtype=bool))
    taken = _span_take(block, starts, lengths, valid)
    array = taken if taken is not None else _span_views(block, starts, lengths, valid)
    return strip_values(array) if strip else array


def _span_take(block: bytes, starts: np.ndarray, lengths: np.ndarray, valid: np.ndarray) -> pa.Array | None:
    """The spans copied by one `take` from an array whose elements are the spans and the gaps
    between them, in block order (None: two spans overlap, so they cannot be laid end to end)."""
    present = np.flatnonzero(valid)
    if len(present) == 0:
        return pa.nulls(len(starts), pa.string())
    first = starts[present].astype(np.int64)
    order = np.argsort(first, kind="stable")
    first = first[order]
    last = first + lengths[present][order]
    if len(first) > 1 and (first[1:] < last[:-1]).any():
        return None
    offsets = np.empty(2 * len(first), dtype=np.int32)  # the block is under 2 GiB (checked above)
    offsets[0::2], offsets[1::2] = first, last
    every = pa.Array.from_buffers(
        pa.string(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(block)]
    )
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    index = np.zeros(len(starts), dtype=np.int64)
    index[present] = 2 * rank
    mask = None if len(present) == len(starts) else ~valid
    return every.take(pa.array(index, mask=mask))


def _span_views(block: bytes, starts: np.ndarray, lengths: np.ndarray, valid: np.ndarray) -> pa.Array:
    count = len(starts)
    present = np.flatnonzero(valid)
    if len(present) == 0:
        return pa.nulls(count, pa.string())
    data = np.frombuffer(block, dtype=np.uint8)
    starts32, lengths32 = starts[present].astype("<i4"), lengths[present].astype("<i4")
    part = np.zeros((len(present), 16), dtype=np.uint8)
    part[:, 0:4] = lengths32.view(np.uint8).reshape(-1, 4)
    head = data[np.minimum(starts32[:, None] + np.arange(12), len(data) - 1)]
    head[np.arange(12)[None, :] >= lengths32[:, None]] = 0
    small = lengths32 <= 12
    part[small, 4:16] = head[small]
    part[~small, 4:8] = head[~small, 0:4]
    part[~small, 12:16] = starts32[~small].view(np.uint8).reshape(-1, 4)
    views = np.zeros((count, 16), dtype=np.uint8)
    views[present] = part
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    array = pa.Array.from_buffers(
        pa.string_view(), count, [validity, pa.py_buffer(views), pa.py_buffer(block)]
    )
    return array.cast(pa.string())


# logscope.lines.records._KV_START for RE2
_PADDED_KV = "^" + SPACE + r'*[A-Za-z_][A-Za-z0-9_.-]*[ \t]*=[ \t]*"'


def _shape_plan(shape: tuple[str, ...]) -> dict[str, int] | None:
    """Key -> position for one shape, or None when the shape is declined."""
    if len(set(shape)) != len(shape):
        return None
    has_message = any(key in ("Msg", "HTTPMSG", "SIPMSG") for key in shape)
    if has_message and _START_LINE_KEYS & set(shape):
        return None
    return {key: i for i, key in enumerate(shape)}


class _KeyValues:
    """Where each key's value span is, per row of a block: a table of positions per shape built
    once per block, so each key costs one lookup and one gather over the rows."""

    def __init__(self, block: bytes, rows: np.ndarray, values: np.ndarray, plans: list) -> None:
        self.block, self.values, self.count = block, values, len(plans)
        shapes = rows[:, L.SHAPE]
        self.shape_of = np.where((shapes >= 0) & (shapes < self.count), shapes, self.count)  # last: none
        self.first = rows[:, L.VALUES_FIRST]
        self.positions: dict[str, np.ndarray] = {}
        for shape_id, plan in enumerate(plans):
            for key, position in (plan or {}).items():
                if key not in self.positions:
                    self.positions[key] = np.full(self.count + 1, -1, dtype=np.int64)
                self.positions[key][shape_id] = position

    def index(self, keys: tuple[str, ...]) -> np.ndarray:
        """Per row, the index into `values` of the first of `keys` its shape holds (-1: none)."""
        table = np.full(self.count + 1, -1, dtype=np.int64)
        for key in reversed(keys):
            if key in self.positions:
                table = np.where(self.positions[key] >= 0, self.positions[key], table)
        position = table[self.shape_of]
        return np.where(position >= 0, self.first + position, -1)

    def strings(self, keys: tuple[str, ...]) -> pa.Array:
        """The values of the first of `keys` each row holds, `str.strip`ped (null: none)."""
        index = self.index(keys)
        present = index >= 0
        if not len(self.values):
            return pa.nulls(len(index), pa.string())
        safe = np.where(present, index, 0)
        lengths = np.where(present, self.values[safe, 1], -1)
        return span_strings(self.block, self.values[safe, 0], lengths, strip=True)


def _names(names: tuple, codes: np.ndarray) -> pa.Array:
    """Codes 1.. -> names (0: null)."""
    return pa.array(np.array([None, *names], dtype=object)[codes], pa.string())


def _kind(detail: str | None, event: str | None) -> str:
    return DETAIL_KINDS.get(detail or "", "") or EVENT_KINDS.get(event or "", "other")


def _kv_columns(block: bytes, rows: np.ndarray, values: np.ndarray, plans: list, keep: np.ndarray) -> dict:
    """The key="value" columns, mapped once per shape and decoded once per distinct value."""
    n = len(rows)
    kv = rows[:, L.FAMILY] == L.KV
    shapes = rows[:, L.SHAPE]
    for shape_id, plan in enumerate(plans):
        if plan is None:
            keep &= ~(kv & (shapes == shape_id))
    key_values = _KeyValues(block, rows, values, plans)
    # padded values compare trimmed, as kv_record trims them (the message lines apart)
    columns = {column: key_values.strings((key,)) for key, column in KEY_COLUMNS.items()}
    msg = key_values.strings(("Msg",))
    stripped = key_values.strings(("HTTPMSG", "SIPMSG"))
    message = pc.coalesce(msg, stripped)
    first_line = pc.struct_field(pc.extract_regex(stripped, r"^(?P<line>[^\n]*)"), "line") if n else stripped
    start = pc.coalesce(msg, first_line).dictionary_encode()
    for field, from_line in start_lines(start.dictionary).items():
        columns[field] = pc.coalesce(from_line.take(start.indices).cast(pa.string()), columns[field])
    pairs = pa.StructArray.from_arrays([columns["detail"], columns["event"]], ["d", "e"])
    kinds = [_kind(p["d"], p["e"]) for p in pairs.to_pylist()] if n < 64 else None
    if kinds is None:
        encoded = pc.binary_join_element_wise(
            pc.fill_null(columns["detail"], "\0"), pc.fill_null(columns["event"], "\0"), "\x01"
        ).dictionary_encode()
        mapped = []
        for joined in encoded.dictionary.to_pylist():
            detail, event = joined.split("\x01", 1)
            mapped.append(_kind(detail.replace("\0", ""), event.replace("\0", "")))
        kind = pa.array(mapped, pa.string()).take(encoded.indices)
    else:
        kind = pa.array(kinds, pa.string())
    transaction = pc.is_in(kind, pa.array(sorted(TRANSACTION_KINDS)))
    columns["message"] = pc.if_else(transaction, pa.nulls(n, pa.string()), message)
    columns["kind"] = kind
    for column in _INT_COLUMNS:
        columns[column] = numbers(columns[column], keep)
    urls = pc.if_else(pc.equal(kind, "receive_request"), columns["url"], pa.nulls(n, pa.string()))
    encoded = urls.dictionary_encode()
    segments = route_segments(encoded.dictionary).dictionary_encode()
    routes = [route_columns(segment) for segment in segments.dictionary.to_pylist()]
    per_url = segments.indices.take(encoded.indices)
    for part in ROUTE_PARTS:
        kind_of = pa.int64() if part == "port" else pa.string()
        columns[f"route_{part}"] = pa.array([r.get(f"route_{part}") for r in routes], kind_of).take(per_url)
    return columns


def to_table(block: bytes, raw: RawScan) -> ScanResult:
    """Build the block's ScanResult from a backend's RawScan."""
    rows = (
        np.frombuffer(raw.events, dtype=np.int64).reshape(-1, L.NCOL)
        if raw.count
        else np.zeros((0, L.NCOL), np.int64)
    )
    values = (
        np.frombuffer(raw.values, dtype=np.int64).reshape(-1, 2)
        if len(raw.values)
        else np.zeros((0, 2), np.int64)
    )
    plans = [_shape_plan(shape) for shape in raw.shapes]
    keep = np.ones(len(rows), dtype=bool)
    n = len(rows)
    null_str = pa.nulls(n, pa.string())

    def spans(column: int) -> pa.Array:
        return span_strings(block, rows[:, column], rows[:, column + 1])

    kind_code = rows[:, L.KIND]
    kv = rows[:, L.FAMILY] == L.KV
    columns: dict[str, pa.Array] = {"host": spans(L.HOST_START)}
    diags = pa.array(rows[:, L.DIALECT] == L.DIAGS, pa.bool_())
    columns["process"] = pc.if_else(diags, pa.scalar("traffic_server"), spans(L.PROC_START))
    for name, column in (
        ("thread", L.THREAD_START),
        ("program", L.PROGRAM_START),
        ("action", L.ACTION_START),
    ):
        columns[name] = spans(column)
    columns["level"] = _names(L.LEVELS, rows[:, L.LEVEL])
    f1, f3 = spans(L.F1_START), spans(L.F3_START)
    ssl = pa.array(kind_code == L.KIND_SSL_FAILED, pa.bool_())
    server, address = spans(L.SERVER_START), spans(L.IP_START)
    columns["server_name"] = pc.if_else(ssl, f1, pc.if_else(pc.equal(server, ""), null_str, server))
    columns["server_ip"] = pc.if_else(pc.equal(address, ""), null_str, address)
    columns["sni"] = pc.if_else(ssl, null_str, f1)
    columns["verify_error"] = pc.if_else(ssl, null_str, f3)
    errors = pc.if_else(ssl, f3, null_str).dictionary_encode()
    split = [openssl_fields(text) for text in errors.dictionary.to_pylist()]
    for field in ("ssl_error_code", "ssl_reason"):
        columns[field] = pa.array([e.get(field) for e in split], pa.string()).take(errors.indices)
    columns["name_check"] = pa.array(
        np.array([None, *L.NAME_CHECKS], dtype=object)[rows[:, L.NAME_CHECK]], pa.string()
    )
    verify = (kind_code == L.KIND_VERIFY) & ~kv
    columns["depth"] = pa.array(rows[:, L.DEPTH], mask=~verify)
    columns["pid"] = pa.array(rows[:, L.PID], mask=rows[:, L.PID] == L.NULL)
    kv_columns = _kv_columns(block, rows, values, plans, keep)
    kv_arrow = pa.array(kv, pa.bool_())
    ats_kinds = np.array([L.ATS_KINDS[k] for k in range(4)], dtype=object)
    columns["kind"] = pc.if_else(
        kv_arrow, kv_columns.pop("kind"), pa.array(ats_kinds[kind_code], pa.string())
    )
    body = spans(L.MSG_START)
    columns["message"] = pc.if_else(kv_arrow, kv_columns.pop("message"), body)
    text = rows[:, L.FAMILY] == L.TEXT
    if text.any():  # a padded first pair (`Key ="v"`) is key="value" to the record path: decline
        padded = pc.fill_null(pc.match_substring_regex(body, _PADDED_KV), False)
        keep &= ~(text & np.asarray(padded.to_numpy(zero_copy_only=False), dtype=bool))
    for name, array in kv_columns.items():  # a kv column is null outside key="value" bodies
        columns[name] = pc.if_else(kv_arrow, array, columns[name]) if name in columns else array
    arrays = {
        "offset": pa.array(rows[:, L.OFFSET]),
        "length": pa.array(rows[:, L.LENGTH]),
        "line": pa.array(rows[:, L.LINE]),
        "dialect": pa.array(
            np.array([None, *L.DIALECTS.values()], dtype=object)[rows[:, L.DIALECT]], pa.string()
        ),
        "ts": pa.array(rows[:, L.TS], mask=rows[:, L.TS] == L.NULL).cast(pa.timestamp("ns", "UTC")),
        "ts_start": pa.array(rows[:, L.TS_START]),
        "ts_len": pa.array(rows[:, L.TS_LEN]),
        **{name: columns[name] for name in STRING_COLUMNS},
        **{name: columns[name] for name in INT_COLUMNS},
        "shape": pa.array(rows[:, L.SHAPE], pa.int32()),
        "values_first": pa.array(rows[:, L.VALUES_FIRST]),
        "values_count": pa.array(rows[:, L.VALUES_COUNT], pa.int32()),
    }
    table = pa.table(arrays)
    declined = (
        np.frombuffer(raw.declined, dtype=np.int64).reshape(-1, 4)
        if len(raw.declined)
        else np.zeros((0, 4), np.int64)
    )
    dropped = rows[~keep]
    if len(dropped):
        extra_rows = np.stack(
            [
                dropped[:, L.OFFSET],
                dropped[:, L.LENGTH],
                dropped[:, L.LINE],
                np.full(len(dropped), L.DECLINE_SHAPE),
            ],
            axis=1,
        )
        declined = np.concatenate([declined, extra_rows])
        declined = declined[np.argsort(declined[:, 2], kind="stable")]
    return ScanResult(
        events=table.filter(pa.array(keep)) if not keep.all() else table,
        declined=pa.table(
            {
                "offset": pa.array(declined[:, 0]),
                "length": pa.array(declined[:, 1]),
                "line": pa.array(declined[:, 2]),
                "reason": pa.array([L.DECLINE_REASONS[r] for r in declined[:, 3]], pa.string()),
            }
        ),
        shapes=raw.shapes,
        values=values,
        block=block,
    )


def extras(result: ScanResult) -> list[dict[str, str] | None]:
    """Per event, the unknown keys of its key="value" body (as the parse stage's `extra`), read from
    its shape and value spans on demand: the table does not carry them."""
    out: list[dict[str, str] | None] = []
    block_of = result.block
    for shape, first in zip(
        result.events["shape"].to_pylist(), result.events["values_first"].to_pylist(), strict=True
    ):
        if shape < 0:
            out.append(None)
            continue
        extra = {}
        for i, key in enumerate(result.shapes[shape]):
            if key in KEY_COLUMNS or key in ("Msg", "HTTPMSG", "SIPMSG") or key in REDUNDANT_KEYS:
                continue
            start, length = result.values[first + i]
            extra[key] = block_of[start : start + length].decode("utf-8").strip()  # as kv_record
        out.append(extra or None)
    return out
