"""Input acceptance and excerpts (issue 11, items 4 and 5): a file is an Expressway/ATS log when its lines
carry their bodies in any dialect; other software's TLS logs are refused with one line and exit 2."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

import logscope
from dialects import DIALECTS
from logscope.cli import main
from logscope.errors import BundleError

# Made-up lines in the shapes other software writes, with OpenSSL's own words.
OTHER_SOFTWARE = {
    "nginx": "2024/01/01 10:00:00 [error] 123#0: *1 SSL_do_handshake() failed (SSL: error:0A000086:SSL"
    " routines::certificate verify failed) while SSL handshaking to upstream, client: 192.0.2.5\n",
    "apache-mod_ssl": "[Mon Jan 01 10:00:00.123456 2024] [ssl:error] [pid 4242] AH02039: Certificate Verification:"
    " Error (20): unable to get local issuer certificate\n",
    "postfix": "Jan  1 10:00:00 mx1 postfix/smtp[999]: warning: TLS library problem: error:0A000086:SSL"
    " routines::certificate verify failed\n",
    "openvpn": "2024-01-01 10:00:00 VERIFY ERROR: depth=0, error=self-signed certificate: CN=server\n"
    "2024-01-01 10:00:00 OpenSSL: error:0A000086:SSL routines::certificate verify failed\n",
    "haproxy": "Jan  1 10:00:00 lb1 haproxy[77]: 192.0.2.9:4433 [01/Jan/2024:10:00:00.001] fe/1: SSL handshake"
    " failure (error:0A000418:SSL routines::tlsv1 alert unknown ca)\n",
    "logfmt-service": 'time="2024-01-01T10:00:00Z" level="error" msg="x509: certificate signed by unknown'
    ' authority" component="tls"\n',
}
SELF_SIGNED = (
    "WARNING: Core server certificate verification failed for (cucm1.example.com). Action=Terminate"
    " Error=self signed certificate server=cucm1.example.com(192.0.2.11) depth=0"
)


@pytest.mark.parametrize("name", sorted(OTHER_SOFTWARE))
def test_other_softwares_tls_log_is_refused_with_one_line_and_exit_2(name, tmp_path):
    path = tmp_path / f"{name}.log"
    path.write_text(OTHER_SOFTWARE[name])
    with pytest.raises(BundleError):
        logscope.analyze(path)
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 2
    assert "looked for" in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "line",
    [
        f"Mar  4 09:12:44 expc1 traffic_server[2210]: [ET_NET 3] {SELF_SIGNED}",
        f"<134>1 2026-03-04T09:12:44.120+01:00 expc1 traffic_server 2210 - - [ET_NET 3] {SELF_SIGNED}",
        f"Line 7: expc1 traffic_server[2210]: {{0x7f51c3a0e700}} {SELF_SIGNED}",
        f"{{0x7f51c3a0e700}} {SELF_SIGNED}",
    ],
    ids=["bsd-syslog", "rfc5424", "line-prefix-no-time", "bare-ats-8"],
)
def test_a_log_in_a_dialect_is_read_and_names_server_and_cause(line, tmp_path):
    path = tmp_path / "excerpt.txt"
    path.write_text(line + "\n")
    report = logscope.analyze(path)
    finding = report.finding("ts-cert-self-signed")
    assert finding.status == "issue"
    assert [(s.name, s.ip) for s in finding.servers] == [("cucm1.example.com", "192.0.2.11")]
    assert report.unrecognised_tls_lines == []


def test_an_excerpt_without_time_or_node_says_so_and_stdin_reads_the_same(tmp_path):
    text = f"{{0x7f51c3a0e700}} {SELF_SIGNED}\n"
    result = CliRunner().invoke(main, ["analyze", "-"], input=text)
    assert result.exit_code == 1, result.output
    header = result.output.splitlines()[0]
    assert "node unknown" in header and "times unknown" in header
    assert "cucm1.example.com" in result.output
    document = CliRunner().invoke(main, ["analyze", "-", "--format", "json"], input=text).output
    assert '"ts-cert-self-signed"' in document


BSD_WARNING = (
    b"Mar  4 09:13:00 expc1 traffic_server[2210]: [ET_NET 1] WARNING: Core server certificate verification failed"
    b" for (a.lab). Action=Terminate Error=self-signed certificate server=a.lab(127.0.0.11) depth=0\n"
)
BSD_WITH_UTCTIME = (
    b'Mar  4 09:13:05 expc1 traffic_server[2210]: UTCTime="2026-03-04 08:13:05,120" Module="network.http.'
    b'trafficserver" Level="INFO": Detail="Sending Response" Txn-id="78" TrackingID="" Dst-ip="127.0.0.1"'
    b' Dst-port="35766" Msg="HTTP/1.1 502 connect failed"\n'
)


def test_bsd_syslog_times_with_no_zone_anywhere_are_read_as_utc_and_the_report_says_so():
    warnings = logscope.analyze(BSD_WARNING).warnings
    assert any("read as UTC" in warning and "expc1" in warning for warning in warnings)


def test_bsd_syslog_lines_take_the_zone_and_year_their_node_s_utctime_lines_give():
    report = logscope.analyze(BSD_WARNING + BSD_WITH_UTCTIME)
    assert not any("read as UTC" in warning for warning in report.warnings)


SNAPSHOT_LINES = [
    '2026-03-04T09:12:44.120+01:00 expc1 traffic_server[2210]: UTCTime="2026-03-04 08:12:44,120" Module="network'
    '.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="78" TrackingID="t-1" Src-ip="127.0.0.1"'
    ' Src-port="35766" Last-via-addr="" Msg="GET http://vcs_control.example.com:8443/ZXhhbXBsZS5jb20vaHR0cHMvY'
    '3VjbS5leGFtcGxlLmNvbS82OTcy/CSFemusk.cnf.xml HTTP/1.1"',
    '2026-03-04T09:12:44.130+01:00 expc1 tvcs: UTCTime="2026-03-04 08:12:44,130" Module="network.sip" Level="INFO":'
    ' Action="Received" Local-ip="192.0.2.1" Local-port="5061" Src-ip="192.0.2.2" Src-port="25001"',
    '2026-03-04T09:12:44.140+01:00 expc1 edgeconfigprovisioning[88]: UTCTime="2026-03-04 08:12:44,140"'
    ' Module="edgeconfigprovisioning" Level="INFO": Detail="Edge configuration served"',
    f"2026-03-04T09:12:44.150+01:00 expc1 traffic_server[2210]: [ET_NET 3] {SELF_SIGNED}",
]


@pytest.mark.parametrize("name", ["bsd_syslog", "rfc5424"])
def test_a_syslog_servers_copy_reads_the_rows_of_its_pristine_form(name):
    """A BSD or RFC 5424 copy names its processes as the snapshot does, so it is pre-selected as the
    snapshot is: its other processes' lines are not read as events (1.35x the rows before)."""
    copy = DIALECTS[name].transform(SNAPSHOT_LINES, random.Random(7))
    pristine = logscope.analyze("\n".join(SNAPSHOT_LINES).encode() + b"\n").events
    rendered = logscope.analyze("\n".join(copy).encode() + b"\n").events
    rows = {(line, str(kind)) for line, kind in zip(pristine["line"], pristine["kind"], strict=True)}
    assert {(line, str(kind)) for line, kind in zip(rendered["line"], rendered["kind"], strict=True)} == rows
    assert sorted(line for line, _ in rows) == [1, 4]
