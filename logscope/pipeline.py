"""The flow end to end: bundle -> parse -> correlate -> signatures -> Report."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, BinaryIO

import pandas as pd

from logscope.bundle import DEFAULT_MAX_BYTES, open_bundle
from logscope.bundle.readers import read_records
from logscope.correlate import correlate
from logscope.frame import UTC_ASSUMED
from logscope.frames import Frames, build_frames, bundle_time, describe_nodes
from logscope.nodes import NodeSummary
from logscope.parse import parse_members
from logscope.report import Report
from logscope.signatures import CheckError, Context, load_library

Input = str | os.PathLike | BinaryIO | bytes
MAX_LISTED = 100  # skipped and incomplete entries a report lists (a 100k-member archive); it counts all


def analyze(
    inputs: Input | Sequence[Input],
    *,
    signature_dirs: Iterable[str | os.PathLike] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    all_events: bool = False,
    progress: Callable[[int, int], None] | None = None,
    work_dir: str | os.PathLike | None = None,
) -> Report:
    """Analyze one incident: a bundle, several nodes' bundles, a folder, a log, a file object or bytes.

    Raises :class:`logscope.BundleError` (or a subclass) when the input cannot be read at all.
    Archives are unpacked in a temporary folder inside `work_dir` (default: the system's), removed
    before this returns.
    """
    started = time.perf_counter()
    with open_bundle(inputs, max_bytes=max_bytes, work_dir=work_dir) as bundle:
        parsed = parse_members(bundle.logs, all_events=all_events, progress=progress)
        records = read_records(bundle.members, bundle.nodes)
        node_facts = list(bundle.nodes)
        sources = bundle.sources_present()
        labels = list(bundle.inputs)
        warnings = list(bundle.warnings)
        skipped = [_entry(s.input, s.path, s.reason) for s in bundle.skipped]
        unread = [_entry(s.input, s.path, s.reason) for s in bundle.unread]
    skipped += [_entry(s.input, s.path, s.reason) for s in records.skips]
    unread += [_entry(s.input, s.path, s.reason) for s in records.skips if s.unread]
    warnings += [f"{path}: XML dumps are not read yet; collect the .txt dump" for path in records.xml_only]
    frames = build_frames(records)
    unread += [_entry(m.input, m.path, reason) for m, reason in parsed.unread]
    errors: list[CheckError] = []
    try:
        correlation = correlate(parsed.events)
    except Exception as error:  # every check depends on it: none may say ok (layer (d), then (c))
        errors.append(CheckError.of("correlation", error))
        correlation = correlate(parsed.events.iloc[0:0])
    nodes = summarize_nodes(node_facts, parsed.events)
    last_line = parsed.events["ts"].dropna().max() if not parsed.events.empty else None
    now = bundle_time(last_line, frames.status)
    describe_nodes(nodes, frames, now)
    library = load_library(signature_dirs)
    context = Context(
        events=parsed.events,
        transactions=correlation.transactions,
        tls_failures=correlation.tls_failures,
        nodes=nodes,
        sources=sources,
        certificates=frames.certificates,
        config=frames.config,
        status=frames.status,
        alarms=frames.alarms,
        bundle_time=now,
        unrecognised_tls_lines=parsed.unrecognised,
    )
    stage_errors = [error.incomplete_entry() for error in errors]
    findings, check_errors = library.evaluate_all(context, unread=unread + stage_errors)
    errors += check_errors
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
    return Report(
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
    )


def _frame_fields(frames: Frames) -> dict[str, pd.DataFrame]:
    return {
        "certificates": frames.certificates,
        "config": frames.config,
        "status": frames.status,
        "alarms": frames.alarms,
    }


def _entry(input_label: str, path: str, reason: str) -> dict[str, str]:
    return {"input": input_label, "path": path, "reason": reason}


def summarize_nodes(node_facts: list, events: pd.DataFrame) -> list[NodeSummary]:
    """One summary per node: facts from the bundle, time range and event count from the log.

    A node seen only in the log gets "unknown" version; a node whose role the bundle does not say is
    taken to be an Expressway-C when its traffic server proxies MRA routes (only the -C does).
    """
    by_host = {facts.host: facts for facts in node_facts if facts.host != "unknown"}
    nodes: list[NodeSummary] = []
    seen_hosts = [str(h) for h in events["node"].dropna().unique()] if not events.empty else []
    for host in sorted(set(by_host) | set(seen_hosts)):
        facts = by_host.get(host)
        rows = events[events["node"] == host] if host in seen_hosts else events.iloc[0:0]
        times = rows["ts"].dropna()
        role = facts.role if facts else "unknown"
        role_source = (facts.role_source if facts else "") or "unknown"
        if role == "unknown" and rows["route_segment"].notna().any():
            role, role_source = "Expressway-C", "log"
        nodes.append(
            NodeSummary(
                host=host,
                version=facts.version if facts else "unknown",
                role=role,
                sources=dict(facts.sources) if facts else {},
                config=dict(facts.config) if facts else {},
                first_seen=times.min() if not times.empty else None,
                last_seen=times.max() if not times.empty else None,
                events=len(rows),
                role_source=role_source,
                bundles=_bundles_of(facts, rows) if facts else [],
            )
        )
    return nodes


def _bundles_of(facts: Any, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Each bundle a host name came from, with its version and the time range of its own lines."""
    bundles = []
    for label, bundle in facts.bundles.items():
        own = rows[rows["source"].isin(bundle["members"])] if not rows.empty else rows
        times = own["ts"].dropna()
        bundles.append(
            {
                "input": label,
                "version": bundle["version"],
                "first_seen": times.min() if not times.empty else None,
                "last_seen": times.max() if not times.empty else None,
                "events": len(own),
            }
        )
    return bundles


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


def same_host_warnings(nodes: list[NodeSummary]) -> list[str]:
    """design.md, "Nodes": one host name from two bundles may be two machines (or two years)."""
    warnings = []
    for node in nodes:
        if len(node.bundles) < 2:
            continue
        parts = "; ".join(
            f"{b['input']} ({b['version']}, {_span(b['first_seen'], b['last_seen'])})" for b in node.bundles
        )
        warnings.append(
            f"host name {node.host} comes from {len(node.bundles)} different bundles: {parts}. "
            "They are shown as one node; if they are different machines or incidents, analyze them "
            "apart (logscope batch)."
        )
    return warnings


def _span(first: Any, last: Any) -> str:
    if first is None or last is None:
        return "no time"
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
