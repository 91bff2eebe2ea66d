"""Allow-list users: the `Username` of the Request Allowed line that let each request through (issue 16).

A request and its allow line share node, pid and upstream URL, and the line comes just after the
request. The request has its URL in parts (scheme, server, port, path) and the allow line whole, so
one side must be put in the other's terms. A storm has about as many distinct URLs as allow lines
(a device file per user and server), so building each request's URL text and hashing it costs most
of the stage. Instead each allow URL is cut at the first '/' after its "://" (two pyarrow searches
over the URLs' own bytes) into `scheme://server:port` and the path, and the two pieces are looked
up among the requests' few hundred prefixes and few thousand paths. The cut is exact when no scheme
or server has a '/' and every path is empty or starts with one: then a request's URL cuts into its
own prefix and path, and two URLs are equal exactly when both pieces are. Otherwise each
request's URL is built whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logscope.login_codes import (
    NAT,
    Column,
    arrow_column,
    column,
    dense_codes,
    ints,
    is_text,
    joint_keys,
    known_at,
    pair_codes,
    shared,
    ticks,
    validity_bitmap,
)

ALLOW_SLACK = pd.Timedelta(seconds=2)  # Request Allowed is written a few ms after Receive Request


@dataclass
class Allowed:
    """The request_allowed events with a time, user and URL: their columns as arrays and codes."""

    ts: pd.arrays.DatetimeArray
    node: Column
    pid: np.ndarray  # -1: missing
    url: np.ndarray  # codes into `urls`
    urls: pa.Array  # the distinct URLs (null: one no line has)
    user: Column


@dataclass
class Requests:
    """The requests to match (positions `rows` in the transactions), URL in parts."""

    rows: np.ndarray
    node: Column
    pid: np.ndarray
    scheme: Column
    server: Column
    port: tuple[np.ndarray, np.ndarray]
    path: Column


def allowed_users(
    events: pd.DataFrame,
    wanted: np.ndarray,
    node: Column,
    pid: np.ndarray,
    scheme: Column,
    server: Column,
    port: tuple[np.ndarray, np.ndarray],
    path: Column,
    start: pd.Series,
) -> Column:
    """The allow-list event's Username for each `wanted` request: same node, pid and upstream URL,
    just after it. Each allow line belongs to the latest request for its URL before it (two users
    fetching the same IM&P path ms apart must not both take the second one's user name); a request
    takes the user of the first line that chose it."""
    result = Column(np.full(len(wanted), -1, dtype="int64"), np.zeros(0, dtype=object))
    if "username" not in events or events.empty:
        return result
    known = scheme.codes >= 0
    known &= (server.codes >= 0) & port[1] & (ticks(start) != NAT)
    rows = np.flatnonzero(wanted & known)
    allowed = _allow_events(events)
    if allowed is None or len(rows) == 0:
        return result
    requests = Requests(rows, node, pid, scheme, server, port, path)
    lines, chosen = _first_choices(requests, allowed, start.array, len(wanted))
    codes = result.codes  # made here: filled in place
    codes[chosen] = allowed.user.codes[lines]  # only the chosen lines' users
    return Column(codes, allowed.user.values)


def _first_choices(
    requests: Requests, allowed: Allowed, times: pd.arrays.DatetimeArray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """The lines (positions in `allowed`) that were the first to choose their request, and that
    request's row (below `count`). Each step lives in a function of its own, so its temporaries are
    gone before the next makes its own: a storm's half a million requests and lines make each array
    3-4 MiB, and every MiB more at the stage's peak is fresh pages to fault in."""
    found, line_order = _chosen_rows(requests, allowed, times)  # per line in time order
    hit = np.flatnonzero(found >= 0)
    rows_hit = found[hit].astype("int64")
    order = np.arange(len(rows_hit))
    earliest = np.full(count, len(rows_hit), dtype="int64")
    np.minimum.at(earliest, rows_hit, order)
    first = earliest[rows_hit] == order  # each request: the first line that chose it
    return line_order[hit[first]], rows_hit[first]


def _chosen_rows(
    requests: Requests, allowed: Allowed, times: pd.arrays.DatetimeArray
) -> tuple[np.ndarray, np.ndarray]:
    """The row of the request each line chose (float, -1: none) for the lines in time order, and
    those lines' positions in `allowed`."""
    left, right, line_order, slack = _asof_sides(requests, allowed, times)
    matched = pd.merge_asof(right, left, on="t", by="key", direction="backward", tolerance=slack)
    return matched["row"].to_numpy(dtype="float64", na_value=-1.0), line_order


def _asof_sides(
    requests: Requests, allowed: Allowed, times: pd.arrays.DatetimeArray
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, int | pd.Timedelta]:
    """merge_asof's two sides, each in time order: the requests (time, key, row) and the lines
    (time, key) with those lines' positions in `allowed`, and the slack. A line for a URL no
    request has is left out: it matches nothing."""
    rows = requests.rows
    left_url, right_url = url_keys(requests, allowed.urls)
    event_url = right_url[allowed.url]
    request_clock = ticks(times, times.unit)[rows]  # the requests' times read at their rows, not taken
    by_time = _time_order(request_clock)
    # the lines in time order (equal times as the sort of them all puts them)
    line_order = _time_order(ticks(allowed.ts, allowed.ts.unit))
    line_order = line_order[event_url[line_order] >= 0]
    # keyed as they are, then each key taken in time order once (not each of its parts)
    left_key, right_key = joint_keys(
        *_node_parts(Column(requests.node.codes[rows], requests.node.values), allowed.node),
        (requests.pid[rows], allowed.pid),
        (left_url, event_url),
    )
    (request_t, event_t), slack = _instants(times, rows, request_clock, allowed.ts)
    left = pd.DataFrame({"t": request_t[by_time], "key": left_key[by_time], "row": rows[by_time]}, copy=False)
    right = pd.DataFrame({"t": event_t[line_order], "key": right_key[line_order]}, copy=False)
    return left, right, line_order, slack


def _node_parts(requests: Column, lines: Column) -> list[tuple[np.ndarray, np.ndarray]]:
    """The requests' and lines' nodes as codes of one set (a line's missing node matches none), as a
    part of their joint key; no part when all are one node: it tells none apart. A storm's one node
    is seen from the distinct values alone, without a pass over the codes to map them."""
    if (
        len(requests.values) == len(lines.values) == 1
        and requests.values[0] == lines.values[0]
        and int(requests.codes.min(initial=0)) >= 0
        and int(lines.codes.min(initial=0)) >= 0
    ):
        return []
    (left, right), _ = shared(requests, lines)
    nowhere = max(int(left.max(initial=-1)), int(right.max(initial=-1))) + 1
    right = np.where(right >= 0, right, nowhere)
    if len(left) and len(right) and left.min() == left.max() == right.min() == right.max():
        return []
    return [(left, right)]


def _instants(
    times: pd.arrays.DatetimeArray, rows: np.ndarray, clock: np.ndarray, events: pd.arrays.DatetimeArray
) -> tuple[tuple[np.ndarray, np.ndarray] | tuple[pd.arrays.DatetimeArray, ...], int | pd.Timedelta]:
    """Both sides' times as merge_asof compares them (the requests' at `rows`, whose int64 counts of
    their unit `clock` holds), and the slack: int64 counts when both have one type (merge_asof then
    builds no datetime index), else the times as they are."""
    if times.dtype == events.dtype and isinstance(times, pd.arrays.DatetimeArray):
        unit = times.unit
        return (clock, ticks(events, unit)), int(ALLOW_SLACK / pd.Timedelta(1, unit=unit))
    return (times.take(rows), events), ALLOW_SLACK


def _time_order(clock: np.ndarray) -> np.ndarray:
    """Times (int64 counts of one unit, none missing) in order, equal times in log order: a stable
    sort, so which of several requests at one instant an allow-list line matches does not depend on
    how a numpy build's quicksort orders ties (it is not stable, and its tie order is no contract)."""
    return np.argsort(clock, kind="stable")


def _allow_events(events: pd.DataFrame) -> Allowed | None:
    """The request_allowed events with a time, user and URL (None without any): each column read at
    those rows only (a categorical's codes, no events index taken along)."""
    at = np.flatnonzero(is_text(events["kind"], "request_allowed"))
    ts = events["ts"].array.take(at)
    keep = ~np.asarray(pd.isna(ts)) & known_at(events["username"], at) & known_at(events["url"], at)
    if not keep.all():
        at, ts = at[keep], ts[keep]
    if len(at) == 0:
        return None
    pid = ints(pd.Series(events["pid"].array.take(at), copy=False))
    url, urls = arrow_column(events["url"], at=at)
    return Allowed(
        ts=ts,
        node=column(events["node"], at=at),
        pid=np.where(pid[1], pid[0], -1),
        url=url,
        urls=urls,
        user=column(events["username"], at=at),
    )


def url_keys(requests: Requests, urls: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """An int per request and per URL of `urls`, equal exactly when the request's
    `scheme://server:port/path` is that URL (a URL no request has: a number no request has, -1 when
    the URLs are cut)."""
    rows, port = requests.rows, requests.port
    port_codes, port_values = _port_codes(port[0][rows])
    spans = [len(requests.scheme.values), len(requests.server.values), len(port_values)]
    parts = [requests.scheme.codes[rows], requests.server.codes[rows], port_codes.astype("int64")]
    if float(np.prod(np.array(spans, dtype="float64"))) >= 2.0**62:
        return _whole_url_keys(requests, urls)
    combo, distinct = dense_codes(_mixed(parts, spans))
    at_scheme, at_server, at_port = _split(distinct, spans)
    schemes, servers = _texts(requests.scheme.values, at_scheme), _texts(requests.server.values, at_server)
    used = np.flatnonzero(np.bincount(requests.path.codes[rows], minlength=len(requests.path.values)))
    paths = pa.array(requests.path.values[used], pa.string())  # only the paths these requests have
    if not _cut_exactly(schemes, servers, paths):
        return _whole_url_keys(requests, urls)
    ports = pc.cast(pa.array(port_values[at_port], pa.int64()), pa.string())
    prefixes = pc.binary_join_element_wise(
        schemes, pa.scalar("://"), servers, pa.scalar(":"), ports, pa.scalar("")
    )
    pieces, cut = _cut(urls)
    # one look-up for both pieces: a prefix has "://" before any '/', a path starts with '/' or is empty
    found = _index_in(pieces, pa.concat_arrays([prefixes, paths.cast(prefixes.type)]))
    prefix, at_path = found[0::2].astype("int64"), found[1::2] - len(prefixes)
    span = len(requests.path.values)
    matched = cut & (prefix >= 0) & (prefix < len(prefixes)) & (at_path >= 0)
    right = np.where(matched, prefix * span + used[at_path.clip(min=0)], -1)
    left = combo.astype("int64", copy=False)  # the codes are new: mixed with the path in place
    left *= span
    left += requests.path.codes[rows]
    return left, right


def _port_codes(ports: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each port's code into the distinct ports (TCP ports by a table, others by factorize)."""
    return dense_codes(ports, limit=2**16)


def _cut_exactly(schemes: pa.Array, servers: pa.Array, paths: pa.Array) -> bool:
    """Whether cutting a URL at the first '/' after its "://" gives back its request's prefix and path."""
    no_slash = not (
        pc.any(pc.match_substring(schemes, "/")).as_py() or pc.any(pc.match_substring(servers, "/")).as_py()
    )
    rooted = pc.all(pc.or_(pc.starts_with(paths, "/"), pc.equal(pc.utf8_length(paths), 0))).as_py()
    return no_slash and rooted is not False


def _cut(urls: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Each URL cut at the first '/' after its first "://" (at its end when none follows): the
    pieces as one array, prefix then path for each URL, over the URLs' own bytes (a null URL: two
    null pieces); and which URLs have a "://". A URL `scheme://server:port/path` whose scheme and
    server have no '/' cuts into exactly those two pieces, and any URL whose pieces are such a
    prefix and path is that URL. The pieces have 32-bit offsets whenever the text allows (it is a
    few tens of MiB): half the fresh memory of a large_string's."""
    if isinstance(urls, pa.ChunkedArray):
        urls = urls.combine_chunks()
    if urls.type not in (pa.string(), pa.large_string()):
        urls = urls.cast(pa.string())
    _, offsets_buffer, data_buffer = urls.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if urls.type == pa.large_string() else np.int32)
    offsets = offsets[urls.offset : urls.offset + len(urls) + 1]
    small = len(offsets) == 0 or int(offsets[-1]) < 2**31
    kind, width = (pa.StringArray, np.int32) if small else (pa.LargeStringArray, np.int64)
    scheme_end = _found(pc.find_substring(urls, "://"))
    has_scheme = scheme_end >= 0
    ends = np.empty(2 * len(urls) + 1, dtype=width)
    ends[0::2] = offsets
    ends[1::2] = offsets[:-1]
    ends[1::2] += np.where(has_scheme, scheme_end + 3, 0)  # each URL: scheme, then the rest
    valid = urls.is_valid().to_numpy(zero_copy_only=False)
    rest = np.zeros(2 * len(urls), dtype=bool)
    rest[1::2] = valid  # only each URL's rest is searched
    after_scheme = kind.from_buffers(2 * len(urls), pa.py_buffer(ends), data_buffer, validity_bitmap(rest))
    slash = _found(pc.find_substring(after_scheme, "/"))[1::2]  # '/' is never a byte of a longer character
    ends[1::2] = np.where(has_scheme & (slash >= 0), ends[1::2] + slash, offsets[1:])
    pieces = None if valid.all() else validity_bitmap(np.repeat(valid, 2))
    return kind.from_buffers(2 * len(urls), pa.py_buffer(ends), data_buffer, pieces), has_scheme


def _found(positions: pa.Array) -> np.ndarray:
    """find_substring's positions (-1: not found; a null URL: -1 too)."""
    return positions.fill_null(-1).to_numpy(zero_copy_only=False)


def _index_in(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Each value's position in `value_set` (distinct texts), -1 where absent."""
    found = pc.fill_null(pc.index_in(values, value_set=value_set.cast(values.type)), -1)
    return found.to_numpy(zero_copy_only=False)  # int32


def _whole_url_keys(requests: Requests, urls: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """`url_keys` by building each request's URL text whole: the code in `urls` (len(urls): none)."""
    target = _target_urls(requests.rows, requests.scheme, requests.server, requests.port, requests.path, urls)
    return target, np.arange(len(urls), dtype="int64")


def _target_urls(
    rows: np.ndarray,
    scheme: Column,
    server: Column,
    port: tuple[np.ndarray, np.ndarray],
    path: Column,
    urls: pa.Array,
) -> np.ndarray:
    """Per request of `rows`, the code in `urls` of `scheme://server:port/path` (len(urls): none);
    each distinct URL is built once, by pyarrow."""
    port_codes, port_values = pd.factorize(port[0][rows])
    parts = [scheme.codes[rows], server.codes[rows], port_codes.astype("int64"), path.codes[rows]]
    spans = [len(scheme.values), len(server.values), len(port_values), len(path.values)]
    if float(np.prod(np.array(spans, dtype="float64"))) < 2.0**62:  # one int per URL, split back
        codes, distinct = pd.factorize(_mixed(parts, spans))
        at_scheme, at_server, at_port, at_path = _split(np.asarray(distinct, dtype="int64"), spans)
    else:
        combo = pair_codes(pair_codes(pair_codes(parts[0], parts[1]), parts[2]), parts[3])
        codes = pd.factorize(combo)[0]
        first = np.unique(codes, return_index=True)[1]
        at_scheme, at_server, at_port, at_path = (part[first] for part in parts)
    pieces = [
        _texts(scheme.values, at_scheme),
        pa.scalar("://"),
        _texts(server.values, at_server),
        pa.scalar(":"),
        pc.cast(pa.array(port_values[at_port], pa.int64()), pa.string()),
        _texts(path.values, at_path),
        pa.scalar(""),
    ]
    texts = pc.binary_join_element_wise(*pieces)
    found = pc.fill_null(pc.index_in(texts, value_set=urls), len(urls))
    return found.to_numpy(zero_copy_only=False).astype("int64")[codes]


def _mixed(parts: list[np.ndarray], spans: list[int]) -> np.ndarray:
    """Non-negative codes, each below its span, as one int (the spans' product fits an int64)."""
    key = np.zeros(len(parts[0]), dtype="int64")
    for part, span in zip(parts, spans, strict=True):
        key *= span  # in place: a million requests' keys without a temporary per part
        key += part
    return key


def _split(keys: np.ndarray, spans: list[int]) -> list[np.ndarray]:
    """The codes `_mixed` mixed into `keys`."""
    parts = []
    for span in reversed(spans):
        keys, part = np.divmod(keys, span)
        parts.append(part)
    return parts[::-1]


def _texts(values: np.ndarray, codes: np.ndarray) -> pa.Array:
    return pc.take(pa.array(values, pa.string()), pa.array(codes))
