"""Soak: a real `logscope serve` on loopback takes a burst of uploads, still answers ordinary uploads
within seconds, and SIGTERM ends it, and every process it started, within 10 s (issue 10).

Bounded: BURST uploads from THREADS client threads, then STEADY + 5 uploads, every request with a
timeout; about 30 s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the [web] extra is not installed")
httpx = pytest.importorskip("httpx")
psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parent.parent
SEED003_LOG = ROOT / "tests" / "data" / "seed003_lines.log"
BURST, THREADS = 300, 24
STEADY = 26  # then uploads two at a time: with the burst and the five, past 32 analyses (2 x 16)
ORDINARY_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, tmp: Path) -> subprocess.Popen:
    """`logscope serve` with its temporary folder in `tmp` and its log in `tmp/server.log`."""
    (tmp / "temp").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp / "temp")}
    command = [sys.executable, "-m", "logscope.cli", "serve", "--port", str(port)]
    with (tmp / "server.log").open("wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, (tmp / "server.log").read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


def post_upload(client: httpx.Client, data: bytes, timeout: float) -> int:
    """The status of one upload; -1 when no answer came within `timeout`, 0 when the connection broke."""
    try:
        answer = client.post(
            "/analyze",
            files=[("bundle", ("seed003.log", data, "text/plain"))],
            headers={"accept": "application/json"},
            timeout=timeout,
        )
    except httpx.TransportError as exc:
        return -1 if isinstance(exc, httpx.TimeoutException) else 0
    return answer.status_code


def timed_upload(client: httpx.Client, data: bytes) -> tuple[int, float]:
    started = time.monotonic()
    status = post_upload(client, data, ORDINARY_SECONDS)
    return status, time.monotonic() - started


def test_serve_survives_a_burst_answers_ordinary_uploads_and_stops_on_sigterm(tmp_path):
    port = free_port()
    data = SEED003_LOG.read_bytes()
    server = start_server(port, tmp_path)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", limits=httpx.Limits(max_connections=THREADS))
    try:
        with ThreadPoolExecutor(THREADS) as clients:
            burst = list(clients.map(lambda _n: post_upload(client, data, 60), range(BURST)))
        assert -1 not in burst, "a burst upload got no answer within 60 s"
        assert set(burst) <= {200, 503}, sorted(set(burst))
        assert burst.count(200) > 0
        with ThreadPoolExecutor(2) as clients:  # more analyses than a worker pool would recycle at
            steady = list(clients.map(lambda _n: timed_upload(client, data), range(STEADY)))
        assert [status for status, _seconds in steady] == [200] * STEADY
        assert max(seconds for _status, seconds in steady) < ORDINARY_SECONDS
        for _ in range(5):
            status, seconds = timed_upload(client, data)
            assert status == 200 and seconds < ORDINARY_SECONDS
        with ThreadPoolExecutor(2) as clients:  # analyses running when the signal comes
            pending = [clients.submit(post_upload, client, data, 30) for _ in range(2)]
            time.sleep(0.3)
            family = psutil.Process(server.pid).children(recursive=True)
            stopping = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(10)
            stopped_after = time.monotonic() - stopping
            assert {future.result() for future in pending} <= {200, 503, 0}
        assert stopped_after < 10 and server.returncode == 128 + signal.SIGTERM
        _gone, alive = psutil.wait_procs(family, timeout=5)
        assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []
        assert "Traceback" not in (tmp_path / "server.log").read_text()
        assert list((tmp_path / "temp").iterdir()) == []
    finally:
        client.close()
        if server.poll() is None:
            server.kill()
            server.wait()
