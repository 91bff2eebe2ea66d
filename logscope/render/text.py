"""The terminal summary, read in ten seconds: the registered text sections drawn one after another.

Terminal text has control characters made visible so escape sequences in a log never reach the
terminal; the only escape sequences written are the renderer's own colours.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2

from logscope.render.budgets import TERMINAL_WIDTH
from logscope.render.formatting import visible_controls
from logscope.render.sections import sections_for
from logscope.render.terminal import wrapping_at
from logscope.resources import templates_dir

if TYPE_CHECKING:
    from logscope.report import Report

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


def render_text(report: Report, color: bool = False, width: int = TERMINAL_WIDTH) -> str:
    """A terminal summary read in ten seconds, wrapped (never cut) to `width` columns; ANSI colour
    only when `color` is true."""
    environment = _text_environment(bool(color))
    with wrapping_at(width):
        return "".join(
            environment.get_template(section.template).render(section.context(report))
            for section in sections_for("text")
        )
