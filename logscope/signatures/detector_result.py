"""What a detector returns, apart from the detectors: the modules of detectors (detectors.py,
certificate_checks.py) import it, and detectors.py merges their tables without an import cycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from logscope.signatures.context import Context

VERIFY_KINDS = ("tls_verify_failed", "sni_not_in_cert")


@dataclass
class DetectorResult:
    rows: pd.DataFrame
    status: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Detector = Callable[[Context, pd.DataFrame], DetectorResult]
