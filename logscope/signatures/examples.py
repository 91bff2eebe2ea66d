"""A signature's examples run through the real stages: parse, correlate, then the whole library."""

from __future__ import annotations

import io

from logscope.correlate import correlate
from logscope.findings import Finding
from logscope.nodes import NodeSummary
from logscope.parse import parse_members
from logscope.signatures.context import Context
from logscope.signatures.failures import CheckError
from logscope.signatures.library import Library
from logscope.signatures.signature import Example, Signature


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
    member = _TextMember(f"{signature.path.name}:example", example.log)
    parsed = parse_members([member])
    correlation = correlate(parsed.events)
    nodes = []
    if example.version or example.role:
        host = str(parsed.events["node"].dropna().iloc[0]) if not parsed.events.empty else "example"
        nodes = [NodeSummary(host=host, version=example.version or "unknown", role=example.role or "unknown")]
    context = Context(
        events=parsed.events,
        transactions=correlation.transactions,
        tls_failures=correlation.tls_failures,
        nodes=nodes,
        sources={"log"},
        unrecognised_tls_lines=parsed.unrecognised,
    )
    findings, errors = library.evaluate_all(context)
    finding = next(f for f in findings if f.id == signature.id)
    return finding, [error for error in errors if error.check == signature.id]


def check_library(library: Library) -> list[str]:
    """Every example of every signature, run; the list of failures (empty when all pass)."""
    failures = [str(error) for error in library.errors]
    for signature in library.signatures:
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
