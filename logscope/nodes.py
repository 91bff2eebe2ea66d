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
    # one entry per bundle (archive or folder) this host name came from: {input, version, first_seen,
    # last_seen, events}; two or more mean two machines or two times under one name (a warning)
    bundles: list[dict[str, Any]] = field(default_factory=list)
