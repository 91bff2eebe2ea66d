"""What one signature file says, parsed: the Signature and its Examples."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEXT_FIELDS = ("description", "condition", "further_information", "action", "workaround")


@dataclass
class Example:
    expect: str
    log: str = ""
    name: str = ""
    version: str | None = None
    role: str | None = None
    # a small bundle around the log: relative file name -> text (xconf, xstat, PEM; a folder per node)
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class Signature:
    id: str
    title: str
    category: str
    severity: str
    needs: tuple[str, ...]
    roles: tuple[str, ...]
    min_version: tuple[int, ...] | None
    frame: str
    where: list[dict[str, Any]]
    potential_when: dict[str, Any] | None
    detector: str | None
    unclaimed_only: bool
    texts: dict[str, str]
    related: list[str]
    documents: list[str]
    examples: list[Example]
    path: Path
    min_version_text: str | None = None


_VERSION = re.compile(r"X?(\d+(?:\.\d+)*)", re.I)


def parse_version(text: str | None) -> tuple[int, ...] | None:
    match = _VERSION.fullmatch((text or "").strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else None
