"""The fixed words of the generated logs: OpenSSL errors, cipher strings, signature ids, rule types,
user agents and people's names, and the identifiers built from them (route segments, tracking ids)."""

from __future__ import annotations

import base64
import random
import uuid

TS_MODULE = "network.http.trafficserver"
VERIFY_FAILED = "error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed"
ALERT_UNKNOWN_CA = "error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca"
RSA_PREFIX = "ECDHE-RSA-AES256-GCM-SHA384:"
DEFAULT_CIPHERS = "EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:!PSK:!eNULL:!aNULL:!aDH"
SIGNATURE_IDS = (
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
)
CERT_SIGNATURES = (
    "ts-cert-self-signed",
    "ts-cert-unknown-ca",
    "ts-cert-issuer-missing",
    "ts-cert-expired",
    "ts-cert-name-mismatch",
    "ts-cert-verify-other",
)
RULE_TYPES = {
    "cucm": "Automatically generated rule for CUCM server",
    "imp": "Automatically generated rule for IM&P server",
    "cuc": "Automatically generated rule for Unity Connection server",
}
USER_AGENTS = (
    "Jabber-Win-14.1.5.57909",
    "Jabber-Mac-14.1.4.305",
    "Jabber-iOS-14.1.3",
    "Jabber-Android-14.1.3",
)
FIRST_NAMES = (
    "anna",
    "ben",
    "carla",
    "dmitri",
    "elif",
    "farid",
    "grace",
    "hiro",
    "ines",
    "jonas",
    "kofi",
    "lena",
    "mateo",
    "nora",
    "omar",
    "priya",
)
LAST_NAMES = (
    "adams",
    "berg",
    "chen",
    "diaz",
    "eze",
    "fischer",
    "garcia",
    "haas",
    "ito",
    "jansen",
    "kim",
    "lopez",
    "meyer",
    "okafor",
    "rossi",
    "singh",
)


def route_segment(domain: str, scheme: str, host: str, port: int) -> str:
    """The MRA route path segment: base64 of `<domain>/<scheme>/<host>/<port>`, padding stripped."""
    return base64.b64encode(f"{domain}/{scheme}/{host}/{port}".encode()).decode().rstrip("=")


def tracking_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def user_names(rng: random.Random, count: int) -> list[str]:
    pairs = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    return [f"{first[0]}{last}" for first, last in rng.sample(pairs, count)]
