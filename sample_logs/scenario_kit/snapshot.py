"""One node's loggingsnapshot: plan the requests, number the transactions, render every line in time
order, and tally what the construction put in it for the manifest."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from .deployment import NodeState, Outcome, Site, Step, Upstream
from .log_lines import envelope
from .login_truth import Request
from .noise import NoisePicker
from .traffic import TxnResult, plan_background, plan_login, transaction_events


@dataclass
class Tally:
    """What the construction put in a snapshot, for the manifest."""

    transactions: int = 0
    status_502: int = 0
    # (signature, node, upstream name, ip) -> ports
    servers: dict[tuple[str, str, str, str], set[int]] = field(default_factory=dict)
    clean_https: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    failing_https: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)  # every planned request, for login_truth

    def note(self, signature: str, host: str, upstream: Upstream, port: int) -> None:
        self.servers.setdefault((signature, host, upstream.name, upstream.ip), set()).add(port)

    def record(self, host: str, step: Step, outcome: Outcome, result: TxnResult) -> None:
        self.transactions += 1
        keyed = result.allowed or step.path.startswith("/cucm-uds/user/") or ".cnf.xml" in step.path
        self.requests.append(Request(host, step.user, step.t0, step.path, step.port, result.status, keyed))
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
