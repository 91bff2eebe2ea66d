"""The reports a server keeps: the last few in memory under a random id, and on disk with --keep."""

from __future__ import annotations

import logging
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

logger = logging.getLogger("logscope.serve")  # one logger for the whole server

REPORT_ID = re.compile(r"[0-9a-f]{32}")
MAX_KEPT_REPORTS = 50
MAX_STORE_BYTES = 200 * 1024**2  # rendered reports kept in memory (serve --store-mb)


@dataclass(frozen=True)
class StoredReport:
    """A finished analysis as the server keeps it: what was uploaded, when, and the rendered report."""

    id: str
    file_names: tuple[str, ...]
    created: datetime
    upload_bytes: int
    seconds: float
    summary: dict[str, int]
    page_html: str
    download_html: str
    json_text: str


class ReportStore:
    """The last reports of this server process, in memory, newest last: at most `capacity` of them
    and at most `max_bytes` of rendered text. The newest report is always kept (the user is being
    sent to it), so one report larger than the budget evicts every other one."""

    def __init__(self, capacity: int = MAX_KEPT_REPORTS, max_bytes: int = MAX_STORE_BYTES) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0
        self._reports: OrderedDict[str, StoredReport] = OrderedDict()

    def add(self, report: StoredReport) -> None:
        self._reports[report.id] = report
        self.bytes += report_bytes(report)
        while len(self._reports) > 1 and (len(self._reports) > self.capacity or self.bytes > self.max_bytes):
            _id, evicted = self._reports.popitem(last=False)
            self.bytes -= report_bytes(evicted)

    def get(self, report_id: str) -> StoredReport | None:
        return self._reports.get(report_id) if REPORT_ID.fullmatch(report_id) else None

    def recent(self) -> list[StoredReport]:
        return list(reversed(self._reports.values()))

    def __len__(self) -> int:
        return len(self._reports)


def report_bytes(report: StoredReport) -> int:
    """The memory a stored report holds: its three rendered texts (the rest is small)."""
    return sum(sys.getsizeof(text) for text in (report.page_html, report.download_html, report.json_text))


def keep_report(keep_dir: Path, report: StoredReport) -> None:
    """Write `<id>.html` and `<id>.json` into the --keep folder (the id is 32 hex digits, nothing else)."""
    if not REPORT_ID.fullmatch(report.id):
        raise ValueError("not a report id")
    try:
        for suffix, text in ((".html", report.download_html), (".json", report.json_text)):
            final = keep_dir / f"{report.id}{suffix}"
            partial = keep_dir / f".{report.id}{suffix}.partial"
            partial.write_text(text, encoding="utf-8")
            partial.replace(final)
    except OSError as exc:
        logger.error("report %s: cannot write it to %s: %s", report.id, keep_dir, exc)
