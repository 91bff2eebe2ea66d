"""Benchmark the parse and correlate stages on a large generated snapshot.

    .venv/bin/python benchmarks/parse_bench.py --size-mb 1024          # generates bench-data/ once
    .venv/bin/python benchmarks/parse_bench.py --file some/loggingsnapshot.txt

Prints MiB/s, lines/s, peak RSS (MiB), and the ratio to `grep -c traffic_server` on the same file. The
figures are for the issue notes, not for a timed test.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logscope.correlate import correlate  # noqa: E402
from logscope.parse import parse_members  # noqa: E402


class FileMember:
    source, host = "log", None

    def __init__(self, path: Path) -> None:
        self.path, self.size = path, path.stat().st_size

    def display(self) -> str:
        return self.path.name

    def open(self):
        return self.path.open("rb")


def generated_file(size_mb: int) -> Path:
    path = ROOT / "bench-data" / f"loggingsnapshot_bench_{size_mb}mb.txt"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        generator = ROOT / "sample_logs" / "generate.py"
        started = time.perf_counter()
        command = [sys.executable, str(generator), "--big", str(path), "--size-mb", str(size_mb)]
        subprocess.run(command, check=True)
        print(f"generated {path.name} in {time.perf_counter() - started:.1f} s")
    return path


def grep_seconds(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(["grep", "-c", "traffic_server", str(path)], capture_output=True, text=True)
    return time.perf_counter() - started, int(done.stdout.strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path)
    parser.add_argument("--size-mb", type=int, default=1024)
    args = parser.parse_args()
    path = args.file or generated_file(args.size_mb)
    size_mb = path.stat().st_size / 1024**2
    grep_time, grep_count = grep_seconds(path)

    started = time.perf_counter()
    parsed = parse_members([FileMember(path)])
    parse_time = time.perf_counter() - started
    correlation = correlate(parsed.events)
    total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    stats = parsed.stats
    print(f"file              {path.name}: {size_mb:.0f} MiB, {stats.lines:,} lines")
    print(f"grep -c           {grep_time:.2f} s ({grep_count:,} traffic_server lines)")
    for label, seconds in (("parse", parse_time), ("parse + correlate", total)):
        rates = f"{size_mb / seconds:.1f} MiB/s, {stats.lines / seconds:,.0f} lines/s"
        print(f"{label:17} {seconds:.2f} s: {rates}")
    print(f"events            {stats.events:,} (unparsed {stats.unparsed}, partial {stats.partial})")
    print(
        f"transactions      {len(correlation.transactions):,}, TLS failures {len(correlation.tls_failures):,}"
    )
    print(f"peak RSS          {peak_mb:,.0f} MiB")
    print(f"ratio to grep -c  {total / grep_time:.1f}x")


if __name__ == "__main__":
    main()
