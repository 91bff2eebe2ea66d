"""Filling the Bundle: members added, member bytes extracted under generated names, skips recorded.

Every byte written to the temporary folder is charged to the one budget here; the counts the final
warnings and errors need (damage, entries looked at, items the cap kept out) are kept here too.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import BinaryIO

from logscope.bundle.damage import Damage
from logscope.bundle.limits import Budget
from logscope.bundle.places import Place
from logscope.bundle.result import Bundle, Member, Skip
from logscope.bundle.spec import SourceSpec
from logscope.bundle.streams import CHUNK, SALVAGE_CHUNK, reader


class Collector:
    """What reading the inputs gathers into a Bundle, charged to one byte budget."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.budget = Budget(bundle.max_bytes)
        self.damaged: list[Damage] = []
        self.entries = 0  # non-archive files and members looked at
        self.top_kind = "file"  # what the input being read is: file | archive | folder
        self._names = itertools.count(1)

    def skip(self, place: Place, reason: str, *, unread: bool = False) -> None:
        """Record a skipped item; `unread` when it may hold input the analysis needed (design.md
        layer (c): the size cap, damage, a refused or unreadable member), not when it is known to
        hold nothing to read (an empty file, a README, a device)."""
        self.bundle.skipped.append(Skip(place.input, place.path, reason, unread))

    def skip_capped(self, place: Place, what: str = "not read") -> None:
        self.skip(place, self.budget.cap_reached(what), unread=True)

    def add(self, place: Place, spec: SourceSpec, host: str | None, file: Path) -> None:
        size = file.stat().st_size
        self.bundle.members.append(
            Member(place.input, place.path, spec.key, size, host, file, place.label, place.group)
        )

    def spill(
        self, head: bytes, stream: BinaryIO, place: Place, cut: tuple[type[BaseException], ...] = ()
    ) -> tuple[Path | None, BaseException | None]:
        """Copy a member (its head already read and charged) to a new file.

        (file, None) when it is whole; (file, error) when the stream ended early with one of `cut`,
        the file holding what came before; (None, None) when the cap hits.
        """
        target = self.bundle.workdir / f"m{next(self._names):06d}"
        complete, damage = False, None
        try:
            with open(target, "xb") as out:
                out.write(head)
                read, size = (reader(stream), SALVAGE_CHUNK) if cut else (stream.read, CHUNK)
                try:
                    while chunk := read(size):
                        if not self.budget.charge(len(chunk)):
                            break
                        out.write(chunk)
                    else:
                        complete = True
                except cut as error:
                    complete, damage = True, error
        finally:
            if not complete:
                target.unlink(missing_ok=True)
        if not complete:
            self.skip_capped(place)
        return (target if complete else None), damage
