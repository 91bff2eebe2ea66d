"""What the HTML findings page reads: one context per page section, and the frame around them.

Everything is computed here so the templates stay declarative; nothing here is markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logscope import __version__
from logscope.findings import STATUS_TITLES, STATUSES, Finding, Server
from logscope.render.answers import (
    ACT_ON,
    lead_order,
    missing_group,
    nodes_failing,
    nodes_healthy,
    related_findings,
)
from logscope.render.blocks import TextBlock, first_action_line, text_blocks
from logscope.render.budgets import (
    MAX_EVIDENCE_CHARS,
    MAX_FINDING_EVIDENCE,
    MAX_FINDING_SERVERS,
    MAX_SERVER_ROWS,
)
from logscope.render.formatting import format_number, format_time, time_range_text
from logscope.render.logins import broke_text
from logscope.render.servers import OUTCOME_TITLES, server_rows
from logscope.render.timeline import build_timeline

if TYPE_CHECKING:
    from logscope.nodes import NodeSummary
    from logscope.report import Report

DEFECT_ID = re.compile(r"\bCSC[a-z]{2}\d{5}\b", re.IGNORECASE)


# --- one finding -------------------------------------------------------------------------------


@dataclass
class EvidenceView:
    """One evidence line as the page shows it: located, timed, cut to MAX_EVIDENCE_CHARS."""

    location: str
    node: str
    time: str
    role: str
    text: str
    cut: int


@dataclass
class FindingView:
    """One finding as its card shows it: texts as blocks, lists capped, defects apart."""

    finding: Finding
    sections: list[tuple[str, list[TextBlock]]]
    servers: list[Server]
    more_servers: int
    evidence: list[EvidenceView]
    more_evidence: int
    defects: list[str]
    other_related: list[str]
    has_defects: bool
    first_seen: str
    last_seen: str
    server_columns: set[str]
    nodes_failing: list[str] = field(default_factory=list)
    nodes_healthy: list[str] = field(default_factory=list)
    related_findings: list[tuple[str, str]] = field(default_factory=list)  # (id, status)
    grouped: bool = False  # folded under the one missing-info card that names what to collect
    answer: dict[str, str] = field(default_factory=dict)  # server and first action line, at the top
    evidence_first: list[EvidenceView] = field(default_factory=list)  # shown; the rest behind a toggle
    evidence_rest: list[EvidenceView] = field(default_factory=list)


# The finding texts a card shows, in order, with their titles.
FINDING_TEXTS = (
    ("description", "Description"),
    ("condition", "Condition"),
    ("further_information", "Further information"),
    ("action", "Action"),
    ("workaround", "Workaround"),
)


def finding_view(finding: Finding, report: Report | None = None) -> FindingView:
    sections = [
        (title, text_blocks(getattr(finding, name)))
        for name, title in FINDING_TEXTS
        if getattr(finding, name).strip()
    ]
    evidence = [
        EvidenceView(
            location=f"{item.source}:{item.line}" if item.line is not None else item.source,
            node=item.node or "",
            time=format_time(item.ts),
            role=item.role,
            text=item.text[:MAX_EVIDENCE_CHARS],
            cut=max(len(item.text) - MAX_EVIDENCE_CHARS, 0),
        )
        for item in finding.evidence[:MAX_FINDING_EVIDENCE]
    ]
    defects = [item for item in finding.related if DEFECT_ID.search(item)]
    first = _first_evidence(finding)
    return FindingView(
        evidence_first=[view for index, view in enumerate(evidence) if index in first],
        evidence_rest=[view for index, view in enumerate(evidence) if index not in first],
        finding=finding,
        sections=sections,
        servers=finding.servers[:MAX_FINDING_SERVERS],
        more_servers=max(len(finding.servers) - MAX_FINDING_SERVERS, 0),
        evidence=evidence,
        more_evidence=max(len(finding.evidence) - MAX_FINDING_EVIDENCE, 0),
        defects=defects,
        other_related=[item for item in finding.related if item not in defects],
        has_defects=bool(defects),
        first_seen=format_time(finding.first_seen),
        last_seen=format_time(finding.last_seen),
        server_columns=server_columns(finding.servers[:MAX_FINDING_SERVERS]),
        **(_answers(finding, report) if report is not None else {}),
    )


def _answers(finding: Finding, report: Report) -> dict[str, Any]:
    failing, healthy = nodes_failing(finding, report), nodes_healthy(finding, report)
    related = related_findings(report).get(finding.id, [])
    answer = {}
    if finding.status in ACT_ON:
        servers = [
            f"{s.name}" + (f" :{','.join(map(str, s.ports))}" if s.ports else "") for s in finding.servers[:3]
        ]
        more = f" and {len(finding.servers) - 3} more" if len(finding.servers) > 3 else ""
        answer = {
            "servers": ", ".join(servers) + more,
            "logins": broke_text(report, finding.id),
            "action": first_action_line(finding.action),
        }
    return {
        "answer": answer,
        "nodes_failing": failing if healthy or len(report.nodes) > 1 else [],
        "nodes_healthy": healthy,
        "related_findings": [(rid, getattr(report.finding(rid), "status", "")) for rid in related],
    }


def defect_url(defect: str) -> str:
    """The vendor's public bug search page of a defect id (a link; the page never fetches it)."""
    return f"https://tools.cisco.com/bugsearch/bug/{defect}"  # as seed 002 writes it (CSCvz20720)


def _first_evidence(finding: Finding) -> set[int]:
    """Indexes of the evidence lines shown first, as the vendor analyzer shows them: the most recent
    warning and the most recent error line for each server (evidence is most recent first)."""
    shown = finding.evidence[:MAX_FINDING_EVIDENCE]
    chosen: set[int] = set()
    names = [server.name for server in finding.servers] or [""]
    for name in names:
        for role in ("warning", "error"):
            index = next(
                (i for i, e in enumerate(shown) if e.role == role and (not name or name in e.text)), None
            )
            if index is not None:
                chosen.add(index)
    if not chosen and shown:
        chosen.add(0)
    return chosen


def server_columns(servers: Sequence[Server]) -> set[str]:
    """The optional server columns at least one server fills; empty columns are left out."""
    present = {"name", "count"}
    for server in servers:
        present |= {name for name in ("ip", "ports", "route", "nodes", "detail") if getattr(server, name)}
        if server.first_seen or server.last_seen:
            present.add("seen")
    return present


def coverage(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """The parse statistics worth showing, as (label, value) pairs, in a fixed order."""
    labels = (
        ("lines", "lines read"),
        ("events", "events parsed"),
        ("unparsed", "unparsed lines"),
        ("partial", "partly parsed"),
        ("truncated", "truncated lines"),
        ("oversize_lines", "oversize lines"),
        ("invalid_utf8", "invalid UTF-8 lines"),
        ("transactions", "transactions"),
        ("tls_failures", "TLS failure lines"),
        ("bytes", "bytes"),
        ("seconds", "seconds to analyze"),
    )
    return [(label, format_number(stats[key])) for key, label in labels if key in stats]


def parsed_share(stats: dict[str, Any]) -> str:
    """The share of lines recognised; never a share over zero events (nothing was understood)."""
    lines, unparsed = stats.get("lines"), stats.get("unparsed")
    if not isinstance(lines, int) or not isinstance(unparsed, int) or lines <= 0:
        return ""
    if not stats.get("events"):
        return ""
    return f"{100 * (lines - unparsed) / lines:.1f}% of lines recognised"


def coverage_line(stats: dict[str, Any]) -> dict[str, Any]:
    """The one line the page header gives the parse statistics: lines, events, unparsed; `warn` when
    no line became an event (no check could see anything)."""
    parts = [
        f"{format_number(stats[key])} {label}"
        for key, label in (("lines", "lines"), ("events", "events"), ("unparsed", "unparsed"))
        if key in stats
    ]
    return {"text": ", ".join(parts), "warn": not stats.get("events")}


def node_rows(nodes: Sequence[NodeSummary]) -> list[dict[str, Any]]:
    return [
        {
            "host": node.label,
            "version": node.version,
            "role": node.role,
            "range": time_range_text(node.first_seen, node.last_seen),
            "events": node.events,
        }
        for node in nodes
    ]


# --- the page: its frame and its sections ------------------------------------------------------


def frame_context(report: Report) -> dict[str, Any]:
    """What the page header says, which every section may read too."""
    return {
        "version": __version__,
        "inputs": list(report.inputs),
        "nodes": node_rows(report.nodes),
        "time_range": time_range_text(*report.time_range),
        "summary": report.summary,
        "total": len(report.findings),
        "coverage_line": coverage_line(report.stats),
    }


def overview_context(report: Report) -> dict[str, Any]:
    """The overview panels beside the frame's inputs and nodes: parse coverage, warnings, skipped."""
    return {
        "coverage": coverage(report.stats),
        "parsed_share": parsed_share(report.stats),
        "warnings": list(report.warnings),
        "skipped": list(report.skipped),
    }


def findings_context(report: Report) -> dict[str, Any]:
    """The findings by status, with the categories and defect count the filters offer."""
    views = [finding_view(finding, report) for finding in lead_order(report.findings, report)]
    group = missing_group(report.findings)
    for view in views:
        view.grouped = group is not None and view.finding.id in group["ids"]
    categories: dict[str, int] = {}
    for finding in report.findings:
        categories[finding.category] = categories.get(finding.category, 0) + 1
    return {
        "statuses": [(status, STATUS_TITLES[status]) for status in STATUSES],
        "by_status": {status: [v for v in views if v.finding.status == status] for status in STATUSES},
        "categories": sorted(categories.items()),
        "defect_count": sum(view.has_defects for view in views if view.finding.status in ACT_ON),
        "acting_count": sum(view.finding.status in ACT_ON for view in views),
        "missing_group": group,
    }


def servers_context(report: Report) -> dict[str, Any]:
    servers = server_rows(report)
    return {"servers": servers[:MAX_SERVER_ROWS], "more_servers": max(len(servers) - MAX_SERVER_ROWS, 0)}


def timeline_context(report: Report) -> dict[str, Any]:
    return {"timeline": build_timeline(report), "outcome_titles": OUTCOME_TITLES}
