"""Scenario family: the two sides of a traversal zone, one bundle per node (issue 15).

`traversal-identity-pair`: the Expressway-C's UC traversal zone names its Expressway-E by the public
IP address 203.0.113.10, which is not in the -E's server certificate (expe1.example.com only), so the
-C rejects the -E's certificate on every SIP TLS attempt ("Peer's TLS certificate identity was
unacceptable", Common-name= the IP), and the -E records the same attempts inbound as the alert the -C
sent (log-lines.md section 8 shapes; the -E logs its private DMZ address, the -C dialled the NAT'd
public one). The MRA HTTP traffic of the -C goes through the SSH tunnels, which are up: its
first-wave checks are `ok`. Real PEMs beside each log (pki.py).
"""

from __future__ import annotations

from .clock import Clock, utc_ms
from .deployment import node, standard_site
from .log_lines import envelope, kv
from .manifest import Built, expect
from .pki import Spec, pem
from .scenario_build import NodeRun, Scenario, build_scenario
from .snapshot import Fixed, Plan

ROOT = Spec("trav-root", "Example Root CA", "2020-01-01", "2035-01-01", 0x7001, ca=True)
ISSUING = Spec("trav-issuing", "Example Issuing CA", "2021-01-01", "2030-01-01", 0x7002, ROOT, ca=True)
START = utc_ms("2025-05-06T14:00:00")
PUBLIC_E = "203.0.113.10"  # the -E's NAT'd public address: the -C's zone peer address
PRIVATE_E = "172.16.40.10"  # the -E's own (DMZ) address, as the -E logs it
C_IP = "10.90.10.21"
ZONE_PORT = 7001
TRAVERSAL_IDS = (
    "traversal-tls-identity",
    "traversal-tls-untrusted",
    "traversal-auth-failed",
    "traversal-path-disconnect",
    "ssh-tunnel-down",
)
IDENTITY = "Peer's TLS certificate identity was unacceptable"
BAD_CERT = "error:14094412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate"


def _leaf(host: str, serial: int, *names: str) -> Spec:
    return Spec(
        f"trav-{host}",
        f"{host}.example.com",
        "2024-09-01",
        "2026-09-01",
        serial,
        ISSUING,
        dns=(f"{host}.example.com", *names),
    )


def c_zone(peer: str) -> tuple[str, ...]:
    return (
        '*c xConfiguration CollaborationEdge Enabled: "On"',
        '*c xConfiguration SIP Domain 1 Name: "example.com"',
        '*c xConfiguration SIP Domain 1 Edge: "On"',
        '*c xConfiguration Zones Zone 1 Name: "UC Traversal"',
        '*c xConfiguration Zones Zone 1 Type: "TraversalClient"',
        f'*c xConfiguration Zones Zone 1 TraversalClient Peer 1 Address: "{peer}"',
        '*c xConfiguration Zones Zone 1 TraversalClient SIP TLS Verify Mode: "On"',
    )


def e_zone(subject: str) -> tuple[str, ...]:
    return (
        '*c xConfiguration SIP Domain 1 Name: "example.com"',
        '*c xConfiguration SIP Domain 1 Edge: "On"',
        '*c xConfiguration Zones Zone 1 Name: "UC Traversal"',
        '*c xConfiguration Zones Zone 1 Type: "TraversalServer"',
        '*c xConfiguration Zones Zone 1 TraversalServer SIP TLS Verify Mode: "On"',
        f'*c xConfiguration Zones Zone 1 TraversalServer SIP TLS Verify Subject Name: "{subject}"',
    )


def outbound(clock: Clock, t: int, port: int, detail: str, checked: str) -> str:
    body = kv(
        [
            ("Event", "Outbound TLS Negotiation Error"),
            ("Service", "SIP"),
            ("Src-ip", C_IP),
            ("Src-port", str(port)),
            ("Dst-ip", PUBLIC_E),
            ("Dst-port", str(ZONE_PORT)),
            ("Detail", detail),
            ("Protocol", "TLS"),
            ("Common-name", checked),
            ("Level", "1"),
            ("UTCTime", clock.utc(t)),
        ]
    )
    return envelope(clock, t, "expc1", "tvcs", None, body)


def developer_ssl(clock: Clock, t: int, port: int, reason: str) -> str:
    body = (
        f'UTCTime="{clock.utc(t)}" Module="developer.ssl" Level="ERROR" CodeLocation="ttssl(1143)"'
        ' Method="TTSSLConnection::handshake" Thread="0x7f3a1c2fe700": TTSSLConnection::handshake:'
        ' Failed to establish SSL connection iResult="-1" error="1" bServer="true"'
        f" localAddress=\"['IPv4''TCP''{PRIVATE_E}:{ZONE_PORT}']\""
        f" remoteAddress=\"['IPv4''TCP''{C_IP}:{port}']\""
        f' ssl_error_reason="{reason}"'
    )
    return envelope(clock, t, "expe1", "tvcs", None, body)


def inbound(clock: Clock, t: int, port: int, detail: str) -> str:
    body = kv(
        [
            ("Event", "Inbound TLS Negotiation Error"),
            ("Service", "SIP"),
            ("Src-ip", C_IP),
            ("Src-port", str(port)),
            ("Dst-ip", PRIVATE_E),
            ("Dst-port", str(ZONE_PORT)),
            ("Detail", detail),
            ("Protocol", "TLS"),
            ("Level", "1"),
            ("UTCTime", clock.utc(t)),
        ]
    )
    return envelope(clock, t, "expe1", "tvcs", None, body)


C_XCONF = c_zone(PUBLIC_E)
E_XCONF = e_zone("expc1.example.com")


def _attempts(c_clock: Clock, e_clock: Clock, skew_ms: int) -> tuple[list[Fixed], list[Fixed]]:
    """The -C retries the zone every 30 s from a new source port; the -E's clock runs `skew_ms` ahead."""
    c_lines: list[Fixed] = []
    e_lines: list[Fixed] = []
    for i in range(6):
        t = START + 20_000 + i * 30_000 + (i * 37) % 90
        port = 25612 + i * 3
        c_lines.append(Fixed(t, outbound(c_clock, t, port, IDENTITY, PUBLIC_E)))
        t_e = t + skew_ms + 15
        developer = developer_ssl(e_clock, t_e, port, BAD_CERT)
        error = inbound(e_clock, t_e + 1, port, "sslv3 alert bad certificate")
        e_lines += [Fixed(t_e, developer), Fixed(t_e + 1, error)]
    return c_lines, e_lines


def traversal_identity_pair() -> Scenario:
    site = standard_site("example.com", "10.90.20")
    site.missing_paths = ()
    c_spec = node("expc1", C_IP, 120, "Europe/Berlin", "X15.0.2", 9101, 700)
    e_spec = node(
        "expe1", PRIVATE_E, 120, "Europe/Berlin", "X15.0.2", 9102, 1, verify_origin=None, role="Expressway-E"
    )
    c_fixed, e_fixed = _attempts(Clock(120), Clock(120), 2_300)
    runs = [
        NodeRun(
            c_spec,
            Plan(logins=4, background=8, start=START, seconds=240),
            c_fixed,
            pems={"server": pem(_leaf("expc1", 0x7101), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=C_XCONF,
        ),
        NodeRun(
            e_spec,
            Plan(logins=0, background=0, start=START, seconds=240),
            e_fixed,
            pems={"server": pem(_leaf("expe1", 0x7102, "example.com"), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=E_XCONF,
        ),
    ]
    summary = (
        "Expressway-C expc1 and Expressway-E expe1 (X15.0.2), one bundle each: the -C's UC traversal zone "
        f"names the -E by its public IP {PUBLIC_E}, which the -E certificate (expe1.example.com and the MRA domain example.com) does "
        "not hold, so the -C rejects it on every SIP TLS attempt and the -E logs the -C's 'bad certificate' "
        "alert on its private address; the -E's clock runs 2.3 s ahead. MRA HTTP through the SSH tunnels "
        "is healthy."
    )
    return Scenario(
        "traversal-identity-pair",
        "traversal-identity-pair",
        summary,
        site,
        runs,
        expect({**{sid: "ok" for sid in TRAVERSAL_IDS}, "traversal-tls-identity": "issue"}),
        301,
        named=(("traversal-tls-identity", "expc1", PUBLIC_E, PUBLIC_E),),
    )


def build() -> list[Built]:
    """Every scenario of the family, built; the zone's server is named with the zone port."""
    built = build_scenario(traversal_identity_pair())
    for server in built.manifest["servers"]:
        if server["signature"].startswith("traversal-"):
            server["ports"] = [ZONE_PORT]
    return [built]
