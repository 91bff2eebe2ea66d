"""Scenario family: MRA logins step by step (issue 16). Each scenario plans its logins request by
request (no random logins or background traffic), so the manifest's ground-truth logins are exact."""

from __future__ import annotations

from .clock import utc_ms
from .deployment import Site, Step, Upstream, node, standard_site, verify_failure
from .manifest import Built, expect
from .scenario_build import Scenario, build_scenario, single
from .snapshot import Plan

UDS = ("/cucm-uds/version", "/cucm-uds/user/{user}", "/cucm-uds/user/{user}/devices")
CONFIG = ((6970, "http", "/jabber-config.xml"), (6972, "https", "/CSF{user}.cnf.xml"))


def login(
    site: Site,
    user: str,
    t0: int,
    *,
    uds: Upstream,
    tftp: Upstream,
    spacing: int = 300,
    stop_at_uds: bool = False,
) -> list[Step]:
    """One Jabber login as the seeds show it: UDS on 8443, the config files on 6970/6972, IM&P, Unity.
    `stop_at_uds`: the client gives up after the UDS user lookup fails."""
    steps = []
    t = t0
    for n, path in enumerate(UDS):
        steps.append(Step(t, uds, 8443, "https", "GET", path.format(user=user), user))
        t += spacing
        if stop_at_uds and n == 1:
            return steps
    for port, scheme, path in CONFIG:
        steps.append(Step(t, tftp, port, scheme, "GET", path.format(user=user), user))
        t += spacing
    steps.append(Step(t, site.imps[0], 8443, "https", "POST", "/EPASSoap/service/v105", user))
    steps.append(Step(t + spacing, site.cucs[0], 443, "https", "GET", "/vmrest/version/product", user))
    return steps


def _site(domain: str, net: str) -> Site:
    site = standard_site(domain, net)
    site.missing_paths = ()
    return site


def _scenario(name: str, summary: str, site: Site, start: int, steps: list[Step], statuses: dict, seed: int):
    spec = node("expc", "10.60.10.21", 60, "Europe/Paris", "X15.0.2", 30111, 500, tls_verify_mode="Off")
    plan = Plan(logins=0, background=0, start=start, seconds=300, extra=tuple(steps))
    return single(
        name, summary, site, spec, plan, statuses, seed, noise_per_second=1.0, ground_truth_logins=True
    )


def uds_and_6972() -> Scenario:
    site = _site("logins.example", "10.60.20")
    cucm1, cucm2 = site.cucms
    site.outcomes[(None, cucm2.name, 8443)] = verify_failure(
        "unable to get local issuer certificate", 0, "ts-cert-issuer-missing"
    )
    site.outcomes[(None, cucm1.name, 6972)] = verify_failure(
        "self signed certificate", 0, "ts-cert-self-signed"
    )
    start = utc_ms("2025-03-04T09:00:00")
    steps = login(site, "alice", start + 10_000, uds=cucm2, tftp=cucm2, stop_at_uds=True)
    steps += login(site, "bob", start + 120_000, uds=cucm1, tftp=cucm1)
    summary = (
        "Two MRA logins: alice's UDS lookup on cucm2:8443 fails (issuer missing), bob's gets past UDS on "
        "cucm1 and fails at his device configuration file on cucm1:6972 (self-signed)."
    )
    statuses = expect(
        {
            "ts-cert-issuer-missing": "issue",
            "ts-cert-self-signed": "issue",
            "ts-ecdsa-port-split": "potential",
        }
    )
    return _scenario("logins-uds-and-6972", summary, site, start, steps, statuses, 161)


def retry() -> Scenario:
    site = _site("retry.example", "10.61.20")
    cucm1, cucm2 = site.cucms
    site.outcomes[(None, cucm1.name, 6972)] = verify_failure(
        "self signed certificate", 0, "ts-cert-self-signed"
    )
    start = utc_ms("2025-03-05T10:00:00")
    carol = login(site, "carol", start + 5_000, uds=cucm2, tftp=cucm1)
    failover = [
        Step(start + 5_000 + 1_500 + 4_000, cucm2, 6972, "https", "GET", "/CSFcarol.cnf.xml", "carol")
    ]
    dave = login(site, "dave", start + 60_000, uds=cucm2, tftp=cucm1)
    dave_again = login(site, "dave", start + 150_000, uds=cucm2, tftp=cucm1)
    summary = (
        "Retries: carol's config file on cucm1:6972 fails and her client fails over to cucm2:6972 within "
        "seconds (one attempt, it succeeds); dave fails on cucm1:6972 and logs in again 90 s later (two attempts)."
    )
    statuses = expect({"ts-cert-self-signed": "issue"})
    return _scenario(
        "logins-retry", summary, site, start, carol + failover + dave + dave_again, statuses, 162
    )


def interleaved() -> Scenario:
    site = _site("both.example", "10.62.20")
    cucm1, cucm2 = site.cucms
    site.outcomes[(None, cucm1.name, 6972)] = verify_failure(
        "self signed certificate", 0, "ts-cert-self-signed"
    )
    start = utc_ms("2025-03-06T11:00:00")
    erin = login(site, "erin", start + 20_000, uds=cucm1, tftp=cucm1)
    frank = login(site, "frank", start + 20_150, uds=cucm2, tftp=cucm2)
    summary = (
        "Two users log in at once through one traffic_server, their requests interleaved: erin's config file "
        "on cucm1:6972 fails (self-signed), frank's login on cucm2 succeeds."
    )
    statuses = expect({"ts-cert-self-signed": "issue", "ts-ecdsa-port-split": "potential"})
    return _scenario("logins-interleaved", summary, site, start, erin + frank, statuses, 163)


def healthy() -> Scenario:
    site = _site("fine.example", "10.63.20")
    start = utc_ms("2025-03-07T12:00:00")
    steps = login(site, "gina", start + 30_000, uds=site.cucms[0], tftp=site.cucms[1])
    summary = "One healthy MRA login: every step (UDS, 6970, 6972, IM&P, Unity) answers 200."
    return _scenario("logins-healthy", summary, site, start, steps, expect({}), 164)


def build() -> list[Built]:
    return [build_scenario(make()) for make in (uds_and_6972, retry, interleaved, healthy)]
