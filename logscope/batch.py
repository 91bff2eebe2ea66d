"""Batch: many inputs -> a report pair each, an index page and summary.csv, analyzed in parallel.

    summary = run_batch(["cases/"], Path("out"), jobs=2)      # what `logscope batch` runs
    for result in logscope.batch(["cases/*.tar.gz"]): ...      # results as they finish, no files

Each input is analyzed by :func:`analyze_one`, the one function the process pool and Dask workers
run. It never raises for a bad input: a broken bundle, or any crash inside the analysis, becomes a
result with ``ok=False`` and a one-line ``error``, so one input never stops the others. A worker
process that dies outright (a segfault, the OOM killer) is found by re-running the inputs it held one
at a time, and only the one that kills its worker is reported as failed.

Re-running skips an input whose report pair exists and whose JSON ``batch`` block records the same
content hash, logscope version and settings (signature files, size cap). Every file is written
under a temporary name inside the output folder and renamed into place, so a report is either
complete or absent and nothing is written outside the output folder.

The module is callable: ``logscope.batch(paths)`` is :func:`batch` (see :class:`_CallableModule`).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import re
import stat
import sys
import tempfile
import time
import types
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import click
from markupsafe import Markup

from logscope import __version__
from logscope.bundle import DEFAULT_MAX_BYTES, HEAD_BYTES, SOURCES, archive_kind, identify
from logscope.errors import BundleError, LogscopeError
from logscope.findings import SEVERITIES, STATUS_TITLES, STATUSES
from logscope.pipeline import analyze
from logscope.render import (
    block_text,
    content_security_policy,
    html_environment,
    inline_assets,
    visible_controls,
)
from logscope.resources import data_dir

CACHE_BLOCK = "batch"  # key of the cache record inside each report's JSON
INDEX_NAME = "index.html"
CSV_NAME = "summary.csv"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".gz")
PLAIN_LOG_SUFFIXES = (".txt", ".log")
RESERVED_STEMS = frozenset({"index", "summary"})  # index.html and summary.csv live beside the reports
MAX_STEM = 80
DASK_CONNECT_TIMEOUT = "10s"
MAX_ERROR = 500
ATTENTION_STATUSES = ("issue", "potential", "missing-info")
CSV_COLUMNS = (
    "input",
    "name",
    "ok",
    "error",
    "hosts",
    "versions",
    "finding_id",
    "title",
    "status",
    "severity",
    "category",
    "count",
    "servers",
)
_LOG_SOURCES = frozenset(spec.key for spec in SOURCES if spec.is_log)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class BatchResult:
    """What one input gave: where its reports are, or why it failed."""

    input: str
    name: str
    ok: bool
    error: str | None = None
    html: Path | None = None
    json: Path | None = None
    summary: dict[str, int] = field(default_factory=dict)
    nodes: list[dict[str, str]] = field(default_factory=list)
    top_finding: dict[str, str] | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    content_hash: str = ""
    cached: bool = False
    seconds: float = 0.0


@dataclass
class BatchSummary:
    results: list[BatchResult]
    out_dir: Path
    ignored: list[str] = field(default_factory=list)  # folder entries that are not bundles

    @property
    def failed(self) -> int:
        return sum(not result.ok for result in self.results)

    @property
    def cached(self) -> int:
        return sum(result.cached for result in self.results)

    @property
    def index(self) -> Path:
        return self.out_dir / INDEX_NAME

    def describe(self) -> str:
        """One line, e.g. "50 inputs: 47 analyzed (3 cached), 3 failed; index: out/index.html"."""
        count = len(self.results)
        analyzed = count - self.failed
        line = (
            f"{count} input{'' if count == 1 else 's'}: {analyzed} analyzed ({self.cached} cached), "
            f"{self.failed} failed; index: {self.index}"
        )
        if self.ignored:
            names = ", ".join(os.path.basename(path) for path in self.ignored[:3])
            more = f" and {len(self.ignored) - 3} more" if len(self.ignored) > 3 else ""
            line += f"; {len(self.ignored)} file(s) ignored (not bundles): {names}{more}"
        return line


@dataclass(frozen=True)
class BatchInput:
    path: str  # as given or expanded
    name: str  # the report stem, unique in the batch


@dataclass
class BatchPlan:
    inputs: list[BatchInput]
    ignored: list[str]


# --- which inputs: expanding globs and folders --------------------------------------------------


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
    matches = sorted(glob.glob(given)) if _is_pattern(given) and not os.path.lexists(given) else [given]
    if not matches:
        return [given]
    found: list[str] = []
    for path in matches:
        if os.path.isdir(path) and not is_unpacked_bundle(path):
            found += _folder_children(path, skip, ignored)
        elif os.path.realpath(path) not in skip:
            found.append(path)
    return found


def _is_pattern(text: str) -> bool:
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


# --- content hash and cache key -------------------------------------------------------------------


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes; for a folder, of its sorted members (path, size, bytes; links by target).

    Raises OSError for a path that is missing, unreadable, or neither a regular file nor a folder
    (a fifo or device is never read: it could block or never end).
    """
    info = os.stat(path)
    if stat.S_ISREG(info.st_mode):
        with open(path, "rb") as stream:
            return "sha256:" + hashlib.file_digest(stream, "sha256").hexdigest()
    if stat.S_ISDIR(info.st_mode):
        return "sha256:" + _folder_digest(Path(path))
    raise OSError(f"{os.fspath(path)}: not a regular file or folder")


def _folder_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files) + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                entry = f"L {relative} -> {os.readlink(path)}"
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as stream:
                    member = hashlib.file_digest(stream, "sha256").hexdigest()
                entry = f"F {relative} {info.st_size} {member}"
            else:
                entry = f"O {relative}"
            digest.update(entry.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def settings_key(signature_dirs: Iterable[str | os.PathLike], max_bytes: int) -> str:
    """What, besides the input and the version, changes a report: the signature files and the cap."""
    digest = hashlib.sha256(f"max_bytes={max_bytes}\0".encode())
    for folder in (data_dir("signatures"), *map(Path, signature_dirs)):
        digest.update(f"dir {folder.name}\0".encode("utf-8", "surrogateescape"))
        files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        for path in files:
            digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def _cache_record(path: str, name: str, digest: str, settings: str) -> dict[str, str]:
    return {
        "input": path,
        "name": name,
        "content_hash": digest,
        "logscope_version": __version__,
        "settings": settings,
    }


def _load_cached(json_path: Path, html_path: Path, digest: str, settings: str) -> dict[str, Any] | None:
    """The stored report when it is complete and was made from the same bytes, version and settings."""
    if not html_path.is_file():
        return None
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    record = document.get(CACHE_BLOCK) if isinstance(document, dict) else None
    if not isinstance(record, dict):
        return None
    same = (
        record.get("content_hash") == digest
        and record.get("logscope_version") == __version__
        and record.get("settings") == settings
    )
    return document if same and _readable_document(document) else None


def _readable_document(document: dict[str, Any]) -> bool:
    try:
        _result_fields(document)
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


# --- one input ------------------------------------------------------------------------------------


def analyze_one(
    input_path: str,
    out_dir: Path | str | None,
    signature_dirs: Sequence[str | os.PathLike] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    force: bool = False,
    name: str | None = None,
) -> BatchResult:
    """Analyze one input and write ``<name>.html`` and ``<name>.json`` into `out_dir`.

    Never raises for the input's sake: a BundleError becomes its message, anything else
    "internal error: ...". With ``out_dir=None`` nothing is written and nothing is cached. Picklable
    by reference, so the process pool and Dask workers run it as is.
    """
    started = time.perf_counter()
    name = name or report_stem(input_path)
    folder = Path(out_dir) if out_dir is not None else None
    html_path = folder / f"{name}.html" if folder else None
    json_path = folder / f"{name}.json" if folder else None
    result = BatchResult(input=input_path, name=name, ok=False)
    try:
        result.content_hash = content_hash(input_path)
    except OSError as exc:
        reason = "no file matches this pattern" if _is_pattern(input_path) else _os_error_text(exc)
        return _failed(result, f"{input_path}: {reason}", started, html_path, json_path)
    settings = settings_key(signature_dirs, max_bytes)
    if html_path and json_path and not force:
        stored = _load_cached(json_path, html_path, result.content_hash, settings)
        if stored is not None:
            return _succeeded(result, stored, started, html_path, json_path, cached=True)
    try:
        document, html = _analyze(input_path, signature_dirs, max_bytes, html_path is not None, folder)
        document[CACHE_BLOCK] = _cache_record(input_path, name, result.content_hash, settings)
        if html_path and json_path and html is not None:
            write_atomic(html_path, html)  # the JSON goes last: it is what marks the pair as complete
            write_atomic(json_path, json.dumps(document, indent=2, ensure_ascii=False, default=str))
        return _succeeded(result, document, started, html_path, json_path, cached=False)
    except BundleError as exc:
        return _failed(result, str(exc), started, html_path, json_path)
    except Exception as exc:  # a crash on one input must not stop the batch: it becomes its row
        return _failed(result, f"internal error: {type(exc).__name__}: {exc}", started, html_path, json_path)


def _analyze(
    input_path: str,
    signature_dirs: Sequence[str | os.PathLike],
    max_bytes: int,
    with_html: bool,
    work_dir: Path | None,
) -> tuple[dict[str, Any], str | None]:
    """Analyze one input; archives unpack in a temporary folder inside the output folder."""
    report = analyze(input_path, signature_dirs=signature_dirs, max_bytes=max_bytes, work_dir=work_dir)
    return report.to_dict(), report.to_html() if with_html else None


def _os_error_text(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror.lower() if exc.errno else exc.strerror
    return str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)


def _succeeded(
    result: BatchResult,
    document: dict[str, Any],
    started: float,
    html_path: Path | None,
    json_path: Path | None,
    *,
    cached: bool,
) -> BatchResult:
    result.ok, result.cached = True, cached
    result.html, result.json = html_path, json_path
    result.summary, result.nodes, result.findings, result.top_finding = _result_fields(document)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _failed(
    result: BatchResult, message: str, started: float, html_path: Path | None, json_path: Path | None
) -> BatchResult:
    """A failed input: its one-line error; an older report pair of the same name is removed."""
    for stale in (json_path, html_path):
        if stale is not None:
            stale.unlink(missing_ok=True)
    result.ok, result.error = False, one_line(message)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def one_line(message: str, limit: int = MAX_ERROR) -> str:
    """Whitespace (newlines included) collapsed, cut to `limit` characters."""
    text = " ".join(str(message).split()) or "unknown error"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _result_fields(
    document: dict[str, Any],
) -> tuple[dict[str, int], list[dict[str, str]], list[dict[str, Any]], dict[str, str] | None]:
    """summary, nodes, findings and top finding of a report document (fresh, or read back from disk)."""
    summary = {status: int(document["summary"].get(status, 0)) for status in STATUSES}
    nodes = [
        {"host": str(node["host"]), "version": str(node["version"]), "role": str(node["role"])}
        for node in document["nodes"]
    ]
    findings = [
        {
            "id": str(finding["id"]),
            "title": str(finding["title"]),
            "status": str(finding["status"]),
            "severity": str(finding["severity"]),
            "category": str(finding["category"]),
            "count": int(finding.get("count") or 0),
            "servers": [str(server["name"]) for server in finding.get("servers", [])],
        }
        for finding in document["findings"]
    ]
    return summary, nodes, findings, top_finding(findings)


def top_finding(findings: Sequence[dict[str, Any]]) -> dict[str, str] | None:
    """The most severe finding that needs attention: status first (issue, potential, missing-info),
    then severity. None when every finding is ok or not applicable."""
    candidates = [f for f in findings if f["status"] in ATTENTION_STATUSES]
    if not candidates:
        return None
    best = min(candidates, key=_severity_rank)
    return {key: best[key] for key in ("id", "title", "status", "severity")}


def _severity_rank(finding: dict[str, Any]) -> tuple[int, int]:
    severity = finding["severity"]
    return (
        ATTENTION_STATUSES.index(finding["status"]),
        SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES),
    )


def write_atomic(path: Path, text: str) -> None:
    """Write `text` next to `path` under a temporary name, then rename it into place."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- running many: process pool or Dask -----------------------------------------------------------


Task = Callable[[BatchInput], BatchResult]


def _analyze_input(item: BatchInput, **options: Any) -> BatchResult:
    """analyze_one for one planned input (module level, so pools and Dask pickle it by reference)."""
    return analyze_one(item.path, name=item.name, **options)


def batch(
    paths: Iterable[str | os.PathLike],
    *,
    out_dir: Path | str | None = None,
    jobs: int | None = None,
    force: bool = False,
    dask_address: str | None = None,
    signature_dirs: Sequence[str | os.PathLike] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[BatchResult]:
    """Analyze many inputs in parallel and yield a BatchResult for each as it finishes.

    With `out_dir` each input's report pair is written (and reused when up to date); without it
    nothing is written. The index page and summary.csv come from :func:`run_batch`.
    """
    folder = _prepare_out_dir(out_dir) if out_dir is not None else None
    plan = plan_batch(paths, folder)
    yield from execute(plan, folder, jobs, force, dask_address, signature_dirs, max_bytes)


def run_batch(
    paths: Iterable[str | os.PathLike],
    out_dir: Path | str,
    *,
    jobs: int | None = None,
    force: bool = False,
    dask_address: str | None = None,
    signature_dirs: Sequence[str | os.PathLike] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: bool = False,
) -> BatchSummary:
    """What ``logscope batch`` does: every input's reports, then index.html and summary.csv.

    Raises LogscopeError (one line) when the output folder cannot be made, nothing is found to
    analyze, or the Dask scheduler cannot be reached; a broken input is a failed row instead.
    """
    paths = [os.fspath(path) for path in paths]
    folder = _prepare_out_dir(out_dir)
    plan = plan_batch(paths, folder)
    if not plan.inputs:
        raise LogscopeError(f"nothing to analyze in {', '.join(paths) or '(no path)'}")
    by_name: dict[str, BatchResult] = {}
    results = execute(plan, folder, jobs, force, dask_address, signature_dirs, max_bytes)
    with _progress_bar(len(plan.inputs), progress) as advance:
        for result in results:
            by_name[result.name] = result
            advance()
    summary = BatchSummary([by_name[item.name] for item in plan.inputs], Path(out_dir), plan.ignored)
    write_atomic(folder / CSV_NAME, summary_csv(summary.results))
    write_atomic(folder / INDEX_NAME, render_index(summary))
    return summary


def execute(
    plan: BatchPlan,
    out_dir: Path | None,
    jobs: int | None,
    force: bool,
    dask_address: str | None,
    signature_dirs: Sequence[str | os.PathLike],
    max_bytes: int,
) -> Iterator[BatchResult]:
    """Results for the planned inputs, in the order they finish."""
    options = {
        "out_dir": out_dir,
        "signature_dirs": tuple(os.fspath(d) for d in signature_dirs),
        "max_bytes": max_bytes,
        "force": force,
    }
    if not plan.inputs:
        return iter(())
    if dask_address:
        return dask_results(plan.inputs, dask_address, options)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(plan.inputs)))
    return pool_results(plan.inputs, partial(_analyze_input, **options), workers)


def _prepare_out_dir(out_dir: Path | str) -> Path:
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LogscopeError(f"cannot create the output folder {folder}: {_os_error_text(exc)}") from None
    return folder.absolute()  # workers (and Dask workers) may run in another directory


def pool_results(items: Sequence[BatchInput], task: Task, workers: int) -> Iterator[BatchResult]:
    """Run `task` on every item in a process pool; yield results as they complete.

    When a worker process dies, the items that were in flight are suspects: each is run again alone,
    so only the input that kills its worker is reported, and the batch goes on in a fresh pool.
    """
    queue = deque(items)
    while queue:
        suspects = yield from _pool_round(queue, task, workers)
        for item in suspects:
            yield _run_alone(item, task)


def _pool_round(queue: deque[BatchInput], task: Task, workers: int) -> Iterator[BatchResult]:
    """Drain `queue` with at most `workers` items in flight; return the in-flight items if the pool breaks."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        running: dict[Future[BatchResult], BatchInput] = {}
        while queue or running:
            while queue and len(running) < workers:
                item = queue.popleft()
                try:
                    running[pool.submit(task, item)] = item
                except BrokenProcessPool:  # a worker died after the last wait: same as below
                    queue.appendleft(item)
                    return list(running.values())
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = []
            for future in done:
                item = running.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken.append(item)
                except Exception as exc:  # e.g. a result that cannot be pickled back
                    yield internal_error(item, exc)
            if broken:
                return broken + list(running.values())
    return []


def _run_alone(item: BatchInput, task: Task) -> BatchResult:
    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(task, item).result()
        except BrokenProcessPool:
            return BatchResult(
                input=item.path,
                name=item.name,
                ok=False,
                error="internal error: the worker process died while analyzing this input "
                "(a crash, or killed for lack of memory)",
            )
        except Exception as exc:
            return internal_error(item, exc)


def internal_error(item: BatchInput, exc: BaseException) -> BatchResult:
    message = one_line(f"internal error: {type(exc).__name__}: {exc}")
    return BatchResult(input=item.path, name=item.name, ok=False, error=message)


def dask_results(items: Sequence[BatchInput], address: str, options: dict[str, Any]) -> Iterator[BatchResult]:
    """Run the items on a Dask cluster (``client.map`` + ``as_completed``); inputs and the output
    folder must be paths the workers can read and write."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise LogscopeError(
            "--dask needs the [dask] extra: pip install 'logscope[dask]' (dask.distributed is missing)"
        ) from None
    from distributed.comm import parse_address, parse_host_port

    try:  # checked first: a Client built from a bad address hangs on close at exit
        parse_host_port(parse_address(address)[1])
    except ValueError as exc:
        reason = one_line(str(exc), 200)
        raise LogscopeError(f"not a Dask scheduler address (tcp://HOST:PORT): {reason}") from None
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise LogscopeError(
            f"cannot reach the Dask scheduler at {address}: {one_line(str(exc), 200)}"
        ) from None
    return _gather_dask(client, items, options, as_completed)


def _gather_dask(
    client: Any, items: Sequence[BatchInput], options: dict[str, Any], as_completed: Any
) -> Iterator[BatchResult]:
    """Workers may run in another directory: they get absolute paths; results show the paths as given."""
    with client:
        keys = [f"logscope-{item.name}-{os.getpid()}-{time.time_ns()}" for item in items]
        absolute = [BatchInput(os.path.abspath(item.path), item.name) for item in items]
        futures = client.map(_analyze_input, absolute, key=keys, pure=False, **options)
        by_key = dict(zip(keys, items, strict=True))
        for future in as_completed(futures, loop=client.loop):
            item = by_key[future.key]
            try:
                result = future.result()
            except Exception as exc:  # KilledWorker and friends: that input's row, not the batch's end
                result = internal_error(item, exc)
            result.input = item.path
            yield result


@contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    with click.progressbar(length=total, label="analyzing", file=sys.stderr, show_pos=True) as bar:
        yield lambda: bar.update(1)


# --- summary.csv and index.html -------------------------------------------------------------------


def summary_csv(results: Sequence[BatchResult]) -> str:
    """One row per (input, finding), one per broken input; header first; RFC 4180 quoting.

    Text that came from a bundle (paths, host names, servers, errors) and starts like a spreadsheet
    formula (=, +, -, @) gets a leading apostrophe so a spreadsheet shows it instead of running it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in results:
        hosts = "; ".join(node["host"] for node in result.nodes)
        versions = "; ".join(sorted({node["version"] for node in result.nodes}))
        head = [result.input, result.name, result.ok, result.error or "", hosts, versions]
        rows = [
            [
                finding["id"],
                finding["title"],
                finding["status"],
                finding["severity"],
                finding["category"],
                finding["count"],
                "; ".join(finding["servers"]),
            ]
            for finding in result.findings
        ]
        if not rows:  # a broken input (or a report with no finding) still gets its row
            rows = [["", "", "", "", "", "", ""]]
        for row in rows:
            writer.writerow([_cell(value) for value in head + row])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        text = _visible(value, keep_newlines=False)
        return "'" + text if text.startswith(_FORMULA_START) else text
    return value


def _visible(text: str, keep_newlines: bool = True) -> str:
    return visible_controls(text, keep_newlines=keep_newlines)


def index_rows(results: Sequence[BatchResult]) -> list[dict[str, Any]]:
    """What each row of index.html shows; `top_rank` is what the top-finding column sorts by."""
    rows = []
    for result in results:
        top = result.top_finding
        rank = (ATTENTION_STATUSES.index(top["status"]) * 10 + _severity_rank(top)[1]) if top else 99
        rows.append(
            {
                "result": result,
                "hosts": [node["host"] for node in result.nodes],
                "versions": sorted({node["version"] for node in result.nodes}),
                "counts": [(status, result.summary.get(status, 0)) for status in STATUSES],
                "top": top,
                "top_rank": rank if result.ok else 100,
                "html_name": result.html.name if result.html else None,
                "json_name": result.json.name if result.json else None,
            }
        )
    return rows


def render_index(summary: BatchSummary) -> str:
    """index.html: one sortable row per input; offline, escaped, scripts limited by a CSP hash."""
    template = html_environment().get_template("batch_index.html.j2")
    shared_css = inline_assets()[0]
    own_css, script = block_text(template, "index_style"), block_text(template, "index_script")
    totals = {status: sum(r.summary.get(status, 0) > 0 for r in summary.results) for status in STATUSES}
    return template.render(
        version=__version__,
        rows=index_rows(summary.results),
        statuses=[(status, STATUS_TITLES[status]) for status in STATUSES],
        totals=totals,
        count=len(summary.results),
        failed=summary.failed,
        cached=summary.cached,
        ignored=summary.ignored,
        shared_css=Markup(shared_css),  # our own package file, never log text
        csp=content_security_policy([shared_css, own_css], script),
    )


class _CallableModule(types.ModuleType):
    """Lets ``logscope.batch(paths)`` call :func:`batch` while ``logscope.batch`` stays this module.

    The package exports the module under that name (``from logscope import batch``); making the
    module callable keeps ``from logscope.batch import run_batch`` and ``import logscope.batch as b``
    working, which re-binding the name to the function would break.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[BatchResult]:
        return batch(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
