"""Running many inputs: a local process pool, or a Dask cluster; results in the order they finish.

A worker process that dies outright (a segfault, the OOM killer) is found by re-running the inputs it
held one at a time, and only the one that kills its worker is reported as failed."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from logscope.batch.inputs import BatchInput, BatchPlan
from logscope.batch.results import BatchResult, internal_error, one_line
from logscope.batch.stopping import run_task, stop_workers, worker_setup
from logscope.batch.worker import analyze_one
from logscope.errors import LogscopeError

DASK_CONNECT_TIMEOUT = "10s"


Task = Callable[[BatchInput], BatchResult]


def _analyze_input(item: BatchInput, **options: Any) -> BatchResult:
    """analyze_one for one planned input (module level, so pools and Dask pickle it by reference)."""
    return analyze_one(item.path, name=item.name, **options)


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


MAIN_GUARD = (
    "the batch's worker processes start with the '{method}' method, which imports your script again: "
    'put the code that runs the batch under  if __name__ == "__main__":'
)


def _refuse_while_bootstrapping() -> None:
    """A spawn/forkserver worker imports the caller's script again; a script without the
    `if __name__ == "__main__"` guard then starts a batch inside the worker. Stop that worker quietly
    (SystemExit prints nothing); the parent says why, once (see pool_results)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(1)


def _guard_missing(method: str) -> LogscopeError:
    return LogscopeError(MAIN_GUARD.format(method=method))


def pool_results(items: Sequence[BatchInput], task: Task, workers: int) -> Iterator[BatchResult]:
    """Run `task` on every item in a process pool; yield results as they complete.

    When a worker process dies, the items that were in flight are suspects: each is run again alone,
    so only the input that kills its worker is reported, and the batch goes on in a fresh pool.
    """
    queue = deque(items)
    method = multiprocessing.get_start_method(allow_none=False)
    finished = 0
    while queue:
        round_results = _pool_round(queue, task, workers)
        while True:
            try:
                result = next(round_results)
            except StopIteration as stop:
                suspects = stop.value
                break
            finished += 1
            yield result
        if suspects and not finished and method != "fork" and _main_is_a_script():
            raise _guard_missing(method)  # every worker died at start: the guard, not the inputs
        for item in suspects:
            finished += 1
            yield _run_alone(item, task)


def _main_is_a_script() -> bool:
    main = sys.modules.get("__main__")
    return bool(getattr(main, "__file__", None))


def _pool_round(queue: deque[BatchInput], task: Task, workers: int) -> Iterator[BatchResult]:
    """Drain `queue` with at most `workers` items in flight; return the in-flight items if the pool breaks."""
    with _worker_pool(workers) as pool:
        running: dict[Future[BatchResult], BatchInput] = {}
        while queue or running:
            while queue and len(running) < workers:
                item = queue.popleft()
                try:
                    running[pool.submit(run_task, task, item)] = item
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
    with _worker_pool(1) as pool:
        try:
            return pool.submit(run_task, task, item).result()
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


@contextmanager
def _worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers stop with the batch: on Ctrl-C, SIGTERM, an early close of the
    results, or the parent's death, never waiting for the inputs they hold to finish."""
    _refuse_while_bootstrapping()
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=worker_setup, initargs=(os.getpid(), workers == 1)
    )
    try:
        yield pool
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def dask_results(items: Sequence[BatchInput], address: str, options: dict[str, Any]) -> Iterator[BatchResult]:
    """Run the items on a Dask cluster (``client.map`` + ``as_completed``); inputs and the output
    folder must be paths the workers can read and write."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise LogscopeError(
            "--dask needs the [dask] extra: in the logscope source folder, pip install -e '.[dask]' "
            "(dask.distributed is missing)"
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
