"""The signature library: every example runs, files are validated, packs load and override."""

from __future__ import annotations

import shutil
import tarfile
import textwrap

import pytest

import logscope
from conftest import ROOT, events_of
from logscope.correlate import correlate
from logscope.nodes import NodeSummary
from logscope.resources import data_dir
from logscope.signatures import Context, check_library, load_library, run_example

LIBRARY = load_library()
FIRST_IDS = {
    "ts-cert-self-signed",
    "ts-cert-unknown-ca",
    "ts-cert-issuer-missing",
    "ts-cert-expired",
    "ts-cert-name-mismatch",
    "mra-address-not-fqdn",
    "ts-ecdsa-port-split",
    "ts-upstream-rejects-expressway",
    "ts-502-unexplained",
    "ts-cert-verify-other",
    "ts-cert-unrecognised-lines",  # the safety net (design.md layer (a), issue 11)
}
# design.md, second-wave table: the ids the library may hold beside the first ones
SECOND_WAVE_IDS = {
    "traversal-tls-identity",
    "traversal-tls-untrusted",
    "traversal-auth-failed",
    "traversal-path-disconnect",
    "ssh-tunnel-down",
    "expressway-cert-expired",
    "expressway-cert-no-client-eku",
    "edge-cert-missing-mra-domain",
    "expressway-cert-weak",
    "trust-store-hygiene",
    "trust-store-differs",
    "cfg-uc-zone-tls-verify-off",
    "mra-domain-not-enabled",
    "expressway-alarms",
}
CERTIFICATE_IDS = {  # issue 13: the node's own certificates and trust store
    "expressway-cert-expired",
    "expressway-cert-no-client-eku",
    "edge-cert-missing-mra-domain",
    "expressway-cert-weak",
    "trust-store-hygiene",
    "trust-store-differs",
}
CONFIG_IDS = {"cfg-uc-zone-tls-verify-off", "mra-domain-not-enabled", "expressway-alarms"}  # issue 13


def test_built_in_library_has_the_design_ids_and_no_errors():
    ids = {s.id for s in LIBRARY.signatures}
    assert FIRST_IDS | CERTIFICATE_IDS | CONFIG_IDS <= ids <= FIRST_IDS | SECOND_WAVE_IDS
    assert LIBRARY.errors == []


def test_every_signature_has_a_matching_and_a_non_matching_example():
    for signature in LIBRARY.signatures:
        expects = {example.expect for example in signature.examples}
        assert expects & {"issue", "potential", "missing-info"}, signature.id
        assert "ok" in expects, signature.id


@pytest.mark.parametrize("signature", LIBRARY.signatures, ids=lambda s: s.id)
def test_every_example_of_the_signature_gives_its_expected_status_and_renders(signature):
    """check_library runs each example against the whole library: its status, and its texts rendered."""
    assert check_library(LIBRARY, {signature.id}) == []


def test_the_built_in_library_loads_without_errors():
    assert LIBRARY.errors == []


def _write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_broken_file_is_reported_and_skipped(tmp_path):
    _write(tmp_path, "broken.toml", "id = [unclosed")
    _write(tmp_path, "no-examples.toml", 'id = "x-y"\ntitle = "t"\n')
    library = load_library([tmp_path])
    assert {s.id for s in library.signatures} == {s.id for s in LIBRARY.signatures}
    messages = " | ".join(str(e) for e in library.errors)
    assert "broken.toml" in messages and "no-examples.toml" in messages
    assert "'match' is a required property" in messages


def test_a_pack_overrides_a_built_in_signature_by_id(tmp_path):
    source = data_dir("signatures") / "ts-cert-expired.toml"
    text = source.read_text().replace(
        'title = "A server certificate is expired or not yet valid"', 'title = "Overridden"'
    )
    _write(tmp_path, "mine.toml", text)
    library = load_library([tmp_path])
    assert library.get("ts-cert-expired").title == "Overridden"
    assert check_library(library, {"ts-cert-expired"}) == []


def test_template_errors_are_caught_at_load(tmp_path):
    source = (data_dir("signatures") / "ts-cert-expired.toml").read_text()
    _write(tmp_path, "bad-template.toml", source.replace("{{ names }}", "{{ names ", 1))
    library = load_library([tmp_path])
    assert any("template error" in str(e) for e in library.errors)


@pytest.mark.parametrize(
    "broken", ["{{ names | no_such_filter }}", "{% if names is no_such_test %}x{% endif %}"]
)
def test_a_template_naming_an_unknown_filter_or_test_is_caught_at_load(tmp_path, broken):
    source = (data_dir("signatures") / "ts-cert-expired.toml").read_text()
    _write(tmp_path, "bad-name.toml", source.replace("{{ names }}", broken, 1))
    library = load_library([tmp_path])
    assert any("template error" in str(e) and "no_such" in str(e) for e in library.errors)


def test_a_template_that_cannot_render_its_example_is_reported_by_check(tmp_path):
    source = (data_dir("signatures") / "ts-cert-expired.toml").read_text()
    _write(tmp_path, "typo.toml", source.replace('description = """', 'description = """{{ nmes }}', 1))
    problems = check_library(load_library([tmp_path]), {"ts-cert-expired"})
    assert problems and all(
        "text.description: (text could not be rendered: 'nmes' is undefined)" in p for p in problems
    )


def test_a_failing_example_is_reported_by_check(tmp_path):
    source = shutil.copy(data_dir("signatures") / "ts-cert-expired.toml", tmp_path / "x.toml")
    text = source.read_text().replace(
        'name = "expired CUCM subscriber certificate"\nexpect = "issue"',
        'name = "expired CUCM subscriber certificate"\nexpect = "ok"',
    )
    source.write_text(text)
    problems = check_library(load_library([tmp_path]), {"ts-cert-expired"})
    assert problems == ["x.toml: expired CUCM subscriber certificate: expected ok, got issue"]


def _context(text, nodes=(), sources=("log",)):
    events = events_of(text)
    correlation = correlate(events)
    return Context(events, correlation.transactions, correlation.tls_failures, list(nodes), set(sources))


OTHER_ONLY = (
    '2024-03-05T10:00:00.100+01:00 expc tvcs: UTCTime="x" Module="network.ldap" Level="INFO": Detail="x"\n'
)
SELF_SIGNED = (
    "2024-03-05T10:00:01.100+01:00 expc traffic_server[4242]: [ET_NET 1] WARNING: Core server certificate "
    "verification failed for (cucm.example.com). Action=Terminate Error=self signed certificate "
    "server=cucm.example.com(10.1.1.10) depth=0\n"
)


def test_no_traffic_server_lines_make_the_engine_say_missing_info():
    findings = {f.id: f for f in LIBRARY.evaluate(_context(OTHER_ONLY))}
    for signature_id in ("ts-cert-self-signed", "ts-502-unexplained", "ts-ecdsa-port-split"):
        assert findings[signature_id].status == "missing-info"
        assert "Diagnostic logging" in findings[signature_id].description


def test_old_version_is_not_applicable_unless_failures_are_logged():
    old = [NodeSummary(host="expc", version="X14.0.7", role="Expressway-C")]
    quiet = {
        f.id: f.status
        for f in LIBRARY.evaluate(_context(OTHER_ONLY + SELF_SIGNED.replace("self signed", "other"), old))
    }
    loud = {f.id: f for f in LIBRARY.evaluate(_context(SELF_SIGNED, old))}
    assert quiet["ts-cert-self-signed"] == "not-applicable"
    assert loud["ts-cert-self-signed"].status == "issue"
    assert "logged anyway" in " ".join(loud["ts-cert-self-signed"].notes)


def test_expressway_e_is_not_applicable_for_origin_verification():
    edge = [NodeSummary(host="expe", version="X15.0", role="Expressway-E")]
    findings = {f.id: f.status for f in LIBRARY.evaluate(_context(OTHER_ONLY + OTHER_ONLY, edge, ("log",)))}
    assert findings["ts-cert-unknown-ca"] in {"not-applicable", "missing-info"}


def test_depth_and_error_text_disagreement_is_noted():
    line = SELF_SIGNED.replace(
        "Error=self signed certificate", "Error=self signed certificate in certificate chain"
    )
    findings = {f.id: f for f in LIBRARY.evaluate(_context(line))}
    finding = findings["ts-cert-unknown-ca"]
    assert finding.status == "issue"
    assert any("disagree" in note for note in finding.notes)


def test_findings_are_ordered_by_status_then_severity():
    findings = LIBRARY.evaluate(_context(SELF_SIGNED))
    order = ["issue", "potential", "missing-info", "not-applicable", "ok"]
    ranks = [order.index(f.status) for f in findings]
    assert ranks == sorted(ranks)
    assert findings[0].id == "ts-cert-self-signed"


def test_unknown_keys_and_bad_conditions_are_schema_errors(tmp_path):
    source = (data_dir("signatures") / "ts-cert-expired.toml").read_text()
    _write(tmp_path, "typo.toml", source.replace("[applies]", "colour = 'red'\n\n[applies]"))
    _write(tmp_path, "cond.toml", source.replace('kind = ["tls_verify_failed"]', 'kind = { regexp = "x" }'))
    messages = " | ".join(str(e) for e in load_library([tmp_path]).errors)
    assert "typo.toml" in messages and "colour" in messages
    assert "cond.toml" in messages


def test_server_bullets_stay_on_their_own_lines():
    two_servers = SELF_SIGNED + SELF_SIGNED.replace("cucm.example.com", "cucm2.example.com").replace(
        "10.1.1.10", "10.1.1.11"
    )
    findings = {f.id: f for f in LIBRARY.evaluate(_context(two_servers))}
    bullets = [
        line for line in findings["ts-cert-self-signed"].description.splitlines() if line.startswith("- ")
    ]
    assert len(bullets) == 2


def test_a_log_naming_hundreds_of_servers_gives_each_its_own_row_and_evidence():
    lines = "".join(
        f"2024-02-06T09:16:{i % 60:02d}.{i:03d}-05:00 expc traffic_server[18242]: [ET_NET 2] WARNING: Core server "
        f"certificate verification failed for (cucm{i}.example.com). Action=Terminate Error=self signed "
        f"certificate server=cucm{i}.example.com(10.0.{i // 250}.{i % 250}) depth=0\n"
        for i in range(400)
    )
    finding = logscope.analyze(lines.encode()).finding("ts-cert-self-signed")
    assert len(finding.servers) == 400 and finding.count == 400
    server = next(s for s in finding.servers if s.name == "cucm399.example.com")
    assert (server.ip, server.detail, server.count) == ("10.0.1.149", "self signed certificate (depth=0)", 1)
    assert len(finding.evidence) == 400


def test_ecdsa_port_split_names_the_node_only_when_several_nodes_saw_it(tmp_path):
    sample = ROOT / "sample_logs" / "x14.2-ecdsa-self-signed-6972.tar.gz"
    single = logscope.analyze(sample).finding("ts-ecdsa-port-split")
    assert "answered the Expressway-C on 10.20.30.11 port 8443 but failed" in single.description

    with tarfile.open(sample) as archive:
        log = archive.extractfile("loggingsnapshot_expc_20240206_091702.txt").read()
    for node in ("expc1", "expc2"):
        (tmp_path / f"loggingsnapshot_{node}_20240206_091702.txt").write_bytes(log)
    cluster = logscope.analyze(tmp_path).finding("ts-ecdsa-port-split")
    assert (
        "on 10.20.30.11 (from expc1) port 8443; 10.20.30.11 (from expc2) port 8443 but failed"
        in cluster.description
    )


def _self_signed_pem(common_name: str) -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_an_example_with_files_is_read_through_the_bundle_readers(tmp_path):
    """Bundle examples (log + PEM/xconf/xstat) reach the certificates frame the real way: the file
    name decides the source, so a PEM named like the server certificate matches and one that is not
    named like any bundle file is skipped."""
    pem = _self_signed_pem("expc.example.com").replace("\n", "\n  ")
    other = _self_signed_pem("expe.example.com").replace("\n", "\n  ")
    log = "2024-03-05T10:00:01.100+01:00 expc traffic_server[4242]: [ET_NET 1] NOTE: started"
    _write(
        tmp_path,
        "own-cert.toml",
        f'''
        id = "own-cert-cn"
        title = "The server certificate is for expc.example.com"
        category = "Test"
        severity = "info"
        needs = ["server_pem"]
        [match]
        frame = "certificates"
        [[match.where]]
        subject_cn = ["expc.example.com"]
        [text]
        description = "seen"
        action = "none"
        [[examples]]
        expect = "issue"
        log = "{log}"
        files = {{ "server_expc_2024-03-05_10-00.pem" = """
  {pem}""" }}
        [[examples]]
        expect = "missing-info"
        log = "{log}"
        files = {{ "notes.pem" = """
  {pem}""" }}
        [[examples]]
        expect = "ok"
        log = "{log}"
        files = {{ "server_expc_2024-03-05_10-00.pem" = """
  {other}""" }}
        ''',
    )
    library = load_library([tmp_path])
    assert library.errors == []
    assert check_library(library, {"own-cert-cn"}) == []
    signature = library.get("own-cert-cn")
    findings = [run_example(library, signature, e) for e in signature.examples]
    assert [f.status for f in findings] == ["issue", "missing-info", "ok"]
    issue = findings[0]
    assert [(s.name, s.nodes) for s in issue.servers] == [("expc", ["expc"])]
    assert issue.evidence[0].source.endswith("server_expc_2024-03-05_10-00.pem")
    assert "subject CN=expc.example.com" in issue.evidence[0].text


def test_an_example_file_outside_its_folder_is_refused_by_the_schema(tmp_path):
    source = (data_dir("signatures") / "ts-cert-expired.toml").read_text()
    text = source.replace(
        '[[examples]]\nname = "not yet valid',
        '[[examples]]\nfiles = { "../x.pem" = "x" }\nname = "not yet valid',
        1,
    )
    _write(tmp_path, "escape.toml", text)
    library = load_library([tmp_path])
    assert any("escape.toml" in str(e) and "../x.pem" in str(e) for e in library.errors)
