"""The traversal findings' cross-checks with each side's own files (issue 15 item 3, seed 002
"Traversal Zone Down with TLS Negotiation Error"):

- the -C zone's peer address against the names of the -E certificate, and the -E zone's TLS Verify
  Subject Name against the names of the -C certificate (`name_checks`);
- the CAs of each side's certificate path against the other side's trusted CA list (`ca_gaps`: "all
  CA certificates from the certification path of both Expressway servers are present on the trusted
  CA list of all servers involved").

They never change a status: they say which setting or which CA the log's verdict points at, as facts
for the texts and as evidence quoting the file that holds the entry.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pandas as pd

from logscope.findings import Evidence
from logscope.signatures.context import Context

OTHER_ROLE = {"Expressway-C": "Expressway-E", "Expressway-E": "Expressway-C"}
# the xconf entry holding the name a side checks (log-lines.md section 9)
_CHECKED = {
    "Expressway-C": (re.compile(r"^Zones Zone \d+ TraversalClient Peer \d+ Address$"), "peer address"),
    "Expressway-E": (
        re.compile(r"^Zones Zone \d+ TraversalServer SIP TLS Verify Subject Name$"),
        "TLS Verify Subject Name",
    ),
}


def _server_pem(context: Context, node: str) -> pd.DataFrame:
    """The certificates of a node's server PEM: its own (the leaf) and the CAs it carries with it."""
    certificates = context.certificates
    if certificates is None or certificates.empty:
        return pd.DataFrame()
    return certificates[(certificates["node"].astype(str) == node) & (certificates["source"] == "server_pem")]


def certificate_names(context: Context, node: str) -> tuple[list[str], str] | None:
    """The CN and SANs (DNS, IP) of a node's own server certificate, and its file; None without it."""
    server = _server_pem(context, node)
    leaf = server[server["role"] == "leaf"] if not server.empty else server
    if leaf.empty:
        return None
    row = leaf.iloc[0]
    names = [row.get("subject_cn"), *list(row.get("san_dns") or []), *list(row.get("san_ip") or [])]
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n.strip())), str(row["file"])


def name_in(name: str, names: list[str]) -> bool:
    """Whether a certificate with these names carries `name` (case-insensitive; an address compares
    as an address; `*.domain` covers one label)."""
    wanted = name.strip().lower().rstrip(".")
    try:
        address = ipaddress.ip_address(wanted)
    except ValueError:
        address = None
    for held in (n.strip().lower().rstrip(".") for n in names):
        if address is not None:
            try:
                if ipaddress.ip_address(held) == address:
                    return True
            except ValueError:
                continue
        elif held == wanted or (held.startswith("*.") and wanted.partition(".")[2] == held[2:]):
            return True
    return False


def name_checks(context: Context, roles: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Per -C and -E node, each name its traversal zone checks against the other side's certificate:
    `found` True or False, None when no certificate of the other side was given."""
    config = context.config
    if config is None or config.empty:
        return []
    checks = []
    for node, (role, _) in sorted(roles.items()):
        if role not in _CHECKED:
            continue
        pattern, setting = _CHECKED[role]
        mine = config[(config["node"].astype(str) == node) & config["path"].astype(str).str.match(pattern)]
        others = [n for n, (r, _) in sorted(roles.items()) if r == OTHER_ROLE[role]]
        for path, value, file in zip(mine["path"], mine["value"], mine["file"], strict=True):
            name = str(value).strip()
            if not name:
                continue
            held = [(other, certificate_names(context, other)) for other in others]
            given = [(other, found) for other, found in held if found is not None]
            checks += [
                _check(node, role, setting, str(path), name, str(file), other, names, cert_file)
                for other, (names, cert_file) in given
            ] or [_check(node, role, setting, str(path), name, str(file), None, None, None)]
    return checks


def _check(
    node: str,
    role: str,
    setting: str,
    path: str,
    name: str,
    file: str,
    owner: str | None,
    names: list[str] | None,
    cert_file: str | None,
) -> dict[str, Any]:
    return {
        "node": node,
        "role": role,
        "setting": setting,
        "path": path,
        "name": name,
        "file": file,
        "owner": owner,
        "owner_role": OTHER_ROLE[role],
        "names": names,
        "cert_file": cert_file,
        "found": None if names is None else name_in(name, names),
    }


def path_authorities(context: Context, node: str) -> list[str]:
    """The CAs of a node's certificate path: the issuer of its certificate and of every CA certificate
    its server PEM carries with it (up to the root, named by the last issuer)."""
    server = _server_pem(context, node)
    if server.empty:
        return []
    issuers = [str(issuer) for subject, issuer in zip(server["subject"], server["issuer"], strict=True)
               if subject != issuer]  # fmt: skip
    roots = server.loc[server["subject"] == server["issuer"], "subject"].astype(str)
    return list(dict.fromkeys([*issuers, *roots]))


def trusted(context: Context, node: str) -> tuple[set[str], str] | None:
    """The subjects of a node's trusted CA list and its file; None when the bundle holds no list."""
    certificates = context.certificates
    if certificates is None or certificates.empty:
        return None
    store = certificates[(certificates["node"].astype(str) == node) & (certificates["source"] == "ca_pem")]
    if store.empty:
        return None
    return set(store["subject"].astype(str)), str(store["file"].iloc[0])


def ca_gaps(context: Context, roles: dict[str, tuple[str, str]]) -> tuple[list[dict[str, Any]], int]:
    """For each -C/-E pair (both ways), the CAs of one side's certificate path missing from the other
    side's trusted CA list; and how many (holder, owner) pairs could be compared at all."""
    gaps: list[dict[str, Any]] = []
    compared = 0
    for holder, (role, _) in sorted(roles.items()):
        store = trusted(context, holder) if role in OTHER_ROLE else None
        if store is None:
            continue
        subjects, file = store
        for owner, (other_role, _) in sorted(roles.items()):
            authorities = path_authorities(context, owner) if other_role == OTHER_ROLE[role] else []
            if not authorities:
                continue
            compared += 1
            missing = [ca for ca in authorities if ca not in subjects]
            if missing:
                gaps.append({"holder": holder, "owner": owner, "missing": missing, "file": file})
    return gaps, compared


def crosscheck_evidence(
    checks: list[dict[str, Any]], gaps: list[dict[str, Any]], text: dict[str, str]
) -> list[Evidence]:
    """The file entries the cross-checks point at: a checked name the other certificate lacks (the
    xconf entry, then that certificate's names), and each CA a trusted CA list lacks."""
    evidence: list[Evidence] = []
    for check in checks:
        if check["found"] is not False:
            continue
        evidence.append(
            Evidence(
                source=check["file"],
                line=None,
                text=text["name_absent"].format(**check, names_text=", ".join(check["names"])),
                node=check["node"],
                role="config",
            )
        )
        evidence.append(
            Evidence(
                source=check["cert_file"],
                line=None,
                text=text["certificate_names"].format(**check, names_text=", ".join(check["names"])),
                node=check["owner"],
                role="certificates",
            )
        )
    for gap in gaps:
        evidence += [
            Evidence(
                source=gap["file"],
                line=None,
                text=text["ca_absent"].format(ca=ca, owner=gap["owner"]),
                node=gap["holder"],
                role="certificates",
            )
            for ca in gap["missing"]
        ]
    return evidence
