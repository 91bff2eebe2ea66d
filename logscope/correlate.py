"""Correlate stage: events -> `transactions` and the TLS failures tied to the transactions they broke.

A proxied request is one traffic_server transaction: Receive Request -> Sending Request (one per
attempt) -> Receive Response -> Sending Response, numbered by Txn-id inside one process. Txn-ids
restart with the process, so the key is (node, pid, txn_id).

ATS's certificate warnings carry no Txn-id. A failure is tied to the transaction on the same node and
traffic_server pid whose upstream address or route host is the failing server, whose first Sending
Request came at or before the failure, and which had not finished before it. A failure that ties to
nothing is kept, unlinked. On a plain ATS (diags.log + error.log) the `CONNECT: attempt fail` line of
error.log gives the port and URL of a failure at the same second and address.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from logscope.correlate_columns import (
    kind_mask,
    picked_rows,
    reduced,
    start_order,
    str_category,
    string_category,
    taken,
    transaction_numbers,
    utc_times,
    wanted_codes,
)

TLS_FAILURE_KINDS = ("tls_verify_failed", "sni_not_in_cert", "ssl_connect_failed")
TXN_KEY = ["node", "pid", "txn_id"]
# A warning is written while the connection is attempted; allow for clock granularity at the ends.
LINK_SLACK = pd.Timedelta(seconds=1)
CONNECT_LINE_SLACK = pd.Timedelta(seconds=2)
# A whole-second time (BSD syslog) stands for any instant of that second.
SECOND_NS = 1_000_000_000

TRANSACTION_COLUMNS = (
    "node",
    "pid",
    "txn_id",
    "start",
    "end",
    "method",
    "url",
    "tracking_id",
    "route_domain",
    "route_scheme",
    "route_host",
    "route_port",
    "route_segment",
    "route_error",
    "upstream_ip",
    "upstream_port",
    "upstream_path",
    "attempts",
    "first_attempt",
    "upstream_status",
    "status",
    "reason",
    "source",
    "line",
)


@dataclass
class Correlation:
    transactions: pd.DataFrame
    tls_failures: pd.DataFrame


def correlate(events: pd.DataFrame) -> Correlation:
    """Transactions and failures. Lines with no time are correlated by file order (see file_order)."""
    ordered = file_order(events)
    transactions = build_transactions(ordered)
    failures = link_failures(ordered, transactions)
    if ordered is not events:
        transactions = _times_unknown(transactions, ("start", "end", "first_attempt"))
        failures = _times_unknown(failures, ("ts", "txn_start", "txn_end"))
    return Correlation(transactions, failures)


# An excerpt with no times (log-lines.md section 7) is correlated by file order within (node, pid): each
# timeless line gets a stand-in time of FILE_ORDER_STEP per line from FILE_ORDER_EPOCH, so the time
# windows below become windows of lines (LINK_SLACK: 100 lines). The stand-ins never leave this
# module: every time before KNOWN_TIMES goes back to unknown.
FILE_ORDER_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
FILE_ORDER_STEP = pd.Timedelta(milliseconds=10)
KNOWN_TIMES = pd.Timestamp("1971-01-01", tz="UTC")


def file_order(events: pd.DataFrame) -> pd.DataFrame:
    """The events, with a stand-in time from its line number on each line that has none."""
    timeless = events["ts"].isna()
    if not timeless.any():
        return events
    lines = pd.to_numeric(events["line"], errors="coerce").fillna(0).astype("int64")
    stand_in = FILE_ORDER_EPOCH + lines.to_numpy() * FILE_ORDER_STEP
    return events.assign(ts=events["ts"].where(~timeless, pd.Series(stand_in, index=events.index)))


def _times_unknown(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        if column in frame:
            values = pd.to_datetime(frame[column], utc=True)
            frame[column] = values.where(values >= KNOWN_TIMES)
    return frame


# What each transaction step contributes to its row: event column -> transaction column.
REQUEST_FIELDS = {
    column: column
    for column in (
        "method", "url", "tracking_id", "route_domain", "route_scheme", "route_host", "route_port",
        "route_segment", "route_error", "source", "line",
    )
}  # fmt: skip
UPSTREAM_FIELDS = {"dst_ip": "upstream_ip", "dst_port": "upstream_port", "url": "upstream_path"}
UPSTREAM_RESPONSE_FIELDS = {"status": "upstream_status"}
RESPONSE_FIELDS = {"status": "status", "reason": "reason"}


def build_transactions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per (node, pid, txn_id): client request, decoded route, upstream, attempts, status.

    One pass over integer codes: each step line gets its transaction's number (in order of first
    appearance), each transaction the event position of its first or last line of each kind, and
    each column of the result is one take from the events' column at those positions (already in
    the result's order), never through a merge, a string key or a copy of the step lines.
    """
    has_txn = events["txn_id"].notna().to_numpy()
    if not has_txn.any():
        return _empty_transactions()
    positions = np.flatnonzero(has_txn)
    group, first_rows = transaction_numbers(events, positions)
    count = len(first_rows)
    stamps = events["ts"].to_numpy(dtype="datetime64[ns]").view("int64")[positions]
    starts = reduced(stamps, group, count, np.minimum)
    order = start_order(starts)
    first_at = positions[first_rows[order]]
    picked = {column: (column, first_at) for column in TXN_KEY}  # result column: (events column, rows)
    for kind, fields, last in (
        ("receive_request", REQUEST_FIELDS, False),
        ("sending_request", UPSTREAM_FIELDS, True),
        ("receive_response", UPSTREAM_RESPONSE_FIELDS, True),
        ("sending_response", RESPONSE_FIELDS, True),
    ):
        rows = picked_rows(kind_mask(events["kind"], positions, kind), group, count, last)[order]
        at = np.where(rows >= 0, positions[np.maximum(rows, 0)], -1)
        picked.update({name: (column, at) for column, name in fields.items()})
    frame = {name: taken(events[column], at) for name, (column, at) in picked.items()}
    attempts = kind_mask(events["kind"], positions, "sending_request")
    frame["start"] = utc_times(starts[order])
    frame["end"] = utc_times(reduced(stamps, group, count, np.maximum)[order])
    frame["attempts"] = pd.array(np.bincount(group[attempts], minlength=count)[order], dtype="Int64")
    frame["first_attempt"] = utc_times(reduced(stamps[attempts], group[attempts], count, np.minimum)[order])
    frame["node"] = str_category(frame["node"])
    for column in ("route_host", "upstream_ip", "reason", "method", "source"):
        frame[column] = string_category(frame[column])
    return pd.DataFrame({column: frame[column] for column in TRANSACTION_COLUMNS}, copy=False)


def _empty_transactions() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="object") for column in TRANSACTION_COLUMNS})
    for column in ("start", "end", "first_attempt"):
        frame[column] = pd.Series(dtype="datetime64[ns, UTC]")
    for column in ("pid", "txn_id", "route_port", "upstream_port", "attempts", "line"):
        frame[column] = pd.Series(dtype="Int64")
    for column in ("upstream_status", "status"):
        frame[column] = pd.Series(dtype="Int64")
    return frame


FAILURE_COLUMNS = (
    "ts",
    "node",
    "pid",
    "kind",
    "level",
    "thread",
    "sni",
    "name_check",
    "action",
    "verify_error",
    "depth",
    "server_name",
    "server_ip",
    "ssl_error_code",
    "ssl_reason",
    "source",
    "line",
    "raw",
)
LINK_COLUMNS = (
    "txn_id",
    "txn_url",
    "txn_status",
    "txn_reason",
    "txn_start",
    "txn_end",
    "upstream_ip",
    "upstream_port",
    "route_host",
    "route_port",
    "route_domain",
    "route_scheme",
    "route_segment",
    "connect_url",
)


def link_failures(events: pd.DataFrame, transactions: pd.DataFrame) -> pd.DataFrame:
    """The TLS failure events, each tied to the transaction it broke where one can be found.

    Adds `linked` (bool), the transaction's key and outcome, and `port`: the upstream port, else the
    route port, else the port of a matching error.log CONNECT line.
    """
    wanted = [c for c in (*FAILURE_COLUMNS, "module") if c in events.columns]
    positions = np.flatnonzero(events["kind"].isin(TLS_FAILURE_KINDS).to_numpy())
    candidates = events.iloc[positions, [events.columns.get_loc(c) for c in wanted]]
    failures = name_debug_verdicts(candidates)[list(FAILURE_COLUMNS)].reset_index(drop=True)
    failures["node"] = failures["node"].astype(str)
    failures["address"] = (
        failures["server_ip"].astype("string").fillna(failures["server_name"].astype("string"))
    )
    failures["name"] = failures["server_name"].astype("string").fillna(failures["sni"].astype("string"))
    for column in LINK_COLUMNS:
        failures[column] = pd.NA
    if not failures.empty and not transactions.empty:
        _link_to_transactions(failures, transactions, _whole_second_nodes(failures))
    connects = events[events["kind"] == "connect_attempt_failed"]
    if not failures.empty and not connects.empty:
        _link_to_connect_lines(failures, connects)
    failures["linked"] = failures["txn_id"].notna()
    failures["paired"] = _paired(failures)
    failures["port"] = (
        pd.to_numeric(failures["upstream_port"], errors="coerce")
        .fillna(pd.to_numeric(failures["route_port"], errors="coerce"))
        .astype("Int64")
    )
    for column in ("txn_id", "txn_status", "upstream_port", "route_port"):
        failures[column] = pd.to_numeric(failures[column], errors="coerce").astype("Int64")
    return failures.drop(columns=["address", "name"])


DEBUG_VERDICT_MODULE = "ssl_verify"
# OpenSSL calls that failed, with the `ssl.error.*` debug tags: `SSL connect returned -1, ... (error:..)`
DEBUG_CALL_MODULES = ("ssl.error.connect", "ssl.error.read", "ssl.error.write", "ssl.error.accept")
CALL_RESTATED_WITHIN = 20  # lines: the `(ssl.error) SSL connection failed for` line follows at once


def name_debug_verdicts(rows: pd.DataFrame) -> pd.DataFrame:
    """The verify callback's debug verdicts (`(ssl_verify) verification error:num=..`) named by the
    line after them on the same thread, and the failed OpenSSL calls (`(ssl.error.connect) SSL
    connect returned -1, ... (error:...)`) counted once.

    Neither names a server. The next failure line of the same file, node, pid and thread, in file
    order, says which connection it was about: an `SSL connection failed for '<name>'` gives the
    verdict its server; a `Core server certificate verification failed` warning already tells the
    same failure with its server, so the verdict is dropped (one failure, counted once). A failed
    call restates the failure of the line after it (within CALL_RESTATED_WITHIN lines) and is
    dropped; alone, it stays a failure with no server.
    """
    if "module" not in rows or rows.empty:
        return rows
    module = rows["module"].astype("string")
    verdict = ((rows["kind"] == "tls_verify_failed") & (module == DEBUG_VERDICT_MODULE)).fillna(False)
    call = ((rows["kind"] == "ssl_connect_failed") & module.isin(DEBUG_CALL_MODULES)).fillna(False)
    verdict, call = verdict.astype(bool), call.astype(bool)
    if not (verdict.any() or call.any()):
        return rows
    ordered = rows.assign(
        _verdict=verdict,
        _unnamed=verdict | call,
        _group=rows["source"].astype("string").fillna("")
        + "\0"
        + rows["node"].astype("string").fillna("")
        + "\0"
        + rows["pid"].astype("string").fillna("")
        + "\0"
        + rows["thread"].astype("string").fillna(""),
    ).sort_values(["_group", "line"], kind="stable")
    position = pd.Series(range(len(ordered)), index=ordered.index, dtype="float64")
    after = position.where(~ordered["_unnamed"]).groupby(ordered["_group"], sort=False).bfill()
    nexts = after[ordered["_verdict"] & after.notna()].astype("int64")
    following = ordered.iloc[nexts.to_numpy()]
    repeated = following["kind"].to_numpy() == "tls_verify_failed"
    named = following["kind"].to_numpy() == "ssl_connect_failed"
    calls = after[ordered["_unnamed"] & ~ordered["_verdict"] & after.notna()].astype("int64")
    lines = pd.to_numeric(ordered["line"], errors="coerce")
    gap = lines.iloc[calls.to_numpy()].to_numpy() - lines.loc[calls.index].to_numpy()
    restated = calls.index[gap <= CALL_RESTATED_WITHIN]
    result = rows.copy()
    if "server_name" in result:
        result["server_name"] = result["server_name"].astype(object)
    result.loc[nexts.index[named], "server_name"] = following["server_name"].to_numpy(dtype=object)[named]
    return result.drop(index=nexts.index[repeated].union(restated))


def _paired(failures: pd.DataFrame) -> pd.Series:
    """Whether a certificate warning has its `SSL connection failed` error beside it, and vice versa.

    Beside means the same node and pid, within a second, with the error naming the warning's
    server (by name, address or SNI). An error with no warning beside it means something else: the
    peer refused us, or the verification detail was not logged.
    """
    paired = pd.Series(False, index=failures.index)
    if failures.empty:
        return paired
    rows = failures[failures["ts"].notna()].assign(
        row=lambda f: f.index, pid_key=lambda f: _pid_key(f["pid"])
    )
    errors = rows[rows["kind"] == "ssl_connect_failed"]
    warnings = rows[rows["kind"] != "ssl_connect_failed"]
    if errors.empty or warnings.empty:
        return paired
    error_keys = _keyed(errors, "server_name")
    for column in ("server_name", "server_ip", "sni"):
        warning_keys = _keyed(warnings, column)
        if warning_keys.empty or error_keys.empty:
            continue
        paired[_rows_with_neighbour(warning_keys, error_keys)] = True
        paired[_rows_with_neighbour(error_keys, warning_keys)] = True
    return paired


def _keyed(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    keyed = rows[["ts", "pid_key", "row"]].assign(
        node=_node_key(rows["node"]), key=rows[column].astype("string")
    )
    return keyed.dropna(subset=["key"]).sort_values("ts")


def _rows_with_neighbour(left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
    """The `row` of each left line that has a right line with the same node, pid and key within
    LINK_SLACK. Asked from both sides, so two warnings near one error cannot leave a second error
    (the retry's) unpaired just because both warnings chose the same nearest error."""
    matched = pd.merge_asof(
        left,
        right[["ts", "node", "pid_key", "key"]].assign(neighbour=True),
        on="ts",
        by=["node", "pid_key", "key"],
        direction="nearest",
        tolerance=LINK_SLACK,
    )
    return matched.loc[matched["neighbour"].eq(True), "row"].to_numpy()


def _server_keys(transactions: pd.DataFrame, wanted: pd.Index) -> pd.DataFrame:
    """One row per (transaction, address it could be known by): upstream IP and route host, as the
    code of that address in `wanted` (the failures' addresses and names); the transactions to any
    other address are left out, found per distinct address, not per row. `txn_row` is the
    transaction's position."""
    by_ip = wanted_codes(transactions["upstream_ip"], wanted)
    by_host = wanted_codes(transactions["route_host"], wanted)
    rows = np.concatenate([np.flatnonzero(by_ip >= 0), np.flatnonzero(by_host >= 0)])
    columns = [*TXN_KEY, "start", "first_attempt", "line"]
    keys = transactions.iloc[rows, [transactions.columns.get_loc(c) for c in columns]].reset_index(drop=True)
    keys = keys.assign(
        node=_node_key(keys["node"]),
        key=np.concatenate([by_ip[by_ip >= 0], by_host[by_host >= 0]]),
        txn_row=rows,
    )
    keys = keys.drop_duplicates([*TXN_KEY, "key"])
    keys["since"] = keys["first_attempt"].fillna(keys["start"])
    return keys


# Transaction columns copied onto a failure tied to it: failure column -> transaction column.
_COPIED_FROM_TRANSACTION = {
    "txn_id": "txn_id",
    "txn_url": "url",
    "txn_status": "status",
    "txn_reason": "reason",
    "txn_start": "start",
    "txn_end": "end",
    "upstream_ip": "upstream_ip",
    "upstream_port": "upstream_port",
    "route_host": "route_host",
    "route_port": "route_port",
    "route_domain": "route_domain",
    "route_scheme": "route_scheme",
    "route_segment": "route_segment",
}


def _whole_second_nodes(events: pd.DataFrame) -> set[str]:
    """Nodes whose certificate warnings and errors have whole-second times (BSD syslog, log-lines.md
    section 7). Only those lines are asked: transaction and tvcs lines take their time from their
    own `UTCTime`, in milliseconds, whatever the envelope; a warning has only the envelope's.
    """
    known = events["ts"].notna().to_numpy()
    if not known.any():
        return set()
    stamps = events["ts"].to_numpy(dtype="datetime64[ns]")[known].view("int64")
    fractional = (stamps % SECOND_NS) != 0
    nodes, names = pd.factorize(_node_key(events["node"]).to_numpy()[known])
    with_fraction = np.bincount(nodes, weights=fractional, minlength=len(names)) > 0
    return {str(name) for name, fraction in zip(names, with_fraction, strict=True) if not fraction}


def _link_to_transactions(
    failures: pd.DataFrame, transactions: pd.DataFrame, whole_seconds: set[str] = frozenset()
) -> None:
    """Tie each failure to the latest transaction to that server that started before it (merge_asof).

    On a node whose times have no fraction (BSD syslog), a failure stamped `:01` may have come at
    any time in that second, after a request stamped `:01.478`: there the order is the second,
    then the line (the transaction's request line before the failure's line). Of transactions to
    one server that made their first attempt at the same instant, the first in the transactions'
    order is taken (a fixed rule: before, an unstable sort chose).
    """
    todo = failures["txn_id"].isna() & failures["ts"].notna()
    names = pd.concat([failures.loc[todo, "address"], failures.loc[todo, "name"]]).dropna().unique()
    wanted = pd.Index(names).astype("string")
    keys = _server_keys(transactions, wanted)
    keys = keys[keys["since"].notna()]
    if keys.empty:
        return
    right = keys.assign(pid=_pid_key(keys["pid"]))
    right = right.assign(order=_order(right["since"], right["line"], right["node"].isin(list(whole_seconds))))
    # merge_asof takes the last of equal orders: reversed, then a stable sort, that is the first one.
    right = right.iloc[::-1].sort_values("order", kind="stable")[["node", "pid", "key", "order", "txn_row"]]
    for key_column in ("address", "name"):
        todo = failures[failures["txn_id"].isna() & failures[key_column].notna()]
        todo = todo[todo["ts"].notna()]
        if todo.empty:
            continue
        left = todo[["ts", "node", "pid", "line", key_column]].rename(columns={key_column: "key"})
        left = left.assign(
            row=left.index,
            node=_node_key(left["node"]),
            pid=_pid_key(left["pid"]),
            key=wanted_codes(left["key"], wanted),
        )
        left["order"] = _order(left["ts"], left["line"], left["node"].isin(list(whole_seconds)))
        matched = pd.merge_asof(
            left.drop(columns=["line"]).sort_values("order"),
            right,
            on="order",
            by=["node", "pid", "key"],
            direction="backward",
        )
        matched = matched[matched["txn_row"].notna()]
        txn_rows = matched["txn_row"].to_numpy(dtype="int64")
        ends = transactions["end"].take(txn_rows).to_numpy()
        in_time = (matched["ts"].to_numpy() <= ends + LINK_SLACK) & ~pd.isna(ends)
        rows, txn_rows = matched["row"].to_numpy()[in_time], txn_rows[in_time]
        for failure_column, txn_column in _COPIED_FROM_TRANSACTION.items():
            values = transactions[txn_column].take(txn_rows).to_numpy(dtype=object)
            failures.loc[rows, failure_column] = values


LINES_PER_SECOND = 10_000_000


def _order(times: pd.Series, lines: pd.Series, whole_second: pd.Series) -> np.ndarray:
    """The time in nanoseconds; on a whole-second node, the second then the line number instead.
    Only rows of one node are ever compared (merge_asof by node), so the two scales never meet."""
    stamps = times.to_numpy(dtype="datetime64[ns]").view("int64")
    numbers = pd.to_numeric(lines, errors="coerce").fillna(0).to_numpy(dtype="int64")
    by_line = (stamps // SECOND_NS) * LINES_PER_SECOND + np.minimum(numbers, LINES_PER_SECOND - 1)
    return np.where(whole_second.to_numpy(dtype=bool), by_line, stamps)


def _node_key(node: pd.Series) -> pd.Series:
    """The node as a join key: lines with no envelope (an excerpt) are all on the one unknown node ""."""
    return node.astype("string").fillna("").astype(object)


def _pid_key(pid: pd.Series) -> pd.Series:
    """The pid as a join key: a line with no pid (an excerpt) is in the unknown process -1."""
    return pd.to_numeric(pid, errors="coerce").astype("Int64").fillna(-1).astype("int64")


def _link_to_connect_lines(failures: pd.DataFrame, connects: pd.DataFrame) -> None:
    """Plain ATS: take port and URL from the error.log line for the same address and second."""
    lines = connects[["ts", "dst_ip", "dst_port", "url"]].dropna(subset=["ts", "dst_ip"])
    lines = lines.assign(key=lines["dst_ip"].astype(str)).sort_values("ts")
    todo = failures[failures["txn_id"].isna() & failures["server_ip"].notna() & failures["ts"].notna()]
    if todo.empty or lines.empty:
        return
    left = todo[["ts", "server_ip"]].assign(key=todo["server_ip"].astype(str), row=todo.index)
    matched = pd.merge_asof(
        left.sort_values("ts"),
        lines.drop(columns=["dst_ip"]),
        on="ts",
        by="key",
        direction="nearest",
        tolerance=CONNECT_LINE_SLACK,
    )
    matched = matched[matched["dst_port"].notna()]
    rows = matched["row"].to_numpy()
    failures.loc[rows, "upstream_ip"] = matched["key"].to_numpy(dtype=object)
    failures.loc[rows, "upstream_port"] = matched["dst_port"].to_numpy(dtype=object)
    failures.loc[rows, "connect_url"] = matched["url"].to_numpy(dtype=object)
