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
    sizes them at will. Refuse huge headers and sparse members (no log bundle needs one) first."""

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED_HEADERS and self.size > MAX_TAR_HEADER:
            raise tarfile.HeaderError(f"refused an extended header of {human_size(self.size)}")
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.HeaderError("refused a sparse member")
        return super()._proc_member(archive)  # type: ignore[misc]

    def _proc_gnusparse_10(self, *args: object) -> None:
        raise tarfile.HeaderError("refused a sparse member")


def tar_refusal(info: tarfile.TarInfo) -> str | None:
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
