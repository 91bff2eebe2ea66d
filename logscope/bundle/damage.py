"""Damage found while reading archives: a stream cut early, and the warnings damage becomes."""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from dataclasses import dataclass

from logscope.bundle.places import Place

ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError)


class Cut(Exception):
    """A gzip or tar stream ended early while a member was read; what was read before it was kept."""

    def __init__(self, error: BaseException, member: Place, read: int, archive: bool) -> None:
        super().__init__(str(error))
        self.error, self.member, self.read, self.archive = error, member, read, archive

    def note(self, within: Place) -> str:
        """What became of the member, named as the archive `within` knows it."""
        name = self.member.label.removeprefix(f"{within.label}:")
        kept = "read what it held before the cut" if self.archive else "analyzed what was read"
        return f"{name} is cut after {self.read} bytes; {kept}"


@dataclass
class Damage:
    message: str  # "<input>: damaged archive <label> (<reason>)"
    note: str = ""  # "<member> is cut after N bytes; analyzed what was read", when something was kept

    def warning(self) -> str:
        return f"{self.message}: {self.note}" if self.note else f"{self.message}; kept what was read"
