"""Node facts: which hosts the bundle covers, and each one's version, role and configuration.

Hosts come from member file names (`<kind>_<host>_<timestamp>`) or from the xconf / xstat dumps;
version and role are read from the dumps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from logscope.bundle.limits import FACTS_MAX_BYTES
from logscope.bundle.result import Member, NodeFacts
from logscope.bundle.xconf import XCONF, parse_xconf
from logscope.bundle.xstat import XSTAT, parse_xstat, version_from

_ROLE = re.compile(r"Expressway[- ]?([CE])\b")
_UC_SERVER_KEY = re.compile(r"\b(EdgeConfigServer|UnifiedCM|CUCM)\b", re.IGNORECASE)
_TRAVERSAL_SERVER = re.compile(r"Traversal ?Server", re.IGNORECASE)
_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
_DUMPS = (XCONF.key, XSTAT.key)


def infer_role(config: dict[str, str], status: dict[str, str]) -> str:
    """The role alone (see :func:`role_and_source`)."""
    return role_and_source(config, status)[0]


def role_and_source(config: dict[str, str], status: dict[str, str]) -> tuple[str, str]:
    """('Expressway-C' | 'Expressway-E' | 'unknown', the dump that decided: 'xstat' | 'xconf' | '').

    A heuristic, kept small.

    1. An explicit SystemUnit Product / ProductType / Role status naming Expressway-C or -E wins.
    2. xConfiguration items for the Unified CM servers MRA proxies to (EdgeConfigServer, UnifiedCM,
       CUCM) belong to an Expressway-C.
    3. Otherwise a traversal-server zone (the E side of the traversal pair): Expressway-E.
    4. Otherwise unknown: without xconf or xstat, never guess.
    """
    for key, value in status.items():
        if key.startswith("SystemUnit") and key.rsplit(" ", 1)[-1] in {"Product", "ProductType", "Role"}:
            match = _ROLE.search(value)
            if match:
                return f"Expressway-{match[1]}", "xstat"
    if any(_UC_SERVER_KEY.search(key) for key in config):
        return "Expressway-C", "xconf"
    if any(_TRAVERSAL_SERVER.search(f"{key} {value}") for key, value in config.items()):
        return "Expressway-E", "xconf"
    return "unknown", ""


@dataclass
class DumpFacts:
    """What one xconf / xstat dump says about its node."""

    host: str | None = None  # as the dump itself names it
    version: str = "unknown"
    config: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)


def read_facts(member: Member) -> DumpFacts:
    """Host, version and items of an xconf / xstat dump (at most FACTS_MAX_BYTES of it)."""
    with member.open() as stream:
        member.dump = stream.read(FACTS_MAX_BYTES + 1)
    text = member.dump[:FACTS_MAX_BYTES].decode("utf-8", "replace")
    lines = text.splitlines()
    config = parse_xconf(lines) if member.source == XCONF.key else {}
    status = parse_xstat(lines) if member.source == XSTAT.key else {}
    items = config | status
    named = [items.get("IP DNS Hostname", ""), items.get("SystemUnit Name", "")]
    host = next((name for name in named if _HOST_NAME.fullmatch(name)), None)
    return DumpFacts(host, version_from(status, text), config, status)


def build_nodes(members: Sequence[Member]) -> list[NodeFacts]:
    """One NodeFacts per host named by a member's file name or, failing that, by an xconf/xstat dump.

    A member whose file name carries no host belongs to the one host its archive or folder names
    (file names first, then dumps), if there is exactly one; else to the host its own dump names.
    """
    facts = [read_facts(m) if m.source in _DUMPS else DumpFacts() for m in members]
    named: dict[str, set[str]] = {}
    dumped: dict[str, set[str]] = {}
    for member, found in zip(members, facts, strict=True):
        if member.host:
            named.setdefault(member.group, set()).add(member.host)
        if found.host:
            dumped.setdefault(member.group, set()).add(found.host)
    nodes: dict[str, NodeFacts] = {}
    status: dict[str, dict[str, str]] = {}
    for member, found in zip(members, facts, strict=True):
        hosts = named.get(member.group) or dumped.get(member.group) or set()
        host = member.host or (next(iter(hosts)) if len(hosts) == 1 else found.host)
        if not host:
            continue
        node = nodes.setdefault(host, NodeFacts(host=host))
        node.sources.setdefault(member.source, member.display())
        node.config.update(found.config)
        status.setdefault(host, {}).update(found.status)
        if node.version == "unknown":
            node.version = found.version
        bundle = node.bundles.setdefault(
            member.group, {"version": "unknown", "members": [], "sources": {}, "config": {}, "status": {}}
        )
        bundle["members"].append(member.display())
        bundle["sources"].setdefault(member.source, member.display())
        bundle["config"].update(found.config)
        bundle["status"].update(found.status)
        if bundle["version"] == "unknown":
            bundle["version"] = found.version
    for host, node in nodes.items():
        node.role, node.role_source = role_and_source(node.config, status.get(host, {}))
        for bundle in node.bundles.values():  # one host name, two bundles: each its own role (design.md)
            bundle["role"], bundle["role_source"] = role_and_source(bundle["config"], bundle["status"])
    return list(nodes.values())
