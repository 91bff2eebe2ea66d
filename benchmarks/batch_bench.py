"""Batch throughput: N bundles through `run_batch` with --jobs 1, --jobs 2, a two-worker Dask
LocalCluster, and a cached re-run.

    .venv/bin/python benchmarks/batch_bench.py [--count 200] [--modes jobs1,jobs2,dask2,cached]

The bundles are the sample_logs/ scenarios at full size, each copy made different (one extra kernel
line naming the copy, and the log cut a few lines shorter) so every content hash differs and
nothing is served from the cache by accident. Each mode runs in a fresh Python process, so
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` in that process is the peak RSS of its busiest worker (pool
processes, or Dask worker processes, all children of that process) and RUSAGE_SELF is the
coordinator's own peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sample_logs.generate import tar_gz  # noqa: E402

SAMPLE_LOGS = ROOT / "sample_logs"
MODES = ("jobs1", "jobs2", "dask2", "cached")


def make_bundles(folder: Path, count: int) -> int:
    """`count` distinct .tar.gz bundles from the sample scenarios; returns their total size."""
    scenarios = sorted(SAMPLE_LOGS.glob("*.tar.gz"))
    originals = [_members(path) for path in scenarios]
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for index in range(count):
        members = dict(originals[index % len(originals)])
        for name, data in members.items():
            if name.startswith(("loggingsnapshot_", "diags")):
                lines = data.splitlines(keepends=True)
                cut = lines[: len(lines) - index // len(originals)]
                stamp = cut[-1].split(b" ", 1)[0] if cut else b"2024-01-01T00:00:00.000+00:00"
                members[name] = b"".join(cut) + stamp + f" bench kernel: variant {index}\n".encode()
        target = folder / f"bundle{index:03d}-{scenarios[index % len(scenarios)].name}"
        target.write_bytes(tar_gz(members))
        total += target.stat().st_size
    return total


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}


def run_mode(mode: str, cases: Path, out: Path) -> dict:
    """One mode, in this process; what it measured, as a dict."""
    from logscope.batch import run_batch

    cluster = None
    options: dict = {"jobs": 1 if mode == "jobs1" else 2}
    if mode == "dask2":
        from distributed import LocalCluster

        cluster = LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=40
        )
        options = {"dask_address": cluster.scheduler_address}
    started = time.perf_counter()
    summary = run_batch([str(cases)], out, **options)
    elapsed = time.perf_counter() - started
    if cluster is not None:
        cluster.close()
    log_bytes = 0
    for result in summary.results:
        if result.json is not None:
            log_bytes += json.loads(result.json.read_text(encoding="utf-8"))["stats"].get("bytes", 0)
    return {
        "mode": mode,
        "inputs": len(summary.results),
        "failed": summary.failed,
        "cached": summary.cached,
        "seconds": elapsed,
        "log_bytes": log_bytes,
        "mean_task_seconds": sum(r.seconds for r in summary.results) / max(len(summary.results), 1),
        "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "coordinator_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--run", choices=MODES, help=argparse.SUPPRESS)  # internal: one mode
    parser.add_argument("--cases", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_mode(args.run, args.cases, args.out)))
        return
    with tempfile.TemporaryDirectory(prefix="logscope-batch-bench-") as scratch:
        cases = Path(scratch) / "cases"
        input_bytes = make_bundles(cases, args.count)
        print(f"{args.count} bundles, {input_bytes / 1e6:.1f} MB on disk")
        header = (
            f"{'mode':8} {'s':>7} {'bundles/s':>10} {'MB/s in':>8} {'MB/s log':>9} {'task s':>7} "
            f"{'worker RSS MiB':>14} {'coord RSS MiB':>13} failed cached"
        )
        print(header)
        for mode in args.modes.split(","):
            out = Path(scratch) / ("out-jobs2" if mode == "cached" else f"out-{mode}")
            command = [sys.executable, __file__, "--run", mode, "--cases", str(cases), "--out", str(out)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            seconds = row["seconds"]
            print(
                f"{mode:8} {seconds:7.1f} {row['inputs'] / seconds:10.2f} {input_bytes / 1e6 / seconds:8.2f} "
                f"{row['log_bytes'] / 1e6 / seconds:9.1f} {row['mean_task_seconds']:7.2f} "
                f"{row['worker_peak_rss_mb']:14.0f} {row['coordinator_peak_rss_mb']:13.0f} "
                f"{row['failed']:6} {row['cached']:6}",
                flush=True,
            )


if __name__ == "__main__":
    main()
