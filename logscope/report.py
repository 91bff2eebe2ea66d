"""Report stage: the Report, everything one analysis produced, as data; logscope.render draws it."""

from __future__ import annotations

import importlib
import io
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, BinaryIO, TextIO

import pandas as pd

from logscope.event_texts import EventTexts
from logscope.findings import STATUSES, Finding
from logscope.nodes import NodeSummary

# design.md, "Second-wave contracts"; 2 (bad usage, nothing analyzed) never comes from a Report.
EXIT_OK, EXIT_ISSUE, EXIT_INCOMPLETE = 0, 1, 3
_WRITE_SLICE = 1 << 20  # characters encoded and written at a time


@dataclass
class Report:
    """Everything one analysis produced. Findings are plain objects; frames are pandas."""

    inputs: list[str]
    nodes: list[NodeSummary]
    findings: list[Finding]
    events: pd.DataFrame
    transactions: pd.DataFrame
    tls_failures: pd.DataFrame
    stats: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    # inputs, members or logs left unread or cut (design.md, layer (c)), and checks that failed
    # (layer (d)): {input, path, reason}; the first 100, and how many there were in all
    incomplete: list[dict[str, str]] = field(default_factory=list)
    skipped_count: int | None = None  # all skipped items, when `skipped` lists only the first
    incomplete_count: int | None = None
    tracebacks: list[str] = field(default_factory=list)  # of the failures in `incomplete`, for --debug
    # the second-wave frames (logscope.frames); None when a Report is built without them
    certificates: pd.DataFrame | None = None
    config: pd.DataFrame | None = None
    status: pd.DataFrame | None = None
    alarms: pd.DataFrame | None = None
    # lines about a certificate/TLS failure no rule read (design.md layer (a)): {file, line, text,
    # family}; the first 100, and how many there were in all
    unrecognised_tls_lines: list[dict[str, Any]] = field(default_factory=list)
    unrecognised_tls_count: int | None = None
    # DEBUG_MARKER lines an admin inserted while logging, from any line of the logs (not only the
    # parsed ones): {node, ts, text, file, line}; drawn on the page's timeline
    markers: list[dict[str, Any]] = field(default_factory=list)
    traversal: dict[str, Any] | None = None  # both sides of the traversal (logscope.traversal)
    tls_events: pd.DataFrame | None = None  # the tvcs traversal lines of both sides, paired
    # MRA login attempts (logscope.logins, issue 16): one row per attempt, one row per request of an
    # attempt, and per finding id the logins it broke {count, users_count, first_users, logins}
    logins: pd.DataFrame | None = None
    login_steps: pd.DataFrame | None = None
    finding_logins: dict[str, dict[str, Any]] = field(default_factory=dict)
    # reads the text of `events` rows whose `raw` is null (left in the log: see event_texts())
    texts: EventTexts | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.skipped_count is None:
            self.skipped_count = len(self.skipped)
        if self.incomplete_count is None:
            self.incomplete_count = len(self.incomplete)
        if self.unrecognised_tls_count is None:
            self.unrecognised_tls_count = len(self.unrecognised_tls_lines)

    def event_texts(self, rows: pd.DataFrame | None = None) -> pd.Series:
        """The text of `rows` of `events` (default: all), aligned with them.

        A large log's events keep their text in the log (`raw` is null, `source`/`offset`/`length`
        say where): it is read here, from a log given in place at any time, from an archive's log
        only during the analysis (its unpacked copy is removed when `analyze` returns).
        """
        rows = self.events if rows is None else rows
        if "raw" not in rows:
            return pd.Series("", index=rows.index, dtype="string")
        if self.texts is None:
            return rows["raw"].astype("string").fillna("")
        return self.texts.texts(rows)

    def finding(self, signature_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == signature_id), None)

    def by_status(self, status: str) -> list[Finding]:
        return [f for f in self.findings if f.status == status]

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for finding in self.findings:
            counts[finding.status] += 1
        return counts

    @property
    def has_issue(self) -> bool:
        return any(f.status == "issue" for f in self.findings)

    @property
    def exit_code(self) -> int:
        """What `logscope analyze` exits with: 1 an issue (complete or not), 3 incomplete, else 0."""
        if self.has_issue:
            return EXIT_ISSUE
        return EXIT_INCOMPLETE if self.incomplete else EXIT_OK

    @property
    def time_range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        times = self.events["ts"].dropna() if "ts" in self.events else pd.Series(dtype=object)
        if times.empty:
            return None, None
        return times.min(), times.max()

    def to_dict(self) -> dict[str, Any]:
        """The JSON document as plain values (see report.schema.json)."""
        return _renderer("json").report_document(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        return _renderer("json").render_json(self, indent=indent)

    def write_json(self, handle: TextIO | BinaryIO) -> None:
        """Write the JSON document to a file in pieces (a login storm's is hundreds of MiB: no
        second copy of it is made). A binary file gets the UTF-8 bytes as they are built: the
        `logins` array (200 MiB on the 1 GiB storm) is never decoded into text and encoded back."""
        binary = _is_binary(handle)
        for part in _renderer("json").json_pieces(self):
            if binary:
                handle.write(part.encode("utf-8") if isinstance(part, str) else part)  # type: ignore[arg-type]
                continue
            text = part if isinstance(part, str) else str(part, "utf-8")
            for start in range(0, len(text), _WRITE_SLICE):
                handle.write(text[start : start + _WRITE_SLICE])  # type: ignore[arg-type]

    def to_html(self) -> str:
        return _renderer("html").render_html(self)

    def to_text(self, *, color: bool = False, width: int = 100) -> str:
        """The terminal summary, wrapped to `width` columns (100: what a file or pipe gets)."""
        return _renderer("text").render_text(self, color=color, width=width)


def _is_binary(handle: TextIO | BinaryIO) -> bool:
    """A file opened for bytes (io's binary classes, or a wrapper whose mode says `b`)."""
    if isinstance(handle, io.TextIOBase):
        return False
    return isinstance(handle, (io.RawIOBase, io.BufferedIOBase)) or "b" in str(getattr(handle, "mode", ""))


def _renderer(fmt: str) -> ModuleType:
    """The renderer of format `fmt` (``logscope.render.<fmt>``), looked up when a rendering is asked for.

    Data flows one way: renderers read the Report and come after it, so the report names its
    renderers by format instead of importing them (the way pandas resolves its plotting backend).
    """
    return importlib.import_module(f"logscope.render.{fmt}")
