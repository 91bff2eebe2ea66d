"""The analysis workers: one fresh process per analysis, killed when it runs out of time.

Why not a ProcessPoolExecutor: its `max_tasks_per_child` (what freed a worker's memory) hits CPython
gh-115634 on 3.11 and 3.12: workers retire and none replace them, and the server wedges. A pool also
cannot stop one task that runs too long. Here each analysis gets its own process, forked from a
forkserver that has imported the analysis code once (so a start costs milliseconds, not the second
an import takes); when the analysis ends its memory goes with it, and a timeout or a shutdown kills
exactly the processes concerned.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import tempfile
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from starlette.concurrency import run_in_threadpool

from logscope.bundle.workspace import clean_stale

PRELOAD = ["logscope.serve.worker", "logscope.pipeline", "logscope.render"]


class AnalysisTimeout(Exception):
    """The analysis ran longer than its time and its process was killed."""


class WorkerDied(Exception):
    """The worker process ended without an answer (killed, out of memory, or the server stopping)."""


class WorkerFailed(Exception):
    """The job raised something that cannot travel back as itself; the text of its traceback."""


class WorkerProcesses:
    """At most `slots` analyses at once, each in a process of its own."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self._free = asyncio.Semaphore(slots)
        self._live: set[multiprocessing.process.BaseProcess] = set()
        self._stopped = False
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)

    @property
    def live(self) -> int:
        return len(self._live)

    async def run(self, job: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        """`job(*args)` in a fresh process: its return value, or what it raised (BundleError and
        the like come back as themselves). AnalysisTimeout after `timeout` seconds of running."""
        async with self._free:
            if self._stopped:
                raise WorkerDied("the server is stopping")
            reader, writer = self._context.Pipe(duplex=False)
            process = self._context.Process(target=_child, args=(writer, job, args), daemon=True)
            self._live.add(process)
            answered = False
            try:
                await run_in_threadpool(process.start)
                writer.close()
                outcome = await self._answer(process, reader, timeout)
                answered = True
                return outcome
            finally:
                writer.close()
                reader.close()
                if process.pid is not None:  # started: end it (it has usually exited already) and reap it
                    process.kill()
                    await asyncio.shield(run_in_threadpool(_reap, process, answered))
                self._live.discard(process)

    async def _answer(self, process: Any, reader: Connection, timeout: float) -> Any:
        if not await _readable(reader, timeout):
            raise AnalysisTimeout(f"no answer within {timeout:g} s")
        try:
            kind, value = await run_in_threadpool(reader.recv)
        except (EOFError, OSError):
            raise WorkerDied(f"the worker process ended with status {process.exitcode}") from None
        if kind == "error":
            raise value
        return value

    def stop(self) -> None:
        """Kill every running analysis (SIGTERM of the server): their requests answer at once.
        Signal-handler safe: it only sends signals."""
        self._stopped = True
        for process in list(self._live):
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)


async def _readable(reader: Connection, timeout: float) -> bool:
    """Wait, without blocking the event loop, until `reader` has data or its writer is gone."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    descriptor = reader.fileno()
    loop.add_reader(descriptor, lambda: ready.done() or ready.set_result(True))
    try:
        await asyncio.wait_for(ready, timeout)
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(descriptor)
    return True


def _reap(process: Any, answered: bool) -> None:
    """Wait for a killed process; if it died mid-analysis, remove the extraction folder it left."""
    process.join(5)
    if not answered:
        clean_stale(tempfile.gettempdir())


def _child(writer: Connection, job: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """The worker process: run the job, send ("ok", value) or ("error", exception), exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal: the server decides
    os.environ["LOGSCOPE_SCAN_AHEAD"] = "0"  # analyses run side by side: no second scanning process
    try:
        outcome: tuple[str, Any] = ("ok", job(*args))
    except Exception as exc:
        outcome = ("error", exc)
    try:
        writer.send(outcome)
    except Exception:  # pickling failed before anything was sent: send the text instead
        kind, value = outcome
        writer.send(("error", WorkerFailed(f"{kind}: {type(value).__name__}: {value}")))
    writer.close()
