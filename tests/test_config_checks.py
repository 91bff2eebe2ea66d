"""The configuration and alarm checks (issue 13) and the cross-checks the node's files add to the
first-wave findings: statuses, missing-info naming the file to collect, XML-only dumps as absent."""

from __future__ import annotations

import tarfile
import tomllib
from pathlib import Path

import pytest

import logscope
from conftest import SAMPLE_LOGS
from logscope.resources import data_dir

NEW_CHECKS = {
    "cfg-uc-zone-tls-verify-off": "xconf_dump",
    "mra-domain-not-enabled": "xconf_dump",
    "expressway-alarms": "xstat_dump",
}


def _members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle) as archive:
        return {m.name.rsplit("/", 1)[-1]: archive.extractfile(m).read() for m in archive if m.isfile()}


def _example_log(signature: str, expect: str) -> str:
    text = (data_dir("signatures") / f"{signature}.toml").read_text(encoding="utf-8")
    return next(e["log"] for e in tomllib.loads(text)["examples"] if e["expect"] == expect)


def _folder(tmp_path: Path, files: dict[str, bytes | str]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return tmp_path


def _node_certificates() -> dict[str, bytes]:
    return _members(SAMPLE_LOGS / "node-certificates" / "expc1.tar.gz")


def _pem(members: dict[str, bytes], prefix: str) -> bytes:
    return next(data for name, data in members.items() if name.startswith(prefix) and name.endswith(".pem"))


def test_a_log_only_bundle_leaves_each_new_check_missing_info_naming_the_file(tmp_path):
    log = next(
        d for n, d in _members(SAMPLE_LOGS / "healthy-mra-login.tar.gz").items() if "loggingsnapshot" in n
    )
    report = logscope.analyze(_folder(tmp_path, {"loggingsnapshot_expc_20240612_090602.txt": log}))
    for signature, dump in NEW_CHECKS.items():
        finding = report.finding(signature)
        assert finding.status == "missing-info", signature
        assert dump in finding.description, signature


def test_xml_only_dumps_are_missing_info_not_absent_and_ok(tmp_path):
    log = _example_log("cfg-uc-zone-tls-verify-off", "issue")
    report = logscope.analyze(
        _folder(
            tmp_path,
            {
                "loggingsnapshot_expc_2024-03-05_10-00.txt": log,
                "xconf_dump_expc_2024-03-05_10-00.xml": "<Configuration><Zones/></Configuration>\n",
                "xstat_dump_expc_2024-03-05_10-00.xml": "<Status><Alarms/></Status>\n",
            },
        )
    )
    for signature in NEW_CHECKS:
        finding = report.finding(signature)
        assert finding.status == "missing-info", signature
        assert "XML dumps are not read; collect the .txt dump" in finding.description


@pytest.mark.parametrize("signature", ["ts-cert-unknown-ca", "ts-cert-issuer-missing"])
def test_untrusted_ca_findings_list_the_trusted_ca_list_without_changing_status(tmp_path, signature):
    log = _example_log(signature, "issue")
    alone = logscope.analyze(_folder(tmp_path / "alone", {"loggingsnapshot_expc1_2025-03-10_09-00.txt": log}))
    store = _pem(_node_certificates(), "ca_")
    files = {"loggingsnapshot_expc1_2025-03-10_09-00.txt": log, "ca_expc1_2025-03-10_09-00.pem": store}
    report = logscope.analyze(_folder(tmp_path / "with", files))
    finding = report.finding(signature)
    assert finding.status == alone.finding(signature).status == "issue"
    text = finding.further_information
    assert "expc1's trusted CA list (5 CA certificate(s)" in text
    assert "CN=Example Legacy CA,O=Example Corp (valid until 2020-01-01, expired)" in text
    assert "CN=Example Root CA,O=Example Corp (valid until 2035-01-01, a subject held more than once)" in text
    assert "trusted CA list" not in alone.finding(signature).further_information


def test_upstream_rejection_names_this_node_certificate_issuer_chain(tmp_path):
    log = _example_log("ts-upstream-rejects-expressway", "issue")
    server = _pem(_node_certificates(), "server_")
    files = {"loggingsnapshot_expc1_2025-03-10_09-00.txt": log, "server_expc1_2025-03-10_09-00.pem": server}
    finding = logscope.analyze(_folder(tmp_path, files)).finding("ts-upstream-rejects-expressway")
    assert finding.status == "issue"
    assert (
        "CN=expc1.example.com,O=Example Corp <- issued by CN=Example Issuing CA,O=Example Corp"
        " <- issued by CN=Example Root CA,O=Example Corp" in finding.further_information
    )


def test_name_mismatch_quotes_the_xconf_entry_naming_the_server(tmp_path):
    log = _example_log("ts-cert-name-mismatch", "issue")
    probe = logscope.analyze(_folder(tmp_path / "probe", {"loggingsnapshot_vcsc_2022-07-11_19-49.txt": log}))
    server = probe.finding("ts-cert-name-mismatch").servers[0]
    address = server.ip or server.name
    xconf = f'*c xConfiguration EdgeConfigServer UnifiedCM 1 Address: "{address}"\n'
    files = {"loggingsnapshot_vcsc_2022-07-11_19-49.txt": log, "xconf_dump_vcsc_2022-07-11_19-49.txt": xconf}
    finding = logscope.analyze(_folder(tmp_path / "with", files)).finding("ts-cert-name-mismatch")
    assert finding.status == "issue"
    assert f"EdgeConfigServer UnifiedCM 1 Address: {address}" in finding.further_information


def test_node_certificates_sample_raises_the_uc_zone_and_alarm_findings():
    report = logscope.analyze(SAMPLE_LOGS / "node-certificates")
    zone = report.finding("cfg-uc-zone-tls-verify-off")
    assert zone.status == "issue"
    assert [server.name for server in zone.servers] == ["expc2"]
    alarms = report.finding("expressway-alarms")
    assert alarms.status == "issue"
    assert {server.name for server in alarms.servers} == {"expc1", "expc2"}
    assert "25019" not in alarms.description


RULE_SIGNATURE = """
id = "{id}"
title = "t"
category = "Test"
severity = "info"
needs = {needs}
[applies]
roles = ["Expressway-E"]
min_version = "X15.4"
[match]
frame = "{frame}"
[[match.where]]
{column} = ["never"]
[text]
description = "seen"
action = "none"
[[examples]]
expect = "ok"
log = "2024-03-05T10:00:01.100+01:00 expc traffic_server[4242]: [ET_NET 1] NOTE: started"
[examples.files]
"xconf_dump_expc_2024-03-05_10-00.txt" = '*c xConfiguration CollaborationEdge Enabled: "On"'
[[examples]]
expect = "missing-info"
log = "2024-03-05T10:00:01.100+01:00 expc traffic_server[4242]: [ET_NET 1] NOTE: started"
"""


def test_unknown_role_or_version_is_missing_info_for_node_file_checks_only(tmp_path):
    """A check on the node's own files cannot say not-applicable (or ok) for a node whose role or
    version the bundle does not tell; a first-wave log check keeps treating unknown as unrestricted."""
    from logscope.signatures.examples import run_example
    from logscope.signatures.library import load_library

    (tmp_path / "node.toml").write_text(
        RULE_SIGNATURE.format(id="node-check", needs='["xconf"]', frame="config", column="path")
    )
    (tmp_path / "log.toml").write_text(
        RULE_SIGNATURE.format(id="log-check", needs="[]", frame="tls_failures", column="kind")
    )
    library = load_library([tmp_path])
    assert library.errors == []
    node = library.get("node-check")
    finding = run_example(library, node, node.examples[0])
    assert finding.status == "missing-info"
    assert "whether expc is an Expressway-C or an Expressway-E" in finding.description
    assert "which version expc runs" in finding.description
    log = library.get("log-check")
    assert run_example(library, log, log.examples[0]).status == "ok"
