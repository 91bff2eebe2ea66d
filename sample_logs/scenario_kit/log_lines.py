"""Log-line writers: the syslog envelope and one builder per body shape (traffic_server transaction
events, certificate warnings and SSL errors, HTTP error responses, and stock ATS diags.log/error.log)."""

from __future__ import annotations

from .clock import Clock
from .vocabulary import TS_MODULE


def envelope(clock: Clock, t_ms: int, host: str, process: str, pid: int | None, body: str) -> str:
    tag = process if pid is None else f"{process}[{pid}]"
    return f"{clock.local(t_ms)} {host} {tag}: {body}"


def kv(pairs: list[tuple[str, str]]) -> str:
    return " ".join(f'{key}="{value}"' for key, value in pairs)


def ts_head(utc: str, level: str, detail: str, txn: int, tracking: str) -> str:
    return (
        f'UTCTime="{utc}" Module="{TS_MODULE}" Level="{level}": Detail="{detail}" '
        f'Txn-id="{txn}" TrackingID="{tracking}"'
    )


def message(first_line: str, httpmsg: tuple[str, ...] | None) -> str:
    """`Msg="..."` on INFO events; `HTTPMSG:` and the message on continuation lines on DEBUG ones."""
    if httpmsg is None:
        return f'Msg="{first_line}"'
    return "\n".join([f"HTTPMSG:\n|{first_line}", *(f" {header}" for header in httpmsg)])


def level_of(httpmsg: tuple[str, ...] | None) -> str:
    return "INFO" if httpmsg is None else "DEBUG"


def receive_request(
    utc: str, txn: int, tracking: str, src_port: int, request: str, httpmsg: tuple[str, ...] | None = None
) -> str:
    via = "" if httpmsg is None else " "
    head = ts_head(utc, level_of(httpmsg), "Receive Request", txn, tracking)
    return (
        f'{head} Src-ip="127.0.0.1" Src-port="{src_port}" Last-via-addr="{via}" {message(request, httpmsg)}'
    )


def sending_request(
    utc: str,
    txn: int,
    tracking: str,
    ip: str,
    port: int,
    request: str,
    httpmsg: tuple[str, ...] | None = None,
) -> str:
    head = ts_head(utc, level_of(httpmsg), "Sending Request", txn, tracking)
    return f'{head} Dst-ip="{ip}" Dst-port="{port}" {message(request, httpmsg)}'


def receive_response(
    utc: str, txn: int, ip: str, port: int, status_line: str, httpmsg: tuple[str, ...] | None = None
) -> str:
    head = ts_head(utc, level_of(httpmsg), "Receive Response", txn, "")
    return f'{head} Src-ip="{ip}" Src-port="{port}" {message(status_line, httpmsg)}'


def sending_response(utc: str, txn: int, client_port: int, status_line: str) -> str:
    head = ts_head(utc, "INFO", "Sending Response", txn, "")
    return f'{head} Dst-ip="127.0.0.1" Dst-port="{client_port}" Msg="{status_line}"'


def status_line(status: int) -> str:
    """Tomcat sends no reason phrase ("HTTP/1.1 200 "); the traffic server's own 502 has one."""
    return "HTTP/1.1 502 connect failed" if status == 502 else f"HTTP/1.1 {status} "


def request_allowed(
    utc: str, user: str, method: str, url: str, rule: str, rule_type: str, utc_first: bool
) -> str:
    pairs = [
        ("Event", "Request Allowed"),
        ("Detail", "Access allowed"),
        ("Reason", "In allow list"),
        ("Username", user),
        ("Deployment", "1"),
        ("Method", method),
        ("Request", url),
        ("Rule", rule),
        ("Match", "prefix"),
        ("Type", rule_type),
    ]
    stamp = [("UTCTime", utc)]
    return kv(stamp + pairs if utc_first else pairs + stamp)


def http_error_response(utc: str | None, status: int, reason: str, ip: str, port: int) -> str:
    pairs = [("Event", "Sending HTTP error response"), ("Status", str(status)), ("Reason", reason)]
    pairs += [("Dst-ip", ip), ("Dst-port", str(port))]
    return kv(pairs if utc is None else [*pairs, ("UTCTime", utc)])


def verify_failed(thread: int, sni: str, action: str, error: str, server: str, ip: str, depth: int) -> str:
    return (
        f"[ET_NET {thread}] WARNING: Core server certificate verification failed for ({sni}). "
        f"Action={action} Error={error} server={server}({ip}) depth={depth}"
    )


def name_not_in_cert(thread: int, form: str, sni: str, action: str, server: str, ip: str) -> str:
    return (
        f"[ET_NET {thread}] WARNING: {form} ({sni}) not in certificate. Action={action} server={server}({ip})"
    )


def ssl_connect_failed(thread: int, name: str, openssl_error: str) -> str:
    return f"[ET_NET {thread}] ERROR: SSL connection failed for '{name}': {openssl_error}"


def diags_line(stamp: str, body: str) -> str:
    """Stock Apache Traffic Server diags.log: `[Nov 22 15:10:45.188] <body>`."""
    return f"[{stamp}] {body}"


def errorlog_connect_fail(stamp: str, ip: str, port: int, url: str, attempts: int) -> str:
    code = "ENET_SSL_CONNECT_FAILED [-20104]"
    return (
        f"{stamp} CONNECT: attempt fail [CONNECTION_ERROR] to {ip}:{port} for host='127.0.0.1' "
        f"connection_result={code} error={code} attempts={attempts} url='{url}'"
    )
