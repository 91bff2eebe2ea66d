"""The tvcs traversal lines, read in the dialects of log-lines.md section 7, and the -C/-E pairing."""

from __future__ import annotations

import logscope
from conftest import TextMember
from logscope.lines.tvcs import classify
from logscope.parse import parse_members
from logscope.traversal import tls_events_frame

C_OUT = (
    '{env}expc1 tvcs: Event="Outbound TLS Negotiation Error" Service="SIP" Src-ip="10.0.0.5" Src-port="{port}"'
    ' Dst-ip="203.0.113.10" Dst-port="7001" Detail="Peer\'s TLS certificate identity was unacceptable"'
    ' Protocol="TLS" Common-name="203.0.113.10" Level="1" UTCTime="2026-03-04 08:12:{sec:02d},120"'
)
E_IN = (
    '{env}expe1 tvcs: UTCTime="2026-03-04 08:12:{sec:02d},500" Module="developer.ssl" Level="ERROR"'
    ' CodeLocation="x" Method="::f" Thread="0x7f1d": TTSSLConnection::handshake: Failed to establish SSL'
    ' connection iResult="-1" error="1" bServer="true" localAddress="[\'IPv4\'\'TCP\'\'172.16.0.10:7001\']"'
    " remoteAddress=\"['IPv4''TCP''198.51.100.7:{port}']\""
    ' ssl_error_reason="error:14094412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate"'
)


def _events(*logs: tuple[str, str]):
    parsed = parse_members([TextMember(text, name=name) for name, text in logs])
    return parsed, tls_events_frame(parsed.tls_records)


def test_tvcs_lines_are_read_in_every_envelope_dialect():
    envs = [
        "2026-03-04T09:12:44.120+01:00 ",
        "Mar  4 09:12:44 ",
        "<134>1 2026-03-04T09:12:44.120+01:00 ",
        "Line 190: 2026-03-04T09:12:44+01:00 ",
    ]
    text = "\n".join(C_OUT.format(env=env, port=25000 + i, sec=44) for i, env in enumerate(envs))
    text = text.replace(
        "<134>1 2026-03-04T09:12:44.120+01:00 expc1 tvcs:",
        "<134>1 2026-03-04T09:12:44.120+01:00 expc1 tvcs - - -",
    )
    parsed, frame = _events(("c.log", text))
    assert list(frame["direction"]) == ["Outbound"] * 4
    assert list(frame["local_port"]) == [25000, 25001, 25002, 25003]
    assert set(frame["cause"]) == {"identity"}
    assert set(frame["checked_name"]) == {"203.0.113.10"}
    assert parsed.unrecognised == []  # read lines are not left to the safety net


def test_developer_line_addresses_come_from_the_tvcs_grammar():
    _, frame = _events(("e.log", E_IN.format(env="2026-03-04T09:12:44.120+01:00 ", port=25697, sec=44)))
    row = frame.iloc[0]
    assert (row["direction"], row["local_ip"], row["local_port"]) == ("Inbound", "172.16.0.10", 7001)
    assert (row["peer_ip"], row["peer_port"]) == ("198.51.100.7", 25697)
    assert (row["cause"], row["rejected_by"]) == (
        "identity",
        "peer",
    )  # a bad certificate alert: the rejected side of a name check


def test_pairs_match_on_source_port_across_nat_and_clock_skew():
    # the -C dials the -E's public 203.0.113.10; the -E logs its private 172.16.0.10 and the -C's NAT
    # address; the -E's clock runs 40 s ahead
    c_log = "\n".join(C_OUT.format(env="", port=p, sec=s) for p, s in ((30001, 1), (30002, 5), (30003, 9)))
    e_log = "\n".join(
        E_IN.format(env="", port=p, sec=s + 40) for p, s in ((30001, 1), (30003, 9), (39999, 5))
    )
    _, frame = _events(("c.log", c_log), ("e.log", e_log))
    paired = frame[frame["pair"].notna()]
    outbound = paired[paired["direction"] == "Outbound"].set_index("pair")["local_port"]
    inbound = paired[paired["direction"] == "Inbound"].set_index("pair")["peer_port"]
    assert sorted(outbound) == [30001, 30003] and outbound.to_dict() == inbound.to_dict()
    assert frame.loc[frame["peer_port"] == 39999, "pair"].isna().all()
    assert frame.loc[frame["local_port"] == 30002, "pair"].isna().all()


def test_a_tcp_close_without_a_reason_is_not_a_traversal_event():
    line = (
        '2026-03-04T09:12:44.120+01:00 expe1 tvcs: UTCTime="2026-03-04 08:12:44,120" Module="network.tcp"'
        ' Level="DEBUG": Src-ip="1.2.3.4" Src-port="25697" Dst-ip="172.16.0.10" Dst-port="7001"'
        ' Detail="TCP Connection Closed"'
    )
    _, frame = _events(("e.log", line + "\n" + line + ' Reason="Got EOF on socket"'))
    assert list(frame["detail"]) == ["Got EOF on socket"]


def test_a_tvcs_failure_whose_cause_no_rule_knows_stays_listed_as_unread():
    """Never a confident answer over a line no rule read: a TLS negotiation error with a detail the
    traversal rules do not know becomes a record, but stays in the safety net's list."""
    known = C_OUT.format(env="2026-03-04T09:12:44.120+01:00 ", port=25000, sec=44)
    unknown = known.replace("Peer's TLS certificate identity was unacceptable", "certificate revoked")
    parsed, frame = _events(("c.log", known + "\n" + unknown))
    assert list(frame["cause"]) == ["identity", "other"]
    assert [line["line"] for line in parsed.unrecognised] == [2]


def test_a_log_of_bare_tvcs_bodies_covers_the_traversal():
    """No envelope, no process name: `Service="SIP"` or a tvcs module still says tvcs was logging
    (issue 11), at the line's start or after a time and a host; a traffic_server body does not."""
    sip = 'Event="Search Attempted" Service="SIP" Src-alias-type="SIP" Protocol="TCP" Level="1"'
    tcp = 'UTCTime="2026-03-04 08:12:44,120" Module="network.tcp" Level="DEBUG": Detail="TCP Connecting"'
    ats = 'UTCTime="2026-03-04 08:12:44,120" Module="network.http.trafficserver" Level="INFO": Detail="x"'
    assert _events(("bare.log", sip))[0].tvcs_seen
    assert _events(("bare.log", tcp))[0].tvcs_seen
    assert _events(("noproc.log", f"2026-03-04T09:12:44.120+01:00 expe1 {tcp}"))[0].tvcs_seen
    assert _events(("tabs.log", f"2026-03-04T09:12:44.120+01:00\texpe1\ttvcs:\t{sip}"))[0].tvcs_seen
    assert not _events(("ats.log", ats))[0].tvcs_seen


def test_a_certificate_outside_its_validity_is_read_on_both_sides_not_listed_unread():
    """Item 4: the rejecting side's verify string and the rejected side's alert (log-lines.md sections
    5 and 10, OpenSSL 1.1.1 and 3 codes) are the validity cause, not `other`."""
    assert classify("tls_negotiation_error", "certificate has expired", None) == ("expired", "self")
    assert classify("tls_negotiation_error", "certificate is not yet valid", None) == ("expired", "self")
    for reason in (
        "error:14094415:SSL routines:ssl3_read_bytes:sslv3 alert certificate expired",
        "error:0A000415:SSL routines::sslv3 alert certificate expired",
    ):
        assert classify("ssl_failed", None, reason) == ("expired", "peer")


def test_an_expired_traversal_certificate_asks_for_a_renewal_not_for_cas(tmp_path):
    line = (
        '2026-03-04T09:12:44.120+01:00 expc1 tvcs: Event="Outbound TLS Negotiation Error" Service="SIP"'
        ' Src-ip="10.0.0.5" Src-port="25697" Dst-ip="192.0.2.10" Dst-port="7001"'
        ' Detail="certificate has expired" Protocol="TLS" Common-name="expe.example.com" Level="1"'
        ' UTCTime="2026-03-04 08:12:44,120"'
    )
    (tmp_path / "expc1.log").write_text(line + "\n")
    finding = logscope.analyze(tmp_path).finding("traversal-tls-untrusted")
    assert finding.status == "issue"
    assert "validity period" in finding.description
    assert "restart" in finding.action and "Ensure that all CA certificates" not in finding.action


def test_a_healthy_tcp_close_is_dropped_without_being_parsed(monkeypatch):
    """Most tvcs lines of a busy log are closes with no reason: they are known healthy by their
    words alone (no Reason key, status line or CONNECT failure), the envelope is never parsed."""
    import logscope.lines.tvcs as tvcs

    parsed = []
    monkeypatch.setattr(tvcs, "parse_event", lambda text: parsed.append(text) or {})
    close = '2026-03-04T09:12:44.120+01:00 expe1 tvcs: Module="network.tcp" Detail="TCP Connection Closed"'
    assert tvcs.tvcs_record(close) is None and parsed == []
    tvcs.tvcs_record(close + ' Reason="Got EOF on socket"')
    assert len(parsed) == 1


def test_tvcs_markers_are_matched_in_their_own_case_whatever_finds_the_lines():
    """The lines holding a marker are found by a search that ignores case (the compiled scanner's,
    shared with the safety net); only a line holding the marker as tvcs writes it is read."""
    close = (
        '2026-03-04T09:12:44.120+01:00 expe1 tvcs: UTCTime="2026-03-04 08:12:44,120" Module="network.tcp"'
        ' Level="DEBUG": Src-ip="1.2.3.4" Src-port="25697" Dst-ip="172.16.0.10" Dst-port="7001"'
        ' Detail="{marker}" Reason="Got EOF on socket"'
    )
    text = "\n".join(close.format(marker=m) for m in ("TCP CONNECTION CLOSED", "TCP Connection Closed"))
    _, frame = _events(("e.log", text))
    assert list(frame["line"]) == [2]
