"""The "Traversal" section (issue 15): per zone, the Expressway-C and -E side by side, each paired
attempt on one row of one time axis (the -C's outbound line beside the -E's inbound record of it),
with who rejected whom. Registered after the findings and logins on the page, and as one line in the
terminal summary. Drawn only when the report holds tvcs traversal lines (`Report.tls_events`)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import pandas as pd

from logscope.render.formatting import visible_controls
from logscope.render.sections import Section, register
from logscope.render.terminal import text_width
from logscope.traversal import node_roles

if TYPE_CHECKING:
    from logscope.report import Report

MAX_TRAVERSAL_ROWS = 200  # per zone: a retry storm is counted, not drawn
SIDE_OF_DIRECTION = {"Outbound": "Expressway-C", "Inbound": "Expressway-E"}
NO_ZONE = "zone not known"


def _events(report: Report) -> pd.DataFrame | None:
    events = report.tls_events
    return None if events is None or events.empty else events


def _roles(report: Report, events: pd.DataFrame) -> dict[str, str]:
    known = {node.host: node.role for node in report.nodes}
    return {node: role for node, (role, _) in node_roles(events, report.config, known).items()}


def _side(row: dict, roles: dict[str, str]) -> str:
    """The column of a line: its node's role, else the role its direction implies."""
    role = roles.get(str(row["node"]), "unknown")
    if role in ("Expressway-C", "Expressway-E"):
        return role
    return SIDE_OF_DIRECTION.get(row["direction"] or "", "Expressway-C")


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _verdict(row: dict, partner: dict | None) -> str:
    """Who rejected whom, from this line's side."""
    node = str(row["node"])
    peer = str(partner["node"]) if partner else (_text(row["peer_ip"]) or "the peer")
    if row["cause"] == "auth":
        return f"{node} refused the credentials of {peer}"
    if row["rejected_by"] == "self":
        return f"{node} rejected the certificate of {peer}"
    if row["rejected_by"] == "peer":
        return f"{peer} rejected the certificate of {node}"
    return ""


def _event(row: dict) -> str:
    """The line's event, with its direction when the event does not say it."""
    event = _text(row["event"]) or _text(row["kind"]) or ""
    direction = _text(row["direction"]) or ""
    return event if event.startswith(direction) else f"{direction} {event}".strip()


def _cell(row: dict, partner: dict | None) -> dict[str, Any]:
    peer_port = row["peer_port"]
    peer = _text(row["peer_ip"]) or "?"
    return {
        "node": str(row["node"]),
        "time": row["ts"].strftime("%H:%M:%S.%f")[:-3] if pd.notna(row["ts"]) else "?",
        "event": _event(row),
        "peer": peer if pd.isna(peer_port) else f"{peer}:{peer_port}",
        "detail": _text(row["detail"]) or _text(row["ssl_error_reason"]) or "",
        "checked_name": _text(row["checked_name"]),
        "verdict": _verdict(row, partner),
        "where": f"{row['source']}:{row['line']}" if pd.notna(row["line"]) else _text(row["source"]) or "",
    }


def _connection(record: dict) -> tuple:
    return (str(record["node"]), _text(record["peer_ip"]), _text(record["peer_port"]))


def _groups(records: list[dict]) -> list[list[dict]]:
    """The lines of one attempt together: a pair, and the other lines its nodes logged for the same
    connection (the -E writes a developer ssl line and a negotiation error for one handshake)."""
    by_pair: dict[int, list[dict]] = {}
    for record in records:
        if pd.notna(record["pair"]):
            by_pair.setdefault(int(record["pair"]), []).append(record)
    pair_of = {_connection(r): number for number, group in by_pair.items() for r in group}
    singles: list[list[dict]] = []
    for record in records:
        if pd.notna(record["pair"]):
            continue
        number = pair_of.get(_connection(record))
        if number is None:
            singles.append([record])
        else:
            by_pair[number].append(record)
    return list(by_pair.values()) + singles


def _zone_rows(records: list[dict], roles: dict[str, str]) -> list[dict[str, Any]]:
    """One row per attempt: its lines on each side (both when paired), in time order."""
    rows = []
    for group in _groups(records):
        sides: dict[str, list[dict]] = {"Expressway-C": [], "Expressway-E": []}
        for record in sorted(
            group, key=lambda r: (pd.isna(r["ts"]), r["line"] if pd.notna(r["line"]) else 0)
        ):
            side = _side(record, roles)
            partner = next((o for o in group if _side(o, roles) != side), None)
            sides[side].append(_cell(record, partner))
        first = min((r["ts"] for r in group if pd.notna(r["ts"])), default=pd.NaT)
        rows.append({"ts": first, "c": sides["Expressway-C"], "e": sides["Expressway-E"]})
    rows.sort(key=lambda row: (pd.isna(row["ts"]), row["ts"] if pd.notna(row["ts"]) else 0))
    for row in rows:
        row["time"] = row["ts"].strftime("%Y-%m-%d %H:%M:%S") if pd.notna(row["ts"]) else "?"
    return rows


def _zone_of(record: dict, by_pair: dict[int, str]) -> str:
    if _text(record["zone"]):
        return str(record["zone"])
    return by_pair.get(int(record["pair"]), NO_ZONE) if pd.notna(record["pair"]) else NO_ZONE


def traversal_context(report: Report) -> dict[str, Any]:
    """Per zone: the nodes of each side and the rows of the time axis (empty without tvcs lines)."""
    events = _events(report)
    if events is None:
        return {"traversal_zones": []}
    roles = _roles(report, events)
    records = events.to_dict("records")
    pair_zone = {int(r["pair"]): str(r["zone"]) for r in records if pd.notna(r["pair"]) and _text(r["zone"])}
    zones: dict[str, list[dict]] = {}
    for record in records:
        zones.setdefault(_zone_of(record, pair_zone), []).append(record)
    summary = report.traversal or {}
    out = []
    for name, members in zones.items():
        rows = _zone_rows(members, roles)
        nodes = sorted({str(r["node"]) for r in members})
        out.append(
            {
                "name": name,
                "c_nodes": [
                    n for n in nodes if _side({"node": n, "direction": None}, roles) == "Expressway-C"
                ],
                "e_nodes": [
                    n for n in nodes if _side({"node": n, "direction": None}, roles) == "Expressway-E"
                ],
                "rows": rows[:MAX_TRAVERSAL_ROWS],
                "more": max(len(rows) - MAX_TRAVERSAL_ROWS, 0),
                "paired": sum(1 for row in rows if row["c"] and row["e"]),
                "lines": len(members),
            }
        )
    return {"traversal_zones": out, "clock_skew_seconds": summary.get("clock_skew_seconds")}


def traversal_line(report: Report) -> str | None:
    """One line: per zone the two sides, the failing lines and how many attempts were paired."""
    context = traversal_context(report)
    if not context["traversal_zones"]:
        return None
    parts = []
    for zone in context["traversal_zones"]:
        c_side = ", ".join(zone["c_nodes"]) or "no -C bundle"
        e_side = ", ".join(zone["e_nodes"]) or "no -E bundle"
        parts.append(
            f"{zone['name']}: -C {c_side} / -E {e_side}, {zone['lines']} line(s), "
            f"{zone['paired']} attempt(s) seen on both sides"
        )
    skew = context["clock_skew_seconds"]
    tail = f"; -E clock {skew:+.1f} s from the -C" if skew is not None else ""
    return "Traversal: " + "; ".join(parts) + tail


def traversal_text_context(report: Report, width: int | None = None) -> dict[str, Any]:
    """The traversal line, control characters made visible, wrapped (never cut)."""
    line = traversal_line(report)
    if not line:
        return {"lines": []}
    safe = visible_controls(" ".join(line.split()), keep_newlines=False)
    return {"lines": textwrap.wrap(safe, max(width or text_width(), 20), break_on_hyphens=False)}


register(
    "html",
    Section("traversal", "_traversal.html.j2", traversal_context, title="Traversal"),
    before="this-node",
)
register("text", Section("traversal", "_logins.txt.j2", traversal_text_context), before="this-node")
