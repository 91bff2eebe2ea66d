"""What the terminal summary reads: one context per text section, each line already cut to fit the
terminal (TERMINAL_WIDTH columns) with control characters made visible."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING, Any

from logscope.findings import STATUS_TITLES, Finding, Server
from logscope.render.blocks import first_action_line, first_action_lines
from logscope.render.budgets import ATTENTION_STATUSES, TERMINAL_WIDTH
from logscope.render.formatting import clip, format_time, time_span, visible_controls

if TYPE_CHECKING:
    from logscope.report import Report

MAX_WARNINGS = 5


# --- the sections ------------------------------------------------------------------------------


def header_context(report: Report, width: int = TERMINAL_WIDTH) -> dict[str, Any]:
    """One line: inputs, nodes, time span, counts and seconds."""
    return {"header": _fit_parts(_header_parts(report), width)}


def attention_context(report: Report, width: int = TERMINAL_WIDTH) -> dict[str, Any]:
    """The findings to act on, one entry each, grouped by status."""
    return {
        "attention": [
            {
                "status": status,
                "title": STATUS_TITLES[status].upper(),
                "count": len(report.by_status(status)),
                "entries": _text_entries(report.by_status(status), width),
            }
            for status in ATTENTION_STATUSES
        ]
    }


def quiet_context(report: Report, width: int = TERMINAL_WIDTH) -> dict[str, Any]:
    """The findings with nothing to do, as wrapped lists of ids."""
    return {
        "quiet": [
            {
                "status": status,
                "title": STATUS_TITLES[status],
                "count": len(report.by_status(status)),
                "lines": _wrapped_ids([f.id for f in report.by_status(status)], width),
            }
            for status in ("ok", "not-applicable")
        ]
    }


def warnings_context(report: Report, width: int = TERMINAL_WIDTH) -> dict[str, Any]:
    """The first warnings, how many more, and how many members were skipped."""
    return {
        "warnings": [_one_line(w, width - 9) for w in report.warnings[:MAX_WARNINGS]],
        "more_warnings": max(len(report.warnings) - MAX_WARNINGS, 0),
        "skipped": len(report.skipped),
    }


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


def _one_line(text: str, width: int) -> str:
    return clip(visible_controls(" ".join(text.split()), keep_newlines=False), width)


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
        nodes or "node unknown",
        f"{span} UTC" if span else "times unknown",
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
