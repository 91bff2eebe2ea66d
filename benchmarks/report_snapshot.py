"""Write the reports of every sample, the cluster folder and every signature example; compare two runs.

    .venv/bin/python benchmarks/report_snapshot.py write DIR [--bench FILE]
    .venv/bin/python benchmarks/report_snapshot.py compare DIR_BEFORE DIR_AFTER

A refactor or a speed change must leave what logscope says unchanged: `write` before and after it,
then `compare` (exit 1 and the first differing lines on any difference). Timings (`stats.seconds`) are
left out (set to 0 in the HTML page and the terminal text, which are written too); everything else,
findings, evidence, texts and counts included, must match byte for byte.
`--bench FILE` adds a large generated snapshot (`sample_logs/generate.py --big`).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _stable(document: dict) -> str:
    document.get("stats", {}).pop("seconds", None)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _cases(bench: Path | None) -> dict[str, list[Path]]:
    samples = ROOT / "sample_logs"
    cases = {path.name: [path] for path in sorted(samples.glob("*.tar.gz"))}
    folders = (p for p in samples.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    for folder in sorted(f for f in folders if not (f / "__init__.py").exists()):
        cases[folder.name] = [folder]
    if bench is not None:
        cases[f"bench-{bench.name}"] = [bench]
    return cases


def write(out: Path, bench: Path | None) -> int:
    from logscope.pipeline import analyze
    from logscope.signatures import load_library, run_example

    out.mkdir(parents=True, exist_ok=True)
    for name, paths in _cases(bench).items():
        report = analyze(paths)
        (out / f"{name}.json").write_text(_stable(report.to_dict()), encoding="utf-8")
        report.stats["seconds"] = 0.0
        (out / f"{name}.html").write_text(report.to_html(), encoding="utf-8")
        (out / f"{name}.txt").write_text(report.to_text(), encoding="utf-8")
    library = load_library()
    for signature in library.signatures:
        for number, example in enumerate(signature.examples, 1):
            finding = run_example(library, signature, example)
            name = f"example-{signature.id}-{number}.json"
            (out / name).write_text(_stable({"finding": finding.to_dict()}), encoding="utf-8")
    print(f"{len(list(out.iterdir()))} files in {out}")
    return 0


def _unstamped(text: str) -> str:
    """The text without the random name of an example's temporary folder."""
    return re.sub(r"logscope-example-\w+", "logscope-example-TMP", text)


def compare(before: Path, after: Path) -> int:
    names = sorted({p.name for p in before.iterdir()} | {p.name for p in after.iterdir()})
    differing = 0
    for name in names:
        old, new = before / name, after / name
        if not old.exists() or not new.exists():
            print(f"{name}: only in {'after' if new.exists() else 'before'}")
            differing += 1
            continue
        old_lines = _unstamped(old.read_text(encoding="utf-8")).splitlines()
        new_lines = _unstamped(new.read_text(encoding="utf-8")).splitlines()
        if old_lines != new_lines:
            differing += 1
            diff = list(difflib.unified_diff(old_lines, new_lines, str(old), str(new), lineterm="", n=1))
            print("\n".join(diff[:40]))
    print(f"{len(names)} reports compared, {differing} differ")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    write_parser = commands.add_parser("write")
    write_parser.add_argument("out", type=Path)
    write_parser.add_argument("--bench", type=Path)
    compare_parser = commands.add_parser("compare")
    compare_parser.add_argument("before", type=Path)
    compare_parser.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "write":
        return write(args.out, args.bench)
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
