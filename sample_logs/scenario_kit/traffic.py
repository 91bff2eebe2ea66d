"""MRA traffic through the traffic server: planning logins and background requests, and turning one
planned request into its transaction lines (with the warnings and errors its outcome writes)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from email.utils import formatdate

from .deployment import NodeState, Outcome, Site, Step, Upstream
from .log_lines import (
    name_not_in_cert,
    receive_request,
    receive_response,
    request_allowed,
    sending_request,
    sending_response,
    ssl_connect_failed,
    status_line,
    verify_failed,
)
from .vocabulary import RULE_TYPES, USER_AGENTS, route_segment, tracking_id

LOGIN_STEPS = (
    ("cucm", 8443, "https", "GET", "/cucm-uds/version"),
    ("cucm", 8443, "https", "GET", "/cucm-uds/user/{user}"),
    ("cucm", 8443, "https", "GET", "/cucm-uds/user/{user}/devices"),
    ("tftp", 6970, "http", "GET", "/jabber-config.xml"),
    ("tftp", 6970, "http", "GET", "/jabber-config-user.xml"),
    ("tftp", 6972, "https", "GET", "/CSF{user}.cnf.xml"),
    ("imp", 8443, "https", "POST", "/EPASSoap/service/v105"),
    ("cuc", 443, "https", "GET", "/vmrest/version/product"),
    ("cuc", 443, "https", "GET", "/vmrest/mailbox/folders/inbox/messages?pageNumber=1&rowsPerPage=25"),
)
BACKGROUND_STEPS = {
    "imp": ("POST", 8443, "/EPASSoap/service/v105"),
    "cuc": ("GET", 443, "/vmrest/mailbox/folders/inbox/messages?pageNumber=1&rowsPerPage=25"),
    "cucm": ("GET", 8443, "/cucm-uds/user/{user}/devices"),
}


def plan_login(site: Site, host: str, user: str, t0: int, rng: random.Random) -> list[Step]:
    """A Jabber MRA login: UDS on 8443, TFTP on 6970/6972, IM&P, Unity. A UDS 502 ends it."""
    targets = {
        "cucm": rng.choice(site.cucms),
        "tftp": rng.choice(site.cucms),
        "imp": rng.choice(site.imps) if site.imps else None,
        "cuc": rng.choice(site.cucs) if site.cucs else None,
    }
    steps: list[Step] = []
    t = t0
    for kind, port, scheme, method, template in LOGIN_STEPS:
        upstream = targets[kind]
        if upstream is None:
            continue
        step = Step(t, upstream, port, scheme, method, template.format(user=user), user)
        steps.append(step)
        if kind == "cucm" and site.outcome(host, upstream, port).fails:
            if rng.random() < 0.5:
                steps.append(replace(step, t0=t + rng.randint(1500, 4000)))
            break
        t += rng.randint(60, 450)
    return steps


def plan_background(site: Site, user: str, t0: int, rng: random.Random) -> Step:
    """A request from an already logged-in client, preferably to an IM&P or Unity node."""
    kinds = [kind for kind, pool in (("imp", site.imps), ("cuc", site.cucs)) if pool] or ["cucm"]
    kind = rng.choice(kinds)
    pool = {"imp": site.imps, "cuc": site.cucs, "cucm": site.cucms}[kind]
    method, port, template = BACKGROUND_STEPS[kind]
    return Step(t0, rng.choice(pool), port, "https", method, template.format(user=user), user)


def rule_prefix(path: str) -> str:
    for prefix in ("/cucm-uds/user/", "/cucm-uds/", "/EPASSoap/service/", "/vmrest/"):
        if path.startswith(prefix):
            return prefix
    return "/"


def client_headers(domain: str, user_agent: str) -> tuple[str, ...]:
    return (
        f"Host: vcs_control.{domain}:8443",
        "Accept: */*",
        f"User-Agent: {user_agent}",
        "Connection: keep-alive",
    )


def upstream_headers(host: str, port: int, user_agent: str) -> tuple[str, ...]:
    return (f"Host: {host}:{port}", "Accept: */*", f"User-Agent: {user_agent}")


def response_headers(t_ms: int, length: int) -> tuple[str, ...]:
    date = formatdate(t_ms / 1000, usegmt=True)
    return ("Content-Type: application/xml;charset=UTF-8", f"Content-Length: {length}", f"Date: {date}")


def diagnostics(outcome: Outcome, upstream: Upstream, thread: int) -> list[str]:
    """The ATS WARNING/ERROR bodies an outcome writes (an ERROR only when the connection broke)."""
    lines = []
    if outcome.verify_error:
        lines.append(
            verify_failed(
                thread,
                upstream.name,
                outcome.action,
                outcome.verify_error,
                upstream.name,
                upstream.ip,
                outcome.depth,
            )
        )
    if outcome.name_check:
        lines.append(
            name_not_in_cert(
                thread, outcome.name_check, upstream.name, outcome.action, upstream.name, upstream.ip
            )
        )
    if outcome.ssl_error and outcome.fails:
        lines.append(ssl_connect_failed(thread, upstream.name, outcome.ssl_error))
    return lines


@dataclass
class TxnResult:
    events: list[tuple[int, str]]
    status: int
    warned: bool
    allowed: bool = True  # whether its allow-list line (with the user name) was written


def transaction_events(state: NodeState, step: Step, txn: int, rng: random.Random) -> TxnResult:
    """Receive Request -> Request Allowed -> Sending Request(s) -> [warnings] -> Receive/Sending Response."""
    site, spec, utc = state.site, state.spec, state.clock.utc
    outcome = site.outcome(spec.host, step.upstream, step.port)
    tracking, src_port = tracking_id(rng), state.client_port(rng)
    route = route_segment(site.domain, step.scheme, step.upstream.name, step.port)
    request = f"{step.method} http://vcs_control.{site.domain}:8443/{route}{step.path} HTTP/1.1"
    upstream_request = f"{step.method} {step.path} HTTP/1.1"
    debug = rng.random() < spec.debug_rate
    agent = rng.choice(USER_AGENTS)
    t = step.t0
    events = [(t, receive_request(utc(t), txn, tracking, src_port, request))]
    if debug:
        headers = client_headers(site.domain, agent)
        events.append((t, receive_request(utc(t), txn, tracking, src_port, request, headers)))
    allowed = rng.random() < 0.9
    if allowed:
        t += rng.randint(1, 7)
        url = f"{step.scheme}://{step.upstream.name}:{step.port}{step.path}"
        rule = f"{step.scheme}://{step.upstream.name}:{step.port}{rule_prefix(step.path)}"
        events.append(
            (
                t,
                request_allowed(
                    utc(t),
                    step.user,
                    step.method,
                    url,
                    rule,
                    RULE_TYPES[step.upstream.kind],
                    rng.random() < 0.15,
                ),
            )
        )

    def send(at: int) -> None:
        events.append(
            (at, sending_request(utc(at), txn, tracking, step.upstream.ip, step.port, upstream_request))
        )

    t += rng.randint(0, 6)
    send(t)
    if debug:
        headers = upstream_headers(step.upstream.name, step.port, agent)
        events.append(
            (
                t,
                sending_request(
                    utc(t), txn, tracking, step.upstream.ip, step.port, upstream_request, headers
                ),
            )
        )
    thread = rng.randint(0, 3)
    if outcome.fails:
        if rng.random() < 0.7:
            t += rng.randint(8, 12)
            send(t)
        t += rng.randint(0, 1)
        events += [(t, body) for body in diagnostics(outcome, step.upstream, thread)]
        t += rng.randint(5, 10)
        events.append((t, sending_response(utc(t), txn, src_port, status_line(502))))
        return TxnResult(events, 502, outcome.warns or outcome.ssl_error is not None, allowed)
    warned = outcome.warns and step.scheme == "https" and rng.random() < outcome.warn_rate
    if warned:
        t += rng.randint(3, 10)
        events += [(t, body) for body in diagnostics(outcome, step.upstream, thread)]
    elif rng.random() < 0.03:
        t += rng.randint(10, 30)
        send(t)
    status = 404 if step.path in site.missing_paths else outcome.status
    t += rng.randint(15, 90)
    events.append((t, receive_response(utc(t), txn, step.upstream.ip, step.port, status_line(status))))
    if debug:
        headers = response_headers(t, rng.randint(180, 9000))
        events.append(
            (t, receive_response(utc(t), txn, step.upstream.ip, step.port, status_line(status), headers))
        )
    t += rng.randint(0, 1)
    events.append((t, sending_response(utc(t), txn, src_port, status_line(status))))
    return TxnResult(events, status, warned, allowed)
