"""Stopping a batch: SIGTERM is Ctrl-C, and the worker processes never outlive the batch.

`kill`, `timeout`, systemd and CI stop a program with SIGTERM, sent to the batch process alone. The
batch turns it into :class:`Terminated` (a KeyboardInterrupt), stops its workers and exits 143.

A worker stops by unwinding the input it is analyzing (so its extraction folder and half-written
files are removed on the way out), then exits; an idle worker exits at once. A worker whose parent
is gone (killed with SIGKILL, say) notices within a second and stops the same way, so no worker is
ever left blocked on a queue nobody writes to.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

STOP_GRACE_SECONDS = 5.0  # a worker that has not unwound by then is killed
PARENT_POLL_SECONDS = 0.5

T = TypeVar("T")
_busy = False  # in a worker: True while it runs a task


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt."""


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """What a shell reports for the signal: 143 for SIGTERM, 130 for Ctrl-C."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block (main thread only), SIGTERM raises Terminated."""

    def raise_terminated(_signum: int, _frame: FrameType | None) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def worker_setup(parent_pid: int, scan_ahead: bool = False) -> None:
    """The pool initializer: stop on SIGTERM or SIGINT, and when the parent is gone. Unless the
    pool has one worker (`scan_ahead`), its workers already share the cores: none starts a
    second process to scan blocks (logscope.scan.ahead)."""
    if not scan_ahead:
        os.environ["LOGSCOPE_SCAN_AHEAD"] = "0"
    signal.signal(signal.SIGTERM, _stop_worker)
    signal.signal(signal.SIGINT, _stop_worker)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def run_task(task: Callable[[Any], T], item: Any) -> T:
    """Run one task in a worker; a stop request while it runs unwinds it, then the worker exits."""
    global _busy
    _busy = True
    try:
        return task(item)
    except KeyboardInterrupt:
        os._exit(128 + signal.SIGTERM)
    finally:
        _busy = False


def _stop_worker(signum: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop is enough: never interrupt the unwinding
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _busy:
        raise KeyboardInterrupt()
    os._exit(128 + signum)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE_SECONDS)
    os._exit(128 + signal.SIGTERM)


def stop_workers(pool: ProcessPoolExecutor, grace: float = STOP_GRACE_SECONDS) -> None:
    """Ask every worker of `pool` to stop, kill those still there after `grace`, drop queued work."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(1.0)
    pool.shutdown(wait=False, cancel_futures=True)
