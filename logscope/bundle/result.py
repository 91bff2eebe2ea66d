"""What open_bundle returns: the Bundle, its members, the nodes they describe, what was skipped."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from logscope.bundle.limits import DEFAULT_MAX_BYTES
from logscope.bundle.sources import is_log
from logscope.bundle.workspace import temporary_folder


@dataclass
class Member:
    input: str
    path: str
    source: str
    size: int
    host: str | None
    file: Path = field(repr=False, compare=False)  # where the bytes are: in place, or in our temp folder
    label: str = field(repr=False, compare=False, default="")
    group: str = field(repr=False, compare=False, default="")  # archive or folder holding the member
    # an xconf / xstat dump's bytes (up to one past the cap), kept by the node facts' read so the
    # frames' reader does not open the file again
    dump: bytes | None = field(repr=False, compare=False, default=None)

    def display(self) -> str:
        return self.label or self.path

    def open(self) -> BinaryIO:
        return open(self.file, "rb")


@dataclass
class NodeFacts:
    host: str = "unknown"
    version: str = "unknown"
    role: str = "unknown"
    role_source: str = ""  # the dump that decided the role: xstat | xconf; "" when none did
    config: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    # per archive or folder the host's members came from: its version and its members' labels, so
    # two bundles of one host name (two machines, or two years) can be told apart
    bundles: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Skip:
    input: str
    path: str
    reason: str
    unread: bool = False  # it may hold what the analysis needed: the report is INCOMPLETE


class Bundle:
    """What open_bundle found. A context manager: leaving it removes the temporary folder."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, work_dir: str | os.PathLike | None = None) -> None:
        self._tmp = temporary_folder(work_dir)
        self.workdir = Path(self._tmp.name)
        self.max_bytes = max_bytes
        self.inputs: list[str] = []
        self.members: list[Member] = []
        self.nodes: list[NodeFacts] = []
        self.skipped: list[Skip] = []
        self.warnings: list[str] = []

    @property
    def logs(self) -> list[Member]:
        return [member for member in self.members if is_log(member.source)]

    @property
    def unread(self) -> list[Skip]:
        """What was left unread or cut (design.md layer (c)), in the order it was met."""
        return [skip for skip in self.skipped if skip.unread]

    def sources_present(self) -> set[str]:
        return {member.source for member in self.members}

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
