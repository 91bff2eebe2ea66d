"""What runs in an analysis worker process: analyze the saved uploads and render the report.

The report names its inputs by the names the user uploaded, never by the server's temporary paths."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logscope.errors import BundleError


@dataclass(frozen=True)
class RenderedReport:
    """What a worker sends back: text only, so nothing large or unpicklable crosses processes."""

    page_html: str
    download_html: str
    json_text: str
    summary: dict[str, int]


def analysis_job(
    report_id: str, paths: list[str], display_names: list[str], max_bytes: int | None = None
) -> RenderedReport:
    """Analyze the saved uploads and render everything the server keeps. Runs in a worker process.
    `max_bytes` caps what the analysis decompresses (`serve --max-bytes`; None: the bundle default)."""
    from logscope.pipeline import analyze

    labels = UploadLabels(dict(zip(paths, display_names, strict=True)))
    limits = {} if max_bytes is None else {"max_bytes": max_bytes}
    try:
        report = analyze([Path(p) for p in paths], **limits)
    except BundleError as exc:
        raise type(exc)(labels.text(str(exc))) from None
    labels.relabel(report)
    return RenderedReport(
        page_html=render_findings_page(report, report_links(report_id)),
        download_html=report.to_html(),
        json_text=report.to_json(),
        summary=dict(report.summary),
    )


class UploadLabels:
    """Puts the uploaded file names back where the report names its inputs.

    The analyzer sees the server's temporary paths (`/tmp/logscope-upload-x/upload-00.tar.gz`) and
    calls members by the base name (`upload-00.tar.gz:loggingsnapshot_...txt`); a user must see the
    names they uploaded, and nobody should see the server's folders. One regex pass per string, so a
    display name that looks like another upload's generated name is never replaced twice.
    """

    def __init__(self, display_by_path: dict[str, str]) -> None:
        self._mapping = {Path(path).name: name for path, name in display_by_path.items()}
        self._mapping.update(display_by_path)
        keys = sorted(self._mapping, key=len, reverse=True)
        self._anywhere = re.compile("|".join(re.escape(key) for key in keys) or r"(?!)")

    def text(self, text: str) -> str:
        """Free text (warnings, error messages): every temporary path or generated name replaced."""
        return self._anywhere.sub(lambda match: self._mapping[match.group(0)], text)

    def label(self, label: str) -> str:
        """A source label: only a leading temporary path or generated name is replaced."""
        match = self._anywhere.match(label)
        if match and label[match.end() : match.end() + 1] in ("", ":", "/"):
            return self._mapping[match.group(0)] + label[match.end() :]
        return label

    def relabel(self, report: Any) -> None:
        """Rewrite, in place, every place a Report names its inputs."""
        report.inputs = [self.label(str(item)) for item in report.inputs]
        report.warnings = [self.text(str(warning)) for warning in report.warnings]
        report.skipped = [{key: self.text(str(v)) for key, v in skip.items()} for skip in report.skipped]
        for node in report.nodes:
            node.sources = {key: self.label(str(value)) for key, value in node.sources.items()}
        for finding in report.findings:
            for evidence in finding.evidence:
                evidence.source = self.label(str(evidence.source))
        for frame in (report.events, report.transactions, report.tls_failures):
            if "source" in frame.columns and len(frame):
                labels = {value: self.label(str(value)) for value in frame["source"].dropna().unique()}
                frame["source"] = frame["source"].map(labels)  # a categorical maps only its categories


def report_links(report_id: str) -> list[tuple[str, str]]:
    return [
        ("Download HTML", f"/reports/{report_id}.html"),
        ("Download JSON", f"/reports/{report_id}.json"),
        ("New analysis", "/"),
    ]


def render_findings_page(report: Any, links: list[tuple[str, str]]) -> str:
    """The findings page from the same render code as `logscope analyze --format html`.

    The download links go in through `render_html(..., header_links=...)`. A render module without
    that keyword gives the plain page, never a copy of its template. The keyword is looked up rather
    than a TypeError caught, so a TypeError raised inside rendering is not mistaken for it.
    """
    from logscope.render import render_html

    if "header_links" in inspect.signature(render_html).parameters:
        return render_html(report, header_links=links)
    return render_html(report)
