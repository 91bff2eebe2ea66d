"""Starting the server: the warning for a non-loopback host, the Host allow-list, uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys
import tempfile
from types import FrameType
from typing import Any

import uvicorn

from logscope.bundle.workspace import clean_stale
from logscope.serve.app import create_app
from logscope.serve.executor import ServerState
from logscope.serve.security import host_name

LOOPBACK_HOST_NAMES = ("localhost", "127.0.0.1", "::1")
GRACEFUL_SECONDS = 5  # after SIGTERM, how long an upload still streaming may take to finish


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class StoppingServer(uvicorn.Server):
    """uvicorn's server, which on SIGTERM or Ctrl-C first kills the running analyses: their
    requests answer 503 at once, so the graceful shutdown has nothing long to wait for."""

    def __init__(self, config: uvicorn.Config, state: ServerState) -> None:
        super().__init__(config)
        self.logscope_state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.logscope_state.stop()
        super().handle_exit(sig, frame)


def run_server(
    host: str = "127.0.0.1",
    port: int = 8000,
    max_upload_mb: int = 1024,
    keep_dir: str | None = None,
    **limits: Any,
) -> None:
    """Serve the upload page with uvicorn until interrupted (SIGTERM or Ctrl-C: within seconds).
    `limits` go to create_app (max_bytes, analysis_seconds, upload_seconds, store_bytes)."""
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
            **limits,
        )
    except OSError as exc:
        print(f"logscope: cannot use --keep {keep_dir}: {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    clean_stale(tempfile.gettempdir())  # upload and extraction folders of servers that were killed
    shown = f"[{host}]" if ":" in host else host
    print(f"logscope: open http://{shown}:{port}/ (Ctrl-C stops the server)", file=sys.stderr)
    config = uvicorn.Config(
        app, host=host, port=port, server_header=False, timeout_graceful_shutdown=GRACEFUL_SECONDS
    )
    # uvicorn re-raises the signal it stopped for; as SystemExit, the exit handlers still run (they
    # remove multiprocessing's own temporary folder) and the status is the usual 128 + signal.
    previous = signal.signal(signal.SIGTERM, _exit_for_signal)
    try:
        StoppingServer(config, app.state.logscope).run()
    except KeyboardInterrupt:
        raise SystemExit(128 + signal.SIGINT) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_for_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
