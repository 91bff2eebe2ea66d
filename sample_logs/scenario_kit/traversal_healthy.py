"""Scenario family: a healthy traversal, one bundle per node (issue 15: "Each traversal signature ...
stays quiet on a healthy pair").

`traversal-healthy-pair`: the Expressway-C expc1 and the Expressway-E expe1 (X15.0.2), certificates from
one private CA that both trust (pki.py), names matching the -C zone's peer address (expe1.example.com)
and the -E zone's TLS Verify Subject Name (expc1.example.com). Both xstats show the zone Active and no
alarm (no 35013/35014: the SSH tunnels are up, log-lines.md section 10). The zone's connections are
logged in section 8's `network.tcp` shape only: the -C's "TCP Connecting" / "TCP Connection
Established" to the -E's public address, and the -E's "TCP Connection Established" from the -C on its
private one (the -E's clock 0.8 s ahead). No failure line on either side; MRA logins go through.
"""

from __future__ import annotations

from .clock import Clock
from .log_lines import envelope, kv
from .manifest import Built
from .pki import pem
from .scenario_build import NodeRun, Scenario, build_scenario
from .snapshot import Fixed, Plan
from .traversal_causes import C_FQDN, E_FQDN, c_node, c_zone, e_node, e_zone, site, statuses
from .traversal_pairs import C_IP, ISSUING, PRIVATE_E, PUBLIC_E, ROOT, START, ZONE_PORT, _leaf

ACTIVE_XSTAT = """*s Zones: /
    Zone 1:
      Name: "UC Traversal"
      Status: "Active"
*s/end
OK
"""


def tcp_line(clock: Clock, t: int, host: str, src: tuple[str, int], dst: str, detail: str) -> str:
    """A tvcs `network.tcp` line (log-lines.md section 8): the zone connection from `src` to `dst`."""
    head = kv([("UTCTime", clock.utc(t)), ("Module", "network.tcp"), ("Level", "DEBUG")])
    rest = kv(
        [
            ("Src-ip", src[0]),
            ("Src-port", str(src[1])),
            ("Dst-ip", dst),
            ("Dst-port", str(ZONE_PORT)),
            ("Detail", detail),
        ]
    )
    return envelope(clock, t, host, "tvcs", None, f"{head}: {rest}")


def zone_connections(skew_ms: int) -> tuple[list[Fixed], list[Fixed]]:
    """The -C opens the zone's connections (one every 40 s from a new port); the -E accepts each."""
    clock = Clock(120)
    c_lines: list[Fixed] = []
    e_lines: list[Fixed] = []
    for i in range(4):
        t = START + 15_000 + i * 40_000 + (i * 29) % 60
        port = 26120 + i * 4
        c_lines.append(Fixed(t, tcp_line(clock, t, "expc1", (C_IP, port), PUBLIC_E, "TCP Connecting")))
        c_lines.append(
            Fixed(
                t + 40, tcp_line(clock, t + 40, "expc1", (C_IP, port), PUBLIC_E, "TCP Connection Established")
            )
        )
        t_e = t + skew_ms + 20
        e_lines.append(
            Fixed(t_e, tcp_line(clock, t_e, "expe1", (C_IP, port), PRIVATE_E, "TCP Connection Established"))
        )
    return c_lines, e_lines


def healthy_pair() -> Scenario:
    c_fixed, e_fixed = zone_connections(800)
    runs = [
        NodeRun(
            c_node(),
            Plan(logins=4, background=8, start=START, seconds=240),
            c_fixed,
            pems={"server": pem(_leaf("expc1", 0x7701), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=c_zone(E_FQDN),
            xstat_extra=ACTIVE_XSTAT,
        ),
        NodeRun(
            e_node(),
            Plan(logins=0, background=0, start=START, seconds=240),
            e_fixed,
            pems={"server": pem(_leaf("expe1", 0x7702, "example.com"), ISSUING), "ca": pem(ROOT, ISSUING)},
            xconf_extra=e_zone(C_FQDN),
            xstat_extra=ACTIVE_XSTAT,
        ),
    ]
    summary = (
        "Expressway-C expc1 and Expressway-E expe1 (X15.0.2), one bundle each, a healthy traversal: "
        "certificates from one private CA that both trust, names matching the -C zone's peer address "
        "(expe1.example.com) and the -E zone's TLS Verify Subject Name (expc1.example.com), the zone "
        "Active and no alarm on either node (the SSH tunnels are up). Both logs show the zone's "
        "connections ('TCP Connecting', 'TCP Connection Established') and no failure line; MRA logins "
        "through the -C succeed."
    )
    return Scenario(
        "traversal-healthy-pair",
        "traversal-healthy-pair",
        summary,
        site(),
        runs,
        statuses(traffic=True),
        329,
    )


def build() -> list[Built]:
    return [build_scenario(healthy_pair())]
