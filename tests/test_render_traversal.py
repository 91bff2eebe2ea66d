"""The Traversal section (issue 15): both sides of each attempt on one row, one terminal line, escaped
log text, and nothing drawn without tvcs lines."""

from __future__ import annotations

import re
from functools import cache

import logscope
from conftest import SAMPLE_LOGS, TextMember, empty_report
from logscope.parse import parse_members
from logscope.traversal import tls_events_frame


@cache
def pair_report() -> logscope.Report:
    return logscope.analyze(SAMPLE_LOGS / "traversal-identity-pair")


def section(page: str) -> str:
    start = page.index('<section id="traversal"')
    return page[start : page.index("</section>", start)]


def test_each_attempt_shows_the_c_line_beside_the_e_record_of_it():
    drawn = section(pair_report().to_html())
    assert "Zone <code>UC Traversal</code>: 6 paired attempt(s)" in drawn
    assert re.search(
        r"<th>Expressway-C <code>expc1</code></th>\s*<th>Expressway-E <code>expe1</code></th>", drawn
    )
    rows = [
        row for row in drawn.split("<tr>") if "Peer&#39;s TLS certificate identity was unacceptable" in row
    ]
    assert len(rows) == 6
    for row in rows:  # the -C's rejection and the -E's alert of the same connection, on one row
        c_cell, e_cell = row.split("</td>")[1:3]
        assert "expc1.tar.gz" in c_cell and "203.0.113.10:7001" in c_cell
        assert "expe1.tar.gz" in e_cell and "sslv3 alert bad certificate" in e_cell
        assert row.count("expc1 rejected the certificate of expe1") == 3


def test_the_terminal_summary_names_both_sides_in_one_line():
    text = pair_report().to_text()
    lines = [line for line in text.splitlines() if line.startswith("Traversal:")]
    assert len(lines) == 1
    assert lines[0].startswith("Traversal: UC Traversal: -C expc1 / -E expe1, 18 line(s), 6 attempt(s)")


def test_log_text_in_the_traversal_section_is_escaped():
    hostile = (
        '2026-03-04T09:12:44.120+01:00 expc1 tvcs: Event="Outbound TLS Negotiation Error" Service="SIP"'
        ' Src-ip="10.0.0.5" Src-port="25000" Dst-ip="203.0.113.10" Dst-port="7001"'
        ' Detail="Peer\'s TLS certificate identity was unacceptable" Protocol="TLS"'
        ' Common-name="<img src=x onerror=alert(1)>" Level="1" UTCTime="2026-03-04 08:12:44,120"'
    )
    parsed = parse_members([TextMember(hostile, name="c.log")])
    drawn = section(empty_report(tls_events=tls_events_frame(parsed.tls_records)).to_html())
    assert "<img" not in drawn
    assert "&lt;img src=x onerror=alert(1)&gt;" in drawn


def test_nothing_is_drawn_without_traversal_lines():
    for report in (empty_report(tls_events=None), empty_report(tls_events=tls_events_frame([]))):
        assert 'id="traversal"' not in report.to_html()
        assert "Traversal:" not in report.to_text()
