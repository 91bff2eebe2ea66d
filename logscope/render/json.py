"""The JSON document of a report: everything it found, for scripts and other tools (the skipped and
incomplete lists hold their first 100 entries, with the count of all).

report.schema.json describes it; a field a later version adds is additive and bumps the minor
SCHEMA_VERSION.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from logscope import __version__
from logscope.render.answers import nodes_failing, nodes_healthy, related_findings
from logscope.render.login_json import logins_chunks
from logscope.render.logins import finding_logins, login_documents

if TYPE_CHECKING:
    from logscope.nodes import NodeSummary
    from logscope.report import Report

SCHEMA_VERSION = "1.3"


def report_document(report: Report, *, logins: bool = True) -> dict[str, Any]:
    """The report as plain JSON-ready values (what ``Report.to_dict`` returns); `logins=False` leaves
    the `logins` array empty (render_json writes it column-wise)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "logscope_version": __version__,
        "inputs": list(report.inputs),
        "nodes": [node_document(node) for node in report.nodes],
        "summary": report.summary,
        "findings": findings_document(report),
        "stats": dict(report.stats),
        "warnings": list(report.warnings),
        "skipped": list(report.skipped),
        "skipped_count": report.skipped_count,
        "incomplete": list(report.incomplete),
        "incomplete_count": report.incomplete_count,
        "unrecognised_tls_lines": list(report.unrecognised_tls_lines),
        "unrecognised_tls_count": report.unrecognised_tls_count,
        "traversal": report.traversal,
        "logins": login_documents(report) if logins else [],
    }


def findings_document(report: Report) -> list[dict[str, Any]]:
    """The findings, each with the nodes it fails and spares and the findings sharing its failures."""
    related = related_findings(report)
    return [
        {
            **_nodes_named(finding.to_dict()),
            "nodes_failing": nodes_failing(finding, report),
            "nodes_healthy": nodes_healthy(finding, report),
            "related_findings": related.get(finding.id, []),
            "logins": finding_logins(report, finding.id),
        }
        for finding in report.findings
    ]


def node_document(node: NodeSummary) -> dict[str, Any]:
    return {
        "host": node.host,
        "version": node.version,
        "role": node.role,
        "sources": dict(node.sources),
        "first_seen": node.first_seen.isoformat() if node.first_seen is not None else None,
        "last_seen": node.last_seen.isoformat() if node.last_seen is not None else None,
        "events": node.events,
        "role_source": node.role_source,
        "certificate": node.certificate,
        "trust_store": node.trust_store,
        "zones": list(node.zones),
        "mra_domains": list(node.mra_domains),
        "alarms": list(node.alarms),
        "input": node.input,
        "bundles": [
            {**bundle, "first_seen": _iso(bundle["first_seen"]), "last_seen": _iso(bundle["last_seen"])}
            for bundle in node.bundles
        ],
    }


UNKNOWN_NODE = "unknown"


def _nodes_named(finding: dict[str, Any]) -> dict[str, Any]:
    """Evidence from a line with no envelope names node "unknown" (issue 11), never null."""
    for row in finding.get("evidence") or []:
        if isinstance(row, dict) and "node" in row and row["node"] is None:
            row["node"] = UNKNOWN_NODE
    return finding


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def render_json(report: Report, *, indent: int | None = 2) -> str:
    """The JSON document as text; values JSON has no type for (times, paths) are written as strings."""
    return "".join(json_parts(report, indent=indent))


def json_parts(report: Report, *, indent: int | None = 2) -> Iterator[str]:
    """The JSON document in pieces of text, to be written one after the other (see json_pieces)."""
    for piece in json_pieces(report, indent=indent):
        yield piece if isinstance(piece, str) else str(piece, "utf-8")


def json_pieces(report: Report, *, indent: int | None = 2) -> Iterator[str | bytes | memoryview]:
    """The JSON document in pieces: text, and a login storm's `logins` array (most of its document,
    hundreds of MiB) as UTF-8 bytes 1.4 MiB at a time, written column-wise (render.login_json),
    never copied into one string nor decoded."""
    chunks = _logins_chunks(report) if indent == 2 else None
    if chunks is not None:
        head = report_document(report, logins=False)
        document = json.dumps(head, indent=2, ensure_ascii=False, default=str)
        if document.endswith(_EMPTY_LOGINS):  # the last key: the array goes where its `[]` is
            yield document[: -len("[]\n}")]
            yield from chunks
            yield "\n}"
            return
    yield json.dumps(report_document(report), indent=indent, ensure_ascii=False, default=str)


def _logins_chunks(report: Report) -> Iterator[bytes | memoryview] | None:
    """The `logins` array text at nesting level 1 in UTF-8 chunks; None when only the dict path
    can write it."""
    logins, steps = report.logins, report.login_steps
    if logins is None or logins.empty or steps is None:
        return iter([b"[]"])
    return logins_chunks(logins, steps, level=1)


_EMPTY_LOGINS = '"logins": []\n}'
