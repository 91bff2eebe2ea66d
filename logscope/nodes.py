"""What the analysis knows of each Expressway node: read from its bundle, dated by its log.

Built by the pipeline from the bundle's node facts and the parsed events; read by the signatures
(version and role decide what applies) and by the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class NodeSummary:
    host: str
    version: str = "unknown"
    role: str = "unknown"
    sources: dict[str, str] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)  # xConfiguration items; not in the JSON
    first_seen: pd.Timestamp | None = None
    last_seen: pd.Timestamp | None = None
    events: int = 0
    role_source: str = "unknown"  # where role and version came from: xstat | xconf | log | unknown
    certificate: dict[str, Any] | None = None  # this node's server certificate (the leaf), if read
    trust_store: dict[str, Any] | None = None  # its trusted CA list: size, expired, duplicate subjects
    zones: list[dict[str, Any]] = field(default_factory=list)  # xconf zones: type, TLS verify mode, status
    mra_domains: list[str] = field(default_factory=list)  # SIP domains with Edge: On
    alarms: list[dict[str, Any]] = field(default_factory=list)  # xstat alarms not lowered
    # one entry per bundle (archive or folder) this host name came from: {input, version, first_seen,
    # last_seen, events}; two or more mean two machines or two times under one name (a warning)
    bundles: list[dict[str, Any]] = field(default_factory=list)
    # the input (archive or folder) this node came from; with one host name in two bundles, each
    # bundle is its own node (design.md, "Nodes") and `shared_host` is set on both
    input: str = ""
    members: tuple[str, ...] = ()  # its bundle's members (as events' `source` names them); not in the JSON
    shared_host: bool = False

    @property
    def label(self) -> str:
        """How outputs name the node: the host, plus its input's last part when the host name is shared."""
        if not self.shared_host or not self.input:
            return self.host
        return f"{self.host} ({base_name(self.input)})"


def base_name(label: str) -> str:
    """The last part of an input path (headers have no room for folders)."""
    return re.split(r"[\\/]", label.rstrip("/\\"))[-1] or label


def summarize_nodes(node_facts: list, events: pd.DataFrame) -> list[NodeSummary]:
    """One summary per node: facts from the bundle, time range and event count from the log.

    A node seen only in the log gets "unknown" version; a node whose role the bundle does not say is
    taken to be an Expressway-C when its traffic server proxies MRA routes (only the -C does). One
    host name from two bundles gives two nodes, one per bundle, each with its own lines (design.md).
    """
    by_host = {facts.host: facts for facts in node_facts if facts.host != "unknown"}
    nodes: list[NodeSummary] = []
    seen_hosts = [str(h) for h in events["node"].dropna().unique()] if not events.empty else []
    for host in sorted(set(by_host) | set(seen_hosts)):
        facts = by_host.get(host)
        rows = events[events["node"] == host] if host in seen_hosts else events.iloc[0:0]
        if facts and len(facts.bundles) > 1:
            nodes += [_bundle_node(host, label, bundle, rows) for label, bundle in facts.bundles.items()]
            continue
        role = facts.role if facts else "unknown"
        role_source = (facts.role_source if facts else "") or "unknown"
        nodes.append(
            _node(
                host,
                rows,
                version=facts.version if facts else "unknown",
                role=role,
                role_source=role_source,
                sources=dict(facts.sources) if facts else {},
                config=dict(facts.config) if facts else {},
                bundles=_bundles_of(facts, rows) if facts else [],
                input=next(iter(facts.bundles), "") if facts else "",
            )
        )
    return nodes


def _node(host: str, rows: pd.DataFrame, *, role: str, role_source: str, **fields: Any) -> NodeSummary:
    times = rows["ts"].dropna()
    if role == "unknown" and rows["route_segment"].notna().any():
        role, role_source = "Expressway-C", "log"
    return NodeSummary(
        host=host,
        role=role,
        role_source=role_source,
        first_seen=times.min() if not times.empty else None,
        last_seen=times.max() if not times.empty else None,
        events=len(rows),
        **fields,
    )


def _bundle_node(host: str, label: str, bundle: dict[str, Any], rows: pd.DataFrame) -> NodeSummary:
    """The node of one bundle whose host name another bundle also carries: its own lines, dumps, role."""
    own = rows[rows["source"].isin(bundle["members"])] if not rows.empty else rows
    return _node(
        host,
        own,
        version=bundle["version"],
        role=bundle.get("role", "unknown"),
        role_source=bundle.get("role_source") or "unknown",
        sources=dict(bundle.get("sources", {})),
        config=dict(bundle.get("config", {})),
        bundles=[_bundle_entry(label, bundle, own)],
        input=label,
        members=tuple(bundle["members"]),
        shared_host=True,
    )


def _bundles_of(facts: Any, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Each bundle a host name came from, with its version and the time range of its own lines."""
    return [
        _bundle_entry(label, bundle, rows[rows["source"].isin(bundle["members"])] if not rows.empty else rows)
        for label, bundle in facts.bundles.items()
    ]


def _bundle_entry(label: str, bundle: dict[str, Any], own: pd.DataFrame) -> dict[str, Any]:
    times = own["ts"].dropna()
    return {
        "input": label,
        "version": bundle["version"],
        "first_seen": times.min() if not times.empty else None,
        "last_seen": times.max() if not times.empty else None,
        "events": len(own),
    }


def same_host_warnings(nodes: list[NodeSummary]) -> list[str]:
    """design.md, "Nodes": one host name from two bundles may be two machines (or two years)."""
    by_host: dict[str, list[NodeSummary]] = {}
    for node in nodes:
        if node.shared_host:
            by_host.setdefault(node.host, []).append(node)
    warnings = []
    for host, shared in by_host.items():
        parts = "; ".join(
            f"{node.input} ({node.version}, {_span(node.first_seen, node.last_seen)})" for node in shared
        )
        warnings.append(
            f"host name {host} comes from {len(shared)} different bundles: {parts}. "
            "They are shown as separate nodes, each named with its input; if they are different "
            "incidents, analyze them apart (logscope batch)."
        )
    return warnings


def _span(first: Any, last: Any) -> str:
    if first is None or last is None:
        return "no time"
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
