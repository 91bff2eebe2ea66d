"""The checks of the node's own certificates and trust store (issue 13) on whole bundles and at their
edges: what a log-only bundle says, how the JSON names the node, and the thresholds of section 10."""

from __future__ import annotations

import json
import tarfile

import pytest

import logscope
from conftest import SAMPLE_LOGS
from logscope.signatures.certificate_checks import MAX_SAN_CHARACTERS, san_characters, weak_problems

CERTIFICATE_IDS = {
    "expressway-cert-expired": "server_<host>_<timestamp>.pem",
    "expressway-cert-no-client-eku": "server_<host>_<timestamp>.pem",
    "edge-cert-missing-mra-domain": "server_<host>_<timestamp>.pem",
    "expressway-cert-weak": "server_<host>_<timestamp>.pem",
    "trust-store-hygiene": "ca_<host>_<timestamp>.pem",
    "trust-store-differs": "ca_<host>_<timestamp>.pem",
}


def test_a_log_only_bundle_gives_missing_info_naming_the_file_to_collect(tmp_path):
    with tarfile.open(SAMPLE_LOGS / "own-cert-expired.tar.gz") as archive:
        log = next(m for m in archive.getmembers() if m.name.startswith("loggingsnapshot_"))
        archive.extract(log, tmp_path, filter="data")
    report = logscope.analyze(tmp_path)
    for sid, file in CERTIFICATE_IDS.items():
        finding = report.finding(sid)
        assert finding.status == "missing-info", sid
        assert file in finding.description, sid


@pytest.mark.parametrize("sid", sorted(CERTIFICATE_IDS))
def test_the_healthy_sample_raises_no_certificate_finding(sid):
    finding = logscope.analyze(SAMPLE_LOGS / "healthy-mra-login.tar.gz").finding(sid)
    assert finding.status not in ("issue", "potential")


def test_json_names_the_node_of_a_node_level_finding_and_quotes_its_file():
    report = logscope.analyze(SAMPLE_LOGS / "own-cert-expired.tar.gz")
    document = json.loads(report.to_json())
    finding = next(f for f in document["findings"] if f["id"] == "expressway-cert-expired")
    assert finding["status"] == "issue"
    assert finding["nodes_failing"] == ["expc"]
    assert [server["name"] for server in finding["servers"]] == ["expc"]
    assert finding["evidence"][0]["source"].endswith(".pem")


def test_the_cluster_finding_names_the_node_lacking_the_ca_with_its_own_list():
    finding = logscope.analyze(SAMPLE_LOGS / "cluster-trust-stores-differ").finding("trust-store-differs")
    lacking = [e for e in finding.evidence if e.text.startswith("not in this list:")]
    assert [(e.node, "ca_expc2_" in e.source) for e in lacking] == [("expc2", True)]
    assert "Partner Root CA" in lacking[0].text


def _certificate(dns: list[str], **more) -> dict:
    row = {"subject_cn": "expc.example.com", "key_type": "EC", "key_size": 256, "signature_hash": "sha256"}
    return {**row, "san_dns": dns, "san_ip": [], **more}


def test_a_san_list_is_a_finding_only_past_999_characters():
    names = [f"n{i:03d}.example.com" for i in range(58)]  # 58 * 16 + 57 commas = 985 characters
    at_limit = [*names, "x" * (MAX_SAN_CHARACTERS - san_characters(names, []) - 1)]
    assert san_characters(at_limit, []) == MAX_SAN_CHARACTERS
    assert weak_problems(_certificate(at_limit)) == ({}, {})
    over = [*at_limit[:-1], at_limit[-1] + "y"]
    assert weak_problems(_certificate(over)) == ({"san_characters": MAX_SAN_CHARACTERS + 1}, {})


def test_key_sizes_split_between_the_expressway_rule_and_general_practice():
    assert weak_problems(_certificate([], key_type="RSA", key_size=4096)) == ({}, {})
    assert weak_problems(_certificate([], key_type="RSA", key_size=8192)) == ({"rsa_bits": 8192}, {})
    assert weak_problems(_certificate([], key_type="RSA", key_size=1024, signature_hash="sha1")) == (
        {},
        {"hash": "SHA1", "rsa_bits": 1024},
    )
    assert weak_problems(_certificate([], subject_cn="")) == ({"no_cn": True}, {})


def _client_certificate_pem(client_auth: bool) -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expc.example.com")])
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [ExtendedKeyUsageOID.SERVER_AUTH]
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(15)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=730))
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(("client_auth", "status"), [(True, "ok"), (False, "issue")])
def test_an_x15_5_bundle_is_checked_on_its_client_certificate(tmp_path, client_auth, status):
    """log-lines section 10: X15.5 keeps separate server and client certificates and its bundles carry
    the client PEM: the clientAuth check reads that one (the server certificate here has serverAuth
    only, which on X15.5 is not a problem by itself)."""
    with tarfile.open(SAMPLE_LOGS / "own-cert-no-client-eku.tar.gz") as archive:
        archive.extractall(tmp_path, filter="data")
    xstat = next(tmp_path.glob("xstat_dump_*.txt"))
    xstat.write_text(xstat.read_text().replace('Version: "X15.0.2"', 'Version: "X15.5.0"'))
    stamp = xstat.name.removeprefix("xstat_dump_expc_")[: -len(".txt")]
    (tmp_path / f"client_expc_{stamp}.pem").write_bytes(_client_certificate_pem(client_auth))
    report = logscope.analyze(tmp_path)
    assert report.nodes[0].version == "X15.5.0"
    assert report.finding("expressway-cert-no-client-eku").status == status
    assert report.exit_code in (0, 1) and not report.incomplete


def test_a_trusted_ca_list_without_the_nodes_own_issuer_is_a_hygiene_finding(tmp_path):
    """design.md, trust-store-hygiene: a list that "lacks the node's own chain (so it sends its leaf
    alone)"; the same bundle with the issuer in its list stays quiet."""
    import re

    from cryptography import x509

    with tarfile.open(SAMPLE_LOGS / "own-cert-expired.tar.gz") as archive:
        archive.extractall(tmp_path, filter="data")
    assert logscope.analyze(tmp_path).finding("trust-store-hygiene").status == "ok"
    server = x509.load_pem_x509_certificate(next(tmp_path.glob("server_*.pem")).read_bytes())
    ca_file = next(tmp_path.glob("ca_*.pem"))
    blocks = re.findall(
        rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", ca_file.read_bytes(), re.S
    )
    kept = [b for b in blocks if x509.load_pem_x509_certificate(b).subject != server.issuer]
    assert len(kept) == len(blocks) - 1
    ca_file.write_bytes(b"".join(kept))
    finding = logscope.analyze(tmp_path).finding("trust-store-hygiene")
    assert finding.status == "potential"
    issuer = server.issuer.rfc4514_string()
    assert any(
        e.text.startswith("not in this list: ") and e.source.endswith(ca_file.name) for e in finding.evidence
    )
    assert (
        "sends its own certificate alone" in finding.description
        and issuer.split(",")[0] in finding.description
    )
