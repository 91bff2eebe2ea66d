"""What the analysis knows of each Expressway node: read from its bundle, dated by its log.

Built by the pipeline from the bundle's node facts and the parsed events; read by the signatures
(version and role decide what applies) and by the report.
"""

from __future__ import annotations

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


def summarize_nodes(node_facts: list, events: pd.DataFrame) -> list[NodeSummary]:
    """One summary per node: facts from the bundle, time range and event count from the log.

    A node seen only in the log gets "unknown" version; a node whose role the bundle does not say is
    taken to be an Expressway-C when its traffic server proxies MRA routes (only the -C does).
    """
    by_host = {facts.host: facts for facts in node_facts if facts.host != "unknown"}
    nodes: list[NodeSummary] = []
    seen_hosts = [str(h) for h in events["node"].dropna().unique()] if not events.empty else []
    for host in sorted(set(by_host) | set(seen_hosts)):
        facts = by_host.get(host)
        rows = events[events["node"] == host] if host in seen_hosts else events.iloc[0:0]
        times = rows["ts"].dropna()
        role = facts.role if facts else "unknown"
        role_source = (facts.role_source if facts else "") or "unknown"
        if role == "unknown" and rows["route_segment"].notna().any():
            role, role_source = "Expressway-C", "log"
        nodes.append(
            NodeSummary(
                host=host,
                version=facts.version if facts else "unknown",
                role=role,
                sources=dict(facts.sources) if facts else {},
                config=dict(facts.config) if facts else {},
                first_seen=times.min() if not times.empty else None,
                last_seen=times.max() if not times.empty else None,
                events=len(rows),
                role_source=role_source,
                bundles=_bundles_of(facts, rows) if facts else [],
            )
        )
    return nodes


def _bundles_of(facts: Any, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Each bundle a host name came from, with its version and the time range of its own lines."""
    bundles = []
    for label, bundle in facts.bundles.items():
        own = rows[rows["source"].isin(bundle["members"])] if not rows.empty else rows
        times = own["ts"].dropna()
        bundles.append(
            {
                "input": label,
                "version": bundle["version"],
                "first_seen": times.min() if not times.empty else None,
                "last_seen": times.max() if not times.empty else None,
                "events": len(own),
            }
        )
    return bundles


def same_host_warnings(nodes: list[NodeSummary]) -> list[str]:
    """design.md, "Nodes": one host name from two bundles may be two machines (or two years)."""
    warnings = []
    for node in nodes:
        if len(node.bundles) < 2:
            continue
        parts = "; ".join(
            f"{b['input']} ({b['version']}, {_span(b['first_seen'], b['last_seen'])})" for b in node.bundles
        )
        warnings.append(
            f"host name {node.host} comes from {len(node.bundles)} different bundles: {parts}. "
            "They are shown as one node; if they are different machines or incidents, analyze them "
            "apart (logscope batch)."
        )
    return warnings


def _span(first: Any, last: Any) -> str:
    if first is None or last is None:
        return "no time"
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
