"""The safety net (design.md layer (a), issue 11): a line that speaks of a certificate or TLS failure
and that no rule turned into a failure row is listed, and keeps the checks it could concern open.

Planted lines use wordings no grammar knows; they go into real sample bundles (healthy and not).
"""

from __future__ import annotations

import json
import tarfile

import pytest

import logscope
from conftest import SAMPLE_INPUTS, SAMPLE_LOGS, parse_text, tar_bytes
from logscope.correlate import correlate
from logscope.lines.phrases import phrase_families, phrase_list

HEALTHY = SAMPLE_LOGS / "healthy-mra-login.tar.gz"
ISSUE = SAMPLE_LOGS / "x14.2-ecdsa-self-signed-6972.tar.gz"
PLANTED = [
    "2024-06-12T09:01:02.003+02:00 expc traffic_server[1607]: [ET_NET 2] WARNING: origin cert check:"
    " verification failed for cucm9.example.com <b>(self signed certificate)</b>",
    "2024-06-12T09:01:03.004+02:00 expc traffic_server[1607]: {0xdeadbeef} NOTE: peer 192.0.2.99 sent"
    " tlsv1 alert unknown ca",
    # not a traffic_server line: the pre-selection skips it, the safety net must not
    "2024-06-12T09:01:04.005+02:00 expc kernel: tls offload: handshake failure with 192.0.2.98",
]


def planted_bundle(path, lines: list[str]) -> tuple[bytes, str, list[int]]:
    """The bundle with `lines` appended to its loggingsnapshot; the member name and the lines' numbers."""
    members = {}
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            members[member.name] = archive.extractfile(member).read()
    name = next(n for n in members if n.startswith("loggingsnapshot_"))
    text = members[name].decode("utf-8")
    first = text.count("\n") + 1 + (0 if text.endswith("\n") else 1)
    members[name] = (text + ("" if text.endswith("\n") else "\n") + "\n".join(lines) + "\n").encode()
    return tar_bytes(members), name, list(range(first, first + len(lines)))


@pytest.mark.parametrize("path", SAMPLE_INPUTS, ids=lambda p: p.name)
def test_no_sample_has_an_unread_certificate_line(path):
    report = logscope.analyze(path)
    assert report.unrecognised_tls_lines == [] and report.unrecognised_tls_count == 0
    assert report.finding("ts-cert-unrecognised-lines").status == "ok"


def test_planted_lines_in_a_healthy_sample_are_listed_and_turn_the_checks_to_missing_info():
    pristine = logscope.analyze(HEALTHY)
    data, member, numbers = planted_bundle(HEALTHY, PLANTED)
    report = logscope.analyze(data)
    listed = [(item["line"], item["text"], item["family"]) for item in report.unrecognised_tls_lines]
    assert listed == [(n, text, "ats") for n, text in zip(numbers, PLANTED, strict=True)]
    assert all(item["file"].endswith(member) for item in report.unrecognised_tls_lines)
    net = report.finding("ts-cert-unrecognised-lines")
    assert net.status == "missing-info" and net.count == 3
    assert [e.line for e in net.evidence] == numbers
    for finding in report.findings:
        before = pristine.finding(finding.id).status
        if finding.id == "ts-cert-unrecognised-lines":
            continue
        if finding.id.startswith("ts-") and before in ("ok", "not-applicable"):
            assert finding.status == "missing-info", finding.id
            assert "3 line(s) about certificate or TLS failures could not be read" in finding.description
        else:
            assert finding.status == before, finding.id
    assert not any(f.status == "ok" for f in report.findings if f.id.startswith("ts-"))
    assert report.exit_code == pristine.exit_code


def test_issues_stand_beside_unread_certificate_lines():
    pristine = logscope.analyze(ISSUE)
    data, _, _ = planted_bundle(ISSUE, PLANTED[:1])
    report = logscope.analyze(data)
    for finding in pristine.findings:
        if finding.status in ("issue", "potential"):
            assert report.finding(finding.id).status == finding.status
    assert report.exit_code == pristine.exit_code == 1


def test_a_traversal_line_keeps_only_the_traversal_family_open():
    line = '2024-06-12T09:01:05.006+02:00 expc tvcs: Event="TLS Negotiation Error" Detail="something new"'
    data, _, _ = planted_bundle(HEALTHY, [line])
    report = logscope.analyze(data)
    assert [item["family"] for item in report.unrecognised_tls_lines] == ["traversal"]
    assert report.finding("ts-cert-unrecognised-lines").status == "missing-info"
    assert report.finding("ts-cert-self-signed").status == "ok"


def test_unread_lines_are_in_the_json_the_terminal_and_the_escaped_page():
    data, _, numbers = planted_bundle(HEALTHY, PLANTED)
    report = logscope.analyze(data)
    document = json.loads(report.to_json())
    assert tuple(int(part) for part in document["schema_version"].split(".")) >= (1, 2)
    assert [item["line"] for item in document["unrecognised_tls_lines"]] == numbers
    assert document["unrecognised_tls_count"] == 3
    text = report.to_text()
    assert "UNREAD CERTIFICATE LINES" in text and f":{numbers[1]}: " in text
    page = report.to_html()
    assert 'id="unrecognised"' in page
    assert "<b>(self signed" not in page and "&lt;b&gt;(self signed" in page


def test_a_failure_line_cut_in_a_wording_the_rules_read_is_not_listed():
    parsed = parse_text(
        "2026-03-04T09:12:44.120+01:00 expc1 traffic_server[2210]: [ET_NET 0] WARNING: Core server"
        " certificate verification failed for (cucm1.example.com). Action=Terminate Error=self signed\n"
    )
    assert parsed.unrecognised == []
    assert parsed.events["kind"].tolist() == ["tls_verify_failed"]


def test_debug_lines_that_restate_a_read_failure_are_not_listed_but_alone_they_are():
    restating = (
        "[Nov 30 15:33:58.148] [ET_NET 0] DEBUG: <SSLNetVConnection.cc:1569 (sslClientHandShakeEvent)> (ssl-diag)"
        " SSL::139850382530240:error:0A000086:SSL routines::certificate verify failed:../ssl/statem/"
        "statem_clnt.c:1889: peer address is 127.0.0.11\n"
    )
    failure = (
        "[Nov 30 15:33:58.148] [ET_NET 0] ERROR: SSL connection failed for 'a.lab': error:0A000086:SSL"
        " routines::certificate verify failed\n"
    )
    options = {"source": "diags", "host": "ats"}
    assert parse_text(restating + failure, **options).unrecognised == []
    alone = parse_text(restating, **options).unrecognised
    assert [(item["line"], item["family"]) for item in alone] == [(1, "ats")]


FAILED_CALL = (
    "[Nov 30 15:33:58.148] [ET_NET 0] DEBUG: <SSLNetVConnection.cc:2125 (_ssl_connect)> (ssl.error.connect)"
    " SSL connect returned -1, ssl_error=1, ERR_get_error=167772294 (error:0A000086:SSL routines::"
    "certificate verify failed)\n"
)


def test_a_failed_openssl_call_is_a_failure_row_counted_once_with_the_connection_error_after_it():
    failure = (
        "[Nov 30 15:33:58.148] [ET_NET 0] DEBUG: <SSLNetVConnection.cc:1573 (sslClientHandShakeEvent)>"
        " (ssl.error) SSL connection failed for 'a.lab': error:0A000086:SSL routines::certificate verify failed\n"
    )
    options = {"source": "diags", "host": "ats"}
    both = parse_text(FAILED_CALL + failure, **options)
    assert both.unrecognised == []
    assert both.events["kind"].tolist() == ["ssl_connect_failed", "ssl_connect_failed"]
    failures = correlate(both.events).tls_failures
    assert failures["server_name"].tolist() == ["a.lab"]
    alone = parse_text(FAILED_CALL, **options)
    assert alone.unrecognised == []  # read, not listed: a failure row with its reason and no server
    failures = correlate(alone.events).tls_failures
    assert failures["ssl_reason"].tolist() == ["certificate verify failed"]
    assert failures["server_name"].isna().all()


def test_every_phrase_example_holds_a_prefilter_word():
    words = phrase_list().prefilter
    for pattern, _ in phrase_list().phrases:
        examples = [e for e in _examples() if pattern.search(e)]
        assert examples and all(any(w in e.lower().encode() for w in words) for e in examples)
    assert phrase_families("SSL  connection failed for 'x'") and b"ssl  connection" in words


def _examples() -> list[str]:
    import tomllib

    from logscope.resources import grammar_path

    data = tomllib.loads(grammar_path("tls_failure_phrases.toml").read_text(encoding="utf-8"))
    return [phrase["example"] for phrase in data["phrase"]]
