"""An Expressway scenario (one bundle per node: loggingsnapshot, xstat and xconf) and how it is built
into its bundles and manifest entry. The ATS-cause, cluster and seed-003 families are made of these."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .bundle_files import tar_gz, xconf_text, xstat_text
from .clock import Clock
from .deployment import NodeSpec, NodeState, Site
from .login_truth import truth
from .manifest import Built, manifest_entry, node_entry
from .snapshot import Fixed, Plan, Tally, render_snapshot
from .vocabulary import user_names


@dataclass
class NodeRun:
    """One node of a scenario. `pems` (file prefix -> bytes: "server", "ca") become
    `<prefix>_<host>_<ts>.pem` members; `xconf_extra` lines go before `*c/end`; `xstat_extra` text
    follows the SystemUnit block."""

    spec: NodeSpec
    plan: Plan
    fixed: list[Fixed] = field(default_factory=list)
    pems: dict[str, bytes] = field(default_factory=dict)
    xconf_extra: tuple[str, ...] = ()
    xstat_extra: str = ""


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
    # servers a node-level check names, which no log line makes: (signature, node, name, ip)
    named: tuple[tuple[str, str, str, str], ...] = ()
    ground_truth_logins: bool = False  # write the planned logins into the manifest (issue 16)


def single(
    name: str,
    summary: str,
    site: Site,
    spec: NodeSpec,
    plan: Plan,
    statuses: dict[str, str],
    seed: int,
    xconf_extra: tuple[str, ...] = (),
    **more,
) -> Scenario:
    run = NodeRun(spec, plan, xconf_extra=xconf_extra)
    return Scenario(name, f"{name}.tar.gz", summary, site, [run], statuses, seed, **more)


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
            f"xstat_dump_{spec.host}_{stamp}.txt": (
                xstat_text(spec, state.clock, t_end, uptime) + run.xstat_extra
            ).encode(),
            f"xconf_dump_{spec.host}_{stamp}.txt": xconf_text(spec, scenario.site, run.xconf_extra).encode(),
        }
        members.update({f"{prefix}_{spec.host}_{stamp}.pem": data for prefix, data in run.pems.items()})
        path = f"{scenario.path}/{spec.host}.tar.gz" if len(scenario.runs) > 1 else scenario.path
        files[path] = tar_gz(members)
        nodes.append(node_entry(spec, path, lines, scenario.verbatim))
    tally.port_splits(scenario.site)
    for key in scenario.named:
        tally.servers.setdefault(key, set())
    return Built(
        files,
        manifest_entry(
            scenario.name,
            scenario.path,
            scenario.summary,
            scenario.expect,
            nodes,
            tally,
            truth(tally.requests) if scenario.ground_truth_logins else None,
        ),
    )
