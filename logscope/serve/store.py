"""The reports a server keeps: the last few in memory under a random id, and on disk with --keep."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

logger = logging.getLogger("logscope.serve")  # one logger for the whole server

REPORT_ID = re.compile(r"[0-9a-f]{32}")
MAX_KEPT_REPORTS = 50


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
    """The last `capacity` reports of this server process, in memory, newest last."""

    def __init__(self, capacity: int = MAX_KEPT_REPORTS) -> None:
        self.capacity = capacity
        self._reports: OrderedDict[str, StoredReport] = OrderedDict()

    def add(self, report: StoredReport) -> None:
        self._reports[report.id] = report
        while len(self._reports) > self.capacity:
            self._reports.popitem(last=False)

    def get(self, report_id: str) -> StoredReport | None:
        return self._reports.get(report_id) if REPORT_ID.fullmatch(report_id) else None

    def recent(self) -> list[StoredReport]:
        return list(reversed(self._reports.values()))

    def __len__(self) -> int:
        return len(self._reports)


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
