"""Report stage: the Report object and its renderings (JSON here; HTML and text from templates)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from logscope import __version__
from logscope.findings import STATUSES, Finding
from logscope.nodes import NodeSummary

SCHEMA_VERSION = "1.0"


@dataclass
class Report:
    """Everything one analysis produced. Findings are plain objects; frames are pandas."""

    inputs: list[str]
    nodes: list[NodeSummary]
    findings: list[Finding]
    events: pd.DataFrame
    transactions: pd.DataFrame
    tls_failures: pd.DataFrame
    stats: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def finding(self, signature_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == signature_id), None)

    def by_status(self, status: str) -> list[Finding]:
        return [f for f in self.findings if f.status == status]

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for finding in self.findings:
            counts[finding.status] += 1
        return counts

    @property
    def has_issue(self) -> bool:
        return any(f.status == "issue" for f in self.findings)

    @property
    def time_range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        times = self.events["ts"].dropna() if "ts" in self.events else pd.Series(dtype=object)
        if times.empty:
            return None, None
        return times.min(), times.max()

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "logscope_version": __version__,
            "inputs": list(self.inputs),
            "nodes": [_node_dict(node) for node in self.nodes],
            "summary": self.summary,
            "findings": [finding.to_dict() for finding in self.findings],
            "stats": dict(self.stats),
            "warnings": list(self.warnings),
            "skipped": list(self.skipped),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)

    def to_html(self) -> str:
        from logscope.render import render_html

        return render_html(self)

    def to_text(self, *, color: bool = False) -> str:
        from logscope.render import render_text

        return render_text(self, color=color)


def _node_dict(node: NodeSummary) -> dict[str, Any]:
    return {
        "host": node.host,
        "version": node.version,
        "role": node.role,
        "sources": dict(node.sources),
        "first_seen": node.first_seen.isoformat() if node.first_seen is not None else None,
        "last_seen": node.last_seen.isoformat() if node.last_seen is not None else None,
        "events": node.events,
    }
