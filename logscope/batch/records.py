"""The typed parts of a BatchResult: its nodes, findings and incomplete entries.

Each is a frozen dataclass read by attribute (`finding.action`), and also by key (`finding["id"]`,
`node["host"]`), which is how scripts read them when they were plain dicts; a record equals the
dict of its fields, so comparisons written against dicts keep holding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from logscope.nodes import base_name


class _Record:
    """Mapping access and dict equality for the frozen dataclasses below."""

    def as_dict(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self)}  # type: ignore[arg-type]

    def keys(self) -> list[str]:
        return [item.name for item in fields(self)]  # type: ignore[arg-type]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self.keys() else default

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Record):
            return type(self) is type(other) and self.as_dict() == other.as_dict()
        if isinstance(other, Mapping):
            return self.as_dict() == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(repr(value) for value in self.as_dict().values()))


@dataclass(frozen=True, eq=False)
class BatchNode(_Record):
    """An Expressway node of the input's report; `input` is the bundle it came from (schema 1.3)."""

    host: str
    version: str
    role: str
    input: str = ""


@dataclass(frozen=True, eq=False)
class BatchFinding(_Record):
    """A finding of the input's report, with its action text (what to do)."""

    id: str
    title: str
    status: str
    severity: str
    category: str
    count: int = 0
    servers: tuple[str, ...] = ()
    action: str = ""


@dataclass(frozen=True, eq=False)
class IncompleteEntry(_Record):
    """What the report left unread or cut: the input, the path inside it, and why."""

    input: str
    path: str
    reason: str


def node_labels(nodes: Sequence[Mapping[str, Any]]) -> list[str]:
    """The nodes' host names; a host name two bundles share gets its bundle's name (design.md, "Nodes")."""
    hosts = [str(node["host"]) for node in nodes]
    return [
        f"{host} ({base_name(str(node.get('input') or ''))})"
        if hosts.count(host) > 1 and node.get("input")
        else host
        for host, node in zip(hosts, nodes, strict=True)
    ]


def node_of(node: Mapping[str, Any]) -> BatchNode:
    return BatchNode(
        host=str(node["host"]),
        version=str(node["version"]),
        role=str(node["role"]),
        input=str(node.get("input") or ""),
    )


def finding_of(finding: Mapping[str, Any]) -> BatchFinding:
    return BatchFinding(
        id=str(finding["id"]),
        title=str(finding["title"]),
        status=str(finding["status"]),
        severity=str(finding["severity"]),
        category=str(finding["category"]),
        count=int(finding.get("count") or 0),
        servers=tuple(str(server["name"]) for server in finding.get("servers", [])),
        action=str(finding.get("action") or ""),
    )


def incomplete_entry(entry: Mapping[str, Any]) -> IncompleteEntry:
    return IncompleteEntry(**{key: str(entry.get(key, "")) for key in ("input", "path", "reason")})
