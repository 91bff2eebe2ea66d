"""The analysis executor: the per-app state owning the worker processes, and one analysis run on them."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from logscope.errors import BundleError
from logscope.render import html_environment
from logscope.serve.processes import AnalysisTimeout, WorkerDied, WorkerProcesses
from logscope.serve.store import ReportStore
from logscope.serve.uploads import SavedUpload, UploadProblem
from logscope.serve.worker import RenderedReport, analysis_job

logger = logging.getLogger("logscope.serve")  # one logger for the whole server

MAX_PENDING_PER_WORKER = 4  # uploads accepted while others are analyzed; beyond that: 503
TASKS_PER_WORKER = 1  # every analysis runs in a fresh process (serve.processes says why)
ANALYSIS_SECONDS = 120.0  # an analysis still running then is killed and the user told so
UPLOAD_SECONDS = 60.0  # an upload still streaming then is refused (a slow client holds no slot longer)
RETRY_AFTER_SECONDS = 30  # what a 503 asks the client to wait


@dataclass
class ServerState:
    """Per-app state: limits, the report store and the worker processes (created on first use).

    `executor`, when set, runs analyses in that executor instead of worker processes (a test uses a
    thread so it can observe a job); a timed-out job there is abandoned, not stopped.
    """

    max_upload_bytes: int
    keep_dir: Path | None
    max_workers: int
    max_bytes: int | None = None  # decompressed-byte cap of one analysis (None: the bundle default)
    analysis_seconds: float = ANALYSIS_SECONDS
    upload_seconds: float = UPLOAD_SECONDS
    store: ReportStore = field(default_factory=ReportStore)
    pages: jinja2.Environment = field(default_factory=html_environment)
    executor: Executor | None = None
    workers: WorkerProcesses | None = None
    in_flight: int = 0
    closing: bool = False

    @property
    def max_upload_mb(self) -> int:
        return self.max_upload_bytes // (1024 * 1024)

    @property
    def max_in_flight(self) -> int:
        return self.max_workers * MAX_PENDING_PER_WORKER

    def processes(self) -> WorkerProcesses:
        if self.workers is None:
            self.workers = WorkerProcesses(self.max_workers)
        return self.workers

    def stop(self) -> None:
        """The server is stopping: refuse new uploads and kill the running analyses (signal-safe)."""
        self.closing = True
        if self.workers is not None:
            self.workers.stop()

    def shutdown(self) -> None:
        self.stop()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None


async def run_analysis(state: ServerState, report_id: str, uploads: list[SavedUpload]) -> RenderedReport:
    """Run analysis_job in a worker; every failure becomes an UploadProblem with a safe message."""
    args = (report_id, [str(u.path) for u in uploads], [u.display_name for u in uploads], state.max_bytes)
    try:
        if state.executor is not None:
            running = asyncio.get_running_loop().run_in_executor(state.executor, analysis_job, *args)
            return await asyncio.wait_for(running, state.analysis_seconds)
        return await state.processes().run(analysis_job, args, state.analysis_seconds)
    except BundleError as exc:
        raise UploadProblem(400, one_line(str(exc))) from None
    except (AnalysisTimeout, TimeoutError):
        logger.warning("report %s: analysis stopped after %g s", report_id, state.analysis_seconds)
        raise UploadProblem(
            504,
            f"the analysis took longer than {state.analysis_seconds:g} s and was stopped; "
            "try fewer or smaller files, or ask for a longer --analysis-timeout",
            reason="timeout",
        ) from None
    except WorkerDied:
        if state.closing:
            raise UploadProblem(
                503, "the server is stopping; try again when it is back", reason="stopping"
            ) from None
        logger.exception("report %s: the analysis worker died (out of memory?)", report_id)
        raise UploadProblem(500, "the analysis worker stopped unexpectedly (see the server log)") from None
    except Exception:
        logger.exception("report %s: analysis failed", report_id)
        raise UploadProblem(500, "the analysis failed; the server log has the details") from None


def one_line(message: str, limit: int = 300) -> str:
    """`message` with every run of whitespace (newlines too) collapsed to a space, capped."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
