"""logscope on the logs a real Apache Traffic Server wrote: the right signature, status and server per case.

Each lab run's folder holds only that run's diags.log and error.log (plus cases.json), so each report
is about one policy. What the logs hold per case is pinned in test_ats_lines_per_cause.py; these
tests pin what logscope must make of it:

- a certificate failure under ENFORCED (`Action=Terminate`) is its signature at `issue`, naming the
  server, its IP and (from error.log's CONNECT lines, the only place with it) its port;
- the same failure under PERMISSIVE (`Action=Continue`) is the same signature at `potential`;
- an origin refusing the proxy's client certificate over TLS 1.2 leaves only CONNECT lines at default
  diagnostics: a 502 the log does not explain (`ts-502-unexplained`, `missing-info`); with the
  `ssl.error` debug tag the peer's alert is named and it is `ts-upstream-rejects-expressway`;
- over TLS 1.3 nothing is logged, so nothing may be blamed on that origin;
- the healthy origin appears in no finding at `issue`.
"""

from __future__ import annotations

import ipaddress

import ats_lab
import pytest

import logscope

pytestmark = pytest.mark.lab


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> ats_lab.LabRun:
    return ats_lab.shared_lab_run(tmp_path_factory)


CERT_SIGNATURES = {
    "selfsigned-rsa": "ts-cert-self-signed",
    "selfsigned-ecdsa": "ts-cert-self-signed",
    "untrusted-root": "ts-cert-unknown-ca",
    "issuer-missing": "ts-cert-issuer-missing",
    "expired": "ts-cert-expired",
    "not-yet-valid": "ts-cert-expired",
    "name-mismatch-ip": "ts-cert-name-mismatch",
    "name-mismatch-dns": "ts-cert-name-mismatch",
    "wrong-purpose": "ts-cert-verify-other",
}


@pytest.fixture(scope="module")
def reports(lab) -> dict[str, logscope.Report]:
    return {run: logscope.analyze(folder) for run, folder in lab.folders.items()}


def server_of(finding, case: dict):
    """The finding's server entry for the lab case's origin (matched on IP), or None."""
    return next((server for server in finding.servers if server.ip == case["ip"]), None)


def names_origin(finding, case: dict) -> bool:
    """Whether any server entry of the finding is the case's origin, by IP or by name."""
    return any(s.ip == case["ip"] or s.name == case["server_name"] for s in finding.servers)


def issue_findings_naming(report, ip: str) -> list[str]:
    return [f.id for f in report.findings if f.status == "issue" and any(s.ip == ip for s in f.servers)]


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def test_the_lab_cases_expect_these_signatures(lab):
    """The lab's own table and this file agree on what each certificate case must raise."""
    for name, signature in CERT_SIGNATURES.items():
        assert lab.cases[name]["expected_signature"] == signature


@pytest.mark.parametrize("name", list(CERT_SIGNATURES))
def test_enforced_certificate_failure_is_its_signature_at_issue(lab, reports, name):
    case = lab.cases[name]
    finding = reports["enforced"].finding(CERT_SIGNATURES[name])
    assert finding is not None
    assert finding.status == "issue"
    server = server_of(finding, case)
    assert server is not None, [(s.name, s.ip) for s in finding.servers]
    assert server.name == case["server_name"]
    assert case["port"] in server.ports
    assert server.count >= 1


@pytest.mark.parametrize("run", ["enforced", "ssl-debug"])
@pytest.mark.parametrize("name", list(CERT_SIGNATURES))
def test_certificate_failure_is_blamed_on_one_certificate_signature(lab, reports, run, name):
    """In the ssl-debug run each warning has an `(ssl.error) SSL connection failed for '<server>':
    ... certificate verify failed` line beside it, a few milliseconds later and not always adjacent
    (other connections' lines interleave): it is the same failure, not another cause."""
    case = lab.cases[name]
    blamed = [f.id for f in reports[run].findings if f.id.startswith("ts-cert-") and names_origin(f, case)]
    assert blamed == [CERT_SIGNATURES[name]]


def test_enforced_issues_are_exactly_the_causes_the_lab_made(reports):
    """No signature at `issue` beyond the lab's causes. `mra-address-not-fqdn` may name the origin the
    proxy reaches by IP address, and nothing else."""
    issues = {f.id: f for f in reports["enforced"].findings if f.status == "issue"}
    address = issues.pop("mra-address-not-fqdn", None)
    if address is not None:
        assert all(is_ip(s.name) for s in address.servers)
    assert set(issues) == set(CERT_SIGNATURES.values())


@pytest.mark.parametrize("name", list(CERT_SIGNATURES))
def test_permissive_certificate_failure_is_its_signature_at_potential(lab, reports, name):
    case = lab.cases[name]
    finding = reports["permissive"].finding(CERT_SIGNATURES[name])
    assert finding is not None
    assert finding.status == "potential"
    server = server_of(finding, case)
    assert server is not None
    assert server.name == case["server_name"]


def test_permissive_run_has_no_certificate_issue(reports):
    assert [
        f.id for f in reports["permissive"].findings if f.status == "issue" and f.id.startswith("ts-cert-")
    ] == []


@pytest.mark.parametrize("run", ["enforced", "permissive"])
def test_client_cert_refused_over_tls12_is_a_502_the_log_does_not_explain(lab, reports, run):
    """Default diagnostics: error.log says the SSL connect failed, diags.log says nothing, so the
    bundle cannot tell why; the finding asks for the debug loggers."""
    case = lab.cases["client-cert-rejected-tls12"]
    finding = reports[run].finding("ts-502-unexplained")
    assert finding is not None
    assert finding.status == "missing-info"
    server = server_of(finding, case)
    assert server is not None
    assert case["port"] in server.ports
    assert server.name == case["host_name"], "named as ATS names the origin in error.log's url"
    # Every other failed connect is explained by its certificate warning; TLS 1.3 left no line.
    assert [s.ip for s in finding.servers] == [case["ip"]]
    assert issue_findings_naming(reports[run], case["ip"]) == []


def test_client_cert_refused_over_tls12_with_ssl_debug_is_the_upstream_rejecting_us(lab, reports):
    """The `ssl.error` debug line names the server and the peer's alert (`tlsv1 alert unknown ca`)."""
    case = lab.cases["client-cert-rejected-tls12"]
    finding = reports["ssl-debug"].finding("ts-upstream-rejects-expressway")
    assert finding is not None
    assert finding.status == "issue"
    assert case["host_name"] in [server.name for server in finding.servers]


def test_client_cert_refused_over_tls13_is_blamed_on_nothing(lab, reports):
    case = lab.cases["client-cert-rejected-tls13"]
    for report in reports.values():
        assert issue_findings_naming(report, case["ip"]) == []
        assert [f.id for f in report.findings if any(s.name == case["host_name"] for s in f.servers)] == []


def test_healthy_origin_is_in_no_issue_finding(lab, reports):
    case = lab.cases["healthy"]
    for report in reports.values():
        assert issue_findings_naming(report, case["ip"]) == []


def test_ssl_debug_run_raises_the_same_certificate_issues(reports):
    """Debug lines beside the warnings change nothing about the certificate findings."""
    enforced = {
        f.id for f in reports["enforced"].findings if f.status == "issue" and f.id.startswith("ts-cert-")
    }
    debug = {
        f.id for f in reports["ssl-debug"].findings if f.status == "issue" and f.id.startswith("ts-cert-")
    }
    assert debug == enforced == set(CERT_SIGNATURES.values())
