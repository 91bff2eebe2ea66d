"""Renderers: draw a Report for people (an HTML page, terminal text) and for programs (JSON).

One module per format (``html``, ``text``, ``json``), looked up by name by ``Report.to_<format>``;
the page and the terminal text draw the sections registered in ``sections``; the other modules are
what the sections show (servers, timeline, finding texts) and how (formatting, budgets).
"""

from __future__ import annotations

# Sections that register themselves (importing the module is the registration).
from logscope.render import incomplete as _incomplete  # noqa: F401
from logscope.render import node_panel as _node_panel  # noqa: F401
from logscope.render import traversal as _traversal  # noqa: F401
from logscope.render import unrecognised as _unrecognised  # noqa: F401
from logscope.render.blocks import TextBlock, text_blocks
from logscope.render.budgets import (
    MAX_FINDING_EVIDENCE,
    MAX_FINDING_SERVERS,
    MAX_TIMELINE_POINTS,
    TERMINAL_WIDTH,
)
from logscope.render.formatting import visible_controls
from logscope.render.html import (
    block_text,
    content_security_policy,
    html_environment,
    inline_assets,
    render_html,
)
from logscope.render.json import render_json, report_document
from logscope.render.sections import Section, register, sections_for
from logscope.render.servers import ServerRow, server_rows
from logscope.render.text import render_text
from logscope.render.timeline import Timeline, build_timeline, even_sample, share_budget

__all__ = [
    "MAX_FINDING_EVIDENCE",
    "MAX_FINDING_SERVERS",
    "MAX_TIMELINE_POINTS",
    "TERMINAL_WIDTH",
    "Section",
    "ServerRow",
    "TextBlock",
    "Timeline",
    "block_text",
    "build_timeline",
    "content_security_policy",
    "even_sample",
    "html_environment",
    "inline_assets",
    "register",
    "render_html",
    "render_json",
    "render_text",
    "report_document",
    "sections_for",
    "server_rows",
    "share_budget",
    "text_blocks",
    "visible_controls",
]
