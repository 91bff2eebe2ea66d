"""Transactions and the TLS failures tied to the transactions they broke."""

from __future__ import annotations

import re

from conftest import events_of
from logscope.correlate import correlate


def _correlate(path_or_text, host=None):
    text = path_or_text.read_text() if hasattr(path_or_text, "read_text") else path_or_text
    return correlate(events_of(text, host=host))


def txn_line(ts, pid, txn, detail, extra, node="expc"):
    return (
        f'{ts} {node} traffic_server[{pid}]: UTCTime="x" Module="network.http.trafficserver" Level="INFO": '
        f'Detail="{detail}" Txn-id="{txn}" TrackingID="" {extra}\n'
    )


REQ = 'Src-ip="127.0.0.1" Src-port="1" Msg="GET http://vcs_control.example.com:8443/ZXhhbXBsZS5jb20vaHR0cHMvY3VjbS5leGFtcGxlLmNvbS82OTcy/a HTTP/1.1"'
UP = 'Dst-ip="10.1.1.10" Dst-port="6972" Msg="GET /a HTTP/1.1"'
RESP_502 = 'Dst-ip="127.0.0.1" Dst-port="1" Msg="HTTP/1.1 502 connect failed"'
WARN = (
    "{ts} expc traffic_server[{pid}]: [ET_NET 0] WARNING: Core server certificate verification failed "
    "for (cucm.example.com). Action=Terminate Error=self signed certificate server=cucm.example.com(10.1.1.10) depth=0\n"
)


def failing_transaction(pid, txn, second):
    ts = f"2024-03-05T10:00:{second:02d}"
    return (
        txn_line(f"{ts}.100+01:00", pid, txn, "Receive Request", REQ)
        + txn_line(f"{ts}.110+01:00", pid, txn, "Sending Request", UP)
        + WARN.format(ts=f"{ts}.120+01:00", pid=pid)
        + txn_line(f"{ts}.130+01:00", pid, txn, "Sending Response", RESP_502)
    )


def test_seed_document_transactions(seed003_log):
    # As in the vcsc node's own snapshot: the document also spells the host `vscs` on some lines.
    result = _correlate(seed003_log, host="vcsc")
    txns = result.transactions.set_index(["pid", "txn_id"])
    assert txns.loc[(18242, 189), "status"] == 200
    assert txns.loc[(18242, 189), "upstream_port"] == 8443
    assert txns.loc[(18242, 191), "attempts"] == 2
    assert txns.loc[(18242, 191), "status"] == 502
    assert txns.loc[(18242, 191), "upstream_port"] == 6972
    assert txns.loc[(3916, 144), "route_host"] == "10.48.36.215"


def test_seed_document_failures_link_to_the_transactions_they_broke(seed003_log):
    failures = _correlate(seed003_log, host="vcsc").tls_failures
    self_signed = failures[failures["verify_error"] == "self signed certificate"].iloc[0]
    assert self_signed["linked"] and self_signed["txn_id"] == 191 and self_signed["port"] == 6972
    assert self_signed["txn_status"] == 502
    sni = failures[(failures["kind"] == "sni_not_in_cert") & (failures["pid"] == 3916)].iloc[0]
    assert sni["txn_id"] == 144 and sni["port"] == 8443 and sni["route_host"] == "10.48.36.215"


def test_envelope_hosts_are_the_nodes_when_the_file_name_names_none(seed003_log):
    result = _correlate(seed003_log)
    assert set(result.transactions["node"].astype(str)) == {"vcsc", "vscs"}
    assert len(result.transactions[result.transactions["txn_id"] == 191]) == 2


def test_failures_with_no_transaction_are_kept_unlinked(seed003_log):
    failures = _correlate(seed003_log, host="vcsc").tls_failures
    vendor_snippet = failures[failures["pid"] == 3956]
    assert len(vendor_snippet) == 6
    assert not vendor_snippet["linked"].any()


def test_warning_and_error_beside_it_are_paired(seed003_log):
    failures = _correlate(seed003_log, host="vcsc").tls_failures
    assert failures["paired"].all()


def test_txn_ids_restarting_with_a_new_pid_stay_apart():
    result = _correlate(failing_transaction(100, 7, 1) + failing_transaction(200, 7, 5))
    assert len(result.transactions) == 2
    links = result.tls_failures[["pid", "txn_id"]].astype("int64").values.tolist()
    assert sorted(links) == [[100, 7], [200, 7]]


def test_a_warning_after_the_transaction_ended_is_not_linked():
    late = WARN.format(ts="2024-03-05T10:00:09.000+01:00", pid=100)
    result = _correlate(failing_transaction(100, 7, 1) + late)
    failures = result.tls_failures.sort_values("ts")
    assert list(failures["linked"]) == [True, False]


def test_two_nodes_with_the_same_txn_ids_interleave():
    node_a = failing_transaction(100, 7, 1)
    node_b = failing_transaction(100, 7, 1).replace(" expc ", " expc2 ")
    result = _correlate(node_a + node_b)
    assert sorted(result.transactions["node"].astype(str)) == ["expc", "expc2"]
    assert result.tls_failures["linked"].all()
    assert sorted(result.tls_failures["node"]) == ["expc", "expc2"]


def test_every_error_of_a_burst_is_paired_even_when_two_warnings_share_a_nearest_error():
    """Two connections fail at once: warning, warning, error, error. Both warnings are nearest to the
    first error, yet the second error has a warning beside it too and is the same failure."""
    error = (
        "{ts} expc traffic_server[100]: [ET_NET 0] ERROR: SSL connection failed for 'cucm.example.com': "
        "error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed\n"
    )
    burst = (
        WARN.format(ts="2024-03-05T10:00:01.000+01:00", pid=100)
        + WARN.format(ts="2024-03-05T10:00:01.003+01:00", pid=100)
        + error.format(ts="2024-03-05T10:00:01.005+01:00")
        + error.format(ts="2024-03-05T10:00:01.008+01:00")
    )
    failures = _correlate(burst).tls_failures
    assert len(failures) == 4
    assert failures["paired"].all()


def test_an_error_for_another_server_is_not_paired_with_the_warning():
    other = (
        "2024-03-05T10:00:01.005+01:00 expc traffic_server[100]: [ET_NET 0] ERROR: SSL connection failed "
        "for 'imp.example.com': error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca\n"
    )
    failures = _correlate(WARN.format(ts="2024-03-05T10:00:01.000+01:00", pid=100) + other).tls_failures
    assert not failures["paired"].any()


DEBUG = "2026-03-04T09:12:44.{ms}+01:00 expc1 traffic_server[2210]: [{thread}] DEBUG: "
VERDICT = "<SSLClientUtils.cc:78 (verify_callback)> (ssl_verify) verification error:num=10:certificate has expired:depth=0\n"
CONNECT_ERROR = (
    "<SSLNetVConnection.cc:1573 (sslClientHandShakeEvent)> (ssl.error) SSL connection failed for '{name}': "
    "error:0A000086:SSL routines::certificate verify failed\n"
)


def test_a_debug_verdict_takes_its_server_from_the_connection_error_after_it_on_its_thread():
    text = (
        DEBUG.format(ms="120", thread="ET_NET 1")
        + VERDICT
        + DEBUG.format(ms="121", thread="ET_NET 2")
        + CONNECT_ERROR.format(name="other.example.com")
        + DEBUG.format(ms="122", thread="ET_NET 1")
        + CONNECT_ERROR.format(name="cuc1.example.com")
    )
    failures = _correlate(text).tls_failures.sort_values("line")
    verdict = failures[failures["kind"] == "tls_verify_failed"]
    assert list(verdict["server_name"]) == ["cuc1.example.com"]
    assert list(verdict["verify_error"]) == ["certificate has expired"]
    assert verdict["paired"].all()


def test_a_debug_verdict_followed_by_its_warning_is_one_failure_not_two():
    warning = (
        "[ET_NET 1] WARNING: Core server certificate verification failed for (cuc1.example.com). Action=Terminate "
        "Error=certificate has expired server=cuc1.example.com(10.1.1.5) depth=0\n"
    )
    text = (
        DEBUG.format(ms="120", thread="ET_NET 1")
        + VERDICT
        + "2026-03-04T09:12:44.121+01:00 expc1 traffic_server[2210]: "
        + warning
        + DEBUG.format(ms="122", thread="ET_NET 1")
        + CONNECT_ERROR.format(name="cuc1.example.com")
    )
    failures = _correlate(text).tls_failures
    verifies = failures[failures["kind"] == "tls_verify_failed"]
    assert list(verifies["server_ip"]) == ["10.1.1.5"]


def _without(text: str, pattern: str) -> str:
    return re.sub(pattern, "", text, flags=re.M)


def test_an_excerpt_with_no_times_is_correlated_by_file_order_and_its_times_stay_unknown():
    text = _without(failing_transaction(2210, 7, 1), r"^\S+ ")
    correlation = _correlate(text)
    assert list(correlation.transactions["txn_id"]) == [7]
    assert correlation.transactions["start"].isna().all()
    failure = correlation.tls_failures.iloc[0]
    assert failure["linked"] and failure["txn_id"] == 7 and failure["port"] == 6972
    assert correlation.tls_failures["ts"].isna().all()


def test_lines_with_no_pid_are_correlated_within_their_node():
    correlation = _correlate(_without(failing_transaction(2210, 7, 1), r"\[2210\]"))
    assert list(correlation.transactions["txn_id"]) == [7]
    assert correlation.tls_failures.iloc[0]["linked"]


def test_bare_bodies_with_no_envelope_link_their_failure_by_file_order():
    """No time, host or pid (issue 11, no_envelope): the UTCTime="..." body is no host, and the
    warning links to the transaction on the one unknown node, by file order."""
    envelope = re.compile(r"^\S+ expc traffic_server\[\d+\]: ", re.M)
    bare = envelope.sub("", failing_transaction(100, 7, 1)).replace(
        'UTCTime="x"', 'UTCTime="2024-03-05 09:00:01,100"'
    )
    result = _correlate(bare)
    assert result.transactions["node"].isna().all()
    failures = result.tls_failures
    assert list(failures["linked"]) == [True]
    assert failures["txn_id"].tolist() == [7] and failures["txn_status"].tolist() == [502]


def test_of_two_transactions_to_one_server_with_the_same_first_attempt_a_failure_ties_to_the_first():
    """Two requests sent at the same millisecond to the server that then fails: either could be the
    one broken; the rule is fixed (the first in the transactions' order), not left to a sort."""
    ts = "2024-03-05T10:00:01.{ms}+01:00"
    text = (
        txn_line(ts.format(ms=100), 100, 7, "Receive Request", REQ)
        + txn_line(ts.format(ms=105), 100, 8, "Receive Request", REQ)
        + txn_line(ts.format(ms=110), 100, 8, "Sending Request", UP)
        + txn_line(ts.format(ms=110), 100, 7, "Sending Request", UP)
        + WARN.format(ts=ts.format(ms=120), pid=100)
        + txn_line(ts.format(ms=130), 100, 7, "Sending Response", RESP_502)
        + txn_line(ts.format(ms=131), 100, 8, "Sending Response", RESP_502)
    )
    failure = _correlate(text).tls_failures.iloc[0]
    assert failure["linked"] and failure["txn_id"] == 7


def test_a_debug_verdict_is_named_by_the_connection_error_on_its_thread_however_the_tag_is_spaced():
    events = events_of(
        "2026-03-04T09:12:44.120+01:00 expc1 traffic_server[2210]: [ET_NET 1] DEBUG: <SSLClientUtils.cc:78"
        " (verify_callback)> (ssl_verify) verification error:num=10:certificate has expired:depth=0\n"
        "2026-03-04T09:12:44.121+01:00 expc1 traffic_server[2210]: [ET_NET  1] DEBUG: <SSLNetVConnection.cc:1573"
        " (sslClientHandShakeEvent)> (ssl.error) SSL connection failed for 'cuc1.example.com':"
        " error:0A000086:SSL routines::certificate verify failed\n"
    )
    failures = correlate(events).tls_failures
    verdict = failures[failures["kind"] == "tls_verify_failed"]
    assert verdict["server_name"].astype(str).tolist() == ["cuc1.example.com"]
