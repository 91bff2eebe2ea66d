"""What the analysis knows of each Expressway node: read from its bundle, dated by its log.

Built by the pipeline from the bundle's node facts and the parsed events; read by the signatures
(version and role decide what applies) and by the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class NodeSummary:
    host: str
    version: str = "unknown"
    role: str = "unknown"
    sources: dict[str, str] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)  # xConfiguration items; not in the JSON
    first_seen: pd.Timestamp | None = None
    last_seen: pd.Timestamp | None = None
    events: int = 0
    role_source: str = "unknown"  # where role and version came from: xstat | xconf | log | unknown
    certificate: dict[str, Any] | None = None  # this node's server certificate (the leaf), if read
    trust_store: dict[str, Any] | None = None  # its trusted CA list: size, expired, duplicate subjects
    zones: list[dict[str, Any]] = field(default_factory=list)  # xconf zones: type, TLS verify mode, status
    mra_domains: list[str] = field(default_factory=list)  # SIP domains with Edge: On
    alarms: list[dict[str, Any]] = field(default_factory=list)  # xstat alarms not lowered
    # one entry per bundle (archive or folder) this host name came from: {input, version, first_seen,
    # last_seen, events}; two or more mean two machines or two times under one name (a warning)
    bundles: list[dict[str, Any]] = field(default_factory=list)
    # the input (archive or folder) this node came from; with one host name in two bundles, each
    # bundle is its own node (design.md, "Nodes") and `shared_host` is set on both
    input: str = ""
    members: tuple[str, ...] = ()  # its bundle's members (as events' `source` names them); not in the JSON
    shared_host: bool = False

    @property
    def label(self) -> str:
        """How outputs name the node: the host, plus its input's last part when the host name is shared."""
        if not self.shared_host or not self.input:
            return self.host
        return f"{self.host} ({base_name(self.input)})"


def base_name(label: str) -> str:
    """The last part of an input path (headers have no room for folders)."""
    return re.split(r"[\\/]", label.rstrip("/\\"))[-1] or label
