"""The answers a support engineer reads: what a finding says, whom it names, what it links (issue 12)."""

from __future__ import annotations

from functools import cache

from conftest import SAMPLE_LOGS
from logscope import analyze
from logscope.report import Report


@cache
def report_of(name: str) -> Report:
    return analyze(SAMPLE_LOGS / name)


def test_a_potential_finding_says_the_check_failed_and_the_connection_went_on():
    report = report_of("permissive-continue.tar.gz")
    potential = report.by_status("potential")
    assert potential
    for finding in potential:
        text = finding.description
        assert "ends in 502" not in text and "fails (502)" not in text
        assert "failure(s)" not in text
        assert "Action=Continue" in text and "connection went on" in text
        assert "permissive" in text and "enforced" in text
