"""Bundle stage: find the log members and the node facts in what the user passed, safely.

Inputs: archives (.tar.gz/.tgz/.tar/.zip/.gz, told apart by magic bytes), folders, plain logs, stdin
(`-`), a binary file object or bytes. Archive members are streamed into a temporary folder the
:class:`Bundle` owns, under generated names (a member's own name never becomes a path); plain files
and folders are read in place. Each candidate is named by :data:`SOURCES`: the first spec whose name
pattern matches wins if its content check passes; a member no name matches is tried against every
content check in table order, so a renamed log is still found. Nested archives open up to
:data:`MAX_DEPTH` levels. One byte budget covers the bundle: every byte written to the temporary
folder, plus the bytes a compressed tar must decompress to skip a member nobody reads.

A gzip or tar stream that ends early (a cut download) keeps what came before the cut: a log or dump
member up to its last complete line, a nested archive as far as it goes, with a warning naming the
member and how many bytes were read. A member whose bytes are wrong (bad CRC, invalid data) is not
read. Every input that gives no log is named in a warning saying why.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import re
import stat
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NoReturn

from logscope.errors import CorruptArchive, NoLogFound, SizeLimitExceeded, UnreadableInput

DEFAULT_MAX_BYTES = 4 * 1024**3
HEAD_BYTES = 64 * 1024  # what content checks and archive sniffing look at
FACTS_MAX_BYTES = 50 * 1024**2  # cap on each xconf / xstat read
MAX_DEPTH = 3  # archives inside archives: case tarball > node archive > compressed log
_CHUNK = 1024 * 1024
# Buffered layers of a gzip or tar stream drop what one read() gathered when the stream ends inside
# it. While a cut is survivable, read in small pieces with read1(): a gzip member then loses nothing
# before the cut, a tar member at most the last record or two tarfile buffers (about 20 KiB).
_SALVAGE_CHUNK = 16 * 1024
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError)
# A gzip or tar stream that ends early (a cut download): the bytes before the cut are sound. Damage
# that makes bytes wrong (a bad CRC, invalid deflate data) is not this: such a member is not read.
_TRUNCATED = (EOFError, tarfile.ReadError)
_SALVAGED = frozenset({"log", "ats_diags", "ats_error", "xconf", "xstat"})  # line-oriented sources

Input = str | os.PathLike | BinaryIO | bytes


@dataclass(frozen=True)
class SourceSpec:
    key: str
    description: str
    name_patterns: tuple[re.Pattern[str], ...]
    content_check: re.Pattern[bytes] | None
    is_log: bool
    collect_hint: str


_HOST_TS = r"_(?P<host>[A-Za-z0-9][A-Za-z0-9._-]*?)_\d{4}[\w.:+-]*"  # <host>_<timestamp>
_DIAGNOSTIC_LOGGING = (
    "Maintenance > Diagnostics > Diagnostic logging: start logging, reproduce the failure, stop "
    "logging and download the archive from every cluster node individually."
)
_IN_ARCHIVE = "The archive Maintenance > Diagnostics > Diagnostic logging downloads holds it."


def _names(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        "log",
        "the Expressway logging snapshot (loggingsnapshot_<host>_<timestamp>.txt)",
        _names(rf"^loggingsnapshot{_HOST_TS}\.(txt|log)$", r"^loggingsnapshot.*\.(txt|log)$"),
        re.compile(rb"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) \S+ \S+(\[\d+\])?: "),
        True,
        _DIAGNOSTIC_LOGGING,
    ),
    SourceSpec(
        "ats_diags",
        "Apache Traffic Server's diags.log",
        _names(r"^diags\.log([._-].*)?$"),
        re.compile(rb"(?m)^\[\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3}\] "),
        True,
        "Copy diags.log from the traffic server's log folder (e.g. /var/log/trafficserver/).",
    ),
    SourceSpec(
        "ats_error",
        "Apache Traffic Server's error.log",
        _names(r"^error\.log([._-].*)?$"),
        re.compile(rb"(?m)^\d{8}\.\d\dh\d\dm\d\ds "),
        True,
        "Copy error.log from the traffic server's log folder (e.g. /var/log/trafficserver/).",
    ),
    SourceSpec(
        "xconf",
        "the configuration dump (xconf_dump_<host>_<timestamp>.txt)",
        _names(rf"^xconf_dump{_HOST_TS}\.(txt|xml)$", r"^xconf.*\.(txt|xml)$"),
        re.compile(rb"(?m)^\*c xConfiguration |<Configuration[\s>]"),
        False,
        f"{_IN_ARCHIVE} Or save the output of `xConfiguration` from the Expressway CLI.",
    ),
    SourceSpec(
        "xstat",
        "the status dump (xstat_dump_<host>_<timestamp>.txt)",
        _names(rf"^xstat_dump{_HOST_TS}\.(txt|xml)$", r"^xstat.*\.(txt|xml)$"),
        re.compile(rb"(?m)^\*s \w|<Status[\s>]"),
        False,
        f"{_IN_ARCHIVE} Or save the output of `xStatus` from the Expressway CLI.",
    ),
    SourceSpec(
        "pcap",
        "a packet capture (eth<n>_diagnostic_logging_tcpdump<k>_<host>_<timestamp>.pcap)",
        _names(rf"^eth\d+_diagnostic_logging_tcpdump\d*{_HOST_TS}\.pcap(ng)?$", r"^.*\.pcap(ng)?$"),
        re.compile(
            rb"\A(\xd4\xc3\xb2\xa1|\xa1\xb2\xc3\xd4|\x4d\x3c\xb2\xa1|\xa1\xb2\x3c\x4d|\x0a\x0d\x0d\x0a)"
        ),
        False,
        "Tick 'Take tcpdump while logging' in Maintenance > Diagnostics > Diagnostic logging, then "
        "reproduce the failure and download the archive again.",
    ),
    SourceSpec(
        "ca_pem",
        "the trusted CA list (ca_<host>_<timestamp>.pem)",
        _names(rf"^ca{_HOST_TS}\.pem$"),
        None,
        False,
        f"{_IN_ARCHIVE} The list itself is under Maintenance > Security > Trusted CA Certificate.",
    ),
    SourceSpec(
        "server_pem",
        "the Expressway's server certificate (server_<host>_<timestamp>.pem)",
        _names(rf"^server{_HOST_TS}\.pem$"),
        None,
        False,
        f"{_IN_ARCHIVE} The certificate itself is under Maintenance > Security > Server certificate.",
    ),
)
_SPECS = {spec.key: spec for spec in SOURCES}


def identify(name: str, head: bytes) -> tuple[SourceSpec | None, str | None, str]:
    """(spec, host, why not) for a member's base name and its first bytes.

    Name patterns are tried first, in table order; a named member must still pass its spec's content
    check. A member no name claims is tried against every content check, in table order.
    """
    if not head:
        return None, None, "empty file"
    named = None
    for spec in SOURCES:
        match = next((m for m in (p.match(name) for p in spec.name_patterns) if m), None)
        if match:
            if spec.content_check is None or spec.content_check.search(head):
                return spec, match.groupdict().get("host"), ""
            named = named or spec
    for spec in SOURCES:
        if spec.content_check is not None and spec.content_check.search(head):
            return spec, None, ""
    if named:
        return None, None, f"named like {named.description} but its first 64 KiB do not look like one"
    return None, None, "not a file logscope reads (no name pattern or content check matched)"


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

    def display(self) -> str:
        return self.label or self.path

    def open(self) -> BinaryIO:
        return open(self.file, "rb")


@dataclass
class NodeFacts:
    host: str = "unknown"
    version: str = "unknown"
    role: str = "unknown"
    config: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class Skip:
    input: str
    path: str
    reason: str


@dataclass(frozen=True)
class _Place:
    """Where an item sits: its input, its path, what evidence calls it, archives opened to get there."""

    input: str
    path: str
    label: str
    name: str  # base name: what name patterns see
    depth: int = 0
    top: bool = True  # the input itself, as the user named it
    group: str = ""  # the archive or folder holding it

    @classmethod
    def of_input(cls, label: str, path: str) -> _Place:
        return cls(label, path, Path(path).name or path, _base_name(path), group=label)

    def member(self, name: str) -> _Place:
        """A member of the archive at this place."""
        name = _printable(re.sub(r"^(\./)+", "", name))
        path = name if self.top else f"{self.path}:{name}"
        return _Place(
            self.input, path, f"{self.label}:{name}", _base_name(name), self.depth + 1, False, self.label
        )

    def file(self, relative: str) -> _Place:
        """A file inside the folder at this place."""
        label = f"{self.label}/{relative}"
        return _Place(
            self.input, relative, label, _base_name(relative), self.depth, False, label.rsplit("/", 1)[0]
        )


def _base_name(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _printable(name: str, limit: int = 300) -> str:
    """A member name safe to show and encode: undecodable bytes and control characters replaced."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join("?" if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    return text if len(text) <= limit else text[:limit] + "…"


def unsafe_name(name: str) -> str | None:
    """Why an archive member name is refused, or None: absolute paths and `..` escape the bundle."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return f"refused: absolute member path ({_printable(name)})"
    if ".." in parts:
        return f"refused: member path escapes the bundle ({_printable(name)})"
    return None


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


def _inner_name(name: str) -> str:
    """The name a gzip file's content had: x.tgz -> x.tar, x.log.gz -> x.log."""
    lower = name.lower()
    if lower.endswith(".tgz"):
        return name[:-4] + ".tar"
    return name[:-3] if lower.endswith(".gz") and len(name) > 3 else "<gunzipped>"


def _read_head(stream: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    return _read_until_cut(stream, size, ())[0]


def _read_until_cut(
    stream: BinaryIO, size: int, cut: tuple[type[BaseException], ...] = _TRUNCATED
) -> tuple[bytes, BaseException | None]:
    """Up to `size` bytes, and the error that ended the stream early (one of `cut`), if any."""
    parts, left = [], size
    read, piece = (_reader(stream), _SALVAGE_CHUNK) if cut else (stream.read, size)
    try:
        while left > 0:
            part = read(min(left, piece))
            if not part:
                break
            parts.append(part)
            left -= len(part)
    except cut as error:
        return b"".join(parts), error
    return b"".join(parts), None


def _reader(stream: BinaryIO) -> Callable[[int], bytes]:
    """read1 where the stream has it (one read of the layer below: nothing gathered, nothing lost)."""
    return getattr(stream, "read1", None) or stream.read


def _whole_lines(head: bytes, damage: BaseException | None) -> bytes:
    """What content checks may see: after damage, only the complete lines (no half line)."""
    return head[: head.rfind(b"\n") + 1] if damage else head


def _cut_to_last_line(path: Path) -> int:
    """Truncate a file after its last newline (a half line is never parsed); its new size."""
    with open(path, "r+b") as file:
        end = file.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - _CHUNK)
            file.seek(start)
            newline = file.read(end - start).rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        file.truncate(end)
        return end


def _human(size: int) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, index = float(size), 0
    while value >= 1024 and index < len(units) - 1:
        value, index = value / 1024, index + 1
    return f"{value:.1f} {units[index]}"


def _describe(error: BaseException) -> str:
    return _printable(str(error) or type(error).__name__, 200)


class _Cut(Exception):
    """A gzip or tar stream ended early while a member was read; what was read before it was kept."""

    def __init__(self, error: BaseException, member: _Place, read: int, archive: bool) -> None:
        super().__init__(str(error))
        self.error, self.member, self.read, self.archive = error, member, read, archive

    def note(self, within: _Place) -> str:
        """What became of the member, named as the archive `within` knows it."""
        name = self.member.label.removeprefix(f"{within.label}:")
        kept = "read what it held before the cut" if self.archive else "analyzed what was read"
        return f"{name} is cut after {self.read} bytes; {kept}"


@dataclass
class _Damage:
    message: str  # "<input>: damaged archive <label> (<reason>)"
    note: str = ""  # "<member> is cut after N bytes; analyzed what was read", when something was kept

    def warning(self) -> str:
        return f"{self.message}: {self.note}" if self.note else f"{self.message}; kept what was read"


class Bundle:
    """What open_bundle found. A context manager: leaving it removes the temporary folder."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, work_dir: str | os.PathLike | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="logscope-", dir=work_dir)
        self.workdir = Path(self._tmp.name)
        self.max_bytes = max_bytes
        self.inputs: list[str] = []
        self.members: list[Member] = []
        self.nodes: list[NodeFacts] = []
        self.skipped: list[Skip] = []
        self.warnings: list[str] = []

    @property
    def logs(self) -> list[Member]:
        return [member for member in self.members if _SPECS[member.source].is_log]

    def sources_present(self) -> set[str]:
        return {member.source for member in self.members}

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Reader:
    """Walks inputs into a Bundle: safety checks, the byte budget, extraction under generated names."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.used = 0  # bytes charged to the budget
        self.capped = 0  # items not read because the budget ran out
        self.damaged: list[_Damage] = []
        self.entries = 0  # non-archive files and members looked at
        self.notes: list[str] = []  # per input: its damage, or why it gave no log
        self.top_kind = "file"  # what the input being read is: file | archive | folder
        self._names = itertools.count(1)

    def charge(self, size: int) -> bool:
        self.used += size
        return not self.exhausted

    @property
    def exhausted(self) -> bool:
        return self.used > self.bundle.max_bytes

    def skip(self, place: _Place, reason: str) -> None:
        self.bundle.skipped.append(Skip(place.input, place.path, reason))

    def skip_capped(self, place: _Place, what: str = "not read") -> None:
        self.capped += 1
        self.skip(place, f"size cap of {_human(self.bundle.max_bytes)} reached: {what}")

    def spill(
        self, head: bytes, stream: BinaryIO, place: _Place, cut: tuple[type[BaseException], ...] = ()
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
                read, size = (_reader(stream), _SALVAGE_CHUNK) if cut else (stream.read, _CHUNK)
                try:
                    while chunk := read(size):
                        if not self.charge(len(chunk)):
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

    # --- inputs ---

    def read_input(self, item: Input) -> None:
        """Read one input; then note what it gave (its damage, or why it holds no log)."""
        bundle, self.top_kind = self.bundle, "file"
        members, skipped, damaged, capped = (
            len(bundle.members),
            len(bundle.skipped),
            len(self.damaged),
            self.capped,
        )
        self.dispatch(item)
        label = bundle.inputs[-1]
        new_members, new_damage = bundle.members[members:], self.damaged[damaged:]
        if any(_SPECS[member.source].is_log for member in new_members):
            self.notes += [damage.warning() for damage in new_damage]
            return
        why = self.no_log_reason(
            label, new_members, bundle.skipped[skipped:], new_damage, self.capped - capped
        )
        self.notes.append(f"{label}: no log file found ({why})")

    def no_log_reason(
        self, label: str, members: list[Member], skipped: list[Skip], damaged: list[_Damage], capped: int
    ) -> str:
        if damaged:
            first = damaged[0].message.removeprefix(f"{label}: ")
            return f"{first}; nothing read before the damage is a log"
        if capped:
            return f"the size cap of {_human(self.bundle.max_bytes)} was reached before a log in it was read"
        if self.top_kind == "file":
            if members:
                return f"not an archive; it is {_SPECS[members[0].source].description}, not a log"
            reason = skipped[-1].reason if skipped else ""
            if reason == "empty file":
                return "an empty file"
            if reason.startswith("not a file logscope reads"):
                return "not an archive, and no line looks like a log"
            return f"not an archive; {reason}" if reason.startswith("named like") else reason
        what = "member" if self.top_kind == "archive" else "file"
        names = [member.path for member in members] + [skip.path for skip in skipped]
        if not names:
            return f"an empty {self.top_kind}"
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        plural = "s" if len(names) > 1 else ""
        return f"{len(names)} {what}{plural} looked at, none is a log: {shown}"

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
            raise UnreadableInput(f"{_printable(repr(item), 80)}: not a path, a binary file object or bytes")

    def read_stream(self, stream: BinaryIO, label: str) -> None:
        """stdin, a file object or bytes: copied into the temp folder, then read like a file."""
        self.bundle.inputs.append(label)
        place = _Place(label, label, label, label, group=label)
        try:
            if isinstance(stream.read(0), str):
                raise UnreadableInput(f"{label}: a text stream; open the file in binary mode ('rb')")
            head = _read_head(stream)
            if not self.charge(len(head)):
                return self.skip_capped(place)
            file, _ = self.spill(head, stream, place)
        except OSError as error:
            raise UnreadableInput(f"{label}: {_describe(error)}") from None
        if file:
            self.take_file(file, place)

    def read_path(self, path: str) -> None:
        try:
            info = os.stat(path)
        except OSError as error:
            message = "no such file or folder" if not os.path.lexists(path) else _describe(error)
            raise UnreadableInput(f"{path}: {message}") from None
        if stat.S_ISFIFO(info.st_mode):  # e.g. <(zcat bundle.tar.gz): a stream with a name
            with open(path, "rb") as pipe:
                return self.read_stream(pipe, path)
        self.bundle.inputs.append(path)
        place = _Place.of_input(path, path)
        if stat.S_ISDIR(info.st_mode):
            self.top_kind = "folder"
            self.walk_folder(Path(path), place)
        elif stat.S_ISREG(info.st_mode):
            self.take_file(Path(path), place)
        else:
            raise UnreadableInput(f"{path}: not a file or folder logscope can read")

    def walk_folder(self, root: Path, place: _Place) -> None:
        """Every file under `root`, in sorted order; links are refused, not followed."""
        for directory, subdirs, files in os.walk(root):
            linked = sorted(d for d in subdirs if os.path.islink(Path(directory, d)))
            subdirs[:] = sorted(d for d in subdirs if d not in linked)
            for name in sorted(files) + linked:
                path = Path(directory, name)
                self.take_file(path, place.file(path.relative_to(root).as_posix()))

    # --- files on disk (read in place) and archive members (streamed) ---

    def take_file(self, path: Path, place: _Place) -> None:
        """A file on disk: open it if it is an archive, keep it in place if it is a source."""
        try:
            info = path.stat() if place.top else path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                self.entries += 1
                link = stat.S_ISLNK(info.st_mode)
                return self.skip(place, _LINK_REFUSED if link else _NOT_REGULAR)
            with open(path, "rb") as stream:
                head = _read_head(stream)
        except OSError as error:
            if place.top:
                raise UnreadableInput(f"{place.input}: {_describe(error)}") from None
            return self.skip(place, f"unreadable: {_describe(error)}")
        kind = archive_kind(head, place.name)
        if place.top:
            self.top_kind = "archive" if kind else "file"
        if kind:
            return self.open_archive(path, kind, place)
        self.entries += 1
        spec, host, why = identify(place.name, head)
        if spec is None:
            return self.skip(place, why)
        self.add(place, spec, host, path)

    def take_stream(self, stream: BinaryIO, place: _Place, *, salvage: bool = False) -> None:
        """An archive member: open it if it is an archive, extract it if it is a source.

        `salvage` (members of gzip and tar streams): when the stream ends early, what came before the
        cut is kept if it is a log or dump (cut back to its last complete line, so no half line is
        parsed) or an archive (opened as far as it goes), and _Cut tells the archive around it.
        """
        if self.exhausted:
            return self.skip_capped(place)
        cut = _TRUNCATED if salvage else ()
        head, damage = _read_until_cut(stream, HEAD_BYTES, cut)
        if not self.charge(len(head)):
            return self.skip_capped(place)
        kind = archive_kind(head, place.name)
        if kind and place.depth >= MAX_DEPTH:
            self.entries += 1
            self.skip(place, f"skipped: nested archive deeper than {MAX_DEPTH} levels (not opened)")
            if damage:
                raise damage
            return
        spec, host, why = (None, None, "") if kind else identify(place.name, _whole_lines(head, damage))
        if not kind:
            self.entries += 1
            if spec is None:
                if damage:
                    raise damage  # nothing worth keeping: the archive around it reports the damage
                return self.skip(place, why)
        keepable = bool(kind) or (spec is not None and spec.key in _SALVAGED)
        if damage and not keepable:
            raise damage
        file, late = self.spill(head, io.BytesIO() if damage else stream, place, cut if keepable else ())
        damage = damage or late
        if file is None:
            return
        if damage:
            return self.salvage(file, kind, spec, host, place, head, damage)
        if kind:
            self.open_archive(file, kind, place)
            file.unlink()  # its members were extracted on their own
        elif spec:
            self.add(place, spec, host, file)

    def salvage(
        self,
        file: Path,
        kind: str | None,
        spec: SourceSpec | None,
        host: str | None,
        place: _Place,
        head: bytes,
        damage: BaseException,
    ) -> NoReturn:
        """Keep what a cut member held before the damage, then raise _Cut (or the damage itself)."""
        read = file.stat().st_size
        if kind:
            logs = len(self.bundle.logs)
            self.open_archive(file, kind, place)  # reports its own damage, the cut that ends it
            file.unlink()
            if len(self.bundle.logs) == logs:
                raise damage
        else:
            kept = _cut_to_last_line(file)
            if (
                not kept
                or spec is None
                or (kept < len(head) and identify(place.name, head[:kept])[0] != spec)
            ):
                file.unlink()
                raise damage
            self.add(place, spec, host, file)
        raise _Cut(damage, place, read, archive=bool(kind))

    def add(self, place: _Place, spec: SourceSpec, host: str | None, file: Path) -> None:
        size = file.stat().st_size
        self.bundle.members.append(
            Member(place.input, place.path, spec.key, size, host, file, place.label, place.group)
        )

    # --- archives ---

    def open_archive(self, file: Path, kind: str, place: _Place) -> None:
        if self.exhausted:
            return self.skip_capped(place)
        try:
            if kind == "zip":
                self.walk_zip(file, place)
            elif kind == "tar":
                self.walk_tar(file, place, compressed=False)
            else:
                self.open_gzip(file, place)
        except _Cut as cut:
            reason, note = _describe(cut.error), cut.note(place)
            message = f"{place.input}: damaged archive {place.label} ({reason})"
            self.damaged.append(_Damage(message, note))
            self.skip(place, f"damaged archive ({reason}): {note}; what follows the damage was not read")
        except _ARCHIVE_ERRORS as error:
            message = f"{place.input}: damaged archive {place.label} ({_describe(error)})"
            self.damaged.append(_Damage(message))
            self.skip(place, f"damaged archive ({_describe(error)}): what follows the damage was not read")

    def open_gzip(self, file: Path, place: _Place) -> None:
        """A .tar.gz / .tgz is walked as a tar stream; any other gzip file holds one member."""
        inner = _inner_name(place.name)
        with gzip.open(file) as peek:
            head, _ = _read_until_cut(peek, 512)  # a cut stream: take_stream meets the cut again
        if archive_kind(head, inner) == "tar":
            return self.walk_tar(file, place, compressed=True)
        with gzip.open(file) as stream:
            self.take_stream(stream, place.member(inner), salvage=True)

    def walk_tar(self, file: Path, place: _Place, compressed: bool) -> None:
        opener = gzip.open if compressed else open  # gzip.open reads multi-member streams too
        with opener(file, "rb") as raw, tarfile.open(fileobj=raw, mode="r|", tarinfo=_BoundedTarInfo) as tar:
            for info in tar:
                if info.isdir():
                    continue
                child = place.member(info.name)
                refusal = unsafe_name(info.name) or _tar_refusal(info)
                stream = None if refusal else tar.extractfile(info)
                if stream is None:
                    self.entries += 1
                    self.skip(child, refusal or _NOT_REGULAR)
                    continue
                self.take_stream(stream, child, salvage=True)
                # Moving on decompresses what was not read: stop before it would pass the cap.
                if self.exhausted or (compressed and not self.charge(info.size - stream.tell())):
                    return self.skip_capped(place, "reading stopped; the rest of this archive was not read")

    def walk_zip(self, file: Path, place: _Place) -> None:
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                child = place.member(info.filename)
                refusal = unsafe_name(info.filename) or _zip_refusal(info)
                if refusal:
                    self.entries += 1
                    self.skip(child, refusal)
                    continue
                try:
                    with archive.open(info) as stream:
                        self.take_stream(stream, child)
                except (*_ARCHIVE_ERRORS, NotImplementedError, RuntimeError) as error:
                    message = f"{place.input}: damaged member {child.label} ({_describe(error)})"
                    self.damaged.append(_Damage(message))
                    self.skip(child, f"damaged member ({_describe(error)}): not read")


_MAX_TAR_HEADER = 1024 * 1024
_EXTENDED_HEADERS = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile holds a pax or GNU long-name header, and a sparse map, whole in memory: an attacker
    sizes them at will. Refuse huge headers and sparse members (no log bundle needs one) first."""

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED_HEADERS and self.size > _MAX_TAR_HEADER:
            raise tarfile.HeaderError(f"refused an extended header of {_human(self.size)}")
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.HeaderError("refused a sparse member")
        return super()._proc_member(archive)  # type: ignore[misc]

    def _proc_gnusparse_10(self, *args: object) -> None:
        raise tarfile.HeaderError("refused a sparse member")


_LINK_REFUSED = "refused: symbolic link (not followed)"
_NOT_REGULAR = "skipped: device, fifo or socket, not a regular file"


def _tar_refusal(info: tarfile.TarInfo) -> str | None:
    if info.issym() or info.islnk():
        kind = "symbolic link" if info.issym() else "hard link"
        return f"refused: {kind} ({_printable(info.name)} -> {_printable(info.linkname)})"
    return None if info.isfile() else _NOT_REGULAR


def _zip_refusal(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return f"refused: symbolic link ({_printable(info.filename)})"
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return _NOT_REGULAR
    return "skipped: encrypted member" if info.flag_bits & 0x1 else None


# --- node facts ------------------------------------------------------------------------------------

_XCONF_LINE = re.compile(r"^\*c xConfiguration (?P<key>[^:]+?)\s*:\s?(?P<value>.*?)\s*$")
_XSTAT_LINE = re.compile(r"^(?P<indent> *)(?:\*s )?(?P<key>[^:*\s][^:]*?)\s*:\s?(?P<value>.*?)\s*$")
_VERSION = re.compile(r"\bX\d+(?:\.\d+)*")
_XML_VERSION = re.compile(r"<Version\b[^>]{0,80}>\s*(X\d+(?:\.\d+)+)")
_ROLE = re.compile(r"Expressway[- ]?([CE])\b")
_UC_SERVER_KEY = re.compile(r"\b(EdgeConfigServer|UnifiedCM|CUCM)\b", re.IGNORECASE)
_TRAVERSAL_SERVER = re.compile(r"Traversal ?Server", re.IGNORECASE)
_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def parse_xconf(lines: Sequence[str]) -> dict[str, str]:
    """`*c xConfiguration A B: "v"` lines -> {"A B": "v"}."""
    config = {}
    for line in lines:
        match = _XCONF_LINE.match(line)
        if match:
            config[match["key"]] = _unquote(match["value"])
    return config


def parse_xstat(lines: Sequence[str]) -> dict[str, str]:
    """xStatus dumps -> flat {"SystemUnit Software Version": "X14.2.1"}.

    Accepts the flat form (`*s SystemUnit Software Version: "X14.2.1"`) and indented blocks
    (`*s SystemUnit:` then `    Software:` then `      Version: "X14.2.1"`); any other line that is
    not indented (`*s/end`) closes the block.
    """
    status: dict[str, str] = {}
    stack: list[tuple[int, str]] = []  # (indent, name) of the open blocks
    for line in lines:
        match = _XSTAT_LINE.match(line)
        top = line.startswith("*s ")
        if not match or not (top or (stack and line.startswith(" "))):
            if not line.startswith(" "):
                stack.clear()
            continue
        indent = -1 if top else len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = " ".join([name for _, name in stack] + [match["key"]])
        if match["value"]:
            status[key] = _unquote(match["value"])
        else:
            stack.append((indent, match["key"]))
    return status


def infer_role(config: dict[str, str], status: dict[str, str]) -> str:
    """'Expressway-C' | 'Expressway-E' | 'unknown'. A heuristic, kept small.

    1. An explicit SystemUnit Product / ProductType / Role status naming Expressway-C or -E wins.
    2. xConfiguration items for the Unified CM servers MRA proxies to (EdgeConfigServer, UnifiedCM,
       CUCM) belong to an Expressway-C.
    3. Otherwise a traversal-server zone (the E side of the traversal pair): Expressway-E.
    4. Otherwise unknown: without xconf or xstat, never guess.
    """
    for key, value in status.items():
        if key.startswith("SystemUnit") and key.rsplit(" ", 1)[-1] in {"Product", "ProductType", "Role"}:
            match = _ROLE.search(value)
            if match:
                return f"Expressway-{match[1]}"
    if any(_UC_SERVER_KEY.search(key) for key in config):
        return "Expressway-C"
    if any(_TRAVERSAL_SERVER.search(f"{key} {value}") for key, value in config.items()):
        return "Expressway-E"
    return "unknown"


def version_from(status: dict[str, str], text: str = "") -> str:
    """The software version ("X14.2.1") from xStatus items, else from an XML dump's text."""
    keys = ["SystemUnit Software Version", *(key for key in status if key.endswith("Software Version"))]
    for key in keys:
        match = _VERSION.search(status.get(key, ""))
        if match:
            return match[0]
    match = _XML_VERSION.search(text)
    return match[1] if match else "unknown"


@dataclass
class _Facts:
    host: str | None = None  # as the dump itself names it
    version: str = "unknown"
    config: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)


def read_facts(member: Member) -> _Facts:
    """Host, version and items of an xconf / xstat dump (at most FACTS_MAX_BYTES of it)."""
    with member.open() as stream:
        text = stream.read(FACTS_MAX_BYTES).decode("utf-8", "replace")
    lines = text.splitlines()
    config = parse_xconf(lines) if member.source == "xconf" else {}
    status = parse_xstat(lines) if member.source == "xstat" else {}
    items = config | status
    named = [items.get("IP DNS Hostname", ""), items.get("SystemUnit Name", "")]
    host = next((name for name in named if _HOST_NAME.fullmatch(name)), None)
    return _Facts(host, version_from(status, text), config, status)


def build_nodes(members: Sequence[Member]) -> list[NodeFacts]:
    """One NodeFacts per host named by a member's file name or, failing that, by an xconf/xstat dump.

    A member whose file name carries no host belongs to the one host its archive or folder names
    (file names first, then dumps), if there is exactly one; else to the host its own dump names.
    """
    facts = [read_facts(m) if m.source in ("xconf", "xstat") else _Facts() for m in members]
    named: dict[str, set[str]] = {}
    dumped: dict[str, set[str]] = {}
    for member, found in zip(members, facts, strict=True):
        if member.host:
            named.setdefault(member.group, set()).add(member.host)
        if found.host:
            dumped.setdefault(member.group, set()).add(found.host)
    nodes: dict[str, NodeFacts] = {}
    status: dict[str, dict[str, str]] = {}
    for member, found in zip(members, facts, strict=True):
        hosts = named.get(member.group) or dumped.get(member.group) or set()
        host = member.host or (next(iter(hosts)) if len(hosts) == 1 else found.host)
        if not host:
            continue
        node = nodes.setdefault(host, NodeFacts(host=host))
        node.sources.setdefault(member.source, member.display())
        node.config.update(found.config)
        status.setdefault(host, {}).update(found.status)
        if node.version == "unknown":
            node.version = found.version
    for host, node in nodes.items():
        node.role = infer_role(node.config, status.get(host, {}))
    return list(nodes.values())


# --- entry point -----------------------------------------------------------------------------------


def _as_list(inputs: Input | Sequence[Input]) -> list[Input]:
    if isinstance(inputs, str | bytes | bytearray | os.PathLike) or hasattr(inputs, "read"):
        return [inputs]  # type: ignore[list-item]
    return list(inputs)


def open_bundle(
    inputs: Input | Sequence[Input],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    work_dir: str | os.PathLike | None = None,
) -> Bundle:
    """Find the logs and node facts in `inputs`; use the result as a context manager.

    Archive members are unpacked into a temporary folder created inside `work_dir` (default: the
    system's temporary folder) and removed on exit. Raises UnreadableInput, CorruptArchive,
    SizeLimitExceeded or NoLogFound (one-line messages naming the input) when nothing usable
    remains (no complete line of any log); partial damage, a cut log and an input without a log
    become warnings (and Skips).
    """
    bundle = Bundle(max_bytes, work_dir)
    try:
        reader = _Reader(bundle)
        for item in _as_list(inputs):
            reader.read_input(item)
        _finish(bundle, reader)
    except BaseException:
        bundle.close()
        raise
    return bundle


def _finish(bundle: Bundle, reader: _Reader) -> None:
    """Warnings, node facts, or the one error that says why nothing usable remains."""
    cap = _human(bundle.max_bytes)
    if reader.capped:
        bundle.warnings.append(
            f"size cap of {cap} reached: {reader.capped} item(s) not read (raise --max-bytes to read them)"
        )
    if bundle.logs:
        bundle.warnings += reader.notes
        bundle.nodes = build_nodes(bundle.members)
        return
    names = ", ".join(bundle.inputs) or "<no input>"
    if reader.capped:
        raise SizeLimitExceeded(
            f"{names}: size cap of {cap} reached before any log was read (raise --max-bytes)"
        )
    if reader.damaged:
        raise CorruptArchive(reader.damaged[0].message)
    looked_for = (
        "loggingsnapshot_*.txt, diags.log, error.log, or any file whose first 64 KiB hold their lines"
    )
    empty = "; it is empty" if reader.entries == 0 else ""
    raise NoLogFound(f"{names}: no Expressway or traffic-server log found (looked for {looked_for}){empty}")
