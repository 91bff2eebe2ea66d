"""Per-server outcomes: every upstream server with its answered, failed and unanswered requests,
its TLS failures and the findings that name it (the page's Servers table; the timeline's rows).

Servers are named as the signature engine names them, so a row and a finding agree on a name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from logscope.findings import Finding
from logscope.render.budgets import ATTENTION_STATUSES
from logscope.signatures import server_identity

if TYPE_CHECKING:
    from logscope.report import Report

OUTCOMES = ("ok", "client-error", "failed", "no-response")
OUTCOME_TITLES = {
    "ok": "2xx/3xx answered",
    "client-error": "4xx",
    "failed": "5xx (e.g. 502)",
    "no-response": "no response logged",
    "tls": "TLS failure",
}


@dataclass
class ServerRow:
    """One server of the Servers table: its requests by outcome, TLS failures and causing findings."""

    name: str
    ips: list[str]
    ports: list[int]
    ok: int = 0
    client_errors: int = 0
    failed: int = 0
    no_response: int = 0
    tls_failures: int = 0
    causes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.ok + self.client_errors + self.failed + self.no_response

    @property
    def troubles(self) -> int:
        return self.client_errors + self.failed + self.no_response + self.tls_failures


def outcome_of(status: pd.Series) -> pd.Series:
    """Classify HTTP status codes sent back to the client: ok, client-error, failed, no-response."""
    codes = pd.to_numeric(status, errors="coerce")
    outcome = pd.Series("no-response", index=status.index, dtype=object)
    outcome[codes < 400] = "ok"
    outcome[(codes >= 400) & (codes < 500)] = "client-error"
    outcome[codes >= 500] = "failed"
    return outcome


def text_column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), pd.NA)


def transaction_servers(transactions: pd.DataFrame) -> pd.Series:
    """The server each transaction went to, named as the signature engine names it."""
    return server_identity(transactions, "transactions")[0].astype(str)


def failure_servers(failures: pd.DataFrame) -> pd.Series:
    """The server of each TLS failure, named as the signature engine names it."""
    return server_identity(failures, "tls_failures")[0].astype(str)


def server_rows(report: Report) -> list[ServerRow]:
    """One row per server across transactions, TLS failures and findings: servers a finding names
    first, then those with the most failures, then the busiest."""
    rows: dict[str, ServerRow] = {}
    transactions = report.transactions
    if not transactions.empty:
        frame = pd.DataFrame(
            {
                "server": transaction_servers(transactions),
                "ip": text_column(transactions, "upstream_ip"),
                "port": pd.to_numeric(text_column(transactions, "upstream_port"), errors="coerce"),
                "outcome": outcome_of(text_column(transactions, "status")),
            }
        )
        counts = frame.groupby(["server", "outcome"]).size()
        for (server, outcome), count in counts.items():
            row = rows.setdefault(server, ServerRow(server, [], []))
            _add_outcome(row, outcome, int(count))
        for server, ips in frame.dropna(subset=["ip"]).groupby("server")["ip"]:
            rows[server].ips = sorted({str(ip) for ip in ips})
        for server, ports in frame.dropna(subset=["port"]).groupby("server")["port"]:
            rows[server].ports = sorted({int(port) for port in ports})
    _add_tls_failures(rows, report.tls_failures)
    _add_finding_servers(rows, report.findings)
    return sorted(rows.values(), key=lambda row: (not row.causes, -row.troubles, -row.requests, row.name))


def _add_outcome(row: ServerRow, outcome: str, count: int) -> None:
    if outcome == "ok":
        row.ok += count
    elif outcome == "client-error":
        row.client_errors += count
    elif outcome == "failed":
        row.failed += count
    else:
        row.no_response += count


def _add_tls_failures(rows: dict[str, ServerRow], failures: pd.DataFrame) -> None:
    failures = marker_failures(failures)
    if failures.empty:
        return
    frame = pd.DataFrame({"server": failure_servers(failures), "ip": text_column(failures, "server_ip")})
    for server, count in frame["server"].value_counts().items():
        rows.setdefault(server, ServerRow(server, [], [])).tls_failures += int(count)
    for server, ips in frame.dropna(subset=["ip"]).groupby("server")["ip"]:
        rows[server].ips = sorted(set(rows[server].ips) | {str(ip) for ip in ips})


def marker_failures(failures: pd.DataFrame) -> pd.DataFrame:
    """One failure per failed handshake: the certificate warning, or an error with no warning beside it."""
    if failures.empty or "kind" not in failures:
        return failures
    kind = failures["kind"].astype(str)
    paired = failures["paired"].fillna(False).astype(bool) if "paired" in failures else False
    return failures[(kind != "ssl_connect_failed") | ~paired]


def _add_finding_servers(rows: dict[str, ServerRow], findings: Iterable[Finding]) -> None:
    """Name the findings behind each server (the cause column); add servers only findings name.

    A finding's server matches the row of its name, and the rows named by its address(es): the
    engine names a server by its route host or SNI, the transactions by the address when no route.
    """
    for finding in findings:
        if finding.status not in ATTENTION_STATUSES:
            continue
        for server in finding.servers:
            addresses = [ip.strip() for ip in (server.ip or "").split(",") if ip.strip()]
            keys = dict.fromkeys([server.name, *addresses])
            matched = [rows[key] for key in keys if key in rows]
            if not matched:
                matched = [ServerRow(server.name, addresses, list(server.ports))]
                rows[server.name] = matched[0]
            for row in matched:
                if finding.id not in row.causes:
                    row.causes.append(finding.id)
