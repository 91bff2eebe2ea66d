"""A mutual-TLS lab for the traversal zone's certificate checks (issue 15, seed 002).

There is no Expressway to run, so its own identity wording ("Peer's TLS certificate identity was
unacceptable") cannot be produced here; the OpenSSL verdicts and alerts can. For each certificate
variant of seed 002's "Traversal Zone Down with TLS Negotiation Error", a real `openssl s_server` (the
Expressway-E's traversal port) and `openssl s_client` (the Expressway-C connecting out) run mutual TLS
on a free loopback port, and each side's verdict is read from what OpenSSL printed: the verify error
(X509_verify_cert_error_string, the text an Expressway's `Detail=` carries on the side that rejected)
and the error queue (the `ssl_error_reason=` of a `developer.ssl` line, alerts included).

:data:`EXPECTED` is the mapping table: per variant, the verdict each side gets and the cause
logscope's phrase table (:func:`logscope.lines.tvcs.classify`) gives each side's text. The test in
tests/lab/test_traversal_tls_lab.py fails when the lab and the table disagree. The texts are OpenSSL 3's
(1.1.1 words some differently: "self signed", "unsupported certificate purpose", 14xxxxxx codes).

    .venv/bin/python -m lab.traversal_tls       prints every variant's verdicts as JSON
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from lab.pki import DAY, Issued, LeafSpec, cert_pem, key_pem, make_ca, make_leaf

C_NAME = "expc.logscope.lab"  # the -C's own name (its certificate's CN and SAN)
E_NAME = "expe.logscope.lab"  # the -E's own name
LOOPBACK = "127.0.0.1"
BOTH_EKU = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
TLS_VERSIONS = ("1.2", "1.3")
STEP_TIMEOUT_S = 10.0
PARALLEL_RUNS = 4  # openssl pairs at once: the runs mostly wait on process start-up
REQUEST = "GET / HTTP/1.0\r\n\r\n"  # s_server -www answers it and hangs up: the healthy run ends


@dataclass(frozen=True)
class Variant:
    """One certificate set-up of the traversal zone, and the cause seed 002 gives it.

    The -C is the TLS client (it opens the zone to the -E's port), the -E the server; both demand and
    check the other's certificate. `peer_address`: what the -C's zone names the -E by (an IP address is
    checked against the certificate's IP SANs). `subject_name`: the -E zone's TLS verify subject name.
    `*_trusts`: the roots in each side's trusted CA list. `*_sends`: the CAs each side sends after its
    leaf. `c_eku`: the -C certificate's extended key usages. `e_validity`: the -E certificate's
    validity period (from, until), relative to the moment the lab runs.
    """

    name: str
    cause: str  # identity, untrusted, purpose, expired, or "" for the healthy control
    signature: str | None
    peer_address: str = E_NAME
    subject_name: str = C_NAME
    c_trusts: tuple[str, ...] = ("c-root", "e-root")
    e_trusts: tuple[str, ...] = ("c-root", "e-root")
    c_sends: tuple[str, ...] = ("c-intermediate",)
    e_sends: tuple[str, ...] = ("e-intermediate",)
    c_eku: tuple = BOTH_EKU
    e_validity: tuple[dt.timedelta, dt.timedelta] = (-DAY, 365 * DAY)


VARIANTS: tuple[Variant, ...] = (
    Variant("healthy", "", None),
    # seed 002: "the peer address configured on the Expressway-C traversal zone matches with at least
    # one of the names on the Expressway-E server certificate"; an IP address is the classic miss
    Variant("peer-address-ip", "identity", "traversal-tls-identity", peer_address=LOOPBACK),
    # seed 002: "The TLS Verify Subject Name does not match a name in the certificate presented"
    Variant(
        "subject-name-missing", "identity", "traversal-tls-identity", subject_name="expc-cluster.logscope.lab"
    ),
    # seed 002: "The CA certificates are not trusted by the servers", on either side
    Variant("ca-missing-on-c", "untrusted", "traversal-tls-untrusted", c_trusts=("c-root",)),
    Variant("ca-missing-on-e", "untrusted", "traversal-tls-untrusted", e_trusts=("e-root",)),
    Variant(
        "ca-missing-on-c-root-sent",
        "untrusted",
        "traversal-tls-untrusted",
        c_trusts=("c-root",),
        e_sends=("e-intermediate", "e-root"),
    ),
    # log-lines.md section 8: an intermediate CA missing from a trust store (the -C sends no chain)
    Variant("intermediate-missing-on-e", "untrusted", "traversal-tls-untrusted", c_sends=()),
    # log-lines.md section 10 / issue 15: the -C certificate lacks the client-authentication EKU
    Variant(
        "leaf-without-clientauth",
        "purpose",
        "traversal-tls-untrusted",
        c_eku=(ExtendedKeyUsageOID.SERVER_AUTH,),
    ),
    # seed 002: the date within the validity period is a condition of trust; the -E certificate
    # ended yesterday (its renewal was not uploaded)
    Variant("e-certificate-expired", "expired", "traversal-tls-untrusted", e_validity=(-30 * DAY, -DAY)),
)


@dataclass(frozen=True)
class SideVerdict:
    """What OpenSSL printed on one side: the verify error, the error queue's reasons, the alert."""

    verify_error: str | None  # X509_verify_cert_error_string of the first failure
    verify_code: int | None
    errors: tuple[str, ...]  # "error:<code>:<library>::<reason>", ERR_error_string_n's layout
    alert_received: str | None  # the reason of an alert the peer sent ("tlsv1 alert unknown ca")
    exit_status: int | None

    @property
    def completed(self) -> bool:
        return self.verify_error is None and not self.errors


@dataclass(frozen=True)
class Expected:
    """One side's row of the mapping table: its OpenSSL verdict and the cause logscope gives it.

    `verify_error` / `alert`: the texts OpenSSL reports; `cause`: (cause, rejected_by) that
    :func:`logscope.lines.tvcs.classify` gives the side's negotiation-error text.
    """

    verify_error: str | None = None
    alert: str | None = None
    cause: tuple[str, str | None] | None = None


VERIFY_FAILED = "error:0A000086:SSL routines::certificate verify failed"
BAD_CERTIFICATE = "sslv3 alert bad certificate"
UNKNOWN_CA = "tlsv1 alert unknown ca"

# The mapping table. An identity rejection reaches the rejected side as `bad certificate` (OpenSSL's
# ssl_x509err2alert; a CA error as `unknown ca`), which the phrase table reads as identity, rejected by
# the peer: paired, it is quoted beside the rejecting side's line; alone, traversal-tls-identity is
# potential and names the other side's log (traversal_checks.py).
EXPECTED: dict[str, dict[str, Expected]] = {
    "healthy": {"-C": Expected(), "-E": Expected()},
    "peer-address-ip": {
        "-C": Expected(verify_error="IP address mismatch", cause=("identity", "self")),
        "-E": Expected(alert=BAD_CERTIFICATE, cause=("identity", "peer")),
    },
    "subject-name-missing": {
        "-C": Expected(alert=BAD_CERTIFICATE, cause=("identity", "peer")),
        "-E": Expected(verify_error="hostname mismatch", cause=("identity", "self")),
    },
    "ca-missing-on-c": {
        "-C": Expected(verify_error="unable to get local issuer certificate", cause=("untrusted", "self")),
        "-E": Expected(alert=UNKNOWN_CA, cause=("untrusted", "peer")),
    },
    "ca-missing-on-e": {
        "-C": Expected(alert=UNKNOWN_CA, cause=("untrusted", "peer")),
        "-E": Expected(verify_error="unable to get local issuer certificate", cause=("untrusted", "self")),
    },
    "ca-missing-on-c-root-sent": {
        "-C": Expected(
            verify_error="self-signed certificate in certificate chain", cause=("untrusted", "self")
        ),
        "-E": Expected(alert=UNKNOWN_CA, cause=("untrusted", "peer")),
    },
    "intermediate-missing-on-e": {
        "-C": Expected(alert=UNKNOWN_CA, cause=("untrusted", "peer")),
        "-E": Expected(verify_error="unable to get local issuer certificate", cause=("untrusted", "self")),
    },
    "leaf-without-clientauth": {
        "-C": Expected(alert="sslv3 alert unsupported certificate", cause=("purpose", "peer")),
        "-E": Expected(verify_error="unsuitable certificate purpose", cause=("purpose", "self")),
    },
    "e-certificate-expired": {
        "-C": Expected(verify_error="certificate has expired", cause=("expired", "self")),
        "-E": Expected(alert="sslv3 alert certificate expired", cause=("expired", "peer")),
    },
}


def negotiation_detail(verdict: SideVerdict) -> str | None:
    """The `Detail=` of the side's TLS negotiation error: the verify string on the side that rejected,
    the alert's reason on the side that was rejected (log-lines.md section 8)."""
    return verdict.verify_error or verdict.alert_received


_VERIFY_LINE = re.compile(r"^verify error:num=(\d+):(.+)$", re.M)
# ERR_print_errors: <thread>:error:<code>:<library>:<function>:<reason>:<file>:<line>:<data>
_ERROR_LINE = re.compile(r"^[0-9A-F]+:error:([0-9A-F]{8}):([^:\n]*):[^:\n]*:([^:\n]+):", re.M)


def read_verdict(stderr: str, exit_status: int | None) -> SideVerdict:
    """One side's verdict from what s_server or s_client wrote on stderr."""
    verify = _VERIFY_LINE.search(stderr)
    errors = tuple(
        f"error:{code}:{library}::{reason}" for code, library, reason in _ERROR_LINE.findall(stderr)
    )
    alert = next((error.split("::", 1)[1] for error in errors if " alert " in error), None)
    return SideVerdict(
        verify_error=verify[2].strip() if verify else None,
        verify_code=int(verify[1]) if verify else None,
        errors=errors,
        alert_received=alert,
        exit_status=exit_status,
    )


@dataclass(frozen=True)
class Files:
    """The PEM files of one variant: per side its leaf, key, the CAs it sends and the roots it trusts."""

    c_cert: Path
    c_key: Path
    c_chain: Path | None
    c_trust: Path
    e_cert: Path
    e_key: Path
    e_chain: Path | None
    e_trust: Path


def make_cas(now: dt.datetime) -> dict[str, Issued]:
    """Each side's own CA pair: the -C's certificate comes from one CA, the -E's from another."""
    c_root = make_ca("logscope lab -C root CA", now, path_length=1)
    e_root = make_ca("logscope lab -E root CA", now, path_length=1)
    return {
        "c-root": c_root,
        "c-intermediate": make_ca("logscope lab -C intermediate CA", now, c_root, path_length=0),
        "e-root": e_root,
        "e-intermediate": make_ca("logscope lab -E intermediate CA", now, e_root, path_length=0),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_files(folder: Path, variant: Variant, cas: dict[str, Issued], now: dt.datetime) -> Files:
    """Issue the variant's two leaves (ECDSA: quick to make) and write every file s_server/s_client load."""
    folder.mkdir(parents=True, exist_ok=True)
    c_leaf = make_leaf(
        LeafSpec(
            "c", C_NAME, dns_names=(C_NAME,), issuer="c-intermediate", key_type="ecdsa", eku=variant.c_eku
        ),
        cas,
        now,
    )
    e_leaf = make_leaf(
        LeafSpec(
            "e",
            E_NAME,
            dns_names=(E_NAME,),
            issuer="e-intermediate",
            key_type="ecdsa",
            eku=BOTH_EKU,
            valid_from=variant.e_validity[0],
            valid_until=variant.e_validity[1],
        ),
        cas,
        now,
    )

    def pems(names: tuple[str, ...]) -> bytes:
        return b"".join(cert_pem(cas[name].cert) for name in names)

    key_files = []
    for side, leaf in (("c", c_leaf), ("e", e_leaf)):
        key_file = folder / f"{side}.key.pem"
        key_file.touch(mode=0o600)
        key_files.append(_write(key_file, key_pem(leaf.key)))
    return Files(
        c_cert=_write(folder / "c.pem", cert_pem(c_leaf.cert)),
        c_key=key_files[0],
        c_chain=_write(folder / "c.chain.pem", pems(variant.c_sends)) if variant.c_sends else None,
        c_trust=_write(folder / "c.trust.pem", pems(variant.c_trusts)),
        e_cert=_write(folder / "e.pem", cert_pem(e_leaf.cert)),
        e_key=key_files[1],
        e_chain=_write(folder / "e.chain.pem", pems(variant.e_sends)) if variant.e_sends else None,
        e_trust=_write(folder / "e.trust.pem", pems(variant.e_trusts)),
    )


def _check_option(name: str) -> list[str]:
    """OpenSSL's own name check stands in for Expressway's: an IP address goes to -verify_ip."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return ["-verify_hostname", name]
    return ["-verify_ip", name]


def server_command(files: Files, variant: Variant, tls: str) -> list[str]:
    """The -E: demands a client certificate, checks it against its trust list and subject name."""
    command = ["openssl", "s_server", "-accept", f"{LOOPBACK}:0", "-naccept", "1", "-www", "-Verify", "4",
               "-verify_return_error", "-cert", str(files.e_cert), "-key", str(files.e_key),
               "-CAfile", str(files.e_trust), f"-tls{tls.replace('.', '_')}"]  # fmt: skip
    if files.e_chain:
        command += ["-cert_chain", str(files.e_chain)]
    return command + _check_option(variant.subject_name)


def client_command(files: Files, variant: Variant, tls: str, port: int) -> list[str]:
    """The -C: opens the zone to the -E, checks the -E certificate against its peer address."""
    command = ["openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", "-ign_eof", "-verify_return_error",
               "-cert", str(files.c_cert), "-key", str(files.c_key), "-CAfile", str(files.c_trust),
               f"-tls{tls.replace('.', '_')}"]  # fmt: skip
    if files.c_chain:
        command += ["-cert_chain", str(files.c_chain)]
    return command + _check_option(variant.peer_address)


class LabError(RuntimeError):
    """The lab could not run (openssl missing, no port, a hung process): one line for the user."""


def _accepted_port(server: subprocess.Popen) -> int:
    """The port s_server bound (it prints `ACCEPT 127.0.0.1:<port>` once listening)."""
    found: list[int] = []

    def read() -> None:
        for line in server.stdout:  # type: ignore[union-attr]
            match = re.match(r"ACCEPT .*:(\d+)\s*$", line)
            if match:
                found.append(int(match[1]))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(STEP_TIMEOUT_S)
    if not found:
        raise LabError("openssl s_server did not start listening on 127.0.0.1")
    return found[0]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=STEP_TIMEOUT_S)


def run_variant(variant: Variant, files: Files, tls: str) -> dict[str, SideVerdict]:
    """One mutual-TLS connection -C -> -E; each side's verdict."""
    server = subprocess.Popen(
        server_command(files, variant, tls),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = _accepted_port(server)
        client = subprocess.run(
            client_command(files, variant, tls, port),
            input=REQUEST,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
        )
        try:  # -naccept 1: it exits after the one connection
            _, server_err = server.communicate(timeout=STEP_TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            raise LabError(f"openssl s_server did not end after the {variant.name} connection") from error
    except subprocess.TimeoutExpired as error:
        raise LabError(f"openssl s_client did not end for {variant.name}") from error
    finally:
        _stop(server)
    return {
        "-C": read_verdict(client.stderr, client.returncode),
        "-E": read_verdict(server_err, server.returncode),
    }


def run_lab(folder: Path) -> dict[tuple[str, str], dict[str, SideVerdict]]:
    """Every variant over every TLS version: {(variant, tls): {"-C": verdict, "-E": verdict}}."""
    if shutil.which("openssl") is None:
        raise LabError("openssl is not on the PATH (apt-get install openssl)")
    now = dt.datetime.now(dt.UTC)
    cas = make_cas(now)
    runs = [
        (variant, write_files(folder / variant.name, variant, cas, now), tls)
        for variant in VARIANTS
        for tls in TLS_VERSIONS
    ]
    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:  # each run has its own port and files
        verdicts = list(pool.map(lambda run: run_variant(*run), runs))
    return {(variant.name, tls): sides for (variant, _, tls), sides in zip(runs, verdicts, strict=True)}


def main() -> int:
    try:
        with tempfile.TemporaryDirectory(prefix="traversal-tls-lab-") as folder:
            results = run_lab(Path(folder))
    except (LabError, OSError) as error:
        print(f"traversal TLS lab: {error}", file=sys.stderr)
        return 2
    rows = [
        {"variant": name, "tls": tls, **{side: asdict(verdict) for side, verdict in sides.items()}}
        for (name, tls), sides in results.items()
    ]
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
