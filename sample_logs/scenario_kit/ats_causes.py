"""Scenario family: one single-node Expressway-C bundle per traffic-server cause (and the healthy,
silent and pre-enforcement baselines)."""

from __future__ import annotations

from collections.abc import Callable

from .clock import utc_ms
from .deployment import (
    Outcome,
    Site,
    Upstream,
    name_failure,
    node,
    permissive,
    standard_site,
    upstreams,
    verify_failure,
)
from .manifest import Built, expect
from .scenario_build import Scenario, build_scenario, single
from .snapshot import Plan
from .vocabulary import ALERT_UNKNOWN_CA, CERT_SIGNATURES, DEFAULT_CIPHERS, RSA_PREFIX


def healthy() -> Scenario:
    site = standard_site("example.com", "10.10.20")
    site.missing_paths = ()
    spec = node(
        "expc",
        "10.10.10.21",
        120,
        "Europe/Amsterdam",
        "X14.2.1",
        24117,
        1,
        ciphers=RSA_PREFIX + DEFAULT_CIPHERS,
    )
    plan = Plan(logins=24, background=30, start=utc_ms("2024-06-12T06:58:00"), seconds=480)
    summary = "Expressway-C X14.2.1, RSA preferred, CA-signed upstreams: every MRA login gets 200s on 8443, 6970 and 6972."
    statuses = expect(
        {"cfg-uc-zone-tls-verify-off": "ok", "mra-domain-not-enabled": "ok", "expressway-alarms": "ok"}
    )
    return single(
        "healthy-mra-login",
        summary,
        site,
        spec,
        plan,
        statuses,
        101,
        xconf_extra=mra_domain_xconf("example.com"),
    )


def mra_domain_xconf(domain: str) -> tuple[str, ...]:
    """An MRA Expressway-C serves its clients' domain: SIP Domain Edge On (seeds/001: the Unified CM
    registrations domains are configured on the Expressway-C)."""
    return (f'*c xConfiguration SIP Domain 1 Name: "{domain}"', '*c xConfiguration SIP Domain 1 Edge: "On"')


def ecdsa_self_signed() -> Scenario:
    domain = "uc.example.net"
    site = Site(
        domain,
        (Upstream(f"cucm.{domain}", "10.20.30.11", "cucm"),),
        upstreams(domain, "10.20.30", "imp", ["imp"], 21),
        upstreams(domain, "10.20.30", "cuc", ["cuc"], 31),
    )
    site.outcomes[(None, f"cucm.{domain}", 6972)] = verify_failure(
        "self signed certificate", 0, "ts-cert-self-signed"
    )
    spec = node("expc", "10.20.10.21", -300, "America/Bogota", "X14.2.1", 18242, 40, tls_verify_mode="Off")
    plan = Plan(logins=22, background=24, start=utc_ms("2024-02-06T14:10:00"), seconds=420)
    summary = (
        "After an upgrade to X14.2.1 (ECDSA preferred): cucm answers 200 on 8443 (RSA, CA-signed) but every "
        "6972 request fails on its self-signed ECDSA certificate (depth 0), mostly retried, ERROR line, 502."
    )
    statuses = expect(
        {
            "ts-cert-self-signed": "issue",
            "ts-ecdsa-port-split": "potential",
            "cfg-uc-zone-tls-verify-off": "ok",
            "mra-domain-not-enabled": "ok",
            "expressway-alarms": "ok",
        }
    )
    edge = mra_domain_xconf(domain)
    return single("x14.2-ecdsa-self-signed-6972", summary, site, spec, plan, statuses, 102, xconf_extra=edge)


def untrusted_root() -> Scenario:
    site = standard_site("example.org", "10.30.20")
    site.outcomes[(None, site.imps[0].name, 8443)] = verify_failure(
        "self signed certificate in certificate chain", 1, "ts-cert-unknown-ca"
    )
    spec = node("expc", "10.30.10.21", 60, "Africa/Lagos", "X15.0.2", 5120, 300)
    plan = Plan(logins=24, background=30, start=utc_ms("2024-09-03T07:30:00"), seconds=420)
    summary = "IM&P node imp1.example.org sends a chain to a root the Expressway-C does not trust (depth=1): 502 on 8443."
    return single(
        "untrusted-root-depth1", summary, site, spec, plan, expect({"ts-cert-unknown-ca": "issue"}), 103
    )


def missing_intermediate() -> Scenario:
    site = standard_site("example.net", "10.40.20", unity=2)
    first, second = (u.name for u in site.cucs)
    site.outcomes[(None, first, 443)] = verify_failure(
        "unable to get local issuer certificate", 0, "ts-cert-issuer-missing"
    )
    site.outcomes[(None, second, 443)] = verify_failure(
        "unable to verify the first certificate", 0, "ts-cert-issuer-missing"
    )
    spec = node("vcsc01", "10.40.10.21", 330, "Asia/Kolkata", "X14.2.1", 7781, 12)
    plan = Plan(logins=26, background=40, start=utc_ms("2024-04-15T04:00:00"), seconds=420)
    summary = (
        "Unity nodes send their leaf without the intermediate: cuc1 'unable to get local issuer certificate', "
        "cuc2 'unable to verify the first certificate' (depth 0), 502 on 443."
    )
    return single(
        "missing-intermediate", summary, site, spec, plan, expect({"ts-cert-issuer-missing": "issue"}), 104
    )


def expired() -> Scenario:
    site = standard_site("lab.example.com", "10.50.20")
    for port in (8443, 6972):
        site.outcomes[(None, site.cucms[1].name, port)] = verify_failure(
            "certificate has expired", 0, "ts-cert-expired"
        )
    spec = node(
        "expc-east",
        "10.50.10.21",
        -300,
        "America/New_York",
        "X15.0.2",
        3301,
        77,
        ciphers=RSA_PREFIX + DEFAULT_CIPHERS,
    )
    plan = Plan(logins=26, background=30, start=utc_ms("2025-01-20T13:05:00"), seconds=420)
    summary = "CUCM subscriber cucm2.lab.example.com presents an expired certificate (depth 0): 502 on 8443 and 6972."
    return single("expired-certificate", summary, site, spec, plan, expect({"ts-cert-expired": "issue"}), 105)


def cucm_by_ip() -> Scenario:
    domain = "example.com"
    cucm = Upstream("10.1.2.11", "10.1.2.11", "cucm")
    site = Site(
        domain,
        (cucm,),
        upstreams(domain, "10.1.2", "imp", ["imp1"], 21),
        upstreams(domain, "10.1.2", "cuc", ["cuc1"], 31),
    )
    for port in (8443, 6972):
        site.outcomes[(None, cucm.name, port)] = name_failure()
    spec = node("expc", "10.1.1.21", 0, "Europe/London", "X14.2.1", 9127, 500)
    plan = Plan(logins=22, background=36, start=utc_ms("2024-01-09T09:00:00"), seconds=420)
    summary = (
        "CUCM is advertised by IP (System > Server): routes decode to example.com/https/10.1.2.11/8443 and the "
        "certificate lacks the IP: 'SNI (10.1.2.11) not in certificate', ERROR, 502; logins stop at UDS."
    )
    statuses = expect({"ts-cert-name-mismatch": "issue", "mra-address-not-fqdn": "issue"})
    return single("cucm-by-ip-san-missing", summary, site, spec, plan, statuses, 106)


def no_traffic_server() -> Scenario:
    site = standard_site("example.com", "10.70.20")
    spec = node("expc", "10.70.10.21", 120, "Europe/Berlin", "X14.2.1", 6001, 1)
    plan = Plan(logins=0, background=0, start=utc_ms("2024-07-01T10:00:00"), seconds=600)
    summary = "Other processes only (tvcs, httpd, kernel, ...): not one traffic_server line."
    statuses = expect({}, default="missing-info")
    return single(
        "no-traffic-server", summary, site, spec, plan, statuses, 108, noise_per_second=3.0, traffic=False
    )


def permissive_continue() -> Scenario:
    site = standard_site("example.net", "10.80.20", cucms=1)
    cucm, cuc = site.cucms[0].name, site.cucs[0].name
    for port in (8443, 6972):
        site.outcomes[(None, cucm, port)] = permissive("self signed certificate", "ts-cert-self-signed", 0.5)
    site.outcomes[(None, cuc, 443)] = permissive(
        "unable to get local issuer certificate", "ts-cert-issuer-missing", 0.5
    )
    spec = node(
        "expc",
        "10.80.10.21",
        -180,
        "America/Sao_Paulo",
        "X14.2.1",
        4410,
        900,
        verify_origin="Off",
        tls_verify_mode="Off",
    )
    plan = Plan(logins=22, background=30, start=utc_ms("2024-05-21T12:00:00"), seconds=420)
    summary = (
        "VerifyOriginServer Off (assumed to select the permissive policy): self-signed cucm1 (8443 and 6972) and a "
        "Unity node without its issuer log 'Action=Continue' warnings on new connections; requests still get 200."
    )
    statuses = expect({"ts-cert-self-signed": "potential", "ts-cert-issuer-missing": "potential"})
    return single("permissive-continue", summary, site, spec, plan, statuses, 109)


def upstream_rejects() -> Scenario:
    site = standard_site("example.com", "10.90.20")
    for cucm in site.cucms:
        site.outcomes[(None, cucm.name, 6972)] = Outcome(
            502, ssl_error=ALERT_UNKNOWN_CA, signature="ts-upstream-rejects-expressway"
        )
    spec = node("expc", "10.90.10.21", 480, "Asia/Singapore", "X15.0.2", 2741, 60)
    plan = Plan(logins=24, background=30, start=utc_ms("2024-10-08T01:00:00"), seconds=420)
    summary = (
        "CUCM does not trust the Expressway-C certificate (CSCvz45074): 8443 works, 6972 ends in "
        "'tlsv1 alert unknown ca' with no WARNING beside it, then 502."
    )
    statuses = expect({"ts-upstream-rejects-expressway": "issue"})
    return single("upstream-rejects-expressway", summary, site, spec, plan, statuses, 110)


def unexplained_502() -> Scenario:
    site = standard_site("example.com", "10.95.20")
    site.outcomes[(None, site.cucms[0].name, 6972)] = Outcome(502)
    spec = node("expc", "10.95.10.21", 600, "Australia/Brisbane", "X15.0.2", 8802, 230)
    plan = Plan(logins=24, background=30, start=utc_ms("2024-08-19T22:30:00"), seconds=420)
    summary = "cucm1 requests on 6972 end in '502 connect failed' and nothing else is logged for them."
    statuses = expect({"ts-502-unexplained": "missing-info"})
    return single("unexplained-502", summary, site, spec, plan, statuses, 111)


def x14_0_7() -> Scenario:
    site = standard_site("example.com", "10.99.20")
    spec = node(
        "expc",
        "10.99.10.21",
        120,
        "Europe/Berlin",
        "X14.0.7",
        1733,
        1,
        verify_origin=None,
        tls_verify_mode="Off",
    )
    plan = Plan(logins=24, background=30, start=utc_ms("2022-06-20T08:00:00"), seconds=420)
    summary = (
        "X14.0.7, before the X14.0.8 enforcement: self-signed CUCM certificates, TLS verify mode Off, no "
        "VerifyOriginServer setting yet; nothing is verified, nothing is logged, traffic is healthy."
    )
    statuses = expect({sid: "not-applicable" for sid in (*CERT_SIGNATURES, "ts-ecdsa-port-split")})
    return single("version-x14.0.7-no-enforcement", summary, site, spec, plan, statuses, 112)


SCENARIOS: tuple[Callable[[], Scenario], ...] = (
    healthy,
    ecdsa_self_signed,
    untrusted_root,
    missing_intermediate,
    expired,
    cucm_by_ip,
    no_traffic_server,
    permissive_continue,
    upstream_rejects,
    unexplained_502,
    x14_0_7,
)


def build() -> list[Built]:
    """Every scenario of the family, built, in the order above."""
    return [build_scenario(make()) for make in SCENARIOS]
