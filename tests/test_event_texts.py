"""The scanner leaves an event's text in its log (issue 14, item 3): read back, it is the same."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

import logscope.pipeline as pipeline
from logscope import analyze
from logscope.event_texts import GONE, EventTexts, decode_span
from tests.conftest import TextMember, parse_text

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_logs" / "x14.2-ecdsa-self-signed-6972.tar.gz"


def _findings(report) -> list:
    return [
        (f.id, f.status, f.count, [(e.source, e.line, e.text) for e in f.evidence]) for f in report.findings
    ]


def test_a_large_logs_events_keep_their_text_in_the_log_and_findings_quote_the_same_lines(monkeypatch):
    kept = analyze(SAMPLE)
    monkeypatch.setattr(pipeline, "KEEP_TEXT_BYTES", 0)
    left = analyze(SAMPLE)
    scanned = left.events["offset"].notna()
    assert scanned.any() and left.events.loc[scanned, "raw"].isna().all()
    assert kept.events["raw"].notna().all()
    assert _findings(left) == _findings(kept)
    assert any(e.text for f in left.findings for e in f.evidence)


def test_report_reads_a_text_left_in_a_log_given_in_place(monkeypatch, tmp_path):
    monkeypatch.setattr(pipeline, "KEEP_TEXT_BYTES", 0)
    log = tmp_path / "loggingsnapshot_expc1_2024.txt"
    with tarfile.open(SAMPLE) as archive:
        member = next(m for m in archive.getmembers() if "loggingsnapshot" in m.name)
        log.write_bytes(archive.extractfile(member).read())
    report = analyze(log)
    assert report.events["raw"].isna().any()
    texts = report.event_texts()  # after analyze returned: the log is still there
    monkeypatch.setenv("LOGSCOPE_SCANNER", "off")
    assert texts.tolist() == parse_text(log.read_bytes()).events["raw"].tolist()


def test_an_archives_texts_are_gone_after_the_analysis_and_say_so(monkeypatch):
    monkeypatch.setattr(pipeline, "KEEP_TEXT_BYTES", 0)
    report = analyze(SAMPLE)
    rows = report.events[report.events["raw"].isna()].head(3)
    assert len(rows) == 3
    assert report.event_texts(rows).tolist() == [GONE] * 3


def test_record_path_rows_keep_their_text_in_raw(monkeypatch):
    monkeypatch.setenv("LOGSCOPE_SCANNER", "off")
    parsed = parse_text(SAMPLE_LINE)
    assert parsed.events["offset"].isna().all()
    assert parsed.texts.texts(parsed.events).tolist() == [SAMPLE_LINE.rstrip("\n")]


SAMPLE_LINE = (
    "2024-03-05T10:00:00.100+01:00 expc1 traffic_server[2210]: [ET_NET 3] WARNING: Core server certificate"
    " verification failed for (cucm1.example.com). Action=Terminate Error=self signed certificate"
    " server=cucm1.example.com(10.0.0.5) depth=0\n"
)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"a\r\n b", "a\n b"),  # CRLF inside an event
        (b"a\r b\r", "a\n b"),  # lone CRs: line ends, as the parse stage reads them; the last dropped
        ("\ufeffa".encode(), "a"),  # an editor's byte order mark
    ],
)
def test_a_span_decodes_as_the_parse_stage_reads_an_event(data, text):
    assert decode_span(data) == text


def test_a_log_the_texts_cannot_open_reads_as_gone():
    texts = EventTexts()
    texts.add_source("a.log", TextMember(b"hello\n").open)
    assert texts.read("a.log", 0, 5) == "hello"
    assert texts.read("other.log", 0, 5) == GONE


def test_scanner_rows_point_at_their_bytes_in_the_log():
    data = (SAMPLE_LINE * 3).encode()
    parsed = parse_text(data)
    events = parsed.events
    assert events["offset"].tolist() == [0, len(SAMPLE_LINE), 2 * len(SAMPLE_LINE)]
    assert events["length"].tolist() == [len(SAMPLE_LINE) - 1] * 3
    assert (events["raw"].isna()).all()
