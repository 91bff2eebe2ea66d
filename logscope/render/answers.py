"""What every output says beside a finding's own text: which nodes fail and which do not, which
findings share the same failures (and which of them is the most specific diagnosis), and what one
missing log asks to collect. Presentation only (design.md, "Findings are stable"): no status changes.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from typing import TYPE_CHECKING, Any

from logscope.findings import Finding
from logscope.resources import data_dir, templates_dir

if TYPE_CHECKING:
    from logscope.report import Report

ACT_ON = ("issue", "potential")


def nodes_failing(finding: Finding, report: Report | None = None) -> list[str]:
    """The Expressway nodes whose log holds this finding's failures, by their labels.

    A detector that names the nodes that must change (a traversal's rejecting side, while the finding
    quotes both sides) decides. A host name two bundles share is two nodes: an evidence line goes to
    the node whose bundle holds its file; a host named only by a server (no evidence line to tell)
    stands for all its nodes.
    """
    if finding.status not in ACT_ON:
        return []
    shared = [node for node in (report.nodes if report else []) if node.shared_host]
    if finding.failing_nodes and not {node.host for node in shared} & set(finding.failing_nodes):
        return sorted(set(finding.failing_nodes))
    hosts = {node for server in finding.servers for node in server.nodes}
    hosts |= {e.node for e in finding.evidence if e.node}
    names = {host for host in hosts if host not in {node.host for node in shared}}
    for host in hosts - names:
        mine = [node for node in shared if node.host == host]
        lines = [e for e in finding.evidence if e.node == host]
        held = {node.label for node in mine for e in lines if e.source in node.members}
        names |= held or {node.label for node in mine}
    return sorted(names)


def nodes_healthy(finding: Finding, report: Report) -> list[str]:
    """The other nodes of the report that logged events: the ones where this finding does not fail."""
    failing = set(nodes_failing(finding, report))
    if not failing:
        return []
    return sorted({node.label for node in report.nodes if node.events and node.label not in failing})


def _failures(finding: Finding) -> set[tuple[str, int]]:
    return {(e.source, e.line) for e in finding.evidence if e.line is not None}


def related_findings(report: Report) -> dict[str, list[str]]:
    """For each finding at issue or potential, the others whose evidence shares a log line with it."""
    acting = [f for f in report.findings if f.status in ACT_ON]
    lines = {f.id: _failures(f) for f in acting}
    return {
        f.id: [g.id for g in acting if g.id != f.id and lines[f.id] & lines[g.id]]
        for f in report.findings
        if f.status in ACT_ON
    }


def specificity(finding: Finding, detector_ids: frozenset[str] = frozenset()) -> int:
    """Higher for a diagnosis that reasons across requests (a detector: the port split, the address
    that is not a name) than for the certificate warning it explains."""
    return 1 if finding.id in detector_ids else 0


def is_more_specific(finding: Finding, other: Finding) -> bool:
    detectors = _detector_signatures()
    return specificity(finding, detectors) > specificity(other, detectors)


def lead_order(findings: list[Finding], report: Report) -> list[Finding]:
    """`findings` with, in each group that shares failures, the most specific diagnosis first."""
    related = related_findings(report)
    detectors = _detector_signatures()
    return sorted(
        findings,
        key=lambda f: -specificity(f, detectors) if related.get(f.id) else 0,
    )


@cache
def _detector_signatures() -> frozenset[str]:
    """Built-in signatures that decide with a detector (read from the signature files' `detector`)."""
    ids = set()
    for path in data_dir("signatures").glob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data.get("match", {}).get("detector"):
            ids.add(data["id"])
    return frozenset(ids)


@cache
def _messages() -> dict[str, Any]:
    return tomllib.loads((templates_dir() / "messages.toml").read_text(encoding="utf-8"))


@cache
def _undecided_pattern() -> re.Pattern[str]:
    text = re.escape(_messages()["undecided"]).replace(re.escape("{what}"), r"(?P<what>.+)")
    return re.compile(text.replace(r"\ ", " ") + "$", re.S)


def undecided_what(description: str) -> str | None:
    """What keeps a check undecided, from the engine's "Not decided: {what}." message; else None."""
    match = _undecided_pattern().match(description.strip())
    return match["what"].strip() if match else None


@cache
def _missing_pattern() -> re.Pattern[str]:
    text = re.escape(_messages()["missing_source"])
    text = text.replace(re.escape("{description}"), r"(?P<what>.+?)").replace(
        re.escape("{hint}"), r"(?P<hint>.*?)"
    )
    return re.compile(text.replace(r"\ ", " ") + r"(?= This bundle lacks|$)", re.S)


def missing_parts(finding: Finding) -> list[dict[str, str]]:
    """What a missing-info finding lacks, as {what, short, hint} (from the engine's own message)."""
    parts = []
    for match in _missing_pattern().finditer(finding.description):
        what = match["what"].strip()
        parts.append(
            {"what": what, "short": what.split(" (")[0].split(":")[0], "hint": match["hint"].strip()}
        )
    return parts


def missing_group(findings: list[Finding]) -> dict[str, Any] | None:
    """The missing-info findings that name no server, as one card: what is missing, what to collect,
    and which checks wait for it. None when there is no such finding."""
    plain = [f for f in findings if f.status == "missing-info" and not f.servers and not f.evidence]
    if not plain:
        return None
    shorts: list[str] = []
    hints: list[str] = []
    lacks: list[dict[str, Any]] = []
    for finding in plain:
        parts = missing_parts(finding) or [{"what": "", "short": "", "hint": ""}]
        for part in parts:
            if part["short"] and part["short"] not in shorts:
                shorts.append(part["short"])
            if part["hint"] and part["hint"] not in hints:
                hints.append(part["hint"])
            entry = next((e for e in lacks if e["what"] == part["what"]), None)
            if entry is None:
                undecided = "" if part["what"] else undecided_what(finding.description)
                what = part["what"] or undecided or finding.description.rstrip(".")
                entry = {"what": what, "ids": [], "undecided": bool(undecided)}
                lacks.append(entry)
            entry["ids"].append(finding.id)
    # what unblocks the most checks first (the log before one of the node's files)
    weight = {entry["what"]: -len(entry["ids"]) for entry in lacks}
    lacks.sort(key=lambda entry: weight[entry["what"]])
    parts = [part for finding in plain for part in missing_parts(finding)]
    rank = {part["short"]: weight.get(part["what"], 0) for part in reversed(parts)}
    shorts.sort(key=lambda short: rank.get(short, 0))
    hint_rank = {part["hint"]: weight.get(part["what"], 0) for part in reversed(parts)}
    hints.sort(key=lambda hint: hint_rank.get(hint, 0))
    title = "Missing: " + "; ".join(shorts) if shorts else _undecided_title(lacks)
    return {"title": title, "collect": hints, "lacks": lacks, "ids": [f.id for f in plain]}


def _undecided_title(lacks: list[dict[str, Any]]) -> str:
    """The card's title when no source is missing: the lines below say why each check is open."""
    return "Not decided" if all(lack["undecided"] for lack in lacks) else "Missing information"
