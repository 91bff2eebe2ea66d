"""Decode MRA's base64 route segment: the address the client was told to use.

The first path segment of a proxied MRA URL is base64 (padding stripped, sometimes the URL-safe
alphabet) of ``<domain>/<scheme>/<host>/<port>``. Transcribed or damaged segments must never raise:
they decode to a :class:`Route` whose ``error`` says what is wrong, keeping the parts that could
be read.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

# A route encodes at least "d/https/h/1" plus a dotted domain: real segments are long. Shorter path
# words (`cucm-uds`, `devices`) are ordinary paths, not damaged routes.
_BASE64_SEGMENT = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_ABSOLUTE_URL_PATH = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s]*/([^/?#\s]+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Route:
    segment: str
    domain: str | None = None
    scheme: str | None = None
    host: str | None = None
    port: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def encode_route(domain: str, scheme: str, host: str, port: int | str) -> str:
    """The segment a client would send for this route (standard alphabet, padding stripped)."""
    text = f"{domain}/{scheme}/{host}/{port}"
    return base64.b64encode(text.encode()).decode().rstrip("=")


@lru_cache(maxsize=4096)
def decode_route(segment: str) -> Route:
    """Decode one route segment; never raises."""
    raw = segment.strip().rstrip("=")
    try:
        padded = raw + "=" * (-len(raw) % 4)
        altchars = b"-_" if _is_urlsafe(raw) else None
        data = base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as exc:
        return Route(segment, error=f"not base64 ({exc})")
    text = data.decode("utf-8", errors="replace")
    parts = text.split("/")
    damaged = "\ufffd" in text or bool(_CONTROL.search(text))
    if len(parts) != 4 or damaged:
        readable = [p for p in parts if p and not _CONTROL.search(p) and "\ufffd" not in p]
        fields = dict(zip(("domain", "scheme"), readable[:2], strict=False))
        why = "control or invalid bytes" if damaged else f"{len(parts)} parts"
        error = f"decodes to {text!r}: {why}, expected domain/scheme/host/port"
        return Route(segment, error=error, **fields)
    domain, scheme, host, port_text = parts
    port = int(port_text) if port_text.isdigit() and int(port_text) < 65536 else None
    if port is not None:
        error = None
    elif port_text.isdigit():
        error = f"port {port_text} is out of range (0-65535)"
    else:
        error = f"port {port_text!r} is not a number"
    return Route(segment, domain or None, scheme or None, host or None, port, error)


def _is_urlsafe(segment: str) -> bool:
    return "-" in segment or "_" in segment


def route_segment(url: str) -> str | None:
    """The first path segment of an absolute URL when it looks like a base64 route, else None.

    Only the client request carries the route (``GET http://vcs_control.<domain>:8443/<route>/...``);
    the upstream request path (``GET /cucm-uds/...``) never does.
    """
    match = _ABSOLUTE_URL_PATH.match(url)
    if not match:
        return None
    segment = match.group(1)
    return segment if _BASE64_SEGMENT.fullmatch(segment) else None


def route_from_url(url: str | None) -> Route | None:
    """The decoded route of an MRA URL, or None when its first segment is not a route at all."""
    if not url:
        return None
    segment = route_segment(url)
    return decode_route(segment) if segment else None
