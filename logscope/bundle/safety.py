"""Which archive members are refused, and why: escaping paths, links, devices, hostile tar headers."""

from __future__ import annotations

import re
import stat
import tarfile
import zipfile

from logscope.bundle.limits import MAX_TAR_HEADER, human_size
from logscope.bundle.places import printable

LINK_REFUSED = "refused: symbolic link (not followed)"
NOT_REGULAR = "skipped: device, fifo or socket, not a regular file"
_EXTENDED_HEADERS = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


def unsafe_name(name: str) -> str | None:
    """Why an archive member name is refused, or None: absolute paths and `..` escape the bundle."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return f"refused: absolute member path ({printable(name)})"
    if ".." in parts:
        return f"refused: member path escapes the bundle ({printable(name)})"
    return None


class BoundedTarInfo(tarfile.TarInfo):
    """tarfile holds a pax or GNU long-name header, and a sparse map, whole in memory: an attacker
    sizes them at will. Refuse huge headers, and sparse maps longer than MAX_TAR_HEADER bytes.

    A sparse member itself is valid (`tar --sparse`): the walk skips it without inflating its holes
    (see :func:`tar_refusal`), and the members after it are read. Its map is read only to find
    where its data ends; the map itself is not kept.
    """

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED_HEADERS and self.size > MAX_TAR_HEADER:
            raise tarfile.HeaderError(f"refused an extended header of {human_size(self.size)}")
        return super()._proc_member(archive)  # type: ignore[misc]

    def _proc_sparse(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        """Old GNU sparse member: skip its extension blocks (bounded), then place its data."""
        _structs, extended, real_size = self._sparse_structs  # type: ignore[attr-defined]
        del self._sparse_structs  # type: ignore[attr-defined]
        blocks = 0
        while extended:
            blocks += 1
            if blocks * tarfile.BLOCKSIZE > MAX_TAR_HEADER:
                raise tarfile.HeaderError("refused a sparse map longer than 1 MiB")
            block = archive.fileobj.read(tarfile.BLOCKSIZE)  # type: ignore[union-attr]
            if len(block) < tarfile.BLOCKSIZE:
                raise tarfile.ReadError("unexpected end of data in a sparse map")
            extended = bool(block[504])
        self.sparse = []
        self.offset_data = archive.fileobj.tell()  # type: ignore[union-attr]
        archive.offset = self.offset_data + self._block(self.size)  # type: ignore[attr-defined]
        self.size = real_size
        return self

    def _proc_gnusparse_10(
        self, member: tarfile.TarInfo, pax_headers: dict, archive: tarfile.TarFile
    ) -> None:
        """PAX 1.0 sparse member: its map leads its data; read past it (bounded) without keeping it."""
        buffer = archive.fileobj.read(tarfile.BLOCKSIZE)  # type: ignore[union-attr]
        count_text, _, buffer = buffer.partition(b"\n")
        if not count_text.strip().isdigit() or int(count_text) > MAX_TAR_HEADER // 4:
            raise tarfile.HeaderError("refused a sparse member with an unreadable or huge map")
        numbers, read = 2 * int(count_text), tarfile.BLOCKSIZE
        while numbers:
            if b"\n" not in buffer:
                if read >= MAX_TAR_HEADER:
                    raise tarfile.HeaderError("refused a sparse map longer than 1 MiB")
                more = archive.fileobj.read(tarfile.BLOCKSIZE)  # type: ignore[union-attr]
                if not more:
                    raise tarfile.ReadError("unexpected end of data in a sparse map")
                buffer, read = buffer + more, read + len(more)
                continue
            _, _, buffer = buffer.partition(b"\n")
            numbers -= 1
        member.offset_data = archive.fileobj.tell()  # type: ignore[union-attr]
        member.sparse = []


SPARSE_SKIPPED = "skipped: sparse member (its holes are never inflated); its data was not read"


def tar_refusal(info: tarfile.TarInfo) -> str | None:
    if info.issparse():
        return SPARSE_SKIPPED
    if info.issym() or info.islnk():
        kind = "symbolic link" if info.issym() else "hard link"
        return f"refused: {kind} ({printable(info.name)} -> {printable(info.linkname)})"
    return None if info.isfile() else NOT_REGULAR


def zip_refusal(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return f"refused: symbolic link ({printable(info.filename)})"
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return NOT_REGULAR
    return "skipped: encrypted member" if info.flag_bits & 0x1 else None
