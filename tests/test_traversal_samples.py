"""The traversal sample pairs (issue 15): what the findings say beside their statuses (scenarios.toml
pins those): the cross-checks with each side's certificates and xconf, the roles worked out from the
traversal, and the checks that must not take a -C/-E pair for a cluster."""

from __future__ import annotations

import tarfile
from functools import cache

import logscope
from conftest import SAMPLE_LOGS


@cache
def report_for(path: str) -> logscope.Report:
    return logscope.analyze(SAMPLE_LOGS / path)


def test_an_expressway_c_and_e_with_different_trust_stores_are_not_cluster_peers():
    """The -C and -E trust different CAs by design: trust-store-differs compares cluster peers only."""
    assert report_for("traversal-untrusted-pair").finding("trust-store-differs").status == "ok"
    assert report_for("ssh-tunnel-down-pair").finding("trust-store-differs").status == "ok"


def _file_evidence(finding) -> list:
    return [e for e in finding.evidence if e.role in ("config", "certificates")]


def test_identity_finding_names_the_peer_address_the_e_certificate_lacks():
    """Item 3: the -C zone's peer address against the -E certificate (the name that fails, quoted from
    the -C's xconf and the -E's PEM) and the -E's subject name against the -C certificate (fine)."""
    finding = report_for("traversal-identity-pair").finding("traversal-tls-identity")
    quoted = {
        (e.role, e.node, e.source.rsplit(":", 1)[-1].split("_")[0]): e.text for e in _file_evidence(finding)
    }
    assert set(quoted) == {("config", "expc1", "xconf"), ("certificates", "expe1", "server")}
    assert "Peer 1 Address: 203.0.113.10" in quoted[("config", "expc1", "xconf")]
    assert "expe1.example.com, example.com" in quoted[("certificates", "expe1", "server")]
    assert "expe1's certificate does not carry it (expe1.example.com, example.com)" in finding.description
    assert "expc1's certificate carries it (expc1.example.com): this check is fine" in finding.description


def test_single_side_identity_says_which_c_file_would_show_the_subject_name():
    finding = report_for("traversal-e-only.tar.gz").finding("traversal-tls-identity")
    assert finding.status == "issue"
    assert "TLS Verify Subject Name is expc.example.com" in finding.description
    assert "no certificate of the Expressway-C was given; its server_*.pem would show" in finding.description
    assert _file_evidence(finding) == []  # nothing to quote from a side that was not given


def test_untrusted_finding_names_the_cas_the_c_trust_store_lacks():
    """The -E is fine, the -C is not: the -E certificate's CAs are missing from the -C's list only."""
    finding = report_for("traversal-untrusted-pair").finding("traversal-tls-untrusted")
    quoted = [(e.node, e.source.rsplit(":", 1)[-1], e.text) for e in _file_evidence(finding)]
    assert [(node, source.split("_")[0]) for node, source, _ in quoted] == [("expc1", "ca")] * 2
    assert [text.split(",")[0] for _, _, text in quoted] == [
        "not in this list: CN=Edge Issuing CA",
        "not in this list: CN=Edge Root CA",
    ]
    assert "expe1's trusted CA list" not in finding.description
    assert "nan" not in finding.description.split()  # the -E developer line has no Detail=: its reason
    assert finding.description.count("\n- expe1 (Expressway-E, Inbound") == 1  # one connection, one line


def test_ssh_tunnel_down_names_the_renewed_intermediate_the_c_does_not_trust():
    """Seed 002: after the -E's renewal the -C trusts the root (zone up) but not the new intermediate."""
    finding = report_for("ssh-tunnel-down-pair").finding("ssh-tunnel-down")
    quoted = [(e.node, e.role, e.text) for e in finding.evidence if e.role == "certificates"]
    assert quoted == [
        ("expc1", "certificates", "not in this list: CN=Example Issuing CA 2,O=Example Corp, a CA of expe1's "
         "certificate path")
    ]  # fmt: skip
    assert "lacks CN=Example Issuing CA 2,O=Example Corp, of expe1's certificate path" in finding.description


def test_a_log_only_bundle_gets_its_role_from_its_traversal_lines(tmp_path):
    """Item 4: with no xconf or xstat, the node's role comes from the direction of its tvcs lines, and
    nodes[].role and role_source say so (the finding's single-side answer is unchanged)."""
    with tarfile.open(SAMPLE_LOGS / "traversal-e-only.tar.gz") as archive:
        log = next(m for m in archive.getmembers() if m.name.startswith("loggingsnapshot_"))
        archive.extract(log, tmp_path, filter="data")
    report = logscope.analyze(tmp_path)
    node = report.to_dict()["nodes"][0]
    assert (node["host"], node["role"], node["role_source"]) == ("expe1", "Expressway-E", "log")
    assert report.traversal["nodes"][0]["role_source"] == "log"
    assert report.finding("traversal-tls-identity").status == "issue"


def test_a_checked_name_matches_case_blind_an_address_as_an_address_and_one_wildcard_label():
    from logscope.signatures.traversal_crosscheck import name_in

    assert name_in("ExpE1.Example.com.", ["expe1.example.com"])
    assert name_in("2001:db8::10", ["expe1.example.com", "2001:DB8:0:0::10"])
    assert name_in("expe1.example.com", ["*.example.com"])
    assert not name_in("a.expe1.example.com", ["*.example.com"])
    assert not name_in("203.0.113.10", ["expe1.example.com", "203.0.113.1"])


def test_a_disconnect_the_e_never_logged_says_so():
    finding = report_for("traversal-path-disconnect-pair").finding("traversal-path-disconnect")
    assert finding.status == "potential"
    assert "The Expressway-E's log, given, holds no failure line for this connection." in finding.description


def test_the_untrusted_pair_fails_on_the_c_that_rejects_and_calls_the_e_healthy():
    """Item 2: the -C lacks the -E's CA and rejects; the -E, whose alert the finding quotes, is fine:
    the terminal, the page and the JSON name the -C as failing and the -E as healthy."""
    from logscope.render.html import render_html
    from logscope.render.json import findings_document
    from logscope.render.text import render_text

    report = report_for("traversal-untrusted-pair")
    assert report.finding("traversal-tls-untrusted").status == "issue"
    assert "failing on expc1; healthy: expe1" in render_text(report, width=200)
    assert "failing on expc1; healthy: expe1" in render_html(report)
    document = next(f for f in findings_document(report) if f["id"] == "traversal-tls-untrusted")
    assert (document["nodes_failing"], document["nodes_healthy"]) == (["expc1"], ["expe1"])


def test_the_identity_pair_fails_on_the_c_whose_peer_address_the_e_certificate_lacks():
    """The -C rejects the -E certificate (its zone's peer address must change): the -E's alert lines
    are quoted, yet the -E is healthy."""
    from logscope.render.json import findings_document

    document = next(
        f
        for f in findings_document(report_for("traversal-identity-pair"))
        if f["id"] == "traversal-tls-identity"
    )
    assert (document["nodes_failing"], document["nodes_healthy"]) == (["expc1"], ["expe1"])


def test_the_c_bundle_alone_of_the_identity_pair_is_an_issue_naming_the_e_file_that_shows_the_sans():
    """Issue 15's Details: with the -C only, an identity failure is issue and the finding says which
    -E file would confirm the SANs; nothing is quoted from the side not given."""
    finding = report_for("traversal-identity-pair/expc1.tar.gz").finding("traversal-tls-identity")
    assert finding.status == "issue"
    assert (
        "The Expressway-E's bundle was not given: its server certificate (server_*.pem)"
        in finding.description
    )
    assert "peer address is 203.0.113.10" in finding.description
    assert "no certificate of the Expressway-E was given; its server_*.pem would show" in finding.description
    assert {e.node for e in finding.evidence} == {"expc1"}


def test_the_e_bundle_alone_of_the_identity_pair_is_no_missing_ca_and_names_the_c_log_that_settles_it():
    """The -E holds only the -C's `bad certificate` alerts: not a CA missing (OpenSSL says `unknown ca`
    for those) but a potential identity failure, the -C's loggingsnapshot settling which check failed."""
    report = report_for("traversal-identity-pair/expe1.tar.gz")
    assert report.finding("traversal-tls-untrusted").status == "ok"
    finding = report.finding("traversal-tls-identity")
    assert finding.status == "potential"
    assert "the Expressway-C's loggingsnapshot_*.txt" in finding.description
    assert (
        "the Expressway-C checks the zone's peer address against the Expressway-E certificate"
        in finding.description
    )
