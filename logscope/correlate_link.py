"""Correlate stage, second half: tie each TLS failure to the transaction it broke, to the error.log
CONNECT line of its second, and to the warning or error beside it (correlate.py says what each
tie means).

Issue 14: the failures are few (20k on a 1 GiB login storm), the transactions many (480k). Every
join here runs on integer codes of the failures' server names, looked up once per distinct value
of the transactions' columns, and only the transactions to those servers take part; no column of
strings is built per transaction row, and a transaction's values are converted once even when
several failures share it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from logscope.correlate_columns import TXN_KEY, wanted_codes

# A warning is written while the connection is attempted; allow for clock granularity at the ends.
LINK_SLACK = pd.Timedelta(seconds=1)
CONNECT_LINE_SLACK = pd.Timedelta(seconds=2)
# A whole-second time (BSD syslog) stands for any instant of that second.
SECOND_NS = 1_000_000_000
LINES_PER_SECOND = 10_000_000

# Transaction columns copied onto a failure tied to it: failure column -> transaction column.
COPIED_FROM_TRANSACTION = {
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


def text_values(column: pd.Series) -> np.ndarray:
    """The column as an object array of str, None where missing; a categorical per category."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = column.cat.categories.astype("string").to_numpy(dtype=object, na_value=None)
        return np.append(names, None)[column.cat.codes.to_numpy()]  # code -1 reads the None
    return column.astype("string").to_numpy(dtype=object, na_value=None)


def failure_keys(failures: pd.DataFrame) -> dict[str, np.ndarray]:
    """The names a failure's server goes by: `address` (its IP, else its name) and `name` (its
    name, else the SNI asked for), as object arrays (None where neither is known)."""
    ip, name, sni = (text_values(failures[c]) for c in ("server_ip", "server_name", "sni"))
    return {
        "address": np.where(pd.isna(ip), name, ip),
        "name": np.where(pd.isna(name), sni, name),
    }


def link_to_transactions(
    failures: pd.DataFrame, transactions: pd.DataFrame, whole_seconds: set[str] = frozenset()
) -> None:
    """Tie each failure to the latest transaction to that server that started before it (merge_asof).

    On a node whose times have no fraction (BSD syslog), a failure stamped `:01` may have come at
    any time in that second, after a request stamped `:01.478`: there the order is the second,
    then the line (the transaction's request line before the failure's line). Of transactions to
    one server that made their first attempt at the same instant, the first in the transactions'
    order is taken (a fixed rule: before, an unstable sort chose).
    """
    names = failure_keys(failures)
    todo = (failures["txn_id"].isna() & failures["ts"].notna()).to_numpy()
    wanted = pd.Index(pd.unique(np.concatenate([names["address"][todo], names["name"][todo]])))
    wanted = wanted[wanted.notna()].astype("string")
    keys = _server_keys(transactions, wanted)
    keys = keys[keys["since"].notna()]
    if keys.empty:
        return
    right = keys.assign(pid=pid_key(keys["pid"]))
    right = right.assign(order=_order(right["since"], right["line"], right["node"].isin(list(whole_seconds))))
    # merge_asof takes the last of equal orders: reversed, then a stable sort, that is the first one.
    right = right.iloc[::-1].sort_values("order", kind="stable")[["node", "pid", "key", "order", "txn_row"]]
    linked = np.zeros(len(failures), dtype=bool)
    rows, txn_rows = [], []
    for key_column in ("address", "name"):
        todo = failures[failures["txn_id"].isna().to_numpy() & ~linked & ~pd.isna(names[key_column])]
        todo = todo[todo["ts"].notna()]
        if todo.empty:
            continue
        left = todo[["ts", "node", "pid", "line"]].assign(
            row=todo.index,
            node=node_key(todo["node"]),
            pid=pid_key(todo["pid"]),
            key=wanted.get_indexer(pd.array(names[key_column][todo.index], dtype="string")),
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
        found = matched["txn_row"].to_numpy(dtype="int64")
        ends = transactions["end"].array.take(found).to_numpy(dtype="datetime64[ns]")
        in_time = matched["ts"].to_numpy(dtype="datetime64[ns]") <= ends + LINK_SLACK.to_timedelta64()
        rows.append(matched["row"].to_numpy()[in_time])
        txn_rows.append(found[in_time])
        linked[rows[-1]] = True
    if rows:
        _copy_transactions(failures, np.concatenate(rows), np.concatenate(txn_rows), transactions)


def _copy_transactions(
    failures: pd.DataFrame, rows: np.ndarray, txn_rows: np.ndarray, transactions: pd.DataFrame
) -> None:
    """Copy each tied transaction's columns onto its failures, converting each transaction once."""
    distinct, each = np.unique(txn_rows, return_inverse=True)
    for failure_column, txn_column in COPIED_FROM_TRANSACTION.items():
        column = failures[failure_column].to_numpy(dtype=object, copy=True)
        column[rows] = _objects(transactions[txn_column], distinct)[each]
        # As an object Series: a bare object array of strings would be read as a str column.
        failures[failure_column] = pd.Series(column, index=failures.index, dtype=object)


def _objects(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """`column.take(rows).to_numpy(dtype=object)`; a categorical's values converted once per
    category used (a failure's server, scheme and reason take few)."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column.take(rows).to_numpy(dtype=object)
    used, each = np.unique(column.cat.codes.to_numpy()[rows], return_inverse=True)
    values = pd.Series(pd.Categorical.from_codes(used, dtype=column.dtype)).to_numpy(dtype=object)
    return values[each]


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
        node=node_key(keys["node"]),
        key=np.concatenate([by_ip[by_ip >= 0], by_host[by_host >= 0]]),
        txn_row=rows,
    )
    keys = keys.drop_duplicates([*TXN_KEY, "key"])
    keys["since"] = keys["first_attempt"].fillna(keys["start"])
    return keys


def whole_second_nodes(events: pd.DataFrame) -> set[str]:
    """Nodes whose certificate warnings and errors have whole-second times (BSD syslog, log-lines.md
    section 7). Only those lines are asked: transaction and tvcs lines take their time from their
    own `UTCTime`, in milliseconds, whatever the envelope; a warning has only the envelope's.
    """
    known = events["ts"].notna().to_numpy()
    if not known.any():
        return set()
    stamps = events["ts"].to_numpy(dtype="datetime64[ns]")[known].view("int64")
    fractional = (stamps % SECOND_NS) != 0
    nodes, names = pd.factorize(node_key(events["node"]).to_numpy()[known])
    with_fraction = np.bincount(nodes, weights=fractional, minlength=len(names)) > 0
    return {str(name) for name, fraction in zip(names, with_fraction, strict=True) if not fraction}


def _order(times: pd.Series, lines: pd.Series, whole_second: pd.Series) -> np.ndarray:
    """The time in nanoseconds; on a whole-second node, the second then the line number instead.
    Only rows of one node are ever compared (merge_asof by node), so the two scales never meet."""
    stamps = times.to_numpy(dtype="datetime64[ns]").view("int64")
    numbers = pd.to_numeric(lines, errors="coerce").fillna(0).to_numpy(dtype="int64")
    by_line = (stamps // SECOND_NS) * LINES_PER_SECOND + np.minimum(numbers, LINES_PER_SECOND - 1)
    return np.where(whole_second.to_numpy(dtype=bool), by_line, stamps)


def node_key(node: pd.Series) -> pd.Series:
    """The node as a join key: lines with no envelope (an excerpt) are all on the one unknown node "".
    A categorical is converted once per category."""
    if isinstance(node.dtype, pd.CategoricalDtype):
        names = node.cat.categories.astype("string").to_numpy(dtype=object, na_value="")
        return pd.Series(np.append(names, "")[node.cat.codes.to_numpy()], index=node.index, dtype=object)
    return node.astype("string").fillna("").astype(object)


def pid_key(pid: pd.Series) -> pd.Series:
    """The pid as a join key: a line with no pid (an excerpt) is in the unknown process -1."""
    return pd.to_numeric(pid, errors="coerce").astype("Int64").fillna(-1).astype("int64")


def paired(failures: pd.DataFrame) -> pd.Series:
    """Whether a certificate warning has its `SSL connection failed` error beside it, and vice versa.

    Beside means the same node and pid, within a second, with the error naming the warning's
    server (by name, address or SNI). An error with no warning beside it means something else: the
    peer refused us, or the verification detail was not logged. Asked from both sides, so two
    warnings near one error cannot leave a second error (the retry's) unpaired.
    """
    result = np.zeros(len(failures), dtype=bool)
    known = failures["ts"].notna().to_numpy()
    error = (failures["kind"] == "ssl_connect_failed").to_numpy(dtype=bool, na_value=False) & known
    warning = ~(failures["kind"] == "ssl_connect_failed").to_numpy(dtype=bool, na_value=True) & known
    if not (error.any() and warning.any()):
        return pd.Series(result, index=failures.index)
    texts = {c: text_values(failures[c]) for c in ("server_name", "server_ip", "sni")}
    codes, _ = pd.factorize(np.concatenate(list(texts.values())))  # one code per name, -1 for None
    codes = dict(zip(texts, np.split(codes, len(texts)), strict=True))
    place = pd.factorize(node_key(failures["node"]).to_numpy())[0].astype("int64")
    place = place * (len(failures) + 1) + pd.factorize(pid_key(failures["pid"]).to_numpy())[0]
    stamps = failures["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    errors = np.flatnonzero(error & (codes["server_name"] >= 0))
    for column in ("server_name", "server_ip", "sni"):
        warnings = np.flatnonzero(warning & (codes[column] >= 0))
        if not (len(warnings) and len(errors)):
            continue
        left = (place[warnings], codes[column][warnings], stamps[warnings])
        right = (place[errors], codes["server_name"][errors], stamps[errors])
        result[warnings[has_neighbour(left, right, LINK_SLACK.value)]] = True
        result[errors[has_neighbour(right, left, LINK_SLACK.value)]] = True
    return pd.Series(result, index=failures.index)


def has_neighbour(left: tuple, right: tuple, within: int) -> np.ndarray:
    """For each left (place, key, time), whether a right row has the same place and key and a time
    at most `within` (nanoseconds) away. Times are ranked (a value's rank: its first place among
    all the times sorted), so (group, rank) packs into one int64 and one sorted array answers every
    left row with two binary searches."""
    groups, _ = pd.factorize(
        np.concatenate([left[0], right[0]]) * (int(max(left[1].max(), right[1].max())) + 1)
        + np.concatenate([left[1], right[1]])
    )
    left_group, right_group = groups[: len(left[0])], groups[len(left[0]) :]
    times = np.sort(np.concatenate([right[2], left[2] - within, left[2] + within]))
    span = len(times) + 1
    packed = np.sort(right_group * span + np.searchsorted(times, right[2]))
    low = np.searchsorted(packed, left_group * span + np.searchsorted(times, left[2] - within), "left")
    high = np.searchsorted(packed, left_group * span + np.searchsorted(times, left[2] + within), "right")
    return high > low


def link_to_connect_lines(failures: pd.DataFrame, connects: pd.DataFrame) -> None:
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
