"""Walking archives: telling tar, zip and gzip apart, and handing each member to the member reader.

A compressed tar is streamed, so skipping a member nobody reads still decompresses it: that is
charged to the budget too. Damage is reported per archive; a cut member keeps what came before.
"""

from __future__ import annotations

import gzip
import tarfile
import zipfile
from pathlib import Path
from typing import BinaryIO, Protocol

from logscope.bundle.collect import Collector
from logscope.bundle.damage import ARCHIVE_ERRORS, Cut, Damage
from logscope.bundle.places import Place, describe
from logscope.bundle.safety import NOT_REGULAR, BoundedTarInfo, tar_refusal, unsafe_name, zip_refusal
from logscope.bundle.streams import read_until_cut


def archive_kind(head: bytes, name: str) -> str | None:
    """'gzip' | 'zip' | 'tar' from magic bytes; an all-zero head named .tar is an empty tar."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head[257:262] == b"ustar":
        return "tar"
    if head and not head.strip(b"\0") and name.lower().endswith(".tar"):
        return "tar"
    return None


def inner_name(name: str) -> str:
    """The name a gzip file's content had: x.tgz -> x.tar, x.log.gz -> x.log."""
    lower = name.lower()
    if lower.endswith(".tgz"):
        return name[:-4] + ".tar"
    return name[:-3] if lower.endswith(".gz") and len(name) > 3 else "<gunzipped>"


class TakeStream(Protocol):
    """Reads one archive member (see MemberReader.take_stream)."""

    def __call__(self, stream: BinaryIO, place: Place, *, salvage: bool = False) -> None: ...


class ArchiveWalker:
    """Opens an archive on disk and passes each member's stream to `take`."""

    def __init__(self, collector: Collector, take: TakeStream) -> None:
        self.collector = collector
        self.take = take

    def open(self, file: Path, kind: str, place: Place) -> None:
        """Walk the archive; damage becomes a Damage record and a Skip, not an error."""
        collector = self.collector
        if collector.budget.exhausted:
            return collector.skip_capped(place)
        try:
            if kind == "zip":
                self.walk_zip(file, place)
            elif kind == "tar":
                self.walk_tar(file, place, compressed=False)
            else:
                self.open_gzip(file, place)
        except Cut as cut:
            reason, note = describe(cut.error), cut.note(place)
            message = f"{place.input}: damaged archive {place.label} ({reason})"
            collector.damaged.append(Damage(message, note))
            collector.skip(
                place,
                f"damaged archive ({reason}): {note}; what follows the damage was not read",
                unread=True,
            )
        except ARCHIVE_ERRORS as error:
            message = f"{place.input}: damaged archive {place.label} ({describe(error)})"
            collector.damaged.append(Damage(message))
            collector.skip(
                place,
                f"damaged archive ({describe(error)}): what follows the damage was not read",
                unread=True,
            )

    def open_gzip(self, file: Path, place: Place) -> None:
        """A .tar.gz / .tgz is walked as a tar stream; any other gzip file holds one member."""
        inner = inner_name(place.name)
        with gzip.open(file) as peek:
            head, _ = read_until_cut(peek, 512)  # a cut stream: take_stream meets the cut again
        if archive_kind(head, inner) == "tar":
            return self.walk_tar(file, place, compressed=True)
        with gzip.open(file) as stream:
            self.take(stream, place.member(inner), salvage=True)

    def walk_tar(self, file: Path, place: Place, compressed: bool) -> None:
        collector = self.collector
        opener = gzip.open if compressed else open  # gzip.open reads multi-member streams too
        with opener(file, "rb") as raw, tarfile.open(fileobj=raw, mode="r|", tarinfo=BoundedTarInfo) as tar:
            for info in tar:
                if info.isdir():
                    continue
                child = place.member(info.name)
                refusal = unsafe_name(info.name) or tar_refusal(info)
                stream = None if refusal else tar.extractfile(info)
                stored = tar.offset - info.offset_data  # the member's bytes in the archive
                if stream is None:
                    collector.entries += 1
                    collector.skip(child, refusal or NOT_REGULAR, unread=refusal != NOT_REGULAR)
                    unread = stored
                else:
                    self.take(stream, child, salvage=True)
                    unread = stored - stream.tell()
                # Moving on decompresses what was not read: stop before it would pass the cap.
                if collector.budget.exhausted or (compressed and not collector.budget.charge_skip(unread)):
                    return collector.skip_capped(
                        place, "reading stopped; the rest of this archive was not read"
                    )

    def walk_zip(self, file: Path, place: Place) -> None:
        collector = self.collector
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                child = place.member(info.filename)
                refusal = unsafe_name(info.filename) or zip_refusal(info)
                if refusal:
                    collector.entries += 1
                    collector.skip(child, refusal, unread=refusal != NOT_REGULAR)
                    continue
                try:
                    with archive.open(info) as stream:
                        self.take(stream, child)
                except (*ARCHIVE_ERRORS, NotImplementedError, RuntimeError) as error:
                    message = f"{place.input}: damaged member {child.label} ({describe(error)})"
                    collector.damaged.append(Damage(message))
                    collector.skip(child, f"damaged member ({describe(error)}): not read", unread=True)
