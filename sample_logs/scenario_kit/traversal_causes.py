"""Scenario family: the other causes of seed 002's traversal troubleshooting, one bundle per node
(issue 15), beside `traversal-identity-pair` (traversal_pairs.py), in the log shapes of log-lines.md
section 8 and with real PEMs (pki.py).

- `traversal-untrusted-pair`: the -E's certificate comes from another CA ("Edge Issuing CA" under
  "Edge Root CA") that the -E trusts but the -C's trusted CA list lacks. The -E is fine, the -C is
  not: the -C rejects the -E's certificate ("unable to get local issuer certificate") and the -E logs
  the -C's `tlsv1 alert unknown ca`.
- `traversal-auth-failed-pair`: TLS is fine both ways; the -E refuses the -C zone's credentials
  ("Authentication Failed" / "Incorrect authentication credential for user"). The -C logs no
  failure line (section 8 gives it none).
- `ssh-tunnel-down-pair`: seed 002 "Traversal Zone Up but SSH Tunnels Down After a Certificate
  Renewal": the -E's renewed certificate is signed by a new intermediate ("Example Issuing CA 2")
  under the same root; the -C trusts the root (so the zone is up, no TLS error is logged) but not
  the intermediate, and raises alarm 35013 (UC SSH tunnel failure).
- `traversal-path-disconnect-pair`: every -C zone attempt dies in the handshake with "No SSL error
  available, probably remote disconnect" and the -E logs none of them: something in the path (a
  firewall doing application inspection) ends them; both certificates, names and CA lists are fine.
- `traversal-e-only`: only the -E's bundle: its zone's TLS Verify Subject Name is the -C cluster
  FQDN expc.example.com, and it rejects the -C's certificate on identity on every attempt. The -C's
  bundle (its certificate) is not given.
"""

from __future__ import annotations

from .clock import Clock
from .deployment import node, standard_site
from .log_lines import envelope, kv
from .manifest import Built, expect
from .pki import Spec, pem
from .scenario_build import NodeRun, Scenario, build_scenario
from .snapshot import Fixed, Plan
from .traversal_pairs import (
    C_IP,
    IDENTITY,
    ISSUING,
    PRIVATE_E,
    PUBLIC_E,
    ROOT,
    START,
    TRAVERSAL_IDS,
    ZONE_PORT,
    _leaf,
    c_zone,
    developer_ssl,
    e_zone,
    inbound,
    outbound,
)
from .vocabulary import ALERT_UNKNOWN_CA

E_FQDN = "expe1.example.com"
C_FQDN = "expc1.example.com"
CLUSTER_FQDN = "expc.example.com"
EDGE_ROOT = Spec("trav-edge-root", "Edge Root CA", "2019-06-01", "2039-06-01", 0x7011, ca=True)
EDGE_ISSUING = Spec(
    "trav-edge-issuing", "Edge Issuing CA", "2021-06-01", "2031-06-01", 0x7012, EDGE_ROOT, ca=True
)
ISSUING_2 = Spec("trav-issuing-2", "Example Issuing CA 2", "2025-01-01", "2032-01-01", 0x7003, ROOT, ca=True)
UNTRUSTED = "unable to get local issuer certificate"
AUTH_DETAIL = "Incorrect authentication credential for user"


def auth_failed(clock: Clock, t: int, port: int) -> str:
    body = kv(
        [
            ("Event", "Authentication Failed"),
            ("Service", "SIP"),
            ("Src-ip", C_IP),
            ("Src-port", str(port)),
            ("Detail", AUTH_DETAIL),
            ("Protocol", "TLS"),
            ("Method", "OPTIONS"),
            ("Level", "1"),
            ("UTCTime", clock.utc(t)),
        ]
    )
    return envelope(clock, t, "expe1", "tvcs", None, body)


def attempt_times(first_port: int) -> list[tuple[int, int]]:
    """(time, source port) of the -C's six zone attempts, one every 30 s from a new port."""
    return [(START + 20_000 + i * 30_000 + (i * 53) % 70, first_port + i * 2) for i in range(6)]


def untrusted_lines(skew_ms: int) -> tuple[list[Fixed], list[Fixed]]:
    clock = Clock(120)
    c_lines: list[Fixed] = []
    e_lines: list[Fixed] = []
    for t, port in attempt_times(31204):
        c_lines.append(Fixed(t, outbound(clock, t, port, UNTRUSTED, E_FQDN)))
        t_e = t + skew_ms + 12
        e_lines.append(Fixed(t_e, developer_ssl(clock, t_e, port, ALERT_UNKNOWN_CA)))
        e_lines.append(Fixed(t_e + 1, inbound(clock, t_e + 1, port, "tlsv1 alert unknown ca")))
    return c_lines, e_lines


def site():
    result = standard_site("example.com", "10.90.20")
    result.missing_paths = ()
    return result


def c_node():
    return node("expc1", C_IP, 120, "Europe/Berlin", "X15.0.2", 9201, 700)


def e_node():
    return node(
        "expe1", PRIVATE_E, 120, "Europe/Berlin", "X15.0.2", 9202, 1, verify_origin=None, role="Expressway-E"
    )


def quiet_plan() -> Plan:
    """No MRA traffic: with the zone (or the tunnels) down, MRA logins never reach the -C."""
    return Plan(logins=0, background=0, start=START, seconds=240)


# the first-wave checks that need proxied requests: without MRA traffic they cannot decide
NEED_TRAFFIC = ("mra-address-not-fqdn", "ts-ecdsa-port-split", "ts-502-unexplained")
# on an Expressway-E alone, the traffic-server certificate checks (an Expressway-C's) do not apply
C_ONLY = (
    "ts-cert-self-signed", "ts-cert-unknown-ca", "ts-cert-issuer-missing", "ts-cert-expired",
    "ts-cert-name-mismatch", "ts-upstream-rejects-expressway", "ts-cert-verify-other",
)  # fmt: skip


def statuses(traffic: bool = False, c_given: bool = True, **causes: str) -> dict[str, str]:
    """Every first-wave and traversal signature's status: ok, but for the causes given."""
    first = {} if traffic else dict.fromkeys(NEED_TRAFFIC, "missing-info")
    first.update({} if c_given else dict.fromkeys(C_ONLY, "not-applicable"))
    traversal = {sid: causes.get(sid.replace("-", "_"), "ok") for sid in TRAVERSAL_IDS}
    return expect({**first, **traversal})


def untrusted_pair() -> Scenario:
    c_fixed, e_fixed = untrusted_lines(-1_700)
    runs = [
        NodeRun(
            c_node(),
            quiet_plan(),
            c_fixed,
            pems={"server": pem(_leaf("expc1", 0x7201), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=c_zone(E_FQDN),
        ),
        NodeRun(
            e_node(),
            quiet_plan(),
            e_fixed,
            pems={
                "server": pem(_edge_leaf(), EDGE_ISSUING),
                "ca": pem(EDGE_ROOT, EDGE_ISSUING, ROOT, ISSUING),
            },
            xconf_extra=e_zone(C_FQDN),
        ),
    ]
    summary = (
        "Expressway-C expc1 and Expressway-E expe1 (X15.0.2), one bundle each. The -E is fine and the -C is "
        "not: the -E certificate (expe1.example.com) is signed by Edge Issuing CA under Edge Root CA, which "
        "the -E trusts but the -C's trusted CA list (Example Root CA, Example Issuing CA) lacks, so the -C "
        "rejects the -E certificate on every zone attempt ('unable to get local issuer certificate') and "
        "the -E logs the -C's 'tlsv1 alert unknown ca' on its private address; the -E's clock runs 1.7 s "
        "behind. No MRA traffic reaches the -C."
    )
    return Scenario(
        "traversal-untrusted-pair",
        "traversal-untrusted-pair",
        summary,
        site(),
        runs,
        statuses(traversal_tls_untrusted="issue"),
        311,
        named=(("traversal-tls-untrusted", "expc1", E_FQDN, PUBLIC_E),),
    )


def _edge_leaf() -> Spec:
    return Spec(
        "trav-expe1-edge",
        E_FQDN,
        "2024-09-01",
        "2026-09-01",
        0x7212,
        EDGE_ISSUING,
        dns=(E_FQDN, "example.com"),
    )


def auth_pair() -> Scenario:
    clock = Clock(120)
    e_fixed = [Fixed(t + 900, auth_failed(clock, t + 900, port)) for t, port in attempt_times(27410)]
    runs = [
        NodeRun(
            c_node(),
            Plan(logins=4, background=8, start=START, seconds=240),
            [],
            pems={"server": pem(_leaf("expc1", 0x7301), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=c_zone(E_FQDN),
        ),
        NodeRun(
            e_node(),
            quiet_plan(),
            e_fixed,
            pems={"server": pem(_leaf("expe1", 0x7302, "example.com"), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=e_zone(C_FQDN),
        ),
    ]
    summary = (
        "Expressway-C expc1 and Expressway-E expe1 (X15.0.2), one bundle each, certificates from one private "
        "CA that both trust, names matching the zone's peer address and TLS Verify Subject Name: TLS is "
        "set up, but the -E refuses the credentials of the -C zone's traversal account on every attempt "
        "('Authentication Failed', 'Incorrect authentication credential for user'). The -C logs no failure "
        "line of its own; MRA HTTP through the SSH tunnels is healthy."
    )
    return Scenario(
        "traversal-auth-failed-pair",
        "traversal-auth-failed-pair",
        summary,
        site(),
        runs,
        statuses(traffic=True, traversal_auth_failed="issue"),
        313,
        named=(("traversal-auth-failed", "expe1", C_IP, C_IP),),
    )


TUNNEL_XSTAT = """*s Alarms: /
    Alarm 1:
      Id: "35013"
      Title: "UC SSH tunnel failure"
      Severity: "Error"
      Status: "Active"
      FirstRaised: "2025-05-06 13:41:07"
      LastRaised: "2025-05-06 14:03:07"
*s/end
*s Zones: /
    Zone 1:
      Name: "UC Traversal"
      Status: "Active"
*s/end
OK
"""


def tunnel_pair() -> Scenario:
    renewed = Spec(
        "trav-expe1-renewed",
        E_FQDN,
        "2025-05-01",
        "2027-05-01",
        0x7402,
        ISSUING_2,
        dns=(E_FQDN, "example.com"),
    )
    runs = [
        NodeRun(
            c_node(),
            quiet_plan(),
            [],
            pems={"server": pem(_leaf("expc1", 0x7401), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=c_zone(E_FQDN),
            xstat_extra=TUNNEL_XSTAT,
        ),
        NodeRun(
            e_node(),
            quiet_plan(),
            [],
            pems={"server": pem(renewed, ISSUING_2), "ca": pem(ROOT, ISSUING, ISSUING_2)},
            xconf_extra=e_zone(C_FQDN),
        ),
    ]
    summary = (
        "Expressway-C expc1 and Expressway-E expe1 (X15.0.2), one bundle each, after the -E's certificate "
        "was renewed: the new certificate is signed by a new intermediate, Example Issuing CA 2, under the "
        "same Example Root CA. The -C trusts the root, so the traversal zone is up (no TLS error in either "
        "log), but its trusted CA list lacks the new intermediate and it raises alarm 35013 (UC SSH tunnel "
        "failure). No MRA traffic reaches the -C."
    )
    return Scenario(
        "ssh-tunnel-down-pair",
        "ssh-tunnel-down-pair",
        summary,
        site(),
        runs,
        statuses(ssh_tunnel_down="issue"),
        317,
        named=(("ssh-tunnel-down", "expc1", "expc1", ""),),
    )


DISCONNECT = "No SSL error available, probably remote disconnect"


def disconnect_pair() -> Scenario:
    clock = Clock(120)
    c_fixed = [Fixed(t, outbound(clock, t, port, DISCONNECT, E_FQDN)) for t, port in attempt_times(29950)]
    runs = [
        NodeRun(
            c_node(),
            quiet_plan(),
            c_fixed,
            pems={"server": pem(_leaf("expc1", 0x7601), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=c_zone(E_FQDN),
        ),
        NodeRun(
            e_node(),
            quiet_plan(),
            [],
            pems={"server": pem(_leaf("expe1", 0x7602, "example.com"), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=e_zone(C_FQDN),
        ),
    ]
    summary = (
        "Expressway-C expc1 and Expressway-E expe1 (X15.0.2), one bundle each, certificates from one private "
        "CA that both trust, names matching the zone's peer address and TLS Verify Subject Name: every zone "
        "attempt of the -C dies in the handshake ('No SSL error available, probably remote disconnect') and "
        "the -E logs none of them: something in the path ends them. No MRA traffic reaches the -C."
    )
    return Scenario(
        "traversal-path-disconnect-pair",
        "traversal-path-disconnect-pair",
        summary,
        site(),
        runs,
        statuses(traversal_path_disconnect="potential"),
        323,
        named=(("traversal-path-disconnect", "expc1", E_FQDN, PUBLIC_E),),
    )


def e_only() -> Scenario:
    clock = Clock(120)
    e_fixed = []
    for t, port in attempt_times(28801):
        e_fixed.append(Fixed(t + 400, inbound(clock, t + 400, port, IDENTITY)))
    run = NodeRun(
        e_node(),
        quiet_plan(),
        e_fixed,
        pems={"server": pem(_leaf("expe1", 0x7502, "example.com"), ISSUING), "ca": pem(ROOT, ISSUING)},
        xconf_extra=e_zone(CLUSTER_FQDN),
    )
    summary = (
        "Only the Expressway-E's bundle (expe1, X15.0.2): its UC traversal zone's TLS Verify Subject Name is "
        "the -C cluster FQDN expc.example.com, and it rejects the Expressway-C's certificate on identity on "
        "every zone attempt ('Peer's TLS certificate identity was unacceptable'). The -C's bundle, which "
        "would show whether its certificate carries that name, is not given."
    )
    return Scenario(
        "traversal-e-only",
        "traversal-e-only.tar.gz",
        summary,
        site(),
        [run],
        statuses(c_given=False, traversal_tls_identity="issue"),
        319,
        named=(("traversal-tls-identity", "expe1", C_IP, C_IP),),
    )


TLS_FAILURES = ("traversal-tls-untrusted", "traversal-tls-identity", "traversal-path-disconnect")


def build() -> list[Built]:
    """Every scenario of the family, built; a zone's TLS failures name the zone port."""
    scenarios = (untrusted_pair(), auth_pair(), tunnel_pair(), disconnect_pair(), e_only())
    built = [build_scenario(s) for s in scenarios]
    for one in built:
        for server in one.manifest["servers"]:
            if server["signature"] in TLS_FAILURES:
                server["ports"] = [ZONE_PORT]
    return built
