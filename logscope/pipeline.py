"""The flow end to end: bundle -> parse -> correlate -> signatures -> Report."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import BinaryIO

import pandas as pd

from logscope.bundle import DEFAULT_MAX_BYTES, open_bundle
from logscope.bundle.readers import read_records
from logscope.correlate import Correlation, correlate
from logscope.frame import UTC_ASSUMED
from logscope.frames import Frames, build_frames
from logscope.logins import Logins, build_logins, link_findings
from logscope.nodes import same_host_warnings, summarize_nodes
from logscope.parse import parse_members
from logscope.report import Report
from logscope.signatures import CheckError, load_library
from logscope.signatures.context import bundle_context
from logscope.traversal import traversal_summary

Input = str | os.PathLike | BinaryIO | bytes
# A report whose events' texts, left in the log by the scanner, add up to at most this many bytes
# gets them in `events["raw"]` (the API's users read it); a larger one reads them on demand.
KEEP_TEXT_BYTES = 64 * 1024 * 1024
MAX_LISTED = 100  # skipped and incomplete entries a report lists (a 100k-member archive); it counts all


def analyze(
    inputs: Input | Sequence[Input],
    *,
    signature_dirs: Iterable[str | os.PathLike] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    all_events: bool = False,
    progress: Callable[[int, int], None] | None = None,
    work_dir: str | os.PathLike | None = None,
    timings: dict[str, float] | None = None,
) -> Report:
    """Analyze one incident: a bundle, several nodes' bundles, a folder, a log, a file object or bytes.

    Raises :class:`logscope.BundleError` (or a subclass) when the input cannot be read at all.
    Archives are unpacked in a temporary folder inside `work_dir` (default: the system's), removed
    before this returns. `timings`, when given, gets the seconds of each stage (benchmarks/).
    """
    started = lap = time.perf_counter()
    # The bundle stays open until the findings have quoted their evidence: the scanner leaves an
    # event's text in the log (logscope.event_texts), and an archive's log is an unpacked copy.
    with open_bundle(inputs, max_bytes=max_bytes, work_dir=work_dir) as bundle:
        lap = _lap(timings, "bundle open", lap)
        parsed = parse_members(bundle.logs, all_events=all_events, progress=progress)
        lap = _lap(timings, "parse", lap)
        records = read_records(bundle.members, bundle.nodes)
        node_facts = list(bundle.nodes)
        sources = bundle.sources_present()
        labels = list(bundle.inputs)
        warnings = list(bundle.warnings)
        skipped = [_entry(s.input, s.path, s.reason) for s in bundle.skipped]
        unread = [_entry(s.input, s.path, s.reason) for s in bundle.unread]
        lap = _lap(timings, "bundle readers", lap)
        skipped += [_entry(s.input, s.path, s.reason) for s in records.skips]
        unread += [_entry(s.input, s.path, s.reason) for s in records.skips if s.unread]
        warnings += [
            f"{path}: XML dumps are not read yet; collect the .txt dump" for path in records.xml_only
        ]
        frames = build_frames(records)
        lap = _lap(timings, "bundle readers", lap)
        unread += [_entry(m.input, m.path, reason) for m, reason in parsed.unread]
        errors: list[CheckError] = []
        try:
            correlation = correlate(parsed.events)
        except Exception as error:  # every check depends on it: none may say ok (layer (d), then (c))
            errors.append(CheckError.of("correlation", error))
            correlation = correlate(parsed.events.iloc[0:0])
        lap = _lap(timings, "correlate", lap)
        logins = _logins(correlation, parsed.events, errors)
        lap = _lap(timings, "logins", lap)
        nodes = summarize_nodes(node_facts, parsed.events)
        context = bundle_context(
            parsed=parsed,
            correlation=correlation,
            nodes=nodes,
            frames=frames,
            sources=sources,
            xml_only=records.xml_only_sources(),
        )
        lap = _lap(timings, "node summaries", lap)
        library = load_library(signature_dirs)
        lap = _lap(timings, "signature library", lap)
        stage_errors = [error.incomplete_entry() for error in errors]
        findings, check_errors = library.evaluate_all(context, unread=unread + stage_errors)
        errors += check_errors
        lap = _lap(timings, "signatures and evidence", lap)
        finding_logins = link_findings(findings, logins)
        lap = _lap(timings, "logins", lap)
        incomplete = unread + [error.incomplete_entry() for error in errors]
        stats = {
            "lines": parsed.stats.lines,
            "bytes": parsed.stats.bytes,
            "events": parsed.stats.events,
            "unparsed": parsed.stats.unparsed,
            "unrecognised_tls_lines": len(parsed.unrecognised),
            "partial": parsed.stats.partial,
            "truncated": parsed.stats.truncated,
            "oversize_lines": parsed.stats.oversize_lines,
            "invalid_utf8": parsed.stats.invalid_utf8,
            "transactions": len(correlation.transactions),
            "tls_failures": len(correlation.tls_failures),
            "signatures": len(library.signatures),
            "signature_errors": [str(e) for e in library.errors],
            "seconds": round(time.perf_counter() - started, 3),
        }
        warnings += [f"signature skipped: {error}" for error in library.errors]
        warnings += same_host_warnings(nodes)
        warnings += utc_assumed_warnings(parsed.events)
        report = Report(
            inputs=labels,
            nodes=nodes,
            findings=findings,
            events=parsed.events,
            transactions=correlation.transactions,
            tls_failures=correlation.tls_failures,
            stats=stats,
            warnings=warnings,
            skipped=skipped[:MAX_LISTED],
            skipped_count=len(skipped),
            incomplete=incomplete[:MAX_LISTED],
            incomplete_count=len(incomplete),
            tracebacks=[error.traceback for error in errors],
            **_frame_fields(frames),
            unrecognised_tls_lines=parsed.unrecognised[:MAX_LISTED],
            unrecognised_tls_count=len(parsed.unrecognised),
            markers=parsed.markers,
            traversal=traversal_summary(
                context.tls_events, frames.config, {n.host: (n.role, n.role_source) for n in nodes}
            ),
            tls_events=context.tls_events,
            logins=logins.logins,
            login_steps=logins.steps,
            finding_logins=finding_logins,
            texts=parsed.texts,
        )
        _keep_small_texts(report)
        _lap(timings, "report", lap)
        parsed.texts.close()
        lap = time.perf_counter()
    _lap(timings, "bundle close", lap)
    report.stats["seconds"] = round(time.perf_counter() - started, 3)
    return report


def _keep_small_texts(report: Report) -> None:
    """Read the texts the scanner left in the logs into `raw` of `events` and `tls_failures` when
    they add up to at most KEEP_TEXT_BYTES."""
    events = report.events
    if events.empty or not events["offset"].notna().any():
        return
    stored = events["raw"].isna() & events["offset"].notna()
    if int(events.loc[stored, "length"].sum()) > KEEP_TEXT_BYTES:
        return
    for frame in (events, report.tls_failures):
        if not frame.empty and "offset" in frame:
            frame["raw"] = report.event_texts(frame)


def _logins(correlation: Correlation, events: pd.DataFrame, errors: list[CheckError]) -> Logins:
    """The logins frame; a failure to build it is reported (layer (d)) and leaves no logins."""
    try:
        return build_logins(correlation.transactions, events, correlation.tls_failures)
    except Exception as error:
        errors.append(CheckError.of("logins", error))
        return build_logins(correlation.transactions.iloc[0:0], events, correlation.tls_failures)


def _lap(timings: dict[str, float] | None, stage: str, since: float) -> float:
    """Add the seconds since `since` to `timings[stage]` (when timings are wanted); return now."""
    now = time.perf_counter()
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + now - since
    return now


def _frame_fields(frames: Frames) -> dict[str, pd.DataFrame]:
    return {
        "certificates": frames.certificates,
        "config": frames.config,
        "status": frames.status,
        "alarms": frames.alarms,
    }


def _entry(input_label: str, path: str, reason: str) -> dict[str, str]:
    return {"input": input_label, "path": path, "reason": reason}


def utc_assumed_warnings(events: pd.DataFrame) -> list[str]:
    """BSD syslog lines whose zone no line of their node gave: read as UTC, and the report says so."""
    assumed = events[events["ts_offset"] == UTC_ASSUMED]
    if assumed.empty:
        return []
    nodes = ", ".join(sorted({str(node) for node in assumed["node"].dropna()})) or "unknown"
    return [
        f"{len(assumed)} BSD syslog line(s) of node(s) {nodes} carry no time zone and no line of theirs gave"
        " one (no UTCTime=): their times are read as UTC"
    ]
