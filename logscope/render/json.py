"""The JSON document of a report: everything it found, for scripts and other tools (the skipped and
incomplete lists hold their first 100 entries, with the count of all).

report.schema.json describes it; a field a later version adds is additive and bumps the minor
SCHEMA_VERSION.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from logscope import __version__

if TYPE_CHECKING:
    from logscope.nodes import NodeSummary
    from logscope.report import Report

SCHEMA_VERSION = "1.2"


def report_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready values (what ``Report.to_dict`` returns)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "logscope_version": __version__,
        "inputs": list(report.inputs),
        "nodes": [node_document(node) for node in report.nodes],
        "summary": report.summary,
        "findings": [finding.to_dict() for finding in report.findings],
        "stats": dict(report.stats),
        "warnings": list(report.warnings),
        "skipped": list(report.skipped),
        "skipped_count": report.skipped_count,
        "incomplete": list(report.incomplete),
        "incomplete_count": report.incomplete_count,
        "unrecognised_tls_lines": list(report.unrecognised_tls_lines),
        "unrecognised_tls_count": report.unrecognised_tls_count,
    }


def node_document(node: NodeSummary) -> dict[str, Any]:
    return {
        "host": node.host,
        "version": node.version,
        "role": node.role,
        "sources": dict(node.sources),
        "first_seen": node.first_seen.isoformat() if node.first_seen is not None else None,
        "last_seen": node.last_seen.isoformat() if node.last_seen is not None else None,
        "events": node.events,
    }


def render_json(report: Report, *, indent: int | None = 2) -> str:
    """The JSON document as text; values JSON has no type for (times, paths) are written as strings."""
    return json.dumps(report_document(report), indent=indent, ensure_ascii=False, default=str)
