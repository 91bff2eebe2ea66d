"""A backend's flat spans -> one pyarrow Table per block, the same for both backends.

Text columns are built as dictionary codes (logscope.scan.coded) straight from the spans: the
compiled `encode` passes read each row's fields, or its values of every key, once, and a string is
made per distinct value only; kv columns are mapped once per shape (key sequence); Detail/Event
kinds, numbers and zone offsets are read once per distinct value; HTTP start lines are read by RE2
kernels over the distinct values, routes decoded once per distinct route segment and OpenSSL errors
once per distinct value. A shape this layer cannot map with certainty (a
repeated key; a start line and a Status/Reason/Method/Request key in one body, whose winner depends
on order) declines its events, and so does a number field Python's int() would refuse.
"""

from __future__ import annotations

import dataclasses
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
from logscope.scan.coded import Coded, compiled
from logscope.scan.pyscan import RawScan
from logscope.scan.values import (
    SPACE,
    coded_numbers,
    coded_routes,
    openssl_fields,
    start_lines,
    strip_rows,
    strip_values,
)

_gather = compiled("gather")  # the compiled span copy and encoding, when built and not turned off
_encode = compiled("encode")
_encode_at = compiled("encode_at")
_encode_fields = compiled("encode_fields")

_START_LINE_KEYS = frozenset({"Status", "Reason", "Method", "Request"})
_INT_COLUMNS = ("txn_id", "src_port", "dst_port", "status")
STRING_COLUMNS = (
    "host", "process", "thread", "level", "program", "kind", "message", "sni", "name_check", "action",
    "verify_error", "server_name", "server_ip", "ssl_error_code", "ssl_reason", "module", "detail",
    "event", "tracking_id", "src_ip", "dst_ip", "method", "url", "reason", "username",
    "route_segment", "route_domain", "route_scheme", "route_host", "route_error",
)  # fmt: skip
INT_COLUMNS = ("pid", "depth", "txn_id", "src_port", "dst_port", "status", "route_port")
CODED_COLUMNS = tuple(name for name in STRING_COLUMNS if name != "message")  # free text stays text
EVENT_FIELDS = (
    "offset", "length", "line", "dialect", "ts", "ts_start", "ts_len", *STRING_COLUMNS, *INT_COLUMNS,
    "shape", "values_first", "values_count",
)  # fmt: skip


@dataclass
class ScanResult:
    """One block scanned: `events` (one row per accepted event), `declined` (offset, length, line,
    reason), and per kv event its `shape` id into `shapes` with (start, length) value spans in
    `values` (rows values_first .. values_first + values_count).

    The text columns are kept as they were built, codes into dictionaries (`coded`), and the other
    columns as `base`: the layer that compacts them reads those, and `events` (every column, the
    text ones as Arrow dictionary arrays) is put together only when it is asked for."""

    base: pa.Table
    coded: dict[str, Coded]
    declined: pa.Table
    shapes: list[tuple[str, ...]]
    values: np.ndarray
    block: bytes
    memo: dict = dataclasses.field(default_factory=dict)  # what a later layer computes once per block

    @property
    def events(self) -> pa.Table:
        if "events" not in self.memo:
            columns = {name: self.base[name] for name in self.base.column_names}
            columns.update({name: column.to_arrow() for name, column in self.coded.items()})
            self.memo["events"] = pa.table({name: columns[name] for name in EVENT_FIELDS})
        return self.memo["events"]


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


def span_codes(block: bytes, starts: np.ndarray, lengths: np.ndarray, *, strip: bool = False) -> Coded:
    """(start, length) spans of `block` as a coded text column (length -1: null), `strip`ped as
    `span_strings` strips them. The compiled `encode` hashes the spans' bytes: no string is built
    per row, only one per distinct value; without it the strings are built and encoded."""
    if not len(starts):
        return Coded.nulls(0)
    if len(block) >= 2**31:
        raise ValueError("a scanner block must be smaller than 2 GiB")
    if _encode is None:
        return Coded.encode(span_strings(block, starts, lengths, strip=strip))
    coded, edges = _compiled_codes(block, starts, lengths, strip)
    return _stripped(coded, edges)


def _stripped(coded: Coded, edges: bytes | None) -> Coded:
    """`coded` with its values flagged in `edges` (a non-ASCII first or last byte: maybe a Unicode
    space) `str.strip`ped by Python."""
    if edges is None:
        return coded
    return Coded(coded.codes, strip_rows(coded.dictionary, np.frombuffer(edges, dtype=bool)))


def value_spans(values: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of the value spans `values[index]` (index -1: none, length -1)."""
    present = index >= 0
    if not len(values):
        return np.zeros(len(index), np.int64), np.full(len(index), -1, np.int64)
    safe = np.where(present, index, 0)
    return values[safe, 0], np.where(present, values[safe, 1], -1)


def trimmed_values(block: bytes, values: np.ndarray, index: np.ndarray) -> list[Coded]:
    """Per column of `index` (rows of indices into `values`, the (start, length) value spans), its
    values as a coded column, ASCII white space (space, tab, CR, LF, VT, FF) trimmed at both ends
    as pyarrow's `utf8_trim` trims it (not `str.strip`: a Unicode space stays)."""
    if _encode_at is None or not len(index):
        return [
            Coded.encode(pc.utf8_trim(span_strings(block, *value_spans(values, column)), " \t\n\r\x0b\x0c"))
            for column in np.asarray(index, dtype=np.int64).T
        ]
    found = _encode_at(block, np.ascontiguousarray(values), np.ascontiguousarray(index), index.shape[1], True)
    return [_coded(one)[0] for one in found]


def _compiled_codes(
    block: bytes, starts: np.ndarray, lengths: np.ndarray, trim: bool
) -> tuple[Coded, bytes | None]:
    """The compiled `encode` of the spans, and its flag per value starting or ending with a
    non-ASCII byte (None: no such value)."""
    found = _encode(
        block,
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(lengths, dtype=np.int64),
        trim,
    )
    return _coded(found)


def _coded(found: tuple[bytes, bytes, bytes, bytes | None]) -> tuple[Coded, bytes | None]:
    """The compiled encoding's buffers as a Coded column, and its edge flags."""
    codes, offsets, data, edges = found
    count = len(offsets) // 4 - 1
    dictionary = pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return Coded(np.frombuffer(codes, dtype=np.int32), dictionary), edges


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

    def spans(self, keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(start, length) of the value of the first of `keys` each row holds (length -1: none)."""
        return value_spans(self.values, self.index(keys))

    def codes(self, keys: tuple[str, ...]) -> list[Coded]:
        """The values of each key as a coded column, `str.strip`ped (null: none); the compiled
        `encode_at` reads each row's values of all the keys together, where they are."""
        if _encode_at is None:
            return [span_codes(self.block, *self.spans((key,)), strip=True) for key in keys]
        found = _encode_at(self.block, np.ascontiguousarray(self.values), self.indices(keys), len(keys), True)
        return [_stripped(*_coded(one)) for one in found]

    def indices(self, keys: tuple[str, ...]) -> np.ndarray:
        """`index` of each key, one column per key, in one lookup per row."""
        table = np.full((self.count + 1, len(keys)), -1, dtype=np.int64)
        for column, key in enumerate(keys):
            if key in self.positions:
                table[:, column] = self.positions[key]
        position = table[self.shape_of]
        return np.where(position >= 0, self.first[:, None] + position, -1)


def _kind(detail: str | None, event: str | None) -> str:
    return DETAIL_KINDS.get(detail or "", "") or EVENT_KINDS.get(event or "", "other")


def _kinds(detail: Coded, event: Coded) -> Coded:
    """The kind of each key="value" row, from its Detail and Event: once per distinct pair."""
    width = len(event.dictionary) + 1
    pairs = detail.codes.astype(np.int64) * width + event.codes + 1
    distinct, index = np.unique(pairs, return_inverse=True)
    details = [*detail.dictionary.to_pylist(), None]  # code -1 (null) reads the last
    events = [*event.dictionary.to_pylist(), None]
    names = [_kind(details[pair // width], events[pair % width - 1]) for pair in distinct.tolist()]
    return Coded(index.reshape(-1).astype(np.int32), pa.array(names, pa.string()))


def _rows_of(column: Coded, names: frozenset[str]) -> np.ndarray:
    """Where `column` holds one of `names`."""
    table = np.array([*(value in names for value in column.dictionary.to_pylist()), False], dtype=bool)
    return table[column.codes]


def _kv_columns(block: bytes, rows: np.ndarray, values: np.ndarray, plans: list, keep: np.ndarray) -> dict:
    """The key="value" columns (Coded text, int64 numbers, the message as strings), mapped once per
    shape and decoded once per distinct value."""
    kv = rows[:, L.FAMILY] == L.KV
    shapes = rows[:, L.SHAPE]
    for shape_id, plan in enumerate(plans):
        if plan is None:
            keep &= ~(kv & (shapes == shape_id))
    key_values = _KeyValues(block, rows, values, plans)
    # padded values compare trimmed, as kv_record trims them (the message lines apart)
    *coded, msg, http, sip = key_values.codes((*KEY_COLUMNS, "Msg", "HTTPMSG", "SIPMSG"))
    columns: dict[str, object] = dict(zip(KEY_COLUMNS.values(), coded, strict=True))
    stripped = http.coalesce(sip)  # a shape holding both reads HTTPMSG
    message = msg.coalesce(stripped)
    first_line = pc.struct_field(pc.extract_regex(stripped.dictionary, r"^(?P<line>[^\n]*)"), "line")
    start = msg.coalesce(stripped.mapped(first_line))
    for field, from_line in start_lines(start.dictionary).items():
        texts = from_line.cast(pa.string()) if field == "status" else from_line
        columns[field] = start.mapped(texts).coalesce(columns[field])
    kind = _kinds(columns["detail"], columns["event"])
    transaction = _rows_of(kind, TRANSACTION_KINDS)
    columns["message"] = message.null_where(transaction).strings()
    columns["kind"] = kind
    for column in _INT_COLUMNS:
        columns[column] = coded_numbers(columns[column], keep)
    requests = _rows_of(kind, frozenset({"receive_request"}))
    columns.update(coded_routes(columns["url"].null_where(~requests)))
    return columns


_SPAN_FIELDS = {
    "host": L.HOST_START, "process": L.PROC_START, "thread": L.THREAD_START, "program": L.PROGRAM_START,
    "action": L.ACTION_START, "f1": L.F1_START, "f3": L.F3_START, "server": L.SERVER_START, "ip": L.IP_START,
}  # fmt: skip


def _field_codes(block: bytes, rows: np.ndarray, columns: tuple[int, ...]) -> list[Coded]:
    """The span fields of the event rows at `columns` as coded columns: the compiled
    `encode_fields` reads them row by row, all at once."""
    if _encode_fields is None or not len(rows):
        return [span_codes(block, rows[:, column], rows[:, column + 1]) for column in columns]
    found = _encode_fields(block, np.ascontiguousarray(rows), L.NCOL, columns, False)
    return [_coded(one)[0] for one in found]


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

    spans = dict(zip(_SPAN_FIELDS, _field_codes(block, rows, tuple(_SPAN_FIELDS.values())), strict=True))
    kind_code = rows[:, L.KIND]
    kv = rows[:, L.FAMILY] == L.KV
    columns: dict[str, object] = {"host": spans["host"]}
    diags = rows[:, L.DIALECT] == L.DIAGS
    columns["process"] = Coded.constant("traffic_server", n).where(diags, spans["process"])
    for name in ("thread", "program", "action"):
        columns[name] = spans[name]
    columns["level"] = Coded.of_names(rows[:, L.LEVEL] - 1, L.LEVELS)
    f1, f3 = spans["f1"], spans["f3"]
    ssl = kind_code == L.KIND_SSL_FAILED
    server, address = spans["server"], spans["ip"]
    columns["server_name"] = f1.where(ssl, server.null_if(""))
    columns["server_ip"] = address.null_if("")
    columns["sni"] = f1.null_where(ssl)
    columns["verify_error"] = f3.null_where(ssl)
    errors = f3.null_where(~ssl).used()
    split = [openssl_fields(text) for text in errors.dictionary.to_pylist()]
    for field in ("ssl_error_code", "ssl_reason"):
        columns[field] = errors.mapped(pa.array([e.get(field) for e in split], pa.string()))
    columns["name_check"] = Coded.of_names(rows[:, L.NAME_CHECK] - 1, L.NAME_CHECKS)
    verify = (kind_code == L.KIND_VERIFY) & ~kv
    columns["depth"] = pa.array(rows[:, L.DEPTH], mask=~verify)
    columns["pid"] = pa.array(rows[:, L.PID], mask=rows[:, L.PID] == L.NULL)
    kv_columns = _kv_columns(block, rows, values, plans, keep)
    ats_kinds = tuple(L.ATS_KINDS[k] for k in range(4))
    columns["kind"] = kv_columns.pop("kind").where(kv, Coded.of_names(kind_code, ats_kinds))
    body = span_strings(block, rows[:, L.MSG_START], rows[:, L.MSG_LEN])
    columns["message"] = pc.if_else(pa.array(kv, pa.bool_()), kv_columns.pop("message"), body)
    text = rows[:, L.FAMILY] == L.TEXT
    if text.any():  # a padded first pair (`Key ="v"`) is key="value" to the record path: decline
        padded = pc.fill_null(pc.match_substring_regex(body, _PADDED_KV), False)
        keep &= ~(text & np.asarray(padded.to_numpy(zero_copy_only=False), dtype=bool))
    for name, array in kv_columns.items():  # a kv column is null outside key="value" bodies
        columns[name] = array.where(kv, columns[name]) if name in columns else array
    coded = {name: columns.pop(name) for name in CODED_COLUMNS}
    arrays = {
        "offset": pa.array(rows[:, L.OFFSET]),
        "length": pa.array(rows[:, L.LENGTH]),
        "line": pa.array(rows[:, L.LINE]),
        "dialect": Coded.of_names(rows[:, L.DIALECT] - 1, tuple(L.DIALECTS.values())).strings(),
        "ts": pa.array(rows[:, L.TS], mask=rows[:, L.TS] == L.NULL).cast(pa.timestamp("ns", "UTC")),
        "ts_start": pa.array(rows[:, L.TS_START]),
        "ts_len": pa.array(rows[:, L.TS_LEN]),
        "message": columns["message"],
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
        base=table.filter(pa.array(keep)) if not keep.all() else table,
        coded={name: column.filter(keep) for name, column in coded.items()},
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
