"""What the analysis knows of each Expressway node: read from its bundle, dated by its log.

Built by the pipeline from the bundle's node facts and the parsed events; read by the signatures
(version and role decide what applies) and by the report.
"""

from __future__ import annotations

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
