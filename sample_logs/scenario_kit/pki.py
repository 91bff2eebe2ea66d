"""Real certificates for the samples, made with `cryptography`, byte-identical on every run.

cryptography cannot seed its key generation, so RSA keys are built here from primes drawn with a
seeded random.Random (Miller-Rabin, 16 rounds) and handed to cryptography as RSAPrivateNumbers; every
signature is RSA PKCS#1 v1.5, which is deterministic (ECDSA signatures are not, so no CA here uses an
EC key). Validity dates, serial numbers and names are fixed. Nothing here is parsed by hand: the
certificates are built and written by cryptography.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


def _probably_prime(n: int, rng: random.Random) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(16):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random, e: int = 65537) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % e and _probably_prime(candidate, rng):
            return candidate


FIXED_KEYS = Path(__file__).parent / "keys"


@cache
def rsa_key(seed: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key of `bits` bits derived from `seed` alone (the same seed gives the same key).

    Keys over 4096 bits take minutes in pure Python: those were generated once by cryptography and
    committed under keys/ (`<seed>-<bits>.pem`), and are loaded from there.
    """
    if bits > 4096:
        data = (FIXED_KEYS / f"{seed}-{bits}.pem").read_bytes()
        return serialization.load_pem_private_key(data, password=None)
    rng = random.Random(f"logscope-sample-key:{seed}:{bits}")
    e = 65537
    while True:
        p, q = _prime(bits // 2, rng), _prime(bits // 2, rng)
        if p != q and (p * q).bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    public = rsa.RSAPublicNumbers(e, p * q)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
    )
    return numbers.private_key()


@dataclass(frozen=True)
class Spec:
    """What one certificate should be; `issuer` None: self-signed."""

    name: str  # the key seed and a label
    cn: str | None
    not_before: str  # ISO dates, UTC
    not_after: str
    serial: int
    issuer: Spec | None = None
    ca: bool = False
    bits: int = 2048
    hash: str = "sha256"
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    ekus: tuple[str, ...] = ("serverAuth", "clientAuth")
    org: str = "Example Corp"
    extra: dict = field(default_factory=dict, compare=False, hash=False)


_EKUS = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH, "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}
_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384}


def _name(spec: Spec) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.org)]
    if spec.cn:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, spec.cn))
    return x509.Name(attributes)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@cache
def certificate(spec: Spec) -> x509.Certificate:
    """The certificate `spec` describes, signed by its issuer's key (or its own)."""
    key = rsa_key(spec.name, spec.bits)
    signer = spec.issuer or spec
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec))
        .issuer_name(_name(signer))
        .public_key(key.public_key())
        .serial_number(spec.serial)
        .not_valid_before(_time(spec.not_before))
        .not_valid_after(_time(spec.not_after))
        .add_extension(x509.BasicConstraints(ca=spec.ca, path_length=None), critical=True)
    )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=not spec.ca,
            content_commitment=False,
            key_encipherment=not spec.ca,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=spec.ca,
            crl_sign=spec.ca,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    if not spec.ca and spec.ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage([_EKUS[e] for e in spec.ekus]), critical=False)
    names = [x509.DNSName(n) for n in spec.dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in spec.ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    signer_key = rsa_key(signer.name, signer.bits)
    if spec.hash == "sha1":
        return _sha1_signed(builder.sign(signer_key, hashes.SHA256()), signer_key)
    return builder.sign(signer_key, _HASHES[spec.hash]())


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11, DER
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")  # OID 1.2.840.113549.1.1.5, same length


def _sha1_signed(certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The same certificate signed with SHA-1, which cryptography's builder refuses to do.

    The two signature-algorithm OIDs have one length and an RSA signature's length is the key's, so
    swapping the OID (in the TBS part and the outer algorithm) and the signature bytes keeps every
    DER length; the result is loaded back through cryptography, which checks it.
    """
    der = certificate.public_bytes(serialization.Encoding.DER)
    tbs = certificate.tbs_certificate_bytes.replace(_SHA256_RSA, _SHA1_RSA)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    assert der.count(_SHA256_RSA) == 2 and len(signature) == len(certificate.signature)
    return x509.load_der_x509_certificate(der.replace(_SHA256_RSA, _SHA1_RSA)[: -len(signature)] + signature)


def pem(*specs: Spec) -> bytes:
    """The PEM blocks of these certificates, in order."""
    return b"".join(certificate(spec).public_bytes(serialization.Encoding.PEM) for spec in specs)
