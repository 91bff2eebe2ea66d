"""Scenario family: clusters, one bundle per node in a folder, where the nodes see the same servers
differently."""

from __future__ import annotations

from .clock import utc_ms
from .deployment import node, standard_site, verify_failure
from .manifest import Built, expect
from .scenario_build import NodeRun, Scenario, build_scenario
from .snapshot import Plan


def cluster_missing_ca() -> Scenario:
    site = standard_site("example.com", "10.60.20")
    for cucm in site.cucms:
        for port in (8443, 6972):
            site.outcomes[("expc2", cucm.name, port)] = verify_failure(
                "self signed certificate in certificate chain", 1, "ts-cert-unknown-ca"
            )
    peers = ("10.60.10.21", "10.60.10.22")
    start = utc_ms("2025-01-14T15:00:00")
    first = node("expc1", peers[0], 60, "Europe/Paris", "X15.0.2", 14410, 1200, peers=peers)
    second = node("expc2", peers[1], -300, "America/New_York", "X15.0.2", 2987, 45, peers=peers)
    runs = [
        NodeRun(first, Plan(logins=16, background=24, start=start, seconds=480)),
        NodeRun(second, Plan(logins=16, background=24, start=start + 45_000, seconds=480)),
    ]
    summary = (
        "Two-node cluster, overlapping times, offsets +01:00 and -05:00. expc1 trusts the CA that signed "
        "cucm1/cucm2 and gets 200s; expc2 lacks it: 'self signed certificate in certificate chain' depth=1, 502."
    )
    statuses = expect({"ts-cert-unknown-ca": "issue"})
    return Scenario(
        "cluster-one-node-missing-ca", "cluster-one-node-missing-ca", summary, site, runs, statuses, 107
    )


def build() -> list[Built]:
    """Every scenario of the family, built."""
    return [build_scenario(cluster_missing_ca())]
