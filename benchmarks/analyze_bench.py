"""Time the whole analysis of one log file, stage by stage, against `grep -c traffic_server` (issue 14).

    python sample_logs/generate.py --big /tmp/storm.txt --size-mb 1024 --storm   # the benchmark file
    PYTHONPATH=. .venv/bin/python benchmarks/analyze_bench.py /tmp/storm.txt [--bsd] [--json OUT]
    PYTHONPATH=. .venv/bin/python benchmarks/analyze_bench.py FILE --code /path/to/other/checkout

For each file (FILE, and with --bsd a copy of it re-rendered as BSD syslog, written beside it once) it
measures, in this order, on a machine whose load it records (os.getloadavg) before each measurement:

1. grep: `grep -c traffic_server FILE` with its output through a pipe, best of three after one warm-up
   run (the page cache is warm), and `cat FILE | grep -c traffic_server` the same way;
2. in-process stages, in a fresh interpreter (so imports and peak RSS are its own): imports (pandas,
   pyarrow, logscope; the allocator set as the CLI sets it, logscope.memory), then each stage
   `logscope.pipeline.analyze` reports through its `timings` argument (bundle open, parse, bundle
   readers, bundle close, correlate, node summaries, signature library, signatures and evidence,
   report), then the JSON written as the CLI writes it
   (`Report.write_json` to a binary temporary file; `to_json()` for older code), with the part of it
   spent in the file's `write` calls (wall and system CPU seconds: the kernel copying the document
   into the page cache, which a busy virtual machine makes ten times slower). A checkout
   whose `analyze` has no `timings` argument (older code) is timed as one "analyze" stage;
   The child's CPU seconds (user+sys, from wait4) are printed beside its wall time: on a shared
   machine they say how much of the wall time was waiting for a core;
3. the CLI: `logscope analyze FILE -o OUT.json` as a subprocess, wall time and peak RSS (the larger of
   the child's ru_maxrss from wait4, as /usr/bin/time reports it, and the RSS of its process tree
   summed, sampled every 50 ms: the parse stage's scanning helper is a second process). --no-cli
   skips it.

`--repeat N` runs step 2 N times and prints each stage's median with its range (a shared VM's stages
vary by tens of percent from run to run); the JSON keeps every run.

Figures: seconds per stage, MiB/s and lines/s of the whole in-process run and of the CLI, their ratio to
grep's best time, peak RSS in MiB. `--code DIR` measures another checkout's logscope (e.g. a worktree of
an older commit) with this script. The figures are for the issue notes and the README, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
MONTHS = b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
RFC3339_HEAD = re.compile(rb"^\d{4}-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ", re.M)


def child_stages(path: str) -> dict[str, Any]:
    """Run in a fresh interpreter: import, analyze with per-stage timings, render JSON."""
    started = time.perf_counter()
    import pandas  # noqa: F401

    with contextlib.suppress(ImportError):
        import pyarrow  # noqa: F401
    from logscope.pipeline import analyze

    with contextlib.suppress(ImportError):  # as the CLI's commands do (older code: not there)
        from logscope.memory import keep_freed_memory

        keep_freed_memory()
    stages = {"imports": time.perf_counter() - started}
    timings: dict[str, float] = {}
    lap = time.perf_counter()
    try:
        report = analyze(path, timings=timings)
    except TypeError as error:
        if "timings" not in str(error):
            raise
        report = analyze(path)
        timings = {"analyze (no stage hook)": time.perf_counter() - lap}
    stages.update(timings)
    with tempfile.TemporaryFile() as file:
        out = TimedWrites(file)
        lap = time.perf_counter()
        _write_json(report, out)
        stages["JSON render"] = time.perf_counter() - lap
        size = file.tell()
    # from the report, not by parsing the document back: 200 MiB of JSON as Python objects would
    # be the child's peak RSS
    findings = [{"id": f.id, "status": f.status, "count": f.count} for f in report.findings]
    writes = {"seconds": out.seconds, "system_seconds": out.system_seconds, "calls": out.calls}
    return {
        "stages": stages,
        "stats": dict(report.stats),
        "findings": findings,
        "json_bytes": size,
        "json_writes": writes,
    }


class TimedWrites:
    """A binary file whose `write` calls are timed (wall, and the calling thread's system CPU);
    everything else is the file's own."""

    mode = "wb"

    def __init__(self, file: Any) -> None:
        self.file, self.seconds, self.system_seconds, self.calls = file, 0.0, 0.0, 0

    def write(self, data: Any) -> int:
        wall, system = time.perf_counter(), _thread_system_seconds()
        written = self.file.write(data)
        self.seconds += time.perf_counter() - wall
        self.system_seconds += _thread_system_seconds() - system
        self.calls += 1
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)


def _thread_system_seconds() -> float:
    import resource

    who = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
    return resource.getrusage(who).ru_stime


def _write_json(report: Any, out: Any) -> None:
    """The JSON as `logscope analyze -o x.json` writes it (`write_json` to a binary file); older
    checkouts (`--code`): `write_json` to a text file, or `to_json()`."""
    try:
        report.write_json(out)
    except (TypeError, AttributeError):
        out.seek(0)
        out.truncate()
        text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
        if hasattr(report, "write_json"):
            report.write_json(text)
        else:
            text.write(report.to_json())
        text.flush()
        text.detach()


def tree_rss_mib(pid: int) -> float:
    """The RSS of a process and its descendants now, summed (MiB; 0 where /proc cannot tell)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError, ValueError, AttributeError):
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # a zombie has none: skipped
        with contextlib.suppress(OSError, ValueError):
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return total / 1024


class TreePeak:
    """Samples a process tree's summed RSS every `interval` seconds: wait4's ru_maxrss is the largest
    single process's peak, and the parse stage's scanning helper runs beside the main process."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, tree_rss_mib(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(
    command: list[str], env: dict[str, str], stdout: int | None
) -> tuple[float, float, float, int, bytes]:
    """Wall seconds, CPU seconds (its children's included) and peak RSS (MiB: the larger of wait4's
    ru_maxrss and the sampled sum over the process tree), exit code and stdout of a subprocess."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            command, env=env, stdout=out if stdout is None else stdout, stderr=subprocess.DEVNULL
        )
        sampler = TreePeak(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        tree_peak = sampler.stop()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return seconds, cpu, max(usage.ru_maxrss / 1024, tree_peak), process.returncode, out.read()


def best_of(command: str, runs: int = 3) -> tuple[float, str]:
    """Best wall time of `runs` runs of a shell command (after one untimed warm-up), and its output."""
    subprocess.run(command, shell=True, capture_output=True, check=False)
    times, output = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        output = done.stdout.strip()
    return min(times), output


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def code_env(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code)}


def measure_stages(path: Path, code: Path) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(path)]
    seconds, cpu, peak, code_rc, out = run_measured(command, code_env(code), None)
    if code_rc != 0:
        return {"error": f"exit {code_rc}", "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak}
    result = json.loads(out)
    result.update({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak})
    return result


def measure_cli(path: Path, code: Path, out_dir: Path) -> dict[str, Any]:
    target = out_dir / f"{path.stem}.bench.json"
    command = [sys.executable, "-c", "from logscope.cli import main; main()", "analyze", str(path)]
    command += ["-o", str(target)]
    seconds, cpu, peak, rc, _ = run_measured(command, code_env(code), subprocess.DEVNULL)
    wrote = target.is_file() and target.stat().st_size > 0
    target.unlink(missing_ok=True)
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak, "exit": rc, "wrote_json": wrote}


def bsd_copy(path: Path) -> Path:
    """The same file with every RFC 3339 envelope time rewritten as BSD syslog's `Mar  2 08:00:00`."""
    target = path.with_name(f"{path.stem}.bsd{path.suffix}")
    if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
        return target

    def bsd(match: re.Match[bytes]) -> bytes:
        month, day, clock = match.groups()
        return b"%s %2d %s " % (MONTHS[int(month) - 1], int(day), clock)

    partial = target.with_suffix(".partial")
    with path.open("rb") as source, partial.open("wb") as out:
        rest = b""
        while block := source.read(16 * MIB):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            out.write(RFC3339_HEAD.sub(bsd, block[:cut]))
        out.write(RFC3339_HEAD.sub(bsd, rest))
    partial.replace(target)
    return target


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several in-process runs as one: each stage's median (and its range), the median wall, CPU and
    JSON write figures, the highest peak RSS; the runs themselves kept. A shared VM's stages vary by
    tens of percent from run to run (page faults cost 1-18 us each, by the hour): one run misleads."""
    failed = [run for run in runs if "error" in run]
    if failed:
        return failed[0]
    merged = dict(runs[0])
    names = list(runs[0]["stages"])
    merged["stages"] = {name: statistics.median(run["stages"][name] for run in runs) for name in names}
    merged["stage_ranges"] = {
        name: (min(run["stages"][name] for run in runs), max(run["stages"][name] for run in runs))
        for name in names
    }
    for key in ("seconds", "cpu_seconds"):
        merged[key] = statistics.median(run[key] for run in runs)
    merged["peak_rss_mib"] = max(run["peak_rss_mib"] for run in runs)
    if all("json_writes" in run for run in runs):  # the JSON's write calls: medians too
        merged["json_writes"] = {
            key: statistics.median(run["json_writes"][key] for run in runs) for key in runs[0]["json_writes"]
        }
    merged["runs"] = runs
    return merged


def measure_file(path: Path, code: Path, cli: bool, repeat: int = 1) -> dict[str, Any]:
    size = path.stat().st_size
    quoted = shlex.quote(str(path))
    result: dict[str, Any] = {"file": str(path), "bytes": size, "code": str(code), "load": {}}
    result["load"]["grep"] = load()
    grep, count = best_of(f"grep -c traffic_server {quoted} | cat")
    cat_grep, _ = best_of(f"cat {quoted} | grep -c traffic_server")
    result["grep"] = {"seconds": grep, "count": int(count or 0), "cat_pipe_seconds": cat_grep}
    result["load"]["stages"] = load()
    runs = [measure_stages(path, code) for _ in range(repeat)]
    result["in_process"] = runs[0] if repeat == 1 else medians(runs)
    if cli:
        result["load"]["cli"] = load()
        result["cli"] = measure_cli(path, code, path.parent)
    result["load"]["end"] = load()
    return result


def rates(seconds: float, size: int, lines: int, grep: float) -> str:
    return (
        f"{seconds:8.2f} s  {size / MIB / seconds:6.2f} MiB/s  {lines / seconds:>10,.0f} lines/s  "
        f"{seconds / grep:6.1f}x grep"
    )


# Issue 14's goals on the 1 GiB storm file: seconds per stage (scaled to a file's size when it is not
# 1 GiB), the whole analysis within 10x grep, peak RSS within 1 GiB.
GIB = 1024**3
STAGE_BUDGETS = {
    "parse": 1.0,
    "correlate": 0.5,
    "signatures and evidence": 1.2,
    "logins": 0.3,
    "bundle readers": 0.2,
    "JSON render": 0.3,
}
GOAL_X_GREP = 10
GOAL_RSS_MIB = 1024


def budget_note(stage: str, seconds: float, scale: float) -> str:
    """`  budget B s: within` / `over (Nx)` for a stage with a budget, "" for the others."""
    if stage not in STAGE_BUDGETS:
        return ""
    budget = STAGE_BUDGETS[stage] * scale
    verdict = "within" if seconds <= budget else f"over ({seconds / budget:.1f}x)"
    return f"   budget {budget:.3f} s: {verdict}"


def table(result: dict[str, Any]) -> str:
    size, grep = result["bytes"], result["grep"]
    rows = [
        f"file      {result['file']}: {size / MIB:.1f} MiB (code: {result['code']})",
        f"load      {', '.join(f'{k} {v}' for k, v in result['load'].items())} (1/5/15 min)",
        f"grep -c   {grep['seconds']:.3f} s best of 3, warm, output piped ({grep['count']:,} lines); "
        f"cat | grep -c {grep['cat_pipe_seconds']:.3f} s",
    ]
    stages = result["in_process"]
    if "error" in stages:
        rows.append(f"in-process run failed: {stages['error']} after {stages['seconds']:.1f} s")
        return "\n".join(rows)
    lines = int(stages["stats"].get("lines", 0))
    scale = size / GIB
    ranges = stages.get("stage_ranges", {})
    for stage, seconds in stages["stages"].items():
        note = budget_note(stage, seconds, scale)
        spread = f"  [{ranges[stage][0]:.3f}-{ranges[stage][1]:.3f}]" if stage in ranges else ""
        rows.append(f"  {stage:<26}{seconds:8.3f} s  {seconds / grep['seconds']:7.2f}x grep{note}{spread}")
    if "json_writes" in stages:
        writes = stages["json_writes"]
        rows.append(
            f"    of which file writes   {writes['seconds']:8.3f} s  ({writes['system_seconds']:.3f} s"
            f" system CPU, {writes['calls']} calls, {stages['json_bytes'] / MIB:,.0f} MiB)"
        )
    total = sum(stages["stages"].values())
    if "runs" in stages:  # the median of the runs' totals, not the sum of the stages' medians
        total = statistics.median(sum(run["stages"].values()) for run in stages["runs"])
        rows.append(f"in-process runs            {len(stages['runs'])}: stage figures are medians [min-max]")
    rows.append(f"in-process total           {rates(total, size, lines, grep['seconds'])}")
    goal = "within" if total <= GOAL_X_GREP * grep["seconds"] else "over"
    rows.append(
        f"goal                       {GOAL_X_GREP}x grep = {GOAL_X_GREP * grep['seconds']:.2f} s: {goal}"
    )
    rows.append(
        f"in-process peak RSS        {stages['peak_rss_mib']:,.0f} MiB (fresh interpreter; goal "
        f"{GOAL_RSS_MIB:,} MiB at 1 GiB); "
        f"CPU {stages['cpu_seconds']:.1f} s user+sys for {stages['seconds']:.1f} s wall"
    )
    if "cli" in result:
        cli = result["cli"]
        state = f"  exit {cli['exit']}, " + ("JSON written" if cli["wrote_json"] else "NO JSON WRITTEN")
        rows.append(
            f"CLI analyze -o x.json      {rates(cli['seconds'], size, lines, grep['seconds'])}{state}"
        )
        rows.append(
            f"CLI peak RSS               {cli['peak_rss_mib']:,.0f} MiB; "
            f"CPU {cli['cpu_seconds']:.1f} s user+sys"
        )
    findings = ", ".join(f"{f['id']} {f['status']} {f['count']}" for f in stages["findings"])
    rows.append(f"findings  {findings}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--bsd", action="store_true", help="also measure a BSD-syslog copy of FILE")
    parser.add_argument("--no-cli", action="store_true", help="skip the `logscope analyze` subprocess")
    parser.add_argument("--code", type=Path, default=ROOT, help="the logscope checkout to measure")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON")
    parser.add_argument("--repeat", type=int, default=1, help="in-process runs per file (medians)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"{args.file}: not a file")
    if args.child:
        print(json.dumps(child_stages(str(args.file))))
        return 0
    files = [args.file] + ([bsd_copy(args.file)] if args.bsd else [])
    results = []
    for path in files:
        result = measure_file(path, args.code.resolve(), not args.no_cli, max(1, args.repeat))
        print(table(result), flush=True)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
