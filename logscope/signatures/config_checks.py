"""Detectors of the configuration and alarm signatures: what a node's xconf and xstat say about it.

Each reads the `config` / `alarms` frames (one row per setting or alarm, with the file it came from)
and, for the MRA domain check, the transactions. The prose lives in the signature files; these
return the rows that decide and the facts the texts name.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from logscope.signatures.context import Context
from logscope.signatures.detector_result import Detector, DetectorResult

_ZONE_TYPE = re.compile(r"^Zones Zone (\d+) Type$")
_VERIFY_MODE = re.compile(r"^Zones Zone (\d+) Traversal(?:Client|Server) SIP TLS Verify Mode$")
_DOMAIN = re.compile(r"^SIP Domain (\d+) (Name|Edge)$")
TRAVERSAL_TYPES = {"traversalclient", "traversalserver"}
UC_ALARM = "40040"
# log-lines.md section 10: the alarm ids that speak of MRA, traversal, certificates and clustering.
KNOWN_ALARMS = (
    "15028",
    "20004",
    "20021",
    "25022",
    "25030",
    "25031",
    "35013",
    "35014",
    "40040",
    "40048",
    "40049",
    "40052",
    "40068",
    "40069",
)
WARNING_ONLY_ALARMS = {"40068"}  # a certificate expiring, not yet expired: potential
_INACTIVE = re.compile(r"^(lowered|cleared|inactive|resolved|acknowledged_cleared)$", re.IGNORECASE)


def _is_on(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "on"


def active_alarms(context: Context) -> pd.DataFrame:
    """Alarm rows xstat does not show as lowered or cleared."""
    alarms = context.alarms
    if alarms is None or alarms.empty:
        return pd.DataFrame(columns=["node", "alarm_id", "title", "state", "file"])
    state = alarms["state"].fillna("").astype(str).str.strip()
    return alarms[~state.str.match(_INACTIVE)]


def uc_zone_tls_verify_off(context: Context, config: pd.DataFrame) -> DetectorResult:
    """Traversal zones of a Unified Communications node whose SIP TLS verify mode is Off.

    A zone is UC when its node has `CollaborationEdge Enabled: On` (rule "collaboration-edge"), or
    when the node raises alarm 40040, which names such a zone (rule "alarm-40040"). Issue when 40040
    is raised, else potential.
    """
    alarms = active_alarms(context)
    raised = {str(n) for n in alarms.loc[alarms["alarm_id"].astype(str) == UC_ALARM, "node"]}
    picked: list[int] = []
    zones: list[dict[str, Any]] = []
    for node, rows in config.groupby(config["node"].astype(str), sort=True):
        values = dict(zip(rows["path"], rows["value"], strict=True))
        rule = _uc_rule(values, node in raised)
        types = {m[1]: value for path, value in values.items() if (m := _ZONE_TYPE.match(path))}
        for index, row in rows.iterrows():
            match = _VERIFY_MODE.match(str(row["path"]))
            if not match or _is_on(row["value"]) or not rule:
                continue
            if str(types.get(match[1], "")).strip().lower() not in TRAVERSAL_TYPES:
                continue
            picked += [i for i in _zone_rows(rows, match[1]) if i != index] + [index]
            zones.append(
                {
                    "node": node,
                    "zone": values.get(f"Zones Zone {match[1]} Name") or f"zone {match[1]}",
                    "type": types[match[1]],
                    "mode": row["value"],
                    "rule": rule,
                    "alarm": node in raised,
                    "file": row["file"],
                }
            )
    rows = config.loc[list(dict.fromkeys(picked))]
    if rows.empty:
        return DetectorResult(rows)
    status = "issue" if any(zone["alarm"] for zone in zones) else "potential"
    return DetectorResult(rows, status=status, facts={"zones": zones})


def _uc_rule(values: dict[str, Any], alarm_raised: bool) -> str | None:
    if _is_on(values.get("CollaborationEdge Enabled")):
        return "collaboration-edge"
    return "alarm-40040" if alarm_raised else None


def _zone_rows(rows: pd.DataFrame, index: str) -> list[int]:
    """The zone's Name and Type rows (evidence beside the verify mode)."""
    wanted = {f"Zones Zone {index} Name", f"Zones Zone {index} Type"}
    return [i for i, path in zip(rows.index, rows["path"], strict=True) if path in wanted]


def enabled_domains(config: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per node: the SIP domains its xconf lists ({name: (edge on?, entries)}), lower-cased names."""
    nodes: dict[str, dict[str, Any]] = {}
    for node, rows in config.groupby(config["node"].astype(str), sort=True):
        names: dict[str, str] = {}
        edge: dict[str, str] = {}
        for path, value in zip(rows["path"], rows["value"], strict=True):
            match = _DOMAIN.match(str(path))
            if match:
                (names if match[2] == "Name" else edge)[match[1]] = str(value)
        nodes[node] = {
            names[i].strip().lower(): {"name": names[i], "edge": _is_on(edge.get(i)), "index": i}
            for i in names
        }
    return nodes


def mra_domain_not_enabled(context: Context, transactions: pd.DataFrame) -> DetectorResult:
    """MRA requests for a domain (the route's first field) that no `SIP Domain <n> Edge: On` enables.

    A node whose xconf lists no SIP domain at all cannot decide it: missing-info for that node.
    """
    asked = transactions[transactions["route_domain"].notna()]
    if asked.empty:
        return DetectorResult(asked)
    config = context.config if context.config is not None else pd.DataFrame(columns=["node"])
    domains = enabled_domains(config)
    unknown = sorted({str(n) for n in asked["node"]} - {n for n, listed in domains.items() if listed})
    checked = asked[~asked["node"].astype(str).isin(unknown)]
    domain = checked["route_domain"].astype(str).str.strip().str.rstrip(".").str.lower()
    enabled = [
        bool(domains.get(str(node), {}).get(name, {}).get("edge"))
        for node, name in zip(checked["node"], domain, strict=True)
    ]
    rows = checked[[not on for on in enabled]]
    missing = [f"the configuration dump of {node} lists no SIP domain" for node in unknown]
    if rows.empty:
        return DetectorResult(rows, missing=missing)
    failed = int((rows["status"].fillna(0) >= 400).sum())
    facts = {
        "domains": sorted({str(d) for d in rows["route_domain"]}),
        "failed": failed,
        "configured": {
            node: [
                f"SIP Domain {entry['index']} Name: {entry['name']} (Edge {'On' if entry['edge'] else 'Off'})"
                for entry in listed.values()
            ]
            for node, listed in sorted(domains.items())
            if node in set(rows["node"].astype(str))
        },
    }
    return DetectorResult(rows, status="issue" if failed else "potential", facts=facts, missing=missing)


def expressway_alarms(context: Context, alarms: pd.DataFrame) -> DetectorResult:
    """Active alarms of the ids log-lines section 10 lists (25019, verbose logging, never counts)."""
    active = active_alarms(context)
    rows = active[active["alarm_id"].astype(str).isin(KNOWN_ALARMS)]
    if rows.empty:
        return DetectorResult(rows)
    ids = sorted({str(a) for a in rows["alarm_id"]})
    status = "potential" if set(ids) <= WARNING_ONLY_ALARMS else "issue"
    listed = [
        {"node": str(row["node"]), "id": str(row["alarm_id"]), "title": row["title"], "state": row["state"]}
        for row in rows.to_dict("records")
    ]
    return DetectorResult(rows, status=status, facts={"ids": ids, "alarms": listed})


CONFIG_DETECTORS: dict[str, Detector] = {
    "uc_zone_tls_verify_off": uc_zone_tls_verify_off,
    "mra_domain_not_enabled": mra_domain_not_enabled,
    "expressway_alarms": expressway_alarms,
}
