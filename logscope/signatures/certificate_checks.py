"""Detectors for the node's own certificates and trust store (design.md second-wave table).

Each reads the `certificates` frame (rows the signature's `where` selected: the server PEM's leaf or
the trusted CA list) with the node facts (version, role, xconf) and the bundle's own time, never the
clock. A detector that cannot decide for want of a fact (the bundle's time, the node's role or
version) says `missing-info` over the rows it could not decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from logscope.frames import Frames, node_mra_domains
from logscope.nodes import NodeSummary
from logscope.signatures.context import Context
from logscope.signatures.detector_result import VERIFY_KINDS, Detector, DetectorResult
from logscope.signatures.matching import normalize_text
from logscope.signatures.signature import parse_version

EXPIRY_WARNING = pd.Timedelta(days=30)
MAX_SAN_CHARACTERS = 999  # Certificate Creation and Use Deployment Guide X15.0: entries past it are ignored
WEAK_HASHES = {"sha1", "md5", "md2", "md4"}
SERVER_ONLY_EKU_SETTING = "XCP TLS Certificate CVS EnableServerEkuUpload"
FIXED_EKU_VERSION = (15, 4)
CLIENT_PEM_VERSION = (15, 5)
FIRST_AFFECTED = (14, 0, 0)


def _empty(rows: pd.DataFrame) -> DetectorResult:
    return DetectorResult(rows.iloc[0:0])


def _nodes(context: Context) -> dict[str, NodeSummary]:
    return {node.host: node for node in context.nodes}


def cert_expired(context: Context, leaves: pd.DataFrame) -> DetectorResult:
    """The node's server certificate is expired or not yet valid at the bundle's time (issue), or
    expires within 30 days (potential)."""
    if leaves.empty:
        return _empty(leaves)
    now = context.bundle_time
    if now is None:
        return DetectorResult(leaves, status="missing-info", facts={"no_time": True})
    left = leaves["not_after"] - now
    early = leaves["not_before"] > now  # not yet valid: a clock behind, or a certificate dated ahead
    expired = (leaves["not_after"] <= now) | early
    soon = ~expired & (left <= EXPIRY_WARNING)
    rows = leaves[expired | soon]
    days = {
        str(node): int(delta.total_seconds() // 86400)
        for node, delta in zip(rows["node"], left[expired | soon], strict=True)
    }
    status = "issue" if expired.any() else "potential"
    facts = {
        "days_left": days,
        "bundle_time": f"{now:%Y-%m-%d %H:%M} UTC",
        "not_yet_valid": sorted({str(node) for node in leaves.loc[early, "node"]}),
    }
    return DetectorResult(rows, status=status, facts=facts)


def _eku_rule(node: NodeSummary | None) -> tuple[str | None, str]:
    """(status if the certificate lacks clientAuth, the rule of log-lines section 10 that decided:
    a key the signature's text words)."""
    if node is None or node.role == "unknown" or parse_version(node.version) is None:
        return "missing-info", "unknown"
    version = parse_version(node.version) or ()
    if version < FIRST_AFFECTED:
        return None, "older"
    server_only = node.config.get(SERVER_ONLY_EKU_SETTING, "").strip().lower() == "on"
    if node.role == "Expressway-E" and version >= FIXED_EKU_VERSION and server_only:
        return None, "server_only_allowed"
    if node.role == "Expressway-C":
        return "issue", "expressway_c"
    return "issue", "edge_before_x15_4" if version < FIXED_EKU_VERSION else "edge_without_setting"


def no_client_eku(context: Context, leaves: pd.DataFrame) -> DetectorResult:
    """The certificate the node presents as a TLS client lacks the clientAuth EKU, on a version that
    needs it. X15.5 keeps a separate client certificate: a `client_pem` row is checked when the frame
    has one, else the server certificate is."""
    nodes = _nodes(context)
    certificates = context.certificates if context.certificates is not None else leaves.iloc[0:0]
    picked, statuses, rules = [], [], {}
    for index, row in leaves.iterrows():
        node = nodes.get(str(row["node"]))
        checked = row
        if node is not None and (parse_version(node.version) or ()) >= CLIENT_PEM_VERSION:
            mine = certificates[certificates["node"] == row["node"]]
            client = mine[(mine["source"] == "client_pem") & (mine["role"] == "client")]
            checked = client.iloc[0] if not client.empty else row
        if "clientAuth" in list(checked["extended_key_usage"]):
            continue
        status, rule = _eku_rule(node)
        if status is None:
            continue
        picked.append(index)
        statuses.append(status)
        rules[str(row["node"])] = {"rule": rule, "version": node.version if node else "unknown"}
    rows = leaves.loc[picked]
    status = "issue" if "issue" in statuses else ("missing-info" if statuses else None)
    pairs = zip(rows["node"], rows["extended_key_usage"], strict=True)
    ekus = {str(node): list(usages) or ["none"] for node, usages in pairs}
    return DetectorResult(rows, status=status, facts={"rules": rules, "ekus": ekus})


def _covered(domain: str, sans: Iterable[str]) -> bool:
    names = {name.lower().rstrip(".") for name in sans}
    domain = domain.lower().rstrip(".")
    return domain in names or f"collab-edge.{domain}" in names


def _role(nodes: dict[str, NodeSummary], host: str) -> str:
    node = nodes.get(host)
    return node.role if node is not None else "unknown"


def edge_missing_mra_domain(context: Context, leaves: pd.DataFrame) -> DetectorResult:
    """An Expressway-E server certificate whose SANs hold neither an MRA domain (a SIP domain with
    Edge On in xconf) nor collab-edge.<domain> (seeds 001, 002)."""
    nodes = _nodes(context)
    frames = Frames(certificates=leaves, config=context.config, status=context.status, alarms=context.alarms)
    picked, missing, sans, undecided = [], {}, {}, False
    for index, row in leaves.iterrows():
        host = str(row["node"])
        if _role(nodes, host) not in ("Expressway-E", "unknown"):
            continue
        lacking = [d for d in node_mra_domains(frames, host) if not _covered(d, row["san_dns"])]
        if not lacking:
            continue
        picked.append(index)
        missing[host] = lacking
        sans[host] = list(row["san_dns"]) or ["none"]
        undecided = undecided or _role(nodes, host) == "unknown"
    rows = leaves.loc[picked]
    if rows.empty:
        return _empty(leaves)
    status = (
        "issue" if len(missing) > sum(1 for h in missing if _role(nodes, h) == "unknown") else "missing-info"
    )
    return DetectorResult(
        rows, status=status, facts={"missing": missing, "sans": sans, "role_unknown": undecided}
    )


def san_characters(dns: Iterable[str], ips: Iterable[str]) -> int:
    """The SAN list's length as the entries joined by commas (how the CSR form takes them)."""
    return len(",".join([*dns, *ips]))


def weak_problems(row: dict[str, Any] | pd.Series) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what breaks the Expressway, what breaks general practice) for one certificate, as facts:
    `no_cn`, `rsa_bits` (over 4096), `san_characters` (over 999); `hash`, `rsa_bits` (under 2048)."""
    expressway: dict[str, Any] = {}
    practice: dict[str, Any] = {}
    if not str(row["subject_cn"] or "").strip():
        expressway["no_cn"] = True
    size = int(row["key_size"]) if pd.notna(row["key_size"]) else None
    if row["key_type"] == "RSA" and size is not None and size > 4096:
        expressway["rsa_bits"] = size
    characters = san_characters(row["san_dns"], row["san_ip"])
    if characters > MAX_SAN_CHARACTERS:
        expressway["san_characters"] = characters
    if str(row["signature_hash"]).lower() in WEAK_HASHES:
        practice["hash"] = str(row["signature_hash"]).upper()
    if row["key_type"] == "RSA" and size is not None and size < 2048:
        practice["rsa_bits"] = size
    return expressway, practice


def cert_weak(context: Context, leaves: pd.DataFrame) -> DetectorResult:
    """The node's certificate breaks an Expressway rule (issue) or only general practice (potential)."""
    picked, expressway, practice = [], {}, {}
    for index, row in leaves.iterrows():
        rules, general = weak_problems(row)
        if rules or general:
            picked.append(index)
            host = str(row["node"])
            expressway[host], practice[host] = rules, general
    rows = leaves.loc[picked]
    status = "issue" if any(expressway.values()) else "potential"
    return DetectorResult(rows, status=status, facts={"expressway": expressway, "practice": practice})


def _verify_failures(context: Context) -> pd.DataFrame:
    failures = context.tls_failures
    return failures if failures.empty else failures[failures["kind"].isin(VERIFY_KINDS)]


def _involved(failures: pd.DataFrame, node: str, names: set[str], expired_ca: bool) -> pd.DataFrame:
    """The node's verify failures whose server is named like one of the CAs (a self-signed server
    certificate is its own CA), or, for an expired CA, an expiry at depth 1 or more (a CA's)."""
    if failures.empty:
        return failures
    mine = failures[failures["node"].astype(str) == node]
    named = mine["server_name"].astype("string").str.lower().isin(names) | mine["sni"].astype(
        "string"
    ).str.lower().isin(names)
    chain = pd.Series(False, index=mine.index)
    if expired_ca:
        error = mine["verify_error"].map(lambda text: normalize_text(text) if pd.notna(text) else "")
        chain = (error == "certificate has expired") & (pd.to_numeric(mine["depth"], errors="coerce") >= 1)
    return mine[named.fillna(False).astype(bool) | chain.fillna(False).astype(bool)]


def _quoted(lines: pd.DataFrame, context: Context, limit: int = 3) -> list[tuple[str, Any, str]]:
    head = lines.head(limit)
    texts = context.texts.texts(head)
    return list(zip(head["source"].astype(str), head["line"], texts.astype(str), strict=True))


def trust_store_hygiene(context: Context, store: pd.DataFrame) -> DetectorResult:
    """Expired CAs and CAs that share a CN in a node's trusted CA list (seeds 000, 001, 003:
    the Expressway keeps only one of two certificates with one CN)."""
    if store.empty:
        return _empty(store)
    now = context.bundle_time
    expired = store["not_after"] <= now if now is not None else pd.Series(False, index=store.index)
    cn = store["subject_cn"].fillna("").astype(str).str.lower()
    duplicate = (cn != "") & cn.groupby([store["node"].astype(str), cn]).transform("size").gt(1)
    chainless = _chainless_leaves(context, store)
    rows = (
        pd.concat([store[expired | duplicate], chainless])
        if not chainless.empty
        else store[expired | duplicate]
    )
    if rows.empty:
        return _empty(store)
    failures, involved, per_node = _verify_failures(context), 0, {}
    for node, group in store[expired | duplicate].groupby(store["node"].astype(str)):
        names = set(cn.loc[group.index]) - {""}
        lines = _involved(failures, node, names, bool(expired.loc[group.index].any()))
        involved += len(lines)
        per_node[node] = {
            "expired": sorted(group.loc[expired.loc[group.index], "subject"]),
            "duplicates": sorted(set(group.loc[duplicate.loc[group.index], "subject_cn"])),
            "failures": len(lines),
            "lines": [f"{source}:{line}: {raw}" for source, line, raw in _quoted(lines, context)],
        }
    for leaf in chainless.to_dict("records"):
        per_node.setdefault(str(leaf["node"]), {})["missing_issuer"] = leaf["issuer"]
    return DetectorResult(rows, status="issue" if involved else "potential", facts={"nodes": per_node})


def _chainless_leaves(context: Context, store: pd.DataFrame) -> pd.DataFrame:
    """Per node, its server certificate when the trusted CA list lacks the certificate's issuer
    (design.md: the node then sends its leaf alone), as a row of that list's file marked
    `missing_issuer`; a self-signed leaf has no chain to lack."""
    certificates = context.certificates
    if certificates is None or certificates.empty:
        return store.iloc[0:0]
    leaves = certificates[
        (certificates["role"] == "leaf") & (certificates["subject"] != certificates["issuer"])
    ]
    held = store.groupby(store["node"].astype(str))["subject"].agg(set).to_dict()
    files = dict(zip(store["node"].astype(str), store["file"], strict=False))
    lacking = [
        index
        for index, node, issuer in zip(
            leaves.index, leaves["node"].astype(str), leaves["issuer"], strict=True
        )
        if node in held and issuer not in held[node]
    ]
    chainless = leaves.loc[lacking].copy()
    chainless["file"] = [files[str(node)] for node in chainless["node"]]
    return chainless.assign(missing_issuer=True)


def _peers_named(context: Context, host: str) -> bool:
    config = context.config
    if config is None or config.empty:
        return False
    peer = config["path"].str.match(r"^Alternates Peer \d+ Address$")
    mine = config[(config["node"].astype(str) == host) & peer]
    return bool(mine["value"].astype(str).str.strip().ne("").any())


def _absent_rows(store: pd.DataFrame, present: pd.DataFrame, held: dict[str, set[str]]) -> pd.DataFrame:
    """Per node, a row for each CA its peers hold and it lacks, marked `absent`, with the node's own
    list as the file: the evidence that names the node lacking the CA."""
    files = dict(zip(store["node"].astype(str), store["file"], strict=False))
    unique = present.drop_duplicates("sha256")
    parts = [
        unique[~unique["sha256"].isin(hashes)].assign(node=node, file=files[node], absent=True)
        for node, hashes in held.items()
    ]
    return pd.concat(parts, ignore_index=True) if parts else present.iloc[0:0]


def _cluster_groups(context: Context, store: pd.DataFrame) -> list[set[str]]:
    """The nodes whose lists are compared: cluster peers share a role, so an Expressway-C and an
    Expressway-E given together (the two sides of the traversal) are two groups; a node whose role is
    unknown is compared with every group."""
    roles = {node.host: node.role for node in context.nodes}
    hosts = set(store["node"].astype(str))
    known = {roles.get(host, "unknown") for host in hosts} - {"unknown"}
    if len(known) < 2:
        return [hosts]
    unknown = {host for host in hosts if roles.get(host, "unknown") == "unknown"}
    return [{h for h in hosts if roles.get(h) == role} | unknown for role in sorted(known)]


def trust_store_differs(context: Context, store: pd.DataFrame) -> DetectorResult:
    """Cluster peers whose trusted CA lists differ (the list is not replicated; seed 003: update the
    trust store on every server in the cluster); issue when only some nodes fail in the log."""
    if store.empty:
        return _empty(store)
    groups = _cluster_groups(context, store)
    if len(groups) == 1:
        return _differs_in(context, store)
    found = [
        result
        for group in groups
        if not (result := _differs_in(context, store[store["node"].astype(str).isin(group)])).rows.empty
    ]
    return found[0] if len(found) == 1 else _merged(found, store)


def _merged(results: list[DetectorResult], store: pd.DataFrame) -> DetectorResult:
    """The findings of several role groups as one (the most severe status first)."""
    if not results:
        return _empty(store)
    ranked = sorted(results, key=lambda r: ("issue", "potential", "missing-info").index(r.status or "issue"))
    facts = {
        "lacking": {n: s for r in ranked for n, s in r.facts.get("lacking", {}).items()},
        "failing": sorted({n for r in ranked for n in r.facts.get("failing", [])}),
        "nodes": sorted({n for r in ranked for n in r.facts.get("nodes", [])}),
        "single": ranked[0].facts.get("single"),
    }
    rows = pd.concat([r.rows for r in ranked], ignore_index=True)
    return DetectorResult(rows, status=ranked[0].status, facts=facts)


def _differs_in(context: Context, store: pd.DataFrame) -> DetectorResult:
    """trust_store_differs over one group of cluster peers."""
    held = {str(node): set(group["sha256"]) for node, group in store.groupby(store["node"].astype(str))}
    if len(held) < 2:
        host = next(iter(held))
        if _peers_named(context, host):
            return DetectorResult(store, status="missing-info", facts={"single": host})
        return _empty(store)
    common = set.intersection(*held.values())
    present = store[~store["sha256"].isin(common)]
    if present.empty:
        return _empty(store)
    subjects = dict(zip(store["sha256"], store["subject"], strict=True))
    every = set().union(*held.values())
    lacking = {node: sorted({subjects[h] for h in every - hashes}) for node, hashes in sorted(held.items())}
    rows = pd.concat([present, _absent_rows(store, present, held)], ignore_index=True)
    failures = _verify_failures(context)
    failing = sorted(set(failures["node"].astype(str)) & set(held)) if not failures.empty else []
    status = "issue" if failing and len(failing) < len(held) else "potential"
    facts = {"lacking": {n: s for n, s in lacking.items() if s}, "failing": failing, "nodes": sorted(held)}
    return DetectorResult(rows, status=status, facts=facts)


CERTIFICATE_DETECTORS: dict[str, Detector] = {
    "cert_expired": cert_expired,
    "no_client_eku": no_client_eku,
    "edge_missing_mra_domain": edge_missing_mra_domain,
    "cert_weak": cert_weak,
    "trust_store_hygiene": trust_store_hygiene,
    "trust_store_differs": trust_store_differs,
}
