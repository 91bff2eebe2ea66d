"""`logscope serve`: a local page to upload bundles and read their findings.

The flow of one upload: the multipart body is streamed into a temporary folder the request owns
(generated file names; the client's names are kept for display only), the size cap is enforced while
streaming, the analysis runs in a worker process so the event loop stays free and several uploads run
at once, the folder is removed, and the rendered report (HTML and JSON) is kept in memory under a
random id. Reports are only ever looked up by that id in memory: no route serves a path taken from the
request.

starlette, uvicorn and python-multipart are imported at the top on purpose: `logscope serve` turns the
ImportError into "install the [web] extra".
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import logging
import multiprocessing
import re
import secrets
import sys
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import jinja2
import uvicorn
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logscope import __version__
from logscope.errors import BundleError
from logscope.findings import STATUS_TITLES, STATUSES
from logscope.render import html_environment

logger = logging.getLogger("logscope.serve")

REPORT_ID = re.compile(r"[0-9a-f]{32}")
UPLOAD_FIELD = "bundle"
MAX_KEPT_REPORTS = 50
MAX_FILES = 32  # a cluster has at most six peers; more is a mistake or an attack
MAX_PENDING_PER_WORKER = 4  # uploads accepted while others are analyzed; beyond that: 503
MAX_FIELD_BYTES = 64 * 1024  # a non-file form field (the page sends none)
MULTIPART_ALLOWANCE = 1024 * 1024  # boundaries and part headers on top of the file bytes
WRITE_BATCH_BYTES = 1024 * 1024  # file data is written off the event loop in batches of this size
MAX_DISPLAY_NAME = 200
MAX_PART_HEADER_BYTES = 16 * 1024
TASKS_PER_WORKER = 16  # a worker process is replaced after this many analyses (frees its memory)
# Suffixes the bundle reader recognises; an upload keeps one of these (never the client's name).
KNOWN_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".log.gz", ".txt.gz", ".gz", ".txt", ".log")

BASE_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": BASE_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}
LOOPBACK_HOST_NAMES = ("localhost", "127.0.0.1", "::1")


class ReportIdConvertor(Convertor[str]):
    """Route parameter that only matches a uuid4 hex id, so nothing else reaches a report handler."""

    regex = REPORT_ID.pattern

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("logscope_report_id", ReportIdConvertor())


class UploadProblem(Exception):
    """A request that cannot be analyzed; `message` is one line safe to show (it is escaped)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class SavedUpload:
    """One uploaded file: where it was written (generated name) and the name the client gave it."""

    path: Path
    display_name: str
    size: int


@dataclass(frozen=True)
class RenderedReport:
    """What a worker sends back: text only, so nothing large or unpicklable crosses processes."""

    page_html: str
    download_html: str
    json_text: str
    summary: dict[str, int]


@dataclass(frozen=True)
class StoredReport:
    id: str
    file_names: tuple[str, ...]
    created: datetime
    upload_bytes: int
    seconds: float
    summary: dict[str, int]
    page_html: str
    download_html: str
    json_text: str


class ReportStore:
    """The last `capacity` reports of this server process, in memory, newest last."""

    def __init__(self, capacity: int = MAX_KEPT_REPORTS) -> None:
        self.capacity = capacity
        self._reports: OrderedDict[str, StoredReport] = OrderedDict()

    def add(self, report: StoredReport) -> None:
        self._reports[report.id] = report
        while len(self._reports) > self.capacity:
            self._reports.popitem(last=False)

    def get(self, report_id: str) -> StoredReport | None:
        return self._reports.get(report_id) if REPORT_ID.fullmatch(report_id) else None

    def recent(self) -> list[StoredReport]:
        return list(reversed(self._reports.values()))

    def __len__(self) -> int:
        return len(self._reports)


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


# ---------------------------------------------------------------------------------------------------
# The analysis (runs in a worker process)


def analysis_job(report_id: str, paths: list[str], display_names: list[str]) -> RenderedReport:
    """Analyze the saved uploads and render everything the server keeps. Runs in a worker process."""
    from logscope.pipeline import analyze

    labels = UploadLabels(dict(zip(paths, display_names, strict=True)))
    try:
        report = analyze([Path(p) for p in paths])
    except BundleError as exc:
        raise type(exc)(labels.text(str(exc))) from None
    labels.relabel(report)
    return RenderedReport(
        page_html=render_findings_page(report, report_links(report_id)),
        download_html=report.to_html(),
        json_text=report.to_json(),
        summary=dict(report.summary),
    )


class UploadLabels:
    """Puts the uploaded file names back where the report names its inputs.

    The analyzer sees the server's temporary paths (`/tmp/logscope-upload-x/upload-00.tar.gz`) and
    calls members by the base name (`upload-00.tar.gz:loggingsnapshot_...txt`); a user must see the
    names they uploaded, and nobody should see the server's folders. One regex pass per string, so a
    display name that looks like another upload's generated name is never replaced twice.
    """

    def __init__(self, display_by_path: dict[str, str]) -> None:
        self._mapping = {Path(path).name: name for path, name in display_by_path.items()}
        self._mapping.update(display_by_path)
        keys = sorted(self._mapping, key=len, reverse=True)
        self._anywhere = re.compile("|".join(re.escape(key) for key in keys) or r"(?!)")

    def text(self, text: str) -> str:
        """Free text (warnings, error messages): every temporary path or generated name replaced."""
        return self._anywhere.sub(lambda match: self._mapping[match.group(0)], text)

    def label(self, label: str) -> str:
        """A source label: only a leading temporary path or generated name is replaced."""
        match = self._anywhere.match(label)
        if match and label[match.end() : match.end() + 1] in ("", ":", "/"):
            return self._mapping[match.group(0)] + label[match.end() :]
        return label

    def relabel(self, report: Any) -> None:
        """Rewrite, in place, every place a Report names its inputs."""
        report.inputs = [self.label(str(item)) for item in report.inputs]
        report.warnings = [self.text(str(warning)) for warning in report.warnings]
        report.skipped = [{key: self.text(str(v)) for key, v in skip.items()} for skip in report.skipped]
        for node in report.nodes:
            node.sources = {key: self.label(str(value)) for key, value in node.sources.items()}
        for finding in report.findings:
            for evidence in finding.evidence:
                evidence.source = self.label(str(evidence.source))
        for frame in (report.events, report.transactions, report.tls_failures):
            if "source" in frame.columns and len(frame):
                labels = {value: self.label(str(value)) for value in frame["source"].dropna().unique()}
                frame["source"] = frame["source"].map(labels)  # a categorical maps only its categories


def report_links(report_id: str) -> list[tuple[str, str]]:
    return [
        ("Download HTML", f"/reports/{report_id}.html"),
        ("Download JSON", f"/reports/{report_id}.json"),
        ("New analysis", "/"),
    ]


def render_findings_page(report: Any, links: list[tuple[str, str]]) -> str:
    """The findings page from the same render code as `logscope analyze --format html`.

    The download links go in through `render_html(..., header_links=...)`. A render module without
    that keyword gives the plain page, never a copy of its template. The keyword is looked up rather
    than a TypeError caught, so a TypeError raised inside rendering is not mistaken for it.
    """
    from logscope.render import render_html

    if "header_links" in inspect.signature(render_html).parameters:
        return render_html(report, header_links=links)
    return render_html(report)


# ---------------------------------------------------------------------------------------------------
# Streaming the upload


class UploadReceiver:
    """Feeds a multipart body to python-multipart and writes file parts under generated names.

    The parser calls back synchronously; file data is queued and written off the event loop in
    batches. The cap counts file bytes (and small form fields) as they arrive.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.received = 0
        self.saved: list[SavedUpload] = []
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._file: BinaryIO | None = None
        self._file_path: Path | None = None
        self._file_name = ""
        self._file_size = 0
        self._field_size = 0
        self._pending: list[tuple[BinaryIO, bytes]] = []
        self._pending_bytes = 0
        self._to_close: list[tuple[BinaryIO, Path, str, int]] = []
        self._names_taken: set[str] = set()

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }

    def _on_part_begin(self) -> None:
        self._disposition = b""
        self._file = None
        self._file_size = 0
        self._field_size = 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]
        self._check_header_size()

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._check_header_size()

    def _check_header_size(self) -> None:
        if len(self._header_name) + len(self._header_value) > MAX_PART_HEADER_BYTES:
            raise UploadProblem(400, "a part header of the upload is too large")

    def _on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self._disposition)
        if b"filename" not in options:
            return
        if options.get(b"name") != UPLOAD_FIELD.encode():
            raise UploadProblem(400, f"files go in the form field {UPLOAD_FIELD!r}")
        if len(self.saved) + len(self._to_close) >= MAX_FILES:
            raise UploadProblem(400, f"too many files in one upload (at most {MAX_FILES})")
        shown = display_name(options[b"filename"])
        self._file_name = unique_name(shown, self._names_taken)
        index = len(self.saved) + len(self._to_close)
        self._file_path = self.folder / f"upload-{index:02d}{known_suffix(shown)}"
        self._file = self._file_path.open("xb")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        self.received += size
        if self.received > self.max_bytes:
            raise UploadProblem(413, f"upload exceeds {self.max_bytes // (1024 * 1024)} MB")
        if self._file is None:
            self._field_size += size
            if self._field_size > MAX_FIELD_BYTES:
                raise UploadProblem(400, "a form field is too large")
            return
        self._file_size += size
        self._pending.append((self._file, data[start:end]))
        self._pending_bytes += size

    def _on_part_end(self) -> None:
        if self._file is not None and self._file_path is not None:
            self._to_close.append((self._file, self._file_path, self._file_name, self._file_size))
        self._file = None

    def ready_to_flush(self) -> bool:
        return self._pending_bytes >= WRITE_BATCH_BYTES or bool(self._to_close)

    def flush(self) -> None:
        """Write queued data and close finished files (called in a worker thread)."""
        for handle, chunk in self._pending:
            handle.write(chunk)
        self._pending.clear()
        self._pending_bytes = 0
        for handle, path, name, size in self._to_close:
            handle.close()
            if size == 0 and not name:
                path.unlink(missing_ok=True)  # the browser's empty part when no file was chosen
            else:
                self.saved.append(SavedUpload(path=path, display_name=name or path.name, size=size))
        self._to_close.clear()

    def close_all(self) -> None:
        for handle, _chunk in self._pending:
            handle.close()
        for handle, *_rest in self._to_close:
            handle.close()
        if self._file is not None:
            self._file.close()


def display_name(raw: bytes) -> str:
    """The client's file name for display only: last path component, no control characters, capped."""
    text = raw.decode("utf-8", errors="replace")
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:MAX_DISPLAY_NAME]


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`... so two uploads never share a label in the report."""
    if not name:
        return name
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    taken.add(candidate)
    return candidate


def known_suffix(name: str) -> str:
    """The archive/log suffix of `name` if it is one the bundle reader knows, else nothing."""
    lowered = name.lower()
    return next((suffix for suffix in KNOWN_SUFFIXES if lowered.endswith(suffix)), "")


async def receive_uploads(request: Request, folder: Path, max_bytes: int) -> list[SavedUpload]:
    """Stream the multipart body of `request` into `folder`; raise UploadProblem when it is refused."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadProblem(400, "expected a multipart/form-data upload (the form on the page sends one)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MULTIPART_ALLOWANCE:
        raise UploadProblem(413, f"upload exceeds {max_bytes // (1024 * 1024)} MB")
    receiver = UploadReceiver(folder, max_bytes)
    parser = MultipartParser(options[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if receiver.ready_to_flush():
                await run_in_threadpool(receiver.flush)
        parser.finalize()
        await run_in_threadpool(receiver.flush)
    except FormParserError:
        raise UploadProblem(400, "the upload is not valid multipart form data") from None
    finally:
        receiver.close_all()
    return receiver.saved


# ---------------------------------------------------------------------------------------------------
# Pages


def page_csp(nonce: str) -> str:
    """The CSP of the server's own pages: only their own nonce'd inline script and style."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


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


def problem_response(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    titles = {400: "Cannot analyze this upload", 404: "Not found", 413: "Upload too large"}
    title = titles.get(status, "Server busy" if status == 503 else "Analysis failed")
    return own_page(
        state_of(request),
        "serve_error.html.j2",
        status=status,
        status_code=status,
        title=title,
        message=message,
    )


def state_of(request: Request) -> ServerState:
    return request.app.state.logscope


# ---------------------------------------------------------------------------------------------------
# Routes


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
        return problem_response(request, problem.status, problem.message)
    location = f"/reports/{stored.id}"
    if wants_json(request):
        return JSONResponse({"id": stored.id, "report": location, "summary": stored.summary})
    return RedirectResponse(location, status_code=303)


async def analyze_request(request: Request, state: ServerState) -> StoredReport:
    """Receive, analyze and store one upload; the temporary folder is gone when this returns."""
    if state.in_flight >= state.max_in_flight:
        raise UploadProblem(503, "the server is busy with other uploads; try again in a minute")
    state.in_flight += 1
    started = time.perf_counter()
    report_id = uuid.uuid4().hex
    folder = tempfile.TemporaryDirectory(prefix="logscope-upload-", ignore_cleanup_errors=True)
    try:
        uploads = await receive_uploads(request, Path(folder.name), state.max_upload_bytes)
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


async def run_analysis(state: ServerState, report_id: str, uploads: list[SavedUpload]) -> RenderedReport:
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


def keep_report(keep_dir: Path, report: StoredReport) -> None:
    """Write `<id>.html` and `<id>.json` into the --keep folder (the id is 32 hex digits, nothing else)."""
    if not REPORT_ID.fullmatch(report.id):
        raise ValueError("not a report id")
    try:
        for suffix, text in ((".html", report.download_html), (".json", report.json_text)):
            final = keep_dir / f"{report.id}{suffix}"
            partial = keep_dir / f".{report.id}{suffix}.partial"
            partial.write_text(text, encoding="utf-8")
            partial.replace(final)
    except OSError as exc:
        logger.error("report %s: cannot write it to %s: %s", report.id, keep_dir, exc)


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


# ---------------------------------------------------------------------------------------------------
# Middleware: security headers, Host and Origin checks


class GuardMiddleware:
    """Adds the security headers and refuses foreign Host (DNS rebinding) and cross-site POSTs.

    `allowed_hosts` None accepts any Host (the server listens on the network on purpose).
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = {h.lower() for h in allowed_hosts} if allowed_hosts is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(Headers(scope=scope), scope["method"])
        if refusal is not None:
            status, message = refusal
            await PlainTextResponse(message, status_code=status)(scope, receive, self.with_headers(send))
            return
        await self.app(scope, receive, self.with_headers(send))

    def refusal(self, headers: Headers, method: str) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.allowed_hosts is not None and host_name(host) not in self.allowed_hosts:
            return 400, "unexpected Host header: open the page at the address the server printed"
        if method == "POST" and is_cross_site(headers, host):
            return 403, "cross-site upload refused"
        return None

    @staticmethod
    def with_headers(send: Send) -> Callable[[Message], Awaitable[None]]:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        return send_with_headers


def host_name(host_header: str) -> str:
    """`[::1]:8000` -> `::1`, `localhost:8000` -> `localhost`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_cross_site(headers: Headers, host: str) -> bool:
    """True when a browser says the request comes from another site.

    `Sec-Fetch-Site` decides when present (every current browser sends it). Without it, an Origin
    naming another host is refused; `Origin: null` is allowed there because the page's own form
    sends it under `Referrer-Policy: no-referrer`.
    """
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in ("same-origin", "none")
    origin = headers.get("origin", "null").strip().lower()
    return origin != "null" and origin.split("://", 1)[-1].rstrip("/") != host.strip().lower()


# ---------------------------------------------------------------------------------------------------
# App and server


def create_app(
    *,
    max_upload_mb: int = 1024,
    keep_dir: str | Path | None = None,
    max_workers: int = 2,
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """The upload app. `allowed_hosts` (host names, no port) guards a loopback server against DNS
    rebinding; `run_server` sets it when it listens on a loopback address."""
    if max_upload_mb < 1 or max_workers < 1:
        raise ValueError("max_upload_mb and max_workers must be at least 1")
    keep = Path(keep_dir).resolve() if keep_dir is not None else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    state = ServerState(max_upload_bytes=max_upload_mb * 1024 * 1024, keep_dir=keep, max_workers=max_workers)

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


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run_server(
    host: str = "127.0.0.1", port: int = 8000, max_upload_mb: int = 1024, keep_dir: str | None = None
) -> None:
    """Serve the upload page with uvicorn until interrupted."""
    loopback = is_loopback(host)
    if not loopback:
        print(
            f"logscope: warning: listening on {host}: the page is reachable from the network "
            "with no authentication, and anyone who can reach it can upload and read reports",
            file=sys.stderr,
        )
    try:
        app = create_app(
            max_upload_mb=max_upload_mb,
            keep_dir=keep_dir,
            allowed_hosts=[host_name(host), *LOOPBACK_HOST_NAMES] if loopback else None,
        )
    except OSError as exc:
        print(f"logscope: cannot use --keep {keep_dir}: {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    shown = f"[{host}]" if ":" in host else host
    print(f"logscope: open http://{shown}:{port}/ (Ctrl-C stops the server)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, server_header=False, timeout_graceful_shutdown=10)
