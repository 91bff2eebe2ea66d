"""What a real Apache Traffic Server 9.2 (Debian, OpenSSL 3) writes for each certificate failure cause.

Read straight from the diags.log and error.log the lab's traffic_server instances wrote, with regexes
local to this file (not logscope's grammars), so these tests pin ATS's behaviour, not ours.
"""

from __future__ import annotations

import re

import ats_lab
import pytest

pytestmark = pytest.mark.lab


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> ats_lab.LabRun:
    return ats_lab.shared_lab_run(tmp_path_factory)


STAMP = r"\[[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\.\d{3}\]"
CORE_WARNING = re.compile(
    rf"^{STAMP} \[ET_NET \d+\] WARNING: Core server certificate verification failed for \((?P<sni>[^)]*)\)\. "
    r"Action=(?P<action>\w+) Error=(?P<error>.+) server=(?P<server>[^(\s]+)\((?P<ip>[^)]+)\) depth=(?P<depth>\d+)$"
)
SNI_WARNING = re.compile(
    rf"^{STAMP} \[ET_NET \d+\] WARNING: SNI \((?P<sni>[^)]*)\) not in certificate\. "
    r"Action=(?P<action>\w+) server=(?P<server>[^(\s]+)\((?P<ip>[^)]+)\)$"
)
CONNECT_FAIL = re.compile(
    r"^\d{8}\.\d\dh\d\dm\d\ds CONNECT: attempt fail \[CONNECTION_ERROR\] to (?P<ip>[\d.]+):(?P<port>\d+) "
    r"for host='(?P<host>[^']*)' connection_result=(?P<result>[A-Z_]+ \[-?\d+\]) "
    r"error=(?P<error>[A-Z_]+ \[-?\d+\]) attempts=(?P<attempts>\d+) url='(?P<url>[^']*)'$"
)
ENVELOPE = re.compile(
    rf"^{STAMP} (?:traffic_server|\[[A-Z_]+(?: \d+)?\]) (?P<level>STATUS|NOTE|WARNING|ERROR|DEBUG|DIAG): "
)
SSL_FAILED = re.compile(r"\(ssl\.error\) SSL connection failed for '(?P<server>[^']*)': (?P<reason>.+)$")

# OpenSSL 3 wording of X509_verify_cert_error_string() and the depth ATS reports, per cause.
VERIFY_ERRORS = {
    "selfsigned-rsa": ("self-signed certificate", 0),
    "selfsigned-ecdsa": ("self-signed certificate", 0),
    "untrusted-root": ("self-signed certificate in certificate chain", 2),
    "issuer-missing": ("unable to get local issuer certificate", 0),
    "expired": ("certificate has expired", 0),
    "not-yet-valid": ("certificate is not yet valid", 0),
    "wrong-purpose": ("unsuitable certificate purpose", 0),
}
NAME_MISMATCH = ("name-mismatch-ip", "name-mismatch-dns")
CERT_CASES = (*VERIFY_ERRORS, *NAME_MISMATCH)
# proxy.config.http.connect_attempts_max_retries is left at its default (3): a failed request is
# four connect attempts, each with its own warning and its own error.log line.
ATTEMPTS_PER_REQUEST = 4


def matches(pattern: re.Pattern[str], lines: list[str], ip: str) -> list[re.Match[str]]:
    return [m for m in map(pattern.match, lines) if m and m["ip"] == ip]


def connect_lines(lines: list[str], ip: str, port: int) -> list[re.Match[str]]:
    return [m for m in matches(CONNECT_FAIL, lines, ip) if int(m["port"]) == port]


def mentions(lines: list[str], *needles: str) -> list[str]:
    """Lines naming any of `needles`, leaving out the `hostdb` debug lines the lab itself enables in
    the ssl-debug run (they name every origin as its name is resolved)."""
    return [line for line in lines if "(hostdb)" not in line and any(needle in line for needle in needles)]


@pytest.mark.parametrize("name", list(VERIFY_ERRORS))
def test_enforced_verification_failure_is_a_terminate_warning_per_connect_attempt(lab, name):
    case = lab.cases[name]
    error, depth = VERIFY_ERRORS[name]
    warnings = matches(CORE_WARNING, lab.diags(), case["ip"])
    assert len(warnings) == ATTEMPTS_PER_REQUEST, lab.diags()
    for warning in warnings:
        assert warning["sni"] == case["server_name"]
        assert warning["server"] == case["server_name"]
        assert (warning["action"], warning["error"], int(warning["depth"])) == ("Terminate", error, depth)
    assert len(connect_lines(lab.error_log(), case["ip"], case["port"])) == len(warnings)
    assert case["runs"]["enforced"]["http_status"] == 502


@pytest.mark.parametrize("name", NAME_MISMATCH)
def test_enforced_name_mismatch_is_an_sni_warning_not_a_verify_error(lab, name):
    case = lab.cases[name]
    warnings = matches(SNI_WARNING, lab.diags(), case["ip"])
    assert len(warnings) == ATTEMPTS_PER_REQUEST
    for warning in warnings:
        assert (warning["sni"], warning["server"], warning["action"]) == (
            case["server_name"],
            case["server_name"],
            "Terminate",
        )
    assert matches(CORE_WARNING, lab.diags(), case["ip"]) == []
    assert len(connect_lines(lab.error_log(), case["ip"], case["port"])) == ATTEMPTS_PER_REQUEST


def test_name_mismatch_by_ip_names_the_ip_as_server_and_sni(lab):
    case = lab.cases["name-mismatch-ip"]
    assert case["server_name"] == case["ip"]
    (first, *_) = matches(SNI_WARNING, lab.diags(), case["ip"])
    assert first["sni"] == first["server"] == first["ip"] == case["ip"]


def test_default_diagnostics_write_no_error_line(lab):
    levels = [m["level"] for m in map(ENVELOPE.match, lab.diags()) if m]
    assert "ERROR" not in levels
    assert "WARNING" in levels


@pytest.mark.parametrize("run", ["enforced", "permissive", "ssl-debug"])
def test_every_diags_line_has_the_stock_envelope(lab, run):
    lines = lab.diags(run)
    assert lines
    assert [line for line in lines if not ENVELOPE.match(line)] == []


@pytest.mark.parametrize("run", ["enforced", "permissive", "ssl-debug"])
def test_every_connect_line_names_its_origin_and_url(lab, run):
    by_address = {(case["ip"], case["port"]): case for case in lab.cases.values()}
    lines = lab.error_log(run)
    for line in lines:
        match = CONNECT_FAIL.match(line)
        assert match, line
        case = by_address[(match["ip"], int(match["port"]))]
        assert match["host"] == case["host_name"]
        assert match["url"] == f"https://{case['server_name']}:{case['port']}{lab.meta['request_path']}"
        assert match["result"] == match["error"] == "ENET_SSL_CONNECT_FAILED [-20104]"
        assert 0 <= int(match["attempts"]) < ATTEMPTS_PER_REQUEST


def test_client_cert_refused_over_tls12_leaves_only_connect_lines(lab):
    case = lab.cases["client-cert-rejected-tls12"]
    assert mentions(lab.diags(), case["ip"], case["host_name"]) == []
    assert len(connect_lines(lab.error_log(), case["ip"], case["port"])) == ATTEMPTS_PER_REQUEST
    assert case["runs"]["enforced"]["http_status"] == 502
    assert any("certificate verify failed" in e for e in case["runs"]["enforced"]["origin_handshake_errors"])


def test_client_cert_refused_over_tls13_leaves_no_line_at_all(lab):
    case = lab.cases["client-cert-rejected-tls13"]
    for run in ("enforced", "permissive", "ssl-debug"):
        assert mentions(lab.error_log(run), case["ip"], case["host_name"]) == []
        assert case["runs"][run]["http_status"] == 502
    assert mentions(lab.diags(), case["ip"], case["host_name"]) == []
    # The origin did refuse the proxy's certificate: the failure is real, ATS just does not say.
    assert any("certificate verify failed" in e for e in case["runs"]["enforced"]["origin_handshake_errors"])


def test_healthy_origin_answers_and_leaves_no_line(lab):
    case = lab.cases["healthy"]
    for run in ("enforced", "permissive", "ssl-debug"):
        assert case["runs"][run]["http_status"] == 200
        assert mentions(lab.diags(run), case["ip"], case["host_name"]) == []
        assert mentions(lab.error_log(run), case["ip"], case["host_name"]) == []


@pytest.mark.parametrize("name", CERT_CASES)
def test_permissive_failure_is_a_continue_warning_and_the_request_succeeds(lab, name):
    case = lab.cases[name]
    lines = lab.diags("permissive")
    warnings = matches(CORE_WARNING, lines, case["ip"]) + matches(SNI_WARNING, lines, case["ip"])
    assert warnings
    assert {w["action"] for w in warnings} == {"Continue"}
    assert {w["server"] for w in warnings} == {case["server_name"]}
    assert mentions(lab.error_log("permissive"), case["ip"]) == []
    assert case["runs"]["permissive"]["http_status"] == 200


def test_permissive_missing_issuer_adds_unable_to_verify_the_first_certificate(lab):
    """With the callback letting verification go on, OpenSSL reports the leaf's unverifiable signature
    too: two warnings for one handshake, both depth 0."""
    case = lab.cases["issuer-missing"]
    warnings = matches(CORE_WARNING, lab.diags("permissive"), case["ip"])
    assert [(w["error"], w["depth"]) for w in warnings] == [
        ("unable to get local issuer certificate", "0"),
        ("unable to verify the first certificate", "0"),
    ]


@pytest.mark.parametrize("name", CERT_CASES)
def test_ssl_debug_adds_the_openssl_reason_beside_each_warning(lab, name):
    case = lab.cases[name]
    reasons = [
        m["reason"]
        for m in map(SSL_FAILED.search, lab.diags("ssl-debug"))
        if m and m["server"] == case["server_name"]
    ]
    assert reasons == ["error:0A000086:SSL routines::certificate verify failed"] * ATTEMPTS_PER_REQUEST


def test_ssl_debug_names_the_peer_alert_when_tls12_origin_refuses_the_client_cert(lab):
    case = lab.cases["client-cert-rejected-tls12"]
    reasons = {
        m["reason"]
        for m in map(SSL_FAILED.search, lab.diags("ssl-debug"))
        if m and m["server"] == case["host_name"]
    }
    assert reasons == {"error:0A000418:SSL routines::tlsv1 alert unknown ca"}
    assert [w for w in lab.diags("ssl-debug") if " WARNING: " in w and case["ip"] in w] == []


def test_ssl_debug_shows_the_tls13_refusal_only_as_an_unattributed_read_error(lab):
    case = lab.cases["client-cert-rejected-tls13"]
    lines = lab.diags("ssl-debug")
    assert mentions(lines, f"SSL connection failed for '{case['host_name']}'", f"({case['ip']})") == []
    read_errors = mentions(lines, "(ssl.error.read) SSL read returned 0")
    assert read_errors
    assert all(line.endswith("(error:0A000418:SSL routines::tlsv1 alert unknown ca)") for line in read_errors)
