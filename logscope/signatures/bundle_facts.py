"""What the node's own files add to any finding's texts (issue 13, item 3): the cross-checks.

Every text may read `bundle`: per node its role and version with where they came from, the CAs its
trusted CA list holds (expired and duplicate ones flagged) and its own certificate's issuer chain; and,
per server a finding names, the xconf entries that name it. The facts never change a status; the
signature files decide what to say with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from logscope.findings import Server
from logscope.signatures.context import Context


def bundle_facts(context: Context, servers: Sequence[Server]) -> dict[str, Any]:
    """{"nodes": [per node facts], "xconf": {server name: ["file: path: value", ...]}}."""
    return {
        "nodes": [node_facts(context, node) for node in context.nodes],
        "xconf": xconf_mentions(context.config, servers),
    }


def node_facts(context: Context, node: Any) -> dict[str, Any]:
    certificates = context.certificates
    own = (
        certificates[certificates["node"].astype(str) == node.host]
        if certificates is not None and not certificates.empty
        else None
    )
    return {
        "host": node.host,
        "role": node.role,
        "version": node.version,
        "role_source": node.role_source,
        "trust_store": trusted_cas(own, context.bundle_time),
        "chain": issuer_chain(own),
    }


def trusted_cas(certificates: pd.DataFrame | None, now: pd.Timestamp | None) -> list[dict[str, Any]]:
    """The CAs of the node's trusted CA list, each with `expired` and `duplicate` (a subject held twice)."""
    if certificates is None:
        return []
    store = certificates[certificates["source"] == "ca_pem"]
    counts = store["subject"].value_counts()
    return [
        {
            "subject": str(subject),
            "not_after": f"{pd.Timestamp(not_after):%Y-%m-%d}",
            "expired": now is not None and pd.Timestamp(not_after) <= now,
            "duplicate": int(counts.get(subject, 0)) > 1,
        }
        for subject, not_after in zip(store["subject"], store["not_after"], strict=True)
    ]


def issuer_chain(certificates: pd.DataFrame | None) -> list[str]:
    """The node's own certificate and its issuers as `server_*.pem` holds them: leaf first, then each
    issuer by subject, found in the node's PEM files; an issuer not found ends the chain by name."""
    if certificates is None:
        return []
    server = certificates[certificates["source"] == "server_pem"]
    leaves = server[server["role"] == "leaf"]
    if leaves.empty:
        return []
    pairs = zip(certificates["subject"], certificates["issuer"], strict=True)
    by_subject = {str(subject): str(issuer) for subject, issuer in pairs}
    chain = [str(leaves["subject"].iloc[0])]
    issuer = str(leaves["issuer"].iloc[0])
    while issuer not in chain and len(chain) < 10:
        chain.append(issuer)
        if issuer not in by_subject:
            break
        issuer = by_subject[issuer]
    return chain


def xconf_mentions(config: pd.DataFrame | None, servers: Sequence[Server]) -> dict[str, list[str]]:
    """Per server: the xconf entries whose value is its name or address, quoted with their file.

    One pass over the settings into a value index, then a lookup per server: a finding may name
    thousands of servers."""
    if config is None or config.empty or not servers:
        return {}
    by_value: dict[str, list[str]] = {}
    for file, path, value in zip(config["file"], config["path"], config["value"], strict=True):
        by_value.setdefault(str(value).strip().lower(), []).append(f"{file}: {path}: {value}")
    mentions: dict[str, list[str]] = {}
    for server in servers:
        keys = dict.fromkeys(str(name).strip().lower() for name in (server.name, server.ip) if name)
        entries = [entry for key in keys for entry in by_value.get(key, [])]
        if entries:
            mentions[server.name] = entries
    return mentions
