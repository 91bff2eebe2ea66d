"""The login-storm benchmark snapshot (`generate.py --big PATH --storm`): one Expressway-C's
loggingsnapshot under an MRA login storm, shaped so that no stage can hide its cost behind repetition.

- hundreds of upstream servers: STORM_CLUSTERS clusters of CUCM, IM&P and Unity nodes, plus CUCMs
  configured by IP address, every one with its own name and IP;
- a traffic-server restart every 8-25 minutes of log (a new pid, Txn-ids from 1 again), so Txn-ids
  repeat across pids and tens of thousands of them are distinct;
- a fresh tracking id (UUID4) per transaction;
- every first-wave failure kind on a few servers each, so the failures are spread through the file:
  self-signed (an ECDSA 6972/8443 split), untrusted root at depth 1, missing issuer (both OpenSSL
  texts), expired, name not in certificate on by-IP CUCMs, the upstream rejecting us (alert unknown
  ca), an unexplained 502, another verify error, and permissive (Action=Continue) warnings;
- a DEBUG share (HTTPMSG blocks on continuation lines, SIP OPTIONS) and the other processes' lines.

Line formats are scenario_kit's (shared/reference/log-lines.md); every choice comes from one seeded
`random.Random`, so a seed and a size give the same bytes.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from .clock import Clock, utc_ms
from .deployment import (
    NodeState,
    Outcome,
    Site,
    Step,
    Upstream,
    name_failure,
    node,
    permissive,
    verify_failure,
)
from .log_lines import envelope
from .noise import NoisePicker
from .snapshot import Plan, noise_records, plan_steps
from .traffic import transaction_events
from .vocabulary import ALERT_UNKNOWN_CA, FIRST_NAMES, LAST_NAMES

STORM_DOMAIN = "corp.example.com"
STORM_CLUSTERS = 30
CLUSTER_SHAPE = (("cucm", 5), ("imp", 2), ("cuc", 2))
BY_IP_CUCMS = 4
MINUTE_MS = 60_000
NOISE_PER_MINUTE = 2400
STORM_LOGINS = (120, 240)
QUIET_LOGINS = (5, 20)
RESTART_MINUTES = (8, 25)


def cluster_upstreams(cluster: int) -> dict[str, list[Upstream]]:
    net = f"10.{100 + cluster}.20"
    pools: dict[str, list[Upstream]] = {}
    octet = 11
    for kind, count in CLUSTER_SHAPE:
        pools[kind] = [
            Upstream(f"c{cluster:02d}-{kind}{i + 1}.{STORM_DOMAIN}", f"{net}.{octet + i}", kind)
            for i in range(count)
        ]
        octet += 10
    return pools


def failure_outcomes(by_ip: list[Upstream]) -> dict[tuple[str | None, str, int], Outcome]:
    """Every first-wave failure kind, each on a server or two of its own (port as the kind needs)."""

    def name(kind: str, cluster: int, index: int) -> str:
        return f"c{cluster:02d}-{kind}{index}.{STORM_DOMAIN}"

    outcomes = {
        (None, name("cucm", 2, 1), 6972): verify_failure("self signed certificate", 0, "ts-cert-self-signed"),
        (None, name("imp", 5, 2), 8443): verify_failure(
            "self signed certificate in certificate chain", 1, "ts-cert-unknown-ca"
        ),
        (None, name("cuc", 7, 1), 443): verify_failure(
            "unable to get local issuer certificate", 0, "ts-cert-issuer-missing"
        ),
        (None, name("cuc", 7, 2), 443): verify_failure(
            "unable to verify the first certificate", 0, "ts-cert-issuer-missing"
        ),
        (None, name("cucm", 9, 2), 8443): verify_failure("certificate has expired", 0, "ts-cert-expired"),
        (None, name("cucm", 9, 2), 6972): verify_failure("certificate has expired", 0, "ts-cert-expired"),
        (None, name("cuc", 11, 2), 443): Outcome(
            502, ssl_error=ALERT_UNKNOWN_CA, signature="ts-upstream-rejects-expressway"
        ),
        (None, name("cucm", 13, 1), 6972): Outcome(502),
        (None, name("imp", 15, 1), 8443): verify_failure(
            "unsupported certificate purpose", 0, "ts-cert-verify-other"
        ),
        (None, name("cucm", 17, 3), 8443): permissive("self signed certificate", "ts-cert-self-signed", 0.5),
        (None, name("cuc", 19, 1), 443): permissive(
            "unable to get local issuer certificate", "ts-cert-issuer-missing", 0.5
        ),
    }
    for upstream in by_ip[:2]:
        outcomes[(None, upstream.name, 8443)] = name_failure()
    return outcomes


def storm_site() -> Site:
    pools: dict[str, list[Upstream]] = {"cucm": [], "imp": [], "cuc": []}
    for cluster in range(1, STORM_CLUSTERS + 1):
        for kind, members in cluster_upstreams(cluster).items():
            pools[kind] += members
    by_ip = [Upstream(f"10.99.20.{11 + i}", f"10.99.20.{11 + i}", "cucm") for i in range(BY_IP_CUCMS)]
    site = Site(STORM_DOMAIN, tuple(pools["cucm"] + by_ip), tuple(pools["imp"]), tuple(pools["cuc"]))
    site.outcomes.update(failure_outcomes(by_ip))
    return site


def storm_users() -> list[str]:
    """5,120 distinct user names (first initial, last name, a number): a storm has thousands of users."""
    return [f"{first[0]}{last}{n:02d}" for n in range(20) for first in FIRST_NAMES for last in LAST_NAMES]


@dataclass
class Shape:
    """What the generator wrote, for the line it prints (and the benchmark's JSON)."""

    bytes: int = 0
    lines: int = 0
    events: int = 0
    pids: list[int] = field(default_factory=list)
    txn_ids: set[int] = field(default_factory=set)
    transactions: int = 0
    failed: int = 0
    servers: set[str] = field(default_factory=set)
    debug_lines: int = 0
    traffic_server_lines: int = 0

    def summary(self) -> dict[str, float]:
        lines = max(self.lines, 1)
        return {
            "bytes": self.bytes,
            "lines": self.lines,
            "events": self.events,
            "traffic_server_pids": len(self.pids),
            "distinct_txn_ids": len(self.txn_ids),
            "tracking_ids": self.transactions,
            "transactions": self.transactions,
            "servers": len(self.servers),
            "failure_share": self.failed / max(self.transactions, 1),
            "debug_share": self.debug_lines / lines,
            "non_traffic_server_share": 1 - self.traffic_server_lines / lines,
        }


Record = tuple[int, str, tuple[int, str, bool] | None]


def minute_records(
    state: NodeState, start: int, logins: int, users: list[str], rng: random.Random, txn: int
) -> tuple[list[Record], int]:
    """One minute of log: planned logins and background requests, numbered from `txn`, with noise.

    A transaction's first record carries (Txn-id, server, failed) so the shape counts only what is written.
    """
    plan = Plan(logins, logins // 2 + 8, start, 60)
    steps: list[Step] = plan_steps(state.site, state.spec.host, plan, rng.sample(users, logins), rng)
    records: list[Record] = []
    host, pid, clock = state.spec.host, state.ts_pid, state.clock
    for step in steps:
        result = transaction_events(state, step, txn, rng)
        info = (txn, step.upstream.name, result.status == 502 or result.warned)
        for index, (t, body) in enumerate(result.events):
            records.append(
                (t, envelope(clock, t, host, "traffic_server", pid, body), None if index else info)
            )
        txn += 1
    records += [
        (t, text, None) for t, text in noise_records(state, plan, NOISE_PER_MINUTE, NoisePicker(), rng)
    ]
    records.sort(key=lambda record: record[0])
    return records, txn


def tally(text: str, info: tuple[int, str, bool] | None, shape: Shape) -> None:
    """Count one written event: its lines (traffic_server or not, DEBUG or not) and its transaction."""
    if info is not None:
        txn, server, failed = info
        shape.transactions += 1
        shape.failed += failed
        shape.txn_ids.add(txn)
        shape.servers.add(server)
    lines = text.count("\n") + 1
    shape.events += 1
    shape.lines += lines
    head = text[:200]
    if " traffic_server[" in head:
        shape.traffic_server_lines += lines
    if 'Level="DEBUG"' in head:
        shape.debug_lines += lines


def write_storm(path: Path, size_mb: float, seed: int = 2026) -> dict[str, float]:
    """Stream a login-storm loggingsnapshot of about `size_mb` MiB to `path`; return its shape."""
    rng = random.Random(seed)
    spec = node("expc1", "10.200.10.21", -300, "America/New_York", "X15.0.2", 21544, 1, debug_rate=0.08)
    state = NodeState(spec, storm_site(), Clock(spec.offset_minutes), ts_pid=spec.ts_pid)
    t = utc_ms("2026-03-02T13:00:00")
    state.boot_ms = t - spec.uptime_s * 1000
    users, shape = storm_users(), Shape(pids=[spec.ts_pid])
    target, txn, minute, restart_at = int(size_mb * 1024 * 1024), 1, 0, rng.randint(*RESTART_MINUTES)
    started = time.perf_counter()
    with path.open("w", encoding="ascii", newline="\n") as out:
        while shape.bytes < target:
            if minute == restart_at:
                state.ts_pid, txn = 20000 + rng.randint(0, 9999), 1
                shape.pids.append(state.ts_pid)
                restart_at += rng.randint(*RESTART_MINUTES)
            logins = rng.randint(*(STORM_LOGINS if minute % 5 else QUIET_LOGINS))
            records, txn = minute_records(state, t, logins, users, rng, txn)
            parts = []
            for _, text, info in records:
                size = len(text) + 1
                if shape.bytes + size > target:
                    target = shape.bytes  # whole events only: the file ends before this one
                    break
                parts.append(text)
                shape.bytes += size
                tally(text, info, shape)
            if parts:
                out.write("\n".join(parts) + "\n")
            minute, t = minute + 1, t + MINUTE_MS
    summary = shape.summary()
    summary["seconds"] = time.perf_counter() - started
    return summary


def shape_line(path: Path, summary: dict[str, float]) -> str:
    return (
        f"{path}: {summary['bytes'] / 1024 / 1024:.1f} MiB, {summary['lines']:,.0f} lines, "
        f"{summary['events']:,.0f} events in {summary['seconds']:.1f} s; "
        f"traffic_server pids {summary['traffic_server_pids']:,.0f}, "
        f"distinct Txn-ids {summary['distinct_txn_ids']:,.0f}, "
        f"tracking ids {summary['tracking_ids']:,.0f} (one per transaction), "
        f"servers {summary['servers']:,.0f}, "
        f"failure share {summary['failure_share']:.2%} of transactions, "
        f"DEBUG share {summary['debug_share']:.2%} of lines, "
        f"non-traffic_server share {summary['non_traffic_server_share']:.2%} of lines"
    )
