"""The traversal sample pairs (issue 15): what the findings say beside their statuses (scenarios.toml
pins those): the cross-checks with each side's certificates and xconf, the roles worked out from the
traversal, and the checks that must not take a -C/-E pair for a cluster."""

from __future__ import annotations

from functools import cache

import logscope
from conftest import SAMPLE_LOGS


@cache
def report_for(path: str) -> logscope.Report:
    return logscope.analyze(SAMPLE_LOGS / path)


def test_an_expressway_c_and_e_with_different_trust_stores_are_not_cluster_peers():
    """The -C and -E trust different CAs by design: trust-store-differs compares cluster peers only."""
    assert report_for("traversal-untrusted-pair").finding("trust-store-differs").status == "ok"
    assert report_for("ssh-tunnel-down-pair").finding("trust-store-differs").status == "ok"
