"""What a source kind declares in the sources table, and the wording its specs share."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceSpec:
    """One kind of file a bundle holds: how to recognise it and what to tell a user who lacks it.

    `line_oriented`: a cut copy (a download that stopped early) is still worth reading up to its last
    complete line. `head_only`: only its presence is used, so only its head is kept and charged to
    the size cap (a 2 GB packet capture must not keep the next node's log from being read).
    """

    key: str
    description: str
    name_patterns: tuple[re.Pattern[str], ...]
    content_check: re.Pattern[bytes] | None
    is_log: bool
    collect_hint: str
    line_oriented: bool = False
    head_only: bool = False


HOST_TS = r"_(?P<host>[A-Za-z0-9][A-Za-z0-9._-]*?)_\d{4}[\w.:+-]*"  # <host>_<timestamp>
DIAGNOSTIC_LOGGING = (
    "Maintenance > Diagnostics > Diagnostic logging: start logging, reproduce the failure, stop "
    "logging and download the archive from every cluster node individually."
)
IN_ARCHIVE = "The archive Maintenance > Diagnostics > Diagnostic logging downloads holds it."


def name_patterns(*patterns: str) -> tuple[re.Pattern[str], ...]:
    """Base-name patterns, most specific first; case does not matter."""
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)
