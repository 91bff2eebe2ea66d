"""The whole bundle beside the log: certificates, configuration, status and alarms, as plain rows.

One reader per source kind (pem, xconf, xstat + alarms); this module only walks the members and
gives each row its node. Rows are plain dicts: the frames are built after the bundle stage
(logscope.frames), so importing the bundle package loads no pandas. What could not be read is a
counted skip naming the member, never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from logscope.bundle.alarms import alarm_records
from logscope.bundle.limits import FACTS_MAX_BYTES, PEM_MAX_BYTES, human_size
from logscope.bundle.pem import PEM_SOURCES, read_certificates
from logscope.bundle.result import Member, NodeFacts, Skip
from logscope.bundle.xconf import XCONF, config_rows
from logscope.bundle.xstat import XSTAT, xstat_items


@dataclass
class BundleRecords:
    """Rows of the certificates, config, status and alarms frames, and what was skipped reading them."""

    certificates: list[dict[str, Any]] = field(default_factory=list)
    config: list[dict[str, Any]] = field(default_factory=list)
    status: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    xml_only: list[str] = field(default_factory=list)  # dumps present only as XML: not read
    text_sources: set[str] = field(default_factory=set)  # xconf / xstat kinds read from a .txt dump
    xml_sources: set[str] = field(default_factory=set)  # xconf / xstat kinds met as XML

    def xml_only_sources(self) -> set[str]:
        """The dump kinds (xconf, xstat) the bundle holds only as XML: to the checks, absent."""
        return self.xml_sources - self.text_sources


def read_records(members: Sequence[Member], nodes: Sequence[NodeFacts]) -> BundleRecords:
    """Read every PEM, xconf and xstat member into rows, each keyed by its node's host name."""
    records = BundleRecords()
    hosts = [node.host for node in nodes if node.host != "unknown"]
    for member in members:
        if member.source not in (*PEM_SOURCES, XCONF.key, XSTAT.key):
            continue
        node = member.host or (hosts[0] if len(hosts) == 1 else "unknown")
        limit = PEM_MAX_BYTES if member.source in PEM_SOURCES else FACTS_MAX_BYTES
        try:
            data = member.dump if member.dump is not None else _read(member, limit)
        except OSError as error:
            records.skips.append(Skip(member.input, member.display(), f"unreadable: {error}", True))
            continue
        if len(data) > limit:
            data = data[:limit]
            reason = f"read the first {human_size(limit)} only"
            records.skips.append(Skip(member.input, member.display(), reason, True))
        _read_member(records, member, node, data)
    return records


def _read(member: Member, limit: int) -> bytes:
    with member.open() as stream:
        return stream.read(limit + 1)


def _read_member(records: BundleRecords, member: Member, node: str, data: bytes) -> None:
    if member.source in PEM_SOURCES:
        rows, skips = read_certificates(data, node, member.source)
        for row in rows:
            row["file"] = member.display()
        records.certificates += rows
        records.skips += [Skip(member.input, member.display(), reason, True) for reason in skips]
        return
    text = data.decode("utf-8", "replace")
    if text.lstrip().startswith("<"):
        records.xml_only.append(member.display())
        records.xml_sources.add(member.source)
        return
    records.text_sources.add(member.source)
    lines = text.splitlines()
    if member.source == XCONF.key:
        file = member.display()
        records.config += [{"node": node, "path": p, "value": v, "file": file} for p, v in config_rows(lines)]
        return
    items, file = xstat_items(lines), member.display()
    records.status += [{"node": node, "path": " ".join(p), "value": v, "file": file} for p, v in items]
    records.alarms += [{"node": node, **alarm, "file": file} for alarm in alarm_records(items)]
