"""One input -> its report pair: :func:`analyze_one`, the function the process pool and Dask workers run.

It never raises for a bad input: a broken bundle, or any crash inside the analysis, becomes a result
with ``ok=False`` and a one-line ``error``."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logscope.batch.cache import CACHE_BLOCK, cache_record, content_hash, load_cached, settings_key
from logscope.batch.files import os_error_text, write_atomic
from logscope.batch.inputs import is_pattern, report_stem
from logscope.batch.results import BatchResult, incomplete_of, one_line, result_fields
from logscope.bundle import DEFAULT_MAX_BYTES
from logscope.errors import BundleError
from logscope.pipeline import analyze


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
        reason = "no file matches this pattern" if is_pattern(input_path) else os_error_text(exc)
        return _failed(result, f"{input_path}: {reason}", started, html_path, json_path)
    settings = settings_key(signature_dirs, max_bytes)
    if html_path and json_path and not force:
        stored = load_cached(json_path, html_path, result.content_hash, settings)
        if stored is not None:
            return _succeeded(result, stored, started, html_path, json_path, cached=True)
    try:
        document, html = _analyze(input_path, signature_dirs, max_bytes, html_path is not None, folder)
        document[CACHE_BLOCK] = cache_record(input_path, name, result.content_hash, settings)
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
    result.summary, result.nodes, result.findings, result.top_finding = result_fields(document)
    result.incomplete = incomplete_of(document)
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
