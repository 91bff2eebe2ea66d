"""The signatures stage works per distinct value and reads a finding's evidence rows in one take
(issue 14 item 4): a storm repeats a few hundred servers and texts over millions of rows."""

from __future__ import annotations

import pandas as pd

from conftest import events_of
from logscope.correlate import correlate
from logscope.signatures import Context, context, detectors, evaluate, evidence, load_library, matching

LIBRARY = load_library()
INFO = 'Module="network.http.trafficserver" Level="INFO": '


def _transaction(pid: int, txn: int, second: float, port: int, status: int) -> str:
    """The lines of one transaction through the Expressway-C to cucm.example.com:PORT; one that ends
    in 502 fails the certificate check before its response (as seed 003's does)."""
    route = {8443: "ZXhhbXBsZS5jb20vaHR0cHMvY3VjbS5leGFtcGxlLmNvbS84NDQz"}.get(
        port, "ZXhhbXBsZS5jb20vaHR0cHMvY3VjbS5leGFtcGxlLmNvbS82OTcy"
    )
    lines = [
        f'Detail="Receive Request" Txn-id="{txn}" TrackingID="t{txn}" Src-ip="127.0.0.1" Src-port="35764" '
        f'Last-via-addr="" Msg="GET http://vcs_control.example.com:8443/{route}/x HTTP/1.1"',
        f'Detail="Sending Request" Txn-id="{txn}" TrackingID="t{txn}" Dst-ip="10.48.36.215" '
        f'Dst-port="{port}" Msg="GET /x HTTP/1.1"',
        f'Detail="Receive Response" Txn-id="{txn}" TrackingID="" Src-ip="10.48.36.215" '
        f'Src-port="{port}" Msg="HTTP/1.1 {status} "',
        f'Detail="Sending Response" Txn-id="{txn}" TrackingID="" Dst-ip="127.0.0.1" Dst-port="35764" '
        f'Msg="HTTP/1.1 {status} x"',
    ]
    times = [second + n / 1000 for n in range(len(lines))]
    text = [_head(pid, at) + _utc(at) + INFO + line + "\n" for at, line in zip(times, lines, strict=True)]
    if status >= 500:
        text[2] = _failure(pid, second + 0.002)
    return "".join(text)


def _head(pid: int, second: float) -> str:
    return f"2022-07-11T18:55:{second:06.3f}+02:00 vcsc traffic_server[{pid}]: "


def _utc(second: float) -> str:
    """The UTCTime field, with the comma before the milliseconds as traffic_server writes it."""
    return f'UTCTime="2022-07-11 16:55:{second:06.3f}" '.replace(".", ",")


def _failure(pid: int, second: float) -> str:
    return _head(pid, second) + (
        "[ET_NET 0] WARNING: Core server certificate verification failed for (cucm.example.com). "
        "Action=Terminate Error=self signed certificate server=cucm.example.com(10.48.36.215) depth=0\n"
    )


def _context(text: str) -> Context:
    events = events_of(text)
    correlation = correlate(events)
    return Context(events, correlation.transactions, correlation.tls_failures, [], {"log"})


# pid 18242 answers on 8443 twenty times and fails on 6972 in Txn 191; after a restart, pid 18300
# reuses Txn-id 191 for a request answered on 8443
SPLIT_LOG = (
    "".join(_transaction(18242, 100 + n, 1 + n * 0.01, 8443, 200) for n in range(20))
    + _transaction(18242, 191, 5.0, 6972, 502)
    + _transaction(18300, 191, 9.0, 8443, 200)
)


def test_transaction_steps_are_read_for_many_keys_at_once_each_its_own_pid_in_file_order():
    storm = _context(SPLIT_LOG)
    first, restarted, unknown = storm.transaction_steps(
        [("vcsc", 18242, 191), ("vcsc", 18300, 191), ("nan", 18242, 191)]
    )
    assert [(step["pid"], step["kind"]) for step in first] == [
        (18242, "receive_request"),
        (18242, "sending_request"),
        (18242, "sending_response"),
    ]
    assert [step["kind"] for step in restarted] == ["receive_request", "sending_request", "sending_response"]
    assert {step["pid"] for step in restarted} == {18300}
    assert [step["line"] for step in first] == sorted(step["line"] for step in first)
    assert "HTTP/1.1 502" in first[-1]["raw"]
    assert unknown == []  # a node named "nan" is not a line with no node


def test_the_port_split_works_out_server_keys_per_distinct_upstream_not_per_transaction(monkeypatch):
    sizes = []
    real = detectors.server_key

    def counted(address, host):
        sizes.append(len(address))
        return real(address, host)

    monkeypatch.setattr(detectors, "server_key", counted)
    findings = {f.id: f for f in LIBRARY.evaluate(_context(SPLIT_LOG))}
    split = findings["ts-ecdsa-port-split"]
    assert split.status == "potential"
    assert [server.ports for server in split.servers] == [[6972]]
    assert max(sizes) <= 2  # the failure, and the one (node, address, host, port) that answered 21 times


def test_depth_notes_normalise_each_distinct_error_text_once(monkeypatch):
    calls = []
    real = evaluate.normalize_text
    monkeypatch.setattr(evaluate, "normalize_text", lambda value: calls.append(value) or real(value))
    rows = pd.DataFrame(
        {
            "verify_error": pd.Categorical(["self signed certificate in certificate chain"] * 50),
            "depth": pd.array([0] * 50, dtype="Int64"),
            "server_name": ["cucm.example.com"] * 50,
        }
    )
    notes = evaluate.depth_disagreements(rows)
    assert len(notes) == 1 and "cucm.example.com" in notes[0]
    assert calls == ["self signed certificate in certificate chain"]


def test_map_distinct_rows_calls_once_per_distinct_combination_missing_values_and_columns_as_none():
    calls = []
    frame = pd.DataFrame(
        {
            "a": pd.Categorical(["x", "y", None, "x"] * 25),
            "b": pd.array([1, 1, None, 1] * 25, dtype="Int64"),
        }
    )

    def text(a, b, c):
        calls.append((a, b, c))
        return f"{a}/{b}/{c}"

    result = matching.map_distinct_rows(frame, ["a", "b", "c"], text)
    assert len(calls) == 3
    assert result.tolist()[:4] == ["x/1/None", "y/1/None", "None/None/None", "x/1/None"]
    assert len(result) == 100


def test_a_server_detail_text_is_made_once_per_distinct_failure(monkeypatch):
    calls = []
    real = evidence._detail_text
    monkeypatch.setattr(evidence, "_detail_text", lambda *values: calls.append(values) or real(*values))
    failures = "".join(_failure(18242, 1 + n * 0.01) for n in range(30))
    findings = {f.id: f for f in LIBRARY.evaluate(_context(failures))}
    assert findings["ts-cert-self-signed"].servers[0].detail == "self signed certificate (depth=0)"
    assert findings["ts-cert-self-signed"].count == 30
    assert len(calls) == 1


def test_records_give_to_dicts_values_and_missing_ones_as_na():
    frame = pd.DataFrame(
        {
            "kind": pd.Categorical(["tls_verify_failed", None, "sni_not_in_cert"]),
            "line": pd.array([7, None, 9], dtype="Int64"),
            "raw": pd.array(["a", None, "c"], dtype="string"),
            "ts": pd.to_datetime(["2024-01-01", None, "2024-01-02"], utc=True),
        }
    )
    rows = context.records(frame, [2, 1, 0])
    assert rows[0] == frame.iloc[[2]].to_dict("records")[0]
    assert rows[2] == frame.iloc[[0]].to_dict("records")[0]
    assert all(pd.isna(value) for value in rows[1].values())
    assert context.records(frame[[]], [0, 1]) == [{}, {}]


def test_a_test_over_distinct_values_is_a_bool_array_not_objects():
    kinds = pd.Series(pd.Categorical(["receive_request", "other", None] * 1000))
    found = matching.map_distinct(kinds, lambda kind: kind == "receive_request", missing=False)
    assert found.dtype == bool
    assert found[:3].tolist() == [True, False, False]
    assert matching.map_distinct(kinds, str).dtype == object
