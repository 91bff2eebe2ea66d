"""The bundle's limits: how much it reads, how deep it opens archives, and the one byte budget."""

from __future__ import annotations

DEFAULT_MAX_BYTES = 4 * 1024**3
HEAD_BYTES = 64 * 1024  # what content checks and archive sniffing look at
FACTS_MAX_BYTES = 50 * 1024**2  # cap on each xconf / xstat read
PEM_MAX_BYTES = 16 * 1024**2  # cap on each PEM read (a trust store of 150 CAs is about 300 KiB)
MAX_DEPTH = 3  # archives inside archives: case tarball > node archive > compressed log
MAX_TAR_HEADER = 1024 * 1024  # largest pax or GNU long-name header read


def human_size(size: int) -> str:
    """A byte count as people read it: 4.0 GiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, index = float(size), 0
    while value >= 1024 and index < len(units) - 1:
        value, index = value / 1024, index + 1
    return f"{value:.1f} {units[index]}"


SKIP_FACTOR = 4  # a compressed tar may inflate this many times the cap just to step over members


class Budget:
    """One byte budget for the whole bundle, and a larger one for stepping over unread members.

    `charge` counts every byte written to the temporary folder: what is read. `charge_skip` counts
    the bytes a compressed tar must decompress to step over a member nobody reads (a packet capture,
    a sparse member): they cost time, not disk, so they do not use up the cap that decides which
    logs are read, but a bomb still stops at SKIP_FACTOR times the cap.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0  # bytes charged
        self.skipped = 0  # bytes inflated only to step over them
        self.capped = 0  # items not read because the budget ran out

    def charge(self, size: int) -> bool:
        """Charge `size` bytes; False once the budget is spent."""
        self.used += size
        return not self.exhausted

    def charge_skip(self, size: int) -> bool:
        """Charge `size` bytes inflated to step over a member; False once the budget is spent."""
        self.skipped += max(size, 0)
        return not self.exhausted

    @property
    def exhausted(self) -> bool:
        return self.used > self.max_bytes or self.skipped > SKIP_FACTOR * self.max_bytes

    def cap_reached(self, what: str) -> str:
        """Count an item the cap kept from being read; the reason its Skip gives."""
        self.capped += 1
        return f"size cap of {human_size(self.max_bytes)} reached: {what}"
