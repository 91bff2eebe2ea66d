"""The findings page in a real browser (Debian's chromium, driven by playwright): tabs, filters, picture.

Offline by construction: the page is opened from a file:// URL and every request the browser makes is
recorded; only the document itself may be requested. A screenshot goes to /tmp/logscope-report.png.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import logscope
from conftest import CHROMIUM, CHROMIUM_ARGS
from logscope.report import Report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = Path("/tmp/logscope-report.png")  # the top of the page, as a reader first sees it
TIMELINE_SCREENSHOT = Path("/tmp/logscope-timeline.png")

# A site's own signature pack: a `potential` finding with no related defect, so the "Potential problem"
# tab has a card whatever the built-in signatures conclude, and "Defects only" has something to hide.
SITE_SIGNATURE = '''
id = "site-upstream-5xx"
title = "A proxied request ended in a server error"
category = "Site checks"
severity = "low"
needs = ["log", "transactions"]

[match]
frame = "transactions"
where = { status = { min = 500 } }
potential_when = { status = { min = 500 } }

[text]
description = "Requests to {{ names }} ended in 5xx."
action = "Look at the server's own logs."

[[examples]]
expect = "potential"
log = """
2024-03-05T10:00:00.100+01:00 expc traffic_server[4242]: UTCTime="2024-03-05 09:00:00,100" Module="network.http.trafficserver" Level="INFO": Detail="Sending Response" Txn-id="10" TrackingID="" Dst-ip="127.0.0.1" Dst-port="40000" Msg="HTTP/1.1 502 connect failed"
"""

[[examples]]
expect = "ok"
log = """
2024-03-05T10:00:00.100+01:00 expc traffic_server[4242]: UTCTime="2024-03-05 09:00:00,100" Module="network.http.trafficserver" Level="INFO": Detail="Sending Response" Txn-id="10" TrackingID="" Dst-ip="127.0.0.1" Dst-port="40000" Msg="HTTP/1.1 200 OK"
"""
'''


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing on CI: .ci/run must apt-get install chromium")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    pack = tmp_path_factory.mktemp("signatures")
    (pack / "site-upstream-5xx.toml").write_text(SITE_SIGNATURE, encoding="utf-8")
    result = logscope.analyze(ROOT / "tests" / "data" / "seed003_lines.log", signature_dirs=[pack])
    site = result.finding("site-upstream-5xx")
    assert site is not None and site.status == "potential" and not site.related, result.warnings
    return result


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _chromium_or_skip()
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


class OpenedPage:
    def __init__(self, browser, path: Path, *, javascript: bool = True) -> None:
        self.context = browser.new_context(
            java_script_enabled=javascript, viewport={"width": 1280, "height": 900}
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(path.as_uri())

    def visible_statuses(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "details.finding", "cards => cards.filter(c => !c.hidden).map(c => c.dataset.status)"
        )

    def visible_ids(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "details.finding", "cards => cards.filter(c => !c.hidden).map(c => c.id)"
        )


@pytest.fixture
def rendered(report: Report, tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(report.to_html(), encoding="utf-8")
    return path


def test_tabs_filters_and_picture_work_offline(browser, report: Report, rendered: Path) -> None:
    opened = OpenedPage(browser, rendered)
    page = opened.page
    counts = page.eval_on_selector_all(
        "a.tab",
        "tabs => tabs.map(t => [t.dataset.status, Number(t.querySelector('.tab-count').textContent)])",
    )
    assert dict(counts) == {"all": len(report.findings), **report.summary}
    assert page.is_visible("#filters")
    assert len(opened.visible_statuses()) == len(report.findings)

    page.click("a.tab-potential")
    assert opened.visible_statuses() == ["potential"] * report.summary["potential"]
    assert "finding-site-upstream-5xx" in opened.visible_ids()
    assert not page.is_visible("#status-issue")

    page.click("a.tab-all")
    page.fill("#search", "SAN (10.48.36.215)")
    shown = opened.visible_ids()
    assert "finding-ts-cert-name-mismatch" in shown and 0 < len(shown) < len(report.findings)
    texts = page.eval_on_selector_all(
        "details.finding:not([hidden])", "cards => cards.map(c => c.textContent)"
    )
    assert all("san (10.48.36.215)" in text.lower() for text in texts)
    page.fill("#search", "no finding says this 4f1c")
    assert opened.visible_ids() == [] and page.is_visible("#no-match")
    page.fill("#search", "")

    page.check("#defects-only")
    # "Defects only": the findings to act on (issue, potential) that cite a known defect (issue 12)
    with_defects = {
        f"finding-{f.id}" for f in report.findings if f.related and f.status in ("issue", "potential")
    }
    assert with_defects and set(opened.visible_ids()) == with_defects
    assert "finding-site-upstream-5xx" not in with_defects
    page.uncheck("#defects-only")

    page.uncheck("input.category-filter[value='MRA']")
    assert set(opened.visible_ids()) == {f"finding-{f.id}" for f in report.findings if f.category != "MRA"}
    page.check("input.category-filter[value='MRA']")

    assert page.locator("svg.timeline-svg circle").count() == len(report.transactions)
    assert page.locator("svg.timeline-svg rect.tls-mark").count() > 0
    page.click("a.tab-all")
    page.screenshot(path=str(SCREENSHOT))
    page.locator("#timeline").scroll_into_view_if_needed()
    page.locator("#timeline").screenshot(path=str(TIMELINE_SCREENSHOT))
    assert opened.errors == []
    assert opened.requests == [rendered.as_uri()]
    opened.context.close()


def test_page_reads_fully_with_javascript_off(browser, report: Report, rendered: Path) -> None:
    opened = OpenedPage(browser, rendered, javascript=False)
    page = opened.page
    assert not page.is_visible("#filters")
    assert len(opened.visible_statuses()) == len(report.findings)
    issue = report.by_status("issue")[0]
    assert page.is_visible(f"#finding-{issue.id} .finding-body")
    page.click("a.tab-ok")  # a plain link to the section without JavaScript
    assert page.evaluate("location.hash") == "#status-ok"
    assert opened.requests == [rendered.as_uri()]
    opened.context.close()


def test_status_in_the_address_selects_its_tab(browser, report: Report, rendered: Path) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(rendered.as_uri() + "#status-missing-info")
    statuses = page.eval_on_selector_all(
        "details.finding", "cards => cards.filter(c => !c.hidden).map(c => c.dataset.status)"
    )
    assert statuses == ["missing-info"] * report.summary["missing-info"]
    context.close()
