"""Ground-truth MRA login attempts (issue 16) from what the construction planned, for the manifest.

The generator knows each request's user, step and answer from its plan, not from the log. A login is
a node's requests of one user until 30 s pass without one (the issue's rule); a request counts when
the log carries its key: a UDS user path, a device configuration file, or its allow-list line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

SESSION_GAP_MS = 30_000
LOGIN_STEPS = ("edge-config", "uds", "device-config")


@dataclass(frozen=True)
class Request:
    host: str
    user: str
    t0: int
    path: str
    port: int
    status: int
    keyed: bool


def step_kind(path: str, port: int) -> str:
    if path.startswith("/cucm-uds/"):
        return "uds"
    if port in (6970, 6972):
        return "device-config"
    if path.startswith("/EPASSoap/"):
        return "imp"
    if path.startswith("/vmrest/"):
        return "voicemail"
    return "other"


def truth(requests: list[Request]) -> list[dict]:
    """The login attempts, in order of their first request: node, user, start, outcome, failed step,
    requests."""
    attempts: list[list[Request]] = []
    open_attempt: dict[tuple[str, str], list[Request]] = {}
    for request in sorted((r for r in requests if r.keyed), key=lambda r: (r.host, r.user, r.t0)):
        key = (request.host, request.user)
        current = open_attempt.get(key)
        if current is None or request.t0 - current[-1].t0 > SESSION_GAP_MS:
            current = []
            attempts.append(current)
            open_attempt[key] = current
        current.append(request)
    logins = [a for a in attempts if any(step_kind(r.path, r.port) in LOGIN_STEPS for r in a)]
    logins.sort(key=lambda a: (a[0].t0, a[0].host, a[0].user))
    return [_entry(attempt) for attempt in logins]


def _entry(attempt: list[Request]) -> dict:
    last: dict[str, Request] = {}
    for request in attempt:
        last[step_kind(request.path, request.port)] = request
    failed = [kind for kind, r in last.items() if r.status >= 500 and kind != "other"]
    return {
        "node": attempt[0].host,
        "user": attempt[0].user,
        "start": datetime.fromtimestamp(attempt[0].t0 / 1000, UTC).isoformat(timespec="milliseconds"),
        "outcome": "failed" if failed else "succeeded",
        "failed_step": failed[0] if failed else "",
        "requests": len(attempt),
    }
