"""Every sample line in grammars/samples/*.toml parses into the kind and fields it declares."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from conftest import ROOT, events_of
from logscope.lines import fast_parse_line, parse_line

SAMPLE_FILES = sorted((ROOT / "grammars" / "samples").glob("*.toml"))
SAMPLES = [
    pytest.param(sample, id=f"{path.stem}:{number}")
    for path in SAMPLE_FILES
    for number, sample in enumerate(tomllib.loads(path.read_text(encoding="utf-8"))["sample"], 1)
]


def test_sample_files_exist_and_hold_real_document_lines():
    assert any(path.stem == "seed003" for path in SAMPLE_FILES)
    assert len(SAMPLES) >= 30


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_line_yields_its_kind_and_fields(sample):
    host = "ats" if sample["line"].startswith(("[", "2026112")) else None
    source = "diags" if sample["line"].startswith("[") else "log"
    if sample["line"].startswith("2026112"):
        source = "ats_error"
    events = events_of(sample["line"], all_events=True, source=source, host=host)
    assert len(events) == 1, sample["source"]
    row = events.iloc[0]
    for column, expected in sample["expect"].items():
        value = row[column]
        actual = value if isinstance(value, dict) or not pd.isna(value) else None
        if column == "extra":
            assert actual is not None and all(actual.get(k) == v for k, v in expected.items())
        else:
            assert actual == expected, f"{sample['source']}: {column}"


@pytest.mark.parametrize("sample", SAMPLES)
def test_fast_path_agrees_with_grammar_on_samples(sample):
    fast = fast_parse_line(sample["line"])
    if fast is not None:
        assert fast == parse_line(sample["line"])


def test_real_ats_lines_parse_as_diagnostics():
    path = ROOT / "grammars" / "samples" / "ats92_openssl3.txt"
    if not path.exists():
        pytest.skip("the lab has not recorded real ATS lines yet")
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    for line in lines:
        record = parse_line(line)
        assert record["kind"] != "unparsed", line
        if "WARNING: Core server certificate" in line or "not in certificate" in line:
            assert record["kind"] in {"tls_verify_failed", "sni_not_in_cert"}, line
        if "CONNECT: attempt fail" in line:
            assert record["kind"] == "connect_attempt_failed", line


def test_the_traffic_servers_event_bodies_name_their_process_without_an_envelope():
    """log-lines.md section 2: `Event=` bodies carry no Module; only the traffic server writes them."""
    allowed = parse_line(
        'Event="Request Allowed" Detail="Access allowed" Reason="In allow list" Username="jdoe" Method="GET"'
    )
    refused = parse_line(
        'Event="Sending HTTP error response" Status="403" Reason="Forbidden" Dst-port="50314"'
    )
    assert (allowed["kind"], allowed["process"]) == ("request_allowed", "traffic_server")
    assert (refused["kind"], refused["process"]) == ("http_error", "traffic_server")
    assert "process" not in parse_line('Event="Outbound TLS Negotiation Error" Service="SIP" Level="1"')
