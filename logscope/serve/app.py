"""The Starlette app: its routes, error handlers, state and the guard middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.routing import Route

from logscope.serve.executor import ANALYSIS_SECONDS, UPLOAD_SECONDS, ServerState
from logscope.serve.routes import (
    analyze_upload,
    http_error,
    report_html_download,
    report_json_download,
    report_page,
    server_error,
    upload_page,
)
from logscope.serve.security import GuardMiddleware
from logscope.serve.store import MAX_STORE_BYTES, REPORT_ID, ReportStore


class ReportIdConvertor(Convertor[str]):
    """Route parameter that only matches a uuid4 hex id, so nothing else reaches a report handler."""

    regex = REPORT_ID.pattern

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("logscope_report_id", ReportIdConvertor())

SERVE_MAX_BYTES = 1024**3  # `serve --max-bytes`: lower than analyze's 4 GiB, as every upload may cost it


def create_app(
    *,
    max_upload_mb: int = 1024,
    keep_dir: str | Path | None = None,
    max_workers: int = 2,
    allowed_hosts: Sequence[str] | None = None,
    max_bytes: int | None = SERVE_MAX_BYTES,
    analysis_seconds: float = ANALYSIS_SECONDS,
    upload_seconds: float = UPLOAD_SECONDS,
    store_bytes: int = MAX_STORE_BYTES,
) -> Starlette:
    """The upload app. `allowed_hosts` (host names, no port) guards a loopback server against DNS
    rebinding; `run_server` sets it when it listens on a loopback address. `max_bytes` caps what one
    analysis decompresses; `analysis_seconds` and `upload_seconds` bound each analysis and upload;
    `store_bytes` the reports kept in memory."""
    if max_upload_mb < 1 or max_workers < 1:
        raise ValueError("max_upload_mb and max_workers must be at least 1")
    if analysis_seconds <= 0 or upload_seconds <= 0:
        raise ValueError("analysis_seconds and upload_seconds must be more than 0")
    keep = Path(keep_dir).resolve() if keep_dir is not None else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    state = ServerState(
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        keep_dir=keep,
        max_workers=max_workers,
        max_bytes=max_bytes,
        analysis_seconds=analysis_seconds,
        upload_seconds=upload_seconds,
        store=ReportStore(max_bytes=store_bytes),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(state.shutdown)

    app = Starlette(
        routes=[
            Route("/", upload_page, methods=["GET"]),
            Route("/analyze", analyze_upload, methods=["POST"]),
            Route("/reports/{report_id:logscope_report_id}", report_page, methods=["GET"]),
            Route("/reports/{report_id:logscope_report_id}.html", report_html_download, methods=["GET"]),
            Route("/reports/{report_id:logscope_report_id}.json", report_json_download, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.logscope = state
    app.add_middleware(GuardMiddleware, allowed_hosts=allowed_hosts)
    return app
