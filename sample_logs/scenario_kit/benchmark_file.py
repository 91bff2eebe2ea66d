"""The large benchmark snapshot (`generate.py --big`): one node's loggingsnapshot streamed to disk one
minute of log at a time, MRA login storms every fourth minute, a traffic-server restart every hour."""

from __future__ import annotations

import random
import time
from pathlib import Path

from .clock import Clock, utc_ms
from .deployment import NodeState, Outcome, Site, Upstream, name_failure, node, upstreams, verify_failure
from .noise import NoisePicker
from .snapshot import Plan, Tally, noise_records, plan_steps, transaction_records
from .vocabulary import ALERT_UNKNOWN_CA, user_names


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
