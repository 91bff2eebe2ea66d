"""The frames and node facts a signature reads: the base every other part of the stage imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from logscope.correlate import Correlation
from logscope.event_texts import EventTexts
from logscope.frames import Frames, bundle_time, describe_nodes
from logscope.nodes import NodeSummary
from logscope.parse import ParseResult
from logscope.signatures.matching import map_distinct
from logscope.traversal import empty_tls_events, tls_events_frame, write_back_roles

STEP_ROLES = {"receive_request": "request", "sending_request": "upstream", "sending_response": "response"}
STEP_COLUMNS = ("node", "pid", "txn_id", "kind", "ts", "source", "line", "offset", "length", "raw")


@dataclass
class Context:
    """What the signatures read: the parsed events, the correlated frames, the nodes and the sources."""

    events: pd.DataFrame
    transactions: pd.DataFrame
    tls_failures: pd.DataFrame
    nodes: list[NodeSummary] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    # the second-wave frames (logscope.frames): one row per certificate, setting, status item, alarm
    certificates: pd.DataFrame | None = None
    config: pd.DataFrame | None = None
    status: pd.DataFrame | None = None
    alarms: pd.DataFrame | None = None
    bundle_time: pd.Timestamp | None = None  # the log's last line, else xstat's time: never the clock
    # lines about a certificate/TLS failure no rule read (design.md layer (a)): {file, line, text, family}
    unrecognised_tls_lines: list[dict] = field(default_factory=list)
    # sources the bundle holds only as XML dumps, which are not read: absent to the checks
    xml_only: set[str] = field(default_factory=set)
    # tvcs traversal and SIP TLS lines, both sides paired (logscope.traversal, issue 15)
    tls_events: pd.DataFrame = field(default_factory=empty_tls_events)
    # reads the text of events whose `raw` is null (left in the log by the scanner)
    texts: EventTexts = field(default_factory=EventTexts)

    def available(self) -> set[str]:
        """Bundle sources plus what the log itself shows (traffic_server lines, transactions)."""
        return (set(self.sources) - self.xml_only) | self._log_sources

    @cached_property
    def _log_sources(self) -> set[str]:
        """What the log shows, looked for once (every signature asks)."""
        present = set()
        if not self.events.empty and (self.events["process"] == "traffic_server").any():
            present.add("traffic_server")
        if not self.transactions.empty:
            present.add("transactions")
        if "transactions" in present or (
            not self.events.empty and (self.events["kind"] == "connect_attempt_failed").any()
        ):
            present.add("requests")
        return present

    def frame(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @cached_property
    def _step_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions in `events` of the request, upstream and response lines, sorted by Txn-id (file
        order within one), and their Txn-ids: found once, by whole-column operations, for all findings."""
        events = self.events
        if events.empty:
            return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
        steps = events["txn_id"].notna().to_numpy(dtype=bool) & map_distinct(
            events["kind"], lambda kind: kind in STEP_ROLES, missing=False
        ).astype(bool)
        positions = np.flatnonzero(steps)
        txn = events["txn_id"]
        txn = txn if pd.api.types.is_integer_dtype(txn.dtype) else pd.to_numeric(txn)
        txn_ids = txn.to_numpy(dtype="int64", na_value=-1)[positions]
        order = np.argsort(txn_ids, kind="stable")
        return positions[order], txn_ids[order]

    def transaction_steps(self, keys: Sequence[tuple[str, Any, Any]]) -> list[list[dict[str, Any]]]:
        """For each (node, pid, txn_id): the request, upstream and response lines of that transaction
        (evidence for a finding) in file order, as records. Only these rows are read, `raw`
        included, in one take for all the keys (a take from the events costs the same for 3 rows as
        for 300)."""
        positions, txn_ids = self._step_index
        spans = [np.searchsorted(txn_ids, [int(txn_id), int(txn_id) + 1]) for _, _, txn_id in keys]
        taken = [positions[low:high] for low, high in spans]
        columns = [self.events.columns.get_loc(column) for column in STEP_COLUMNS]
        wanted = np.concatenate(taken) if taken else np.empty(0, dtype="int64")
        rows = self.events.iloc[wanted, columns]
        owner = np.repeat(np.arange(len(keys)), [len(positions) for positions in taken])
        mine = [  # a Txn-id is reused by other pids (restarts) and nodes: only the key's own lines
            _same(node, keys[key][0], str) and _same(pid, keys[key][1])
            for node, pid, key in zip(
                rows["node"].tolist(), rows["pid"].tolist(), owner.tolist(), strict=True
            )
        ]
        steps: list[list[dict[str, Any]]] = [[] for _ in keys]
        for key, record in zip(owner[mine].tolist(), records(rows, np.flatnonzero(mine)), strict=True):
            steps[key].append(record)
        return steps

    @cached_property
    def ssl_errors(self) -> pd.DataFrame:
        failures = self.tls_failures
        return failures if failures.empty else failures[failures["kind"] == "ssl_connect_failed"]


def _same(value: Any, wanted: Any, as_key: Any = None) -> bool:
    """Whether a row's value is the wanted one: a missing value never is (not even a missing one)."""
    if value is None or pd.isna(value):
        return False
    return (as_key(value) if as_key else value) == wanted


def records(frame: pd.DataFrame, positions: Any) -> list[dict[str, Any]]:
    """The rows at `positions` as dicts, the values `to_dict("records")` gives (a category's value,
    Int64's int, a Timestamp), a missing one as NaN, NA or NaT (every reader asks pd.isna), read
    column by column: only the categories the rows use become values, where `to_dict` takes every
    column's categories row by row."""
    positions = np.asarray(positions, dtype="int64")
    columns: dict[str, list] = {}
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes = series.cat.codes.to_numpy()[positions]
            used = np.unique(codes[codes >= 0])
            values = dict(zip(used.tolist(), series.cat.categories.take(used).tolist(), strict=True))
            columns[name] = [values[code] if code >= 0 else np.nan for code in codes.tolist()]
        else:
            columns[name] = series.iloc[positions].tolist()
    if not columns:
        return [{} for _ in positions]
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def row_positions(keys: Any) -> dict[Any, np.ndarray]:
    """Row positions per key (one array, or a list of arrays for a tuple key), in order of first
    appearance, found in one pass: a boolean mask per key would be quadratic."""
    size = len(keys[0]) if isinstance(keys, list) else len(keys)
    return pd.Series(range(size)).groupby(keys, sort=False).indices


def bundle_context(
    *,
    parsed: ParseResult,
    correlation: Correlation,
    nodes: list[NodeSummary],
    frames: Frames,
    sources: set[str],
    xml_only: set[str],
) -> Context:
    """The Context of an analysis of bundles, from the stages before the signatures. The nodes get
    their own files' facts (certificate, trust store, zones...) as of the bundle's time, and the
    role their traversal lines show when their files say none: the pipeline and the signature
    examples that hold files both build it here, so an example is read as a real bundle is."""
    last_line = parsed.events["ts"].dropna().max() if not parsed.events.empty else None
    now = bundle_time(last_line, frames.status)
    describe_nodes(nodes, frames, now)
    tls_events = tls_events_frame(parsed.tls_records, frames.config)
    write_back_roles(nodes, tls_events, frames.config)
    return Context(
        events=parsed.events,
        transactions=correlation.transactions,
        tls_failures=correlation.tls_failures,
        nodes=nodes,
        sources=sources | ({"tvcs"} if parsed.tvcs_seen else set()),
        certificates=frames.certificates,
        config=frames.config,
        status=frames.status,
        alarms=frames.alarms,
        bundle_time=now,
        unrecognised_tls_lines=parsed.unrecognised,
        xml_only=xml_only,
        tls_events=tls_events,
        texts=parsed.texts,
    )
