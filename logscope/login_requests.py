"""The logins stage's requests: one per transaction, every text as codes (issue 16).

On the Expressway-C every MRA request arrives from 127.0.0.1 with its own tracking id, so neither
keys a login. A request is keyed by its user (the UDS path `/cucm-uds/user/<name>`, else the
allow-list event's `Username` for the same request: logscope.login_allow) or, failing that, by its
device (the name of the configuration file it fetches, `<device>.cnf.xml`); a device seen with a
user anywhere takes that user. The step a request is comes from its path and port (issue 16 "Details").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from logscope.login_allow import allowed_users
from logscope.login_codes import (
    UNKNOWN_NODE,
    Column,
    coalesce,
    column,
    compact,
    device_owner,
    device_owners,
    first_per_key,
    ints,
    joint_key,
    lookup,
    narrow,
    one_of,
    pair_codes,
    path_facts,
    per_value,
    per_value_ascii,
    ranks,
    route_path,
    shared,
)

# Every step a request can be, in the order a client usually takes them (log-lines.md sections 2-3,
# seed 003); the first six are a login's `stages`.
STEP_NAMES = ("edge-config", "uds", "device-config", "imp", "voicemail", "registration", "other")
EDGE, UDS, DEVICE_CONFIG, OTHER = 0, 1, 2, 6
_PATH_KINDS = ("edge-config", "uds", "imp", "voicemail", "registration", "other")
CONFIG_PORTS = (6970, 6972)
_FAILURE_COLUMNS = ("node", "pid", "txn_id", "kind", "verify_error", "depth", "ssl_reason", "sni")


@dataclass
class Requests:
    """The requests that carry a user or device key: `rows` are their positions in the transactions."""

    rows: np.ndarray
    node: Column
    method: Column
    path: Column
    server: Column
    step: np.ndarray  # codes into STEP_NAMES
    tls_failure: Column
    user: Column
    device: Column
    key: np.ndarray  # sorts as the text "device:<name>" / "user:<name>" would; -1: neither
    source: np.ndarray  # rank of the source file's name (-1 missing)
    line: np.ndarray
    port: tuple[np.ndarray, np.ndarray]  # (value, known)
    status: tuple[np.ndarray, np.ndarray]

    def take(self, order: np.ndarray, but: tuple[str, ...] = ()) -> Requests:
        """The requests at `order` (positions), each column taken once; the columns `but` names
        (read only before, by sessionizing) are left empty."""
        taken = {}
        for name, value in vars(self).items():
            if name in but:
                taken[name] = value[:0]
            elif isinstance(value, Column):
                codes = value.codes.astype(narrow(len(value.values)), copy=False)
                taken[name] = Column(codes[order], value.values)
            elif isinstance(value, tuple):
                taken[name] = (value[0][order], value[1][order])
            else:
                taken[name] = value[order]
        return Requests(**taken)


def request_table(transactions: pd.DataFrame, events: pd.DataFrame, failures: pd.DataFrame) -> Requests:
    """One row per transaction (read-only inputs); `key` is -1 for those with neither user nor device."""
    node = _filled(column(transactions["node"]), UNKNOWN_NODE)
    path = _filled(_paths(transactions), "")
    port = _either(ints(transactions["route_port"]), ints(transactions["upstream_port"]))
    server = coalesce(column(transactions["route_host"]), column(transactions["upstream_ip"]))
    pid = ints(transactions["pid"])
    pid_key = np.where(pid[1], pid[0], -1)
    scheme = column(transactions["route_scheme"])
    start = transactions["start"]
    kinds, uds, device = path_facts(path, _PATH_KINDS)
    allowed = allowed_users(events, uds.codes < 0, node, pid_key, scheme, server, port, path, start)
    user = coalesce(uds, allowed)
    user = Column(np.where(user.codes >= 0, user.codes, device_users(node, user, device)), user.values)
    source = column(transactions["source"])
    return Requests(
        rows=np.arange(len(transactions), dtype="int64"),
        node=node,
        method=column(transactions["method"]),
        path=path,
        server=server,
        step=step_kinds(kinds, port),
        tls_failure=tls_failures(failures, node, pid_key, ints(transactions["txn_id"])),
        user=user,
        device=device,
        key=_keys(user, device),
        source=np.append(ranks(source.values), -1)[source.codes],  # -1 (missing) reads the last entry
        line=_or_minus_one(ints(transactions["line"])),
        port=port,
        status=ints(transactions["status"]),
    )


def _paths(transactions: pd.DataFrame) -> Column:
    """Each request's upstream path, else the path of its route URL (read only for the requests
    without one: in a storm none, and no pass over the URLs is made)."""
    upstream = column(transactions["upstream_path"])
    missing = upstream.codes < 0
    if not missing.any():
        return compact(upstream)  # what `coalesce` makes of it when no URL has a path to add
    return coalesce(upstream, per_value(column(transactions["url"], where=missing), route_path))


def step_kinds(names: Column, port: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The login step of each request, by the kind its path names and its port."""
    index = np.array([*(STEP_NAMES.index(name) for name in names.values), OTHER], dtype="int64")
    by_path = index[names.codes]  # a missing kind (-1) reads the last entry: other
    on_config_port = port[1] & one_of(port[0], CONFIG_PORTS)
    return np.where(on_config_port & ~one_of(by_path, (EDGE, UDS)), DEVICE_CONFIG, by_path)


def device_users(node: Column, user: Column, device: Column) -> np.ndarray:
    """The user code of each device-only request: the user a request of the same device named, else
    the user of that node whose name the device's is (a Jabber device is `CSF`/`BOT`/`TCT`/`TAB` +
    user, seed 003's `CSFemusk.cnf.xml` for user emusk); -1 where neither."""
    todo = np.flatnonzero((device.codes >= 0) & (user.codes < 0))
    result = np.full(len(user.codes), -1, dtype="int64")
    if len(todo) == 0:
        return result
    both = np.flatnonzero((user.codes >= 0) & (device.codes >= 0))
    devices, firsts = first_per_key(device.codes[both], both)
    by_device = lookup(devices, user.codes[firsts], device.codes[todo])
    owner = per_value_ascii(Column(device.codes[todo], device.values), device_owners, device_owner)
    every = np.arange(len(user.values), dtype="int64")  # lower-cased once per user, not per request
    lower = per_value_ascii(Column(every, user.values), pc.ascii_lower, str.lower)
    (owner_codes, lower_codes), _ = shared(owner, lower)
    guessable = owner_codes >= 0
    # only the requests of a user some device's name carries: no other can be a guess (a storm has a
    # few thousand device-only requests among hundreds of thousands)
    owned = np.zeros(len(every) + 1, dtype=bool)  # the last entry: what -1 (no user) reads
    owned[:-1] = one_of_codes(lower_codes, owner_codes[guessable])
    named = np.flatnonzero(owned[user.codes])
    key = np.concatenate([lower_codes[user.codes[named]], owner_codes[guessable]])
    if len(node.values) != 1 or int(node.codes.min(initial=0)) < 0:  # one node (a storm's) tells none apart
        key = pair_codes(np.concatenate([node.codes[named], node.codes[todo][guessable]]), key)
    seen, first_named = first_per_key(key[: len(named)], named)
    guess = np.full(len(todo), -1, dtype="int64")
    guess[guessable] = lookup(seen, user.codes[first_named], key[len(named) :])
    result[todo] = np.where(by_device >= 0, by_device, guess)
    return result


def one_of_codes(codes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Whether each code (-1: none) is one of the `wanted` codes (non-negative, of the same values)."""
    table = np.zeros(int(max(codes.max(initial=-1), wanted.max(initial=-1))) + 2, dtype=bool)
    table[wanted] = True
    return table[codes]  # -1 reads the last entry, never set


def tls_failures(
    failures: pd.DataFrame, node: Column, pid: np.ndarray, txn: tuple[np.ndarray, np.ndarray]
) -> Column:
    """The TLS failure tied to each request (correlate's link): the verify error, else the SSL reason.

    A storm links a few thousand failures: each (node, pid, transaction) key is one int, requests
    look theirs up in the sorted keys of the failures."""
    none = Column(np.full(len(pid), -1, dtype="int64"), np.zeros(0, dtype=object))
    if failures.empty or "linked" not in failures:
        return none
    linked = failures.loc[failures["linked"].astype(bool).to_numpy(dtype=bool), list(_FAILURE_COLUMNS)]
    if linked.empty:
        return none
    first = _first_failures(linked, node)
    if first is None:
        return none
    failure_node, failure_pid, failure_txn, failure_text, texts = first
    candidates = np.flatnonzero(txn[1] & np.isin(txn[0], failure_txn))
    if len(candidates) == 0:
        return none
    joint = joint_key(
        (node.codes[candidates], failure_node),
        (pid[candidates], failure_pid),
        (txn[0][candidates], failure_txn),
    )
    keys = joint[len(candidates) :]
    order = np.argsort(keys)  # distinct: one failure per key
    which = lookup(keys[order], failure_text[order], joint[: len(candidates)])
    hit = which >= 0
    if not hit.any():
        return none
    codes, values = pd.factorize(texts[which[hit]])  # the texts in the order the requests meet them
    result = none.codes.copy()
    result[candidates[hit]] = codes
    return Column(result, np.asarray(values, dtype=object))


def _first_failures(
    linked: pd.DataFrame, node: Column
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The failure that stands for each (node, pid, transaction), on the requests' nodes: the first,
    a verify error before an ssl_connect_failed, even one without a text. As (node code, pid, txn,
    text code or -1, texts); a text is made once per distinct (verify error, depth, SSL reason, SNI,
    kind)."""
    pid = _or_minus_one(ints(linked["pid"]))
    txn_id, txn_known = ints(linked["txn_id"])
    names = column(linked["node"])
    known_names = pd.Index(node.values, dtype=object).get_indexer(pd.Index(names.values, dtype=object))
    node_code = np.append(known_names, -1)[names.codes]
    verify, reason, sni, kind = (
        column(linked[name]) for name in ("verify_error", "ssl_reason", "sni", "kind")
    )
    depth, depth_known = ints(linked["depth"])
    parts = (verify.codes, reason.codes, sni.codes, kind.codes, depth_known.astype("int64"), depth)
    nothing = np.zeros(0, dtype="int64")
    combo = pd.factorize(
        joint_key(
            *((part, nothing) for part in parts)  # an unknown depth reads 0: its flag tells it apart
        )
    )[0]
    at = np.unique(combo, return_index=True)[1]  # each combination's first row
    depths = [
        str(value) if known else None
        for value, known in zip(depth[at].tolist(), depth_known[at].tolist(), strict=True)
    ]
    texts = np.array(
        [
            _failure_text(*parts)
            for parts in zip(
                _texts_at(verify, at),
                depths,
                _texts_at(reason, at),
                _texts_at(sni, at),
                _texts_at(kind, at),
                strict=True,
            )
        ],
        dtype=object,
    )
    text = np.where(pd.isna(texts)[combo], -1, combo)
    connect_failed = np.isin(kind.codes, np.flatnonzero(kind.values == "ssl_connect_failed"))
    ranked = np.argsort(connect_failed, kind="stable")
    ranked = ranked[txn_known[ranked] & (node_code[ranked] >= 0)]
    if len(ranked) == 0:
        return None
    key = joint_key((node_code[ranked], nothing), (pid[ranked], nothing), (txn_id[ranked], nothing))
    chosen = ranked[np.unique(key, return_index=True)[1]]
    return node_code[chosen], pid[chosen], txn_id[chosen], text[chosen], texts


def _texts_at(col: Column, rows: np.ndarray) -> list[str | None]:
    return Column(col.codes[rows], col.values).text().tolist()


def _failure_text(
    verify: str | None, depth: str | None, reason: str | None, sni: str | None, kind: str | None
) -> str | None:
    if verify is not None:
        return f"{verify} (depth={depth})" if depth is not None else verify
    if reason is not None:
        return reason
    return f"SNI {sni} not in certificate" if sni is not None else kind


def _keys(user: Column, device: Column) -> np.ndarray:
    """Each request's login key as an int that sorts as "device:<name>" < "user:<name>" texts do."""
    device_rank = np.append(ranks(device.values), -1)  # the last entry: what -1 (no device) reads
    user_rank = np.append(ranks(user.values) + len(device.values), -1)
    return np.where(user.codes >= 0, user_rank[user.codes], device_rank[device.codes])


def _filled(col: Column, text: str) -> Column:
    """Missing values as `text`."""
    if not (col.codes < 0).any():
        return col
    (codes, filler), values = shared(col, Column(np.zeros(1, dtype="int64"), np.array([text], dtype=object)))
    return Column(np.where(codes >= 0, codes, filler[0]), values)


def _either(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    return np.where(first[1], first[0], second[0]), first[1] | second[1]


def _or_minus_one(number: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.where(number[1], number[0], -1)
