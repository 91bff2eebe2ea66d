"""The sources table: every kind of file the bundle finds, in the order it tries them, and `identify`.

A new source is a module declaring its :class:`SourceSpec` and one entry here. Order matters: name
patterns are tried in table order, and so are content checks for a member no name claims.
"""

from __future__ import annotations

from logscope.bundle.log import ATS_DIAGS, ATS_ERROR, SNAPSHOT
from logscope.bundle.pcap import PCAP
from logscope.bundle.pem import CA_PEM, CLIENT_PEM, SERVER_PEM
from logscope.bundle.spec import SourceSpec
from logscope.bundle.xconf import XCONF
from logscope.bundle.xstat import XSTAT

SOURCES: tuple[SourceSpec, ...] = (
    SNAPSHOT,
    ATS_DIAGS,
    ATS_ERROR,
    XCONF,
    XSTAT,
    PCAP,
    CA_PEM,
    SERVER_PEM,
    CLIENT_PEM,
)
SPECS = {spec.key: spec for spec in SOURCES}


def is_log(source: str) -> bool:
    """Whether members of this source key are logs (what the parse stage reads)."""
    return SPECS[source].is_log


def identify(name: str, head: bytes) -> tuple[SourceSpec | None, str | None, str]:
    """(spec, host, why not) for a member's base name and its first bytes.

    Name patterns are tried first, in table order; a named member must still pass its spec's content
    check. A member no name claims is tried against every content check, in table order.
    """
    if not head:
        return None, None, "empty file"
    # NUL runs are what a crash or a preallocating writer leaves in a log: they hide nothing.
    visible = head.replace(b"\0", b"")
    named = None
    for spec in SOURCES:
        match = next((m for m in (p.match(name) for p in spec.name_patterns) if m), None)
        if match:
            if (
                spec.content_check is None
                or spec.content_check.search(visible)
                or (spec.is_log and not visible.strip())
            ):
                return spec, match.groupdict().get("host"), ""
            named = named or spec
    for spec in SOURCES:
        if spec.content_check is not None and spec.content_check.search(visible):
            return spec, None, ""
    if named:
        return None, None, f"named like {named.description} but its first 64 KiB do not look like one"
    return None, None, "not a file logscope reads (no name pattern or content check matched)"


def named_log(name: str) -> bool:
    """Whether a base name is one a log is given: such a file left unread makes the report INCOMPLETE."""
    return any(spec.is_log and any(p.match(name) for p in spec.name_patterns) for spec in SOURCES)
