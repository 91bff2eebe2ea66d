"""The "This node" panel: per node its version and role (and where they came from), its own
certificate, its trusted CA list, MRA domains, zones and active alarms. Registered as a page section
(after the findings) and as one entry per node in the terminal summary (after the issues)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from logscope.render.formatting import visible_controls
from logscope.render.sections import Section, register
from logscope.render.terminal import text_width

if TYPE_CHECKING:
    from logscope.nodes import NodeSummary
    from logscope.report import Report

MAX_SANS_SHOWN = 20  # a 2,000-name SAN list is counted, not drawn


def _described(node: NodeSummary) -> bool:
    return bool(node.certificate or node.trust_store or node.zones or node.alarms or node.mra_domains)


def node_panel_context(report: Report) -> dict[str, Any]:
    """The nodes whose bundle held a certificate, a trust store, zones, MRA domains or alarms."""
    nodes = []
    for node in report.nodes:
        if not _described(node):
            continue
        certificate = dict(node.certificate) if node.certificate else None
        if certificate:
            sans = certificate["san_dns"] + certificate["san_ip"]
            certificate["sans_shown"] = sans[:MAX_SANS_SHOWN]
            certificate["sans_more"] = max(len(sans) - MAX_SANS_SHOWN, 0)
        nodes.append({"node": node, "certificate": certificate})
    return {"panel_nodes": nodes}


def node_line(node: NodeSummary) -> str:
    """One line: host, role, version and where they came from, certificate, trust store, alarms."""
    parts = [f"{node.label}: {node.role} {node.version} (from {node.role_source})"]
    cert = node.certificate
    if cert:
        left = "expired" if cert["expired"] else f"{cert['days_left']} days left"
        if cert["days_left"] is None:
            left = "validity unknown"
        ekus = "+".join(cert["extended_key_usage"]) or "no EKU"
        parts.append(f"cert {cert['subject']} ({left}, {cert['key_type']} {cert['key_size']}, {ekus})")
    else:
        parts.append("no server certificate in the bundle")
    store = node.trust_store
    if store:
        flags = [f"{len(store['expired'])} expired"] if store["expired"] else []
        flags += [f"{len(store['duplicate_subjects'])} duplicate"] if store["duplicate_subjects"] else []
        parts.append(f"trust store {store['size']} CA" + (f" ({', '.join(flags)})" if flags else ""))
    if node.alarms:
        parts.append("alarms " + ",".join(str(alarm["alarm_id"]) for alarm in node.alarms))
    return "; ".join(parts)


def node_text_context(report: Report, width: int | None = None) -> dict[str, Any]:
    """One entry per described node, wrapped (never cut) after the `node: ` label."""
    width = width or text_width()
    texts = [
        visible_controls(node_line(node), keep_newlines=False) for node in report.nodes if _described(node)
    ]
    return {"node_lines": [textwrap.wrap(text, max(width - 6, 20), break_on_hyphens=False) for text in texts]}


register(
    "html",
    Section("this-node", "_node_panel.html.j2", node_panel_context, title="This node"),
    before="overview",  # after the findings: the answer comes first
)
register("text", Section("this-node", "_node_panel.txt.j2", node_text_context), before="quiet")
