"""What a detector returns, apart from the detectors: the modules of detectors (detectors.py,
certificate_checks.py, config_checks.py) import it, and detectors.py merges their tables without
an import cycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from logscope.findings import Evidence
from logscope.signatures.context import Context

VERIFY_KINDS = ("tls_verify_failed", "sni_not_in_cert")


@dataclass
class DetectorResult:
    """What a named detector found: the rows that make the finding, an optional status, facts for the
    texts, notes, `missing`: what it could not decide for want of input (missing-info when no row
    decided), `evidence`: file entries quoted after the rows' evidence (a cross-check's), and `nodes`:
    the hosts that fail when the rows quote other nodes too (a traversal's rejecting side)."""

    rows: pd.DataFrame
    status: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)  # hosts whose configuration must change, when known


Detector = Callable[[Context, pd.DataFrame], DetectorResult]
