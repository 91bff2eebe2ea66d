"""Scenario family: the node's own files beside its log, made with real cryptography (pki.py).

A two-node Expressway-C cluster with healthy MRA traffic whose bundles also carry server_*.pem,
ca_*.pem and the xconf / xstat sections of log-lines.md section 9 (Zones, SIP Domain Edge,
CollaborationEdge, Alarms). The certificates cover what the certificate checks read: a private root
and intermediate, a leaf with both EKUs expiring 20 days after the log ends, a leaf with serverAuth
only, SHA-1 signed, 8192-bit, no SANs and expired; a trust store with an expired CA, two CAs with one
subject and a SHA-1 root; and two trust stores that differ. The first-wave checks read only the log:
every one of them is `ok` here.
"""

from __future__ import annotations

from .clock import utc_ms
from .deployment import node, standard_site
from .manifest import Built, expect
from .pki import Spec, pem
from .scenario_build import NodeRun, Scenario, build_scenario
from .snapshot import Plan

ROOT = Spec("root", "Example Root CA", "2020-01-01", "2035-01-01", 0x1001, ca=True, bits=2048)
ISSUING = Spec("issuing", "Example Issuing CA", "2021-01-01", "2030-01-01", 0x1002, ROOT, ca=True)
ROOT_AGAIN = Spec("root-again", "Example Root CA", "2015-06-01", "2040-06-01", 0x1003, ca=True)
LEGACY = Spec("legacy", "Example Legacy CA", "2010-01-01", "2020-01-01", 0x1004, ca=True)
SHA1_ROOT = Spec("sha1-root", "Old Partner Root", "2012-01-01", "2032-01-01", 0x1005, ca=True, hash="sha1")
PARTNER = Spec("partner", "Partner Root CA", "2019-01-01", "2039-01-01", 0x2001, ca=True, org="Partner Ltd")
LEAF_1 = Spec(
    "expc1-leaf",
    "expc1.example.com",
    "2024-03-30",
    "2025-03-30",
    0x3001,
    ISSUING,
    dns=("expc1.example.com", "example.com"),
    ips=("10.60.10.21",),
)
LEAF_2 = Spec(
    "expc2-leaf",
    "expc2.example.com",
    "2023-01-01",
    "2025-01-01",
    0x3002,
    PARTNER,
    bits=8192,
    hash="sha1",
    ekus=("serverAuth",),
)


def _zone(index: int, name: str, mode: str, peer: str, quote: bool = True) -> tuple[str, ...]:
    def c(path: str, value: str) -> str:
        return f'*c xConfiguration {path}: "{value}"' if quote else f"*c xConfiguration {path}: {value}"

    return (
        c(f"Zones Zone {index} Name", name),
        c(f"Zones Zone {index} Type", "TraversalClient"),
        c(f"Zones Zone {index} TraversalClient Peer 1 Address", peer),
        c(f"Zones Zone {index} TraversalClient SIP TLS Verify Mode", mode),
    )


EXPC1_XCONF = (
    '*c xConfiguration CollaborationEdge Enabled: "On"',
    '*c xConfiguration SIP Domain 1 Name: "example.com"',
    '*c xConfiguration SIP Domain 1 Edge: "On"',
    '*c xConfiguration SIP Domain 2 Name: "lab.example.com"',
    '*c xConfiguration SIP Domain 2 Edge: "Off"',
    *_zone(1, "UC Traversal", "On", "expe1.example.com"),
)
EXPC2_XCONF = (  # an older VCS spelling and unquoted values, as older dumps write them
    "*c xConfiguration CollaborationEdge Enabled: On",
    "*c xConfiguration SIP Domains Domain 1 Name: example.com",
    "*c xConfiguration SIP Domains Domain 1 Edge: On",
    *_zone(1, "UC Traversal", "Off", "expe1.example.com", quote=False),
)
EXPC1_XSTAT = """*s Alarms: /
    Alarm 1:
      Id: "40068"
      Title: "Server certificate expiring"
      Severity: "Warning"
      Status: "Active"
      FirstRaised: "2025-03-09 08:00:12"
      LastRaised: "2025-03-10 08:00:12"
    Alarm 2:
      Id: "20004"
      Title: "Cluster communication failure"
      Severity: "Error"
      Status: "Lowered"
      FirstRaised: "2025-02-01 10:11:12"
      LastRaised: "2025-02-01 10:20:00"
*s/end
*s Zones: /
    Zone 1:
      Name: "UC Traversal"
      Status: "Active"
*s/end
OK
"""
EXPC2_XSTAT = """*s Alarms: /
    Alarm:
      AlarmId: "40040"
      Description: "TLS verify mode not enabled on a traversal zone configured for Unified Communications"
      State: "Raised"
      Raised: "2025-03-10 07:55:00"
      LastSeen: "2025-03-10 08:58:00"
      AlarmId: "25019"
      Description: "Verbose log levels configured"
      State: "Raised"
*s/end
*s Zones: /
    Zone 1:
      Name: "UC Traversal"
      Status: "Failed"
      Cause: "TLS negotiation failure"
*s/end
OK
"""


def node_certificates() -> Scenario:
    site = standard_site("example.com", "10.60.20")
    site.missing_paths = ()
    peers = ("10.60.10.21", "10.60.10.22")
    start = utc_ms("2025-03-10T09:00:00")
    first = node("expc1", peers[0], 60, "Europe/Paris", "X15.0.2", 15230, 900, peers=peers)
    second = node("expc2", peers[1], 60, "Europe/Paris", "X15.0.2", 3302, 40, peers=peers)
    runs = [
        NodeRun(
            first,
            Plan(logins=6, background=10, start=start, seconds=240),
            pems={"server": pem(LEAF_1, ISSUING), "ca": pem(ROOT, ISSUING, LEGACY, ROOT_AGAIN, SHA1_ROOT)},
            xconf_extra=EXPC1_XCONF,
            xstat_extra=EXPC1_XSTAT,
        ),
        NodeRun(
            second,
            Plan(logins=6, background=10, start=start + 30_000, seconds=240),
            pems={"server": pem(LEAF_2, PARTNER), "ca": pem(PARTNER)},
            xconf_extra=EXPC2_XCONF,
            xstat_extra=EXPC2_XSTAT,
        ),
    ]
    summary = (
        "Two-node Expressway-C cluster, healthy MRA traffic; the bundles carry real server and CA PEMs "
        "(cryptography), zones, MRA domains and alarms. expc1: leaf with both EKUs expiring in 20 days, "
        "a trust store with an expired CA, a duplicate subject and a SHA-1 root; expc2: an expired "
        "8192-bit SHA-1 leaf with serverAuth only and no SANs, TLS verify Off, alarm 40040, another root."
    )
    found = {  # the checks of the node's own files (own_certs.py has one sample per check)
        "expressway-cert-expired": "issue",
        "expressway-cert-no-client-eku": "issue",
        "edge-cert-missing-mra-domain": "not-applicable",
        "expressway-cert-weak": "issue",
        "trust-store-hygiene": "potential",
        "trust-store-differs": "potential",
        "cfg-uc-zone-tls-verify-off": "issue",
        "expressway-alarms": "issue",
        "mra-domain-not-enabled": "ok",
    }
    nodes = {
        "expressway-cert-expired": ("expc1", "expc2"),
        "expressway-cert-no-client-eku": ("expc2",),
        "expressway-cert-weak": ("expc2",),
        "trust-store-hygiene": ("expc1",),
        "trust-store-differs": ("expc1", "expc2"),
        "cfg-uc-zone-tls-verify-off": ("expc2",),
        "expressway-alarms": ("expc1", "expc2"),
    }
    named = tuple((sid, host, host, "") for sid, hosts in nodes.items() for host in hosts)
    return Scenario(
        "node-certificates", "node-certificates", summary, site, runs, expect(found), 113, named=named
    )


MRA_DOMAIN_XCONF = (  # the clients' domain is configured, but not for MRA; another domain is
    '*c xConfiguration CollaborationEdge Enabled: "On"',
    '*c xConfiguration SIP Domain 1 Name: "example.org"',
    '*c xConfiguration SIP Domain 1 Edge: "On"',
    '*c xConfiguration SIP Domain 2 Name: "example.com"',
    '*c xConfiguration SIP Domain 2 Edge: "Off"',
)


def mra_domain_not_enabled() -> Scenario:
    """One Expressway-C whose MRA clients use example.com while only example.org has Edge On. The
    requests in the log still succeed (the capture shows the -C side only), so the check is potential."""
    site = standard_site("example.com", "10.70.20")
    site.missing_paths = ()
    spec = node("expc3", "10.70.10.21", 60, "Europe/Paris", "X15.0.2", 8120, 300)
    run = NodeRun(
        spec,
        Plan(logins=4, background=8, start=utc_ms("2025-04-02T13:00:00"), seconds=180),
        xconf_extra=MRA_DOMAIN_XCONF,
    )
    summary = (
        "Expressway-C X15.0.2 whose MRA clients ask for example.com, a SIP domain listed with Edge Off "
        "(only example.org has Edge On); the requests themselves succeed."
    )
    statuses = expect(
        {"mra-domain-not-enabled": "potential", "cfg-uc-zone-tls-verify-off": "ok", "expressway-alarms": "ok"}
    )
    named = (("mra-domain-not-enabled", "expc3", "cucm1.example.com", "10.70.20.11"),)
    return Scenario(
        "mra-domain-not-enabled",
        "mra-domain-not-enabled.tar.gz",
        summary,
        site,
        [run],
        statuses,
        131,
        named=named,
    )


def build() -> list[Built]:
    """Every scenario of the family, built."""
    return [build_scenario(node_certificates()), build_scenario(mra_domain_not_enabled())]
