"""The lab's cases: one origin per certificate-verification failure cause, plus a healthy control.

Each case names the certificate its origin serves, the address the proxy uses to reach it, and the
logscope signature its failure must raise. The proxy trusts only the lab root CA (see :mod:`lab.pki`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.x509.oid import ExtendedKeyUsageOID

from lab.pki import DAY, LeafSpec

DOMAIN = "lab"


@dataclass(frozen=True)
class Case:
    """One origin and what the proxy should make of its certificate.

    `connect_by_ip`: the remap rule names the origin by IP address (no host name, so the proxy checks
    the IP against the certificate). `tls_max`: the highest TLS version the origin accepts.
    `demands_client_cert`: the origin requires a client certificate from a CA the proxy's does not
    chain to. `signature`: the logscope signature the ENFORCED run's logs must raise for this origin
    (at `issue` for a certificate failure), or None when those logs hold nothing about it.
    """

    name: str
    cause: str
    ip: str
    leaf: LeafSpec
    signature: str | None
    connect_by_ip: bool = False
    tls_max: str = "1.3"
    demands_client_cert: bool = False

    @property
    def host_name(self) -> str:
        """The origin's DNS name in the proxy's hosts file."""
        return f"{self.name}.{DOMAIN}"

    @property
    def server_name(self) -> str:
        """The address the proxy connects to and verifies the certificate against."""
        return self.ip if self.connect_by_ip else self.host_name


def _leaf(name: str, **options) -> LeafSpec:
    """A leaf for case `name` whose SAN holds the case's host name, unless `options` say otherwise."""
    host = f"{name}.{DOMAIN}"
    options.setdefault("common_name", host)
    options.setdefault("dns_names", (host,))
    return LeafSpec(name=name, **options)


def lab_cases() -> list[Case]:
    """Every case, each on its own loopback address (127.0.0.11 upwards)."""
    specs = [
        (
            "selfsigned-rsa",
            "self-signed RSA leaf",
            "ts-cert-self-signed",
            _leaf("selfsigned-rsa", issuer=None, chain=()),
            {},
        ),
        (
            "selfsigned-ecdsa",
            "self-signed ECDSA leaf",
            "ts-cert-self-signed",
            _leaf("selfsigned-ecdsa", issuer=None, chain=(), key_type="ecdsa"),
            {},
        ),
        (
            "untrusted-root",
            "leaf under a root the proxy does not trust, full chain sent",
            "ts-cert-unknown-ca",
            _leaf(
                "untrusted-root",
                issuer="untrusted-intermediate",
                chain=("untrusted-intermediate", "untrusted-root"),
            ),
            {},
        ),
        (
            "issuer-missing",
            "leaf under the trusted root's intermediate, intermediate not sent",
            "ts-cert-issuer-missing",
            _leaf("issuer-missing", chain=()),
            {},
        ),
        (
            "expired",
            "leaf whose validity ended",
            "ts-cert-expired",
            _leaf("expired", valid_from=-400 * DAY, valid_until=-30 * DAY),
            {},
        ),
        (
            "not-yet-valid",
            "leaf whose validity has not started",
            "ts-cert-expired",
            _leaf("not-yet-valid", valid_from=30 * DAY, valid_until=400 * DAY),
            {},
        ),
        (
            "name-mismatch-ip",
            "proxy connects by IP address; the SAN holds only a DNS name",
            "ts-cert-name-mismatch",
            _leaf("name-mismatch-ip"),
            {"connect_by_ip": True},
        ),
        (
            "name-mismatch-dns",
            "proxy connects by a host name the certificate does not carry",
            "ts-cert-name-mismatch",
            _leaf("name-mismatch-dns", common_name="other-host.lab", dns_names=("other-host.lab",)),
            {},
        ),
        (
            "wrong-purpose",
            "leaf whose extended key usage is clientAuth only",
            "ts-cert-verify-other",
            _leaf("wrong-purpose", eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)),
            {},
        ),
        # At default diagnostics ATS 9.2 writes no diags.log line when the origin refuses its client
        # certificate: over TLS 1.2 only error.log's CONNECT lines show the failed connect (the alert
        # text is in the `ssl.error` debug tag alone); over TLS 1.3 the refusal comes after the
        # handshake and neither log shows anything.
        (
            "client-cert-rejected-tls12",
            "origin (TLS 1.2 only) rejects the proxy's client certificate",
            "ts-502-unexplained",
            _leaf("client-cert-rejected-tls12"),
            {"tls_max": "1.2", "demands_client_cert": True},
        ),
        (
            "client-cert-rejected-tls13",
            "origin (TLS 1.3) rejects the proxy's client certificate",
            None,
            _leaf("client-cert-rejected-tls13"),
            {"demands_client_cert": True},
        ),
        ("healthy", "valid leaf and chain under the trusted root", None, _leaf("healthy"), {}),
    ]
    return [
        Case(name=name, cause=cause, ip=f"127.0.0.{11 + index}", leaf=leaf, signature=sig, **options)
        for index, (name, cause, sig, leaf, options) in enumerate(specs)
    ]
