"""The text of events whose bytes stay in their log (issue 14, item 3).

The scanner path keeps no copy of an event's text: the `events` frame gives its `source`, `offset`
and `length`, and `raw` is null. :class:`EventTexts` reads those bytes back for the few rows a
finding quotes, decoded as the parse stage decodes an event (a lone CR and a CRLF are line ends, an
editor's byte order mark is dropped). Events the reference path read (a dialect may have rewritten
them: wrapped lines joined, flattened ones split) keep their text in `raw`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import pandas as pd

Opener = Callable[[], BinaryIO]
GONE = "(the text of this line is no longer available: its log was removed after the analysis)"


def decode_span(data: bytes) -> str:
    """An event's bytes as the parse stage reads them (the scanner takes valid UTF-8 only)."""
    text = data.decode("utf-8", errors="replace").rstrip("\r")
    return text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")


class EventTexts:
    """Reads events' text from their logs by (source, offset, length); one open file per log."""

    def __init__(self) -> None:
        self._openers: dict[str, Opener] = {}
        self._files: dict[str, BinaryIO] = {}

    def add_source(self, source: str, opener: Opener) -> None:
        self._openers[source] = opener

    def read(self, source: str, offset: int, length: int) -> str:
        """The text at `offset` of `source`; GONE once the log's copy was removed."""
        handle = self._file(source)
        if handle is None:
            return GONE
        handle.seek(offset)
        return decode_span(handle.read(length))

    def text_of(self, row: Mapping[str, Any]) -> str:
        """A row's text: its `raw`, else what its offset and length point at ("" when neither)."""
        raw = row.get("raw")
        if raw is not None and not pd.isna(raw):
            return str(raw)
        offset, length = row.get("offset"), row.get("length")
        if offset is None or length is None or pd.isna(offset) or pd.isna(length):
            return ""
        return self.read(str(row.get("source")), int(offset), int(length))

    def texts(self, rows: pd.DataFrame) -> pd.Series:
        """Every row's text, aligned with `rows` (read in file order, one pass per log)."""
        raw = rows["raw"] if "raw" in rows else pd.Series(None, index=rows.index, dtype=object)
        out = raw.astype(object).where(raw.notna(), None)
        stored = raw.isna() & (rows["offset"].notna() if "offset" in rows else False)
        if stored.any():
            wanted = rows.loc[stored, ["source", "offset", "length"]]
            wanted = wanted.assign(source=wanted["source"].astype(str)).sort_values(["source", "offset"])
            read = [
                self.read(source, int(offset), int(length))
                for source, offset, length in zip(
                    wanted["source"], wanted["offset"], wanted["length"], strict=True
                )
            ]
            out.loc[wanted.index] = read
        return out.where(out.notna(), "").astype("string")

    def has_text(self, row: Mapping[str, Any]) -> bool:
        """Whether a row carries a text (in `raw` or in its log)."""
        return any(
            row.get(column) is not None and not pd.isna(row.get(column)) for column in ("raw", "offset")
        )

    def close(self) -> None:
        """Close the open logs; later reads of a log that still exists open it again."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def _file(self, source: str) -> BinaryIO | None:
        handle = self._files.get(source)
        if handle is None:
            opener = self._openers.get(source)
            if opener is None:
                return None
            try:
                handle = self._files[source] = opener()
            except OSError:
                return None
        return handle
