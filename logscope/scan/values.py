"""Values decoded in bulk for the scan's columns (issue 14): `str.strip` of kv values, numbers,
HTTP start lines, routes and OpenSSL errors, each the way the record path reads one value
(logscope.lines.records, logscope.route), by Arrow kernels over a whole array or once per distinct
value; Python only for the values where the bulk rules could differ (non-ASCII text)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logscope.lines.records import _int_or_none, http_start_line, split_openssl_error
from logscope.route import decode_route
from logscope.scan.coded import Coded, through

ROUTE_PARTS = ("segment", "domain", "scheme", "host", "port", "error")

# Python's `\s` (str.isspace characters) spelled out for RE2
SPACE = (
    r"[\t\n\x0b\x0c\r \x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
_ASCII_SPACE = " \t\n\r\x0b\x0c"


def strip_values(array: pa.Array) -> pa.Array:
    """`str.strip` of every value: ASCII space trimmed in bulk; a value that then starts or ends
    with a non-ASCII character (maybe a Unicode space) is stripped by Python."""
    if not len(array):
        return array
    trimmed = pc.utf8_trim(array, _ASCII_SPACE)
    odd = pc.fill_null(pc.match_substring_regex(trimmed, "^[^\\x00-\\x7f]|[^\\x00-\\x7f]$"), False)
    if not pc.any(odd).as_py():
        return trimmed
    return strip_rows(trimmed, np.asarray(odd.to_numpy(zero_copy_only=False), dtype=bool))


def strip_rows(array: pa.Array, rows: np.ndarray) -> pa.Array:
    """`array` with the values where `rows` is set `str.strip`ped by Python."""
    values = array.to_pylist()
    for row in np.flatnonzero(rows).tolist():
        values[row] = values[row].strip()
    return pa.array(values, pa.string())


def numbers(values: pa.Array, keep: np.ndarray) -> pa.Array:
    """Stripped key values -> int64 as the record path reads them (`_int_or_none`): 1-18 ASCII
    digits in bulk, an empty value is null, any other value goes to Python; a digit int() refuses
    declines its row."""
    n = len(values)
    if not n:
        return pa.array([], pa.int64())
    plain = pc.fill_null(
        pc.and_(pc.ascii_is_decimal(values), pc.less_equal(pc.binary_length(values), 18)), False
    )
    numbers = pc.cast(pc.if_else(plain, values, pa.scalar("0", pa.string())), pa.int64())
    numbers = pc.if_else(plain, numbers, pa.nulls(n, pa.int64()))
    blank = pc.fill_null(pc.equal(pc.binary_length(values), 0), True)
    other = pc.invert(pc.or_(plain, blank))
    if not pc.any(other).as_py():
        return numbers
    rows = np.flatnonzero(np.asarray(other.to_numpy(zero_copy_only=False), dtype=bool))
    out = numbers.to_pylist()
    for row, text in zip(rows.tolist(), values.take(pa.array(rows)).to_pylist(), strict=True):
        number = _number(text)
        if number is False:
            keep[row] = False
        else:
            out[row] = number
    return pa.array(out, pa.int64())


def coded_numbers(column: Coded, keep: np.ndarray) -> pa.Array:
    """`numbers` of a coded column, read once per distinct value; a value int() refuses declines
    the rows holding it."""
    readable = np.ones(len(column.dictionary), dtype=bool)
    per_value = numbers(column.dictionary, readable)
    if not readable.all():
        keep &= np.append(readable, True)[column.codes]
    if not len(column.dictionary):
        return pa.nulls(len(column), pa.int64())
    return per_value.take(pa.array(column.codes, mask=column.codes < 0))


def coded_routes(urls: Coded) -> dict[str, object]:
    """The route columns of each row's URL, decoded once per distinct route segment."""
    urls = urls.used()
    segments = Coded.encode(route_segments(urls.dictionary))
    routes = [route_columns(segment) for segment in segments.dictionary.to_pylist()]
    per_row = Coded(through(segments.codes, urls.codes), segments.dictionary)
    columns: dict[str, object] = {}
    for part in ROUTE_PARTS:
        values = [route.get(f"route_{part}") for route in routes]
        if part == "port":
            ports = pa.array(values, pa.int64())
            columns["route_port"] = (
                ports.take(pa.array(per_row.codes, mask=per_row.codes < 0))
                if len(ports)
                else pa.nulls(len(urls), pa.int64())
            )
        else:
            columns[f"route_{part}"] = per_row.mapped(pa.array(values, pa.string()))
    return columns


def _number(value: str | None) -> int | bool | None:
    try:
        return _int_or_none(value) if value is not None else None
    except ValueError:  # a digit int() does not read (superscripts): the reference decides
        return False


# route.py's _ABSOLUTE_URL_PATH and _BASE64_SEGMENT for RE2, Python's `\s` spelled out
_URL_PATH = "^[a-zA-Z][a-zA-Z0-9+.-]*://[^/" + SPACE[1:-1] + "]*/(?P<segment>[^/?#" + SPACE[1:-1] + "]+)"
_ROUTE_SEGMENT = "^[A-Za-z0-9+/_-]{16,}={0,2}$"


def route_segments(urls: pa.Array) -> pa.Array:
    """Per URL, its route segment (`logscope.route.route_segment`): the first path segment of an
    absolute URL when it looks like base64, else null. A route depends on its segment alone, so
    routes are decoded once per distinct segment, not per distinct URL."""
    if not len(urls):
        return pa.array([], pa.string())
    segment = pc.struct_field(pc.extract_regex(urls, _URL_PATH), "segment")
    routed = pc.fill_null(pc.match_substring_regex(segment, _ROUTE_SEGMENT), False)
    return pc.if_else(routed, segment, pa.nulls(len(urls), pa.string()))


# records.http_start_line for RE2 on ASCII text: str.strip's ASCII space, Python's `\S` and `\d`
_ASCII_STRIP = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_STATUS_LINE = r"^HTTP/[0-9.]+ (?P<status>[0-9]{3})(?: (?P<reason>.*))?$"
_REQUEST_LINE = r"^(?P<method>[A-Z]+) (?P<url>[^\t\n\x0b\x0c\r \x1c-\x1f]+)(?: HTTP/[0-9.]+)?$"


def start_lines(texts: pa.Array) -> dict[str, pa.Array]:
    r"""`http_start_line` of each distinct start line: method, url, status (int64), reason. ASCII
    texts by RE2 kernels over the whole array; the others (where `\d`, `\s` and `strip` reach past
    ASCII) by Python."""
    n = len(texts)
    if not n:
        return {f: pa.array([], pa.int64() if f == "status" else pa.string()) for f in _START_FIELDS}
    text = pc.utf8_trim(pc.utf8_ltrim(pc.utf8_trim(texts, _ASCII_STRIP), "|"), _ASCII_STRIP)
    status_line = pc.extract_regex(text, _STATUS_LINE)
    request_line = pc.extract_regex(text, _REQUEST_LINE)
    is_status = pc.is_valid(status_line)
    is_request = pc.and_(pc.invert(is_status), pc.is_valid(request_line))
    nulls = pa.nulls(n, pa.string())
    fields = {
        "method": pc.if_else(is_request, pc.struct_field(request_line, "method"), nulls),
        "url": pc.if_else(is_request, pc.struct_field(request_line, "url"), nulls),
        "status": pc.if_else(
            is_status, pc.cast(pc.struct_field(status_line, "status"), pa.int64()), pa.nulls(n, pa.int64())
        ),
        "reason": pc.if_else(
            is_status, pc.utf8_trim(pc.struct_field(status_line, "reason"), _ASCII_STRIP), nulls
        ),
    }
    fields["reason"] = pc.if_else(pc.and_(is_status, pc.is_null(fields["reason"])), "", fields["reason"])
    other = np.flatnonzero(~np.asarray(pc.string_is_ascii(texts).to_numpy(zero_copy_only=False), dtype=bool))
    if len(other):
        lists = {field: array.to_pylist() for field, array in fields.items()}
        for row in other.tolist():
            parsed = http_start_line(texts[row].as_py())
            for field in _START_FIELDS:
                lists[field][row] = parsed.get(field)
        fields = {f: pa.array(v, pa.int64() if f == "status" else pa.string()) for f, v in lists.items()}
    return fields


_START_FIELDS = ("method", "url", "status", "reason")


_OPENSSL: dict[str, dict] = {}
_ROUTES: dict[str, dict] = {}  # a login storm's routes come back block after block
_CACHE_LIMIT = 65536


def clear_caches() -> None:
    """Forget the decoded OpenSSL errors and routes (up to 65,536 entries each): they serve the scan
    of one analysis, not the frame built after it."""
    _OPENSSL.clear()
    _ROUTES.clear()


def _cached(cache: dict, key: str, compute):
    value = cache.get(key)
    if value is None:
        value = compute(key)
        if len(cache) < _CACHE_LIMIT:
            cache[key] = value
    return value


def openssl_fields(text: str) -> dict:
    return _cached(_OPENSSL, text, split_openssl_error)


def route_columns(segment: str) -> dict:
    """The route columns of a route segment (`route_segments`); treat the dict as read-only."""
    return _cached(_ROUTES, segment, _route_columns)


def _route_columns(segment: str) -> dict:
    route = decode_route(segment)
    return {f"route_{part}": getattr(route, part) for part in ROUTE_PARTS}
