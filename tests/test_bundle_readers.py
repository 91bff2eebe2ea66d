"""The whole bundle beside the log: server_*.pem / ca_*.pem, xconf and xstat read into the
certificates, config, status and alarms frames, and what the report says of each node from them."""

from __future__ import annotations

import base64
import datetime as dt
import io
import ipaddress
import itertools
import re
import subprocess
import tarfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

import logscope
from conftest import SAMPLE_LOGS, tar_bytes
from logscope.bundle.alarms import alarm_records
from logscope.bundle.pem import read_certificates
from logscope.bundle.xconf import config_rows
from logscope.bundle.xstat import parse_xstat, xstat_items

NODE_CERTS = SAMPLE_LOGS / "node-certificates"
KEY = ec.derive_private_key(20250310, ec.SECP256R1())


def make_cert(
    cn: str = "expc.example.com",
    dns: tuple[str, ...] = (),
    days: int = 365,
    both_ekus: bool = False,
    start: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(7)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
    )
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), False)
    if both_ekus:
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), False)
    return builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def report():
    return logscope.analyze(NODE_CERTS)


def member_bytes(tmp_path, prefix: str, bundles: list | None = None) -> list:
    """The PEM members of the node-certificates sample (or of `bundles`), extracted to tmp_path."""
    paths = []
    for number, bundle in enumerate(bundles or sorted(NODE_CERTS.glob("*.tar.gz"))):
        with tarfile.open(bundle) as archive:
            for info in archive.getmembers():
                if info.name.startswith(prefix):
                    target = tmp_path / f"{number}-{info.name}"
                    target.write_bytes(archive.extractfile(info).read())
                    paths.append(target)
    return paths


def test_server_pem_gives_the_leaf_then_its_chain_and_the_ca_list_roots_and_intermediates(report):
    certs = report.certificates
    expc1 = certs[certs["node"] == "expc1"]
    server = expc1[expc1["source"] == "server_pem"]
    assert server["role"].tolist() == ["leaf", "intermediate"]
    assert server["subject_cn"].tolist() == ["expc1.example.com", "Example Issuing CA"]
    store = expc1[expc1["source"] == "ca_pem"]
    assert store["role"].tolist() == ["root", "intermediate", "root", "root", "root"]
    assert len(certs) == 7 + 3


def openssl_text(pem: bytes) -> str:
    return subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-nameopt", "RFC2253"],
        input=pem,
        capture_output=True,
        check=True,
    ).stdout.decode()


def signature_hash(algorithm: str) -> str:
    """sha256WithRSAEncryption / ecdsa-with-SHA256 -> sha256."""
    return re.search(r"(sha\d+)", algorithm, re.IGNORECASE)[1].lower()


def openssl_facts(text: str) -> dict:
    """What `openssl x509 -noout -text` says, in the frame's terms."""
    key = re.search(r"Public Key Algorithm: (\S+)\s+(?:\S+ )?Public-Key: \((\d+) bit\)", text)
    eku = re.search(r"X509v3 Extended Key Usage:.*?\n\s+(.+)", text)
    san = re.search(r"X509v3 Subject Alternative Name:.*?\n\s+(.+)", text)
    names = [part.strip() for part in san[1].split(",")] if san else []
    eku_names = {"TLS Web Server Authentication": "serverAuth", "TLS Web Client Authentication": "clientAuth"}

    def when(label: str) -> dt.datetime:
        value = re.search(rf"{label}\s*: (.+)", text)[1].strip()
        return dt.datetime.strptime(value, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=dt.UTC)

    return {
        "key_type": {"rsaEncryption": "RSA", "id-ecPublicKey": "EC"}[key[1]],
        "key_size": int(key[2]),
        "signature_hash": signature_hash(re.search(r"Signature Algorithm: (\S+)", text)[1]),
        "extended_key_usage": [eku_names[e.strip()] for e in eku[1].split(",")] if eku else [],
        "san_dns": [n[4:] for n in names if n.startswith("DNS:")],
        "san_ip": [n[11:] for n in names if n.startswith("IP Address:")],
        "not_before": when("Not Before"),
        "not_after": when("Not After"),
    }


def test_certificates_frame_agrees_with_openssl_x509_text_on_every_sample_certificate(tmp_path):
    blocks = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", re.S)
    compared = 0
    bundles = sorted(SAMPLE_LOGS.rglob("*.tar.gz"))  # every sample that carries PEM files
    for path in member_bytes(tmp_path, "server_", bundles) + member_bytes(tmp_path, "ca_", bundles):
        data = path.read_bytes()
        rows, skips = read_certificates(data, "n", "ca_pem")
        assert not skips
        for row, block in zip(rows, blocks.findall(data), strict=True):
            expected = openssl_facts(openssl_text(block))
            assert {key: row[key] for key in expected} == expected, path.name
            compared += 1
    # node-certificates 10, the own-certificates family 31, traversal-identity-pair 8, the
    # traversal-causes family 39, traversal-healthy-pair 8
    assert compared == 96


def test_garbage_and_a_broken_block_are_counted_skips_and_the_good_blocks_still_read():
    good = make_cert()
    broken = b"-----BEGIN CERTIFICATE-----\nTUlJQm9vZ3Vz\n-----END CERTIFICATE-----\n"
    rows, skips = read_certificates(
        b"\xff\xfe junk \x00" + broken + good + b"-----BEGIN CERTIFICATE-----\nAAAA", "n", "ca_pem"
    )
    assert len(rows) == 1 and rows[0]["subject_cn"] == "expc.example.com"
    assert len(skips) == 2
    assert skips[0].startswith("certificate 1: unreadable") and skips[1].startswith(
        "certificate 3: no END line"
    )


def test_a_file_with_no_pem_block_is_one_skip():
    assert read_certificates(b"\x00garbage\n" * 10, "n", "server_pem") == ([], ["no PEM certificate in it"])


def test_a_ten_megabyte_pem_is_read_whole_without_a_crash():
    good = make_cert()
    filler = b"-----BEGIN CERTIFICATE-----\n" + b"QUJD" * 2_600_000 + b"\n-----END CERTIFICATE-----\n"
    rows, skips = read_certificates(filler + good, "n", "ca_pem")
    assert len(filler) > 10_000_000
    assert len(rows) == 1 and len(skips) == 1 and "no END line" in skips[0]


def test_a_certificate_with_2000_san_entries_is_read_with_all_of_them():
    names = tuple(f"host{i}.example.com" for i in range(2000))
    rows, skips = read_certificates(make_cert(dns=names), "n", "server_pem")
    assert not skips and len(rows[0]["san_dns"]) == 2000


def test_a_malformed_validity_date_is_a_counted_skip():
    pem = make_cert()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    bad = der.replace(b"250101000000Z", b"25AA01000000Z", 1)
    assert bad != der
    text = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bad) + b"-----END CERTIFICATE-----\n"
    rows, skips = read_certificates(text + pem, "n", "ca_pem")
    assert len(rows) == 1 and len(skips) == 1 and skips[0].startswith("certificate 1: unreadable")


def test_utf8_names_are_kept_and_invalid_utf8_around_blocks_is_ignored():
    pem = make_cert(cn="Ünïcødé CA \u202e🙂")
    rows, skips = read_certificates(b"\xc3\x28 bad utf-8\n" + pem, "n", "ca_pem")
    assert not skips and rows[0]["subject_cn"] == "Ünïcødé CA \u202e🙂"


def test_xconf_rows_accept_both_quoting_styles_and_the_older_domain_spelling():
    lines = [
        '*c xConfiguration SIP Domain 1 Name: "example.com"',
        "*c xConfiguration SIP Domains Domain 2 Name: other.example.com",
        "*c xConfiguration Zones Zone 3 TraversalClient SIP TLS Verify Mode: Off",
    ]
    assert config_rows(lines) == [
        ("SIP Domain 1 Name", "example.com"),
        ("SIP Domain 2 Name", "other.example.com"),
        ("Zones Zone 3 TraversalClient SIP TLS Verify Mode", "Off"),
    ]


def test_xstat_blocks_opened_by_section_slash_are_read():
    lines = ["*s SystemUnit: /", "    Software:", '      Version: "X15.0.2"', "*s/end", "OK"]
    assert parse_xstat(lines) == {"SystemUnit Software Version": "X15.0.2"}


def test_alarms_are_read_whatever_the_release_calls_their_keys():
    lines = [
        "*s Alarms: /",
        "    Alarm 1:",
        '      Id: "40068"',
        '      Title: "expiring"',
        '      Status: "Active"',
        "    Alarm:",
        '      AlarmId: "40040"',
        '      Description: "verify off"',
        '      State: "Raised"',
        '      Raised: "2025-03-10 07:55:00"',
        '      AlarmId: "35013"',
        "*s/end",
    ]
    alarms = alarm_records(xstat_items(lines))
    assert [(a["alarm_id"], a["title"], a["state"]) for a in alarms] == [
        ("40068", "expiring", "Active"),
        ("40040", "verify off", "Raised"),
        ("35013", None, None),
    ]
    assert alarms[1]["first_raised"] == "2025-03-10 07:55:00"


def test_the_report_carries_the_frames_and_each_nodes_certificate_trust_store_zones_and_alarms(report):
    assert set(report.config["node"]) == {"expc1", "expc2"}
    assert (report.config["path"] == "SIP Domain 1 Edge").sum() == 2
    assert set(report.alarms["alarm_id"]) == {"40068", "20004", "40040", "25019"}
    assert not report.status.empty
    expc1, expc2 = report.nodes
    assert expc1.certificate["extended_key_usage"] == ["serverAuth", "clientAuth"]
    assert expc2.certificate["key_size"] == 8192 and expc2.certificate["signature_hash"] == "sha1"
    assert expc1.trust_store["size"] == 5
    assert expc1.trust_store["duplicate_subjects"] == ["CN=Example Root CA,O=Example Corp"]
    assert [e["subject"] for e in expc1.trust_store["expired"]] == ["CN=Example Legacy CA,O=Example Corp"]
    assert [(z["name"], z["tls_verify_mode"], z["status"]) for z in expc2.zones] == [
        ("UC Traversal", "Off", "Failed")
    ]
    assert expc2.mra_domains == ["example.com"]
    assert [a["alarm_id"] for a in expc1.alarms] == ["40068"]  # 20004 is lowered
    assert expc1.role_source == expc2.role_source == "xconf"


def test_days_left_is_measured_from_the_bundles_last_line_not_the_wall_clock(report):
    expc1, expc2 = report.nodes
    assert expc1.certificate["days_left"] == 19 and not expc1.certificate["expired"]
    assert expc2.certificate["days_left"] == -69 and expc2.certificate["expired"]


def test_a_bundle_with_only_the_log_has_empty_frames_and_no_node_certificate():
    report = logscope.analyze(SAMPLE_LOGS / "healthy-mra-login.tar.gz")
    assert report.certificates.empty and "not_after" in report.certificates
    assert report.alarms.empty
    node = report.nodes[0]
    assert node.certificate is None and node.trust_store is None and node.zones == []
    assert not {"server_pem", "ca_pem"} & set(node.sources)


def test_a_bad_certificate_in_a_bundle_is_reported_incomplete_never_a_crash():
    log = (SAMPLE_LOGS / "healthy-mra-login.tar.gz").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(log)) as archive:
        members = {i.name: archive.extractfile(i).read() for i in archive.getmembers()}
    stamp = next(n for n in members if n.startswith("loggingsnapshot_"))[len("loggingsnapshot_") : -4]
    # the readable certificate has both EKUs and is valid at the log's time (June 2024): on this X14.2.1
    # Expressway-C one without clientAuth, or one not yet valid, is an issue, and an issue found makes
    # the exit code 1, not 3
    readable = make_cert(both_ekus=True, start=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    members[f"server_{stamp}.pem"] = (
        b"-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n" + readable
    )
    report = logscope.analyze(tar_bytes(members))
    assert len(report.certificates) == 1
    assert [entry["reason"][:26] for entry in report.incomplete] == ["certificate 1: unreadable "]
    assert report.exit_code == 3


def hostile_report():
    with tarfile.open(SAMPLE_LOGS / "healthy-mra-login.tar.gz") as archive:
        members = {i.name: archive.extractfile(i).read() for i in archive.getmembers()}
    stamp = next(n for n in members if n.startswith("loggingsnapshot_"))[len("loggingsnapshot_") : -4]
    members[f"server_{stamp}.pem"] = make_cert(cn="<script>alert(1)</script>\x1b[2J", dns=("<b>x</b>",))
    return logscope.analyze(tar_bytes(members))


def test_the_node_panel_escapes_a_hostile_certificate_subject_in_html_and_terminal():
    report = hostile_report()
    page = report.to_html()
    panel = page[page.index('id="this-node"') :]
    assert "&lt;script\\&gt;alert(1)" in panel and "&lt;b&gt;x&lt;/b&gt;" in panel
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page and "\x1b" not in page
    text = report.to_text()
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines) if line.startswith("node: expc:")]
    block = [
        lines[starts[0]],
        *itertools.takewhile(lambda line: line.startswith("      "), lines[starts[0] + 1 :]),
    ]
    assert len(starts) == 1 and "\x1b" not in text and "no EKU" in " ".join(block)


def test_the_node_panel_is_absent_when_the_bundle_holds_none_of_the_nodes_files():
    # no PEM, zone, MRA domain or alarm in its dumps (the healthy sample now lists its MRA domain)
    report = logscope.analyze(SAMPLE_LOGS / "untrusted-root-depth1.tar.gz")
    assert 'id="this-node"' not in report.to_html()
    assert "node: " not in report.to_text()


def test_json_nodes_carry_certificate_trust_store_zones_alarms_and_role_source(report):
    expc1 = report.to_dict()["nodes"][0]
    assert expc1["role_source"] == "xconf"
    assert expc1["certificate"]["days_left"] == 19
    assert expc1["trust_store"]["size"] == 5
    assert expc1["zones"][0]["tls_verify_mode"] == "On"
    assert expc1["alarms"][0]["alarm_id"] == "40068"


EKU_OIDS = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH, "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}
LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    curve=st.sampled_from([ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()]),
    digest=st.sampled_from([hashes.SHA256(), hashes.SHA384(), hashes.SHA512()]),
    dns=st.lists(LABEL.map(lambda label: f"{label}.example.com"), max_size=5, unique=True),
    ips=st.lists(st.ip_addresses(v=4).map(str), max_size=3, unique=True),
    ekus=st.lists(st.sampled_from(sorted(EKU_OIDS)), max_size=2, unique=True),
    start_day=st.integers(0, 20_000),
    days=st.integers(1, 20_000),
)
def test_certificates_frame_agrees_with_openssl_on_generated_certificates(
    curve, digest, dns, ips, ekus, start_day, days
):
    key = ec.derive_private_key(7 + start_day, curve)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "generated")])
    start = dt.datetime(1990, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=start_day)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(start_day + 1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
    )
    names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage([EKU_OIDS[e] for e in ekus]), False)
    pem = builder.sign(key, digest).public_bytes(serialization.Encoding.PEM)
    rows, skips = read_certificates(pem, "n", "server_pem")
    assert not skips
    expected = openssl_facts(openssl_text(pem))
    assert {key: rows[0][key] for key in expected} == expected


def test_each_xconf_and_xstat_dump_is_opened_once(monkeypatch):
    """Node facts and the config/status frames share one read of each dump."""
    from logscope.bundle.result import Member

    opened: list[str] = []
    original = Member.open

    def counting_open(self):
        opened.append(self.source)
        return original(self)

    monkeypatch.setattr(Member, "open", counting_open)
    report = logscope.analyze(SAMPLE_LOGS / "node-certificates" / "expc1.tar.gz")
    assert report.nodes[0].zones
    assert opened.count("xconf") == 1
    assert opened.count("xstat") == 1
