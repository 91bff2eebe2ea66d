"""Markers an admin inserted while logging: any log line that holds DEBUG_MARKER (issue 12).

The parse stage keeps only the lines a signature reads (traffic_server lines), so a marker written
by another process would never reach the events. :class:`MarkerLines` sees every block of whole
lines the parser reads (the same hook as the safety net), finds the token with the line search the
safety net uses (logscope.lines.phrases.LineFinder) and keeps each marker as a small dict, never
the rest of the log.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from logscope.frame import records_to_frame
from logscope.lines import parse_event
from logscope.lines.phrases import LineFinder, lines_holding

MARKER = "DEBUG_MARKER"
MAX_MARKERS = 200  # a log that holds more is marking something else; the timeline shows 50
MAX_MARKER_LINE = 4096  # bytes of a marked line read (the time and the text are near its start)
_TOKEN = MARKER.encode()
TOKEN_WORDS = (MARKER.lower().encode(),)  # for a line search that matches letters in any case
_TEXT = re.compile(re.escape(MARKER) + r'[\s:=-]*([^"]*)')


def marker_text(line: str) -> str:
    """What follows the token on a marked line (up to a closing quote), or the token itself."""
    match = _TEXT.search(line)
    return (match[1] if match else "").strip() or MARKER


def marked_lines(block: bytes, line_base: int, finder: LineFinder = lines_holding) -> list[tuple[int, str]]:
    """(line number, text) of the first MAX_MARKERS lines of a block of whole lines holding the token
    (at most MAX_MARKER_LINE bytes of each), in block order. `finder` finds the lines holding
    TOKEN_WORDS in any case (the parse stage hands in its shared one, see logscope.scan.found); the
    token's own case is checked here."""
    found: list[tuple[int, str]] = []
    for start, line_ends in finder(block, TOKEN_WORDS):
        end = block.find(b"\n", start)
        end = len(block) if end < 0 else end
        if block.find(_TOKEN, start, end) < 0:  # the word in another case
            continue
        raw = block[start : min(end, start + MAX_MARKER_LINE)]
        found.append((line_base + line_ends, raw.decode("utf-8", "replace")))
        if len(found) == MAX_MARKERS:
            break
    return found


class MarkerLines:
    """Collects the marked lines of the logs one parse reads, as records with their time."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def reader(self, source: str, default_node: str | None) -> MarkerReader:
        return MarkerReader(self, source, default_node)

    def markers(self, *, year: int | None = None) -> list[dict[str, Any]]:
        """{node, ts (UTC, or None), text, file, line} per marked line, in the order read."""
        if not self.records:
            return []
        frame = records_to_frame(self.records, year=year)
        return [
            {
                "node": record["node"],
                "ts": None if pd.isna(ts) else ts,
                "text": marker_text(record["raw"]),
                "file": record["source"],
                "line": record["line"],
            }
            for record, ts in zip(self.records, frame["ts"], strict=True)
        ]


class MarkerReader:
    """The `on_block` callback of one log: finds DEBUG_MARKER in each block of whole lines."""

    def __init__(self, owner: MarkerLines, source: str, default_node: str | None) -> None:
        self.owner, self.source, self.default_node = owner, source, default_node

    def __call__(self, block: bytes, line_base: int) -> None:
        self.found(marked_lines(block, line_base))

    def found(self, lines: list[tuple[int, str]]) -> None:
        """A block's marked lines, found elsewhere (`marked_lines` of the block, by a scan)."""
        records = self.owner.records
        for line, text in lines[: max(MAX_MARKERS - len(records), 0)]:
            records.append(self._record(text, line))

    def _record(self, text: str, line: int) -> dict[str, Any]:
        try:
            parsed = parse_event(text)
        except Exception:  # a marker whose line no grammar reads still marks its place (no time)
            parsed = {"kind": "unparsed"}
        parsed.pop("partial", None)
        node = self.default_node or parsed.get("node")
        return {
            "ts_raw": parsed.get("ts_raw"),
            "ts_format": parsed.get("ts_format"),
            "kind": parsed.get("kind"),
            "node": node,
            "source": self.source,
            "line": line,
            "raw": text,
        }
