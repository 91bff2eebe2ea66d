"""logscope/report.schema.json describes Report.to_dict(): every sample bundle's report and a hostile
one validate, and documents that break the contract are rejected."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

import logscope
from conftest import SAMPLE_INPUTS, SAMPLE_LOGS
from logscope.batch import run_batch
from logscope.findings import SEVERITIES, STATUSES

SCHEMA_PATH = Path(logscope.__file__).parent / "report.schema.json"
HOSTILE_LOG = (
    b'2022-07-11T18:55:26.000+02:00 <script>alert(1)</script> traffic_server[1]: UTCTime="2022-07-11 16:55:26,000" '
    b'Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="1" TrackingID="" '
    b'Src-ip="127.0.0.1" Src-port="1" Last-via-addr="" Msg="GET http://x:8443/Li4vLi4v/<img src=x> HTTP/1.1"\r\n'
    b"2022-07-11T18:55:26.016+02:00 vcsc traffic_server[1]: [ET_NET 0] WARNING: Core server certificate "
    b"verification failed for (\xff\xfe). Action=Terminate Error=certificate revoked server=\x00(10.0.0.1) depth=0\r\n"
    b"\x00\x01\x02 binary \xc3\x28\n" + b"2022-07-11T18:55:27.000+02:00 vcsc kernel: " + b"A" * 70000 + b"\n"
)


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def sample_documents(tmp_path_factory) -> dict[str, dict]:
    """The JSON `logscope batch` wrote for every sample bundle (a report plus its batch block)."""
    out = tmp_path_factory.mktemp("schema-batch")
    summary = run_batch([str(p) for p in SAMPLE_INPUTS], out, jobs=2)
    assert summary.failed == 0, [r.error for r in summary.results if not r.ok]
    return {r.name: json.loads(r.json.read_text(encoding="utf-8")) for r in summary.results}


def errors_of(validator, document) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in validator.iter_errors(document)
    ]


def test_schema_is_valid_draft_2020_12(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_enums_match_the_code(schema):
    assert schema["$defs"]["status"]["enum"] == list(STATUSES)
    assert schema["$defs"]["severity"]["enum"] == list(SEVERITIES)
    assert schema["properties"]["summary"]["required"] == list(STATUSES)


def test_every_sample_bundle_report_validates(sample_documents, validator):
    # A cluster folder holds one archive per node: batch makes a report for each.
    extra = sum(len(list(p.glob("*.tar.gz"))) - 1 for p in SAMPLE_INPUTS if p.is_dir())
    assert len(sample_documents) == len(SAMPLE_INPUTS) + extra >= 16
    assert {"expc1", "expc2"} <= set(sample_documents)
    for name, document in sample_documents.items():
        assert errors_of(validator, document) == [], name
        assert document["batch"]["name"] == name


def test_report_to_dict_validates_without_the_batch_block(validator):
    report = logscope.analyze(SAMPLE_LOGS / "seed003-ip-not-in-san.tar.gz")
    document = json.loads(report.to_json())
    assert "batch" not in document
    assert errors_of(validator, document) == []
    assert {f["id"] for f in document["findings"]} >= {"ts-cert-name-mismatch", "mra-address-not-fqdn"}


def test_evidence_from_a_line_with_no_envelope_names_node_unknown_and_validates(validator):
    bare = (
        b"[ET_NET 0] WARNING: Core server certificate verification failed for (cucm.example.com). "
        b"Action=Terminate Error=self signed certificate server=cucm.example.com(10.1.1.10) depth=0\n"
    )
    document = json.loads(logscope.analyze(bare).to_json())
    evidence = [row for f in document["findings"] for row in f.get("evidence") or []]
    assert evidence and {row["node"] for row in evidence} == {"unknown"}
    assert errors_of(validator, document) == []


def test_hostile_report_validates_and_keeps_the_text(validator):
    report = logscope.analyze(HOSTILE_LOG)
    document = json.loads(report.to_json())
    assert errors_of(validator, document) == []
    assert "<script>alert(1)</script>" in {node["host"] for node in document["nodes"]}
    assert document["stats"]["invalid_utf8"] >= 1


@pytest.mark.parametrize(
    ("break_it", "where"),
    [
        (lambda d: d["findings"][0].update(status="failed"), "findings/0/status"),
        (lambda d: d["findings"][0].update(severity="urgent"), "findings/0/severity"),
        (lambda d: d["summary"].pop("missing-info"), "summary"),
        (lambda d: d.pop("schema_version"), ""),
        (lambda d: d["findings"][0].pop("evidence"), "findings/0"),
        (lambda d: d["findings"][0].update(first_seen="11/07/2022 18:55"), "findings/0/first_seen"),
        (lambda d: d["nodes"][0].update(events=-1), "nodes/0/events"),
        (lambda d: d["findings"][0]["servers"][0].update(ports=["8443"]), "findings/0/servers/0/ports/0"),
        (lambda d: d.update(extra_top_level_key=1), ""),
        (lambda d: d["stats"].pop("transactions"), "stats"),
    ],
)
def test_schema_rejects_documents_that_break_the_contract(sample_documents, validator, break_it, where):
    document = copy.deepcopy(sample_documents["cucm-by-ip-san-missing"])
    document["findings"].sort(key=lambda f: f["status"] != "issue")  # a finding with servers first
    break_it(document)
    errors = list(validator.iter_errors(document))
    assert errors
    assert where in {"/".join(map(str, e.absolute_path)) for e in errors}
