"""Never crash: a hostile field costs that field, a failing line is counted, a failing check says so.

design.md, "Second-wave contracts", layers (b) and (d); issue 10.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import logscope

SCHEMA = json.loads((Path(logscope.__file__).parent / "report.schema.json").read_text())

WARNING = (
    "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[{pid}]: [ET_NET 0] WARNING: Core server "
    "certificate verification failed for (cucm.steven.lab). Action=Terminate Error={error} "
    "server={server} depth={depth}\n"
)
HUGE = "9" * 30  # wider than 64 bits


def warning(pid="18242", error="self signed certificate", server="cucm.steven.lab(10.48.36.215)", depth="0"):
    return WARNING.format(pid=pid, error=error, server=server, depth=depth).encode()


@pytest.mark.parametrize(
    "line",
    [
        warning(pid=HUGE),
        warning(depth=HUGE),
    ],
    ids=["pid", "depth"],
)
def test_an_integer_wider_than_64_bits_becomes_missing_and_the_line_is_still_read(line):
    report = logscope.analyze(line)
    assert report.finding("ts-cert-self-signed").status == "issue"
    failure = report.tls_failures.iloc[-1]
    assert failure["verify_error"] == "self signed certificate"
    assert str(report.events["pid"].dtype) == "Int64" and str(report.events["depth"].dtype) == "Int64"


def test_a_cut_server_field_with_a_depth_that_disagrees_keeps_its_finding():
    report = logscope.analyze(warning(server="cucm.ste", depth="1"))
    finding = report.finding("ts-cert-self-signed")
    assert finding.status == "issue"
    assert any("depth=1 disagree" in note for note in finding.notes)
    assert not report.incomplete


def test_a_port_outside_0_65535_is_not_a_port_and_the_report_fits_its_schema(tmp_path):
    diags = (
        b"[Nov 22 15:10:45.188] [ET_NET 0] WARNING: Core server certificate verification failed for "
        b"(untrustedroot.lab). Action=Terminate Error=self-signed certificate in certificate chain "
        b"server=untrustedroot.lab(127.0.0.13) depth=2\n"
    )
    error = (
        b"20261122.15h10m45s CONNECT: attempt fail [CONNECTION_ERROR] to 127.0.0.13:99999 for "
        b"host='127.0.0.1' connection_result=ECONNREFUSED [111] error=ECONNREFUSED [111] attempts=0 "
        b"url='https://untrustedroot.lab:99999/x'\n"
    )
    (tmp_path / "diags.log").write_bytes(diags)
    (tmp_path / "error.log").write_bytes(error)
    report = logscope.analyze(tmp_path)
    finding = report.finding("ts-cert-unknown-ca")
    assert finding.status == "issue"
    assert all(port <= 65535 for server in finding.servers for port in server.ports)
    jsonschema.validate(report.to_dict(), SCHEMA)


def test_connect_failures_pair_with_a_warning_for_the_same_address_within_two_seconds(tmp_path):
    """The vectorised pairing of error.log connect failures keeps the row-by-row rule."""
    diags = (
        b"[Nov 22 15:10:45.188] [ET_NET 0] WARNING: Core server certificate verification failed for "
        b"(a.lab). Action=Terminate Error=self-signed certificate server=a.lab(127.0.0.13) depth=0\n"
    )
    connect = (
        "20261122.15h10m{second}s CONNECT: attempt fail [CONNECTION_ERROR] to {ip}:8443 for "
        "host='127.0.0.1' connection_result=ECONNREFUSED [111] error=ECONNREFUSED [111] attempts=0 "
        "url='https://x.lab:8443/{second}'\n"
    )
    lines = [("46", "127.0.0.13"), ("48", "127.0.0.13"), ("45", "127.0.0.99")]  # paired, too late, other
    (tmp_path / "diags.log").write_bytes(diags)
    (tmp_path / "error.log").write_text("".join(connect.format(second=s, ip=ip) for s, ip in lines))
    report = logscope.analyze(tmp_path)
    finding = report.finding("ts-502-unexplained")
    assert finding.status == "missing-info" and finding.count == 2
    assert sorted(line.text[-4:-1] for line in finding.evidence) == ["/45", "/48"]
