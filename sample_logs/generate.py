#!/usr/bin/env python3
"""Deterministic generator for logscope's sample diagnostic bundles and its benchmark snapshot.

    python sample_logs/generate.py                          # (re)write the bundles and scenarios.toml
    python sample_logs/generate.py --check                  # regenerate in a temp dir, compare bytes
    python sample_logs/generate.py --big PATH --size-mb N   # one large snapshot, streamed to disk

Every line is synthetic except the SEED003_* lines, copied from seed document 003 and re-joined where
the publisher wrapped them mid-token (`--check` verifies them against the document when it is beside
the repository). The line formats follow shared/reference/log-lines.md; the xstat/xconf dump formats
and the rest of the bundle layout are our own documented assumption (sample_logs/README.md).

Determinism: every random choice comes from a seeded `random.Random`, times from fixed bases, nothing
iterates a set or dict whose order depends on hashing, and archives are written with mtime 0, uid/gid
0, sorted members and no gzip file name or time stamp.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import gzip
import io
import itertools
import json
import random
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED003_DOC = HERE.parent.parent / "shared" / "seeds" / "003_db971a42f7a3e9e0.txt"
MANIFEST = "scenarios.toml"

TS_MODULE = "network.http.trafficserver"
VERIFY_FAILED = "error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed"
ALERT_UNKNOWN_CA = "error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca"
RSA_PREFIX = "ECDHE-RSA-AES256-GCM-SHA384:"
DEFAULT_CIPHERS = "EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:!PSK:!eNULL:!aNULL:!aDH"
SIGNATURE_IDS = (
    "ts-cert-self-signed",
    "ts-cert-unknown-ca",
    "ts-cert-issuer-missing",
    "ts-cert-expired",
    "ts-cert-name-mismatch",
    "mra-address-not-fqdn",
    "ts-ecdsa-port-split",
    "ts-upstream-rejects-expressway",
    "ts-502-unexplained",
    "ts-cert-verify-other",
)
CERT_SIGNATURES = (
    "ts-cert-self-signed",
    "ts-cert-unknown-ca",
    "ts-cert-issuer-missing",
    "ts-cert-expired",
    "ts-cert-name-mismatch",
    "ts-cert-verify-other",
)
RULE_TYPES = {
    "cucm": "Automatically generated rule for CUCM server",
    "imp": "Automatically generated rule for IM&P server",
    "cuc": "Automatically generated rule for Unity Connection server",
}
USER_AGENTS = (
    "Jabber-Win-14.1.5.57909",
    "Jabber-Mac-14.1.4.305",
    "Jabber-iOS-14.1.3",
    "Jabber-Android-14.1.3",
)
FIRST_NAMES = (
    "anna",
    "ben",
    "carla",
    "dmitri",
    "elif",
    "farid",
    "grace",
    "hiro",
    "ines",
    "jonas",
    "kofi",
    "lena",
    "mateo",
    "nora",
    "omar",
    "priya",
)
LAST_NAMES = (
    "adams",
    "berg",
    "chen",
    "diaz",
    "eze",
    "fischer",
    "garcia",
    "haas",
    "ito",
    "jansen",
    "kim",
    "lopez",
    "meyer",
    "okafor",
    "rossi",
    "singh",
)


# --- time ---------------------------------------------------------------------------------------


def utc_ms(text: str) -> int:
    """`2024-06-12T07:58:00` (UTC) -> epoch milliseconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


class Clock:
    """Formats epoch milliseconds as one node's envelope time (local, with offset) and as UTCTime.

    The whole-second part is cached: a snapshot writes many lines per second.
    """

    def __init__(self, offset_minutes: int) -> None:
        self.offset_ms = offset_minutes * 60_000
        self.suffix = offset_text(offset_minutes)
        self._local: dict[int, str] = {}
        self._utc: dict[int, str] = {}

    def local(self, t_ms: int) -> str:
        sec, ms = divmod(t_ms + self.offset_ms, 1000)
        return f"{self._second(self._local, sec, '%Y-%m-%dT%H:%M:%S')}.{ms:03d}{self.suffix}"

    def utc(self, t_ms: int) -> str:
        sec, ms = divmod(t_ms, 1000)
        return f"{self._second(self._utc, sec, '%Y-%m-%d %H:%M:%S')},{ms:03d}"

    def stamp(self, t_ms: int) -> str:
        """Local time as the bundle file names write it: YYYYMMDD_HHMMSS."""
        return time.strftime("%Y%m%d_%H%M%S", time.gmtime((t_ms + self.offset_ms) // 1000))

    @staticmethod
    def _second(cache: dict[int, str], sec: int, pattern: str) -> str:
        text = cache.get(sec)
        if text is None:
            if len(cache) > 4096:
                cache.clear()
            text = cache[sec] = time.strftime(pattern, time.gmtime(sec))
        return text


# --- identifiers ----------------------------------------------------------------------------------


def route_segment(domain: str, scheme: str, host: str, port: int) -> str:
    """The MRA route path segment: base64 of `<domain>/<scheme>/<host>/<port>`, padding stripped."""
    return base64.b64encode(f"{domain}/{scheme}/{host}/{port}".encode()).decode().rstrip("=")


def tracking_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def user_names(rng: random.Random, count: int) -> list[str]:
    pairs = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    return [f"{first[0]}{last}" for first, last in rng.sample(pairs, count)]


# --- line families: the envelope and one builder per body shape ------------------------------------


def envelope(clock: Clock, t_ms: int, host: str, process: str, pid: int | None, body: str) -> str:
    tag = process if pid is None else f"{process}[{pid}]"
    return f"{clock.local(t_ms)} {host} {tag}: {body}"


def kv(pairs: list[tuple[str, str]]) -> str:
    return " ".join(f'{key}="{value}"' for key, value in pairs)


def ts_head(utc: str, level: str, detail: str, txn: int, tracking: str) -> str:
    return (
        f'UTCTime="{utc}" Module="{TS_MODULE}" Level="{level}": Detail="{detail}" '
        f'Txn-id="{txn}" TrackingID="{tracking}"'
    )


def message(first_line: str, httpmsg: tuple[str, ...] | None) -> str:
    """`Msg="..."` on INFO events; `HTTPMSG:` and the message on continuation lines on DEBUG ones."""
    if httpmsg is None:
        return f'Msg="{first_line}"'
    return "\n".join([f"HTTPMSG:\n|{first_line}", *(f" {header}" for header in httpmsg)])


def level_of(httpmsg: tuple[str, ...] | None) -> str:
    return "INFO" if httpmsg is None else "DEBUG"


def receive_request(
    utc: str, txn: int, tracking: str, src_port: int, request: str, httpmsg: tuple[str, ...] | None = None
) -> str:
    via = "" if httpmsg is None else " "
    head = ts_head(utc, level_of(httpmsg), "Receive Request", txn, tracking)
    return (
        f'{head} Src-ip="127.0.0.1" Src-port="{src_port}" Last-via-addr="{via}" {message(request, httpmsg)}'
    )


def sending_request(
    utc: str,
    txn: int,
    tracking: str,
    ip: str,
    port: int,
    request: str,
    httpmsg: tuple[str, ...] | None = None,
) -> str:
    head = ts_head(utc, level_of(httpmsg), "Sending Request", txn, tracking)
    return f'{head} Dst-ip="{ip}" Dst-port="{port}" {message(request, httpmsg)}'


def receive_response(
    utc: str, txn: int, ip: str, port: int, status_line: str, httpmsg: tuple[str, ...] | None = None
) -> str:
    head = ts_head(utc, level_of(httpmsg), "Receive Response", txn, "")
    return f'{head} Src-ip="{ip}" Src-port="{port}" {message(status_line, httpmsg)}'


def sending_response(utc: str, txn: int, client_port: int, status_line: str) -> str:
    head = ts_head(utc, "INFO", "Sending Response", txn, "")
    return f'{head} Dst-ip="127.0.0.1" Dst-port="{client_port}" Msg="{status_line}"'


def status_line(status: int) -> str:
    """Tomcat sends no reason phrase ("HTTP/1.1 200 "); the traffic server's own 502 has one."""
    return "HTTP/1.1 502 connect failed" if status == 502 else f"HTTP/1.1 {status} "


def request_allowed(
    utc: str, user: str, method: str, url: str, rule: str, rule_type: str, utc_first: bool
) -> str:
    pairs = [
        ("Event", "Request Allowed"),
        ("Detail", "Access allowed"),
        ("Reason", "In allow list"),
        ("Username", user),
        ("Deployment", "1"),
        ("Method", method),
        ("Request", url),
        ("Rule", rule),
        ("Match", "prefix"),
        ("Type", rule_type),
    ]
    stamp = [("UTCTime", utc)]
    return kv(stamp + pairs if utc_first else pairs + stamp)


def http_error_response(utc: str | None, status: int, reason: str, ip: str, port: int) -> str:
    pairs = [("Event", "Sending HTTP error response"), ("Status", str(status)), ("Reason", reason)]
    pairs += [("Dst-ip", ip), ("Dst-port", str(port))]
    return kv(pairs if utc is None else [*pairs, ("UTCTime", utc)])


def verify_failed(thread: int, sni: str, action: str, error: str, server: str, ip: str, depth: int) -> str:
    return (
        f"[ET_NET {thread}] WARNING: Core server certificate verification failed for ({sni}). "
        f"Action={action} Error={error} server={server}({ip}) depth={depth}"
    )


def name_not_in_cert(thread: int, form: str, sni: str, action: str, server: str, ip: str) -> str:
    return (
        f"[ET_NET {thread}] WARNING: {form} ({sni}) not in certificate. Action={action} server={server}({ip})"
    )


def ssl_connect_failed(thread: int, name: str, openssl_error: str) -> str:
    return f"[ET_NET {thread}] ERROR: SSL connection failed for '{name}': {openssl_error}"


def diags_line(stamp: str, body: str) -> str:
    """Stock Apache Traffic Server diags.log: `[Nov 22 15:10:45.188] <body>`."""
    return f"[{stamp}] {body}"


def errorlog_connect_fail(stamp: str, ip: str, port: int, url: str, attempts: int) -> str:
    code = "ENET_SSL_CONNECT_FAILED [-20104]"
    return (
        f"{stamp} CONNECT: attempt fail [CONNECTION_ERROR] to {ip}:{port} for host='127.0.0.1' "
        f"connection_result={code} error={code} attempts={attempts} url='{url}'"
    )


# --- the deployment model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    """A CUCM / IM&P / Unity node as the MRA clients are told to reach it (route host) and its IP."""

    name: str
    ip: str
    kind: str


@dataclass(frozen=True)
class Outcome:
    """What the traffic server logs and answers for requests to one (upstream, port)."""

    status: int = 200
    verify_error: str | None = None
    depth: int = 0
    name_check: str | None = None
    action: str = "Terminate"
    ssl_error: str | None = None
    warn_rate: float = 1.0
    signature: str | None = None

    @property
    def fails(self) -> bool:
        return self.status >= 500

    @property
    def warns(self) -> bool:
        return self.verify_error is not None or self.name_check is not None


OK = Outcome()


def verify_failure(error: str, depth: int, signature: str) -> Outcome:
    return Outcome(502, verify_error=error, depth=depth, ssl_error=VERIFY_FAILED, signature=signature)


def name_failure() -> Outcome:
    return Outcome(502, name_check="SNI", ssl_error=VERIFY_FAILED, signature="ts-cert-name-mismatch")


def permissive(error: str, signature: str, warn_rate: float) -> Outcome:
    """Policy permissive: the warning says Action=Continue and the request still succeeds."""
    return Outcome(200, verify_error=error, action="Continue", warn_rate=warn_rate, signature=signature)


@dataclass
class Site:
    domain: str
    cucms: tuple[Upstream, ...]
    imps: tuple[Upstream, ...] = ()
    cucs: tuple[Upstream, ...] = ()
    # (node host or None for every node, upstream name, port) -> outcome; anything else is OK
    outcomes: dict[tuple[str | None, str, int], Outcome] = field(default_factory=dict)
    missing_paths: tuple[str, ...] = ("/jabber-config-user.xml",)

    def outcome(self, host: str, upstream: Upstream, port: int) -> Outcome:
        found = self.outcomes.get((host, upstream.name, port)) or self.outcomes.get(
            (None, upstream.name, port)
        )
        return found or OK

    def upstreams(self) -> tuple[Upstream, ...]:
        return self.cucms + self.imps + self.cucs


@dataclass
class NodeSpec:
    host: str
    ip: str
    offset_minutes: int
    tz_name: str
    version: str
    ts_pid: int
    first_txn: int
    ciphers: str = DEFAULT_CIPHERS
    verify_origin: str | None = "On"
    tls_verify_mode: str = "On"
    debug_rate: float = 0.05
    debug_loggers: bool = False
    peers: tuple[str, ...] = ()
    uptime_s: int = 1_209_600

    def pid(self, process: str) -> int:
        """A stable pid per process, derived from the traffic_server pid (no hashing of strings)."""
        return 1000 + (self.ts_pid * 7 + sum(map(ord, process)) * 131) % 30000


@dataclass(frozen=True)
class Step:
    """One planned proxied request."""

    t0: int
    upstream: Upstream
    port: int
    scheme: str
    method: str
    path: str
    user: str


LOGIN_STEPS = (
    ("cucm", 8443, "https", "GET", "/cucm-uds/version"),
    ("cucm", 8443, "https", "GET", "/cucm-uds/user/{user}"),
    ("cucm", 8443, "https", "GET", "/cucm-uds/user/{user}/devices"),
    ("tftp", 6970, "http", "GET", "/jabber-config.xml"),
    ("tftp", 6970, "http", "GET", "/jabber-config-user.xml"),
    ("tftp", 6972, "https", "GET", "/CSF{user}.cnf.xml"),
    ("imp", 8443, "https", "POST", "/EPASSoap/service/v105"),
    ("cuc", 443, "https", "GET", "/vmrest/version/product"),
    ("cuc", 443, "https", "GET", "/vmrest/mailbox/folders/inbox/messages?pageNumber=1&rowsPerPage=25"),
)
BACKGROUND_STEPS = {
    "imp": ("POST", 8443, "/EPASSoap/service/v105"),
    "cuc": ("GET", 443, "/vmrest/mailbox/folders/inbox/messages?pageNumber=1&rowsPerPage=25"),
    "cucm": ("GET", 8443, "/cucm-uds/user/{user}/devices"),
}


def plan_login(site: Site, host: str, user: str, t0: int, rng: random.Random) -> list[Step]:
    """A Jabber MRA login: UDS on 8443, TFTP on 6970/6972, IM&P, Unity. A UDS 502 ends it."""
    targets = {
        "cucm": rng.choice(site.cucms),
        "tftp": rng.choice(site.cucms),
        "imp": rng.choice(site.imps) if site.imps else None,
        "cuc": rng.choice(site.cucs) if site.cucs else None,
    }
    steps: list[Step] = []
    t = t0
    for kind, port, scheme, method, template in LOGIN_STEPS:
        upstream = targets[kind]
        if upstream is None:
            continue
        step = Step(t, upstream, port, scheme, method, template.format(user=user), user)
        steps.append(step)
        if kind == "cucm" and site.outcome(host, upstream, port).fails:
            if rng.random() < 0.5:
                steps.append(replace(step, t0=t + rng.randint(1500, 4000)))
            break
        t += rng.randint(60, 450)
    return steps


def plan_background(site: Site, user: str, t0: int, rng: random.Random) -> Step:
    """A request from an already logged-in client, preferably to an IM&P or Unity node."""
    kinds = [kind for kind, pool in (("imp", site.imps), ("cuc", site.cucs)) if pool] or ["cucm"]
    kind = rng.choice(kinds)
    pool = {"imp": site.imps, "cuc": site.cucs, "cucm": site.cucms}[kind]
    method, port, template = BACKGROUND_STEPS[kind]
    return Step(t0, rng.choice(pool), port, "https", method, template.format(user=user), user)


# --- one transaction -> its lines -------------------------------------------------------------------


@dataclass
class NodeState:
    """What changes while one node's log is written: its clock, client ports and Txn-ids."""

    spec: NodeSpec
    site: Site
    clock: Clock
    next_port: int = 33000
    ts_pid: int = 0
    boot_ms: int = 0

    def client_port(self, rng: random.Random) -> int:
        self.next_port += rng.randint(1, 3)
        if self.next_port > 60999:
            self.next_port = 32768
        return self.next_port


def rule_prefix(path: str) -> str:
    for prefix in ("/cucm-uds/user/", "/cucm-uds/", "/EPASSoap/service/", "/vmrest/"):
        if path.startswith(prefix):
            return prefix
    return "/"


def client_headers(domain: str, user_agent: str) -> tuple[str, ...]:
    return (
        f"Host: vcs_control.{domain}:8443",
        "Accept: */*",
        f"User-Agent: {user_agent}",
        "Connection: keep-alive",
    )


def upstream_headers(host: str, port: int, user_agent: str) -> tuple[str, ...]:
    return (f"Host: {host}:{port}", "Accept: */*", f"User-Agent: {user_agent}")


def response_headers(t_ms: int, length: int) -> tuple[str, ...]:
    date = formatdate(t_ms / 1000, usegmt=True)
    return ("Content-Type: application/xml;charset=UTF-8", f"Content-Length: {length}", f"Date: {date}")


def diagnostics(outcome: Outcome, upstream: Upstream, thread: int) -> list[str]:
    """The ATS WARNING/ERROR bodies an outcome writes (an ERROR only when the connection broke)."""
    lines = []
    if outcome.verify_error:
        lines.append(
            verify_failed(
                thread,
                upstream.name,
                outcome.action,
                outcome.verify_error,
                upstream.name,
                upstream.ip,
                outcome.depth,
            )
        )
    if outcome.name_check:
        lines.append(
            name_not_in_cert(
                thread, outcome.name_check, upstream.name, outcome.action, upstream.name, upstream.ip
            )
        )
    if outcome.ssl_error and outcome.fails:
        lines.append(ssl_connect_failed(thread, upstream.name, outcome.ssl_error))
    return lines


@dataclass
class TxnResult:
    events: list[tuple[int, str]]
    status: int
    warned: bool


def transaction_events(state: NodeState, step: Step, txn: int, rng: random.Random) -> TxnResult:
    """Receive Request -> Request Allowed -> Sending Request(s) -> [warnings] -> Receive/Sending Response."""
    site, spec, utc = state.site, state.spec, state.clock.utc
    outcome = site.outcome(spec.host, step.upstream, step.port)
    tracking, src_port = tracking_id(rng), state.client_port(rng)
    route = route_segment(site.domain, step.scheme, step.upstream.name, step.port)
    request = f"{step.method} http://vcs_control.{site.domain}:8443/{route}{step.path} HTTP/1.1"
    upstream_request = f"{step.method} {step.path} HTTP/1.1"
    debug = rng.random() < spec.debug_rate
    agent = rng.choice(USER_AGENTS)
    t = step.t0
    events = [(t, receive_request(utc(t), txn, tracking, src_port, request))]
    if debug:
        headers = client_headers(site.domain, agent)
        events.append((t, receive_request(utc(t), txn, tracking, src_port, request, headers)))
    if rng.random() < 0.9:
        t += rng.randint(1, 7)
        url = f"{step.scheme}://{step.upstream.name}:{step.port}{step.path}"
        rule = f"{step.scheme}://{step.upstream.name}:{step.port}{rule_prefix(step.path)}"
        allowed = request_allowed(
            utc(t), step.user, step.method, url, rule, RULE_TYPES[step.upstream.kind], rng.random() < 0.15
        )
        events.append((t, allowed))

    def send(at: int) -> None:
        events.append(
            (at, sending_request(utc(at), txn, tracking, step.upstream.ip, step.port, upstream_request))
        )

    t += rng.randint(0, 6)
    send(t)
    if debug:
        headers = upstream_headers(step.upstream.name, step.port, agent)
        events.append(
            (
                t,
                sending_request(
                    utc(t), txn, tracking, step.upstream.ip, step.port, upstream_request, headers
                ),
            )
        )
    thread = rng.randint(0, 3)
    if outcome.fails:
        if rng.random() < 0.7:
            t += rng.randint(8, 12)
            send(t)
        t += rng.randint(0, 1)
        events += [(t, body) for body in diagnostics(outcome, step.upstream, thread)]
        t += rng.randint(5, 10)
        events.append((t, sending_response(utc(t), txn, src_port, status_line(502))))
        return TxnResult(events, 502, outcome.warns or outcome.ssl_error is not None)
    warned = outcome.warns and step.scheme == "https" and rng.random() < outcome.warn_rate
    if warned:
        t += rng.randint(3, 10)
        events += [(t, body) for body in diagnostics(outcome, step.upstream, thread)]
    elif rng.random() < 0.03:
        t += rng.randint(10, 30)
        send(t)
    status = 404 if step.path in site.missing_paths else outcome.status
    t += rng.randint(15, 90)
    events.append((t, receive_response(utc(t), txn, step.upstream.ip, step.port, status_line(status))))
    if debug:
        headers = response_headers(t, rng.randint(180, 9000))
        events.append(
            (t, receive_response(utc(t), txn, step.upstream.ip, step.port, status_line(status), headers))
        )
    t += rng.randint(0, 1)
    events.append((t, sending_response(utc(t), txn, src_port, status_line(status))))
    return TxnResult(events, status, warned)


# --- noise: the other processes and the traffic server's unrelated lines ----------------------------


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


# --- a snapshot: plan, number, render -----------------------------------------------------------------


@dataclass
class Tally:
    """What the construction put in a snapshot, for the manifest."""

    transactions: int = 0
    status_502: int = 0
    # (signature, node, upstream name, ip) -> ports
    servers: dict[tuple[str, str, str, str], set[int]] = field(default_factory=dict)
    clean_https: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    failing_https: dict[tuple[str, str], set[int]] = field(default_factory=dict)

    def note(self, signature: str, host: str, upstream: Upstream, port: int) -> None:
        self.servers.setdefault((signature, host, upstream.name, upstream.ip), set()).add(port)

    def record(self, host: str, step: Step, outcome: Outcome, result: TxnResult) -> None:
        self.transactions += 1
        self.status_502 += result.status == 502
        if outcome.signature and (outcome.fails or result.warned):
            self.note(outcome.signature, host, step.upstream, step.port)
        if result.status == 502 and not outcome.warns and outcome.ssl_error is None:
            self.note("ts-502-unexplained", host, step.upstream, step.port)
        if not is_fqdn(step.upstream.name):
            self.note("mra-address-not-fqdn", host, step.upstream, step.port)
        if step.scheme == "https":
            key = (host, step.upstream.name)
            if outcome.warns and (result.warned or outcome.fails):
                self.failing_https.setdefault(key, set()).add(step.port)
            elif not outcome.fails:
                self.clean_https.setdefault(key, set()).add(step.port)

    def port_splits(self, site: Site) -> None:
        """Per node: a server with https ports that only ever succeed and others that fail verification."""
        by_name = {u.name: u for u in site.upstreams()}
        for (host, name), failing in sorted(self.failing_https.items()):
            if self.clean_https.get((host, name), set()) - failing:
                for port in sorted(failing):
                    self.note("ts-ecdsa-port-split", host, by_name[name], port)


def is_fqdn(host: str) -> bool:
    labels = host.split(".")
    return len(labels) >= 2 and not all(label.isdigit() for label in labels)


@dataclass
class Fixed:
    """Lines placed at their own time (seed document lines); `txn`/`status` mark a transaction's start."""

    t: int
    text: str
    txn: int | None = None
    status: int | None = None


@dataclass
class Plan:
    logins: int
    background: int
    start: int
    seconds: int
    quiet: tuple[tuple[int, int], ...] = ()
    extra: tuple[Step, ...] = ()

    @property
    def end(self) -> int:
        return self.start + self.seconds * 1000


def plan_steps(site: Site, host: str, plan: Plan, users: list[str], rng: random.Random) -> list[Step]:
    """Logins and background requests in the window; none start inside a quiet interval."""
    steps: list[Step] = []
    for user in users[: plan.logins]:
        steps += plan_login(site, host, user, rng.randint(plan.start, plan.end - 8000), rng)
    for _ in range(plan.background):
        steps.append(plan_background(site, rng.choice(users), rng.randint(plan.start, plan.end - 1000), rng))
    steps = [s for s in steps if not any(a <= s.t0 <= b for a, b in plan.quiet)] + list(plan.extra)
    return sorted(steps, key=lambda s: (s.t0, s.path, s.upstream.name))


def number_steps(steps: list[Step], first: int, reserved: dict[int, int]) -> list[int]:
    """Txn-ids in Receive Request order, skipping the ids fixed lines own (id -> their start time).

    Raises ValueError when the result would not increase with time across generated and fixed ids.
    """
    ids: list[int] = []
    next_id = first
    for _ in steps:
        while next_id in reserved:
            next_id += 1
        ids.append(next_id)
        next_id += 1
    timeline = sorted(
        [(s.t0, i) for s, i in zip(steps, ids, strict=True)] + [(t, i) for i, t in reserved.items()]
    )
    numbers = [i for _, i in timeline]
    if any(b <= a for a, b in itertools.pairwise(numbers)):
        raise ValueError("generated Txn-ids would not increase in time around the fixed ones")
    return ids


def first_txn(steps: list[Step], default: int, reserved: dict[int, int]) -> int:
    """With fixed transactions, start low enough that the generated ids run up to the first fixed id."""
    if not reserved:
        return default
    lowest = min(reserved)
    return lowest - sum(1 for s in steps if s.t0 < reserved[lowest])


def transaction_records(
    state: NodeState, steps: list[Step], ids: list[int], rng: random.Random, tally: Tally
) -> Iterator[tuple[int, str]]:
    spec, site = state.spec, state.site
    for step, txn in zip(steps, ids, strict=True):
        result = transaction_events(state, step, txn, rng)
        tally.record(spec.host, step, site.outcome(spec.host, step.upstream, step.port), result)
        for t, body in result.events:
            yield t, envelope(state.clock, t, spec.host, "traffic_server", state.ts_pid, body)


def noise_records(
    state: NodeState, plan: Plan, count: int, picker: NoisePicker, rng: random.Random
) -> Iterator[tuple[int, str]]:
    for _ in range(count):
        t = rng.randint(plan.start, plan.end)
        yield t, picker.line(state, t, rng)


def render_snapshot(
    state: NodeState,
    plan: Plan,
    users: list[str],
    rng: random.Random,
    tally: Tally,
    noise_per_second: float,
    fixed: list[Fixed],
    traffic: bool,
) -> list[str]:
    """All lines of one node's snapshot in time order (fixed lines first among equal times)."""
    records = [(item.t, item.text) for item in fixed]
    reserved = {item.txn: item.t for item in fixed if item.txn is not None}
    for item in fixed:
        if item.txn is not None:
            tally.transactions += 1
            tally.status_502 += item.status == 502
    if traffic:
        steps = plan_steps(state.site, state.spec.host, plan, users, rng)
        ids = number_steps(steps, first_txn(steps, state.spec.first_txn, reserved), reserved)
        records += transaction_records(state, steps, ids, rng, tally)
    picker = NoisePicker(with_traffic_server=traffic)
    records += noise_records(state, plan, int(noise_per_second * plan.seconds), picker, rng)
    ordered = sorted(range(len(records)), key=lambda i: (records[i][0], i))
    return [records[i][1] for i in ordered]


# --- node facts: xstat and xconf dumps ------------------------------------------------------------------


def xstat_text(spec: NodeSpec, clock: Clock, t_end: int, uptime_s: int) -> str:
    build = f"{sum(map(ord, spec.version)) * 7919 % 999983:06d}"
    lines = [
        "*s SystemUnit:",
        '    Product: "TANDBERG VCS"',
        f"    Uptime: {uptime_s}",
        f'    SystemTime: "{clock.utc(t_end)[:19]}"',
        f'    TimeZone: "{spec.tz_name}"',
        "    Software:",
        f'      Version: "{spec.version}"',
        f'      Build: "{build}"',
        '      Name: "s42700"',
        "    Hardware:",
        '      Version: "VMware"',
        f'      SerialNumber: "{spec.ts_pid * 104729 % 0xFFFFFFF:07X}"',
        "*s/end",
    ]
    return "\n".join(lines) + "\n"


def xconf_text(spec: NodeSpec, site: Site) -> str:
    def c(path: str, value: str) -> str:
        return f'*c xConfiguration {path}: "{value}"'

    lines = [
        c("SystemUnit Name", spec.host),
        c("IP DNS Hostname", spec.host),
        c("IP DNS Domain Name", site.domain),
        c("Ethernet 1 IP V4 Address", spec.ip),
        c("TimeZone Name", spec.tz_name),
        c("NTP Server 1 Address", f"ntp.{site.domain}"),
        c("UnifiedCommunications Mode", "MobileRemoteAccess"),
        c("Ciphers UcClientTlsCiphers", spec.ciphers),
    ]
    if spec.verify_origin is not None:
        lines.append(c("EdgeConfigServer VerifyOriginServer", spec.verify_origin))
    for index, peer in enumerate(spec.peers, start=1):
        lines.append(c(f"Alternates Peer {index} Address", peer))
    for key, pool in (("UnifiedCM", site.cucms), ("ImpServer", site.imps), ("UnityConnection", site.cucs)):
        for index, upstream in enumerate(pool, start=1):
            lines.append(c(f"EdgeConfigServer {key} {index} Address", upstream.name))
            lines.append(c(f"EdgeConfigServer {key} {index} TlsVerifyMode", spec.tls_verify_mode))
            lines.append(c(f"EdgeConfigServer {key} {index} Deployment", "1"))
    if spec.debug_loggers:
        for logger in ("http", "http_trans", "iocore", "ssl"):
            lines.append(c(f"Logger Developer developer.trafficserver.{logger} Level", "DEBUG"))
    return "\n".join([*lines, "*c/end"]) + "\n"


# --- archives -------------------------------------------------------------------------------------------


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A reproducible .tar.gz: sorted members, mtime 0, uid/gid 0, no gzip name or time stamp."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as stream:
        stream.write(raw.getvalue())
    return packed.getvalue()


# --- scenarios ------------------------------------------------------------------------------------------


@dataclass
class NodeRun:
    spec: NodeSpec
    plan: Plan
    fixed: list[Fixed] = field(default_factory=list)


@dataclass
class Scenario:
    name: str
    path: str
    summary: str
    site: Site
    runs: list[NodeRun]
    expect: dict[str, str]
    seed: int
    noise_per_second: float = 4.0
    traffic: bool = True
    verbatim: tuple[str, ...] = ()


@dataclass
class Built:
    files: dict[str, bytes]
    manifest: dict


def node(host: str, ip: str, offset: int, tz: str, version: str, ts_pid: int, first: int, **more) -> NodeSpec:
    return NodeSpec(host, ip, offset, tz, version, ts_pid, first, **more)


def upstreams(domain: str, net: str, kind: str, names: list[str], first_octet: int) -> tuple[Upstream, ...]:
    return tuple(
        Upstream(f"{name}.{domain}", f"{net}.{first_octet + i}", kind) for i, name in enumerate(names)
    )


def expect(overrides: dict[str, str], default: str = "ok", omit: tuple[str, ...] = ()) -> dict[str, str]:
    result = {sid: default for sid in SIGNATURE_IDS if sid not in omit}
    result.update(overrides)
    return result


def standard_site(domain: str, net: str, cucms: int = 2, unity: int = 1) -> Site:
    return Site(
        domain,
        upstreams(domain, net, "cucm", [f"cucm{i + 1}" for i in range(cucms)], 11),
        upstreams(domain, net, "imp", ["imp1"], 21),
        upstreams(domain, net, "cuc", [f"cuc{i + 1}" for i in range(unity)], 31),
    )


def single(
    name: str,
    summary: str,
    site: Site,
    spec: NodeSpec,
    plan: Plan,
    statuses: dict[str, str],
    seed: int,
    **more,
) -> Scenario:
    return Scenario(name, f"{name}.tar.gz", summary, site, [NodeRun(spec, plan)], statuses, seed, **more)


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
    return single("healthy-mra-login", summary, site, spec, plan, expect({}), 101)


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
    statuses = expect({"ts-cert-self-signed": "issue", "ts-ecdsa-port-split": "potential"})
    return single("x14.2-ecdsa-self-signed-6972", summary, site, spec, plan, statuses, 102)


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


# --- the two seed-003 scenarios: the document's lines, re-joined, amid generated noise ------------------

SEED003_SELF_SIGNED = (
    '2022-07-11T18:55:25.910+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:25,910" Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="189" TrackingID="6af9a674-9ebc-41ea-868e-90e7309a758c" Src-ip="127.0.0.1" Src-port="35764" Last-via-addr="" Msg="GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy9jdWNTLnN0ZXZlbi5sYWIVODQ0Mw/cucm-uds/user/emusk/devices HTTP/1.1"',
    '2022-07-11T18:55:25.917+02:00 vcsc traffic_server[18242]: Event="Request Allowed" Detail="Access allowed" Reason="In allow list" Username="emusk" Deployment="1" Method="GET" Request="https://cucm.steven.lab:8443/cucm-uds/user/emusk/devices" Rule="https://cucm.steven.lab:8443/cucm-uds/user/" Match="prefix" Type="Automatically generated rule for CUCM server" UTCTime="2022-07-11 16:55:25,916"',
    '2022-07-11T18:55:25.917+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:25,916" Module="network.http.trafficserver" Level="INFO": Detail="Sending Request" Txn-id="189" TrackingID="6af9a674-9ebc-41ea-868e-90e7309a758c" Dst-ip="10.48.36.215" Dst-port="8443" Msg="GET /cucm-uds/user/emusk/devices HTTP/1.1"',
    '2022-07-11T18:55:25.955+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:25,955" Module="network.http.trafficserver" Level="INFO": Detail="Receive Response" Txn-id="189" TrackingID="" Src-ip="10.48.36.215" Src-port="8443" Msg="HTTP/1.1 200 "',
    '2022-07-11T18:55:25.956+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:25,955" Module="network.http.trafficserver" Level="INFO": Detail="Sending Response" Txn-id="189" TrackingID="" Dst-ip="127.0.0.1" Dst-port="35764" Msg="HTTP/1.1 200 "',
    '2022-07-11T18:55:26.000+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,000" Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" Src-ip="127.0.0.1" Src-port="35766" Last-via-addr="" Msg="GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy9jdWNTLnN0ZXZlbi5sYWIVNjk3Mg/CSFemusk.cnf.xml HTTP/1.1"',
    '2022-07-11T18:55:26.006+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,006" Module="network.http.trafficserver" Level="INFO": Detail="Sending Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" Dst-ip="10.48.36.215" Dst-port="6972" Msg="GET /CSFemusk.cnf.xml HTTP/1.1"',
    '2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,016" Module="network.http.trafficserver" Level="INFO": Detail="Sending Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" Dst-ip="10.48.36.215" Dst-port="6972" Msg="GET /CSFemusk.cnf.xml HTTP/1.1"',
    "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: Core server certificate verification failed for (cucm.steven.lab). Action=Terminate Error=self signed certificate server=cucm.steven.lab(10.48.36.215) depth=0",
    "2022-07-11T18:55:26.016+02:00 vscs traffic_server[18242]: [ET_NET 0] ERROR: SSL connection failed for 'cucm.steven.lab': error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed",
    '2022-07-11T18:55:26.024+02:00 vscs traffic_server[18242]: UTCTime="2022-07-11 16:55:26,024" Module="network.http.trafficserver" Level="INFO": Detail="Sending Response" Txn-id="191" TrackingID="" Dst-ip="127.0.0.1" Dst-port="35766" Msg="HTTP/1.1 502 connect failed"',
)
SEED003_IP_DEBUG_REQUEST = (
    '2022-07-11T19:49:01.472+02:00 vcsc traffic_server[3916]: UTCTime="2022-07-11 17:49:01,472" Module="network.http.trafficserver" Level="DEBUG": Detail="Receive Request" Txn-id="144" TrackingID="0a334fa8-41e9-4b97-adf4-e165372c38cb" Src-ip="127.0.0.1" Src-port="30044" Last-via-addr=" " HTTPMSG:',
    "|GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw/cucm-uds/user/emusk/devices?max=100 HTTP/1.1",
)
SEED003_IP_SENDING = (
    '2022-07-11T19:49:01.478+02:00 vcsc traffic_server[3916]: UTCTime="2022-07-11 17:49:01,478" Module="network.http.trafficserver" Level="INFO": Detail="Sending Request" Txn-id="144" TrackingID="0a334fa8-41e9-4b97-adf4-e165372c38cb" Dst-ip="10.48.36.215" Dst-port="8443" Msg="GET /cucm-uds/user/emusk/devices?max=100 HTTP/1.1"',
)
SEED003_IP_DEBUG_SENDING = (
    '2022-07-11T19:49:01.478+02:00 vcsc traffic_server[3916]: UTCTime="2022-07-11 17:49:01,478" Module="network.http.trafficserver" Level="DEBUG": Detail="Sending Request" Txn-id="144" TrackingID="0a334fa8-41e9-4b97-adf4-e165372c38cb" Dst-ip="10.48.36.215" Dst-port="8443" HTTPMSG:',
    "|GET /cucm-uds/user/emusk/devices?max=100 HTTP/1.1",
)
SEED003_IP_FAILURE = (
    "2022-07-11T19:49:01.491+02:00 vcsc traffic_server[3916]: [ET_NET 2] WARNING: SNI (10.48.36.215) not in certificate. Action=Terminate server=10.48.36.215(10.48.36.215)",
    "2022-07-11T19:49:01.491+02:00 vcsc traffic_server[3916]: [ET_NET 2] ERROR: SSL connection failed for '10.48.36.215': error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed",
)
SEED003_IP_LINES = (
    SEED003_IP_DEBUG_REQUEST + SEED003_IP_SENDING + SEED003_IP_DEBUG_SENDING + SEED003_IP_FAILURE
)
SEED003_VERBATIM = SEED003_SELF_SIGNED + SEED003_IP_LINES


def line_time(line: str) -> int:
    return int(datetime.fromisoformat(line.split(" ", 1)[0]).timestamp() * 1000)


def seed_site(cucm_name: str) -> Site:
    domain = "steven.lab"
    return Site(
        domain,
        (Upstream(cucm_name, "10.48.36.215", "cucm"),),
        (Upstream(f"imp.{domain}", "10.48.36.216", "imp"),),
        (Upstream(f"cuc.{domain}", "10.48.36.217", "cuc"),),
    )


def seed_node(ts_pid: int, debug_rate: float, debug_loggers: bool) -> NodeSpec:
    return node(
        "vcsc",
        "10.48.36.20",
        120,
        "Europe/Brussels",
        "X14.2.0",
        ts_pid,
        1,
        tls_verify_mode="Off",
        debug_rate=debug_rate,
        debug_loggers=debug_loggers,
    )


def with_headers(lines: tuple[str, ...], headers: tuple[str, ...]) -> str:
    """A DEBUG event from the document whose `...` we continue with generated header lines."""
    return "\n".join([*lines, *(f" {header}" for header in headers)])


def seed003_self_signed() -> Scenario:
    site = seed_site("cucm.steven.lab")
    site.outcomes[(None, "cucm.steven.lab", 6972)] = verify_failure(
        "self signed certificate", 0, "ts-cert-self-signed"
    )
    fixed = [Fixed(line_time(line), line) for line in SEED003_SELF_SIGNED]
    fixed[0].txn, fixed[0].status = 189, 200
    fixed[5].txn, fixed[5].status = 191, 502
    doc_start = fixed[0].t
    between = Step(doc_start + 22, site.cucms[0], 8443, "https", "GET", "/cucm-uds/user/atanaka", "atanaka")
    plan = Plan(
        20, 24, doc_start - 240_000, 420, quiet=((doc_start - 1200, doc_start + 400),), extra=(between,)
    )
    summary = (
        "Seed 003 scenario 1 rebuilt: vcsc X14.2.0, pid 18242; Txn-id 189 (200 on 8443) and 191 (6972 retried, "
        "'self signed certificate' depth=0, ERROR, 502) exactly as the document prints them, with its vscs host "
        "variant and damaged base64; Txn-id 190 and everything else is generated."
    )
    statuses = expect(
        {"ts-cert-self-signed": "issue", "ts-ecdsa-port-split": "potential"}, omit=("mra-address-not-fqdn",)
    )
    return Scenario(
        "seed003-self-signed-6972",
        "seed003-self-signed-6972.tar.gz",
        summary,
        site,
        [NodeRun(seed_node(18242, 0.04, False), plan, fixed)],
        statuses,
        113,
        verbatim=SEED003_SELF_SIGNED,
    )


def seed003_ip_not_in_san() -> Scenario:
    site = seed_site("10.48.36.215")
    for port in (8443, 6972):
        site.outcomes[(None, "10.48.36.215", port)] = name_failure()
    agent = USER_AGENTS[0]
    t0, t_send, t_fail = (
        line_time(lines[0]) for lines in (SEED003_IP_DEBUG_REQUEST, SEED003_IP_SENDING, SEED003_IP_FAILURE)
    )
    clock = Clock(120)
    reply = sending_response(clock.utc(t_fail + 8), 144, 30044, status_line(502))
    fixed = [
        Fixed(t0, with_headers(SEED003_IP_DEBUG_REQUEST, client_headers("steven.lab", agent)), 144, 502),
        Fixed(t_send, SEED003_IP_SENDING[0]),
        Fixed(t_send, with_headers(SEED003_IP_DEBUG_SENDING, upstream_headers("10.48.36.215", 8443, agent))),
        *(Fixed(t_fail, line) for line in SEED003_IP_FAILURE),
        Fixed(t_fail + 8, envelope(clock, t_fail + 8, "vcsc", "traffic_server", 3916, reply)),
    ]
    plan = Plan(20, 30, t0 - 200_000, 420, quiet=((t0 - 1500, t0 + 600),))
    summary = (
        "Seed 003 scenario 2 rebuilt: vcsc X14.2.0, pid 3916, DEBUG loggers on, CUCM advertised by IP. Txn-id 144 "
        "(DEBUG Receive Request with its HTTPMSG line, INFO and DEBUG Sending Request, 'SNI (10.48.36.215) not in "
        "certificate', ERROR) as the document prints them; the elided headers, the final 502 and the rest are generated."
    )
    statuses = expect({"ts-cert-name-mismatch": "issue", "mra-address-not-fqdn": "issue"})
    return Scenario(
        "seed003-ip-not-in-san",
        "seed003-ip-not-in-san.tar.gz",
        summary,
        site,
        [NodeRun(seed_node(3916, 0.6, True), plan, fixed)],
        statuses,
        114,
        verbatim=SEED003_IP_LINES,
    )


SCENARIOS: tuple[Callable[[], Scenario], ...] = (
    healthy,
    ecdsa_self_signed,
    untrusted_root,
    missing_intermediate,
    expired,
    cucm_by_ip,
    cluster_missing_ca,
    seed003_self_signed,
    seed003_ip_not_in_san,
    no_traffic_server,
    permissive_continue,
    upstream_rejects,
    unexplained_502,
    x14_0_7,
)


def build_scenario(scenario: Scenario) -> Built:
    """Every node's bundle of one scenario, and its manifest entry."""
    rng = random.Random(scenario.seed)
    users = user_names(rng, 60)
    tally = Tally()
    files: dict[str, bytes] = {}
    nodes = []
    for run in scenario.runs:
        spec = run.spec
        state = NodeState(spec, scenario.site, Clock(spec.offset_minutes), ts_pid=spec.ts_pid)
        state.boot_ms = run.plan.start - spec.uptime_s * 1000
        lines = render_snapshot(
            state, run.plan, users, rng, tally, scenario.noise_per_second, run.fixed, scenario.traffic
        )
        t_end = run.plan.end + 2000
        stamp = state.clock.stamp(t_end)
        uptime = spec.uptime_s + (t_end - run.plan.start) // 1000
        members = {
            f"loggingsnapshot_{spec.host}_{stamp}.txt": ("\n".join(lines) + "\n").encode(),
            f"xstat_dump_{spec.host}_{stamp}.txt": xstat_text(spec, state.clock, t_end, uptime).encode(),
            f"xconf_dump_{spec.host}_{stamp}.txt": xconf_text(spec, scenario.site).encode(),
        }
        path = f"{scenario.path}/{spec.host}.tar.gz" if len(scenario.runs) > 1 else scenario.path
        files[path] = tar_gz(members)
        nodes.append(node_entry(spec, path, lines, scenario.verbatim))
    tally.port_splits(scenario.site)
    return Built(
        files, manifest_entry(scenario.name, scenario.path, scenario.summary, scenario.expect, nodes, tally)
    )


def node_entry(spec: NodeSpec, path: str, lines: list[str], verbatim: tuple[str, ...]) -> dict:
    text_lines = "\n".join(lines).split("\n")
    wanted = set(verbatim)
    numbers = [i for i, line in enumerate(text_lines, start=1) if line in wanted]
    if len(numbers) != len(verbatim):
        raise ValueError(f"{spec.host}: placed {len(numbers)} of {len(verbatim)} verbatim seed lines")
    entry: dict = {
        "host": spec.host,
        "bundle": path,
        "version": spec.version,
        "role": "Expressway-C",
        "utc_offset": offset_text(spec.offset_minutes),
        "traffic_server_pid": spec.ts_pid,
        "lines": len(text_lines),
    }
    if numbers:
        entry["verbatim_seed_lines"] = numbers
    return entry


def manifest_entry(
    name: str, path: str, summary: str, statuses: dict[str, str], nodes: list[dict], tally: Tally
) -> dict:
    servers = [
        {"signature": sig, "node": host, "name": server, "ip": ip, "ports": sorted(ports)}
        for (sig, host, server, ip), ports in sorted(tally.servers.items())
    ]
    check_expectations(name, statuses, servers)
    return {
        "name": name,
        "path": path,
        "summary": summary,
        "counts": {"transactions": tally.transactions, "status_502": tally.status_502},
        "expect": statuses,
        "nodes": nodes,
        "servers": servers,
    }


def check_expectations(name: str, statuses: dict[str, str], servers: list[dict]) -> None:
    """The declared statuses and the servers the construction produced must tell the same story."""
    named = sorted({server["signature"] for server in servers})
    for sid in named:
        if sid in statuses and statuses[sid] not in ("issue", "potential", "missing-info"):
            raise ValueError(f"{name}: the construction names servers for {sid} but expects {statuses[sid]}")
    for sid, status in sorted(statuses.items()):
        if status in ("issue", "potential") and sid not in named:
            raise ValueError(f"{name}: {sid} is expected {status} but no server was generated for it")


# --- plain Apache Traffic Server: diags.log + error.log ---------------------------------------------------

ATS_SERVERS = (
    (
        "selfsigned.lab",
        "127.0.0.12",
        "self-signed certificate",
        0,
        "ts-cert-self-signed",
        "/CSFuser1.cnf.xml",
    ),
    (
        "untrustedroot.lab",
        "127.0.0.13",
        "self-signed certificate in certificate chain",
        2,
        "ts-cert-unknown-ca",
        "/cucm-uds/version",
    ),
    (
        "nointermediate.lab",
        "127.0.0.14",
        "unable to get local issuer certificate",
        0,
        "ts-cert-issuer-missing",
        "/cucm-uds/user/user2/devices",
    ),
)
ATS_STARTUP = (
    (0, "traffic_server NOTE: --- traffic_server Starting ---"),
    (0, "traffic_server NOTE: traffic_server Version: Apache Traffic Server - traffic_server - 9.2.9"),
    (1, "traffic_server NOTE: RLIMIT_NOFILE(7):cur(1048576),max(1048576)"),
    (
        18,
        "[ET_TASK 0] NOTE: loading SSL certificate configuration from /etc/trafficserver/ssl_multicert.config",
    ),
    (19, "[ET_TASK 0] NOTE: (ssl) ssl_multicert.config finished loading"),
    (69, "traffic_server NOTE: traffic server running"),
    (122, "[ET_NET 0] NOTE: Traffic Server is fully initialized."),
)


def diags_stamp(t_ms: int) -> str:
    return f"{time.strftime('%b %d %H:%M:%S', time.gmtime(t_ms // 1000))}.{t_ms % 1000:03d}"


def errorlog_stamp(t_ms: int) -> str:
    return time.strftime("%Y%m%d.%Hh%Mm%Ss", time.gmtime(t_ms // 1000))


def plain_ats() -> Built:
    """A stock ATS 9.2 / OpenSSL 3 log pair: warnings in diags.log, the port and URL in error.log only."""
    rng = random.Random(115)
    start = utc_ms("2026-11-22T15:10:30.333")
    diags = [diags_line(diags_stamp(start + dt), text) for dt, text in ATS_STARTUP]
    errors: list[str] = []
    tally = Tally()
    t = start + 14_855
    for _ in range(18):
        name, ip, error, depth, signature, path = rng.choice(ATS_SERVERS)
        for attempt in range(2 if rng.random() < 0.3 else 1):
            t += rng.randint(3, 9) if attempt else 0
            warning = verify_failed(rng.randint(0, 3), name, "Terminate", error, name, ip, depth)
            diags.append(diags_line(diags_stamp(t), warning))
            errors.append(
                errorlog_connect_fail(errorlog_stamp(t), ip, 8443, f"https://{name}:8443{path}", attempt)
            )
        tally.note(signature, "", Upstream(name, ip, "cucm"), 8443)
        t += rng.randint(1500, 9000)
    members = {
        "diags.log": ("\n".join(diags) + "\n").encode(),
        "error.log": ("\n".join(errors) + "\n").encode(),
    }
    name = "plain-ats-diags"
    path = f"{name}.tar.gz"
    statuses = expect(
        {
            "ts-cert-self-signed": "issue",
            "ts-cert-unknown-ca": "issue",
            "ts-cert-issuer-missing": "issue",
            "mra-address-not-fqdn": "missing-info",
            "ts-ecdsa-port-split": "missing-info",
            # every error.log connect failure has its certificate warning beside it
            "ts-502-unexplained": "ok",
        }
    )
    summary = (
        "Stock Apache Traffic Server 9.2 with OpenSSL 3 wording: diags.log (no year, host or pid; no ERROR lines) "
        "and error.log CONNECT lines with port and URL, each beside its warning; no Expressway transactions, "
        "so route checks lack data."
    )
    entry = {"host": "", "bundle": path, "version": "", "role": "", "utc_offset": "", "traffic_server_pid": 0}
    entry["lines"] = len(diags) + len(errors)
    return Built({path: tar_gz(members)}, manifest_entry(name, path, summary, statuses, [entry], tally))


# --- the manifest -----------------------------------------------------------------------------------------


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and "." not in key else json.dumps(key)


def manifest_toml(entries: list[dict]) -> str:
    out = [
        "# Generated by sample_logs/generate.py; do not edit by hand (sample_logs/README.md explains it).",
        "# Per scenario: the bundle(s), what the construction put in them, and the status each signature",
        "# should reach. `servers` lists, per signature, the servers (node, name, ip, ports) the construction",
        "# makes it name. `verbatim_seed_lines` are 1-based line numbers in the node's loggingsnapshot that",
        "# are copied from seed document 003; every other line is generated.",
        "",
        "schema = 1",
    ]
    for entry in entries:
        out += ["", "[[scenario]]"]
        out += [f"{key} = {toml_value(entry[key])}" for key in ("name", "path", "summary", "counts")]
        out += ["", "[scenario.expect]"]
        out += [f"{toml_key(sid)} = {toml_value(status)}" for sid, status in entry["expect"].items()]
        for table in ("nodes", "servers"):
            for item in entry[table]:
                out += ["", f"[[scenario.{table}]]"]
                out += [f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items()]
    return "\n".join(out) + "\n"


# --- whole runs -------------------------------------------------------------------------------------------


def build_all() -> dict[str, bytes]:
    """Relative path -> bytes for every committed output (bundles and the manifest)."""
    builds = [build_scenario(make()) for make in SCENARIOS] + [plain_ats()]
    files: dict[str, bytes] = {}
    for built in builds:
        files.update(built.files)
    files[MANIFEST] = manifest_toml([built.manifest for built in builds]).encode()
    return files


def write_files(files: dict[str, bytes], out_dir: Path) -> None:
    for relative, data in sorted(files.items()):
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def committed_outputs(directory: Path) -> set[str]:
    found = {p.relative_to(directory).as_posix() for p in directory.rglob("*.tar.gz")}
    return found | ({MANIFEST} if (directory / MANIFEST).exists() else set())


def seed_document_problems(document: Path) -> list[str]:
    """Each verbatim line must appear in the seed document once its wrapping and fences are removed."""
    squeezed = "".join(document.read_text(encoding="utf-8").replace("```", "").split())
    return [
        f"not in {document.name}: {line[:90]}..."
        for line in SEED003_VERBATIM
        if "".join(line.split()) not in squeezed
    ]


def check(directory: Path) -> int:
    """Regenerate into a temporary folder and compare with the committed files, byte for byte."""
    problems: list[str] = []
    if SEED003_DOC.exists():
        problems += seed_document_problems(SEED003_DOC)
    else:
        print(f"note: {SEED003_DOC} not found; verbatim seed lines not re-verified")
    with tempfile.TemporaryDirectory(prefix="logscope-samples-") as tmp:
        fresh_dir = Path(tmp)
        files = build_all()
        write_files(files, fresh_dir)
        for relative in sorted(files):
            committed = directory / relative
            if not committed.exists():
                problems.append(f"{relative}: generated but not committed")
            elif committed.read_bytes() != (fresh_dir / relative).read_bytes():
                problems.append(f"{relative}: differs from a fresh generation")
        problems += [
            f"{r}: committed but not generated" for r in sorted(committed_outputs(directory) - set(files))
        ]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(files)} files checked, {len(problems)} problem(s)")
    return 1 if problems else 0


# --- the large benchmark snapshot -------------------------------------------------------------------------


def big_site() -> Site:
    domain = "example.com"
    net = "10.200.20"
    cucm_by_ip = Upstream(f"{net}.13", f"{net}.13", "cucm")
    site = Site(
        domain,
        (*upstreams(domain, net, "cucm", ["cucm1", "cucm2"], 11), cucm_by_ip),
        upstreams(domain, net, "imp", ["imp1", "imp2"], 21),
        upstreams(domain, net, "cuc", ["cuc1", "cuc2"], 31),
    )
    site.outcomes[(None, f"cucm1.{domain}", 6972)] = verify_failure(
        "self signed certificate", 0, "ts-cert-self-signed"
    )
    site.outcomes[(None, cucm_by_ip.name, 8443)] = name_failure()
    site.outcomes[(None, f"imp2.{domain}", 8443)] = verify_failure(
        "self signed certificate in certificate chain", 1, "ts-cert-unknown-ca"
    )
    site.outcomes[(None, f"cuc2.{domain}", 443)] = Outcome(502, ssl_error=ALERT_UNKNOWN_CA)
    return site


BIG_CHUNK_SECONDS = 60
BIG_STORM_EVERY = 4
BIG_STORM_LOGINS = 90
BIG_QUIET_LOGINS = 2
BIG_NOISE_PER_SECOND = 50.0
BIG_RESTART_EVERY = 60


def big_chunk(
    state: NodeState,
    start: int,
    storm: bool,
    users: list[str],
    picker: NoisePicker,
    rng: random.Random,
    txn: int,
) -> tuple[list[str], int, int]:
    """One minute of log: an MRA login storm or a quiet minute. Returns lines, last time, next Txn-id."""
    logins = BIG_STORM_LOGINS if storm else BIG_QUIET_LOGINS
    plan = Plan(logins, logins // 2 + 8, start, BIG_CHUNK_SECONDS)
    steps = plan_steps(state.site, state.spec.host, plan, rng.sample(users, logins), rng)
    ids = list(range(txn, txn + len(steps)))
    records = list(transaction_records(state, steps, ids, rng, Tally()))
    records += noise_records(state, plan, int(BIG_NOISE_PER_SECOND * BIG_CHUNK_SECONDS), picker, rng)
    records.sort(key=lambda record: record[0])
    return [text for _, text in records], records[-1][0], txn + len(steps)


def fit(block: list[str], room: int) -> list[str]:
    """The leading events of a block that fit in `room` characters (at least one): whole events only."""
    used = 0
    for count, event in enumerate(block):
        used += len(event) + 1
        if used > room:
            return block[: max(count, 1)]
    return block


def write_big(path: Path, size_mb: float, seed: int = 2026) -> dict[str, float]:
    """Stream a loggingsnapshot of about `size_mb` MiB to `path`, one minute of log at a time."""
    rng = random.Random(seed)
    spec = node("expc1", "10.200.10.21", -300, "America/New_York", "X15.0.2", 21544, 1, debug_rate=0.08)
    state = NodeState(spec, big_site(), Clock(spec.offset_minutes), ts_pid=spec.ts_pid)
    start = utc_ms("2026-03-02T13:00:00")
    state.boot_ms = start - spec.uptime_s * 1000
    users, picker = user_names(rng, 256), NoisePicker()
    target, written, lines, chunk, txn, t = int(size_mb * 1024 * 1024), 0, 0, 0, 1, start
    started = time.perf_counter()
    with path.open("w", encoding="ascii", newline="\n") as out:
        while written < target:
            if chunk and chunk % BIG_RESTART_EVERY == 0:
                state.ts_pid, txn = 20000 + rng.randint(0, 9999), 1
            block, last, txn = big_chunk(state, t, chunk % BIG_STORM_EVERY == 1, users, picker, rng, txn)
            text = "\n".join(fit(block, target - written)) + "\n"
            out.write(text)
            written += len(text)
            lines += text.count("\n")
            chunk, t = chunk + 1, last + rng.randint(200, 3000)
    seconds = time.perf_counter() - started
    return {"bytes": written, "lines": lines, "seconds": seconds, "mb_per_s": written / 1024 / 1024 / seconds}


# --- command line -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="regenerate in a temp dir and compare bytes")
    parser.add_argument("--big", type=Path, metavar="PATH", help="write one large loggingsnapshot .txt")
    parser.add_argument("--size-mb", type=float, default=100.0, help="size of --big in MiB (default 100)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the bundles go (default: sample_logs/)")
    args = parser.parse_args(argv)
    if args.big is not None:
        if args.size_mb <= 0:
            parser.error("--size-mb must be positive")
        stats = write_big(args.big, args.size_mb)
        print(
            f"{args.big}: {stats['bytes'] / 1024 / 1024:.1f} MiB, {stats['lines']:,.0f} lines in "
            f"{stats['seconds']:.1f} s ({stats['mb_per_s']:.1f} MiB/s)"
        )
        return 0
    if args.check:
        return check(args.out)
    files = build_all()
    write_files(files, args.out)
    for relative, data in sorted(files.items()):
        print(f"{relative}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
