"""A signature's examples run through the real stages: parse, correlate, then the whole library."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Collection
from pathlib import Path

from logscope.bundle import open_bundle
from logscope.bundle.readers import read_records
from logscope.correlate import correlate
from logscope.findings import Finding
from logscope.frames import build_frames
from logscope.nodes import NodeSummary, summarize_nodes
from logscope.parse import parse_members
from logscope.signatures.context import Context, bundle_context
from logscope.signatures.failures import CheckError
from logscope.signatures.library import Library
from logscope.signatures.signature import Example, Signature
from logscope.traversal import tls_events_frame


class _TextMember:
    """An in-memory log for running a signature's examples through the real stages."""

    source = "log"
    host = None

    def __init__(self, name: str, text: str) -> None:
        self._name, self._data = name, text.encode("utf-8")

    def display(self) -> str:
        return self._name

    def open(self) -> io.BytesIO:
        return io.BytesIO(self._data)


def run_example(library: Library, signature: Signature, example: Example) -> Finding:
    """Parse an example's log, correlate it, evaluate the whole library, return this signature's finding.

    The whole library runs because some signatures only take what no other signature claimed.
    """
    return _run_example(library, signature, example)[0]


def _run_example(
    library: Library, signature: Signature, example: Example
) -> tuple[Finding, list[CheckError]]:
    context = _bundle_context(example) if example.files else _log_context(signature, example)
    findings, errors = library.evaluate_all(context)
    finding = next(f for f in findings if f.id == signature.id)
    return finding, [error for error in errors if error.check == signature.id]


def _log_context(signature: Signature, example: Example) -> Context:
    member = _TextMember(f"{signature.path.name}:example", example.log)
    parsed = parse_members([member])
    correlation = correlate(parsed.events)
    nodes = []
    if example.version or example.role:
        host = str(parsed.events["node"].dropna().iloc[0]) if not parsed.events.empty else "example"
        nodes = [NodeSummary(host=host, version=example.version or "unknown", role=example.role or "unknown")]
    return Context(
        events=parsed.events,
        transactions=correlation.transactions,
        tls_failures=correlation.tls_failures,
        nodes=nodes,
        sources={"log", "tvcs"} if parsed.tvcs_seen else {"log"},
        unrecognised_tls_lines=parsed.unrecognised,
        tls_events=tls_events_frame(parsed.tls_records),
        texts=parsed.texts,
    )


def _bundle_context(example: Example) -> Context:
    """An example that is a small bundle (log, xconf, xstat, PEM files) read by the real bundle stage."""
    with tempfile.TemporaryDirectory(prefix="logscope-example-") as folder:
        _write_example(Path(folder), example)
        with open_bundle(folder) as bundle:
            parsed = parse_members(bundle.logs)
            parsed.events["raw"] = parsed.texts.texts(parsed.events)  # before the folder goes
            records = read_records(bundle.members, bundle.nodes)
            node_facts, sources = list(bundle.nodes), bundle.sources_present()
    nodes = summarize_nodes(node_facts, parsed.events)
    for node in nodes:
        node.version = node.version if node.version != "unknown" else example.version or "unknown"
        node.role = node.role if node.role != "unknown" else example.role or "unknown"
    return bundle_context(
        parsed=parsed,
        correlation=correlate(parsed.events),
        nodes=nodes,
        frames=build_frames(records),
        sources=sources,
        xml_only=records.xml_only_sources(),
    )


def _write_example(folder: Path, example: Example) -> None:
    """The example's files under `folder` (names the signature schema allows: relative, no `..`)."""
    if example.log:
        (folder / "loggingsnapshot_example.txt").write_text(example.log, encoding="utf-8")
    for name, text in example.files.items():
        path = (folder / name).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise ValueError(f"example file {name!r} is outside the example's folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def check_library(library: Library, ids: Collection[str] | None = None) -> list[str]:
    """Every example of every signature (of those in `ids`, when given), run against the whole
    library; the load errors and the list of failures (empty when all pass)."""
    failures = [str(error) for error in library.errors]
    for signature in library.signatures:
        if ids is not None and signature.id not in ids:
            continue
        for number, example in enumerate(signature.examples, 1):
            finding, errors = _run_example(library, signature, example)
            label = example.name or f"example {number}"
            if errors:
                failures += [f"{signature.path.name}: {label}: {error.error}" for error in errors]
            elif finding.status != example.expect:
                failures.append(
                    f"{signature.path.name}: {label}: expected {example.expect}, got {finding.status}"
                )
    return failures
