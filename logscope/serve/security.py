"""Security headers and the CSP of every response, and the Host (DNS rebinding) and Origin checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def page_csp(nonce: str) -> str:
    """The CSP of the server's own pages: only their own nonce'd inline script and style."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


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
