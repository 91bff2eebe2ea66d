"""Time correlate and signatures+evidence alone, on events parsed once (issue 14, item 4).

    PYTHONPATH=. .venv/bin/python benchmarks/late_stages.py dump FILE OUT.pkl
    PYTHONPATH=. .venv/bin/python benchmarks/late_stages.py time OUT.pkl [--repeat N] [--profile STAGE]

`dump` runs the stages before correlate once (bundle, parse, readers, frames, node summaries) and
pickles what correlate and the signatures read. `time` loads it and times correlate and
`Library.evaluate_all` N times each, then the logins stage (`build_logins`, `link_findings`) and the
JSON `logins` array (column-wise, as `analyze --format json` writes it): wall and CPU (process
time) seconds of the first run (the one
`analyze` pays; pandas keeps hash tables it builds on first use on the frame, so later runs are
cheaper) and of the best later run, with the load average, and the findings (id, status, count) so
two runs can be compared. `--profile correlate`, `--profile signatures` or `--profile logins`
prints the top of a cProfile of one run of that stage (SORT=tottime to sort by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pickle
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # after PYTHONPATH: `PYTHONPATH=OTHER` times another checkout


def dump(path: Path, out: Path) -> int:
    from logscope.bundle import open_bundle
    from logscope.bundle.readers import read_records
    from logscope.frames import build_frames, bundle_time, describe_nodes
    from logscope.nodes import summarize_nodes
    from logscope.parse import parse_members

    with open_bundle([path]) as bundle:
        parsed = parse_members(bundle.logs)
        records = read_records(bundle.members, bundle.nodes)
        node_facts = list(bundle.nodes)
        sources = bundle.sources_present()
    frames = build_frames(records)
    nodes = summarize_nodes(node_facts, parsed.events)
    last_line = parsed.events["ts"].dropna().max() if not parsed.events.empty else None
    now = bundle_time(last_line, frames.status)
    describe_nodes(nodes, frames, now)
    state = {
        "events": parsed.events,
        "nodes": nodes,
        "sources": sources,
        "certificates": frames.certificates,
        "config": frames.config,
        "status": frames.status,
        "alarms": frames.alarms,
        "bundle_time": now,
        "unrecognised_tls_lines": parsed.unrecognised,
        "xml_only": records.xml_only_sources(),
    }
    with out.open("wb") as handle:
        pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"{out}: {len(parsed.events):,} events")
    return 0


def _timed(function, repeat: int) -> tuple[list[float], list[float], object]:
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus, result


def run(pkl: Path, repeat: int, profile: str | None) -> int:
    from logscope.correlate import correlate
    from logscope.signatures import Context, load_library

    with pkl.open("rb") as handle:
        state = pickle.load(handle)
    events = state.pop("events")
    library = load_library()

    def signatures(correlation):
        context = Context(
            events=events,
            transactions=correlation.transactions,
            tls_failures=correlation.tls_failures,
            **state,
        )
        return library.evaluate_all(context, unread=[])

    if profile:
        profiler = cProfile.Profile()
        if profile == "correlate":  # the first run of each: the one analyze pays
            profiler.runcall(correlate, events)
        elif profile == "logins":
            from logscope.logins import build_logins

            correlation = correlate(events)
            profiler.runcall(build_logins, correlation.transactions, events, correlation.tls_failures)
        else:
            profiler.runcall(signatures, correlate(events))
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)
        return 0
    print(f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min), {len(events):,} events")
    walls, cpus, correlation = _timed(lambda: correlate(events), repeat)
    _print("correlate", walls, cpus)
    walls, cpus, (findings, errors) = _timed(lambda: signatures(correlation), repeat)
    _print("signatures and evidence", walls, cpus)
    _time_logins(events, correlation, findings, repeat)
    print(f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min)")
    print("errors", [str(e) for e in errors])
    for finding in findings:
        data = finding.to_dict()
        print("  ", data.get("id"), data.get("status"), data.get("count"))
    return 0


def _time_logins(events, correlation, findings, repeat: int) -> None:
    """The logins stage and its JSON array (issue 16), on the correlation timed above."""
    from logscope.logins import build_logins, link_findings
    from logscope.render.login_json import logins_array

    def logins():
        return build_logins(correlation.transactions, events, correlation.tls_failures)

    walls, cpus, built = _timed(logins, repeat)
    _print("logins (build)", walls, cpus)
    walls, cpus = [], []
    for _ in range(repeat):  # each run links a fresh build: linking fills the steps' finding column
        fresh = logins()
        wall, cpu = time.perf_counter(), time.process_time()
        link_findings(findings, fresh)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    _print("logins (link findings)", walls, cpus)
    walls, cpus, text = _timed(lambda: logins_array(fresh.logins, fresh.steps, level=1), repeat)
    _print("logins JSON array", walls, cpus)
    print(f"  {len(built.logins):,} logins, {len(built.steps):,} requests, {len(text or ''):,} characters")


def _print(stage: str, walls: list[float], cpus: list[float]) -> None:
    print(
        f"{stage:24s} first run {walls[0]:.3f} s wall, {cpus[0]:.3f} s CPU (what `analyze` pays); then"
        f" best {min(walls[1:] or walls):.3f} s wall, {min(cpus[1:] or cpus):.3f} s CPU ({len(walls)} runs)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dump_parser = commands.add_parser("dump")
    dump_parser.add_argument("file", type=Path)
    dump_parser.add_argument("out", type=Path)
    time_parser = commands.add_parser("time")
    time_parser.add_argument("pkl", type=Path)
    time_parser.add_argument("--repeat", type=int, default=3)
    time_parser.add_argument("--profile", choices=["correlate", "signatures", "logins"])
    args = parser.parse_args()
    if args.command == "dump":
        return dump(args.file, args.out)
    return run(args.pkl, args.repeat, args.profile)


if __name__ == "__main__":
    sys.exit(main())
