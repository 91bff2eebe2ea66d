"""The bundle stage's entry point: read every input, then warn, gather node facts, or say why not."""

from __future__ import annotations

import os
from collections.abc import Sequence

from logscope.bundle.collect import Collector
from logscope.bundle.facts import build_nodes
from logscope.bundle.inputs import Input, InputReader
from logscope.bundle.limits import DEFAULT_MAX_BYTES, human_size
from logscope.bundle.result import Bundle
from logscope.bundle.spec import DIAGNOSTIC_LOGGING
from logscope.errors import CorruptArchive, NoLogFound, SizeLimitExceeded


def _as_list(inputs: Input | Sequence[Input]) -> list[Input]:
    if isinstance(inputs, str | bytes | bytearray | os.PathLike) or hasattr(inputs, "read"):
        return [inputs]  # type: ignore[list-item]
    return list(inputs)


def open_bundle(
    inputs: Input | Sequence[Input],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    work_dir: str | os.PathLike | None = None,
) -> Bundle:
    """Find the logs and node facts in `inputs`; use the result as a context manager.

    Archive members are unpacked into a temporary folder created inside `work_dir` (default: the
    system's temporary folder) and removed on exit. Raises UnreadableInput, CorruptArchive,
    SizeLimitExceeded or NoLogFound (one-line messages naming the input) when nothing usable
    remains (no complete line of any log); partial damage, a cut log and an input without a log
    become warnings (and Skips).
    """
    bundle = Bundle(max_bytes, work_dir)
    try:
        collector = Collector(bundle)
        reader = InputReader(collector)
        for item in _as_list(inputs):
            reader.read_input(item)
        _finish(bundle, collector, reader.notes)
    except BaseException:
        bundle.close()
        raise
    return bundle


def _finish(bundle: Bundle, collector: Collector, notes: list[str]) -> None:
    """Warnings, node facts, or the one error that says why nothing usable remains."""
    cap = human_size(bundle.max_bytes)
    capped = collector.budget.capped
    if capped:
        bundle.warnings.append(
            f"size cap of {cap} reached: {capped} item(s) not read (raise --max-bytes to read them)"
        )
    if bundle.logs:
        bundle.warnings += notes
        bundle.nodes = build_nodes(bundle.members)
        return
    names = ", ".join(bundle.inputs) or "<no input>"
    if capped:
        raise SizeLimitExceeded(
            f"{names}: size cap of {cap} reached before any log was read (raise --max-bytes)"
        )
    if collector.damaged:
        raise CorruptArchive(collector.damaged[0].message)
    looked_for = (
        "loggingsnapshot_*.txt, diags.log, error.log, or any file whose first 64 KiB hold their lines"
    )
    empty = "; it is empty" if collector.entries == 0 else ""
    raise NoLogFound(
        f"{names}: no Expressway or traffic-server log found (looked for {looked_for}){empty}"
        + _what_it_holds(bundle)
    )


def _what_it_holds(bundle: Bundle) -> str:
    """For a bundle of Expressway files without the log: which files, and how to collect the log."""
    if not bundle.members:
        return ""
    names = [member.display().rsplit("/", 1)[-1] for member in bundle.members]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"; it holds Expressway files ({shown}) but no diagnostic log: collect it from {DIAGNOSTIC_LOGGING}"
    )
