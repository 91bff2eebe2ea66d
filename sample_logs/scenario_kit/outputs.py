"""The committed outputs: build every family's bundles and the manifest, write them, and compare a
fresh generation with what is committed, byte for byte (`generate.py --check`)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .manifest import MANIFEST, manifest_toml
from .registry import build_every_family, source_problems


def build_all() -> dict[str, bytes]:
    """Relative path -> bytes for every committed output (bundles and the manifest)."""
    builds = build_every_family()
    files: dict[str, bytes] = {}
    for built in builds:
        files.update(built.files)
    files[MANIFEST] = manifest_toml([built.manifest for built in builds]).encode()
    return files


def write_files(files: dict[str, bytes], out_dir: Path) -> None:
    for relative, data in sorted(files.items()):
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def committed_outputs(directory: Path) -> set[str]:
    found = {p.relative_to(directory).as_posix() for p in directory.rglob("*.tar.gz")}
    return found | ({MANIFEST} if (directory / MANIFEST).exists() else set())


def check(directory: Path) -> int:
    """Regenerate into a temporary folder and compare with the committed files, byte for byte."""
    problems: list[str] = source_problems()
    with tempfile.TemporaryDirectory(prefix="logscope-samples-") as tmp:
        fresh_dir = Path(tmp)
        files = build_all()
        write_files(files, fresh_dir)
        for relative in sorted(files):
            committed = directory / relative
            if not committed.exists():
                problems.append(f"{relative}: generated but not committed")
            elif committed.read_bytes() != (fresh_dir / relative).read_bytes():
                problems.append(f"{relative}: differs from a fresh generation")
        problems += [
            f"{r}: committed but not generated" for r in sorted(committed_outputs(directory) - set(files))
        ]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(files)} files checked, {len(problems)} problem(s)")
    return 1 if problems else 0
