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

The modules, in the order data flows through them:

- ``inputs``: which inputs (files, folders, globs) and their unique report names
- ``records``: the typed parts of a result (BatchNode, BatchFinding, IncompleteEntry)
- ``results``: BatchResult, BatchSummary, the top finding of a report
- ``files``: the output folder and atomic writes
- ``cache``: content hash and the up-to-date check
- ``worker``: :func:`analyze_one`, one input -> its report pair
- ``executors``: the local process pool and Dask
- ``overview``: summary.csv and index.html
- ``runner``: :func:`batch` and :func:`run_batch`

The package is callable: ``logscope.batch(paths)`` is :func:`batch` (see :class:`_CallableModule`).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

from logscope.batch.cache import CACHE_BLOCK, content_hash, settings_key
from logscope.batch.executors import DASK_CONNECT_TIMEOUT, dask_results, execute, pool_results
from logscope.batch.files import write_atomic
from logscope.batch.inputs import (
    ARCHIVE_SUFFIXES,
    PLAIN_LOG_SUFFIXES,
    BatchInput,
    BatchPlan,
    is_unpacked_bundle,
    looks_like_input,
    plan_batch,
    report_stem,
    unique_stems,
)
from logscope.batch.overview import CSV_COLUMNS, index_rows, render_index, summary_csv
from logscope.batch.records import BatchFinding, BatchNode, IncompleteEntry
from logscope.batch.results import (
    ATTENTION_STATUSES,
    CSV_NAME,
    INDEX_NAME,
    BatchResult,
    BatchSummary,
    internal_error,
    one_line,
    top_finding,
)
from logscope.batch.runner import batch, run_batch
from logscope.batch.worker import analyze_one

__all__ = [
    "ARCHIVE_SUFFIXES",
    "ATTENTION_STATUSES",
    "CACHE_BLOCK",
    "CSV_COLUMNS",
    "CSV_NAME",
    "DASK_CONNECT_TIMEOUT",
    "INDEX_NAME",
    "PLAIN_LOG_SUFFIXES",
    "BatchFinding",
    "BatchInput",
    "BatchNode",
    "BatchPlan",
    "BatchResult",
    "BatchSummary",
    "IncompleteEntry",
    "analyze_one",
    "batch",
    "content_hash",
    "dask_results",
    "execute",
    "index_rows",
    "internal_error",
    "is_unpacked_bundle",
    "looks_like_input",
    "one_line",
    "plan_batch",
    "pool_results",
    "render_index",
    "report_stem",
    "run_batch",
    "settings_key",
    "summary_csv",
    "top_finding",
    "unique_stems",
    "write_atomic",
]


class _CallableModule(types.ModuleType):
    """Lets ``logscope.batch(paths)`` call :func:`batch` while ``logscope.batch`` stays this package.

    The package exports the module under that name (``from logscope import batch``); making the
    module callable keeps ``from logscope.batch import run_batch`` and ``import logscope.batch as b``
    working, which re-binding the name to the function would break.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[BatchResult]:
        return batch(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
