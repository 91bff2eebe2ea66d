"""Scenario family: one bundle per check of the node's own certificates and trust store (issue 13).

Each is an Expressway whose bundle carries real certificates (pki.py, cryptography) beside its log and
dumps, with one thing wrong: its server certificate expired, without clientAuth, an Expressway-E
certificate without the MRA domain, an 8192-bit SHA-1 certificate, a trusted CA list with an expired
CA (that a server's chain still uses) and two CAs with one CN, and a two-node cluster whose trusted CA
lists differ (the node lacking the CA fails). Every other certificate check is `ok` (or
`not-applicable` where the role decides) on each.
"""

from __future__ import annotations

from .clock import utc_ms
from .deployment import Site, node, standard_site, verify_failure
from .manifest import Built, expect
from .pki import Spec, pem
from .scenario_build import NodeRun, Scenario, build_scenario
from .snapshot import Plan

ROOT = Spec("own-root", "Example Root CA", "2020-01-01", "2035-01-01", 0x5001, ca=True)
ISSUING = Spec("own-issuing", "Example Issuing CA", "2021-01-01", "2030-01-01", 0x5002, ROOT, ca=True)
LEGACY = Spec("own-legacy", "Example Legacy CA", "2012-01-01", "2024-12-31", 0x5003, ca=True)
ROOT_AGAIN = Spec("own-root-again", "Example Root CA", "2016-01-01", "2036-01-01", 0x5004, ca=True)
PARTNER = Spec("own-partner", "Partner Root CA", "2019-01-01", "2039-01-01", 0x5005, ca=True, org="Partner")
START = utc_ms("2025-03-10T09:00:00")  # the logs end a few minutes later: the bundles' own time

CERTIFICATE_IDS = (
    "expressway-cert-expired",
    "expressway-cert-no-client-eku",
    "edge-cert-missing-mra-domain",
    "expressway-cert-weak",
    "trust-store-hygiene",
    "trust-store-differs",
)
EDGE_XCONF = (
    '*c xConfiguration Zones Zone 2 Name: "UC Traversal"',
    '*c xConfiguration Zones Zone 2 Type: "TraversalServer"',
    '*c xConfiguration Zones Zone 2 TraversalServer SIP TLS Verify Mode: "On"',
    '*c xConfiguration SIP Domain 1 Name: "example.com"',
    '*c xConfiguration SIP Domain 1 Edge: "On"',
)


def leaf(host: str, serial: int, **more) -> Spec:
    """A -C/-E server certificate signed by ISSUING, valid around the logs unless `more` says otherwise."""
    values = {
        "name": f"own-{host}-{serial:x}",
        "cn": f"{host}.example.com",
        "not_before": "2024-06-01",
        "not_after": "2026-06-01",
        "serial": serial,
        "issuer": ISSUING,
        "dns": (f"{host}.example.com",),
    }
    values.update(more)
    return Spec(**values)


def statuses(overrides: dict[str, str], role: str = "Expressway-C", first_wave: str = "ok") -> dict[str, str]:
    """The first wave's statuses, then every certificate check `ok` unless overridden."""
    mine = {sid: "ok" for sid in CERTIFICATE_IDS}
    if role != "Expressway-E":
        mine["edge-cert-missing-mra-domain"] = "not-applicable"
    return expect({**mine, **overrides}, default=first_wave)


def single_node(name: str, summary: str, server: Spec, found: dict[str, str], seed: int, **more) -> Scenario:
    """One Expressway-C with healthy MRA traffic whose server certificate is `server`."""
    site = more.pop("site", None) or standard_site("example.com", "10.80.20")
    site.missing_paths = ()
    spec = node("expc", "10.80.10.21", 60, "Europe/Paris", "X15.0.2", 7100 + seed, 300)
    ca = more.pop("ca", (ROOT, ISSUING))
    run = NodeRun(
        spec,
        Plan(logins=4, background=8, start=START, seconds=180),
        pems={"server": pem(server, ISSUING), "ca": pem(*ca)},
    )
    named = tuple(
        (sid, "expc", "expc", "") for sid, status in found.items() if status in ("issue", "potential")
    )
    first_wave = more.pop("first_wave", {})
    return Scenario(
        name,
        f"{name}.tar.gz",
        summary,
        site,
        [run],
        statuses({**found, **first_wave}),
        seed,
        named=named,
    )


def own_cert_expired() -> Scenario:
    server = leaf("expc", 0x6001, not_before="2024-02-01", not_after="2025-02-01")
    summary = (
        "Expressway-C X15.0.2 whose own server certificate expired on 2025-02-01, five weeks before its log."
    )
    return single_node("own-cert-expired", summary, server, {"expressway-cert-expired": "issue"}, 201)


def own_cert_no_client_eku() -> Scenario:
    server = leaf("expc", 0x6002, ekus=("serverAuth",))
    summary = (
        "Expressway-C X15.0.2 whose server certificate carries serverAuth only (a public CA's new profile)."
    )
    return single_node(
        "own-cert-no-client-eku", summary, server, {"expressway-cert-no-client-eku": "issue"}, 202
    )


def own_cert_weak() -> Scenario:
    server = leaf("expc", 0x6003, name="expc2-leaf", bits=8192, hash="sha1")  # keys/expc2-leaf-8192.pem
    summary = "Expressway-C X15.0.2 whose server certificate has an 8192-bit RSA key and a SHA-1 signature."
    return single_node("own-cert-weak", summary, server, {"expressway-cert-weak": "issue"}, 203)


def trust_store_hygiene() -> Scenario:
    site = standard_site("example.com", "10.80.20")
    for port in (8443, 6972):
        site.outcomes[(None, "cucm2.example.com", port)] = verify_failure(
            "certificate has expired", 1, "ts-cert-expired"
        )
    summary = (
        "Expressway-C X15.0.2 whose trusted CA list holds an expired CA (Example Legacy CA, 2024-12-31) and "
        "two CAs named Example Root CA; cucm2's chain still leads to the expired CA: "
        "'certificate has expired' depth=1, 502."
    )
    found = {"trust-store-hygiene": "issue"}
    return single_node(
        "trust-store-hygiene",
        summary,
        leaf("expc", 0x6004),
        found,
        204,
        site=site,
        ca=(ROOT, ISSUING, LEGACY, ROOT_AGAIN),
        first_wave={"ts-cert-expired": "issue"},
    )


def edge_cert_missing_mra_domain() -> Scenario:
    site = Site("example.com", ())
    site.missing_paths = ()
    spec = node(
        "expe",
        "203.0.113.10",
        60,
        "Europe/Paris",
        "X15.0.2",
        7300,
        1,
        verify_origin=None,
        role="Expressway-E",
    )
    server = leaf("expe", 0x6005, dns=("expe.example.com",))
    run = NodeRun(
        spec,
        Plan(logins=0, background=0, start=START, seconds=180),
        pems={"server": pem(server, ISSUING), "ca": pem(ROOT, ISSUING)},
        xconf_extra=EDGE_XCONF,
    )
    summary = (
        "Expressway-E X15.0.2 (no traffic server lines: the first-wave checks lack their source) whose "
        "server certificate names expe.example.com only, while xconf enables example.com for MRA (Edge On)."
    )
    found = {"edge-cert-missing-mra-domain": "issue"}
    return Scenario(
        "edge-cert-missing-mra-domain",
        "edge-cert-missing-mra-domain.tar.gz",
        summary,
        site,
        [run],
        statuses(found, role="Expressway-E", first_wave="missing-info"),
        205,
        noise_per_second=2.0,
        traffic=False,
        named=(("edge-cert-missing-mra-domain", "expe", "expe", ""),),
    )


def cluster_trust_stores_differ() -> Scenario:
    site = standard_site("example.com", "10.80.20")
    site.missing_paths = ()
    for cucm in site.cucms:
        for port in (8443, 6972):
            site.outcomes[("expc2", cucm.name, port)] = verify_failure(
                "self signed certificate in certificate chain", 1, "ts-cert-unknown-ca"
            )
    peers = ("10.80.10.21", "10.80.10.22")
    first = node("expc1", peers[0], 60, "Europe/Paris", "X15.0.2", 7401, 500, peers=peers)
    second = node("expc2", peers[1], 60, "Europe/Paris", "X15.0.2", 7402, 40, peers=peers)
    runs = [
        NodeRun(
            first,
            Plan(logins=6, background=8, start=START, seconds=240),
            pems={"server": pem(leaf("expc1", 0x6006), ISSUING), "ca": pem(ROOT, ISSUING, PARTNER)},
        ),
        NodeRun(
            second,
            Plan(logins=6, background=8, start=START + 20_000, seconds=240),
            pems={"server": pem(leaf("expc2", 0x6007), ISSUING), "ca": pem(ROOT, ISSUING)},
        ),
    ]
    summary = (
        "Two-node Expressway-C cluster X15.0.2: expc1 trusts Partner Root CA, expc2 does not (the list is "
        "not replicated); the CUCMs' chain leads to it, so expc2 alone fails: 'self signed certificate in "
        "certificate chain' depth=1, 502."
    )
    found = {"trust-store-differs": "issue"}
    return Scenario(
        "cluster-trust-stores-differ",
        "cluster-trust-stores-differ",
        summary,
        site,
        runs,
        statuses({**found, "ts-cert-unknown-ca": "issue"}),
        206,
        named=(("trust-store-differs", "expc1", "expc1", ""), ("trust-store-differs", "expc2", "expc2", "")),
    )


def build() -> list[Built]:
    """Every scenario of the family, built."""
    scenarios = (
        own_cert_expired(),
        own_cert_no_client_eku(),
        edge_cert_missing_mra_domain(),
        own_cert_weak(),
        trust_store_hygiene(),
        cluster_trust_stores_differ(),
    )
    return [build_scenario(scenario) for scenario in scenarios]
