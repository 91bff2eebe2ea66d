"""Reading heads and members from streams that may end early (a cut gzip or tar download).

Buffered layers of a gzip or tar stream drop what one read() gathered when the stream ends inside
it. While a cut is survivable, read in small pieces with read1(): a gzip member then loses nothing
before the cut, a tar member at most the last record or two tarfile buffers (about 20 KiB).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from logscope.bundle.limits import HEAD_BYTES

CHUNK = 1024 * 1024
SALVAGE_CHUNK = 16 * 1024
# A gzip or tar stream that ends early (a cut download): the bytes before the cut are sound. Damage
# that makes bytes wrong (a bad CRC, invalid deflate data) is not this: such a member is not read.
TRUNCATED = (EOFError, tarfile.ReadError)


def read_head(stream: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    return read_until_cut(stream, size, ())[0]


def read_until_cut(
    stream: BinaryIO, size: int, cut: tuple[type[BaseException], ...] = TRUNCATED
) -> tuple[bytes, BaseException | None]:
    """Up to `size` bytes, and the error that ended the stream early (one of `cut`), if any."""
    parts, left = [], size
    read, piece = (reader(stream), SALVAGE_CHUNK) if cut else (stream.read, size)
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


def reader(stream: BinaryIO) -> Callable[[int], bytes]:
    """read1 where the stream has it (one read of the layer below: nothing gathered, nothing lost)."""
    return getattr(stream, "read1", None) or stream.read


def whole_lines(head: bytes, damage: BaseException | None) -> bytes:
    """What content checks may see: after damage, only the complete lines (no half line)."""
    return head[: head.rfind(b"\n") + 1] if damage else head


def cut_to_last_line(path: Path) -> int:
    """Truncate a file after its last newline (a half line is never parsed); its new size."""
    with open(path, "r+b") as file:
        end = file.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - CHUNK)
            file.seek(start)
            newline = file.read(end - start).rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        file.truncate(end)
        return end
