"""Reading what the user passed: paths, folders, stdin, file objects, bytes; and, per input, a note.

The note is the input's damage when it gave a log, else why it gave none.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from logscope.bundle.collect import Collector
from logscope.bundle.damage import Damage
from logscope.bundle.limits import human_size
from logscope.bundle.members import MemberReader
from logscope.bundle.places import Place, describe, printable
from logscope.bundle.result import Member, Skip
from logscope.bundle.sources import SPECS, is_log
from logscope.bundle.streams import read_head
from logscope.errors import UnreadableInput

Input = str | os.PathLike | BinaryIO | bytes


class InputReader:
    """Reads each input into the Bundle and keeps one note per input for the warnings."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.members = MemberReader(collector)
        self.notes: list[str] = []  # per input: its damage, or why it gave no log

    def read_input(self, item: Input) -> None:
        """Read one input; then note what it gave (its damage, or why it holds no log)."""
        collector = self.collector
        bundle, collector.top_kind = collector.bundle, "file"
        members, skipped, damaged, capped = (
            len(bundle.members),
            len(bundle.skipped),
            len(collector.damaged),
            collector.budget.capped,
        )
        self.dispatch(item)
        label = bundle.inputs[-1]
        new_members, new_damage = bundle.members[members:], collector.damaged[damaged:]
        if any(is_log(member.source) for member in new_members):
            self.notes += [damage.warning() for damage in new_damage]
            return
        why = no_log_reason(
            label,
            collector.top_kind,
            new_members,
            bundle.skipped[skipped:],
            new_damage,
            collector.budget.capped - capped,
            bundle.max_bytes,
        )
        self.notes.append(f"{label}: no log file found ({why})")

    def dispatch(self, item: Input) -> None:
        if isinstance(item, bytes | bytearray):
            self.read_stream(io.BytesIO(item), "<bytes>")
        elif isinstance(item, str | os.PathLike) and os.fspath(item) == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            if stdin is None:
                raise UnreadableInput("-: no standard input to read")
            self.read_stream(stdin, "<stdin>")
        elif isinstance(item, str | os.PathLike):
            self.read_path(os.fspath(item))
        elif hasattr(item, "read"):
            self.read_stream(item, "<file object>")
        else:
            raise UnreadableInput(f"{printable(repr(item), 80)}: not a path, a binary file object or bytes")

    def read_stream(self, stream: BinaryIO, label: str) -> None:
        """stdin, a file object or bytes: copied into the temp folder, then read like a file."""
        collector = self.collector
        collector.bundle.inputs.append(label)
        place = Place(label, label, label, label, group=label)
        try:
            if isinstance(stream.read(0), str):
                raise UnreadableInput(f"{label}: a text stream; open the file in binary mode ('rb')")
            head = read_head(stream)
            if not collector.budget.charge(len(head)):
                return collector.skip_capped(place)
            file, _ = collector.spill(head, stream, place)
        except OSError as error:
            raise UnreadableInput(f"{label}: {describe(error)}") from None
        if file:
            self.members.take_file(file, place)

    def read_path(self, path: str) -> None:
        try:
            info = os.stat(path)
        except OSError as error:
            message = "no such file or folder" if not os.path.lexists(path) else describe(error)
            raise UnreadableInput(f"{path}: {message}") from None
        if stat.S_ISFIFO(info.st_mode):  # e.g. <(zcat bundle.tar.gz): a stream with a name
            with open(path, "rb") as pipe:
                return self.read_stream(pipe, path)
        self.collector.bundle.inputs.append(path)
        place = Place.of_input(path, path)
        if stat.S_ISDIR(info.st_mode):
            self.collector.top_kind = "folder"
            self.walk_folder(Path(path), place)
        elif stat.S_ISREG(info.st_mode):
            self.members.take_file(Path(path), place)
        else:
            raise UnreadableInput(f"{path}: not a file or folder logscope can read")

    def walk_folder(self, root: Path, place: Place) -> None:
        """Every file under `root`, in sorted order; links are refused, not followed."""
        for directory, subdirs, files in os.walk(root):
            linked = sorted(d for d in subdirs if os.path.islink(Path(directory, d)))
            subdirs[:] = sorted(d for d in subdirs if d not in linked)
            for name in sorted(files) + linked:
                path = Path(directory, name)
                self.members.take_file(path, place.file(path.relative_to(root).as_posix()))


def no_log_reason(
    label: str,
    top_kind: str,
    members: list[Member],
    skipped: list[Skip],
    damaged: list[Damage],
    capped: int,
    max_bytes: int,
) -> str:
    """Why the input `label` (a file, archive or folder) gave no log, from what reading it found."""
    if damaged:
        first = damaged[0].message.removeprefix(f"{label}: ")
        return f"{first}; nothing read before the damage is a log"
    if capped:
        return f"the size cap of {human_size(max_bytes)} was reached before a log in it was read"
    if top_kind == "file":
        if members:
            return f"not an archive; it is {SPECS[members[0].source].description}, not a log"
        reason = skipped[-1].reason if skipped else ""
        if reason == "empty file":
            return "an empty file"
        if reason.startswith("not a file logscope reads"):
            return "not an archive, and no line looks like a log"
        return f"not an archive; {reason}" if reason.startswith("named like") else reason
    what = "member" if top_kind == "archive" else "file"
    names = [member.path for member in members] + [skip.path for skip in skipped]
    if not names:
        return f"an empty {top_kind}"
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    plural = "s" if len(names) > 1 else ""
    return f"{len(names)} {what}{plural} looked at, none is a log: {shown}"
