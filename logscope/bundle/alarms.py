"""The alarms of an xstat dump, read tolerantly: key names vary by release (log-lines.md section 9).

Each alarm is a block under an `Alarms` / `Alarm <n>` section; a record ends where its block ends or
where one of its keys repeats (an unnumbered list of alarms in one block).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_ALARM_SECTION = re.compile(r"^alarms?\b", re.IGNORECASE)
FIELDS = {
    "alarm_id": ("id", "alarmid", "number", "code"),
    "title": ("title", "description", "name", "summary"),
    "state": ("state", "status", "acknowledged"),
    "severity": ("severity", "level"),
    "first_raised": ("firstraised", "raised", "raisedtime", "timeraised", "firstseen"),
    "last_raised": ("lastraised", "lastseen", "lastupdated", "lastraisedtime"),
}


def _norm(key: str) -> str:
    return re.sub(r"[\s_-]+", "", key).lower()


def alarm_records(items: Sequence[tuple[tuple[str, ...], str]]) -> list[dict[str, Any]]:
    """One record per alarm in xStatus items (see xstat.xstat_items), columns as in FIELDS."""
    records: list[dict[str, str]] = []
    container: tuple[str, ...] | None = None
    current: dict[str, str] = {}
    for path, value in items:
        if not path or not _ALARM_SECTION.match(path[0]) or len(path) < 2:
            continue
        key = _norm(path[-1])
        if path[:-1] != container or key in current:
            if current:
                records.append(current)
            container, current = path[:-1], {}
        current[key] = value
    if current:
        records.append(current)
    return [_alarm(record) for record in records]


def _alarm(record: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column, keys in FIELDS.items():
        row[column] = next((record[key] for key in keys if key in record), None)
    row["alarm_id"] = (row["alarm_id"] or "").strip() or None
    return row
