"""What the terminal summary reads: one context per text section, each line already cut to fit the
terminal (TERMINAL_WIDTH columns) with control characters made visible."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from logscope.findings import STATUS_TITLES, Finding, Server
from logscope.render.answers import (
    is_more_specific,
    lead_order,
    missing_group,
    nodes_failing,
    nodes_healthy,
    related_findings,
)
from logscope.render.blocks import first_action_lines
from logscope.render.budgets import ATTENTION_STATUSES, TERMINAL_WIDTH
from logscope.render.formatting import format_time, time_span, visible_controls
from logscope.render.logins import broke_text, logins_summary

if TYPE_CHECKING:
    from logscope.nodes import NodeSummary
    from logscope.report import Report

MAX_WARNINGS = 5
# The width the text sections wrap to: the terminal's, set by render_text for one rendering.
_WIDTH: ContextVar[int] = ContextVar("text_width", default=TERMINAL_WIDTH)


def text_width() -> int:
    return _WIDTH.get()


@contextmanager
def wrapping_at(width: int) -> Iterator[None]:
    """Render the text sections at `width` columns inside this block."""
    token = _WIDTH.set(max(int(width), 40))
    try:
        yield
    finally:
        _WIDTH.reset(token)


# --- the sections ------------------------------------------------------------------------------


def header_context(report: Report, width: int | None = None) -> dict[str, Any]:
    """Inputs, nodes, time span, counts and seconds, wrapped at " | " to the width."""
    width = width or text_width()
    parts = [visible_controls(part, keep_newlines=False) for part in _header_parts(report)]
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " | " + part
        else:
            lines += _wrap(part, width) if len(part) > width else [part]
    return {"header": lines}


def attention_context(report: Report, width: int | None = None) -> dict[str, Any]:
    """The findings to act on, one entry each, grouped by status."""
    width = width or text_width()
    attention = [
        {
            "status": status,
            "title": STATUS_TITLES[status].upper(),
            "count": len(report.by_status(status)),
            "entries": _text_entries(report.by_status(status), report, width),
        }
        for status in ATTENTION_STATUSES
    ]
    shown = [f for status in ATTENTION_STATUSES for f in report.by_status(status) if f.servers]
    return {"attention": attention, "legend": _wrap(COUNT_LEGEND, width)[0] if shown else ""}


COUNT_LEGEND = "xN after a server: how many of the finding's log lines name that server."


def quiet_context(report: Report, width: int | None = None) -> dict[str, Any]:
    """The findings with nothing to do, as wrapped lists of ids (a status with none is left out)."""
    width = width or text_width()
    return {
        "quiet": [
            {
                "status": status,
                "title": STATUS_TITLES[status],
                "count": len(report.by_status(status)),
                "lines": _wrapped_ids(
                    [f.id for f in report.by_status(status)],
                    width - _quiet_label_width(status, len(report.by_status(status))),
                ),
            }
            for status in ("ok", "not-applicable")
            if report.by_status(status)
        ]
    }


def warnings_context(report: Report, width: int | None = None) -> dict[str, Any]:
    """The first warnings (wrapped, never cut), how many more, and how many members were skipped."""
    width = width or text_width()
    return {
        "warnings": [_wrap(w, width - 9) for w in report.warnings[:MAX_WARNINGS]],
        "more_warnings": max(len(report.warnings) - MAX_WARNINGS, 0),
        "skipped": len(report.skipped),
    }


def logins_line_context(report: Report, width: int | None = None) -> dict[str, Any]:
    """The one line about MRA login attempts (issue 16), wrapped."""
    return {"lines": _wrap(logins_summary(report) or "", width or text_width())}


# --- lines -------------------------------------------------------------------------------------


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


def _header_parts(report: Report) -> list[str]:
    first, last = report.time_range
    names = [_base_name(item) for item in report.inputs]
    inputs = ", ".join(names) if len(", ".join(names)) <= 40 else f"{names[0]} +{len(names) - 1} more"
    nodes = ", ".join(_node_text(node) for node in report.nodes)
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
        nodes or "node unknown",
        f"{span} UTC" if span else "times unknown",
        counts,
        f"{seconds:.1f} s" if isinstance(seconds, int | float) else f"{seconds} s",
    ]


def _node_text(node: NodeSummary) -> str:
    """A node as the header names it; a host name that came from several bundles, once per bundle."""
    if node.shared_host:  # one of two bundles with one host name: its own version, input and times
        return f"{node.host} {node.version} ({_base_name(node.input)}, {time_span_of(node)})"
    if len(node.bundles) < 2:
        return " ".join(p for p in (node.host, node.version, node.role) if p != "unknown") or node.host
    return ", ".join(
        f"{node.host} {b['version']} ({_base_name(b['input'])}, {_bundle_span(b)})" for b in node.bundles
    )


def time_span_of(node: NodeSummary) -> str:
    return time_span(node.first_seen, node.last_seen, milliseconds=False) or "no time"


def _bundle_span(bundle: dict[str, Any]) -> str:
    return time_span(bundle["first_seen"], bundle["last_seen"], milliseconds=False) or "no time"


def _base_name(label: str) -> str:
    """The last part of an input path (the header has no room for folders)."""
    return re.split(r"[\\/]", label.rstrip("/\\"))[-1] or label


def _text_entries(findings: list[Finding], report: Report, width: int) -> list[dict[str, Any]]:
    """One entry per finding, the most specific diagnosis of findings sharing failures first; the
    missing-info checks that name no server share one entry saying what to collect."""
    entries: list[dict[str, Any]] = []
    group = missing_group(findings)
    related = related_findings(report)
    for finding in lead_order(findings, report):
        if group is not None and finding.id in group["ids"]:
            if finding.id == group["ids"][0]:
                entries.append(_missing_entry(group, width))
            continue
        entries.append(_text_entry(finding, report, related.get(finding.id, []), width))
    return entries


def _wrap(text: str, width: int) -> list[str]:
    """`text` on as many lines of `width` as it needs: never cut (control characters made visible)."""
    safe = visible_controls(" ".join(text.split()), keep_newlines=False)
    return textwrap.wrap(safe, max(width, 20), break_long_words=True, break_on_hyphens=False) or []


def _text_entry(finding: Finding, report: Report, related: list[str], width: int) -> dict[str, Any]:
    body = width - INDENT
    failing, healthy = nodes_failing(finding, report), nodes_healthy(finding, report)
    nodes = ""
    if failing and (healthy or len(report.nodes) > 1):
        nodes = f"failing on {', '.join(failing)}" + (f"; healthy: {', '.join(healthy)}" if healthy else "")
    see = "; ".join(_related_text(rid, finding, report) for rid in related)
    action = [line for first in first_action_lines(finding.action) for line in _wrap(first, body)]
    return {
        "head": _wrap(f"{finding.id}  {finding.title}  [{finding.severity}, {finding.category}]", width - 2),
        "rows": [
            ("servers", _wrap("; ".join(map(_server_text, finding.servers)), body)),
            ("nodes", _wrap(nodes, body)),
            ("related", _wrap(f"the same failures: {see}" if see else "", body)),
            ("logins", _wrap(broke_text(report, finding.id), body)),
            ("action", action),
            ("evidence", _wrap(best_evidence(finding), body)),
        ],
    }


def _related_text(other_id: str, finding: Finding, report: Report) -> str:
    other = report.finding(other_id)
    if other is None:
        return other_id
    more = " the more specific diagnosis" if is_more_specific(other, finding) else ""
    return f"{other_id} ({other.status}){more}"


def _missing_entry(group: dict[str, Any], width: int) -> dict[str, Any]:
    body = width - INDENT
    rows = []
    for lack in group["lacks"]:
        label = "reason" if lack["undecided"] else "missing"
        rows.append((label, _wrap(f"{lack['what']}: needed by {', '.join(lack['ids'])}", body)))
    rows.append(("collect", _wrap(group["collect"][0] if group["collect"] else "", body)))
    return {"head": _wrap(group["title"], width - 2), "rows": rows}


INDENT = 13  # "    evidence " and its siblings


def _quiet_label_width(status: str, count: int) -> int:
    """The columns of "No issue (12): ", the label _quiet.txt.j2 puts before (and indents under) the ids."""
    return len(STATUS_TITLES[status]) + len(str(count)) + 5


def _wrapped_ids(ids: list[str], width: int) -> list[str]:
    """Ids joined by commas, wrapped (never cut) to `width`, the columns left after the label."""
    if not ids:
        return ["-"]
    safe = [visible_controls(item, keep_newlines=False) for item in ids]
    return textwrap.wrap(", ".join(safe), max(width, 20), break_long_words=True, break_on_hyphens=False)


def verdict_line(report: Report) -> str:
    """One line for the terminal when the report went to a file: the issues and where they fail,
    else "no issue" (with the potential problems), and INCOMPLETE when part of the input was not read."""
    issues = report.by_status("issue")
    if issues:
        places = "; ".join(_issue_place(f, report) for f in issues)
        text = f"{len(issues)} issue{'s' if len(issues) > 1 else ''}: {places}"
    else:
        potential = [f.id for f in report.by_status("potential")]
        text = "no issue" + (f"; {len(potential)} potential: {', '.join(potential)}" if potential else "")
    if report.incomplete:
        text += f"; INCOMPLETE: {report.incomplete_count} item(s) not read, cut or not decided"
    return visible_controls(text, keep_newlines=False)


def _issue_place(finding: Finding, report: Report) -> str:
    if not finding.servers:
        return finding.id
    server = finding.servers[0]
    ports = ":" + ",".join(map(str, server.ports)) if server.ports else ""
    nodes = nodes_failing(finding, report)
    more = f" +{len(finding.servers) - 1} more" if len(finding.servers) > 1 else ""
    where = f" ({', '.join(nodes)})" if nodes else ""
    return f"{finding.id} on {server.name} {ports}{more}{where}".replace("  ", " ")
