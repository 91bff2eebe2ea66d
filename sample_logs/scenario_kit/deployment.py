"""The deployment model: upstream servers and what they answer (outcomes), the site, one node's
settings and its changing state while its log is written, and one planned request (a step)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .clock import Clock
from .vocabulary import DEFAULT_CIPHERS, VERIFY_FAILED


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
    role: str = "Expressway-C"  # what the manifest expects the analyzer to find (xconf decides it)

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


def node(host: str, ip: str, offset: int, tz: str, version: str, ts_pid: int, first: int, **more) -> NodeSpec:
    return NodeSpec(host, ip, offset, tz, version, ts_pid, first, **more)


def upstreams(domain: str, net: str, kind: str, names: list[str], first_octet: int) -> tuple[Upstream, ...]:
    return tuple(
        Upstream(f"{name}.{domain}", f"{net}.{first_octet + i}", kind) for i, name in enumerate(names)
    )


def standard_site(domain: str, net: str, cucms: int = 2, unity: int = 1) -> Site:
    return Site(
        domain,
        upstreams(domain, net, "cucm", [f"cucm{i + 1}" for i in range(cucms)], 11),
        upstreams(domain, net, "imp", ["imp1"], 21),
        upstreams(domain, net, "cuc", [f"cuc{i + 1}" for i in range(unity)], 31),
    )
