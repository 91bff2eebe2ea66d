"""What ``logscope batch`` and ``logscope.batch(paths)`` run: plan, execute, then write the overview."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from logscope.batch.executors import execute
from logscope.batch.files import prepare_out_dir, write_atomic
from logscope.batch.inputs import plan_batch
from logscope.batch.overview import render_index, summary_csv
from logscope.batch.results import CSV_NAME, INDEX_NAME, BatchResult, BatchSummary
from logscope.bundle import DEFAULT_MAX_BYTES
from logscope.bundle.workspace import clean_stale
from logscope.errors import LogscopeError


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
    folder = prepare_out_dir(out_dir) if out_dir is not None else None
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
    folder = prepare_out_dir(out_dir)
    clean_stale(folder)  # what killed runs left in the output folder: their extraction folders
    plan = plan_batch(paths, folder)
    if not plan.inputs:
        raise LogscopeError(f"nothing to analyze in {', '.join(paths) or '(no path)'}")
    by_name: dict[str, BatchResult] = {}
    results = execute(plan, folder, jobs, force, dask_address, signature_dirs, max_bytes)
    try:
        with _progress_bar(len(plan.inputs), progress) as advance:
            for result in results:
                by_name[result.name] = result
                advance()
    except BaseException:  # Ctrl-C, SIGTERM: stop the workers, then remove what any of them left
        close = getattr(results, "close", None)
        if close is not None:
            close()
        clean_stale(folder)
        raise
    summary = BatchSummary([by_name[item.name] for item in plan.inputs], Path(out_dir), plan.ignored)
    write_atomic(folder / CSV_NAME, summary_csv(summary.results))
    write_atomic(folder / INDEX_NAME, render_index(summary))
    return summary


@contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    with click.progressbar(length=total, label="analyzing", file=sys.stderr, show_pos=True) as bar:
        yield lambda: bar.update(1)
