"""The INCOMPLETE banner (design.md layer (c)): when input was left unread or cut, or a check failed,
every output says so first. Registered as a section of the page and of the terminal text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logscope.render.budgets import TERMINAL_WIDTH
from logscope.render.formatting import clip, visible_controls
from logscope.render.sections import Section, register

if TYPE_CHECKING:
    from logscope.report import Report

SHOWN = 5  # unread items named in the banner; the JSON report lists up to 100


def incomplete_context(report: Report) -> dict[str, Any]:
    """What was not read (the first few), how many in all, and whether an issue was found anyway."""
    return {
        "incomplete": report.incomplete[:SHOWN],
        "incomplete_total": report.incomplete_count or 0,
        "has_issue": report.has_issue,
    }


def incomplete_text_context(report: Report, width: int = TERMINAL_WIDTH) -> dict[str, Any]:
    """The same, each item one line cut to the terminal's width with control characters visible."""
    context = incomplete_context(report)
    context["lines"] = [
        clip(visible_controls(f"{item['path'] or item['input']}: {item['reason']}"), width - 4)
        for item in context["incomplete"]
    ]
    return context


register("html", Section("incomplete", "_incomplete.html.j2", incomplete_context), before="findings")
register("text", Section("incomplete", "_incomplete.txt.j2", incomplete_text_context), before="header")
