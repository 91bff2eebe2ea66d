"""The second-wave frames (design.md): `certificates`, `config`, `status` and `alarms`, built from the
rows the bundle's readers return, and what the report shows of each node from them.

It comes after the bundle stage and before the signatures: pandas is imported here, never in the
bundle package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from logscope.bundle.readers import BundleRecords

CERTIFICATE_COLUMNS = [
    "node",
    "source",
    "file",
    "index",
    "role",
    "subject",
    "subject_cn",
    "issuer",
    "serial",
    "sha256",
    "not_before",
    "not_after",
    "key_type",
    "key_size",
    "signature_hash",
    "san_dns",
    "san_ip",
    "key_usage",
    "extended_key_usage",
    "is_ca",
]
CONFIG_COLUMNS = ["node", "path", "value", "file"]
STATUS_COLUMNS = ["node", "path", "value", "file"]
ALARM_COLUMNS = ["node", "alarm_id", "title", "state", "severity", "first_raised", "last_raised", "file"]
_INACTIVE = re.compile(r"^(lowered|cleared|inactive|resolved|acknowledged_cleared)$", re.IGNORECASE)
_ZONE = re.compile(r"^Zones Zone (\d+) (.+)$")
_DOMAIN = re.compile(r"^SIP Domain (\d+) (Name|Edge)$")


@dataclass
class Frames:
    certificates: pd.DataFrame
    config: pd.DataFrame
    status: pd.DataFrame
    alarms: pd.DataFrame


def build_frames(records: BundleRecords) -> Frames:
    """The four frames, with their columns even when the bundle held none of the source."""
    certificates = pd.DataFrame(records.certificates, columns=CERTIFICATE_COLUMNS)
    for column in ("not_before", "not_after"):
        certificates[column] = pd.to_datetime(certificates[column], utc=True)
    return Frames(
        certificates=certificates,
        config=pd.DataFrame(records.config, columns=CONFIG_COLUMNS),
        status=pd.DataFrame(records.status, columns=STATUS_COLUMNS),
        alarms=pd.DataFrame(records.alarms, columns=ALARM_COLUMNS),
    )


def bundle_time(last_log: pd.Timestamp | None, status: pd.DataFrame) -> pd.Timestamp | None:
    """The bundle's own time: the log's last line, else xstat's SystemUnit SystemTime (never the clock)."""
    if last_log is not None and not pd.isna(last_log):
        return pd.Timestamp(last_log).tz_convert("UTC") if last_log.tzinfo else pd.Timestamp(last_log)
    times = status.loc[status["path"] == "SystemUnit SystemTime", "value"]
    parsed = pd.to_datetime(times, utc=True, errors="coerce").dropna()
    return parsed.max() if not parsed.empty else None


def certificate_view(row: pd.Series, now: pd.Timestamp | None) -> dict[str, Any]:
    """One certificate as the node panel and the JSON show it."""
    not_after = row["not_after"]
    days_left = int((not_after - now).total_seconds() // 86400) if now is not None else None
    return {
        "subject": row["subject"],
        "issuer": row["issuer"],
        "serial": row["serial"],
        "sha256": row["sha256"],
        "not_before": row["not_before"].isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": days_left,
        "expired": days_left is not None and now >= not_after,
        "key_type": row["key_type"],
        "key_size": None if pd.isna(row["key_size"]) else int(row["key_size"]),
        "signature_hash": row["signature_hash"],
        "san_dns": list(row["san_dns"]),
        "san_ip": list(row["san_ip"]),
        "key_usage": list(row["key_usage"]),
        "extended_key_usage": list(row["extended_key_usage"]),
        "source": row["file"],
    }


def node_certificate(frames: Frames, host: str, now: pd.Timestamp | None) -> dict[str, Any] | None:
    leaves = frames.certificates[
        (frames.certificates["node"] == host) & (frames.certificates["role"] == "leaf")
    ]
    return certificate_view(leaves.iloc[0], now) if not leaves.empty else None


def node_trust_store(frames: Frames, host: str, now: pd.Timestamp | None) -> dict[str, Any] | None:
    """Size of the trusted CA list, with its expired entries and subjects held more than once."""
    certs = frames.certificates
    store = certs[(certs["node"] == host) & (certs["source"] == "ca_pem")]
    if store.empty:
        return None
    expired = store[store["not_after"] <= now] if now is not None else store.iloc[0:0]
    counts = store["subject"].value_counts()
    return {
        "size": len(store),
        "expired": [
            {"subject": s, "not_after": t.isoformat()}
            for s, t in zip(expired["subject"], expired["not_after"], strict=True)
        ],
        "duplicate_subjects": sorted(counts[counts > 1].index.tolist()),
        "source": str(store["file"].iloc[0]),
    }


def node_zones(frames: Frames, host: str) -> list[dict[str, Any]]:
    """Zones of the node's xconf with their type and TLS verify mode, and xstat's status when present."""
    zones: dict[str, dict[str, Any]] = {}
    config = frames.config[frames.config["node"] == host]
    for path, value in zip(config["path"], config["value"], strict=True):
        match = _ZONE.match(path)
        if not match:
            continue
        zone = zones.setdefault(
            match[1], {"index": int(match[1]), "name": None, "type": None, "tls_verify_mode": None}
        )
        rest = match[2]
        if rest == "Name":
            zone["name"] = value
        elif rest == "Type":
            zone["type"] = value
        elif rest.endswith("TLS Verify Mode"):
            zone["tls_verify_mode"] = value
    status = frames.status[frames.status["node"] == host]
    for zone in zones.values():
        zone["status"] = _zone_status(status, zone["name"])
    return sorted(zones.values(), key=lambda zone: zone["index"])


def _zone_status(status: pd.DataFrame, name: str | None) -> str | None:
    if not name:
        return None
    zone_rows = status[status["path"].str.startswith("Zones ")]
    for block in zone_rows["path"].str.rsplit(" ", n=1).str[0].unique():
        block_rows = zone_rows[zone_rows["path"].str.startswith(block + " ")]
        values = dict(zip(block_rows["path"].str.rsplit(" ", n=1).str[-1], block_rows["value"], strict=True))
        if values.get("Name") == name:
            return values.get("Status")
    return None


def node_mra_domains(frames: Frames, host: str) -> list[str]:
    """SIP domains with `Edge: On` (the MRA domains) in the node's xconf."""
    config = frames.config[frames.config["node"] == host]
    names: dict[str, str] = {}
    edge: set[str] = set()
    for path, value in zip(config["path"], config["value"], strict=True):
        match = _DOMAIN.match(path)
        if match and match[2] == "Name":
            names[match[1]] = value
        elif match and value.strip().lower() == "on":
            edge.add(match[1])
    return [names[index] for index in sorted(edge, key=int) if index in names]


def node_alarms(frames: Frames, host: str) -> list[dict[str, Any]]:
    """The node's alarms that xstat does not show as lowered or cleared."""
    alarms = frames.alarms[frames.alarms["node"] == host]
    active = alarms[~alarms["state"].fillna("").str.strip().str.match(_INACTIVE)]
    return [
        {
            key: (None if pd.isna(value) else value)
            for key, value in row.items()
            if key not in ("node", "file")
        }
        for row in active.to_dict("records")
    ]


def describe_nodes(nodes: list[Any], frames: Frames, now: pd.Timestamp | None) -> None:
    """Fill each NodeSummary's certificate, trust store, zones, MRA domains and alarms."""
    for node in nodes:
        own = _own_frames(frames, node)
        node.certificate = node_certificate(own, node.host, now)
        node.trust_store = node_trust_store(own, node.host, now)
        node.zones = node_zones(own, node.host)
        node.mra_domains = node_mra_domains(own, node.host)
        node.alarms = node_alarms(own, node.host)


def _own_frames(frames: Frames, node: Any) -> Frames:
    """A node whose host name another bundle shares reads only its own bundle's files (design.md,
    "Nodes"): every frame row carries the file it came from."""
    if not getattr(node, "shared_host", False):
        return frames
    return Frames(**{name: table[table["file"].isin(node.members)] for name, table in vars(frames).items()})
