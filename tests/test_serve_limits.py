"""`logscope serve` under load and abuse: fresh worker processes, timeouts that answer, bounded
uploads, a bounded queue and store, the decompression cap, and clean refusals (issue 10)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the [web] extra is not installed")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx")

from click.testing import CliRunner
from starlette.testclient import TestClient

import logscope.serve
from conftest import multipart_post_scope
from logscope import serve
from logscope.cli import main

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parent.parent
SEED003_LOG = ROOT / "tests" / "data" / "seed003_lines.log"
HEALTHY = ROOT / "sample_logs" / "healthy-mra-login.tar.gz"


def upload(client: TestClient, name: str, data: bytes, accept_json: bool = True):
    return client.post(
        "/analyze",
        files=[("bundle", (name, data, "application/octet-stream"))],
        headers={"accept": "application/json"} if accept_json else {},
        follow_redirects=False,
    )


def analysis_processes() -> list[psutil.Process]:
    """Processes forked by this test process's forkserver: the analyses running now."""
    forkservers = [
        child
        for child in psutil.Process().children()
        if "multiprocessing.forkserver" in " ".join(child.cmdline())
    ]
    return [p for server in forkservers for p in server.children() if p.status() != psutil.STATUS_ZOMBIE]


# --- the worker processes -----------------------------------------------------------------------------


def test_every_analysis_runs_in_a_fresh_process_that_is_gone_afterwards():
    workers = serve.processes.WorkerProcesses(2)

    async def three_runs() -> list[int]:
        return [await workers.run(os.getpid, (), 30) for _ in range(3)]

    pids = asyncio.run(three_runs())
    assert len(set(pids)) == 3 and os.getpid() not in pids
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids
    )
    assert workers.live == 0


def test_an_analysis_over_its_time_is_killed_and_its_process_is_gone():
    workers = serve.processes.WorkerProcesses(1)
    started = time.monotonic()
    with pytest.raises(serve.AnalysisTimeout):
        asyncio.run(workers.run(time.sleep, (60,), 1.0))
    assert time.monotonic() - started < 15
    assert analysis_processes() == [] and workers.live == 0


def test_stop_kills_running_analyses_and_their_requests_end_at_once():
    workers = serve.processes.WorkerProcesses(2)

    async def stop_while_running() -> list[BaseException | None]:
        runs = [asyncio.ensure_future(workers.run(time.sleep, (60,), 120)) for _ in range(2)]
        while workers.live < 2 or len(analysis_processes()) < 2:
            await asyncio.sleep(0.05)
        workers.stop()
        return await asyncio.wait_for(asyncio.gather(*runs, return_exceptions=True), 10)

    outcomes = asyncio.run(stop_while_running())
    assert all(isinstance(outcome, serve.WorkerDied) for outcome in outcomes)
    assert analysis_processes() == []


def test_a_bundle_error_in_the_worker_comes_back_as_itself():
    workers = serve.processes.WorkerProcesses(1)
    with pytest.raises(logscope.BundleError, match="size cap"):
        asyncio.run(workers.run(serve.analysis_job, ("0" * 32, [str(HEALTHY)], ["h.tar.gz"], 1024), 60))


# --- what the user is told ---------------------------------------------------------------------------


@pytest.fixture
def slow_job_client(monkeypatch):
    """Analyses in a thread that blocks until the test releases it; 0.3 s per analysis."""
    release = threading.Event()

    def blocked_job(*args):
        release.wait(10)
        raise AssertionError("the analysis should have been given up")

    monkeypatch.setattr(serve.executor, "analysis_job", blocked_job)
    app = serve.create_app(max_upload_mb=8, analysis_seconds=0.3)
    app.state.logscope.executor = ThreadPoolExecutor(max_workers=2)
    with TestClient(app) as client:
        yield client
    release.set()


def test_an_analysis_that_times_out_says_so_on_the_page_and_in_json(slow_job_client):
    page = upload(slow_job_client, "seed003.log", SEED003_LOG.read_bytes(), accept_json=False)
    assert page.status_code == 504
    assert "Analysis timed out" in page.text and "took longer than 0.3 s" in page.text
    answer = upload(slow_job_client, "seed003.log", SEED003_LOG.read_bytes())
    assert answer.status_code == 504 and answer.json()["reason"] == "timeout"
    assert "took longer than 0.3 s" in answer.json()["error"]
    assert slow_job_client.app.state.logscope.in_flight == 0


def test_a_full_queue_answers_503_with_retry_after():
    app = serve.create_app(max_upload_mb=8)
    state = app.state.logscope
    with TestClient(app) as client:
        state.in_flight = state.max_in_flight
        try:
            answer = upload(client, "seed003.log", SEED003_LOG.read_bytes())
            page = upload(client, "seed003.log", SEED003_LOG.read_bytes(), accept_json=False)
        finally:
            state.in_flight = 0
    assert answer.status_code == page.status_code == 503
    assert answer.json()["reason"] == "busy"
    assert int(answer.headers["retry-after"]) > 0 and int(page.headers["retry-after"]) > 0


def test_an_upload_that_takes_too_long_is_refused_and_frees_its_slot():
    app = serve.create_app(max_upload_mb=8, upload_seconds=0.5)
    boundary = "slowclient"
    first_part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="a.log"\r\n\r\n'
    ).encode() + SEED003_LOG.read_bytes()[:1000]
    sent: list[dict] = []
    given = False

    async def receive() -> dict:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": first_part, "more_body": True}
        await asyncio.sleep(30)  # the client stalls
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = multipart_post_scope(boundary)
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    assert time.monotonic() - started < 5
    assert sent[0]["status"] == 408
    assert b"upload-timeout" in b"".join(m.get("body", b"") for m in sent[1:])
    assert app.state.logscope.in_flight == 0


def test_an_overlong_multipart_boundary_is_a_clean_400():
    boundary = "b" * 300
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="a.log"\r\n\r\nx\r\n'
        f"--{boundary}--\r\n"
    )
    with TestClient(serve.create_app(max_upload_mb=8), raise_server_exceptions=False) as client:
        answer = client.post(
            "/analyze",
            content=body,
            headers={
                "content-type": f"multipart/form-data; boundary={boundary}",
                "accept": "application/json",
            },
        )
    assert answer.status_code == 400 and "boundary" in answer.json()["error"]


def test_max_bytes_caps_what_an_upload_may_decompress():
    with TestClient(serve.create_app(max_upload_mb=8, max_bytes=64 * 1024)) as client:
        answer = upload(client, "healthy.tar.gz", HEALTHY.read_bytes())
    assert answer.status_code == 400 and "size cap of 64.0 KiB" in answer.json()["error"]


def test_serve_defaults_are_1g_120s_60s_and_200_mib(monkeypatch):
    calls = []
    monkeypatch.setattr(logscope.serve, "run_server", lambda **options: calls.append(options))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 0, result.output
    (options,) = calls
    assert options["max_bytes"] == 1024**3
    assert options["analysis_seconds"] == 120 and options["upload_seconds"] == 60
    assert options["store_bytes"] == 200 * 1024**2
    lowered = CliRunner().invoke(main, ["serve", "--max-bytes", "200M", "--analysis-timeout", "30"])
    assert lowered.exit_code == 0 and calls[1]["max_bytes"] == 200 * 1024**2
    assert calls[1]["analysis_seconds"] == 30


# --- the report store --------------------------------------------------------------------------------


def stored(report_id: int, megabytes: float) -> serve.StoredReport:
    text = "x" * int(megabytes * 1024 * 1024)
    return serve.StoredReport(
        id=f"{report_id:032x}",
        file_names=("a.log",),
        created=datetime.now(),
        upload_bytes=1,
        seconds=0.1,
        summary={},
        page_html=text,
        download_html="",
        json_text="{}",
    )


def test_report_store_is_bounded_by_bytes_not_only_by_count():
    store = serve.ReportStore(capacity=50, max_bytes=10 * 1024 * 1024)
    for n in range(20):
        store.add(stored(n, 1.5))
        assert store.bytes <= 10 * 1024 * 1024
    assert len(store) == 6 and store.recent()[0].id == f"{19:032x}"
    store.add(stored(99, 12))  # larger than the budget: kept alone, so its page still opens
    assert [r.id for r in store.recent()] == [f"{99:032x}"]
