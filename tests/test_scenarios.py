"""Each sample bundle yields exactly the findings its scenario implies (sample_logs/scenarios.toml).

The manifest is written by the generator from how each scenario was built, not from the analyzer.
"""

from __future__ import annotations

import json
import os
import tomllib
from functools import cache
from pathlib import Path

import pytest

import logscope
from conftest import SAMPLE_LOGS

MANIFEST = tomllib.loads((SAMPLE_LOGS / "scenarios.toml").read_text(encoding="utf-8"))
SCENARIOS = {scenario["name"]: scenario for scenario in MANIFEST["scenario"]}
HEALTHY = [name for name, s in SCENARIOS.items() if all(v != "issue" for v in s["expect"].values())]


@cache
def report_for(name: str) -> logscope.Report:
    return logscope.analyze(SAMPLE_LOGS / SCENARIOS[name]["path"])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_yields_the_statuses_its_construction_implies(name):
    report = report_for(name)
    got = {finding.id: finding.status for finding in report.findings}
    expected = SCENARIOS[name]["expect"]
    assert {sid: got.get(sid) for sid in expected} == expected


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_findings_name_the_constructed_servers(name):
    report = report_for(name)
    for server in SCENARIOS[name].get("servers", []):
        finding = report.finding(server["signature"])
        named = {(s.name, s.ip or ""): s for s in finding.servers}  # a node names no address
        match = named.get((server["name"], server["ip"]))
        assert match is not None, (
            f"{server['signature']} does not name {server['name']} ({server.get('ip')}): {list(named)}"
        )
        assert set(server["ports"]) <= set(match.ports)
        if server["node"]:  # a plain ATS log names no host
            assert server["node"] in match.nodes


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_node_facts_and_counts(name):
    scenario = SCENARIOS[name]
    report = report_for(name)
    nodes = {node.host: node for node in report.nodes}
    for expected in scenario.get("nodes", []):
        if not expected["host"]:  # a plain ATS log names no host, version or role
            continue
        node = nodes[expected["host"]]
        assert node.version == expected["version"]
        assert node.role == expected["role"]
    counts = scenario.get("counts", {})
    if "transactions" in counts:
        assert len(report.transactions) == counts["transactions"]
    if "status_502" in counts:
        assert int((report.transactions["status"] == 502).sum()) == counts["status_502"]


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_bundles_yield_no_issue(name):
    assert not report_for(name).has_issue


def test_every_finding_has_evidence_with_source_and_line():
    report = report_for("x14.2-ecdsa-self-signed-6972")
    finding = report.finding("ts-cert-self-signed")
    roles = [evidence.role for evidence in finding.evidence]
    assert roles[:2] == ["warning", "error"]
    assert {"request", "response"} <= set(roles)
    assert all(evidence.source.endswith(".txt") and evidence.line for evidence in finding.evidence)
    response = next(e for e in finding.evidence if e.role == "response")
    assert "502" in response.text


# What a speed change must leave alone (issue 14): per sample, each finding's id, status, count,
# servers (name, address, ports, count) and evidence (file:line, role). Rewrite after a change that is
# meant to alter findings: LOGSCOPE_PIN_FINDINGS=write pytest tests/test_scenarios.py -k pinned
PINNED = Path(__file__).parent / "data" / "sample_findings.json"


def pinned_outcome(report: logscope.Report) -> list[dict]:
    return [
        {
            "id": finding.id,
            "status": finding.status,
            "count": finding.count,
            "servers": [[s.name, s.ip, s.ports, s.count] for s in finding.servers],
            "evidence": [f"{e.source}:{e.line} {e.role}" for e in finding.evidence],
        }
        for finding in report.findings
    ]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_findings_servers_counts_and_evidence_are_pinned(name):
    got = pinned_outcome(report_for(name))
    pinned = json.loads(PINNED.read_text(encoding="utf-8")) if PINNED.exists() else {}
    if os.environ.get("LOGSCOPE_PIN_FINDINGS") == "write":
        pinned[name] = got
        PINNED.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert got == pinned[name]
