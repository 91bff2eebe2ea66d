#!/usr/bin/env python3
"""Deterministic generator for logscope's sample diagnostic bundles and its benchmark snapshot.

    python sample_logs/generate.py                          # (re)write the bundles and scenarios.toml
    python sample_logs/generate.py --check                  # regenerate in a temp dir, compare bytes
    python sample_logs/generate.py --big PATH --size-mb N   # one large snapshot, streamed to disk
    python sample_logs/generate.py --big PATH --size-mb N --storm [--seed S]
                                        # the benchmark's login-storm snapshot; prints its shape

Every line is synthetic except the SEED003_* lines, copied from seed document 003 and re-joined where
the publisher wrapped them mid-token (`--check` verifies them against the document when it is beside
the repository). The line formats follow shared/reference/log-lines.md; the xstat/xconf dump formats
and the rest of the bundle layout are our own documented assumption (sample_logs/README.md).

Determinism: every random choice comes from a seeded `random.Random`, times from fixed bases, nothing
iterates a set or dict whose order depends on hashing, and archives are written with mtime 0, uid/gid
0, sorted members and no gzip file name or time stamp.

The code lives in the scenario_kit/ package beside this script: shared building blocks and one module
per scenario family, listed in scenario_kit/registry.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# scenario_kit/ is beside this file, also when it is imported as sample_logs.generate (benchmarks).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenario_kit.benchmark_file import write_big
from scenario_kit.bundle_files import tar_gz
from scenario_kit.outputs import build_all, check, write_files
from scenario_kit.storm_file import shape_line, write_storm

__all__ = ["main", "tar_gz"]

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="regenerate in a temp dir and compare bytes")
    parser.add_argument("--big", type=Path, metavar="PATH", help="write one large loggingsnapshot .txt")
    parser.add_argument("--size-mb", type=float, default=100.0, help="size of --big in MiB (default 100)")
    parser.add_argument(
        "--storm", action="store_true", help="--big as a login storm (benchmarks/analyze_bench.py's file)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed of --big --storm (default 2026)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the bundles go (default: sample_logs/)")
    args = parser.parse_args(argv)
    if args.big is not None:
        if args.size_mb <= 0:
            parser.error("--size-mb must be positive")
        if args.storm:
            print(shape_line(args.big, write_storm(args.big, args.size_mb, args.seed)))
            return 0
        stats = write_big(args.big, args.size_mb)
        print(
            f"{args.big}: {stats['bytes'] / 1024 / 1024:.1f} MiB, {stats['lines']:,.0f} lines in "
            f"{stats['seconds']:.1f} s ({stats['mb_per_s']:.1f} MiB/s)"
        )
        return 0
    if args.check:
        return check(args.out)
    files = build_all()
    write_files(files, args.out)
    for relative, data in sorted(files.items()):
        print(f"{relative}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
