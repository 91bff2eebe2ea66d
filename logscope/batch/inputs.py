"""Which inputs a batch has: files, folders and globs expanded, each with a unique report name.

A folder that is itself one unpacked bundle is one input; any other folder stands for its children.
"""

from __future__ import annotations

import glob
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from logscope.bundle import HEAD_BYTES, SOURCES, archive_kind, identify

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".gz")
PLAIN_LOG_SUFFIXES = (".txt", ".log")
RESERVED_STEMS = frozenset({"index", "summary"})  # index.html and summary.csv live beside the reports
MAX_STEM = 80


@dataclass(frozen=True)
class BatchInput:
    path: str  # as given or expanded
    name: str  # the report stem, unique in the batch


@dataclass
class BatchPlan:
    inputs: list[BatchInput]
    ignored: list[str]


def plan_batch(paths: Iterable[str | os.PathLike], out_dir: Path | None = None) -> BatchPlan:
    """The inputs behind `paths` (files, folders, globs) with unique report names, in a stable order.

    A folder that is itself one unpacked bundle is one input; any other folder stands for its
    children (each a file or folder), skipping hidden entries, the output folder, and files that are
    neither archives nor logs (they are listed in ``ignored``). A glob matching nothing, or a
    missing path, stays an input so that it shows up as a failed row.
    """
    skip = {os.path.realpath(out_dir)} if out_dir is not None else set()
    seen: set[str] = set()
    inputs: list[str] = []
    ignored: list[str] = []
    for given in paths:
        for path in _expand(os.fspath(given), skip, ignored):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                inputs.append(path)
    return BatchPlan(
        [BatchInput(path, name) for path, name in zip(inputs, unique_stems(inputs), strict=True)], ignored
    )


def _expand(given: str, skip: set[str], ignored: list[str]) -> list[str]:
    matches = sorted(glob.glob(given)) if is_pattern(given) and not os.path.lexists(given) else [given]
    if not matches:
        return [given]
    found: list[str] = []
    for path in matches:
        if os.path.isdir(path) and not is_unpacked_bundle(path):
            found += _folder_children(path, skip, ignored)
        elif os.path.realpath(path) not in skip:
            found.append(path)
    return found


def is_pattern(text: str) -> bool:
    return any(char in text for char in "*?[")


def _folder_children(folder: str, skip: set[str], ignored: list[str]) -> list[str]:
    children = []
    for entry in sorted(os.scandir(folder), key=lambda item: item.name):
        path = os.path.join(folder, entry.name)
        if entry.name.startswith(".") or os.path.realpath(path) in skip:
            continue
        if entry.is_dir() or looks_like_input(path):
            children.append(path)
        else:
            ignored.append(path)
    return children


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read(HEAD_BYTES)
    except OSError:
        return b""


def looks_like_input(path: str) -> bool:
    """An archive (by magic bytes), a file the bundle's source table recognises, or a .txt/.log file.

    A .txt that turns out to be binary is still an input, so it is reported as broken, not hidden.
    """
    name = os.path.basename(path)
    if name.lower().endswith(ARCHIVE_SUFFIXES + PLAIN_LOG_SUFFIXES):
        return True
    if not os.path.isfile(path):
        return True  # a fifo or device: let the analysis say why it is refused
    head = _head(path)
    return archive_kind(head, name) is not None or identify(name, head)[0] is not None


def is_unpacked_bundle(folder: str) -> bool:
    """A folder holding, directly, a file named like a bundle member (loggingsnapshot_*, xconf_*,
    xstat_*, diags.log, ...) is one unpacked bundle; any other folder is a folder of inputs.

    Names, not contents, decide: a renamed log among archives is one more input, not a bundle.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return True  # let the analysis report why it cannot be read
    return any(entry.is_file(follow_symlinks=False) and _named_like_a_member(entry.name) for entry in entries)


def _named_like_a_member(name: str) -> bool:
    return any(pattern.match(name) for spec in SOURCES for pattern in spec.name_patterns)


def report_stem(path: str) -> str:
    """A safe file-name stem from an input's name: ASCII letters, digits, ``._-``, never a path.

    ``../Café case #1.tar.gz`` -> ``Cafe_case_1``. Reserved stems (index, summary) get ``-input``.
    """
    base = os.path.basename(os.path.normpath(path)) or "input"
    lower = base.lower()
    for suffix in ARCHIVE_SUFFIXES + PLAIN_LOG_SUFFIXES:
        if lower.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name)
    stem = re.sub(r"\.{2,}", ".", stem).strip("._-")[:MAX_STEM].strip("._-")
    if not stem:
        stem = "input"
    return f"{stem}-input" if stem.lower() in RESERVED_STEMS else stem


def unique_stems(paths: Sequence[str]) -> list[str]:
    """report_stem of each path, made unique (case-insensitively) with -2, -3, ... in input order."""
    taken: set[str] = set()
    stems = []
    for path in paths:
        stem, number = report_stem(path), 1
        candidate = stem
        while candidate.lower() in taken:
            number += 1
            candidate = f"{stem}-{number}"
        taken.add(candidate.lower())
        stems.append(candidate)
    return stems
