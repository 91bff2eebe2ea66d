"""The server's own pages (upload form, errors), each with a per-response CSP nonce."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from logscope import __version__
from logscope.findings import STATUS_TITLES, STATUSES
from logscope.serve.executor import RETRY_AFTER_SECONDS, ServerState
from logscope.serve.security import page_csp
from logscope.serve.store import StoredReport


def own_page(state: ServerState, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = state.pages.get_template(template).render(nonce=nonce, version=__version__, **context)
    return HTMLResponse(html, status_code=status, headers={"content-security-policy": page_csp(nonce)})


def recent_rows(reports: Iterable[StoredReport]) -> list[dict[str, Any]]:
    return [
        {
            "id": report.id,
            "file_names": report.file_names,
            "time": report.created.strftime("%Y-%m-%d %H:%M:%S"),
            "seconds": report.seconds,
            "size_mb": report.upload_bytes / (1024 * 1024),
            "counts": [(status, STATUS_TITLES[status], report.summary.get(status, 0)) for status in STATUSES],
        }
        for report in reports
    ]


def wants_json(request: Request) -> bool:
    """The page's script asks for JSON so it can show errors inline and navigate itself."""
    return "application/json" in request.headers.get("accept", "")


def problem_response(request: Request, status: int, message: str, reason: str | None = None) -> Response:
    """The error page, or `{"error": message, "reason": ...}` for the page's script; a 503 says
    when to come back (Retry-After)."""
    headers = {"retry-after": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
    if wants_json(request):
        body = {"error": message, **({"reason": reason} if reason else {})}
        return JSONResponse(body, status_code=status, headers=headers)
    titles = {
        400: "Cannot analyze this upload",
        404: "Not found",
        408: "Upload too slow",
        413: "Upload too large",
        503: "Server busy",
        504: "Analysis timed out",
    }
    response = own_page(
        state_of(request),
        "serve_error.html.j2",
        status=status,
        status_code=status,
        title=titles.get(status, "Analysis failed"),
        message=message,
    )
    response.headers.update(headers)
    return response


def state_of(request: Request) -> ServerState:
    return request.app.state.logscope
