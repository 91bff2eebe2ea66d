"""Render a Report for people: one self-contained HTML findings page, and a terminal summary.

Every string shown comes, directly or through a signature's text, from a customer's log, so it is
hostile. The HTML page goes through jinja2 autoescaping and nothing log-derived is ever marked safe:
finding texts (plain text with "- " bullets) become :class:`TextBlock` lists that the template lays
out. The page loads nothing: CSS and JS are inlined, and a Content-Security-Policy with their hashes
forbids every other script, style and fetch. Terminal text has control characters made visible so
escape sequences in a log never reach the terminal.
"""

from __future__ import annotations

import base64
import hashlib
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from logscope import __version__
from logscope.findings import STATUS_TITLES, STATUSES, Finding, Server
from logscope.resources import templates_dir
from logscope.signatures import server_identity

if TYPE_CHECKING:
    from logscope.nodes import NodeSummary
    from logscope.report import Report

MAX_TIMELINE_POINTS = 5000
MAX_TIMELINE_ROWS = 40
MAX_EVIDENCE_CHARS = 4000
# Caps on what one page lists, so a hostile or huge bundle still gives a page a browser opens;
# the JSON document keeps everything.
MAX_FINDING_SERVERS = 200
MAX_FINDING_EVIDENCE = 100
MAX_SERVER_ROWS = 300
TERMINAL_WIDTH = 160
ATTENTION_STATUSES = ("issue", "potential", "missing-info")
DEFECT_ID = re.compile(r"\bCSC[a-z]{2}\d{5}\b", re.IGNORECASE)
CLI_LINE = re.compile(r"^\s*(xConfiguration|xCommand|xStatus)\b")
# C0 controls except newline and tab, DEL, C1 controls, and the Unicode bidi overrides/isolates that
# can make a log line read differently from what it says ("trojan source").
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ONE_LINE_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

OUTCOMES = ("ok", "client-error", "failed", "no-response")
OUTCOME_TITLES = {
    "ok": "2xx/3xx answered",
    "client-error": "4xx",
    "failed": "5xx (e.g. 502)",
    "no-response": "no response logged",
    "tls": "TLS failure",
}


# --- making text safe to show ------------------------------------------------------------------


def visible_controls(text: str, *, keep_newlines: bool = True) -> str:
    """Replace control and bidi-override characters by a visible escape such as ``\\x1b``."""
    pattern = UNSAFE_CHARS if keep_newlines else ONE_LINE_UNSAFE
    return pattern.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clip(text: str, width: int) -> str:
    """Cut `text` to `width` characters, ending in an ellipsis when something was cut."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def format_time(value: Any, *, with_date: bool = True, milliseconds: bool = True) -> str:
    """A time in UTC as ``2022-07-11 16:55:25.910`` (milliseconds only when not zero); '' if unknown."""
    stamp = _utc(value)
    if stamp is None:
        return ""
    text = stamp.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    if stamp.microsecond and milliseconds:
        text += f".{stamp.microsecond // 1000:03d}"
    return text


def _utc(value: Any) -> datetime | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def time_span(first: Any, last: Any, *, milliseconds: bool = True) -> str:
    """``2022-07-11 16:55:25 – 17:49:01`` (the date once when both ends share it); '' if unknown."""
    start = format_time(first, milliseconds=milliseconds)
    end = format_time(last, milliseconds=milliseconds)
    if not start or not end:
        return start or end
    if start == end:
        return start
    return f"{start} – {end[11:] if start[:10] == end[:10] else end}"


def time_range_text(first: Any, last: Any) -> str:
    span = time_span(first, last)
    return f"{span} UTC" if span else "unknown"


# --- finding texts -> blocks -------------------------------------------------------------------


@dataclass
class TextBlock:
    """A paragraph (`p`), a bullet list (`ul`) or CLI commands (`code`) of a finding text."""

    kind: str
    lines: list[str] = field(default_factory=list)


def text_blocks(text: str) -> list[TextBlock]:
    """Split a plain finding text into blocks: "- " lines become a list, CLI commands a code block.

    Each other line is its own paragraph (signature texts write one paragraph per line).
    """
    blocks: list[TextBlock] = []
    for raw_line in (text or "").splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith(("- ", "* ")):
            kind, line = "ul", line[2:].strip()
        elif CLI_LINE.match(line):
            kind = "code"
        else:
            kind = "p"
        if blocks and blocks[-1].kind == kind and kind != "p":
            blocks[-1].lines.append(line)
        else:
            blocks.append(TextBlock(kind, [line]))
    return blocks


def first_action_line(text: str) -> str:
    """The first sentence-bearing line of an action text (what to do first)."""
    blocks = text_blocks(text)
    return blocks[0].lines[0] if blocks else ""


def first_action_lines(text: str) -> list[str]:
    """The first line of an action, with the commands it introduces when it ends in a colon: the
    remedy of "Enable the debug loggers:" is the commands, not the sentence."""
    blocks = text_blocks(text)
    if not blocks:
        return []
    first = blocks[0].lines[0]
    if first.endswith(":") and len(blocks) > 1 and blocks[1].kind == "code":
        return [first, *blocks[1].lines]
    return [first]


# --- per-server outcomes -----------------------------------------------------------------------


@dataclass
class ServerRow:
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


def _text_column(frame: pd.DataFrame, column: str) -> pd.Series:
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
                "ip": _text_column(transactions, "upstream_ip"),
                "port": pd.to_numeric(_text_column(transactions, "upstream_port"), errors="coerce"),
                "outcome": outcome_of(_text_column(transactions, "status")),
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
    failures = _marker_failures(failures)
    if failures.empty:
        return
    frame = pd.DataFrame({"server": failure_servers(failures), "ip": _text_column(failures, "server_ip")})
    for server, count in frame["server"].value_counts().items():
        rows.setdefault(server, ServerRow(server, [], [])).tls_failures += int(count)
    for server, ips in frame.dropna(subset=["ip"]).groupby("server")["ip"]:
        rows[server].ips = sorted(set(rows[server].ips) | {str(ip) for ip in ips})


def _marker_failures(failures: pd.DataFrame) -> pd.DataFrame:
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


# --- the timeline picture ----------------------------------------------------------------------


@dataclass
class Timeline:
    """An SVG picture as data: the template draws it, nothing here is markup."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    rows: list[dict[str, Any]]
    points: list[tuple[float, float, str]]
    marks: list[tuple[float, float]]
    ticks: list[tuple[float, str]]
    axis_title: str
    total_points: int
    drawn_points: int
    row_height: int
    by_node: bool = False

    @property
    def sampled(self) -> bool:
        return self.drawn_points < self.total_points


def even_sample(count: int, keep: int) -> np.ndarray:
    """`keep` positions spread evenly over range(count), first and last included."""
    if keep >= count:
        return np.arange(count)
    if keep <= 0:
        return np.arange(0)
    return np.unique(np.linspace(0, count - 1, keep).round().astype(int))


def share_budget(sizes: dict[str, int], budget: int) -> dict[str, int]:
    """Split `budget` among groups, smallest first, so rare groups (failures) keep all their points."""
    shares: dict[str, int] = {}
    remaining, groups = budget, len(sizes)
    for name, size in sorted(sizes.items(), key=lambda item: item[1]):
        shares[name] = min(size, remaining // groups) if groups else 0
        remaining -= shares[name]
        groups -= 1
    return shares


def build_timeline(report: Report, max_points: int = MAX_TIMELINE_POINTS) -> Timeline | None:
    """Transactions per server over time, coloured by outcome, with TLS failure marks.

    Rows are servers, those with the most trouble (anything but an answered request) on top. When
    several cluster nodes proxied, a row is a server as one node saw it: a node that lacks a CA
    fails while its peer works.
    """
    txns, failures = report.transactions, _marker_failures(report.tls_failures)
    parts: list[pd.DataFrame] = []
    if not txns.empty and "start" in txns:
        parts.append(
            _timeline_frame(
                txns, "start", transaction_servers(txns), outcome_of(_text_column(txns, "status"))
            )
        )
    if not failures.empty and "ts" in failures:
        parts.append(_timeline_frame(failures, "ts", failure_servers(failures), "tls"))
    if not parts:
        return None
    data = pd.concat(parts, ignore_index=True)
    data["time"] = pd.to_datetime(data["time"], utc=True, errors="coerce")
    data = data.dropna(subset=["time"])
    if data.empty:
        return None
    by_node = data["node"].dropna().nunique() > 1
    if by_node:
        data["server"] = data["server"] + " @ " + data["node"].fillna("?").astype(str)
    data = data.sort_values("time", kind="stable").reset_index(drop=True)
    data["server"], other = _fold_rare_rows(data["server"], MAX_TIMELINE_ROWS)
    timeline = _layout(data, max_points, other)
    timeline.by_node = by_node
    return timeline


def _timeline_frame(frame: pd.DataFrame, time_column: str, servers: pd.Series, kind: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {"time": frame[time_column], "server": servers, "node": _text_column(frame, "node"), "kind": kind}
    )


def _fold_rare_rows(servers: pd.Series, max_rows: int) -> tuple[pd.Series, str | None]:
    """Keep the busiest servers as rows; the rest share one last row named after their number."""
    counts = servers.value_counts()
    if len(counts) <= max_rows:
        return servers, None
    keep = set(counts.index[: max_rows - 1])
    other = f"({len(counts) - len(keep)} other servers)"
    return servers.where(servers.isin(keep), other), other


def _layout(data: pd.DataFrame, max_points: int, other: str | None) -> Timeline:
    order = data["server"].value_counts()
    troubles = data.loc[data["kind"] != "ok", "server"].value_counts()
    names = sorted(
        order.index, key=lambda name: (name == other, -int(troubles.get(name, 0)), -order[name], name)
    )
    row_height, top, left, width, pad = 26, 16, 230, 1000, 8
    right = width - 20
    x0, x1 = left + pad, right - pad  # keep dots at the ends inside the plot
    bottom = top + row_height * len(names)
    height = bottom + 52
    start, end = data["time"].iloc[0], data["time"].iloc[-1]
    span = max((end - start).total_seconds(), 0.0)
    seconds = (data["time"] - start).dt.total_seconds().to_numpy()
    xs = x0 + (seconds / span if span else np.full(len(seconds), 0.5)) * (x1 - x0)
    row_of = {name: index for index, name in enumerate(names)}
    ys = top + row_height * (data["server"].map(row_of).to_numpy() + 0.5)
    kinds = data["kind"].to_numpy()
    shares = share_budget(data["kind"].value_counts().to_dict(), max_points)
    points: list[tuple[float, float, str]] = []
    marks: list[tuple[float, float]] = []
    for kind in (*OUTCOMES, "tls"):  # drawing order: failures on top of successes
        positions = np.flatnonzero(kinds == kind)
        chosen = positions[even_sample(len(positions), shares.get(kind, 0))]
        if kind == "tls":
            marks = [(round(float(xs[i]), 1), round(float(ys[i]), 1)) for i in chosen]
        else:
            points += [(round(float(xs[i]), 1), round(float(ys[i]), 1), kind) for i in chosen]
    stats = data.groupby(["server", "kind"]).size()
    rows = [
        {
            "name": name,
            "label": clip(name, 32),
            "y": top + row_height * index,
            "mid": top + row_height * (index + 0.5),
            "summary": _row_summary(name, stats),
        }
        for index, name in enumerate(names)
    ]
    return Timeline(
        width=width,
        height=height,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        rows=rows,
        points=points,
        marks=marks,
        ticks=time_ticks(start, end, x0, x1),
        axis_title=f"Time (UTC), {format_time(start)[:10]}"
        + (f" to {format_time(end)[:10]}" if format_time(end)[:10] != format_time(start)[:10] else ""),
        total_points=len(data),
        drawn_points=len(points) + len(marks),
        row_height=row_height,
    )


def _row_summary(name: str, stats: pd.Series) -> str:
    parts: list[pd.DataFrame] = []
    for kind in (*OUTCOMES, "tls"):
        count = int(stats.get((name, kind), 0))
        if count:
            parts.append(f"{count} {OUTCOME_TITLES[kind]}")
    return f"{name}: " + ", ".join(parts)


_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_ticks(start: pd.Timestamp, end: pd.Timestamp, left: float, right: float) -> list[tuple[float, str]]:
    """Round-numbered axis ticks (at most about seven) between `start` and `end`, labelled in UTC."""
    span = (end - start).total_seconds()
    if span <= 0:
        return [((left + right) / 2, format_time(start, with_date=False))]
    step = next((s for s in _TICK_STEPS if span / s <= 7), None)
    if step is None:
        step = 86400 * int(np.ceil(span / 86400 / 7))
    with_date = span >= 86400
    first = pd.Timestamp(np.ceil(start.timestamp() / step) * step, unit="s", tz="UTC")
    ticks = []
    moment = first
    while moment <= end:
        x = left + (moment - start).total_seconds() / span * (right - left)
        label = moment.strftime("%m-%d %H:%M") if with_date else moment.strftime("%H:%M:%S")
        ticks.append((round(x, 1), label))
        moment += pd.Timedelta(seconds=step)
    return ticks


# --- the page ----------------------------------------------------------------------------------


@dataclass
class EvidenceView:
    location: str
    node: str
    time: str
    role: str
    text: str
    cut: int


@dataclass
class FindingView:
    finding: Finding
    sections: list[tuple[str, list[TextBlock]]]
    servers: list[Server]
    more_servers: int
    evidence: list[EvidenceView]
    more_evidence: int
    defects: list[str]
    other_related: list[str]
    has_defects: bool
    first_seen: str
    last_seen: str
    server_columns: set[str]


SECTION_TITLES = (
    ("description", "Description"),
    ("condition", "Condition"),
    ("further_information", "Further information"),
    ("action", "Action"),
    ("workaround", "Workaround"),
)


def finding_view(finding: Finding) -> FindingView:
    sections = [
        (title, text_blocks(getattr(finding, name)))
        for name, title in SECTION_TITLES
        if getattr(finding, name).strip()
    ]
    evidence = [
        EvidenceView(
            location=f"{item.source}:{item.line}" if item.line is not None else item.source,
            node=item.node or "",
            time=format_time(item.ts),
            role=item.role,
            text=item.text[:MAX_EVIDENCE_CHARS],
            cut=max(len(item.text) - MAX_EVIDENCE_CHARS, 0),
        )
        for item in finding.evidence[:MAX_FINDING_EVIDENCE]
    ]
    defects = [item for item in finding.related if DEFECT_ID.search(item)]
    return FindingView(
        finding=finding,
        sections=sections,
        servers=finding.servers[:MAX_FINDING_SERVERS],
        more_servers=max(len(finding.servers) - MAX_FINDING_SERVERS, 0),
        evidence=evidence,
        more_evidence=max(len(finding.evidence) - MAX_FINDING_EVIDENCE, 0),
        defects=defects,
        other_related=[item for item in finding.related if item not in defects],
        has_defects=bool(defects),
        first_seen=format_time(finding.first_seen),
        last_seen=format_time(finding.last_seen),
        server_columns=server_columns(finding.servers[:MAX_FINDING_SERVERS]),
    )


def server_columns(servers: Sequence[Server]) -> set[str]:
    """The optional server columns at least one server fills; empty columns are left out."""
    present = {"name", "count"}
    for server in servers:
        present |= {name for name in ("ip", "ports", "route", "nodes", "detail") if getattr(server, name)}
        if server.first_seen or server.last_seen:
            present.add("seen")
    return present


def coverage(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """The parse statistics worth showing, as (label, value) pairs, in a fixed order."""
    labels = (
        ("lines", "lines read"),
        ("events", "events parsed"),
        ("unparsed", "unparsed lines"),
        ("partial", "partly parsed"),
        ("truncated", "truncated lines"),
        ("oversize_lines", "oversize lines"),
        ("invalid_utf8", "invalid UTF-8 lines"),
        ("transactions", "transactions"),
        ("tls_failures", "TLS failure lines"),
        ("bytes", "bytes"),
        ("seconds", "seconds to analyze"),
    )
    return [(label, _number(stats[key])) for key, label in labels if key in stats]


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.3g}" if value < 100 else f"{value:,.0f}"


def parsed_share(stats: dict[str, Any]) -> str:
    lines, unparsed = stats.get("lines"), stats.get("unparsed")
    if not isinstance(lines, int) or not isinstance(unparsed, int) or lines <= 0:
        return ""
    return f"{100 * (lines - unparsed) / lines:.1f}% of lines recognised"


def node_rows(nodes: Sequence[NodeSummary]) -> list[dict[str, Any]]:
    return [
        {
            "host": node.host,
            "version": node.version,
            "role": node.role,
            "range": time_range_text(node.first_seen, node.last_seen),
            "events": node.events,
        }
        for node in nodes
    ]


def page_context(report: Report) -> dict[str, Any]:
    """Everything the HTML template reads, computed here so the template stays declarative."""
    views = [finding_view(finding) for finding in report.findings]
    categories: dict[str, int] = {}
    for finding in report.findings:
        categories[finding.category] = categories.get(finding.category, 0) + 1
    first, last = report.time_range
    servers = server_rows(report)
    return {
        "version": __version__,
        "inputs": list(report.inputs),
        "nodes": node_rows(report.nodes),
        "time_range": time_range_text(first, last),
        "coverage": coverage(report.stats),
        "parsed_share": parsed_share(report.stats),
        "warnings": list(report.warnings),
        "skipped": list(report.skipped),
        "summary": report.summary,
        "statuses": [(status, STATUS_TITLES[status]) for status in STATUSES],
        "by_status": {status: [v for v in views if v.finding.status == status] for status in STATUSES},
        "categories": sorted(categories.items()),
        "defect_count": sum(view.has_defects for view in views),
        "total": len(views),
        "servers": servers[:MAX_SERVER_ROWS],
        "more_servers": max(len(servers) - MAX_SERVER_ROWS, 0),
        "timeline": build_timeline(report),
        "outcome_titles": OUTCOME_TITLES,
    }


# --- jinja environments ------------------------------------------------------------------------


def _html_finalize(value: Any) -> Any:
    """Applied to every ``{{ }}`` value before escaping: make control characters visible."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return visible_controls(value) if isinstance(value, str) else value


@cache
def html_environment() -> jinja2.Environment:
    """The environment of every HTML page logscope writes (findings, batch index, upload pages):
    autoescaped, strict, control characters made visible."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(["html", "html.j2", "svg.j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        finalize=_html_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["span"] = time_span
    return environment


@cache
def inline_assets() -> tuple[str, str]:
    """The page's own stylesheet and script, inlined so a page works offline."""
    folder = templates_dir()
    return (folder / "report.css").read_text(encoding="utf-8"), (folder / "report.js").read_text(
        encoding="utf-8"
    )


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(styles: str | Sequence[str], script: str) -> str:
    """Nothing may load; only our own inline styles and script (by hash) may apply or run."""
    styles = [styles] if isinstance(styles, str) else styles
    style_sources = " ".join(_csp_hash(style) for style in styles if style)
    return (
        "default-src 'none'; "
        f"style-src {style_sources}; "
        f"script-src {_csp_hash(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def render_html(report: Report, *, header_links: Sequence[tuple[str, str]] = ()) -> str:
    """The findings page: one self-contained, offline, escaped HTML document.

    `header_links` (label, URL) pairs are added to the page header, e.g. the upload page's download
    links; labels and URLs are escaped like everything else.
    """
    css, script = inline_assets()
    context = page_context(report)
    context.update(
        css=Markup(css),  # our own package file, never log text
        script=Markup(script),  # idem
        csp=content_security_policy(css, script),
        header_links=list(header_links),
    )
    return html_environment().get_template("report.html.j2").render(context)


def block_text(template: jinja2.Template, block: str) -> str:
    """A static block rendered alone: exactly the text the page holds, so its CSP hash matches."""
    return "".join(template.blocks[block](template.new_context({})))


# --- terminal text -----------------------------------------------------------------------------

_ANSI = {
    "issue": "\x1b[1;31m",
    "potential": "\x1b[1;33m",
    "missing-info": "\x1b[1;34m",
    "not-applicable": "\x1b[2m",
    "ok": "\x1b[32m",
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
}
_RESET = "\x1b[0m"


class _Styled(str):
    """Text the text renderer styled itself; the only strings allowed to carry escape sequences."""

    __slots__ = ()


def _text_finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, _Styled):
        return value
    return visible_controls(str(value), keep_newlines=False)


@cache
def _text_environment(color: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=_text_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    def paint(text: Any, style: str) -> str:
        safe = visible_controls(str(text), keep_newlines=False)
        return _Styled(f"{_ANSI[style]}{safe}{_RESET}") if color and style in _ANSI else safe

    environment.filters["paint"] = paint
    return environment


def _server_text(server: Server) -> str:
    parts = [server.name]
    if server.ip and server.ip != server.name:
        parts.append(server.ip)
    if server.ports:
        parts.append(":" + ",".join(str(port) for port in server.ports))
    parts.append(f"x{server.count}")
    return " ".join(parts)


def best_evidence(finding: Finding) -> str:
    """The line a reader wants first: the most recent warning or error, else the most recent line."""
    if not finding.evidence:
        return ""
    chosen = next((e for e in finding.evidence if e.role in ("warning", "error")), finding.evidence[0])
    location = f"{chosen.source}:{chosen.line}" if chosen.line is not None else chosen.source
    when = format_time(chosen.ts, with_date=False)
    where = " ".join(part for part in (location, chosen.node, when) if part)
    return f"{where}  {message_of(chosen.text)}"


# The envelope of a syslog line ("<ISO time> <host> <process>[<pid>]: ") or of an ATS diags.log line
# ("[Nov 22 15:12:06.493] "), then ATS's "[ET_NET 0] " thread tag: the terminal line shows node and
# time itself, so it spends its 160 columns on the message.
_SYSLOG_ENVELOPE = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT\S+\s+\S+\s+[\w.-]+(?:\[\d+\])?:|\[[A-Z][a-z]{2} +\d+ [\d:.]+\])\s+"
    r"(?:\[ET_\w+ \d+\]\s+)?"
)
_STRUCTURED_PREFIX = re.compile(r'^UTCTime="[^"]*"\s+Module="[^"]*"\s+(?:Level="[^"]*":?\s+)?')


def message_of(line: str) -> str:
    """A log line without the envelope the terminal line already shows (time, host, process)."""
    message = _SYSLOG_ENVELOPE.sub("", line.strip(), count=1)
    return _STRUCTURED_PREFIX.sub("", message, count=1)


def _count(value: Any, word: str) -> str:
    if not isinstance(value, int):
        return f"{value} {word}"
    plural = "" if value == 1 or word in ("unparsed", "partly parsed") else "s"
    return f"{value:,} {word}{plural}"


def _one_line(text: str, width: int) -> str:
    return clip(visible_controls(" ".join(text.split()), keep_newlines=False), width)


def text_context(report: Report, width: int = TERMINAL_WIDTH) -> dict[str, Any]:
    """The terminal summary's lines, each already cut to fit `width` columns."""
    return {
        "header": _fit_parts(_header_parts(report), width),
        "attention": [
            {
                "status": status,
                "title": STATUS_TITLES[status].upper(),
                "count": len(report.by_status(status)),
                "entries": _text_entries(report.by_status(status), width),
            }
            for status in ATTENTION_STATUSES
        ],
        "quiet": [
            {
                "status": status,
                "title": STATUS_TITLES[status],
                "count": len(report.by_status(status)),
                "lines": _wrapped_ids([f.id for f in report.by_status(status)], width),
            }
            for status in ("ok", "not-applicable")
        ],
        "warnings": [_one_line(w, width - 9) for w in report.warnings[:5]],
        "more_warnings": max(len(report.warnings) - 5, 0),
        "skipped": len(report.skipped),
    }


def _header_parts(report: Report) -> list[str]:
    first, last = report.time_range
    names = [_base_name(item) for item in report.inputs]
    inputs = ", ".join(names) if len(", ".join(names)) <= 40 else f"{names[0]} +{len(names) - 1} more"
    nodes = ", ".join(
        " ".join(part for part in (node.host, node.version, node.role) if part != "unknown") or node.host
        for node in report.nodes
    )
    stats = report.stats
    counts = ", ".join(
        _count(stats.get(key, 0), word)
        for key, word in (("lines", "line"), ("events", "event"), ("unparsed", "unparsed"))
    )
    if stats.get("partial"):
        counts += f", {_count(stats['partial'], 'partly parsed')}"
    span = time_span(first, last, milliseconds=False)
    seconds = stats.get("seconds", 0)
    return [
        "logscope",
        inputs or "(no input)",
        nodes or "no node",
        f"{span} UTC" if span else "no time",
        counts,
        f"{seconds:.1f} s" if isinstance(seconds, int | float) else f"{seconds} s",
    ]


def _fit_parts(parts: list[str], width: int) -> str:
    """Join header parts with " | ". When too wide, shorten the input names, then the node list
    (down to 16 columns each), then drop the seconds; the counts are never what gets cut."""
    parts = list(parts)
    for index in (1, 2):
        excess = len(" | ".join(parts)) - width
        if excess > 0:
            parts[index] = _clip_keeping_more(parts[index], max(len(parts[index]) - excess, 16))
    if len(" | ".join(parts)) > width:
        parts = parts[:-1]
    return _one_line(" | ".join(parts), width)


def _clip_keeping_more(text: str, width: int) -> str:
    """Clip a list of names to `width`, keeping a trailing "+N more" whole."""
    match = _MORE.search(text)
    if match is None:
        return clip(text, width)
    more = match.group()
    return clip(text[: match.start()], max(width - len(more), 8)) + more


_MORE = re.compile(r" \+\d+ more$")


def _base_name(label: str) -> str:
    """The last part of an input path (the header has no room for folders)."""
    return re.split(r"[\\/]", label.rstrip("/\\"))[-1] or label


def _text_entries(findings: list[Finding], width: int) -> list[dict[str, Any]]:
    """One entry per finding; findings that only miss the same source share one entry."""
    indent = 13  # "    servers  " and its siblings
    entries: list[dict[str, str]] = []
    shared: dict[tuple[str, str], dict[str, Any]] = {}
    for finding in findings:
        if finding.status == "missing-info" and not finding.servers and not finding.evidence:
            key = (finding.description, finding.action)
            if key in shared:
                shared[key]["ids"].append(finding.id)
                continue
            shared[key] = {"ids": [finding.id], "finding": finding}
            entries.append(shared[key])
            continue
        entries.append({"ids": [finding.id], "finding": finding})
    return [_text_entry(entry["ids"], entry["finding"], width, indent) for entry in entries]


def _text_entry(ids: list[str], finding: Finding, width: int, indent: int) -> dict[str, Any]:
    if len(ids) == 1:
        label, title, checks = finding.id, f"{finding.title}  [{finding.severity}, {finding.category}]", []
    else:
        label, title = f"{len(ids)} checks", "need the same missing information"
        checks = _wrapped_ids(ids, width - indent + 24)
    label = _one_line(label, width - 2)
    why = first_action_line(finding.description) if finding.status == "missing-info" else ""
    return {
        "id": label,
        "title": _one_line(title, width - 4 - len(label)),
        "checks": checks,
        "servers": _one_line("; ".join(map(_server_text, finding.servers)), width - indent),
        "why": _one_line(why, width - indent),
        "action": [_one_line(line, width - indent) for line in first_action_lines(finding.action)],
        "evidence": _one_line(best_evidence(finding), width - indent),
    }


def _wrapped_ids(ids: list[str], width: int) -> list[str]:
    """Ids joined by commas, wrapped (never cut) so each line fits after a short label."""
    if not ids:
        return ["-"]
    safe = [visible_controls(item, keep_newlines=False) for item in ids]
    return textwrap.wrap(", ".join(safe), width - 24, break_long_words=True, break_on_hyphens=False)


def render_text(report: Report, color: bool = False) -> str:
    """A terminal summary read in ten seconds; ANSI colour only when `color` is true."""
    return _text_environment(bool(color)).get_template("report.txt.j2").render(text_context(report))
