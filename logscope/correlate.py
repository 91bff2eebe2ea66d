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
    kind_codes,
    picked_rows,
    reduced,
    start_order,
    str_category,
    string_category,
    taken,
    transaction_numbers,
    utc_times,
)
from logscope.correlate_link import LINK_SLACK as LINK_SLACK  # the time a tie allows, for evidence
from logscope.correlate_link import (
    link_to_connect_lines,
    link_to_transactions,
    paired,
    whole_second_nodes,
)

TLS_FAILURE_KINDS = ("tls_verify_failed", "sni_not_in_cert", "ssl_connect_failed")
TXN_KEY = ["node", "pid", "txn_id"]

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
    # The step-length arrays live in _transaction_lines only: freed before the columns are taken.
    picked, frame = _transaction_lines(events, np.flatnonzero(has_txn))
    frame.update({name: taken(events[column], at) for name, (column, at) in picked.items()})
    frame["node"] = str_category(frame["node"])
    for column in ("route_host", "upstream_ip", "reason", "method", "source"):
        frame[column] = string_category(frame[column])
    return pd.DataFrame({column: frame[column] for column in TRANSACTION_COLUMNS}, copy=False)


def _transaction_lines(events: pd.DataFrame, positions: np.ndarray) -> tuple[dict, dict]:
    """Per transaction, in the result's order (by start): the event positions each column is taken
    from ({result column: (events column, positions)}, -1 where the transaction has no such line)
    and the columns made over all its lines (start, end, attempts, first_attempt)."""
    group, first_rows = transaction_numbers(events, positions)
    count = len(first_rows)
    stamps = events["ts"].to_numpy(dtype="datetime64[ns]").view("int64")[positions]
    starts = reduced(stamps, group, count, np.minimum)
    order = start_order(starts)
    kinds, code_of = kind_codes(events["kind"], positions)
    first_at = positions[first_rows[order]]
    picked = {column: (column, first_at) for column in TXN_KEY}
    lines = {}  # positions: a boolean mask copies slower
    for kind, fields, last in (
        ("receive_request", REQUEST_FIELDS, False),
        ("sending_request", UPSTREAM_FIELDS, True),
        ("receive_response", UPSTREAM_RESPONSE_FIELDS, True),
        ("sending_response", RESPONSE_FIELDS, True),
    ):
        lines[kind] = np.flatnonzero(kinds == code_of(kind))
        rows = picked_rows(lines[kind], group, count, last)[order]
        at = np.where(rows >= 0, positions[np.maximum(rows, 0)], -1)
        picked.update({name: (column, at) for column, name in fields.items()})
    attempts = lines["sending_request"]
    tried, tried_at = group[attempts], stamps[attempts]
    return picked, {
        "start": utc_times(starts[order]),
        "end": utc_times(reduced(stamps, group, count, np.maximum)[order]),
        "attempts": pd.array(np.bincount(tried, minlength=count)[order], dtype="Int64"),
        "first_attempt": utc_times(reduced(tried_at, tried, count, np.minimum)[order]),
    }


def _empty_transactions() -> pd.DataFrame:
    """A fresh copy of EMPTY_TRANSACTIONS (building it column by column cost ~15 ms a log)."""
    return EMPTY_TRANSACTIONS.copy()


def _new_empty_transactions() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="object") for column in TRANSACTION_COLUMNS})
    for column in ("start", "end", "first_attempt"):
        frame[column] = pd.Series(dtype="datetime64[ns, UTC]")
    for column in ("pid", "txn_id", "route_port", "upstream_port", "attempts", "line"):
        frame[column] = pd.Series(dtype="Int64")
    for column in ("upstream_status", "status"):
        frame[column] = pd.Series(dtype="Int64")
    return frame


EMPTY_TRANSACTIONS = _new_empty_transactions()


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
    "offset",
    "length",
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
    if not len(positions):
        return _no_failures(events, wanted)
    return _linked_failures(events, positions, wanted, transactions)


# No failure: the frame depends only on the dtypes of the events' columns (a categorical's
# categories). Most small logs have none (80 of the 113 signature examples); building it cost
# ~5 ms a log, so it is built once per distinct dtypes and copied.
_NO_FAILURES: dict[tuple, pd.DataFrame] = {}
_NO_FAILURES_KEPT = 64


def _no_failures(events: pd.DataFrame, wanted: list[str]) -> pd.DataFrame:
    columns = [events.columns.get_loc(c) for c in wanted]
    key = (tuple(wanted), tuple(events.dtypes.iloc[columns]))
    frame = _NO_FAILURES.get(key)
    if frame is None:
        frame = _linked_failures(events, np.empty(0, np.int64), wanted, events.iloc[:0])
        if len(_NO_FAILURES) < _NO_FAILURES_KEPT:
            _NO_FAILURES[key] = frame
    return frame.copy()


def _linked_failures(
    events: pd.DataFrame, positions: np.ndarray, wanted: list[str], transactions: pd.DataFrame
) -> pd.DataFrame:
    candidates = events.iloc[positions, [events.columns.get_loc(c) for c in wanted]]
    named = name_debug_verdicts(candidates).reset_index(drop=True)
    unlinked = np.full(len(named), pd.NA, dtype=object)
    failures = pd.DataFrame(  # one frame, not a column inserted at a time (~0.3 ms each)
        {
            **{column: named[column] for column in FAILURE_COLUMNS},
            "node": named["node"].astype(str),
            **{column: pd.Series(unlinked.copy(), dtype=object) for column in LINK_COLUMNS},
        },
        copy=False,  # fresh arrays, and `named`'s columns are copied on write
    )
    if not failures.empty and not transactions.empty:
        link_to_transactions(failures, transactions, whole_second_nodes(failures))
    connects = np.flatnonzero((events["kind"] == "connect_attempt_failed").to_numpy(dtype=bool))
    if not failures.empty and len(connects):
        columns = [events.columns.get_loc(c) for c in ("ts", "dst_ip", "dst_port", "url")]
        link_to_connect_lines(failures, events.iloc[connects, columns])
    failures["linked"] = failures["txn_id"].notna()
    failures["paired"] = paired(failures)
    failures["port"] = (
        pd.to_numeric(failures["upstream_port"], errors="coerce")
        .fillna(pd.to_numeric(failures["route_port"], errors="coerce"))
        .astype("Int64")
    )
    for column in ("txn_id", "txn_status", "upstream_port", "route_port"):
        failures[column] = pd.to_numeric(failures[column], errors="coerce").astype("Int64")
    return failures


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
        # a thread tag as written: `[ET_NET  1]` and `[ET_NET 1]` are one thread
        + rows["thread"].astype("string").fillna("").str.split().str.join(" "),
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
