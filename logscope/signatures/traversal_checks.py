"""Detectors of the traversal signatures (issue 15): the tvcs lines of both sides, paired.

Each returns the rows of the `tls_events` frame (logscope.traversal) that make the finding, the rows
of the other side paired with them (so a finding quotes both sides), and facts for the texts: per
failing line, which side rejected whom, the zone, and what the other side's bundle would settle when
it was not given.
"""

from __future__ import annotations

import tomllib
from functools import cache
from typing import Any

import pandas as pd

from logscope.resources import templates_dir
from logscope.signatures.config_checks import active_alarms
from logscope.signatures.context import Context
from logscope.signatures.detector_result import Detector, DetectorResult
from logscope.signatures.traversal_crosscheck import ca_gaps, crosscheck_evidence, name_checks
from logscope.traversal import node_roles

OTHER_ROLE = {"Expressway-C": "Expressway-E", "Expressway-E": "Expressway-C"}
SSH_ALARMS = ("35013", "35014")  # log-lines.md section 10
CERTIFICATE_TRUST = ("untrusted", "purpose", "expired")  # traversal-tls-untrusted's causes


@cache
def _evidence_texts() -> dict[str, str]:
    messages = tomllib.loads((templates_dir() / "messages.toml").read_text(encoding="utf-8"))
    return messages["traversal_crosscheck"]


def _text(*values: Any) -> str | None:
    """The first value that is a non-empty text (a frame's missing value is NaN, which is truthy)."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value
    return None


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
    """One fact per failing connection kind: the first line of each node, direction, peer and cause
    (the rejected side's developer line and negotiation error tell one story)."""
    roles = _roles(context)
    events = context.tls_events
    facts: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for row in rows.to_dict("records"):
        key = (row["node"], row["direction"], row["peer_ip"], row["cause"])
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
                "checked_name": _text(row["checked_name"]),
                "detail": _text(row["detail"], row["ssl_error_reason"]),
                "zone": row["zone"],
                "rejected_by": row["rejected_by"],
                "paired_node": None if partner is None else str(partner["node"]),
                "paired_detail": None
                if partner is None
                else _text(partner["detail"], partner["ssl_error_reason"]),
                "other_side_given": any(
                    r[0] == OTHER_ROLE.get(role) for n, r in roles.items() if n != row["node"]
                ),
                "must_change": _must_change(row, partner),
            }
        )
    return facts


def _must_change(row: dict[str, Any], partner: dict[str, Any] | None) -> str | None:
    """The node whose configuration must change for this line's cause: the side that rejected for a
    CA or a name (its trusted CA list, its zone's peer address or subject name: seed 002), the side
    rejected for a certificate's purpose or validity (its certificate lacks the EKU, or has expired).
    This line's node when the
    other side is not paired; None for causes with no rejecting side."""
    wanted = {"identity": "self", "untrusted": "self", "purpose": "peer", "expired": "peer"}.get(row["cause"])
    if wanted is None:
        return None
    if row["rejected_by"] == wanted or partner is None:
        return str(row["node"])
    return str(partner["node"])


def _result(context: Context, rows: pd.DataFrame, **facts: Any) -> DetectorResult:
    if rows.empty:
        return DetectorResult(rows)
    sides = _sides(context, rows)
    nodes = sorted({side["must_change"] for side in sides if side["must_change"]})
    return DetectorResult(_with_partners(context, rows), facts={"sides": sides, **facts}, nodes=nodes)


def _paired_connections(context: Context, rows: pd.DataFrame) -> pd.Series:
    """Rows whose connection (node, peer address, peer port) has a line paired with the other side's."""
    events = context.tls_events
    paired = events[events["pair"].notna()]
    connections = set(zip(paired["node"].astype(str), paired["peer_ip"], paired["peer_port"], strict=True))
    keys = zip(rows["node"].astype(str), rows["peer_ip"], rows["peer_port"], strict=True)
    return pd.Series([key in connections for key in keys], index=rows.index, dtype=bool)


def tls_identity(context: Context, rows: pd.DataFrame) -> DetectorResult:
    """The peer's certificate verified but lacks the name the zone checks; cross-checked with the
    zones' peer addresses and subject names against the other side's certificate names.

    A `bad certificate` alert (the rejected side's view) counts only when no line of the other side is
    paired with its connection: a paired one is quoted beside the rejecting side's line, or belongs to
    the cause that line names. Alone, it is `potential`: OpenSSL sends it for a name mismatch and a few
    other verify errors, never for an unknown CA, and the other side's log settles which.
    """
    identity = rows[rows["cause"] == "identity"]
    alerts = identity["rejected_by"] == "peer"
    lone = alerts & ~_paired_connections(context, identity)
    result = _result(context, identity[~alerts | lone], alert_only=bool(lone.any() and alerts.all()))
    if result.rows.empty:
        return result
    if result.facts["alert_only"]:
        result.status = "potential"
    checks = name_checks(context, _roles(context))
    result.facts["name_checks"] = checks
    result.evidence = crosscheck_evidence(checks, [], _evidence_texts())
    return result


def _with_ca_gaps(context: Context, result: DetectorResult) -> DetectorResult:
    """The CAs one side's certificate path needs and the other side's trusted CA list lacks."""
    gaps, compared = ca_gaps(context, _roles(context))
    result.facts.update(ca_gaps=gaps, ca_compared=compared)
    result.evidence = crosscheck_evidence([], gaps, _evidence_texts())
    return result


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
    """One side does not trust the other's CA, or rejects the certificate's purpose (EKU) or validity
    period (expired, not yet valid: seed 002's conditions of trust).

    A peer's alert paired with that peer's own identity rejection is the identity failure seen from
    the rejected side (the -C sends `bad certificate` when the -E certificate lacks the peer address),
    not a CA missing: it belongs to traversal-tls-identity.
    """
    picked = rows[rows["cause"].isin(CERTIFICATE_TRUST) & ~_alerts_of_identity(context, rows)]
    result = _result(
        context,
        picked,
        purpose=bool((picked["cause"] == "purpose").any()),
        expired=bool((picked["cause"] == "expired").any()),
        expired_only=bool((picked["cause"] == "expired").all()),
    )
    return result if result.rows.empty else _with_ca_gaps(context, result)


def auth_failed(context: Context, rows: pd.DataFrame) -> DetectorResult:
    """The traversal account's credentials were refused (not a certificate)."""
    return _result(context, rows[rows["cause"] == "auth"])


def path_disconnect(context: Context, rows: pd.DataFrame) -> DetectorResult:
    """Handshakes that died with no TLS error, where no certificate cause explains them.

    A disconnect whose paired line on the other side names a certificate cause is that cause's
    evidence, not something in the path.
    """
    events = context.tls_events
    explained = set(events.loc[events["cause"].isin(["identity", *CERTIFICATE_TRUST]), "pair"].dropna())
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
    result = DetectorResult(
        raised, facts={"causes": causes, "nodes": sorted(set(raised["node"].astype(str)))}
    )
    return _with_ca_gaps(context, result)


TRAVERSAL_DETECTORS: dict[str, Detector] = {
    "traversal_tls_identity": tls_identity,
    "traversal_tls_untrusted": tls_untrusted,
    "traversal_auth_failed": auth_failed,
    "traversal_path_disconnect": path_disconnect,
    "ssh_tunnel_down": ssh_tunnel_down,
}
