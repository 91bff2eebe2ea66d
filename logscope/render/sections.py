"""The sections of a rendered report, in order, per format: what the HTML page and the terminal
summary iterate over.

A section is a name, the template that draws it and a function that builds the template's context
from the Report. A new part of a report (a banner, a panel, a table) is one `register` call with
its own template and context function; the renderers and the other sections stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logscope.render.logins import logins_context
from logscope.render.page import findings_context, overview_context, servers_context, timeline_context
from logscope.render.terminal import (
    attention_context,
    header_context,
    logins_line_context,
    quiet_context,
    warnings_context,
)

if TYPE_CHECKING:
    from logscope.report import Report


@dataclass(frozen=True)
class Section:
    """One part of a rendered report.

    `name` is the section's key and, on the page, its anchor (the template gives its element that
    id); a page section with a `title` gets a jump link in the page header under that title.
    """

    name: str
    template: str
    context: Callable[[Report], dict[str, Any]]
    title: str = ""


# The answer first (issue 12): the findings, the logins they broke (issue 16), then what was read
# (overview), servers and timeline.
HTML_SECTIONS = (
    Section("findings", "_findings.html.j2", findings_context, title="Findings"),
    Section("logins", "_logins.html.j2", logins_context, title="Logins"),
    Section("overview", "_overview.html.j2", overview_context, title="Overview"),
    Section("servers", "_servers.html.j2", servers_context, title="Servers"),
    Section("timeline", "_timeline.html.j2", timeline_context, title="Timeline"),
)
TEXT_SECTIONS = (
    Section("header", "_header.txt.j2", header_context),
    Section("attention", "_attention.txt.j2", attention_context),
    Section("logins", "_logins.txt.j2", logins_line_context),
    Section("quiet", "_quiet.txt.j2", quiet_context),
    Section("warnings", "_warnings.txt.j2", warnings_context),
)
_REGISTRY: dict[str, list[Section]] = {"html": list(HTML_SECTIONS), "text": list(TEXT_SECTIONS)}


def register(fmt: str, section: Section, *, before: str | None = None) -> None:
    """Add `section` to the report in format `fmt`: last, or just before the section named `before`."""
    registered = _REGISTRY[fmt]
    if any(existing.name == section.name for existing in registered):
        raise ValueError(f"a {fmt} section named {section.name!r} is already registered")
    names = [existing.name for existing in registered]
    registered.insert(names.index(before) if before is not None else len(registered), section)


def sections_for(fmt: str) -> tuple[Section, ...]:
    """The sections of the report in format `fmt`, in the order they are drawn."""
    return tuple(_REGISTRY[fmt])
