"""PEM certificates (the trusted CA list, the server certificate): their specs and their reader.

They have no content check: only their names find them. `read_certificates` turns one PEM file
into plain rows of the `certificates` frame (design.md, "Second wave"), one per certificate. Blocks
are loaded one at a time, so a bad certificate is a counted skip and the rest of the file is still
read; X.509 is parsed by the `cryptography` package, imported when a PEM is read (never by hand).
"""

from __future__ import annotations

import re
from typing import Any

from logscope.bundle.spec import HOST_TS, IN_ARCHIVE, SourceSpec, name_patterns

CA_PEM = SourceSpec(
    "ca_pem",
    "the trusted CA list (ca_<host>_<timestamp>.pem)",
    name_patterns(rf"^ca{HOST_TS}\.pem$"),
    None,
    False,
    f"{IN_ARCHIVE} The list itself is under Maintenance > Security > Trusted CA Certificate.",
)
SERVER_PEM = SourceSpec(
    "server_pem",
    "the Expressway's server certificate (server_<host>_<timestamp>.pem)",
    name_patterns(rf"^server{HOST_TS}\.pem$"),
    None,
    False,
    f"{IN_ARCHIVE} The certificate itself is under Maintenance > Security > Server certificate.",
)
# log-lines section 9: "X15.5 bundles may add the client certificate"; named like its siblings
CLIENT_PEM = SourceSpec(
    "client_pem",
    "the Expressway's client certificate, X15.5 and later (client_<host>_<timestamp>.pem)",
    name_patterns(rf"^client{HOST_TS}\.pem$"),
    None,
    False,
    f"{IN_ARCHIVE} X15.5 keeps the client certificate apart from the server certificate.",
)
PEM_SOURCES = (CA_PEM.key, SERVER_PEM.key, CLIENT_PEM.key)

_BLOCK = re.compile(
    rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----.*?-----END (?:X509 |TRUSTED )?CERTIFICATE-----", re.S
)
_BEGIN = re.compile(rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----")
MAX_BLOCK_BYTES = 256 * 1024  # one certificate; a 2,000-name SAN list is about 60 KiB
_EKU_NAMES = {
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
}
_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def read_certificates(data: bytes, node: str, source: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, skips): one row per certificate in `data`, one reason per block that could not be read.

    In the server PEM the first certificate is the node's leaf, in the client PEM (X15.5) its client
    certificate; the others (and every certificate of the CA list) are roots when self-issued, else
    intermediates.
    """
    from cryptography import x509  # imported on use: `logscope --help` loads none of it

    rows: list[dict[str, Any]] = []
    skips: list[str] = []
    starts = [match.start() for match in _BEGIN.finditer(data)]
    for number, start in enumerate(starts, start=1):
        block = _BLOCK.match(data, start, min(len(data), start + MAX_BLOCK_BYTES))
        if block is None:
            skips.append(f"certificate {number}: no END line within {MAX_BLOCK_BYTES // 1024} KiB")
            continue
        try:
            certificate = x509.load_pem_x509_certificate(block[0])
            row = certificate_row(certificate)
        except Exception as error:  # hostile bytes: whatever the parser raises, one counted skip
            skips.append(f"certificate {number}: {_reason(error)}")
            continue
        first = {SERVER_PEM.key: "leaf", CLIENT_PEM.key: "client"}.get(source) if not rows else None
        row.update(node=node, source=source, index=number)
        row["role"] = first or ("root" if row["subject"] == row["issuer"] else "intermediate")
        rows.append(row)
    if not starts and data.strip():
        skips.append("no PEM certificate in it")
    return rows, skips


def certificate_row(certificate: Any) -> dict[str, Any]:
    """The columns of one certificate (a cryptography x509.Certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key_type, key_size = _key(certificate)
    algorithm = certificate.signature_hash_algorithm
    return {
        "subject": certificate.subject.rfc4514_string(),
        "subject_cn": _common_name(certificate.subject),
        "issuer": certificate.issuer.rfc4514_string(),
        "serial": format(certificate.serial_number, "X"),
        "sha256": certificate.fingerprint(hashes.SHA256()).hex().upper(),
        "not_before": certificate.not_valid_before_utc,
        "not_after": certificate.not_valid_after_utc,
        "key_type": key_type,
        "key_size": key_size,
        "signature_hash": algorithm.name if algorithm is not None else "none",
        "san_dns": _sans(certificate, x509.DNSName),
        "san_ip": [str(ip) for ip in _sans(certificate, x509.IPAddress)],
        "key_usage": _key_usage(certificate),
        "extended_key_usage": _extended_key_usage(certificate),
        "is_ca": _is_ca(certificate),
    }


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())[:160]
    return f"unreadable ({type(error).__name__}{': ' + text if text else ''})"


def _common_name(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _key(certificate: Any) -> tuple[str, int | None]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, None


def _extension(certificate: Any, kind: Any) -> Any:
    from cryptography import x509

    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _sans(certificate: Any, kind: Any) -> list[Any]:
    from cryptography import x509

    names = _extension(certificate, x509.SubjectAlternativeName)
    return list(names.get_values_for_type(kind)) if names is not None else []


def _key_usage(certificate: Any) -> list[str]:
    from cryptography import x509

    usage = _extension(certificate, x509.KeyUsage)
    if usage is None:
        return []
    names = [name for name in _KEY_USAGES if getattr(usage, name)]
    if usage.key_agreement:
        names += [name for name in ("encipher_only", "decipher_only") if getattr(usage, name)]
    return names


def _extended_key_usage(certificate: Any) -> list[str]:
    from cryptography import x509

    usage = _extension(certificate, x509.ExtendedKeyUsage)
    return [_EKU_NAMES.get(oid.dotted_string, oid.dotted_string) for oid in usage] if usage else []


def _is_ca(certificate: Any) -> bool:
    from cryptography import x509

    constraints = _extension(certificate, x509.BasicConstraints)
    return bool(constraints and constraints.ca)
