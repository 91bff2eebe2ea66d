"""The findings page as a support engineer reads it, in a real browser (issue 12): the answer above
the fold, no sideways scrolling on a phone, a print of a few pages. Reuses test_browser's helpers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_browser import browser  # noqa: F401  (the fixture: Debian's chromium via playwright)

import logscope
from conftest import SAMPLE_INPUTS, SAMPLE_LOGS
from logscope.batch.overview import render_index
from logscope.batch.results import BatchResult, BatchSummary

pytestmark = pytest.mark.browser

ECDSA = SAMPLE_LOGS / "x14.2-ecdsa-self-signed-6972.tar.gz"


def _page(browser, path: Path, width: int, height: int):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(path.as_uri())
    return page


def test_the_first_issue_and_its_action_are_above_the_fold_at_1400_by_900(browser, tmp_path):  # noqa: F811
    report = logscope.analyze(ECDSA)
    path = tmp_path / "report.html"
    path.write_text(report.to_html(), encoding="utf-8")
    page = _page(browser, path, 1400, 900)
    box = page.eval_on_selector(
        "details.finding-issue .answer-action",
        "e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; }",
    )
    first_line = page.eval_on_selector("details.finding-issue .answer-action", "e => e.textContent")
    page.close()
    assert box[0] < 900, box
    action = report.by_status("issue")[0].action.splitlines()[0]
    assert first_line.strip() == action.strip()


@pytest.mark.parametrize("sample", SAMPLE_INPUTS, ids=lambda p: p.name)
def test_no_sample_report_scrolls_sideways_at_390_px(browser, tmp_path, sample):  # noqa: F811
    path = tmp_path / "report.html"
    path.write_text(logscope.analyze(sample).to_html(), encoding="utf-8")
    page = _page(browser, path, 390, 844)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    assert width <= 390


def test_a_50_row_batch_index_does_not_scroll_sideways_at_390_px(browser, tmp_path):  # noqa: F811
    top = {"id": "ts-cert-unknown-ca", "status": "issue", "severity": "high", "title": "x" * 80}
    results = [
        BatchResult(
            input=f"/cases/{i:03d}/a-very-long-case-folder-name-without-spaces-{i:03d}_expressway.tar.gz",
            name=f"case-{i:03d}-bundle-with-a-long-name",
            ok=i % 7 != 0,
            error=None if i % 7 else "not a gzip archive (damaged download?)",
            summary={"issue": 1, "potential": 0, "missing-info": 0, "not-applicable": 0, "ok": 9},
            nodes=[
                {"host": f"expressway-c-node-{i}.example.com", "version": "X15.0.2", "role": "Expressway-C"}
            ],
            top_finding=top if i % 7 else None,
        )
        for i in range(50)
    ]
    path = tmp_path / "index.html"
    path.write_text(render_index(BatchSummary(results=results, out_dir=tmp_path)), encoding="utf-8")
    page = _page(browser, path, 390, 844)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    assert width <= 390


def test_the_ecdsa_sample_prints_on_at_most_3_pages(browser, tmp_path):  # noqa: F811
    path = tmp_path / "report.html"
    path.write_text(logscope.analyze(ECDSA).to_html(), encoding="utf-8")
    page = _page(browser, path, 1280, 900)
    pdf = page.pdf(format="A4")
    page.close()
    pages = max(int(count) for count in re.findall(rb"/Count (\d+)", pdf))
    assert 1 <= pages <= 3


def test_the_print_lists_the_quiet_checks_one_line_per_category_and_the_grouped_cards_once(browser, tmp_path):  # noqa: F811
    report = logscope.analyze(ECDSA)
    path = tmp_path / "report.html"
    path.write_text(report.to_html(), encoding="utf-8")
    page = _page(browser, path, 1280, 900)
    page.emulate_media(media="print")
    shown = "els => els.filter(e => e.getClientRects().length > 0).map(e => e.textContent.trim())"
    quiet_cards = page.eval_on_selector_all(".group-ok details.finding", shown)
    quiet_lines = page.eval_on_selector_all(".group-ok .quiet-print li", shown)
    missing_cards = page.eval_on_selector_all("details.finding-missing-info", shown)
    groups = page.eval_on_selector_all(".missing-group", shown)
    page.close()
    ok = report.by_status("ok")
    assert quiet_cards == []
    assert len(quiet_lines) == len({f.category for f in ok})
    assert all(f.title in " ".join(quiet_lines) for f in ok)
    assert missing_cards == [] and len(groups) == 1
    assert all(f.id in groups[0] for f in report.by_status("missing-info"))
