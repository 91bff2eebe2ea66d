"""The lab's certificates are what each case claims, checked with `cryptography`'s own path validation.

No traffic_server needed: these run wherever `cryptography` is installed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import ats_lab  # noqa: F401  (puts the repository root, where lab/ lives, on sys.path)
import pytest

x509 = pytest.importorskip("cryptography.x509")
verification = pytest.importorskip("cryptography.x509.verification")
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

from lab.cases import lab_cases  # noqa: E402
from lab.pki import build_pki  # noqa: E402


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return build_pki(tmp_path_factory.mktemp("pki"), [case.leaf for case in lab_cases()])


@pytest.fixture(scope="module")
def cases():
    return {case.name: case for case in lab_cases()}


def chain_of(pki, name: str) -> list:
    return x509.load_pem_x509_certificates(pki.credentials[name].chain_file.read_bytes())


def verify_as_proxy(pki, name: str, server_name: str) -> list:
    """Validate the origin's chain the way a proxy that trusts only the lab root would."""
    store = verification.Store(x509.load_pem_x509_certificates(pki.proxy_trust_bundle.read_bytes()))
    leaf, *intermediates = chain_of(pki, name)
    try:
        subject = x509.IPAddress(ipaddress.ip_address(server_name))
    except ValueError:
        subject = x509.DNSName(server_name)
    verifier = verification.PolicyBuilder().store(store).build_server_verifier(subject)
    return verifier.verify(leaf, intermediates)


def test_healthy_chain_validates_for_its_name(pki, cases):
    assert len(verify_as_proxy(pki, "healthy", cases["healthy"].server_name)) == 3


@pytest.mark.parametrize(
    "name",
    ["selfsigned-rsa", "selfsigned-ecdsa", "untrusted-root", "issuer-missing", "expired", "not-yet-valid",
     "name-mismatch-ip", "name-mismatch-dns", "wrong-purpose"],
)  # fmt: skip
def test_every_failure_case_fails_path_validation(pki, cases, name):
    with pytest.raises(verification.VerificationError):
        verify_as_proxy(pki, name, cases[name].server_name)


def test_self_signed_leaves_are_their_own_issuer_with_rsa_and_ecdsa_keys(pki):
    (rsa_leaf,) = chain_of(pki, "selfsigned-rsa")
    (ec_leaf,) = chain_of(pki, "selfsigned-ecdsa")
    for leaf in (rsa_leaf, ec_leaf):
        assert leaf.issuer == leaf.subject
    assert isinstance(rsa_leaf.public_key(), rsa.RSAPublicKey)
    assert isinstance(ec_leaf.public_key(), ec.EllipticCurvePublicKey)


def test_untrusted_root_is_sent_in_full_and_is_not_the_proxy_root(pki):
    leaf, intermediate, root = chain_of(pki, "untrusted-root")
    assert leaf.issuer == intermediate.subject and intermediate.issuer == root.subject == root.subject
    assert root.issuer == root.subject
    (trusted,) = x509.load_pem_x509_certificates(pki.proxy_trust_bundle.read_bytes())
    assert root.subject != trusted.subject


def test_issuer_missing_origin_sends_only_its_leaf(pki):
    (leaf,) = chain_of(pki, "issuer-missing")
    (trusted,) = x509.load_pem_x509_certificates(pki.proxy_trust_bundle.read_bytes())
    assert leaf.issuer != trusted.subject  # signed by the intermediate, which is not sent


def test_validity_windows_are_in_the_past_and_in_the_future(pki):
    now = dt.datetime.now(dt.UTC)
    (expired, _) = chain_of(pki, "expired")
    (future, _) = chain_of(pki, "not-yet-valid")
    assert expired.not_valid_after_utc < now
    assert future.not_valid_before_utc > now


def test_san_lacks_the_address_the_proxy_uses(pki, cases):
    for name in ("name-mismatch-ip", "name-mismatch-dns"):
        leaf = chain_of(pki, name)[0]
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in san.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in san.get_values_for_type(x509.IPAddress)]
        assert cases[name].server_name not in names


def test_wrong_purpose_leaf_is_for_client_auth_only(pki):
    leaf = chain_of(pki, "wrong-purpose")[0]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_origins_that_demand_a_client_cert_do_not_trust_the_proxy_cert(pki):
    proxy_leaf, proxy_issuer = x509.load_pem_x509_certificates(pki.proxy_client.chain_file.read_bytes())
    (client_trust,) = x509.load_pem_x509_certificates(pki.origin_client_trust.read_bytes())
    assert client_trust.subject not in {proxy_leaf.issuer, proxy_issuer.issuer}


def test_private_keys_are_owner_only(pki):
    for credential in [*pki.credentials.values(), pki.proxy_client]:
        assert credential.key_file.stat().st_mode & 0o077 == 0
