"""Servers and evidence for findings about a node itself: its certificates, configuration, status, alarms.

The rows of these frames come from the bundle's files, not from log lines: the server a finding names
is the node (design.md, "Node-level findings name the node in `servers`"), and the evidence is the
file with the entry that decided, quoted as the file says it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from logscope.findings import Evidence, Server

NODE_FRAMES = ("certificates", "config", "status", "alarms")
MAX_EVIDENCE_PER_NODE = 6
_TIME_COLUMNS = {"alarms": "last_raised"}


def is_node_frame(frame: str) -> bool:
    return frame in NODE_FRAMES


def node_times(rows: pd.DataFrame, frame: str) -> pd.Series:
    """When each row was seen: alarms carry their raise time; files carry no time (NaT)."""
    column = _TIME_COLUMNS.get(frame)
    if column and column in rows:
        return pd.to_datetime(rows[column], utc=True, errors="coerce")
    return pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns, UTC]")


def group_nodes(rows: pd.DataFrame, frame: str) -> list[Server]:
    """One Server per node the rows concern, with what the rows say in `detail`."""
    if rows.empty:
        return []
    times = node_times(rows, frame)
    servers = []
    for node, group in rows.groupby(rows["node"].astype(str), sort=False):
        seen = times.loc[group.index].dropna()
        details = list(dict.fromkeys(describe_row(row, frame) for row in group.to_dict("records")))
        servers.append(
            Server(
                name=node,
                count=len(group),
                first_seen=seen.min().to_pydatetime() if not seen.empty else None,
                last_seen=seen.max().to_pydatetime() if not seen.empty else None,
                nodes=[node],
                detail="; ".join(details[:3]) or None,
            )
        )
    return sorted(servers, key=lambda s: (-s.count, s.name))


def node_evidence(rows: pd.DataFrame, frame: str) -> list[Evidence]:
    """Per node, the entries that decided, as the bundle's file states them."""
    evidence: list[Evidence] = []
    for node, group in rows.groupby(rows["node"].astype(str), sort=False):
        for row in group.head(MAX_EVIDENCE_PER_NODE).to_dict("records"):
            evidence.append(
                Evidence(
                    source=str(row.get("file") or frame),
                    line=None,
                    text=describe_row(row, frame),
                    node=node,
                    role=frame,
                )
            )
    return evidence


def describe_row(row: dict[str, Any], frame: str) -> str:
    """One row in the words of the file it came from."""
    if frame == "certificates" and row.get("missing_issuer") is True:
        issuer, subject = row.get("issuer"), row.get("subject")
        return f"not in this list: {issuer}, the issuer of this node's certificate {subject}"
    if frame == "certificates":
        parts = [f"subject {row.get('subject')}", f"issuer {row.get('issuer')}"]
        if pd.notna(row.get("not_after")):
            parts.append(f"not after {pd.Timestamp(row['not_after']):%Y-%m-%d %H:%M} UTC")
        # a row marked `absent` stands for a certificate a peer holds and this node's file lacks
        return ("not in this list: " if row.get("absent") is True else "") + ", ".join(parts)
    if frame == "alarms":
        return f"alarm {row.get('alarm_id')} {row.get('title')} ({row.get('state')})"
    return f"{row.get('path')}: {row.get('value')}"
