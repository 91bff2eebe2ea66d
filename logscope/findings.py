"""The plain typed objects a finding is made of: what scripts and templates read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("issue", "potential", "missing-info", "not-applicable", "ok")
STATUS_TITLES = {
    "issue": "Issues found",
    "potential": "Potential problem",
    "missing-info": "Missing information",
    "not-applicable": "Not applicable",
    "ok": "No issue",
}
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass
class Evidence:
    """One log line behind a finding."""

    source: str
    line: int | None
    text: str
    node: str | None = None
    ts: datetime | None = None
    role: str = "log"  # warning | error | request | upstream | response | log


@dataclass
class Server:
    """A server a finding concerns, as the logs name it."""

    name: str
    ip: str | None = None
    ports: list[int] = field(default_factory=list)
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    route: str | None = None  # decoded MRA route, e.g. "steven.lab/https/10.48.36.215/8443"
    nodes: list[str] = field(default_factory=list)
    detail: str | None = None  # e.g. the verification error text, or "8443 ok, 6972 failing"


@dataclass
class Finding:
    id: str
    title: str
    status: str
    severity: str
    category: str
    servers: list[Server] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    description: str = ""
    condition: str = ""
    further_information: str = ""
    action: str = ""
    workaround: str = ""
    related: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    count: int = 0
    notes: list[str] = field(default_factory=list)
    # the hosts a detector names as the ones whose configuration must change (a traversal's rejecting
    # side); empty: the nodes of its servers and evidence fail. The JSON carries it as nodes_failing.
    failing_nodes: list[str] = field(default_factory=list)

    @property
    def status_title(self) -> str:
        return STATUS_TITLES[self.status]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["failing_nodes"]  # given as the document's nodes_failing (render/answers.py)
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
