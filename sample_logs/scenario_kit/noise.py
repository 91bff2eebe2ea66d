"""Noise: the other processes' lines (tvcs, httpd, edgeconfigprovisioning, xcommand, clusterdb, ntpd,
kernel) and the traffic server's unrelated ones, picked by weight."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable

from .deployment import NodeState
from .log_lines import envelope, http_error_response, kv
from .vocabulary import FIRST_NAMES, LAST_NAMES, tracking_id

NoiseFamily = Callable[[NodeState, int, random.Random], tuple[str, int | None, str]]


def hexid(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def peer_ip(state: NodeState, rng: random.Random) -> str:
    return f"10.{state.spec.ip.split('.')[1]}.{rng.randint(40, 90)}.{rng.randint(2, 250)}"


def tvcs_search(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    domain = state.site.domain
    pairs = [
        ("Event", rng.choice(("Search Attempted", "Search Completed"))),
        ("Service", "SIP"),
        ("Src-alias-type", "SIP"),
        ("Src-alias", f"sip:{rng.choice(FIRST_NAMES)}@{domain}"),
        ("Dst-alias-type", "SIP"),
        ("Dst-alias", f"sip:{rng.choice(LAST_NAMES)}@{domain}"),
        ("Call-serial-number", tracking_id(rng)),
        ("Tag", tracking_id(rng)),
        ("Detail", "searchtype:INVITE"),
        ("Level", "1"),
        ("UTCTime", state.clock.utc(t)),
    ]
    return "tvcs", None, kv(pairs)


def tvcs_sip(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    """A DEBUG SIP OPTIONS keep-alive: `SIPMSG:` with the message on continuation lines."""
    me, peer, port = state.spec.ip, peer_ip(state, rng), rng.randint(25000, 29999)
    head = (
        f'UTCTime="{state.clock.utc(t)}" Module="network.sip" Level="DEBUG": Action="Received" '
        f'Local-ip="{me}" Local-port="5061" Src-ip="{peer}" Src-port="{port}" Msg-Hash="{rng.getrandbits(60)}"'
    )
    body = (
        f"|OPTIONS sip:{me}:5061;transport=tls SIP/2.0",
        f" Via: SIP/2.0/TLS {peer}:{port};branch=z9hG4bK{hexid(rng, 16)};received={peer}",
        f" Call-ID: {hexid(rng, 20)}@{peer}",
        f" CSeq: {rng.randint(1, 90000)} OPTIONS",
        f" From: <sip:{peer}>;tag={hexid(rng, 8)}",
        f" To: <sip:{me}:5061>",
        " Max-Forwards: 70",
        " Content-Length: 0",
    )
    return "tvcs", None, "\n".join([f"{head} SIPMSG:", *body])


def tvcs_tcp(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    detail = rng.choice(("TCP Connecting", "TCP Connection Established", "TCP Connection Closed"))
    pairs = [
        ("UTCTime", state.clock.utc(t)),
        ("Module", "network.tcp"),
        ("Level", "DEBUG"),
    ]
    rest = [
        ("Src-ip", state.spec.ip),
        ("Src-port", str(rng.randint(25000, 29999))),
        ("Dst-ip", peer_ip(state, rng)),
        ("Dst-port", "5061"),
        ("Detail", detail),
    ]
    return "tvcs", None, f"{kv(pairs)}: {kv(rest)}"


def tvcs_dns(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    name = rng.choice(("_cisco-uds._tcp", "_cuplogin._tcp", "_collab-edge._tls", "_sips._tcp"))
    pairs = [("Detail", "Sending DNS query"), ("Name", f"{name}.{state.site.domain}"), ("Type", "SRV")]
    head = f'UTCTime="{state.clock.utc(t)}" Module="network.dns" Level="INFO":'
    return "tvcs", None, f"{head} {kv(pairs)}"


def httpd_ssl(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    pid = state.spec.pid("httpd")
    if rng.random() < 0.04:
        text = (
            f"[ssl:warn] [pid {pid}] AH01909: {state.spec.host}.{state.site.domain}:443:0 server certificate "
            "does NOT include an ID which matches the server name"
        )
    else:
        text = (
            f"[ssl:info] [pid {pid}:tid {rng.randint(139_000_000, 139_999_999)}] AH01964: Connection to child "
            f"{rng.randint(0, 24)} established (server {state.spec.host}.{state.site.domain}:443)"
        )
    return "httpd", pid, text


def httpd_login(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    pairs = [
        ("Event", rng.choice(("Login Successful", "Admin Session Started", "Admin Session Finished"))),
        ("Src-ip", f"10.48.79.{rng.randint(2, 250)}"),
        ("Src-port", str(rng.randint(49152, 65000))),
        ("Dst-ip", state.spec.ip),
        ("Dst-port", "443"),
        ("Detail", "web"),
        ("User", "admin"),
        ("Level", "1"),
        ("UTCTime", state.clock.utc(t)),
    ]
    if rng.random() < 0.5:
        pairs = [pairs[-1], *pairs[:-1]]
    return "httpd", state.spec.pid("httpd"), kv(pairs)


def edge_config(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    head = f'UTCTime="{state.clock.utc(t)}" Module="developer.edgeconfigprovisioning.server" Level="INFO":'
    pairs = [
        ("Detail", rng.choice(("Received get_edge_config request", "Sending get_edge_config response"))),
        ("Username", f"{rng.choice(FIRST_NAMES)[0]}{rng.choice(LAST_NAMES)}"),
        ("Domain", state.site.domain),
        ("Src-ip", "127.0.0.1"),
    ]
    return "edgeconfigprovisioning", state.spec.pid("edgeconfigprovisioning"), f"{head} {kv(pairs)}"


def xcommand(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    command = rng.choice(("xstatus SystemUnit", "xstatus Alternates", "xconfiguration Logger", "xstatus NTP"))
    head = f'UTCTime="{state.clock.utc(t)}" Module="developer.xcommand" Level="INFO":'
    return (
        "xcommand",
        state.spec.pid("xcommand"),
        f'{head} Detail="Command executed" Command="{command}" User="nobody"',
    )


def kernel(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    uptime = (t - state.boot_ms) / 1000
    text = rng.choice(
        (
            "IPv4: martian source 10.0.0.255 from 10.0.0.17, on dev eth0",
            "e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX",
            "nf_conntrack: expectation table full",
            "TCP: request_sock_TCP: Possible SYN flooding on port 5061. Sending cookies.",
        )
    )
    return "kernel", None, f"[{uptime:12.6f}] {text}"


def clusterdb(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    head = f'UTCTime="{state.clock.utc(t)}" Module="developer.clusterdb.restlistener" Level="INFO":'
    detail = rng.choice(
        ("Replication status check complete", "Peer heartbeat received", "Table sync finished")
    )
    return "clusterdb", state.spec.pid("clusterdb"), f'{head} Detail="{detail}" Duration="{rng.random():.3f}"'


def ntpd(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    text = f"adjusting local clock by {rng.uniform(-0.02, 0.02):.6f}s"
    return "ntpd", state.spec.pid("ntpd"), text


def ts_error_response(state: NodeState, t: int, rng: random.Random) -> tuple[str, int | None, str]:
    utc = state.clock.utc(t) if rng.random() < 0.5 else None
    body = http_error_response(
        utc, 403, "Forbidden", f"10.48.79.{rng.randint(2, 250)}", rng.randint(49152, 65000)
    )
    return "traffic_server", state.ts_pid, body


NOISE: tuple[tuple[NoiseFamily, float], ...] = (
    (tvcs_search, 20),
    (tvcs_sip, 4),
    (tvcs_tcp, 14),
    (tvcs_dns, 6),
    (httpd_ssl, 14),
    (httpd_login, 2),
    (edge_config, 8),
    (xcommand, 5),
    (kernel, 2),
    (clusterdb, 8),
    (ntpd, 2),
    (ts_error_response, 0.4),
)


class NoisePicker:
    """Weighted choice of a noise family, with the traffic server's own noise optional."""

    def __init__(self, with_traffic_server: bool = True) -> None:
        families = [(f, w) for f, w in NOISE if with_traffic_server or f is not ts_error_response]
        self.families = [f for f, _ in families]
        self.cumulative: list[float] = []
        total = 0.0
        for _, weight in families:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def line(self, state: NodeState, t: int, rng: random.Random) -> str:
        family = self.families[bisect.bisect(self.cumulative, rng.random() * self.total)]
        process, pid, body = family(state, t, rng)
        return envelope(state.clock, t, state.spec.host, process, pid, body)
