"""The answers a support engineer reads: what a finding says, whom it names, what it links (issue 12)."""

from __future__ import annotations

from functools import cache

from conftest import SAMPLE_LOGS
from logscope import analyze
from logscope.report import Report
from logscope.signatures.library import load_library


@cache
def report_of(name: str) -> Report:
    return analyze(SAMPLE_LOGS / name)


def test_a_potential_finding_says_the_check_failed_and_the_connection_went_on():
    report = report_of("permissive-continue.tar.gz")
    potential = report.by_status("potential")
    assert potential
    for finding in potential:
        text = finding.description
        assert "ends in 502" not in text and "fails (502)" not in text
        assert "failure(s)" not in text
        assert "Action=Continue" in text and "connection went on" in text
        assert "permissive" in text and "enforced" in text


def test_a_cluster_finding_names_the_failing_and_the_healthy_nodes_in_json_and_text():
    report = report_of("cluster-one-node-missing-ca")
    finding = next(f for f in report.to_dict()["findings"] if f["id"] == "ts-cert-unknown-ca")
    assert finding["nodes_failing"] == ["expc2"] and finding["nodes_healthy"] == ["expc1"]
    assert "nodes    failing on expc2; healthy: expc1" in report.to_text()
    assert "failing on expc2" in report.to_html() and "healthy: expc1" in report.to_html()


def test_findings_sharing_failures_are_linked_and_the_most_specific_leads():
    report = report_of("x14.2-ecdsa-self-signed-6972.tar.gz")
    findings = {f["id"]: f for f in report.to_dict()["findings"]}
    assert findings["ts-cert-self-signed"]["related_findings"] == ["ts-ecdsa-port-split"]
    assert findings["ts-ecdsa-port-split"]["related_findings"] == ["ts-cert-self-signed"]
    assert findings["ts-cert-self-signed"]["status"] == "issue"  # linking changes no status
    assert findings["ts-ecdsa-port-split"]["status"] == "potential"
    assert findings["ts-cert-expired"]["related_findings"] == []
    text = " ".join(report.to_text().split())
    assert "the same failures: ts-ecdsa-port-split (potential) the more specific diagnosis" in text
    by_ip = report_of("seed003-ip-not-in-san.tar.gz").to_dict()["findings"]
    issues = [f["id"] for f in by_ip if f["status"] == "issue"]
    assert (
        issues.index("mra-address-not-fqdn") < issues.index("ts-cert-name-mismatch")
        or "mra-address-not-fqdn"
        in (next(f for f in by_ip if f["id"] == "ts-cert-name-mismatch")["related_findings"])
    )


def test_one_missing_log_is_one_entry_that_says_what_is_missing_and_what_to_collect():
    report = report_of("no-traffic-server.tar.gz")
    absent = {"traffic_server", "transactions", "requests", "server_pem", "ca_pem"}  # no log lines, no PEM
    undecidable = {s.id for s in load_library().signatures if set(s.needs) & absent}
    # every check that needs the traffic server's lines or a PEM file keeps its own missing-info status
    assert {f.id for f in report.by_status("missing-info")} == undecidable
    text = report.to_text(width=100)
    assert text.count("Missing: traffic_server lines") == 1
    assert "need the same missing information" not in text
    assert "collect  Start diagnostic logging (Maintenance > Diagnostics > Diagnostic logging)" in text
    assert text.count("    collect ") == 1


def test_one_host_name_from_two_bundles_is_two_nodes_each_with_its_own_lines_and_findings():
    report = analyze(
        [SAMPLE_LOGS / "x14.2-ecdsa-self-signed-6972.tar.gz", SAMPLE_LOGS / "untrusted-root-depth1.tar.gz"]
    )
    ecdsa, untrusted = report.to_dict()["nodes"]
    assert (ecdsa["host"], untrusted["host"]) == ("expc", "expc")
    assert [(n["input"].rsplit("/", 1)[-1], n["version"]) for n in (ecdsa, untrusted)] == [
        ("x14.2-ecdsa-self-signed-6972.tar.gz", "X14.2.1"),
        ("untrusted-root-depth1.tar.gz", "X15.0.2"),
    ]
    assert ecdsa["last_seen"] < untrusted["first_seen"]
    assert ecdsa["events"] + untrusted["events"] == report.stats["events"]  # each line to one node
    assert any("host name expc comes from 2 different bundles" in w for w in report.warnings)
    findings = {f["id"]: f for f in report.to_dict()["findings"]}
    first, second = "expc (x14.2-ecdsa-self-signed-6972.tar.gz)", "expc (untrusted-root-depth1.tar.gz)"
    assert (
        findings["ts-cert-self-signed"]["nodes_failing"],
        findings["ts-cert-self-signed"]["nodes_healthy"],
    ) == (
        [first],
        [second],
    )
    assert findings["ts-cert-unknown-ca"]["nodes_failing"] == [second]
    text = " ".join(report.to_text().split())
    assert "expc X14.2.1 (x14.2-ecdsa-self-signed-6972.tar.gz, 2024-02-06" in text
    assert "expc X15.0.2 (untrusted-root-depth1.tar.gz, 2024-09-03" in text
    assert f"failing on {first}; healthy: {second}" in text
    html = report.to_html()
    assert f"<td><code>{first}</code></td>" in html and f"<td><code>{second}</code></td>" in html


def test_defect_ids_link_to_the_public_bug_search_and_defects_only_is_hidden_when_it_hides_nothing():
    html = report_of("x14.2-ecdsa-self-signed-6972.tar.gz").to_html()
    assert 'href="https://tools.cisco.com/bugsearch/bug/CSCwc69661"' in html
    assert '<label class="check defects">' in html  # an ok card cites no defect: the filter narrows
    quiet = report_of("healthy-mra-login.tar.gz").to_html()
    assert '<label class="check defects" hidden>' in quiet  # no finding to act on cites a defect


def test_the_page_has_one_missing_information_card_titled_by_what_is_missing():
    html = report_of("no-traffic-server.tar.gz").to_html()
    assert html.count('class="missing-group"') == 1
    assert "Missing: traffic_server lines" in html
    assert html.count('data-status="missing-info" open') == 0  # the ten checks fold under it


def test_the_timeline_splits_a_server_by_port_and_keeps_its_4xx_dots():
    from logscope.render.timeline import build_timeline

    timeline = build_timeline(report_of("x14.2-ecdsa-self-signed-6972.tar.gz"))
    names = [row["name"] for row in timeline.rows]
    assert "cucm.uc.example.net:6972" in names and "cucm.uc.example.net:8443" in names
    assert names.index("cucm.uc.example.net:6972") < names.index("cucm.uc.example.net:8443")  # failing first
    assert {kind for _x, _y, kind in timeline.points} >= {"ok", "client-error", "failed"}


def test_a_debug_marker_line_appears_on_the_timeline():
    lines = (SAMPLE_LOGS.parent / "tests" / "data" / "seed003_lines.log").read_bytes().split(b"\n")
    marker = (
        b'2022-07-11T18:55:26.500+02:00 vcsc admin: UTCTime="2022-07-11 16:55:26,500" '
        b'Module="developer.diagnostics" Level="INFO": Detail="DEBUG_MARKER before the <login> test"'
    )
    report = analyze(b"\n".join([*lines[:3], marker, *lines[3:]]), all_events=True)
    html = report.to_html()
    assert 'class="marker-label"' in html and "before the &lt;login&gt; test" in html
    assert "2022-07-11 16:55:26.500 UTC: before the &lt;login&gt; test" in html


def test_a_debug_marker_on_a_line_the_parser_does_not_keep_still_appears_on_the_timeline():
    lines = (SAMPLE_LOGS.parent / "tests" / "data" / "seed003_lines.log").read_bytes().split(b"\n")
    marker = (
        b'2022-07-11T18:55:26.500+02:00 vcsc admin: UTCTime="2022-07-11 16:55:26,500" '
        b'Module="developer.diagnostics" Level="INFO": Detail="DEBUG_MARKER before the <login> test"'
    )
    report = analyze(b"\n".join([*lines[:3], marker, *lines[3:]]))  # default: traffic_server lines only
    assert not report.events["raw"].astype(str).str.contains("DEBUG_MARKER").any()  # not kept as an event
    (found,) = report.markers
    assert (found["node"], found["line"], found["text"]) == ("vcsc", 4, "before the <login> test")
    assert str(found["ts"]) == "2022-07-11 16:55:26.500000+00:00"
    html = report.to_html()
    assert "2022-07-11 16:55:26.500 UTC: before the &lt;login&gt; test" in html


def test_two_bundles_with_one_host_name_each_show_their_own_certificate_and_alarms(tmp_path):
    import io
    import tarfile

    renamed = io.BytesIO()  # expc2's bundle, its members named for expc1: one host name, two machines
    original = SAMPLE_LOGS / "node-certificates" / "expc2.tar.gz"
    with tarfile.open(original) as source, tarfile.open(fileobj=renamed, mode="w:gz") as target:
        for member in (m for m in source if m.isfile()):
            data = source.extractfile(member).read()
            info = tarfile.TarInfo(member.name.replace("expc2", "expc1"))
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    (tmp_path / "second.tar.gz").write_bytes(renamed.getvalue())
    report = analyze([SAMPLE_LOGS / "node-certificates" / "expc1.tar.gz", tmp_path / "second.tar.gz"])
    first, second = report.nodes
    assert (first.label, second.label) == ("expc1 (expc1.tar.gz)", "expc1 (second.tar.gz)")
    assert first.certificate["subject"].startswith("CN=expc1.example.com")
    assert second.certificate["subject"].startswith("CN=expc2.example.com")
    assert first.trust_store["size"] != second.trust_store["size"]
    assert [a["alarm_id"] for a in first.alarms] == ["40068"]  # each node its own xstat's alarms
    assert [a["alarm_id"] for a in second.alarms] == ["40040", "25019"]
