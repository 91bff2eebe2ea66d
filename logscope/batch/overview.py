"""The batch's overview files: summary.csv (one row per input and finding) and index.html."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from logscope import __version__
from logscope.batch.records import node_labels
from logscope.batch.results import ATTENTION_STATUSES, BatchResult, BatchSummary, severity_rank
from logscope.findings import STATUS_TITLES, STATUSES
from logscope.render import (
    block_text,
    content_security_policy,
    html_environment,
    inline_assets,
    visible_controls,
)

CSV_COLUMNS = (
    "input",
    "name",
    "ok",
    "error",
    "hosts",
    "versions",
    "finding_id",
    "title",
    "status",
    "severity",
    "category",
    "count",
    "servers",
    "incomplete",  # what the input's report left unread or cut ("path: reason; ..."), empty if nothing
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def summary_csv(results: Sequence[BatchResult]) -> str:
    """One row per (input, finding), one per broken input; header first; RFC 4180 quoting.

    Text that came from a bundle (paths, host names, servers, errors) and starts like a spreadsheet
    formula (=, +, -, @) gets a leading apostrophe so a spreadsheet shows it instead of running it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in results:
        hosts = "; ".join(node_labels(result.nodes))
        versions = "; ".join(sorted({node["version"] for node in result.nodes}))
        head = [result.input, result.name, result.ok, result.error or "", hosts, versions]
        tail = [incomplete_text(result)]
        rows = [
            [
                finding["id"],
                finding["title"],
                finding["status"],
                finding["severity"],
                finding["category"],
                finding["count"],
                "; ".join(finding["servers"]),
            ]
            for finding in result.findings
        ]
        if not rows:  # a broken input (or a report with no finding) still gets its row
            rows = [["", "", "", "", "", "", ""]]
        for row in rows:
            writer.writerow([_cell(value) for value in head + row + tail])
    return buffer.getvalue()


def incomplete_text(result: BatchResult) -> str:
    """`path: reason; path: reason` for what the report left unread or cut; empty when complete."""
    return "; ".join(f"{entry['path'] or entry['input']}: {entry['reason']}" for entry in result.incomplete)


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        text = _visible(value, keep_newlines=False)
        return "'" + text if text.startswith(_FORMULA_START) else text
    return value


def _visible(text: str, keep_newlines: bool = True) -> str:
    return visible_controls(text, keep_newlines=keep_newlines)


def index_rows(results: Sequence[BatchResult]) -> list[dict[str, Any]]:
    """What each row of index.html shows; `top_rank` is what the top-finding column sorts by."""
    rows = []
    for result in results:
        top = result.top_finding
        rank = (ATTENTION_STATUSES.index(top["status"]) * 10 + severity_rank(top)[1]) if top else 99
        rows.append(
            {
                "result": result,
                "hosts": node_labels(result.nodes),
                "versions": sorted({node["version"] for node in result.nodes}),
                "counts": [(status, result.summary.get(status, 0)) for status in STATUSES],
                "top": top,
                "top_rank": rank if result.ok else FAILED_RANK,
                "html_name": result.html.name if result.html else None,
                "json_name": result.json.name if result.json else None,
                "incomplete": incomplete_text(result),
            }
        )
    return sorted(rows, key=lambda row: row["top_rank"])  # severity first; stable: input order next


# A failed input (a damaged archive) ranks after the findings to act on (issue 0-9, potential 10-19)
# and before the reports that only miss information (20-29: every bundle without PEM files) or are quiet.
FAILED_RANK = 19.5


def render_index(summary: BatchSummary) -> str:
    """index.html: one sortable row per input; offline, escaped, scripts limited by a CSP hash."""
    template = html_environment().get_template("batch_index.html.j2")
    shared_css = inline_assets()[0]
    own_css, script = block_text(template, "index_style"), block_text(template, "index_script")
    totals = {status: sum(r.summary.get(status, 0) > 0 for r in summary.results) for status in STATUSES}
    return template.render(
        version=__version__,
        rows=index_rows(summary.results),
        statuses=[(status, STATUS_TITLES[status]) for status in STATUSES],
        totals=totals,
        count=len(summary.results),
        failed=summary.failed,
        cached=summary.cached,
        incomplete=summary.incomplete,
        ignored=summary.ignored,
        shared_css=Markup(shared_css),  # our own package file, never log text
        csp=content_security_policy([shared_css, own_css], script),
    )
