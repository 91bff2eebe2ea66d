"""The traversal TLS lab (lab/traversal_tls.py): real OpenSSL verdicts per seed-002 certificate variant,
against the mapping table and logscope's causes.

Each variant runs a mutual-TLS openssl s_server (the -E) and s_client (the -C) on a free loopback port,
over TLS 1.2 and 1.3 (about 3 s in all). Skipped with the reason when openssl is missing, except under
CI=true, where that is a failure (CI installs openssl: .ci/run).
"""

from __future__ import annotations

import shutil

import ats_lab  # also puts the repository root, where lab/ lives, on sys.path
import pytest

import logscope
from lab.traversal_tls import (
    EXPECTED,
    TLS_VERSIONS,
    VARIANTS,
    VERIFY_FAILED,
    LabError,
    Variant,
    negotiation_detail,
    run_lab,
)
from logscope.lines.tvcs import classify
from logscope.render.answers import nodes_failing

pytestmark = pytest.mark.lab
FAILING = [v for v in VARIANTS if v.cause]
CERTIFICATE_SIGNATURES = {"traversal-tls-identity", "traversal-tls-untrusted"}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    if shutil.which("openssl") is None:
        if ats_lab.in_ci():
            pytest.fail("CI=true but openssl is missing (apt-get install openssl)")
        pytest.skip("the traversal TLS lab needs openssl (apt-get install openssl)")
    try:
        return run_lab(tmp_path_factory.mktemp("traversal-tls"))
    except LabError as error:
        if ats_lab.in_ci():
            pytest.fail(f"the traversal TLS lab could not run: {error}")
        pytest.skip(f"the traversal TLS lab could not run here: {error}")


def by_name(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)


def test_the_mapping_table_covers_every_variant_and_both_sides():
    assert set(EXPECTED) == {v.name for v in VARIANTS}
    assert all(set(sides) == {"-C", "-E"} for sides in EXPECTED.values())


@pytest.mark.parametrize("tls", TLS_VERSIONS)
@pytest.mark.parametrize("name", [v.name for v in VARIANTS])
def test_each_side_gets_the_openssl_verdict_of_the_mapping_table(verdicts, name, tls):
    for side, expected in EXPECTED[name].items():
        verdict = verdicts[(name, tls)][side]
        assert (verdict.verify_error, verdict.alert_received) == (expected.verify_error, expected.alert), side


@pytest.mark.parametrize("tls", TLS_VERSIONS)
def test_the_healthy_pair_completes_on_both_sides(verdicts, tls):
    sides = verdicts[("healthy", tls)]
    assert sides["-C"].completed and sides["-E"].completed
    assert sides["-C"].exit_status == 0


@pytest.mark.parametrize("tls", TLS_VERSIONS)
@pytest.mark.parametrize("name", [v.name for v in FAILING])
def test_each_failing_variant_has_one_rejecting_and_one_rejected_side(verdicts, name, tls):
    sides = verdicts[(name, tls)].values()
    assert sorted(v.verify_error is not None for v in sides) == [False, True]
    assert sorted(v.alert_received is not None for v in sides) == [False, True]


@pytest.mark.parametrize("tls", TLS_VERSIONS)
@pytest.mark.parametrize("name", [v.name for v in FAILING])
def test_logscope_gives_each_sides_openssl_text_the_cause_of_the_table(verdicts, name, tls):
    for side, expected in EXPECTED[name].items():
        detail = negotiation_detail(verdicts[(name, tls)][side])
        assert classify("tls_negotiation_error", detail, None) == expected.cause, (side, detail)


@pytest.mark.parametrize("name", [v.name for v in FAILING])
def test_the_side_that_rejected_gets_the_variants_cause_from_its_verify_string(name):
    """The verify string is the rejecting side's evidence: it alone names the variant's cause."""
    rejecting = [e for e in EXPECTED[name].values() if e.verify_error]
    assert [e.cause for e in rejecting] == [(by_name(name).cause, "self")]


@pytest.mark.parametrize("tls", TLS_VERSIONS)
def test_the_error_queue_says_certificate_verify_failed_for_every_cause(verdicts, tls):
    """OpenSSL's queue holds one generic reason on every rejecting side: a developer.ssl line's
    ssl_error_reason cannot tell identity, CA and purpose apart; the verify string can."""
    for variant in FAILING:
        rejecting = [v for v in verdicts[(variant.name, tls)].values() if v.verify_error]
        assert [v.errors for v in rejecting] == [(VERIFY_FAILED,)], variant.name


C_LINE = (
    '2026-03-04T08:{minute:02d}:44.120+00:00 {host} tvcs: Event="Outbound TLS Negotiation Error" Service="SIP"'
    ' Src-ip="{c_ip}" Src-port="{sport}" Dst-ip="{e_ip}" Dst-port="7001" Detail="{detail}"'
    ' Protocol="TLS" Common-name="{checked}" Level="1" UTCTime="2026-03-04 08:{minute:02d}:44,120"'
)
E_LINE = (
    '2026-03-04T08:{minute:02d}:44.300+00:00 {host} tvcs: Event="Inbound TLS Negotiation Error" Service="SIP"'
    ' Src-ip="{c_ip}" Src-port="{sport}" Dst-ip="{e_ip}" Dst-port="7001" Detail="{detail}"'
    ' Protocol="TLS" Common-name="{checked}" Level="1" UTCTime="2026-03-04 08:{minute:02d}:44,300"'
)


def write_pairs(folder, variant: Variant, verdicts) -> None:
    """The variant's runs (one per TLS version) as -C/-E pairs (own source port and minute each) in
    one bundle: each side's OpenSSL text is the Detail= of its tvcs negotiation error (log-lines.md
    section 8)."""
    c_lines, e_lines = [], []
    for number, tls in enumerate(TLS_VERSIONS):
        sides = verdicts[(variant.name, tls)]
        common = {"minute": 10 + number, "sport": 40300 + number, "c_ip": "10.0.0.5", "e_ip": "10.0.0.9"}
        c_lines.append(
            C_LINE.format(
                host="expc1", detail=negotiation_detail(sides["-C"]), checked=variant.peer_address, **common
            )
        )
        e_lines.append(
            E_LINE.format(
                host="expe1", detail=negotiation_detail(sides["-E"]), checked=variant.subject_name, **common
            )
        )
    (folder / "expc1.log").write_text("\n".join(c_lines) + "\n")
    (folder / "expe1.log").write_text("\n".join(e_lines) + "\n")


@pytest.mark.parametrize("name", [v.name for v in FAILING])
def test_the_pair_of_lines_carrying_the_openssl_texts_raises_the_variants_signature(verdicts, tmp_path, name):
    """The variant's signature is the issue, the other certificate one is not (a `bad certificate`
    alert paired with an identity rejection is that identity failure)."""
    variant = by_name(name)
    write_pairs(tmp_path, variant, verdicts)
    report = logscope.analyze(tmp_path)
    issues = {f.id for f in report.findings if f.status == "issue"} & CERTIFICATE_SIGNATURES
    assert issues == {variant.signature}


# The node whose configuration must change (seed 002's actions): the side that rejected for a name or a
# CA (its zone's peer address or subject name, its trusted CA list), the rejected side for a purpose or
# an expired certificate (its certificate). expc1 is the -C, expe1 the -E.
MUST_CHANGE = {
    "peer-address-ip": "expc1",
    "subject-name-missing": "expe1",
    "ca-missing-on-c": "expc1",
    "ca-missing-on-e": "expe1",
    "ca-missing-on-c-root-sent": "expc1",
    "intermediate-missing-on-e": "expe1",
    "leaf-without-clientauth": "expc1",
    "e-certificate-expired": "expe1",
}


@pytest.mark.parametrize("name", [v.name for v in FAILING])
def test_the_pairs_finding_fails_on_the_node_whose_configuration_must_change(verdicts, tmp_path, name):
    write_pairs(tmp_path, by_name(name), verdicts)
    report = logscope.analyze(tmp_path)
    finding = report.finding(by_name(name).signature)
    assert {e.node for e in finding.evidence} == {"expc1", "expe1"}  # both sides quoted
    assert nodes_failing(finding, report) == [MUST_CHANGE[name]]


@pytest.mark.parametrize(("name", "side"), [("peer-address-ip", "-E"), ("subject-name-missing", "-C")])
def test_the_rejected_side_alone_of_an_identity_failure_is_not_called_a_missing_ca(
    verdicts, tmp_path, name, side
):
    variant = by_name(name)
    line = E_LINE if side == "-E" else C_LINE
    detail = negotiation_detail(verdicts[(name, "1.2")][side])
    (tmp_path / "node.log").write_text(
        line.format(
            host="node1",
            minute=12,
            sport=40311,
            c_ip="127.0.1.1",
            e_ip="127.0.2.1",
            detail=detail,
            checked="",
        )
        + "\n"
    )
    report = logscope.analyze(tmp_path)
    untrusted = next(f for f in report.findings if f.id == "traversal-tls-untrusted")
    identity = next(f for f in report.findings if f.id == "traversal-tls-identity")
    assert variant.cause == "identity" and untrusted.status == "ok"
    assert identity.status == "potential"
    assert "loggingsnapshot_*.txt" in identity.description and "unknown ca" in identity.description
