"""`logscope serve`: a local page to upload bundles and read their findings.

The flow of one upload: the multipart body is streamed into a temporary folder the request owns
(generated file names; the client's names are kept for display only), the size cap and the upload
time are enforced while streaming, the analysis runs in a fresh worker process of its own (killed
when it runs out of time) so the event loop stays free and several uploads run at once, the folder
is removed, and the rendered report (HTML and JSON) is kept in memory under a random id. Reports are
only ever looked up by that id in memory: no route serves a path taken from the request.

The modules, in the order data flows through them:

- ``store``: the in-memory report store and the --keep folder
- ``worker``: what runs in the analysis worker process (analyze, relabel, render)
- ``uploads``: streaming a multipart upload to disk, with its limits
- ``processes``: one fresh worker process per analysis, killed on timeout or shutdown
- ``executor``: the per-app state and its worker processes, one analysis run on them
- ``security``: security headers, CSP, Host and Origin checks (the middleware)
- ``pages``: the server's own pages and error responses
- ``routes``: the request handlers
- ``app``: :func:`create_app`
- ``startup``: :func:`run_server` (host warnings, uvicorn)

starlette, uvicorn and python-multipart are imported at the top of those modules on purpose:
importing this package fails without them, and `logscope serve` turns the ImportError into
"install the [web] extra".
"""

from __future__ import annotations

from logscope.serve.app import SERVE_MAX_BYTES, ReportIdConvertor, create_app
from logscope.serve.executor import (
    ANALYSIS_SECONDS,
    MAX_PENDING_PER_WORKER,
    RETRY_AFTER_SECONDS,
    UPLOAD_SECONDS,
    ServerState,
    one_line,
    run_analysis,
)
from logscope.serve.pages import own_page, problem_response, recent_rows, wants_json
from logscope.serve.processes import AnalysisTimeout, WorkerDied, WorkerProcesses
from logscope.serve.routes import analyze_request
from logscope.serve.security import (
    BASE_CSP,
    SECURITY_HEADERS,
    GuardMiddleware,
    host_name,
    is_cross_site,
    page_csp,
)
from logscope.serve.startup import LOOPBACK_HOST_NAMES, is_loopback, run_server
from logscope.serve.store import (
    MAX_KEPT_REPORTS,
    MAX_STORE_BYTES,
    REPORT_ID,
    ReportStore,
    StoredReport,
    keep_report,
)
from logscope.serve.uploads import (
    KNOWN_SUFFIXES,
    MAX_FILES,
    UPLOAD_FIELD,
    SavedUpload,
    UploadProblem,
    UploadReceiver,
    display_name,
    known_suffix,
    receive_uploads,
    unique_name,
)
from logscope.serve.worker import (
    RenderedReport,
    UploadLabels,
    analysis_job,
    render_findings_page,
    report_links,
)

__all__ = [
    "ANALYSIS_SECONDS",
    "BASE_CSP",
    "KNOWN_SUFFIXES",
    "LOOPBACK_HOST_NAMES",
    "MAX_FILES",
    "MAX_KEPT_REPORTS",
    "MAX_PENDING_PER_WORKER",
    "MAX_STORE_BYTES",
    "REPORT_ID",
    "RETRY_AFTER_SECONDS",
    "SECURITY_HEADERS",
    "SERVE_MAX_BYTES",
    "UPLOAD_FIELD",
    "UPLOAD_SECONDS",
    "AnalysisTimeout",
    "GuardMiddleware",
    "RenderedReport",
    "ReportIdConvertor",
    "ReportStore",
    "SavedUpload",
    "ServerState",
    "StoredReport",
    "UploadLabels",
    "UploadProblem",
    "UploadReceiver",
    "WorkerDied",
    "WorkerProcesses",
    "analysis_job",
    "analyze_request",
    "create_app",
    "display_name",
    "host_name",
    "is_cross_site",
    "is_loopback",
    "keep_report",
    "known_suffix",
    "one_line",
    "own_page",
    "page_csp",
    "problem_response",
    "receive_uploads",
    "recent_rows",
    "render_findings_page",
    "report_links",
    "run_analysis",
    "run_server",
    "unique_name",
    "wants_json",
]
