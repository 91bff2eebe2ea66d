"""A small PKI made with the `cryptography` package: CAs, leaves and the PEM files the lab serves.

Every certificate the lab needs is described by a :class:`LeafSpec`; :func:`build_pki` writes them all
into one folder. Nothing here touches the network or the system trust store.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    """A certificate and its key, in memory."""

    cert: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True)
class LeafSpec:
    """One leaf certificate to make.

    `issuer` names a CA of :func:`make_authorities` or is None for a self-signed leaf. `chain` lists the
    CA names whose certificates the origin sends after its leaf, in order.
    """

    name: str
    common_name: str
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    issuer: str | None = "lab-intermediate"
    chain: tuple[str, ...] = ("lab-intermediate",)
    key_type: str = "rsa"
    valid_from: dt.timedelta = -DAY  # relative to the moment the PKI is built
    valid_until: dt.timedelta = 365 * DAY
    eku: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.SERVER_AUTH,)


@dataclass(frozen=True)
class Credential:
    """Files an origin or the proxy loads: the certificate chain it sends and its private key."""

    chain_file: Path
    key_file: Path


def new_key(key_type: str) -> PrivateKey:
    """An RSA-2048 or ECDSA P-256 key."""
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key type {key_type!r}")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "logscope lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(
    common_name: str, now: dt.datetime, parent: Issued | None = None, path_length: int | None = None
) -> Issued:
    """A CA certificate: self-signed root when `parent` is None, else signed by `parent`."""
    key = new_key("rsa")
    subject = _name(common_name)
    issuer_name = parent.cert.subject if parent else subject
    signing_key = parent.key if parent else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - 30 * DAY)
        .not_valid_after(now + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if parent:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), critical=False
        )
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


def make_authorities(now: dt.datetime) -> dict[str, Issued]:
    """The lab's CAs: a trusted root + intermediate, an untrusted pair, and the CA the origins that
    demand a client certificate trust (it signed nothing the proxy holds)."""
    lab_root = make_ca("logscope lab root CA", now, path_length=1)
    untrusted_root = make_ca("logscope untrusted root CA", now, path_length=1)
    return {
        "lab-root": lab_root,
        "lab-intermediate": make_ca("logscope lab intermediate CA", now, lab_root, path_length=0),
        "untrusted-root": untrusted_root,
        "untrusted-intermediate": make_ca("logscope untrusted intermediate CA", now, untrusted_root, 0),
        "client-trust-root": make_ca("logscope origin client-trust CA", now, path_length=0),
    }


def make_leaf(spec: LeafSpec, authorities: dict[str, Issued], now: dt.datetime) -> Issued:
    """The leaf `spec` describes, signed by its issuer (or by itself)."""
    key = new_key(spec.key_type)
    subject = _name(spec.common_name)
    parent = authorities[spec.issuer] if spec.issuer else None
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in spec.dns_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(parent.cert.subject if parent else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + spec.valid_from)
        .not_valid_after(now + spec.valid_until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(spec.eku)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    if parent:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), critical=False
        )
    return Issued(builder.sign(parent.key if parent else key, hashes.SHA256()), key)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_credential(folder: Path, name: str, leaf: Issued, chain: list[x509.Certificate]) -> Credential:
    """Write `<name>.chain.pem` (leaf first, then `chain`) and `<name>.key.pem`; keys are owner-only."""
    chain_file = folder / f"{name}.chain.pem"
    key_file = folder / f"{name}.key.pem"
    chain_file.write_bytes(b"".join(cert_pem(c) for c in [leaf.cert, *chain]))
    key_file.touch(mode=0o600)
    key_file.write_bytes(key_pem(leaf.key))
    return Credential(chain_file, key_file)


@dataclass(frozen=True)
class Pki:
    """The files the lab uses: per-leaf credentials, the proxy's trust bundle and client credential."""

    credentials: dict[str, Credential]
    proxy_trust_bundle: Path
    proxy_client: Credential
    origin_client_trust: Path


def build_pki(folder: Path, leaves: list[LeafSpec]) -> Pki:
    """Make every CA and leaf and write them under `folder`.

    The proxy trusts only the lab root. Its client certificate is issued by the lab intermediate (as
    an Expressway-C certificate is by the customer's CA); the origins that demand a client
    certificate trust only `client-trust-root`, which did not sign it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    authorities = make_authorities(now)
    credentials = {}
    for spec in leaves:
        leaf = make_leaf(spec, authorities, now)
        credentials[spec.name] = write_credential(
            folder, spec.name, leaf, [authorities[ca].cert for ca in spec.chain]
        )
    proxy_leaf = make_leaf(
        LeafSpec(
            name="proxy-client",
            common_name="expc.logscope.lab",
            dns_names=("expc.logscope.lab",),
            eku=(ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
        ),
        authorities,
        now,
    )
    proxy_client = write_credential(
        folder, "proxy-client", proxy_leaf, [authorities["lab-intermediate"].cert]
    )
    proxy_trust_bundle = folder / "proxy-trust.pem"
    proxy_trust_bundle.write_bytes(cert_pem(authorities["lab-root"].cert))
    origin_client_trust = folder / "origin-client-trust.pem"
    origin_client_trust.write_bytes(cert_pem(authorities["client-trust-root"].cert))
    return Pki(credentials, proxy_trust_bundle, proxy_client, origin_client_trust)
