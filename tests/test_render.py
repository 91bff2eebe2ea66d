"""The HTML findings page and the terminal summary: complete, escaped, offline, and honest about counts."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import logscope
from conftest import SAMPLE_INPUTS, empty_report
from logscope.findings import STATUS_TITLES, STATUSES, Evidence, Finding, Server
from logscope.nodes import NodeSummary
from logscope.render import (
    MAX_FINDING_EVIDENCE,
    MAX_FINDING_SERVERS,
    MAX_TIMELINE_POINTS,
    TERMINAL_WIDTH,
    build_timeline,
    even_sample,
    render_html,
    render_text,
    server_rows,
    share_budget,
    text_blocks,
    visible_controls,
)
from logscope.report import Report

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_BUNDLES = SAMPLE_INPUTS
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
HOSTILE_CONTROLS = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


# --- reading the page back ---------------------------------------------------------------------


class Page(HTMLParser):
    """The parts of a rendered page the tests look at: elements with attributes, and script bodies."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._inside: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._inside = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "script":
            self.scripts.append(data)
        elif self._inside == "style":
            self.styles.append(data)

    def having(self, tag: str, css_class: str | None = None) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.elements
            if name == tag and (css_class is None or css_class in (attrs.get("class") or "").split())
        ]


def tab_counts(html: str) -> dict[str, int]:
    found = re.findall(r'data-status="([a-z-]+)"[^>]*>[^<]*<span class="tab-count">(\d+)</span>', html)
    return {status: int(count) for status, count in found if status != "all"}


def card_statuses(page: Page) -> list[str]:
    return [str(attrs["data-status"]) for attrs in page.having("details", "finding")]


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


# --- reports -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_report() -> Report:
    return logscope.analyze(ROOT / "tests" / "data" / "seed003_lines.log")


def when(seconds: float) -> datetime:
    return datetime(2024, 3, 5, 9, 0, tzinfo=UTC) + timedelta(seconds=seconds)


def hostile_report() -> Report:
    """Every field a page shows, filled with markup and terminal escapes an attacker could log."""
    evidence = [
        Evidence(
            source=f"{SCRIPT}.txt",
            line=7,
            text=f'GET http://vcs_control.example.com:8443/{SCRIPT}/x Username="{SCRIPT}" {HOSTILE_CONTROLS}',
            node=SCRIPT,
            ts=when(5),
            role="warning",
        ),
        Evidence(source="log.txt", line=3, text="an older line", node="expc", ts=when(1), role="error"),
    ]
    finding = Finding(
        id="ts-cert-self-signed",
        title=f"Self-signed {SCRIPT}",
        status="issue",
        severity="high",
        category=SCRIPT,
        servers=[
            Server(
                name=SCRIPT,
                ip="10.0.0.5",
                ports=[6972],
                count=3,
                first_seen=when(1),
                last_seen=when(5),
                route=f"example.com/https/{SCRIPT}/6972",
                nodes=[SCRIPT],
                detail=f"self signed certificate {SCRIPT}",
            )
        ],
        evidence=evidence,
        description=f"The server {SCRIPT} failed.\n- <img src=x onerror=alert(1)> on 6972\n- second",
        condition=SCRIPT,
        action=f"Upload the certificate of {SCRIPT}.\nxConfiguration EdgeConfigServer VerifyOriginServer: Off",
        workaround=SCRIPT,
        related=["CSCwc69661", SCRIPT],
        documents=[f"A document {SCRIPT}"],
        first_seen=when(1),
        last_seen=when(5),
        count=3,
        notes=[f"note {SCRIPT}"],
    )
    quiet = Finding(id="ts-cert-expired", title="Expired", status="ok", severity="high", category="MRA")
    transactions = pd.DataFrame(
        {
            "start": pd.to_datetime([when(1), when(2), when(3)], utc=True),
            "route_host": [SCRIPT, SCRIPT, None],
            "upstream_ip": ["10.0.0.5", "10.0.0.5", "10.0.0.9"],
            "upstream_port": pd.array([6972, 8443, 8443], dtype="Int64"),
            "status": pd.array([502, 200, None], dtype="Int64"),
        }
    )
    tls_failures = pd.DataFrame(
        {
            "ts": pd.to_datetime([when(1)], utc=True),
            "kind": ["tls_verify_failed"],
            "server_name": [SCRIPT],
            "server_ip": ["10.0.0.5"],
            "paired": [True],
        }
    )
    return Report(
        inputs=[f"{SCRIPT}.tar.gz"],
        nodes=[NodeSummary(host=SCRIPT, version=SCRIPT, role=SCRIPT, first_seen=when(0), last_seen=when(9))],
        findings=[finding, quiet],
        events=pd.DataFrame({"ts": pd.to_datetime([when(0), when(9)], utc=True)}),
        transactions=transactions,
        tls_failures=tls_failures,
        stats={"lines": 10, "events": 9, "unparsed": 1, "transactions": 3, "seconds": 0.01},
        warnings=[f"member {SCRIPT} was cut {HOSTILE_CONTROLS}"],
        skipped=[{"input": SCRIPT, "path": f"../{SCRIPT}", "reason": SCRIPT}],
    )


def busy_report(total: int, failed_every: int) -> Report:
    """A login storm: `total` transactions to 30 servers, one in `failed_every` ending in 502."""
    starts = pd.date_range("2024-03-05 09:00", periods=total, freq="10ms", tz="UTC")
    status = pd.array([502 if i % failed_every == 0 else 200 for i in range(total)], dtype="Int64")
    transactions = pd.DataFrame(
        {
            "start": starts,
            "route_host": [f"cucm{i % 30}.example.com" for i in range(total)],
            "upstream_ip": [f"10.0.0.{i % 30}" for i in range(total)],
            "upstream_port": pd.array([8443] * total, dtype="Int64"),
            "status": status,
        }
    )
    return Report(
        inputs=["storm.tar.gz"],
        nodes=[],
        findings=[],
        events=pd.DataFrame({"ts": starts}),
        transactions=transactions,
        tls_failures=pd.DataFrame(),
        stats={"lines": total * 4, "transactions": total},
    )


# --- the page from a real analysis -------------------------------------------------------------


def test_tab_counts_equal_report_summary(seed_report: Report) -> None:
    html = seed_report.to_html()
    assert tab_counts(html) == seed_report.summary
    assert seed_report.summary["issue"] > 0  # the seed has real failures; the page must show them
    for status in STATUSES:
        assert STATUS_TITLES[status] in html


def test_one_card_per_finding_grouped_by_status(seed_report: Report) -> None:
    page = Page(seed_report.to_html())
    statuses = card_statuses(page)
    assert sorted(statuses) == sorted(f.status for f in seed_report.findings)
    ids = [attrs["id"] for attrs in page.having("details", "finding")]
    assert ids == [f"finding-{f.id}" for status in STATUSES for f in seed_report.by_status(status)]


def test_page_is_readable_without_javascript(seed_report: Report) -> None:
    page = Page(seed_report.to_html())
    cards = page.having("details", "finding")
    assert cards and all("hidden" not in attrs for attrs in cards)
    opened = {str(attrs["data-status"]) for attrs in cards if "open" in attrs}
    assert opened == {f.status for f in seed_report.findings} & {"issue", "potential", "missing-info"}
    filters = [attrs for tag, attrs in page.elements if attrs.get("id") == "filters"]
    assert filters and "hidden" in filters[0]  # controls appear only when the script runs
    tab_links = [attrs["href"] for attrs in page.having("a", "tab")]
    assert tab_links == ["#findings"] + [f"#status-{status}" for status in STATUSES]


def test_finding_texts_servers_and_evidence_are_shown(seed_report: Report) -> None:
    html = seed_report.to_html()
    finding = seed_report.finding("ts-cert-name-mismatch")
    assert finding is not None and finding.status == "issue"
    card = html[html.index('id="finding-ts-cert-name-mismatch"') :]
    card = card[: card.index("</details>")]
    for heading in ("Description", "Condition", "Further information", "Action", "Workaround"):
        assert f"<dt>{heading}</dt>" in card
    assert "10.48.36.215" in card
    assert "CSCwc69661" in card
    positions = [card.index(f"{e.source}:{e.line}") for e in finding.evidence]
    assert positions == sorted(positions)  # most recent first, in the order the finding gives


def test_server_table_counts_requests_per_server(seed_report: Report) -> None:
    rows = {row.name: row for row in server_rows(seed_report)}
    answered = seed_report.transactions["status"].dropna()
    assert sum(row.ok for row in rows.values()) == int((answered < 400).sum())
    assert sum(row.failed for row in rows.values()) == int((answered >= 500).sum())
    assert sum(row.requests for row in rows.values()) == len(seed_report.transactions)
    assert "ts-cert-name-mismatch" in rows["10.48.36.215"].causes
    html = seed_report.to_html()
    assert 'href="#finding-ts-cert-name-mismatch"' in html


def test_timeline_is_drawn_with_a_legend(seed_report: Report) -> None:
    html = seed_report.to_html()
    page = Page(html)
    assert page.having("svg", "timeline-svg")
    assert len(page.having("circle", "pt")) == len(seed_report.transactions)
    assert page.having("rect", "tls-mark")
    assert "Time (UTC)" in html
    for label in ("2xx/3xx answered", "5xx (e.g. 502)", "no response logged", "TLS failure"):
        assert label in html
    assert "Sampled:" not in html


def test_text_summary_names_issues_servers_and_actions(seed_report: Report) -> None:
    text = seed_report.to_text()
    lines = text.splitlines()
    assert lines[0].startswith("logscope | seed003_lines.log | vcsc Expressway-C, vscs | 2022-07-11 16:55:25")
    assert f"ISSUES FOUND ({seed_report.summary['issue']})" in lines[1:3]
    for finding in seed_report.by_status("issue"):
        assert f"  {finding.id} " in text
    assert "servers  10.48.36.215 :8443" in text
    assert (
        "evidence seed003_lines.log:23 vscs 17:49:01.513 WARNING: SAN (10.48.36.215) not in certificate"
        in text
    )
    quiet = " ".join(lines[next(i for i, line in enumerate(lines) if line.startswith("No issue (")) :])
    assert all(f.id in quiet for f in seed_report.by_status("ok"))
    assert all(len(line) <= TERMINAL_WIDTH for line in lines)
    assert "\x1b" not in text


@pytest.mark.parametrize("bundle", SAMPLE_BUNDLES, ids=lambda p: p.name)
def test_sample_bundles_render_complete_offline_pages(bundle: Path) -> None:
    report = logscope.analyze(bundle)
    html = report.to_html()
    assert tab_counts(html) == report.summary
    assert sorted(card_statuses(Page(html))) == sorted(f.status for f in report.findings)
    assert external_references(Page(html)) == []
    text = report.to_text()
    assert all(len(line) <= TERMINAL_WIDTH for line in text.splitlines())


# --- hostile text ------------------------------------------------------------------------------


def test_hostile_text_is_escaped_in_html() -> None:
    html = render_html(hostile_report())
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert ESCAPED_SCRIPT in html
    page = Page(html)
    assert len(page.having("script")) == 1  # our own, nothing injected
    for place in ("<title>", 'class="finding-title"', "<code>", 'class="logline"', 'class="row-label"'):
        assert place in html
    assert html.count(ESCAPED_SCRIPT) >= 12  # input, node, title, server, route, evidence, texts, ...


def test_hostile_control_characters_are_made_visible_in_html() -> None:
    html = render_html(hostile_report())
    assert "\x1b" not in html and "\x07" not in html and "\u202e" not in html and "\x9b" not in html
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e" in html


def test_hostile_text_is_intact_in_json() -> None:
    document = json.loads(hostile_report().to_json())
    finding = document["findings"][0]
    assert finding["servers"][0]["name"] == SCRIPT
    assert SCRIPT in finding["evidence"][0]["text"]
    assert HOSTILE_CONTROLS in finding["evidence"][0]["text"]
    assert document["inputs"] == [f"{SCRIPT}.tar.gz"]


def test_hostile_text_has_no_raw_escape_in_terminal_output() -> None:
    report = hostile_report()
    for color in (False, True):
        text = render_text(report, color=color)
        assert "]0;pwned" not in text.replace("\\x1b]0;pwned", "")
        assert "\x07" not in text and "\x9b" not in text and "\u202e" not in text
        assert "\\x1b" in text
        leftover = re.sub(r"\x1b\[[0-9;]*m", "", text)
        assert "\x1b" not in leftover  # only our own colour codes, and only when asked
    assert "\x1b" not in render_text(report, color=False)


def test_colour_only_when_asked(seed_report: Report) -> None:
    plain, coloured = render_text(seed_report), render_text(seed_report, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31mISSUES FOUND" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_hostile_log_lines_through_the_real_pipeline() -> None:
    log = (
        "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] ERROR: SSL connection failed "
        f"for 'evil{HOSTILE_CONTROLS}<script>alert(1)</script>.example': error:1416F086:SSL routines:"
        "tls_process_server_certificate:certificate verify failed\n"
    ).encode()
    report = logscope.analyze(log)
    finding = report.finding("ts-cert-verify-other")
    assert finding is not None and finding.status == "issue"
    html = report.to_html()
    assert "<script>alert(1)" not in html and ESCAPED_SCRIPT in html and "\x1b" not in html
    text = report.to_text()
    assert "\x1b" not in text and "evil\\x1b]0;pwned" in text
    assert SCRIPT in report.to_json()


# --- offline, self-contained -------------------------------------------------------------------


BUG_SEARCH = r"https://tools\.cisco\.com/bugsearch/bug/CSC[a-z]{2}\d{5}"


def external_references(page: Page) -> list[str]:
    """Every attribute that would make a browser fetch or navigate somewhere off this page, but for
    a link (a click, never a fetch) to a defect's public bug search page (issue 12)."""
    found = []
    for tag, attrs in page.elements:
        for name in ("src", "href", "action", "srcset", "poster", "data", "xlink:href", "formaction"):
            value = attrs.get(name)
            if tag == "a" and name == "href" and re.fullmatch(BUG_SEARCH, value or ""):
                continue
            if value is not None and not value.startswith("#"):
                found.append(f"{name}={value}")
    return found


def test_page_loads_nothing() -> None:
    for report in (hostile_report(), busy_report(2000, 7)):
        html = render_html(report)
        page = Page(html)
        assert external_references(page) == []
        assert page.having("link") == [] and page.having("img") == [] and page.having("iframe") == []
        css = "".join(page.styles)
        assert "@import" not in css and "url(" not in css and "@font-face" not in css
        assert not re.search(
            r"\b(fetch|XMLHttpRequest|import\(|WebSocket|EventSource)\b", "".join(page.scripts)
        )


def test_content_security_policy_allows_only_the_inline_style_and_script() -> None:
    page = Page(render_html(hostile_report()))
    policies = [
        attrs["content"]
        for attrs in page.having("meta")
        if attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(policies) == 1
    policy = str(policies[0])
    assert "default-src 'none'" in policy
    assert f"script-src '{csp_hash(page.scripts[0])}'" in policy
    assert f"style-src '{csp_hash(page.styles[0])}'" in policy
    assert "unsafe-inline" not in policy
    assert not any("style" in attrs for _tag, attrs in page.elements)  # a style attribute would be blocked


# --- building blocks ---------------------------------------------------------------------------


def test_text_blocks_make_lists_and_commands_from_plain_text() -> None:
    blocks = text_blocks(
        "First paragraph.\n- one\n- two <b>\n\nSecond.\nxConfiguration Logger A: B\nxCommand Restart\n"
    )
    assert [(b.kind, b.lines) for b in blocks] == [
        ("p", ["First paragraph."]),
        ("ul", ["one", "two <b>"]),
        ("p", ["Second."]),
        ("code", ["xConfiguration Logger A: B", "xCommand Restart"]),
    ]
    html = render_html(hostile_report())
    assert "<li>&lt;img src=x onerror=alert(1)&gt; on 6972</li>" in html
    assert '<pre class="cli">xConfiguration EdgeConfigServer VerifyOriginServer: Off</pre>' in html


def test_visible_controls_keeps_newlines_only_where_asked() -> None:
    assert visible_controls("a\x1b[0mb\nc\td") == "a\\x1b[0mb\nc\td"
    assert visible_controls("a\nb\x00", keep_newlines=False) == "a\\x0ab\\x00"
    assert visible_controls("plain ünïcode") == "plain ünïcode"


def test_hostile_servers_table_names_the_cause() -> None:
    rows = {row.name: row for row in server_rows(hostile_report())}
    assert rows[SCRIPT].ok == 1 and rows[SCRIPT].failed == 1 and rows[SCRIPT].tls_failures == 1
    assert rows[SCRIPT].causes == ["ts-cert-self-signed"]
    assert rows[SCRIPT].ports == [6972, 8443]
    assert rows["10.0.0.9"].no_response == 1 and rows["10.0.0.9"].causes == []


def test_share_budget_keeps_rare_kinds_whole() -> None:
    assert share_budget({"ok": 100_000, "failed": 30, "tls": 12}, 5000) == {
        "tls": 12,
        "failed": 30,
        "ok": 4958,
    }
    assert share_budget({"ok": 10, "failed": 2}, 5000) == {"failed": 2, "ok": 10}
    assert list(even_sample(5, 3)) == [0, 2, 4]
    assert list(even_sample(3, 10)) == [0, 1, 2]


def test_timeline_is_sampled_to_the_cap_and_keeps_every_failure() -> None:
    report = busy_report(60_000, 1000)
    timeline = build_timeline(report)
    assert timeline is not None
    assert timeline.total_points == 60_000 and timeline.drawn_points <= MAX_TIMELINE_POINTS
    assert sum(kind == "failed" for _x, _y, kind in timeline.points) == 60
    assert len(timeline.rows) == 30
    assert all(timeline.plot_left <= x <= timeline.plot_right for x, _y, _k in timeline.points)
    html = render_html(report)
    assert len(Page(html).having("circle", "pt")) == timeline.drawn_points
    assert "Sampled:" in html and "60,000" in html


def test_timeline_folds_servers_beyond_the_row_cap() -> None:
    report = busy_report(2000, 5)
    report.transactions["route_host"] = [f"host{i % 120}.example.com" for i in range(2000)]
    timeline = build_timeline(report)
    assert timeline is not None and len(timeline.rows) == 40
    assert timeline.rows[-1]["name"] == "(81 other servers)"


def test_timeline_rows_are_per_node_in_a_cluster() -> None:
    report = busy_report(400, 4)
    report.transactions["node"] = ["expc1" if i < 200 else "expc2" for i in range(400)]
    timeline = build_timeline(report)
    assert timeline is not None and timeline.by_node
    names = [row["name"] for row in timeline.rows]
    assert "cucm0.example.com:8443 @ expc1" in names and "cucm0.example.com:8443 @ expc2" in names
    assert len(names) == 40 and names[-1] == "(21 other servers)"  # 60 server-node rows, folded
    assert "cluster node" in render_html(report)
    report.transactions["node"] = "expc1"
    single = build_timeline(report)
    assert single is not None and not single.by_node and len(single.rows) == 30


def test_empty_report_renders_without_error() -> None:
    report = empty_report(inputs=[])
    html = render_html(report)
    assert tab_counts(html) == dict.fromkeys(STATUSES, 0)
    assert "nothing to draw" in html and "No server appears" in html
    text = render_text(report)
    assert text.splitlines()[0].startswith("logscope | (no input) | node unknown | times unknown")
    assert "No issue, potential problem or missing information." in text
    assert ": none" not in text and "(0)" not in text  # an empty section has no line


def test_page_caps_long_lists_and_says_so() -> None:
    report = hostile_report()
    finding = report.findings[0]
    finding.servers = [
        Server(name=f"cucm{i}.example.com", ip=f"10.1.{i // 250}.{i % 250}") for i in range(500)
    ]
    finding.evidence = [Evidence(source="log.txt", line=i, text=f"line {i}") for i in range(300)]
    html = render_html(report)
    card = html[html.index('id="finding-ts-cert-self-signed"') :]
    card = card[: card.index('<div class="related">')]
    assert card.count("<code>cucm") == MAX_FINDING_SERVERS
    assert "300 more server(s) not listed here" in card
    assert card.count('class="logline"') == MAX_FINDING_EVIDENCE
    assert "200 more evidence line(s) not shown here" in card
    assert len(json.loads(report.to_json())["findings"][0]["servers"]) == 500


def test_text_summary_shows_the_commands_an_action_introduces() -> None:
    report = logscope.analyze(ROOT / "sample_logs" / "unexplained-502.tar.gz")
    lines = report.to_text().splitlines()
    at = lines.index("    action   Enable the traffic server debug loggers on the Expressway-C:")
    commands = [line.strip() for line in lines[at + 1 : at + 5]]
    assert commands == [
        f'xConfiguration Logger Developer developer.trafficserver.{logger} Level: "DEBUG"'
        for logger in ("http", "http_trans", "iocore", "ssl")
    ]


def test_text_header_of_many_inputs_keeps_the_counts_and_says_how_many_more() -> None:
    bundles = [path for path in SAMPLE_BUNDLES if path.name.endswith(".tar.gz")]
    report = logscope.analyze(bundles)
    lines = report.to_text().splitlines()
    header = " ".join(lines[: next(i for i, line in enumerate(lines) if line.startswith("ISSUES"))])
    assert header.startswith(f"logscope | {bundles[0].name} +{len(bundles) - 1} more")
    assert f"{report.stats['events']:,} events, 0 unparsed" in header
    assert all(len(line) <= TERMINAL_WIDTH for line in lines)


def test_text_header_counts_partly_parsed_lines() -> None:
    warning = (
        "2024-02-06T09:16:41.934-05:00 expc traffic_server[18242]: [ET_NET 2] WARNING: Core server "
        "certificate verification failed for (cucm1.example.com). Action=Terminate Error=self signed "
        "certificate server=cucm1.example.com(10.20.30.11)\n"
    )
    report = logscope.analyze(warning.encode())
    assert "1 event, 0 unparsed, 1 partly parsed" in report.to_text().splitlines()[0]
    assert [f.id for f in report.by_status("issue")] == ["ts-cert-self-signed"]
