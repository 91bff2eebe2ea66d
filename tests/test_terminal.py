"""The terminal summary and `analyze`'s output handling, as a support engineer reads them (issue 12)."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

from conftest import ROOT, SAMPLE_LOGS, tar_bytes
from logscope import analyze
from logscope.render.blocks import first_action_lines

ECDSA = SAMPLE_LOGS / "x14.2-ecdsa-self-signed-6972.tar.gz"


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "logscope.cli", *args], capture_output=True, cwd=cwd or ROOT, timeout=120
    )


def test_at_80_columns_every_action_and_evidence_line_is_whole_and_no_line_is_wider():
    for sample in (
        ECDSA,
        SAMPLE_LOGS / "cluster-one-node-missing-ca",
        SAMPLE_LOGS / "permissive-continue.tar.gz",
    ):
        report = analyze(sample)
        text = report.to_text(width=80)
        lines = text.splitlines()
        assert all(len(line) <= 80 for line in lines), max(lines, key=len)
        unwrapped = " ".join(text.split())
        for finding in report.by_status("issue") + report.by_status("potential"):
            joined = "".join(text.split())  # a word longer than a line is split, never cut
            for line in first_action_lines(finding.action):
                assert "".join(line.split()) in joined
            warning = next(e for e in finding.evidence if e.role in ("warning", "error"))
            assert "Error=" + warning.text.split("Error=")[1].split()[0] in unwrapped
        assert "…" not in text


def test_empty_sections_have_no_line_and_the_request_count_is_explained_once():
    text = analyze(ECDSA).to_text()
    assert "Not applicable" not in text and ": none" not in text
    # the one non-empty waiting section: the checks of the node's PEM files, which this bundle lacks
    assert "MISSING INFORMATION (6)" in text
    assert text.count("xN after a server") == 1


def test_output_file_holds_the_whole_text_and_the_verdict_goes_to_stderr(tmp_path):
    out = tmp_path / "report.txt"
    result = run("analyze", str(ECDSA), "-o", str(out))
    assert result.returncode == 1
    seconds = re.compile(r"\| [\d.]+ s$", re.M)
    assert seconds.sub("", out.read_text(encoding="utf-8")) == seconds.sub(
        "", analyze(ECDSA).to_text(width=100)
    )
    assert "…" not in out.read_text(encoding="utf-8")
    assert (
        "logscope: 1 issue: ts-cert-self-signed on cucm.uc.example.net :6972 (expc)" in result.stderr.decode()
    )
    dash = run("analyze", str(ECDSA), "-o", "-", "--format", "json")
    assert dash.stdout.decode().lstrip().startswith("{") and "1 issue:" in dash.stderr.decode()


def test_the_verdict_says_no_issue_and_incomplete(tmp_path):
    result = run("analyze", str(SAMPLE_LOGS / "healthy-mra-login.tar.gz"), "-o", str(tmp_path / "r.json"))
    assert result.returncode == 0 and result.stderr.decode().splitlines()[-1] == "logscope: no issue"
    refused = tmp_path / "refused.tar.gz"
    line = b"2024-02-06T09:16:41.934-05:00 expc traffic_server[1]: [ET_NET 2] NOTE: started\n"
    refused.write_bytes(tar_bytes({"loggingsnapshot_expc_20240206_091702.txt": line, "../escape": b"x"}))
    result = run("analyze", str(refused), "-o", str(tmp_path / "r.txt"))
    assert result.returncode == 3, result.stderr
    assert "no issue; INCOMPLETE:" in result.stderr.decode().splitlines()[-1]


def test_an_unknown_output_suffix_is_a_usage_error_unless_format_is_given(tmp_path):
    result = run("analyze", str(ECDSA), "-o", str(tmp_path / "r.pdf"))
    assert result.returncode == 2 and not (tmp_path / "r.pdf").exists()
    assert "use .html, .htm, .json or .txt, or give --format" in result.stderr.decode()
    assert run("analyze", str(ECDSA), "-o", str(tmp_path / "r.pdf"), "--format", "html").returncode == 1
    assert (tmp_path / "r.pdf").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_analyze_help_lists_the_exit_codes_and_an_example():
    text = run("analyze", "--help").stdout.decode()
    for line in ("0  analyzed completely", "1  at least one issue", "2  bad usage", "3  no issue, but"):
        assert line in text
    assert "logscope analyze expc1.tar.gz expc2.tar.gz -o report.html" in text


def test_a_check_the_node_files_leave_undecided_says_why_once_in_the_terminal():
    text = analyze(SAMPLE_LOGS / "trust-store-hygiene.tar.gz").to_text(width=80)
    block = text[text.index("MISSING INFORMATION (1)") :].splitlines()
    assert block[1].strip() == "Not decided"
    assert block[2].split()[0] == "reason"
    assert "lists no SIP domain: needed by" in " ".join(text.split())
    assert ".:" not in text and "Not decided: " not in text


def test_the_quiet_checks_are_one_block_filled_to_the_width_at_80_and_100_columns():
    for sample in ("trust-store-hygiene.tar.gz", "own-cert-weak.tar.gz", "cluster-trust-stores-differ"):
        report = analyze(SAMPLE_LOGS / sample)
        for width in (80, 100):
            lines = report.to_text(width=width).splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith("No issue ("))
            label = lines[start].index(": ") + 2
            block = [lines[start]]
            block += [line for line in lines[start + 1 :] if line.startswith(" " * label)]
            assert block == lines[start : start + len(block)]  # one block, nothing in between
            ids = ", ".join(line[label:] for line in block).replace(",, ", ", ").split(", ")
            assert sorted(ids) == sorted(f.id for f in report.by_status("ok"))
            for line, after in itertools.pairwise(block):
                assert len(line) <= width
                assert len(line) + 2 + len(after[label:].split(",")[0]) > width  # the next id did not fit
