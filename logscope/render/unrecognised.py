"""The list of lines about certificate failures that no rule read (design.md layer (a)), registered as
a section of the page (after the findings) and of the terminal text (after the attention list)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logscope.render.budgets import TERMINAL_WIDTH
from logscope.render.formatting import clip, visible_controls
from logscope.render.sections import Section, register

if TYPE_CHECKING:
    from logscope.report import Report

SHOWN = 20  # lines the page and the terminal list; the JSON report lists up to 100


def unrecognised_context(report: Report) -> dict[str, Any]:
    """The first listed lines (file, line, text) and how many there were in all."""
    return {
        "unrecognised": report.unrecognised_tls_lines[:SHOWN],
        "unrecognised_total": report.unrecognised_tls_count or 0,
    }


def unrecognised_text_context(report: Report, width: int = TERMINAL_WIDTH) -> dict[str, Any]:
    """The same, each line cut to the terminal's width with control characters made visible."""
    context = unrecognised_context(report)
    context["lines"] = [
        clip(visible_controls(f"{item['file']}:{item['line']}: {item['text']}"), width - 4)
        for item in context["unrecognised"]
    ]
    return context


register(
    "html",
    Section("unrecognised", "_unrecognised.html.j2", unrecognised_context, title="Unread lines"),
    before="servers",
)
register("text", Section("unrecognised", "_unrecognised.txt.j2", unrecognised_text_context), before="quiet")
