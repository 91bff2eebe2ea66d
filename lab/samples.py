"""The grammar sample file: every distinct line ATS wrote in the lab, verbatim, grouped by run.

"Distinct" ignores the timestamp, the thread tag (`[ET_NET 0]` vs `[ET_NET 1]`), the run's temporary
folder and error.log's `attempts=N`, so a line repeated by connect retries or by another run appears
once, as ATS first wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

DIAGS_TIMESTAMP = re.compile(r"^\[[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d\.\d{3}\] ")
THREAD_TAG = re.compile(r"^\[[A-Za-z_]+(?: \d+)?\] |^traffic_server ")
ERROR_LOG_TIMESTAMP = re.compile(r"^\d{8}\.\d\dh\d\dm\d\ds ")
ATTEMPTS = re.compile(r" attempts=\d+ ")
DIAG_LEVELS = re.compile(r"\b(?:NOTE|WARNING|ERROR|FATAL|ALERT|EMERGENCY): ")
SSL_DEBUG = re.compile(r"\bDEBUG: .*\(ssl\.error[.\w]*\) .*\berror:[0-9A-F]{8}:")
CONNECT = re.compile(r" CONNECT: ")
RUNROOT = re.compile(r"/\S*/logscope-lab-[^/\s]+/[^/\s]+/")


def diags_key(line: str) -> str:
    """The line without its timestamp, thread tag and run folder: what makes two diags.log lines the
    same."""
    return RUNROOT.sub("<runroot>/", THREAD_TAG.sub("", DIAGS_TIMESTAMP.sub("", line)))


def error_log_key(line: str) -> str:
    """The line without its timestamp and retry count: one CONNECT line per origin and failure."""
    return ATTEMPTS.sub(" ", ERROR_LOG_TIMESTAMP.sub("", line))


def distinct(
    lines: Iterable[str], keep: re.Pattern[str], key: Callable[[str], str], seen: set[str]
) -> list[str]:
    """First occurrence of every line `keep` matches whose `key(line)` is not in `seen` yet, in log
    order; `seen` is updated, so later sections list only what earlier ones did not."""
    chosen = []
    for line in lines:
        if keep.search(line) and key(line) not in seen:
            seen.add(key(line))
            chosen.append(line)
    return chosen


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []


def sample_sections(runs: dict[str, Path], ssl_debug_run: str) -> list[tuple[str, list[str]]]:
    """(heading, lines) per run and log: WARNING/ERROR/NOTE lines of diags.log, `(ssl.error)` DEBUG
    lines of the debug run, and the CONNECT lines of error.log; each line only where it first
    appears."""
    sections = []
    seen_diags: set[str] = set()
    seen_errors: set[str] = set()
    for name, folder in runs.items():
        diags = read_lines(folder / "diags.log")
        sections.append((f"diags.log, {name} run", distinct(diags, DIAG_LEVELS, diags_key, seen_diags)))
        if name == ssl_debug_run:
            debug_lines = distinct(diags, SSL_DEBUG, diags_key, seen_diags)
            sections.append((f"diags.log, {name} run, debug tag ssl.error", debug_lines))
        errors = read_lines(folder / "error.log")
        sections.append((f"error.log, {name} run", distinct(errors, CONNECT, error_log_key, seen_errors)))
    return sections


def render_samples(source: str, sections: list[tuple[str, list[str]]]) -> str:
    """The sample file: a `# source:` header, then each section under a `# --` heading."""
    out = [
        f"# source: {source}, logscope lab",
        "# Written by `python -m lab.run --samples FILE`: the distinct lines a real traffic_server wrote",
        "# (verbatim, where each first appears; a line is left out when it differs from one already",
        "# listed only by timestamp, thread tag, lab folder or error.log's attempts=N).",
    ]
    for heading, lines in sections:
        out += ["", f"# -- {heading}", *(lines or ["# (no line that is not listed above)"])]
    return "\n".join(out) + "\n"
