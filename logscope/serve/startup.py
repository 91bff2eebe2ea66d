"""Starting the server: the warning for a non-loopback host, the Host allow-list, uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import sys

import uvicorn

from logscope.serve.app import create_app
from logscope.serve.security import host_name

LOOPBACK_HOST_NAMES = ("localhost", "127.0.0.1", "::1")


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
