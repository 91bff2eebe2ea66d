"""Named detectors: the few signatures whose match needs code rather than filters.

A detector receives the signature's context and the rows its declarative `where` already selected,
and returns the rows that make the finding, with an optional status and facts for the texts.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pandas as pd

from logscope.lines.records import is_masked
from logscope.signatures.certificate_checks import CERTIFICATE_DETECTORS
from logscope.signatures.config_checks import CONFIG_DETECTORS
from logscope.signatures.context import Context
from logscope.signatures.detector_result import VERIFY_KINDS, Detector, DetectorResult
from logscope.signatures.matching import map_distinct
from logscope.signatures.traversal_checks import TRAVERSAL_DETECTORS

RSA_PREFERENCE_PREFIX = "ECDHE-RSA-AES256-GCM-SHA384:"
__all__ = ["DETECTORS", "VERIFY_KINDS", "Detector", "DetectorResult"]


def ecdsa_port_split(context: Context, failures: pd.DataFrame) -> DetectorResult:
    """A server that answers on one port and fails certificate checks on another.

    After the X14.2 cipher preference change the Expressway-C may ask for the ECDSA certificate
    (e.g. Tomcat-ECDSA, often still self-signed) on one service while another still sends RSA. The
    evidence, per node and upstream address: HTTPS transactions answered on port A with no
    verification failure on A, and verification failures tied to transactions on port B.
    """
    transactions = context.transactions
    failures = failures[failures["kind"].isin(VERIFY_KINDS) & failures["port"].notna()]
    if failures.empty or transactions.empty:
        return DetectorResult(failures.iloc[0:0])
    address = server_key(
        failures["upstream_ip"].astype("string").fillna(failures["server_ip"].astype("string")),
        failures["route_host"],
    )
    keys = list(
        zip(
            [str(node) for node in failures["node"].to_numpy(dtype=object)],
            address.to_numpy(dtype=object, na_value=None),
            failures["port"].astype("int64").tolist(),
            strict=True,
        )
    )
    failing = {(node, str(ip), port) for node, ip, port in keys if ip is not None}
    clean_ports: dict[tuple[str, str], set[int]] = {}
    for node, ip, port in _answering_upstreams(transactions):
        if (node, ip, port) not in failing:
            clean_ports.setdefault((node, ip), set()).add(port)
    split = pd.Series(
        [
            ip is not None and bool(clean_ports.get((node, str(ip)), set()) - {port})
            for node, ip, port in keys
        ],
        index=failures.index,
        dtype=bool,
    )
    rows = failures[split]
    split_keys = {(str(n), str(ip)) for n, ip in zip(rows["node"], address[split], strict=True)}
    several_nodes = len({node for node, _ in split_keys}) > 1
    ok_ports = {
        (f"{ip} (from {node})" if several_nodes else ip): sorted(clean_ports[(node, ip)])
        for node, ip in sorted(split_keys)
    }
    facts = {
        "ok_ports": ok_ports,
        "failing_ports": sorted({int(p) for p in rows["port"]}),
        "rsa_preferred_nodes": _rsa_preferred_nodes(context),
    }
    return DetectorResult(rows, status="potential" if not rows.empty else None, facts=facts)


def _answering_upstreams(transactions: pd.DataFrame) -> set[tuple[str, str, int]]:
    """(node, server address, port) of every upstream that answered an HTTPS request below 500.

    The distinct (node, address, host, port) rows first (a storm answers hundreds of thousands of
    times from a few hundred), then the server key of those only."""
    scheme = transactions["route_scheme"]
    https = scheme.isna().to_numpy(dtype=bool) | map_distinct(
        scheme, lambda value: str(value) == "https", missing=False
    ).astype(bool)
    answered = (
        https
        & transactions["upstream_status"].notna().to_numpy(dtype=bool)
        & (transactions["status"] < 500).fillna(False).to_numpy(dtype=bool)
    )
    upstreams = transactions[["node", "upstream_ip", "route_host", "upstream_port"]][answered]
    upstreams = upstreams.drop_duplicates()
    address = server_key(upstreams["upstream_ip"], upstreams["route_host"])
    return {
        (str(node), str(ip), int(port))
        for node, ip, port in zip(upstreams["node"], address, upstreams["upstream_port"], strict=True)
        if pd.notna(ip) and pd.notna(port)
    }


def _rsa_preferred_nodes(context: Context) -> list[str]:
    """Nodes whose cipher lists start with the RSA-preferring prefix (xconf, when the bundle has it)."""
    nodes = []
    for node in context.nodes:
        ciphers = [value for key, value in node.config.items() if key.startswith("Ciphers")]
        if ciphers and all(value.startswith(RSA_PREFERENCE_PREFIX) for value in ciphers):
            nodes.append(node.host)
    return nodes


def address_not_fqdn(context: Context, transactions: pd.DataFrame) -> DetectorResult:
    """Routes whose host is an IP address or a bare host name instead of an FQDN.

    The host in the route is what the client was told to use (CUCM System > Server), the address the
    Expressway-C connects to and checks the certificate against.
    """
    rows = transactions[transactions["route_host"].notna()]
    rows = rows[
        map_distinct(rows["route_host"], lambda host: not is_fqdn(str(host)), missing=False).astype(bool)
    ]
    if rows.empty:
        return DetectorResult(rows)
    failures = context.tls_failures
    linked = failures[failures["txn_id"].notna()] if not failures.empty else failures
    keys = set(
        zip(
            node_keys(linked.get("node", [])), _values(linked, "pid"), _values(linked, "txn_id"), strict=False
        )
    )
    broken = [
        (node, pid, txn) in keys or status == 502
        for node, pid, txn, status in zip(
            node_keys(rows["node"]),
            _values(rows, "pid"),
            _values(rows, "txn_id"),
            rows["status"].fillna(0).tolist(),
            strict=True,
        )
    ]
    status = "issue" if any(broken) else "potential"
    hosts = sorted({str(h) for h in rows["route_host"]})
    return DetectorResult(rows, status=status, facts={"hosts": hosts, "failed": sum(broken)})


def _values(frame: pd.DataFrame, column: str) -> list:
    """A column's values as a list (no column: an empty one), read in one call, not row by row."""
    return frame[column].tolist() if column in frame else []


def node_keys(nodes) -> list[str]:
    """Nodes as join keys: a line with no envelope (an excerpt) is on the one unknown node ""."""
    if isinstance(nodes, pd.Series):  # once per distinct node
        return map_distinct(nodes, str, missing="").tolist()
    return ["" if pd.isna(node) else str(node) for node in nodes]


def server_key(address: pd.Series, host: pd.Series) -> pd.Series:
    """The address that tells servers apart; a masked one (two servers may share a mask) gives way to
    the route's host (log-lines.md section 7: a masked address, the server named by host)."""
    address = address.astype("string")
    masked = pd.Series(map_distinct(address, is_masked, missing=False).astype(bool), index=address.index)
    return address.where(~masked, host.astype("string"))


def is_fqdn(host: str) -> bool:
    host = host.strip().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return False
    except ValueError:
        pass
    labels = host.split(".")
    return len(labels) >= 2 and all(labels) and not labels[-1].isdigit()


def unexplained_502(context: Context, transactions: pd.DataFrame) -> DetectorResult:
    """Requests that failed upstream with no TLS failure to explain them.

    Expressway: transactions that ended in 502 with no failure tied to them. A plain ATS has no
    transaction lines; its error.log writes one `CONNECT: attempt fail` line per failed origin
    connection, and those with no certificate warning for the same address close by count too.
    """
    rows = transactions[transactions["status"] == 502]
    failures = context.tls_failures
    if not failures.empty and not rows.empty:
        linked = failures[failures["txn_id"].notna()]
        keys = set(
            zip(node_keys(linked["node"]), _values(linked, "pid"), _values(linked, "txn_id"), strict=True)
        )
        explained = [
            key in keys
            for key in zip(
                node_keys(rows["node"]), _values(rows, "pid"), _values(rows, "txn_id"), strict=True
            )
        ]
        rows = rows[[not e for e in explained]]
    rows = pd.concat([rows, _unexplained_connect_failures(context)], ignore_index=True)
    return DetectorResult(rows, status="missing-info" if not rows.empty else None)


def _unexplained_connect_failures(context: Context) -> pd.DataFrame:
    """error.log connect failures with no certificate warning for that address within the slack."""
    events = context.events
    connects = events[events["kind"] == "connect_attempt_failed"] if not events.empty else events
    if connects.empty:
        return pd.DataFrame()
    picked = connects[~_explained_by_warning(connects, context.tls_failures)]
    return pd.DataFrame(
        {
            "node": picked["node"].astype(str),
            "pid": picked["pid"],
            "start": picked["ts"],
            "end": picked["ts"],
            "url": picked["url"],
            "upstream_ip": picked["dst_ip"].astype(str),
            "upstream_name": picked["url"].map(_url_host),
            "upstream_port": picked["dst_port"],
            "source": picked["source"].astype(str),
            "line": picked["line"],
            "offset": picked["offset"],
            "length": picked["length"],
            "raw": picked["raw"],
        }
    ).reset_index(drop=True)


CONNECT_SLACK = pd.Timedelta(seconds=2)


def _explained_by_warning(connects: pd.DataFrame, failures: pd.DataFrame) -> pd.Series:
    """Per connect line: is there a failure for the same address within CONNECT_SLACK of it?

    One nearest-time join per address (merge_asof), not a scan of every failure per line: 32k
    connect failures took over a minute row by row. A line or failure without a time never pairs.
    """
    explained = pd.Series(False, index=connects.index)
    if failures.empty:
        return explained
    left = pd.DataFrame(
        {"ts": connects["ts"], "ip": connects["dst_ip"].astype("string"), "row": connects.index}
    ).dropna(subset=["ts", "ip"])
    right = failures[["ts", "server_ip"]].rename(columns={"server_ip": "ip"})
    right = right.assign(ip=right["ip"].astype("string"), hit=True).dropna(subset=["ts", "ip"])
    if left.empty or right.empty:
        return explained
    joined = pd.merge_asof(
        left.sort_values("ts"),
        right.sort_values("ts"),
        on="ts",
        by="ip",
        direction="nearest",
        tolerance=CONNECT_SLACK,
    )
    explained[joined.loc[joined["hit"].notna(), "row"].to_numpy()] = True
    return explained


def _url_host(url: object) -> str | None:
    """The origin name in an error.log `url='https://name:port/...'`: ATS's name for the server."""
    if not isinstance(url, str):
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def unrecognised_tls_lines(context: Context, failures: pd.DataFrame) -> DetectorResult:
    """No row of a frame: the safety net decides this check after every other has run, from the
    lines about certificate failures that no rule read (logscope.signatures.safety)."""
    return DetectorResult(failures.iloc[0:0])


DETECTORS: dict[str, Detector] = {
    "unrecognised_tls_lines": unrecognised_tls_lines,
    "ecdsa_port_split": ecdsa_port_split,
    "address_not_fqdn": address_not_fqdn,
    "unexplained_502": unexplained_502,
    **CERTIFICATE_DETECTORS,
    **CONFIG_DETECTORS,
    **TRAVERSAL_DETECTORS,
}
