"""Matched rows per server, and the log lines shown as evidence for a finding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from logscope.correlate import LINK_SLACK
from logscope.findings import Evidence, Server
from logscope.signatures.context import STEP_ROLES, Context, records, row_positions
from logscope.signatures.matching import map_distinct, map_distinct_rows

MAX_EVIDENCE_PER_SERVER = 6
EVIDENCE_COLUMNS = ("node", "ts", "source", "line", "offset", "length", "raw")  # what a quote reads
WARNING_KINDS = ("tls_verify_failed", "sni_not_in_cert")


def time_column(frame: str) -> str:
    return "ts" if frame in ("tls_failures", "tls_events") else "start"


def server_identity(rows: pd.DataFrame, frame: str) -> tuple[pd.Series, pd.Series]:
    """(name, ip) per row: how the logs name the server a row concerns."""
    if frame in ("tls_failures", "tls_events"):  # tls_events: the peer (logscope.traversal)
        ip = _first_present(rows, ["server_ip", "upstream_ip"])
        name = _first_present(rows, ["server_name", "sni", "server_ip"])
    else:
        ip = _first_present(rows, ["upstream_ip"])
        name = _first_present(rows, ["route_host", "upstream_name", "upstream_ip"])
    return name.fillna("(unnamed)"), ip


def _first_present(rows: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row, the value of the first of `columns` that has one (NA when none has)."""
    result = np.full(len(rows), pd.NA, dtype=object)
    missing = np.ones(len(rows), dtype=bool)
    for column in columns:
        if column in rows and missing.any():
            fill = missing & rows[column].notna().to_numpy(dtype=bool)
            result[fill] = rows[column].iloc[np.flatnonzero(fill)].to_numpy(dtype=object)
            missing &= ~fill
    if any(column in rows for column in columns):
        result[missing] = np.nan  # what a column's missing value reads as in an object column
    return pd.Series(result, index=rows.index, dtype="object")


# The columns grouping and evidence read. Grouping is done with whole-column operations and the
# evidence rows are read in one pass: a hostile log can name thousands of servers, and a per-server
# slice of a frame costs about a millisecond.
SERVER_COLUMNS = (
    "node", "pid", "txn_id", "kind", "ts", "start", "source", "line", "offset", "length", "raw",
    "server_name", "server_ip", "sni", "name_check", "verify_error", "ssl_reason", "depth",
    "upstream_ip", "upstream_name", "port", "upstream_port",
    "route_domain", "route_scheme", "route_host", "route_port",
)  # fmt: skip


def _narrow(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[[column for column in SERVER_COLUMNS if column in rows]].reset_index(drop=True)


def servers_and_evidence(
    rows: pd.DataFrame, frame: str, context: Context
) -> tuple[list[Server], list[Evidence]]:
    """group_servers and collect_evidence of one finding's rows, narrowed and named once."""
    rows = _narrow(rows)
    if rows.empty:
        return [], []
    name, ip = server_identity(rows, frame)
    return _group(rows, frame, name, ip), _evidence(rows, frame, name, context)


def group_servers(rows: pd.DataFrame, frame: str) -> list[Server]:
    rows = _narrow(rows)
    if rows.empty:
        return []
    return _group(rows, frame, *server_identity(rows, frame))


def _group(rows: pd.DataFrame, frame: str, name: pd.Series, ip: pd.Series) -> list[Server]:
    """One Server per name: counts and times by name code, each column's distinct values per name
    from integer codes (a few per server, however many rows)."""
    names, uniques = pd.factorize(map_distinct(name, str))
    name_values = uniques.tolist()
    times = rows[time_column(frame)].groupby(names, sort=False)
    first, last = times.min(), times.max()
    counts = np.bincount(names, minlength=len(name_values))
    port = pd.to_numeric(_first_present(rows, ["port", "upstream_port", "route_port"])).astype("Int64")
    columns = {
        "ip": map_distinct(ip, str),
        "port": port,
        "node": map_distinct(rows["node"], str),
        "route": _route_texts(rows),
        "detail": _detail_texts(rows, frame),
    }
    values = {column: _distinct_per_name(names, name_values, data) for column, data in columns.items()}
    servers = [
        Server(
            name=key,
            ip=", ".join(values["ip"].get(key, [])) or None,
            ports=sorted(int(port) for port in values["port"].get(key, [])),
            count=int(counts[code]),
            first_seen=None if pd.isna(first[code]) else first[code].to_pydatetime(),
            last_seen=None if pd.isna(last[code]) else last[code].to_pydatetime(),
            route=next(iter(values["route"].get(key, [])), None),
            nodes=sorted(values["node"].get(key, [])),
            detail="; ".join(values["detail"].get(key, [])[:3]) or None,
        )
        for code, key in enumerate(name_values)
    ]
    return sorted(servers, key=lambda s: (-s.count, s.name))


def _distinct_per_name(names: np.ndarray, name_values: list[str], column: Any) -> dict[str, list]:
    """The distinct values of a column (aligned with the name codes `names`) per server name, in
    order of first appearance; missing values are skipped."""
    values, uniques = pd.factorize(column)
    present = np.flatnonzero(values >= 0)
    pairs = names[present].astype("int64") * (len(uniques) + 1) + values[present]
    _, first = np.unique(pairs, return_index=True)
    value_values = uniques.tolist()  # not one scalar at a time
    distinct: dict[str, list] = {}
    for position in present[np.sort(first)].tolist():
        distinct.setdefault(name_values[names[position]], []).append(value_values[values[position]])
    return distinct


ROUTE_COLUMNS = ["route_domain", "route_scheme", "route_host", "route_port"]
DETAIL_COLUMNS = ["verify_error", "ssl_reason", "name_check", "sni", "kind", "depth"]


def _route_texts(rows: pd.DataFrame) -> np.ndarray:
    """domain/scheme/host/port of each row's decoded route; NA where the row has no route (made
    once per distinct route)."""
    if "route_host" not in rows:
        return np.full(len(rows), None, dtype=object)
    return map_distinct_rows(rows, ROUTE_COLUMNS, _route_text)


def _route_text(domain: Any, scheme: Any, host: Any, port: Any) -> str | None:
    if _missing(host):
        return None
    return "/".join("" if _missing(part) else str(part) for part in (domain, scheme, host, port))


def _detail_texts(rows: pd.DataFrame, frame: str) -> np.ndarray:
    """What each failure says went wrong: the verify error, the SSL reason, or the name check (made
    once per distinct combination)."""
    if frame != "tls_failures":
        return np.full(len(rows), None, dtype=object)
    return map_distinct_rows(rows, DETAIL_COLUMNS, _detail_text)


def _detail_text(verify: Any, reason: Any, name_check: Any, sni: Any, kind: Any, depth: Any) -> str | None:
    text = str(verify) if not _missing(verify) else (str(reason) if not _missing(reason) else None)
    if text is None and (_missing(kind) or str(kind) == "sni_not_in_cert"):
        check = "SNI" if _missing(name_check) else str(name_check)
        text = f"{check} ({'' if _missing(sni) else str(sni)}) not in certificate"
    return text if text is None or _missing(depth) else f"{text} (depth={depth})"


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def collect_evidence(rows: pd.DataFrame, frame: str, context: Context) -> list[Evidence]:
    """Per server, most recent first: the warning, its error, then the transaction it broke."""
    rows = _narrow(rows)
    if rows.empty:
        return []
    return _evidence(rows, frame, server_identity(rows, frame)[0], context)


def _evidence(rows: pd.DataFrame, frame: str, name: pd.Series, context: Context) -> list[Evidence]:
    times = rows[time_column(frame)].array.asi8  # NaT is the smallest: last when newest first
    newest_first = [
        where[np.argsort(-times[where], kind="stable")][: MAX_EVIDENCE_PER_SERVER + 1]
        for where in row_positions(name.to_numpy(dtype=object)).values()
    ]
    wanted = np.unique(np.concatenate(newest_first))
    by_position = dict(zip(wanted.tolist(), records(rows, wanted), strict=True))
    evidence: list[Evidence] = []
    paired = _PairedErrors(context.ssl_errors) if frame == "tls_failures" else None
    per_server = [[by_position[position] for position in positions.tolist()] for positions in newest_first]
    transactions = _transaction_evidence([server_rows[0] for server_rows in per_server], context)
    for server_rows, steps in zip(per_server, transactions, strict=True):
        latest = server_rows[0]
        picked: list[Evidence] = []
        if paired is not None:
            role = "warning" if latest["kind"] in WARNING_KINDS else "error"
            picked.append(_evidence_from(latest, role, context))
            error = paired.of(latest)
            if error is not None:
                picked.append(_evidence_from(error, "error", context))
        if not steps and frame != "tls_failures" and context.texts.has_text(latest):
            steps = [_evidence_from(latest, "log", context)]
        picked += steps
        for row in server_rows[1:]:
            if len(picked) >= MAX_EVIDENCE_PER_SERVER:
                break
            if context.texts.has_text(row):
                picked.append(_evidence_from(row, "log", context))
        evidence += _unique_evidence(picked)
    return evidence


def _evidence_from(row: Mapping[str, Any], role: str, context: Context) -> Evidence:
    """One line as evidence; its text from `raw` or, left in the log, read from there."""
    ts = row.get("ts")
    return Evidence(
        source=str(row.get("source")),
        line=int(row["line"]) if pd.notna(row.get("line")) else None,
        text=context.texts.text_of(row),
        node=str(row.get("node")) if pd.notna(row.get("node")) else None,
        ts=ts.to_pydatetime() if pd.notna(ts) else None,
        role=role,
    )


class _PairedErrors:
    """The `SSL connection failed` error written beside a certificate warning, if any: the same
    node, a server named like the warning's, within LINK_SLACK, and the same pid when the warning
    has one. The error lines' columns are read once per finding, not once per server."""

    def __init__(self, errors: pd.DataFrame) -> None:
        self.errors = errors
        if errors.empty:
            return
        self.nodes = errors["node"].to_numpy(dtype=object)
        self.name_codes, names = pd.factorize(errors["server_name"])
        self.names = names.tolist()
        self.times = errors["ts"].array.asi8
        self.timed = errors["ts"].notna().to_numpy(dtype=bool)
        self.pids = errors.get("pid")

    def of(self, warning: Mapping[str, Any]) -> dict[str, Any] | None:
        if warning["kind"] not in WARNING_KINDS or self.errors.empty or pd.isna(warning["ts"]):
            return None
        names = (warning.get(column) for column in ("server_name", "server_ip", "sni"))
        wanted = {str(name) for name in names if pd.notna(name)}
        named = np.append([str(name) in wanted for name in self.names], False)[self.name_codes]
        near = self.timed & (np.abs(self.times - pd.Timestamp(warning["ts"]).value) <= LINK_SLACK.value)
        mask = (self.nodes == warning["node"]) & named & near
        if self.pids is not None and pd.notna(warning.get("pid")):
            mask &= (self.pids == warning["pid"]).fillna(False).to_numpy(dtype=bool)
        found = np.flatnonzero(mask)
        if found.size == 0:
            return None
        return records(
            self.errors[[column for column in EVIDENCE_COLUMNS if column in self.errors]], found[:1]
        )[0]


def _transaction_evidence(rows: list[dict[str, Any]], context: Context) -> list[list[Evidence]]:
    """Per row: the last request, upstream and response line of the transaction it belongs to."""
    keyed = [pd.notna(row.get("txn_id")) and pd.notna(row.get("pid")) for row in rows]
    keys = [(str(row["node"]), row["pid"], row["txn_id"]) for row, k in zip(rows, keyed, strict=True) if k]
    found = iter(context.transaction_steps(keys))
    evidence = []
    for key in keyed:
        last = {step["kind"]: step for step in next(found)} if key else {}  # file order: last wins
        evidence.append(
            [_evidence_from(last[kind], role, context) for kind, role in STEP_ROLES.items() if kind in last]
        )
    return evidence


def _unique_evidence(items: list[Evidence]) -> list[Evidence]:
    seen = set()
    unique = []
    for item in items:
        key = (item.source, item.line)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
