"""Reading one item: a file on disk (read in place) or an archive member (extracted), by what it is.

An archive is opened (its members come back here); a source the table identifies becomes a Member;
anything else is skipped with the reason. Members of gzip and tar streams may be cut: see `salvage`.
"""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import BinaryIO, NoReturn

from logscope.bundle.archive import ArchiveWalker, archive_kind
from logscope.bundle.collect import Collector
from logscope.bundle.damage import Cut
from logscope.bundle.limits import HEAD_BYTES, MAX_DEPTH
from logscope.bundle.places import Place, describe
from logscope.bundle.safety import LINK_REFUSED, NOT_REGULAR
from logscope.bundle.sources import identify, named_log
from logscope.bundle.spec import SourceSpec
from logscope.bundle.streams import TRUNCATED, cut_to_last_line, read_head, read_until_cut, whole_lines
from logscope.errors import UnreadableInput


class MemberReader:
    """Takes files and archive members into the Bundle through a Collector."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.archives = ArchiveWalker(collector, self.take_stream)

    def take_file(self, path: Path, place: Place) -> None:
        """A file on disk: open it if it is an archive, keep it in place if it is a source."""
        collector = self.collector
        try:
            info = path.stat() if place.top else path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                collector.entries += 1
                link = stat.S_ISLNK(info.st_mode)
                return collector.skip(place, LINK_REFUSED if link else NOT_REGULAR, unread=link)
            with open(path, "rb") as stream:
                head = read_head(stream)
        except OSError as error:
            if place.top:
                raise UnreadableInput(f"{place.input}: {describe(error)}") from None
            return collector.skip(place, f"unreadable: {describe(error)}", unread=True)
        kind = archive_kind(head, place.name)
        if place.top:
            collector.top_kind = "archive" if kind else "file"
        if kind:
            return self.archives.open(path, kind, place)
        collector.entries += 1
        spec, host, why = identify(place.name, head)
        if spec is None:
            return collector.skip(place, why, unread=named_log(place.name))
        collector.add(place, spec, host, path)

    def take_stream(self, stream: BinaryIO, place: Place, *, salvage: bool = False) -> None:
        """An archive member: open it if it is an archive, extract it if it is a source.

        `salvage` (members of gzip and tar streams): when the stream ends early, what came before the
        cut is kept if it is a log or dump (cut back to its last complete line, so no half line is
        parsed) or an archive (opened as far as it goes), and Cut tells the archive around it.
        """
        collector = self.collector
        if collector.budget.exhausted:
            return collector.skip_capped(place)
        cut = TRUNCATED if salvage else ()
        head, damage = read_until_cut(stream, HEAD_BYTES, cut)
        if not collector.budget.charge(len(head)):
            return collector.skip_capped(place)
        kind = archive_kind(head, place.name)
        if kind and place.depth >= MAX_DEPTH:
            collector.entries += 1
            collector.skip(
                place, f"skipped: nested archive deeper than {MAX_DEPTH} levels (not opened)", unread=True
            )
            if damage:
                raise damage
            return
        spec, host, why = (None, None, "") if kind else identify(place.name, whole_lines(head, damage))
        if not kind:
            collector.entries += 1
            if spec is None:
                if damage:
                    raise damage  # nothing worth keeping: the archive around it reports the damage
                return collector.skip(place, why, unread=named_log(place.name))
        keepable = bool(kind) or (spec is not None and spec.line_oriented)
        if damage and not keepable:
            raise damage
        presence_only = spec is not None and spec.head_only
        body = io.BytesIO() if damage or presence_only else stream
        file, late = collector.spill(head, body, place, cut if keepable else ())
        damage = damage or late
        if file is None:
            return
        if damage:
            return self.salvage(file, kind, spec, host, place, head, damage)
        if kind:
            self.archives.open(file, kind, place)
            file.unlink()  # its members were extracted on their own
        elif spec:
            collector.add(place, spec, host, file)

    def salvage(
        self,
        file: Path,
        kind: str | None,
        spec: SourceSpec | None,
        host: str | None,
        place: Place,
        head: bytes,
        damage: BaseException,
    ) -> NoReturn:
        """Keep what a cut member held before the damage, then raise Cut (or the damage itself)."""
        read = file.stat().st_size
        bundle = self.collector.bundle
        if kind:
            logs = len(bundle.logs)
            self.archives.open(file, kind, place)  # reports its own damage, the cut that ends it
            file.unlink()
            if len(bundle.logs) == logs:
                raise damage
        else:
            kept = cut_to_last_line(file)
            if (
                not kept
                or spec is None
                or (kept < len(head) and identify(place.name, head[:kept])[0] != spec)
            ):
                file.unlink()
                raise damage
            self.collector.add(place, spec, host, file)
        raise Cut(damage, place, read, archive=bool(kind))
