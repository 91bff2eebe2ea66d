"""The section registry: a section registered for a format is drawn by that format's renderer, in
its place, without touching the other sections."""

from __future__ import annotations

import pytest

from conftest import empty_report
from logscope.render import sections as registry
from logscope.render.page import servers_context
from logscope.render.sections import Section, register, sections_for
from logscope.render.terminal import header_context


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", {fmt: list(sections_for(fmt)) for fmt in ("html", "text")})


def test_the_page_and_the_text_draw_todays_sections_in_order() -> None:
    html = [
        "incomplete",
        "findings",
        "logins",
        "traversal",
        "this-node",
        "overview",
        "unrecognised",
        "servers",
        "timeline",
    ]
    assert [s.name for s in sections_for("html")] == html
    assert [s.name for s in sections_for("text")] == [
        "incomplete",
        "header",
        "attention",
        "logins",
        "traversal",
        "this-node",
        "unrecognised",
        "quiet",
        "warnings",
    ]


@pytest.mark.usefixtures("fresh_registry")
def test_a_registered_page_section_is_drawn_in_its_place_with_a_jump_link() -> None:
    before = empty_report().to_html()
    register("html", Section("again", "_servers.html.j2", servers_context, title="Again"), before="overview")
    page = empty_report().to_html()
    assert page.count('<section id="servers"') == before.count('<section id="servers"') + 1
    assert page.index('<a href="#again">Again</a>') < page.index('<a href="#overview">Overview</a>')
    assert page.index('<section id="servers"') < page.index('<section id="overview"')


@pytest.mark.usefixtures("fresh_registry")
def test_a_registered_text_section_is_drawn_last_by_default() -> None:
    text = empty_report().to_text()
    register("text", Section("footer", "_header.txt.j2", header_context))
    assert empty_report().to_text() == text + text.splitlines(keepends=True)[0]


@pytest.mark.usefixtures("fresh_registry")
def test_a_section_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register("html", Section("servers", "_servers.html.j2", servers_context))
