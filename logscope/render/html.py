"""The HTML findings page: one self-contained, offline, escaped document, and the jinja environment
every HTML page logscope writes shares (findings, batch index, upload pages).

Every string shown comes from a customer's log, so it is hostile: pages go through jinja2
autoescaping and nothing log-derived is ever marked safe (finding texts become blocks the template
lays out). The page loads nothing: CSS and JS are inlined, and a Content-Security-Policy with their
hashes forbids every other script, style and fetch.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from logscope.render.formatting import time_span, visible_controls
from logscope.render.page import defect_url, frame_context
from logscope.render.sections import Section, sections_for
from logscope.resources import templates_dir

if TYPE_CHECKING:
    from logscope.report import Report


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
    environment.filters["defect_url"] = defect_url
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
    frame = frame_context(report)
    return (
        html_environment()
        .get_template("report.html.j2")
        .render(
            frame,
            sections=render_sections(report, frame),
            css=Markup(css),  # our own package file, never log text
            script=Markup(script),  # idem
            csp=content_security_policy(css, script),
            header_links=list(header_links),
        )
    )


def render_sections(report: Report, frame: dict[str, Any]) -> list[tuple[Section, Markup]]:
    """Each registered page section drawn with the frame's context and its own.

    A section's context is its own (sections do not see each other's names); what an autoescaped
    template writes is markup already, as an ``{% include %}`` would insert it.
    """
    environment = html_environment()
    return [
        (section, Markup(environment.get_template(section.template).render(frame | section.context(report))))
        for section in sections_for("html")
    ]


def block_text(template: jinja2.Template, block: str) -> str:
    """A static block rendered alone: exactly the text the page holds, so its CSP hash matches."""
    return "".join(template.blocks[block](template.new_context({})))
