"""Both sides of the traversal: the `tls_events` frame, each node's role, and the pairing of the
Expressway-C's outbound attempts with the Expressway-E's inbound records of them (issue 15).

A -C's attempt and the -E's record of it share the connection's source port and the zone port; the
-C may dial the -E's public (NAT) address while the -E logs its private one, so the addresses are
not compared. Clocks drift: the skew is estimated as the median offset of the port matches, and a
pair must sit within PAIR_TOLERANCE of it.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from logscope.frame import records_to_frame
from logscope.lines.tvcs import classify

TLS_EVENT_COLUMNS = [
    "node", "ts", "direction", "event", "kind", "cause", "rejected_by", "local_ip", "local_port",
    "peer_ip", "peer_port", "detail", "checked_name", "ssl_error_reason", "zone", "source", "line", "raw",
    "server_name", "server_ip", "port", "pair",
]  # fmt: skip
PAIR_WINDOW = pd.Timedelta(minutes=10)  # the widest clock skew a port match may show
PAIR_TOLERANCE = pd.Timedelta(seconds=3)  # around the estimated skew
_ZONE_PATH = re.compile(
    r"^Zones Zone (\d+) (Type|Name|TraversalClient Peer \d+ Address"
    r"|Traversal(?:Client|Server) SIP TLS Verify (?:Mode|Subject Name))$"
)


def zones_of(config: pd.DataFrame | None) -> dict[str, dict[str, dict[str, Any]]]:
    """node -> zone number -> {type, name, peers, verify_mode, subject_name, file} from xconf."""
    zones: dict[str, dict[str, dict[str, Any]]] = {}
    if config is None or config.empty:
        return zones
    for node, path, value, file in zip(
        config["node"], config["path"], config["value"], config["file"], strict=True
    ):
        match = _ZONE_PATH.match(str(path))
        if not match:
            continue
        zone = zones.setdefault(str(node), {}).setdefault(match[1], {"peers": [], "file": file})
        value = str(value).strip()
        part = match[2]
        if part == "Type":
            zone["type"] = value
        elif part == "Name":
            zone["name"] = value
        elif part.endswith("Address"):
            if value:
                zone["peers"].append(value)
        elif part.endswith("Mode"):
            zone["verify_mode"] = value
        else:
            zone["subject_name"] = value
    return zones


def _zone_for(row: dict, zones: dict[str, dict[str, Any]]) -> str | None:
    wanted = {"Outbound": "traversalclient", "Inbound": "traversalserver"}.get(row["direction"] or "")
    typed = {n: z for n, z in zones.items() if str(z.get("type", "")).lower() == wanted}
    names = {str(row.get("peer_ip")), str(row.get("checked_name"))}
    for number, zone in typed.items():
        if names & set(zone["peers"]):
            return zone.get("name") or f"Zone {number}"
    if len(typed) == 1:
        number, zone = next(iter(typed.items()))
        return zone.get("name") or f"Zone {number}"
    return None


def tls_events_frame(
    records: list[dict], config: pd.DataFrame | None = None, *, year: int | None = None
) -> pd.DataFrame:
    """The tvcs records (logscope.lines.tvcs) as the `tls_events` frame, zones from xconf, paired."""
    if not records:
        return empty_tls_events()
    times = records_to_frame(
        [{"ts_raw": r["ts_raw"], "ts_format": r["ts_format"]} for r in records], year=year
    )["ts"]
    body_times = pd.to_datetime(pd.Series([r.get("utc_time") for r in records]), utc=True, errors="coerce")
    times = times.fillna(body_times)
    zones = zones_of(config)
    rows = []
    for record, ts in zip(records, times, strict=True):
        cause, rejected_by = classify(record["kind"], record["detail"], record["ssl_error_reason"])
        row = {**record, "ts": ts, "cause": cause, "rejected_by": rejected_by}
        row["zone"] = _zone_for(row, zones.get(str(row["node"]), {}))
        row["server_name"] = row["checked_name"] or row["peer_ip"]
        row["server_ip"] = row["peer_ip"]
        row["port"] = row["peer_port"] if row["direction"] == "Outbound" else row["local_port"]
        rows.append(row)
    frame = pd.DataFrame(rows).reindex(columns=TLS_EVENT_COLUMNS)
    for column in ("local_port", "peer_port", "port", "line"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return pair_sides(frame)[0]


def empty_tls_events() -> pd.DataFrame:
    frame = pd.DataFrame(columns=TLS_EVENT_COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def pair_sides(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timedelta | None]:
    """Number each outbound attempt and the inbound record of it on another node with one `pair` id.

    Keys: the attempt's source port is the record's peer port, and the attempt's destination port
    the record's local port. The skew (inbound time minus outbound time) is the median of all port
    matches within PAIR_WINDOW; a pair must lie within PAIR_TOLERANCE of it. Returns the frame and
    the skew (None when nothing matched).
    """
    frame = frame.copy()
    frame["pair"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    out = frame[(frame["direction"] == "Outbound") & frame["local_port"].notna() & frame["ts"].notna()]
    inb = frame[(frame["direction"] == "Inbound") & frame["peer_port"].notna() & frame["ts"].notna()]
    if out.empty or inb.empty:
        return frame, None
    left = out[["node", "ts", "local_port", "peer_port"]].reset_index(names="out_row")
    right = inb[["node", "ts", "peer_port", "local_port"]].reset_index(names="in_row")
    merged = left.merge(
        right,
        left_on=["local_port", "peer_port"],
        right_on=["peer_port", "local_port"],
        suffixes=("_o", "_i"),
    )
    merged = merged[merged["node_o"].astype(str) != merged["node_i"].astype(str)]
    merged["offset"] = merged["ts_i"] - merged["ts_o"]
    merged = merged[merged["offset"].abs() <= PAIR_WINDOW]
    if merged.empty:
        return frame, None
    skew = merged["offset"].median()
    merged = merged[(merged["offset"] - skew).abs() <= PAIR_TOLERANCE]
    merged = merged.assign(distance=(merged["offset"] - skew).abs()).sort_values("distance", kind="stable")
    used_out: set[int] = set()
    used_in: set[int] = set()
    number = 0
    for out_row, in_row in zip(merged["out_row"], merged["in_row"], strict=True):
        if out_row in used_out or in_row in used_in:
            continue
        used_out.add(out_row)
        used_in.add(in_row)
        number += 1
        frame.loc[[out_row, in_row], "pair"] = number
    return frame, skew


def node_roles(
    tls_events: pd.DataFrame,
    config: pd.DataFrame | None,
    known: dict[str, str] | dict[str, tuple[str, str]] | None = None,
) -> dict[str, tuple[str, str]]:
    """node -> (role, how it was told): the version/role facts first (a role alone is told by
    "status"; a (role, source) pair keeps its source), then xconf zone types, then the tvcs lines
    (a node that dials out on a traversal is the -C, one that takes them in the -E)."""
    told = {
        node: fact if isinstance(fact, tuple) else (fact, "status") for node, fact in (known or {}).items()
    }
    roles: dict[str, tuple[str, str]] = {node: fact for node, fact in told.items() if fact[0] != "unknown"}
    for node, zones in zones_of(config).items():
        types = {str(zone.get("type", "")).lower() for zone in zones.values()}
        if node not in roles and "traversalclient" in types and "traversalserver" not in types:
            roles[node] = ("Expressway-C", "xconf")
        elif node not in roles and "traversalserver" in types and "traversalclient" not in types:
            roles[node] = ("Expressway-E", "xconf")
    for node, rows in tls_events.groupby(tls_events["node"].astype(str), sort=False):
        directions = set(rows["direction"].dropna())
        if node not in roles and directions == {"Outbound"}:
            roles[node] = ("Expressway-C", "log")
        elif node not in roles and directions == {"Inbound"}:
            roles[node] = ("Expressway-E", "log")
    return roles


def traversal_summary(
    tls_events: pd.DataFrame,
    config: pd.DataFrame | None,
    known: dict[str, str] | dict[str, tuple[str, str]] | None = None,
) -> dict[str, Any] | None:
    """The JSON `traversal` object: nodes with roles, zones, pairs and the estimated clock skew."""
    zones = zones_of(config)
    if tls_events.empty and not any(
        str(z.get("type", "")).lower().startswith("traversal")
        for node in zones.values()
        for z in node.values()
    ):
        return None
    roles = node_roles(tls_events, config, known)
    _, skew = pair_sides(tls_events) if not tls_events.empty else (tls_events, None)
    nodes = sorted(set(roles) | set(zones) | {str(n) for n in tls_events["node"].dropna()})
    paired = tls_events[tls_events["pair"].notna()] if not tls_events.empty else tls_events
    return {
        "nodes": [
            {
                "node": node,
                "role": roles.get(node, ("unknown", "unknown"))[0],
                "role_source": roles.get(node, ("unknown", "unknown"))[1],
                "zones": [
                    {"number": int(n), "name": z.get("name"), "type": z.get("type"), "peers": z["peers"],
                     "verify_mode": z.get("verify_mode"), "subject_name": z.get("subject_name")}
                    for n, z in sorted(zones.get(node, {}).items())
                ],
                "events": int((tls_events["node"].astype(str) == node).sum()),
            }
            for node in nodes
        ],
        "pairs": int(paired["pair"].nunique()) if not paired.empty else 0,
        "clock_skew_seconds": None if skew is None else round(skew.total_seconds(), 3),
    }  # fmt: skip


def write_back_roles(nodes: list, tls_events: pd.DataFrame, config: pd.DataFrame | None) -> None:
    """Give each node whose summary says no role the one the traversal worked out (issue 15: xconf
    zone types, then the direction of its tvcs lines), with where it came from. A role the bundle's
    facts gave is never changed; a host name two bundles share is left alone (the tvcs lines name
    the host, not the bundle)."""
    roles = node_roles(tls_events, config, {node.host: node.role for node in nodes})
    for node in nodes:
        role, source = roles.get(node.host, ("unknown", "unknown"))
        if (
            node.role == "unknown"
            and role != "unknown"
            and source in ("xconf", "log")
            and not node.shared_host
        ):
            node.role, node.role_source = role, source
