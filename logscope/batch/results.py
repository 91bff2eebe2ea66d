"""What a batch gives back: a BatchResult per input and the BatchSummary of a run.

Also how a result's fields are read from a report document (fresh, or read back from disk for a
cached input), the top finding among them, and the one-line error of a failed input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logscope.batch.inputs import BatchInput
from logscope.batch.records import (
    BatchFinding,
    BatchNode,
    IncompleteEntry,
    finding_of,
    incomplete_entry,
    node_of,
)
from logscope.findings import SEVERITIES, STATUSES

INDEX_NAME = "index.html"
CSV_NAME = "summary.csv"
MAX_ERROR = 500
ATTENTION_STATUSES = ("issue", "potential", "missing-info")
EXIT_OK, EXIT_FAILED, EXIT_INCOMPLETE = 0, 2, 3  # design.md: what `logscope batch` exits with


@dataclass
class BatchResult:
    """What one input gave: where its reports are, or why it failed.

    `summary` counts the findings per status (every status, zeros included); `top_finding` is the
    most severe finding that needs attention (None when there is none); `actions` are the action
    texts of the findings at issue or potential, the most severe first.
    """

    input: str
    name: str
    ok: bool
    error: str | None = None
    html: Path | None = None
    json: Path | None = None
    summary: dict[str, int] = field(default_factory=dict)
    nodes: list[BatchNode] = field(default_factory=list)
    top_finding: BatchFinding | None = None
    findings: list[BatchFinding] = field(default_factory=list)
    content_hash: str = ""
    cached: bool = False
    seconds: float = 0.0
    # what the report left unread or cut: the report says INCOMPLETE
    incomplete: list[IncompleteEntry] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ "ok" when the input was analyzed (whatever its findings), "failed" when it could not be."""
        return "ok" if self.ok else "failed"

    @property
    def exit_code(self) -> int:
        """What `logscope analyze` would exit with for this input: 2 failed, 3 INCOMPLETE, else 0."""
        if not self.ok:
            return EXIT_FAILED
        return EXIT_INCOMPLETE if self.incomplete else EXIT_OK

    @property
    def actions(self) -> list[str]:
        """The action texts of the findings at issue or potential, most severe first, each once."""
        acting = sorted(
            (f for f in self.findings if f["status"] in ("issue", "potential")), key=severity_rank
        )
        return list(dict.fromkeys(str(f["action"]) for f in acting if f.get("action")))


@dataclass
class BatchSummary:
    results: list[BatchResult]
    out_dir: Path
    ignored: list[str] = field(default_factory=list)  # folder entries that are not bundles

    @property
    def failed(self) -> int:
        return sum(not result.ok for result in self.results)

    @property
    def cached(self) -> int:
        return sum(result.cached for result in self.results)

    @property
    def incomplete(self) -> int:
        """Inputs analyzed whose report is INCOMPLETE."""
        return sum(result.ok and bool(result.incomplete) for result in self.results)

    @property
    def exit_code(self) -> int:
        """2 when any input could not be analyzed, else 3 when any report is INCOMPLETE, else 0."""
        if self.failed:
            return EXIT_FAILED
        return EXIT_INCOMPLETE if self.incomplete else EXIT_OK

    @property
    def index(self) -> Path:
        return self.out_dir / INDEX_NAME

    def describe(self) -> str:
        """One line, e.g. "50 inputs: 47 analyzed (3 cached), 3 failed; index: out/index.html"."""
        count = len(self.results)
        analyzed = count - self.failed
        incomplete = f", {self.incomplete} incomplete" if self.incomplete else ""
        line = (
            f"{count} input{'' if count == 1 else 's'}: {analyzed} analyzed ({self.cached} cached)"
            f"{incomplete}, {self.failed} failed; index: {self.index}"
        )
        if self.ignored:
            names = ", ".join(os.path.basename(path) for path in self.ignored[:3])
            more = f" and {len(self.ignored) - 3} more" if len(self.ignored) > 3 else ""
            line += f"; {len(self.ignored)} file(s) ignored (not bundles): {names}{more}"
        return line


def one_line(message: str, limit: int = MAX_ERROR) -> str:
    """Whitespace (newlines included) collapsed, cut to `limit` characters."""
    text = " ".join(str(message).split()) or "unknown error"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_fields(
    document: dict[str, Any],
) -> tuple[dict[str, int], list[BatchNode], list[BatchFinding], BatchFinding | None]:
    """summary, nodes, findings and top finding of a report document (fresh, or read back from disk)."""
    summary = {status: int(document["summary"].get(status, 0)) for status in STATUSES}
    nodes = [node_of(node) for node in document["nodes"]]
    findings = [finding_of(finding) for finding in document["findings"]]
    return summary, nodes, findings, top_finding(findings)


def incomplete_of(document: dict[str, Any]) -> list[IncompleteEntry]:
    """The report's `incomplete` list (absent in reports from before schema 1.1: none)."""
    return [incomplete_entry(entry) for entry in document.get("incomplete") or []]


def top_finding(findings: Sequence[Any]) -> Any:
    """The most severe finding that needs attention: status first (issue, potential, missing-info),
    then severity. None when every finding is ok or not applicable."""
    candidates = [f for f in findings if f["status"] in ATTENTION_STATUSES]
    return min(candidates, key=severity_rank) if candidates else None


def severity_rank(finding: Mapping[str, Any]) -> tuple[int, int]:
    """Where a finding sorts: status (issue, potential, missing-info, then the rest), then severity."""
    severity = finding["severity"]
    status = finding["status"]
    return (
        ATTENTION_STATUSES.index(status) if status in ATTENTION_STATUSES else len(ATTENTION_STATUSES),
        SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES),
    )


def internal_error(item: BatchInput, exc: BaseException) -> BatchResult:
    message = one_line(f"internal error: {type(exc).__name__}: {exc}")
    return BatchResult(input=item.path, name=item.name, ok=False, error=message)
