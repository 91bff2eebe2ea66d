"""Detectors of the traversal signatures (issue 15): the tvcs lines of both sides, paired.

Each returns the rows of the `tls_events` frame (logscope.traversal) that make the finding, the rows
of the other side paired with them (so a finding quotes both sides), and facts for the texts: per
failing line, which side rejected whom, the zone, and what the other side's bundle would settle when
it was not given.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from logscope.signatures.config_checks import active_alarms
from logscope.signatures.context import Context
from logscope.signatures.detector_result import Detector, DetectorResult
from logscope.traversal import node_roles

OTHER_ROLE = {"Expressway-C": "Expressway-E", "Expressway-E": "Expressway-C"}
SSH_ALARMS = ("35013", "35014")  # log-lines.md section 10


def _with_partners(context: Context, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows and the other side's lines paired with them."""
    events = context.tls_events
    pairs = rows["pair"].dropna()
    if pairs.empty:
        return rows
    partners = events[events["pair"].isin(list(pairs)) & ~events.index.isin(rows.index)]
    return pd.concat([rows, partners]).sort_values("ts", kind="stable", na_position="last")


def _roles(context: Context) -> dict[str, tuple[str, str]]:
    return node_roles(context.tls_events, context.config, {node.host: node.role for node in context.nodes})


def _sides(context: Context, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """One fact per failing line (first of each node, direction, peer and detail)."""
    roles = _roles(context)
    events = context.tls_events
    facts: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for row in rows.to_dict("records"):
        key = (row["node"], row["direction"], row["peer_ip"], row["detail"], row["ssl_error_reason"])
        if key in seen:
            continue
        seen.add(key)
        role = roles.get(str(row["node"]), ("unknown", "unknown"))[0]
        partner = None
        if pd.notna(row["pair"]):
            others = events[(events["pair"] == row["pair"]) & (events["node"] != row["node"])]
            partner = None if others.empty else others.iloc[0].to_dict()
        facts.append(
            {
                "node": str(row["node"]),
                "role": role,
                "other_role": OTHER_ROLE.get(role, "other side"),
                "direction": row["direction"] or "unknown",
                "peer": f"{row['peer_ip']}:{row['peer_port']}"
                if pd.notna(row["peer_port"])
                else row["peer_ip"],
                "checked_name": row["checked_name"],
                "detail": row["detail"] or row["ssl_error_reason"],
                "zone": row["zone"],
                "rejected_by": row["rejected_by"],
                "paired_node": None if partner is None else str(partner["node"]),
                "paired_detail": None
                if partner is None
                else (partner["detail"] or partner["ssl_error_reason"]),
                "other_side_given": any(
                    r[0] == OTHER_ROLE.get(role) for n, r in roles.items() if n != row["node"]
                ),
                "cert_names": _peer_cert_names(context, str(row["node"]), role, row["pair"]),
            }
        )
    return facts


def _peer_cert_names(context: Context, node: str, role: str, pair: Any) -> list[str] | None:
    """The names in the other side's own server certificate, when its bundle holds the PEM."""
    certificates = context.certificates
    if certificates is None or certificates.empty:
        return None
    roles = _roles(context)
    others = [n for n, (r, _) in roles.items() if n != node and r == OTHER_ROLE.get(role)]
    leaves = certificates[
        certificates["node"].astype(str).isin(others)
        & (certificates["source"] == "server_pem")
        & (certificates["role"] == "leaf")
    ]
    if leaves.empty:
        return None
    names: list[str] = []
    for row in leaves.to_dict("records"):
        names += [
            row.get("subject_cn") or "",
            *list(row.get("san_dns") or []),
            *list(row.get("san_ip") or []),
        ]
    return sorted({name for name in names if name})


def _result(context: Context, rows: pd.DataFrame, **facts: Any) -> DetectorResult:
    if rows.empty:
        return DetectorResult(rows)
    return DetectorResult(_with_partners(context, rows), facts={"sides": _sides(context, rows), **facts})


def tls_identity(context: Context, rows: pd.DataFrame) -> DetectorResult:
    """The peer's certificate verified but lacks the name the zone checks."""
    return _result(context, rows[rows["cause"] == "identity"])


def _alerts_of_identity(context: Context, rows: pd.DataFrame) -> pd.Series:
    """Rows that are a peer's alert on a connection whose other side logged an identity rejection.

    The rejected side may log one connection twice (developer ssl line and negotiation error) while
    the pairing matches one of them: the connection is (node, peer address, peer port).
    """
    events = context.tls_events
    identity = set(events.loc[events["cause"] == "identity", "pair"].dropna())
    partners = events[events["pair"].isin(list(identity)) & (events["cause"] != "identity")]
    connections = set(
        zip(partners["node"].astype(str), partners["peer_ip"], partners["peer_port"], strict=True)
    )
    keys = zip(rows["node"].astype(str), rows["peer_ip"], rows["peer_port"], strict=True)
    on_identity = pd.Series([key in connections for key in keys], index=rows.index, dtype=bool)
    return (rows["rejected_by"] == "peer") & on_identity


def tls_untrusted(context: Context, rows: pd.DataFrame) -> DetectorResult:
    """One side does not trust the other's CA, or rejects the certificate's purpose (EKU).

    A peer's alert paired with that peer's own identity rejection is the identity failure seen from
    the rejected side (the -C sends `bad certificate` when the -E certificate lacks the peer address),
    not a CA missing: it belongs to traversal-tls-identity.
    """
    picked = rows[rows["cause"].isin(["untrusted", "purpose"]) & ~_alerts_of_identity(context, rows)]
    return _result(context, picked, purpose=bool((picked["cause"] == "purpose").any()))


def auth_failed(context: Context, rows: pd.DataFrame) -> DetectorResult:
    """The traversal account's credentials were refused (not a certificate)."""
    return _result(context, rows[rows["cause"] == "auth"])


def path_disconnect(context: Context, rows: pd.DataFrame) -> DetectorResult:
    """Handshakes that died with no TLS error, where no certificate cause explains them.

    A disconnect whose paired line on the other side names a certificate cause is that cause's
    evidence, not something in the path.
    """
    events = context.tls_events
    explained = set(events.loc[events["cause"].isin(["identity", "untrusted", "purpose"]), "pair"].dropna())
    picked = rows[(rows["cause"] == "disconnect") & ~rows["pair"].isin(list(explained))]
    if picked.empty:
        return DetectorResult(picked)
    result = _result(context, picked)
    result.status = "potential"  # log-lines.md section 8: a data point, not a certificate cause
    return result


def ssh_tunnel_down(context: Context, alarms: pd.DataFrame) -> DetectorResult:
    """Alarms 35013/35014 raised; the certificate causes the traversal lines show, as facts."""
    active = active_alarms(context)
    raised = active[active["alarm_id"].astype(str).isin(SSH_ALARMS)]
    if raised.empty:
        return DetectorResult(raised)
    events = context.tls_events
    causes = sorted(set(events.loc[events["cause"].isin(["untrusted", "purpose"]), "cause"]))
    return DetectorResult(raised, facts={"causes": causes, "nodes": sorted(set(raised["node"].astype(str)))})


TRAVERSAL_DETECTORS: dict[str, Detector] = {
    "traversal_tls_identity": tls_identity,
    "traversal_tls_untrusted": tls_untrusted,
    "traversal_auth_failed": auth_failed,
    "traversal_path_disconnect": path_disconnect,
    "ssh_tunnel_down": ssh_tunnel_down,
}
