"""`logscope.run_batch` as a triage script uses it: typed results, the action texts, one exit code each."""

from __future__ import annotations

import json

import logscope
from conftest import SAMPLE_LOGS
from logscope.batch.results import incomplete_of

PICKED = ("expired-certificate", "permissive-continue", "healthy-mra-login")


def _cases(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    for stem in PICKED:
        (cases / f"{stem}.tar.gz").write_bytes((SAMPLE_LOGS / f"{stem}.tar.gz").read_bytes())
    (cases / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00 truncated")
    return cases


def test_run_batch_is_public_and_returns_typed_results_with_action_texts(tmp_path):
    out = tmp_path / "out"
    summary = logscope.run_batch([_cases(tmp_path)], out, jobs=1)
    assert isinstance(summary, logscope.BatchSummary) and summary.exit_code == 2
    assert (out / "index.html").is_file() and (out / "summary.csv").is_file()
    results = {result.name: result for result in summary.results}
    assert all(isinstance(result, logscope.BatchResult) for result in results.values())

    broken = results["broken"]
    assert (broken.status, broken.exit_code, broken.actions, broken.top_finding) == ("failed", 2, [], None)
    assert broken.error and "\n" not in broken.error

    expired = results["expired-certificate"]
    document = json.loads(expired.json.read_text(encoding="utf-8"))
    written = {finding["id"]: finding["action"] for finding in document["findings"]}
    assert (expired.status, expired.exit_code) == ("ok", 0)
    assert expired.summary["issue"] == 1 and expired.top_finding.id == "ts-cert-expired"
    assert expired.top_finding["id"] == "ts-cert-expired"  # mapping access, as scripts wrote it before
    assert expired.top_finding.action == written["ts-cert-expired"] != ""
    assert expired.actions[0] == expired.top_finding.action
    assert expired.nodes[0].host == expired.nodes[0]["host"] == "expc-east"

    permissive = results["permissive-continue"]
    potential = [f for f in permissive.findings if f.status == "potential"]
    assert potential and permissive.summary["issue"] == 0
    assert permissive.actions == list(dict.fromkeys(f.action for f in potential))

    healthy = results["healthy-mra-login"]
    assert healthy.actions == [] and healthy.status == "ok" and healthy.exit_code == 0


def test_cached_results_read_back_from_disk_carry_the_same_actions(tmp_path):
    cases, out = _cases(tmp_path), tmp_path / "out"
    first = logscope.run_batch([cases / "expired-certificate.tar.gz"], out, jobs=1)
    second = logscope.run_batch([cases / "expired-certificate.tar.gz"], out, jobs=1)
    assert second.results[0].cached and not first.results[0].cached
    assert second.results[0].actions == first.results[0].actions != []
    assert second.results[0].findings == first.results[0].findings


def test_incomplete_entries_are_typed_and_still_equal_their_dicts():
    entry = {"input": "case.tar.gz", "path": "diags.log", "reason": "cut at --max-bytes"}
    [typed] = incomplete_of({"incomplete": [entry]})
    assert (typed.input, typed.path, typed.reason) == ("case.tar.gz", "diags.log", "cut at --max-bytes")
    assert typed == entry and typed["reason"] == "cut at --max-bytes"


def test_the_index_and_summary_csv_tell_apart_two_nodes_with_one_host_name():
    from logscope.batch import BatchResult, index_rows, summary_csv

    nodes = [
        {"host": "expc", "version": "X14.2.1", "role": "Expressway-C", "input": "cases/2024/a.tar.gz"},
        {"host": "expc", "version": "X15.0.2", "role": "Expressway-C", "input": "cases/2025/b.tar.gz"},
        {"host": "expe", "version": "X15.0.2", "role": "Expressway-E", "input": "cases/2025/b.tar.gz"},
    ]
    result = BatchResult(input="cases", name="cases", ok=True, nodes=nodes)
    assert index_rows([result])[0]["hosts"] == ["expc (a.tar.gz)", "expc (b.tar.gz)", "expe"]
    assert "expc (a.tar.gz); expc (b.tar.gz); expe" in summary_csv([result])
