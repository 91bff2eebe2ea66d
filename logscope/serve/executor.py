"""The analysis executor: the per-app state owning the worker pool, and one analysis run on it."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from logscope.errors import BundleError
from logscope.render import html_environment
from logscope.serve.store import ReportStore
from logscope.serve.uploads import SavedUpload, UploadProblem
from logscope.serve.worker import RenderedReport, analysis_job

logger = logging.getLogger("logscope.serve")  # one logger for the whole server

MAX_PENDING_PER_WORKER = 4  # uploads accepted while others are analyzed; beyond that: 503
TASKS_PER_WORKER = 16  # a worker process is replaced after this many analyses (frees its memory)


@dataclass
class ServerState:
    """Per-app state: limits, the report store and the worker pool (created on first use)."""

    max_upload_bytes: int
    keep_dir: Path | None
    max_workers: int
    store: ReportStore = field(default_factory=ReportStore)
    pages: jinja2.Environment = field(default_factory=html_environment)
    executor: Executor | None = None
    in_flight: int = 0

    @property
    def max_upload_mb(self) -> int:
        return self.max_upload_bytes // (1024 * 1024)

    @property
    def max_in_flight(self) -> int:
        return self.max_workers * MAX_PENDING_PER_WORKER

    def pool(self) -> Executor:
        if self.executor is None:
            self.executor = ProcessPoolExecutor(
                max_workers=self.max_workers,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=TASKS_PER_WORKER,
            )
        return self.executor

    def replace_broken_pool(self) -> None:
        broken, self.executor = self.executor, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


async def run_analysis(state: ServerState, report_id: str, uploads: list[SavedUpload]) -> RenderedReport:
    """Run analysis_job on the pool; every failure becomes an UploadProblem with a safe message."""
    paths = [str(upload.path) for upload in uploads]
    names = [upload.display_name for upload in uploads]
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(state.pool(), analysis_job, report_id, paths, names)
    except BundleError as exc:
        raise UploadProblem(400, one_line(str(exc))) from None
    except BrokenProcessPool:
        logger.exception("report %s: the analysis worker died (out of memory?)", report_id)
        state.replace_broken_pool()
        raise UploadProblem(500, "the analysis worker stopped unexpectedly (see the server log)") from None
    except Exception:
        logger.exception("report %s: analysis failed", report_id)
        raise UploadProblem(500, "the analysis failed; the server log has the details") from None


def one_line(message: str, limit: int = 300) -> str:
    """`message` with every run of whitespace (newlines too) collapsed to a space, capped."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
