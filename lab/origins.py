"""HTTPS origins on loopback addresses: `http.server` threads behind a Python `ssl` context.

The TLS handshake runs in the request thread (not in `accept`), so a failed handshake only ends that
connection; the origin records the client address and error text so the lab can report what the
origin saw from each proxy instance (each binds its own source address).
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab.pki import Credential

HANDSHAKE_TIMEOUT_S = 5.0
TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class _Handler(BaseHTTPRequestHandler):
    server_version = "logscope-lab-origin"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"origin {self.server.case_name} ok\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the lab reports through its own output."""


class TlsOrigin(ThreadingHTTPServer):
    """A threaded HTTP server that wraps each accepted connection in TLS."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, case_name: str, address: tuple[str, int], context: ssl.SSLContext) -> None:
        self.case_name = case_name
        self.context = context
        self.handshake_errors: list[tuple[str, str]] = []  # (client IP, error)
        self.connections = 0
        super().__init__(address, _Handler)

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        self.connections += 1
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            self.handshake_errors.append((client_address[0], str(error)))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError) as error:
            self.handshake_errors.append((client_address[0], str(error)))

    def handle_error(self, request: object, client_address: object) -> None:
        """Errors are recorded in `finish_request`; never print tracebacks to the lab's stderr."""


def server_context(credential: Credential, tls_max: str, client_ca: str | None) -> ssl.SSLContext:
    """The origin's TLS context: its chain and key, a version ceiling, and optionally a demand for a
    client certificate signed by `client_ca`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = TLS_VERSIONS[tls_max]
    context.load_cert_chain(credential.chain_file, credential.key_file)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return context


@dataclass
class RunningOrigin:
    """An origin serving in a daemon thread; `stop` shuts it down and closes its socket."""

    server: TlsOrigin
    thread: threading.Thread
    stopped: bool = field(default=False)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        if not self.stopped:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=HANDSHAKE_TIMEOUT_S)
            self.stopped = True


def start_origin(case_name: str, ip: str, context: ssl.SSLContext) -> RunningOrigin:
    """Listen on `ip` at a free port chosen by the kernel and serve in a daemon thread."""
    server = TlsOrigin(case_name, (ip, 0), context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return RunningOrigin(server, thread)
