"""Scenario family: stock Apache Traffic Server logs (diags.log and error.log), no Expressway around them."""

from __future__ import annotations

import random
import time

from .bundle_files import tar_gz
from .clock import utc_ms
from .deployment import Upstream
from .log_lines import diags_line, errorlog_connect_fail, verify_failed
from .manifest import Built, expect, manifest_entry
from .snapshot import Tally

ATS_SERVERS = (
    (
        "selfsigned.lab",
        "127.0.0.12",
        "self-signed certificate",
        0,
        "ts-cert-self-signed",
        "/CSFuser1.cnf.xml",
    ),
    (
        "untrustedroot.lab",
        "127.0.0.13",
        "self-signed certificate in certificate chain",
        2,
        "ts-cert-unknown-ca",
        "/cucm-uds/version",
    ),
    (
        "nointermediate.lab",
        "127.0.0.14",
        "unable to get local issuer certificate",
        0,
        "ts-cert-issuer-missing",
        "/cucm-uds/user/user2/devices",
    ),
)
ATS_STARTUP = (
    (0, "traffic_server NOTE: --- traffic_server Starting ---"),
    (0, "traffic_server NOTE: traffic_server Version: Apache Traffic Server - traffic_server - 9.2.9"),
    (1, "traffic_server NOTE: RLIMIT_NOFILE(7):cur(1048576),max(1048576)"),
    (
        18,
        "[ET_TASK 0] NOTE: loading SSL certificate configuration from /etc/trafficserver/ssl_multicert.config",
    ),
    (19, "[ET_TASK 0] NOTE: (ssl) ssl_multicert.config finished loading"),
    (69, "traffic_server NOTE: traffic server running"),
    (122, "[ET_NET 0] NOTE: Traffic Server is fully initialized."),
)


def diags_stamp(t_ms: int) -> str:
    return f"{time.strftime('%b %d %H:%M:%S', time.gmtime(t_ms // 1000))}.{t_ms % 1000:03d}"


def errorlog_stamp(t_ms: int) -> str:
    return time.strftime("%Y%m%d.%Hh%Mm%Ss", time.gmtime(t_ms // 1000))


def plain_ats() -> Built:
    """A stock ATS 9.2 / OpenSSL 3 log pair: warnings in diags.log, the port and URL in error.log only."""
    rng = random.Random(115)
    start = utc_ms("2026-11-22T15:10:30.333")
    diags = [diags_line(diags_stamp(start + dt), text) for dt, text in ATS_STARTUP]
    errors: list[str] = []
    tally = Tally()
    t = start + 14_855
    for _ in range(18):
        name, ip, error, depth, signature, path = rng.choice(ATS_SERVERS)
        for attempt in range(2 if rng.random() < 0.3 else 1):
            t += rng.randint(3, 9) if attempt else 0
            warning = verify_failed(rng.randint(0, 3), name, "Terminate", error, name, ip, depth)
            diags.append(diags_line(diags_stamp(t), warning))
            errors.append(
                errorlog_connect_fail(errorlog_stamp(t), ip, 8443, f"https://{name}:8443{path}", attempt)
            )
        tally.note(signature, "", Upstream(name, ip, "cucm"), 8443)
        t += rng.randint(1500, 9000)
    members = {
        "diags.log": ("\n".join(diags) + "\n").encode(),
        "error.log": ("\n".join(errors) + "\n").encode(),
    }
    name = "plain-ats-diags"
    path = f"{name}.tar.gz"
    statuses = expect(
        {
            "ts-cert-self-signed": "issue",
            "ts-cert-unknown-ca": "issue",
            "ts-cert-issuer-missing": "issue",
            "mra-address-not-fqdn": "missing-info",
            "ts-ecdsa-port-split": "missing-info",
            # every error.log connect failure has its certificate warning beside it
            "ts-502-unexplained": "ok",
        }
    )
    summary = (
        "Stock Apache Traffic Server 9.2 with OpenSSL 3 wording: diags.log (no year, host or pid; no ERROR lines) "
        "and error.log CONNECT lines with port and URL, each beside its warning; no Expressway transactions, "
        "so route checks lack data."
    )
    entry = {"host": "", "bundle": path, "version": "", "role": "", "utc_offset": "", "traffic_server_pid": 0}
    entry["lines"] = len(diags) + len(errors)
    return Built({path: tar_gz(members)}, manifest_entry(name, path, summary, statuses, [entry], tally))


def build() -> list[Built]:
    """Every scenario of the family, built."""
    return [plain_ats()]
