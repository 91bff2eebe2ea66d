"""Time for the generated logs: fixed UTC bases, per-node UTC offsets and the envelope/UTCTime forms."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_ms(text: str) -> int:
    """`2024-06-12T07:58:00` (UTC) -> epoch milliseconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


class Clock:
    """Formats epoch milliseconds as one node's envelope time (local, with offset) and as UTCTime.

    The whole-second part is cached: a snapshot writes many lines per second.
    """

    def __init__(self, offset_minutes: int) -> None:
        self.offset_ms = offset_minutes * 60_000
        self.suffix = offset_text(offset_minutes)
        self._local: dict[int, str] = {}
        self._utc: dict[int, str] = {}

    def local(self, t_ms: int) -> str:
        sec, ms = divmod(t_ms + self.offset_ms, 1000)
        return f"{self._second(self._local, sec, '%Y-%m-%dT%H:%M:%S')}.{ms:03d}{self.suffix}"

    def utc(self, t_ms: int) -> str:
        sec, ms = divmod(t_ms, 1000)
        return f"{self._second(self._utc, sec, '%Y-%m-%d %H:%M:%S')},{ms:03d}"

    def stamp(self, t_ms: int) -> str:
        """Local time as the bundle file names write it: YYYYMMDD_HHMMSS."""
        return time.strftime("%Y%m%d_%H%M%S", time.gmtime((t_ms + self.offset_ms) // 1000))

    @staticmethod
    def _second(cache: dict[int, str], sec: int, pattern: str) -> str:
        text = cache.get(sec)
        if text is None:
            if len(cache) > 4096:
                cache.clear()
            text = cache[sec] = time.strftime(pattern, time.gmtime(sec))
        return text
