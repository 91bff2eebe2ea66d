"""Scanner throughput (issue 14): MB/s of each backend over a file, next to `grep -c traffic_server`.

    python benchmarks/scan_throughput.py FILE [--limit-mb N]

Prints, per backend, the raw scan (spans only) and the scan with its pyarrow table, over the first
`--limit-mb` MiB (default: the whole file), and grep's best of three through a pipe on the whole file.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

from logscope.scan import BACKEND, blocks, scan_raw, to_table


def _grep_seconds(path: Path) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(f"cat {path} | grep -c traffic_server", shell=True, check=False, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def _time(path: Path, limit: int, backend: str, table: bool) -> tuple[float, int, int]:
    seconds, size, events = 0.0, 0, 0
    with path.open("rb") as stream:
        for block, _, first in blocks(stream):
            started = time.perf_counter()
            raw = scan_raw(block, first, backend=backend)
            if table:
                to_table(block, raw)
            seconds += time.perf_counter() - started
            size, events = size + len(block), events + raw.count
            if size >= limit:
                break
    return seconds, size, events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--limit-mb", type=float, default=0)
    parser.add_argument("--python-limit-mb", type=float, default=64)
    args = parser.parse_args()
    whole = args.file.stat().st_size
    grep = _grep_seconds(args.file)
    print(f"grep -c traffic_server: {grep:.2f} s, {whole / grep / 1e6:.0f} MB/s")
    backends = ["python"] + (["compiled"] if BACKEND == "compiled" else [])
    for backend in backends:
        limit = int((args.python_limit_mb if backend == "python" else args.limit_mb) * 2**20) or whole
        for table in (False, True):
            seconds, size, events = _time(args.file, limit, backend, table)
            rate = size / seconds / 1e6
            label = "scan+table" if table else "scan"
            print(
                f"{backend:8} {label:10}: {size / 2**20:.0f} MiB, {events:,} events in {seconds:.2f} s, "
                f"{rate:.0f} MB/s, {rate and (whole / rate / 1e6) / grep:.1f}x grep on the whole file"
            )


if __name__ == "__main__":
    main()
