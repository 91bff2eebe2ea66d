"""The request handlers: the upload page, an upload's analysis, a report and its downloads.

Reports are only ever looked up by their id in memory: no route serves a path taken from the request."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from logscope.bundle.workspace import temporary_folder
from logscope.serve.executor import ServerState, run_analysis
from logscope.serve.pages import own_page, problem_response, recent_rows, state_of, wants_json
from logscope.serve.store import MAX_KEPT_REPORTS, StoredReport, keep_report
from logscope.serve.uploads import MAX_FILES, SavedUpload, UploadProblem, receive_uploads

logger = logging.getLogger("logscope.serve")  # one logger for the whole server


async def upload_page(request: Request) -> Response:
    state = state_of(request)
    return own_page(
        state,
        "serve_upload.html.j2",
        max_upload_mb=state.max_upload_mb,
        max_upload_bytes=state.max_upload_bytes,
        max_files=MAX_FILES,
        keep_dir=str(state.keep_dir) if state.keep_dir else None,
        kept_reports=MAX_KEPT_REPORTS,
        recent=recent_rows(state.store.recent()),
    )


async def analyze_upload(request: Request) -> Response:
    state = state_of(request)
    try:
        stored = await analyze_request(request, state)
    except UploadProblem as problem:
        return problem_response(request, problem.status, problem.message, problem.reason)
    location = f"/reports/{stored.id}"
    if wants_json(request):
        return JSONResponse({"id": stored.id, "report": location, "summary": stored.summary})
    return RedirectResponse(location, status_code=303)


async def analyze_request(request: Request, state: ServerState) -> StoredReport:
    """Receive, analyze and store one upload; the temporary folder is gone when this returns."""
    if state.closing:
        raise UploadProblem(503, "the server is stopping; try again when it is back", reason="stopping")
    if state.in_flight >= state.max_in_flight:
        raise UploadProblem(
            503, "the server is busy with other uploads; try again in a minute", reason="busy"
        )
    state.in_flight += 1
    started = time.perf_counter()
    report_id = uuid.uuid4().hex
    folder = temporary_folder(kind="upload", ignore_cleanup_errors=True)
    try:
        uploads = await receive_within(request, Path(folder.name), state)
        if not uploads:
            raise UploadProblem(400, "no file in the upload: choose one bundle per cluster node")
        rendered = await run_analysis(state, report_id, uploads)
    finally:
        state.in_flight -= 1
        # Removing a multi-GB upload can take a while: off the event loop, and finished even if
        # this request is cancelled meanwhile.
        await asyncio.shield(run_in_threadpool(folder.cleanup))
    stored = StoredReport(
        id=report_id,
        file_names=tuple(upload.display_name for upload in uploads),
        created=datetime.now().astimezone(),
        upload_bytes=sum(upload.size for upload in uploads),
        seconds=round(time.perf_counter() - started, 2),
        summary=rendered.summary,
        page_html=rendered.page_html,
        download_html=rendered.download_html,
        json_text=rendered.json_text,
    )
    state.store.add(stored)
    if state.keep_dir is not None:
        await run_in_threadpool(keep_report, state.keep_dir, stored)
    logger.info(
        "report %s: %d file(s), %.1f MB, %.2f s, %s",
        stored.id,
        len(uploads),
        stored.upload_bytes / (1024 * 1024),
        stored.seconds,
        stored.summary,
    )
    return stored


async def receive_within(request: Request, folder: Path, state: ServerState) -> list[SavedUpload]:
    """The upload, streamed to `folder`, refused when it takes longer than `state.upload_seconds`."""
    try:
        return await asyncio.wait_for(
            receive_uploads(request, folder, state.max_upload_bytes), state.upload_seconds
        )
    except TimeoutError:
        raise UploadProblem(
            408, f"the upload took longer than {state.upload_seconds:g} s", reason="upload-timeout"
        ) from None


def stored_or_404(request: Request) -> StoredReport:
    report = state_of(request).store.get(str(request.path_params.get("report_id", "")))
    if report is None:
        raise HTTPException(404, "no such report (reports live in memory and end with the server)")
    return report


async def report_page(request: Request) -> Response:
    return HTMLResponse(stored_or_404(request).page_html)


async def report_html_download(request: Request) -> Response:
    report = stored_or_404(request)
    return HTMLResponse(report.download_html, headers=attachment(f"logscope-{report.id}.html"))


async def report_json_download(request: Request) -> Response:
    report = stored_or_404(request)
    return Response(
        report.json_text,
        media_type="application/json; charset=utf-8",
        headers=attachment(f"logscope-{report.id}.json"),
    )


def attachment(filename: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{filename}"'}


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "unexpected error"
    return problem_response(request, status, str(detail))


async def server_error(request: Request, exc: Exception) -> Response:
    """A generic page; Starlette re-raises `exc` afterwards, so uvicorn logs the traceback."""
    return problem_response(request, 500, "unexpected server error; the server log has the details")
