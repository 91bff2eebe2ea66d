"""Logins stage: correlated transactions -> MRA login attempts, step by step (issue 16).

A request is keyed by its user, else its device (logscope.login_requests). A node's requests of one
key form one attempt until SESSION_GAP passes without one; a retry inside the gap is the same
attempt. A request with neither key belongs to no login (time alone cannot say whose it is once two
users overlap).

The steps come from the log: each request is one rung of its login's ladder, named by its path and
port (STEP_KINDS); a step kind the log never shows for a login is unknown, never failed.

A storm has a million requests: node, user, device, step and server stay integer codes through
sessionizing and summarising, and text is built once per distinct value (logscope.login_codes).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from logscope.findings import Finding
from logscope.login_codes import NAT, Column, column, ints, one_of, ranks, ticks
from logscope.login_requests import OTHER, STEP_NAMES, Requests, request_table

SESSION_GAP = pd.Timedelta(seconds=30)
FIRST_USERS = 5  # users a finding lists by name (it counts all)

# The steps of an MRA login, in the order a client usually takes them (log-lines.md sections 2-3,
# seed 003): what a login's `stages` summary reports, each ok / failed / unknown.
STEP_KINDS = STEP_NAMES[:6]
# An HTTP status that ends the step: the upstream broke (5xx) or refused (401/403). A 404 on an
# optional file (jabber-config-user.xml) is how a client learns it is absent, not a failure.
REFUSED = (401, 403)
LOGIN_STEPS = (0, 1, 2)  # edge-config, uds, device-config: what makes a run of requests a login

LOGIN_COLUMNS = (
    "login", "user", "device", "node", "start", "end", "outcome", "failed_step", "requests", "stages",
)  # fmt: skip
STEP_COLUMNS = (
    "login", "seq", "step", "node", "pid", "txn_id", "start", "method", "path", "server", "port",
    "status", "tls_failure", "failed", "user", "device",
)  # fmt: skip
_STATES = pa.array(["unknown", "failed", "ok", "no-answer"], pa.string())
_OUTCOMES = np.array(["failed", "succeeded", "unknown"], dtype=object)


@dataclass
class Logins:
    """The `logins` frame (one row per attempt) and `login_steps` (one row per request of a login)."""

    logins: pd.DataFrame
    steps: pd.DataFrame


def build_logins(transactions: pd.DataFrame, events: pd.DataFrame, tls_failures: pd.DataFrame) -> Logins:
    """The login attempts in the transactions (read-only inputs)."""
    with collector_paused():
        return _build_logins(transactions, events, tls_failures)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, back on after it if it was on.

    The stage makes a dict per login and a string per distinct value, tens of thousands of objects
    in no cycle; each few hundred of them would start a collection, which walks the young objects
    and now and then the whole heap of the analysis (tens of ms in a storm, for no garbage)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _build_logins(transactions: pd.DataFrame, events: pd.DataFrame, tls_failures: pd.DataFrame) -> Logins:
    if transactions.empty:
        return Logins(_empty(LOGIN_COLUMNS), _empty(STEP_COLUMNS))
    requests = request_table(transactions, events, tls_failures)
    keyed = np.flatnonzero(requests.key >= 0)
    if len(keyed) == 0:
        return Logins(_empty(LOGIN_COLUMNS), _empty(STEP_COLUMNS))
    order, login = sessionize(requests, transactions["start"], keyed)
    keep, login = only_logins(requests.step[order], login)
    if len(login) == 0:
        return Logins(_empty(LOGIN_COLUMNS), _empty(STEP_COLUMNS))
    requests = requests.take(order[keep], but=("key", "source", "line"))  # the one take of each column
    failed = step_failed(requests)
    bounds = np.flatnonzero(np.r_[True, login[1:] != login[:-1]])
    logins = summarize(requests, failed, bounds, transactions["start"])
    return Logins(logins, step_frame(requests, failed, login, bounds, transactions))


def sessionize(requests: Requests, start: pd.Series, keyed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The `keyed` requests in login order (positions) and each one's login number (1..n, contiguous).

    Per node and key, a new attempt after SESSION_GAP without a request; attempts ordered by their
    first request, then node and key; each attempt's requests by time, file and line.
    """
    every = len(keyed) == len(requests.key)  # every request keyed (a storm's): read them as they are

    def at(values: np.ndarray) -> np.ndarray:
        return values if every else values[keyed]

    key, source, line = at(requests.key), at(requests.source), at(requests.line)
    clock = at(ticks(start))
    known = clock != NAT
    every_known = bool(known.all())
    if not every_known:
        clock = np.where(known, clock, np.iinfo("int64").max)
    if len(requests.node.values) == 1:  # one node (a storm's): it orders nothing
        major: tuple[np.ndarray, ...] = (key,)
    else:  # (node and key as one int) or (key, node)
        major = _mixed_or_not((ranks(requests.node.values)[at(requests.node.codes)], key))
    order = _login_order(_mixed_or_not((source + 1, line + 1)), clock, major)
    clock, major = clock[order], tuple(part[order] for part in major)
    same_key = np.logical_and.reduce([part[1:] == part[:-1] for part in major])
    apart = np.diff(clock) > SESSION_GAP.value
    if not every_known:
        known = known[order]
        apart &= known[1:] & known[:-1]
    starts = np.flatnonzero(np.r_[True, ~same_key | apart])
    # the attempts, by their first request then node and key; each keeps its requests' order
    first = np.minimum.reduceat(clock, starts)
    ranked = np.lexsort((np.arange(len(starts)), *(part[starts] for part in major), first))
    sizes = np.diff(np.r_[starts, len(order)])[ranked]
    begins = starts[ranked]
    again = np.arange(len(order)) + np.repeat(begins - (np.cumsum(sizes) - sizes), sizes)
    login = np.repeat(np.arange(1, len(starts) + 1, dtype="int64"), sizes)
    return order[again] if every else keyed[order[again]], login


def _login_order(
    minor: tuple[np.ndarray, ...], ticks: np.ndarray, major: tuple[np.ndarray, ...]
) -> np.ndarray:
    """`np.lexsort((*minor, ticks, *major))`. A log's requests usually come in time and file order
    already: then one stable sort by the major key gives the same order (radix on 16 bits when it
    fits)."""
    if len(major) == 1 and len(ticks) and major[0].min() >= 0 and major[0].max() < 2**16:
        major = (major[0].astype(np.uint16),)
    if len(minor) == 1 and len(major) == 1 and _ascending(ticks, minor[0]):
        return np.argsort(major[0], kind="stable")
    return np.lexsort((*minor, ticks, *major))


def _ascending(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether the rows run in (first, second) order."""
    step, then = np.diff(first), np.diff(second)
    return bool(np.all((step > 0) | ((step == 0) & (then >= 0))))


def _mixed_or_not(parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Two non-negative sort keys (major, minor) as one when their product fits, else as they are
    (for lexsort, minor first)."""
    major, minor = parts
    if len(major) and major.min() == major.max():  # one value (one node, one file): it orders nothing
        return (minor,)
    if len(major) == 0 or major.min() < 0 or minor.min() < 0:
        return (minor, major)
    span = int(minor.max()) + 1
    if (int(major.max()) + 1) * span < 2**62:
        return (major.astype("int64") * span + minor,)
    return (minor, major)


def only_logins(step: np.ndarray, login: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The attempts that are logins: those with an edge-config, UDS or device-config request. A run of
    IM&P or voicemail requests alone is a logged-in client's traffic, not an attempt. The positions
    kept and their logins renumbered 1..n."""
    is_login = np.bincount(login, weights=one_of(step, LOGIN_STEPS)) > 0
    keep = np.flatnonzero(is_login[login])
    login = login[keep]
    renumbered = np.cumsum(np.r_[True, login[1:] != login[:-1]]) if len(login) else login
    return keep, renumbered


def step_failed(requests: Requests) -> np.ndarray:
    """A request ended its step when the upstream broke (5xx), refused (401/403) or failed TLS."""
    status, answered = requests.status
    broke = answered & ((status >= 500) | one_of(status, REFUSED))
    return broke | (requests.tls_failure.codes >= 0)


def summarize(requests: Requests, failed: np.ndarray, bounds: np.ndarray, start: pd.Series) -> pd.DataFrame:
    """One row per login: who, where, when, its outcome and the first step whose last try failed."""
    count = len(bounds)
    size = np.diff(np.r_[bounds, len(failed)])
    login = np.repeat(np.arange(count), size)
    position = np.arange(len(failed))
    known = ticks(start)[requests.rows] != NAT
    last_known = np.maximum.reduceat(np.where(known, position, -1), bounds)
    # the retries of one step: only the last try says whether the step ended failed
    pair = login * len(STEP_NAMES) + requests.step
    first_try = np.full(count * len(STEP_NAMES), len(failed), dtype="int64")
    last_try = np.full(count * len(STEP_NAMES), -1, dtype="int64")
    np.minimum.at(first_try, pair, position)
    np.maximum.at(last_try, pair, position)
    first_try, last_try = first_try.reshape(count, -1), last_try.reshape(count, -1)
    tried = last_try >= 0
    ended = tried & failed[last_try.clip(min=0)]
    ended[:, OTHER] = False
    first_failed = np.where(ended, first_try, len(failed)).argmin(axis=1)
    failed_step = np.where(ended.any(axis=1), first_failed, -1)
    answered = np.add.reduceat(requests.status[1].astype("int64"), bounds) > 0
    outcome = np.where(failed_step >= 0, 0, np.where(answered, 1, 2))
    state = np.where(~tried, 0, np.where(ended | failed[last_try.clip(min=0)], 1, 2))
    state = np.where((state == 2) & ~requests.status[1][last_try.clip(min=0)], 3, state)
    frame = pd.DataFrame(
        {
            "login": np.arange(1, count + 1, dtype="int64"),
            "user": _first_text(requests.user, bounds, position),
            "device": _first_text(requests.device, bounds, position),
            "node": _strings(requests.node.values, requests.node.codes[bounds]),
            "start": start.array.take(requests.rows[bounds]),
            "end": start.array.take(
                np.where(last_known >= 0, requests.rows[last_known.clip(min=0)], -1), allow_fill=True
            ),
            "outcome": _strings(_OUTCOMES, outcome),
            "failed_step": _strings(np.array(STEP_NAMES, dtype=object), failed_step),
            "requests": size.astype("int64", copy=False),
            "stages": _stages(state[:, : len(STEP_KINDS)]),
        },
        copy=False,  # every column is new: copying them again would only fault in fresh memory
    )
    return frame


def _first_text(col: Column, bounds: np.ndarray, position: np.ndarray) -> pd.arrays.StringArray:
    """Per login, the first request's value that is not missing."""
    first = np.minimum.reduceat(np.where(col.codes >= 0, position, len(position)), bounds)
    codes = np.where(first < len(position), col.codes[first.clip(max=len(position) - 1)], -1)
    return _strings(col.values, codes)


def _strings(values: np.ndarray, codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    """A string array of `values[codes]` (-1: missing), taken by pyarrow: no per-row Python string."""
    try:
        text = pa.array(values, pa.string()).take(pa.array(codes, mask=codes < 0))
    except (pa.ArrowException, UnicodeEncodeError):  # a text UTF-8 cannot hold (a lone surrogate)
        return pd.array(_texts(values, codes), dtype="string")
    return pd.array(text, dtype="string")


def _stages(state: np.ndarray) -> pd.arrays.ArrowExtensionArray:
    """Per login, each step kind: failed, ok (answered), no-answer, or unknown when the log never
    shows it. One struct column (a login's value reads as a dict of its own), each field the codes
    of its states: a storm's fifty thousand logins cost six arrays of bytes, not a dict each."""
    fields = [
        pa.DictionaryArray.from_arrays(pa.array(state[:, kind].astype(np.int8)), _STATES)
        for kind in range(state.shape[1])
    ]
    return pd.arrays.ArrowExtensionArray(pa.StructArray.from_arrays(fields, names=list(STEP_KINDS)))


def step_frame(
    requests: Requests, failed: np.ndarray, login: np.ndarray, bounds: np.ndarray, transactions: pd.DataFrame
) -> pd.DataFrame:
    """One row per request of a login, in login order: categoricals, never a per-row text."""
    size = np.diff(np.r_[bounds, len(login)])
    seq = np.arange(len(login)) - np.repeat(bounds, size) + 1
    rows = requests.rows
    return pd.DataFrame(
        {
            "login": login.astype("int64", copy=False),
            "seq": seq.astype("int64", copy=False),
            "step": pd.Categorical.from_codes(requests.step, categories=list(STEP_NAMES)),
            "node": requests.node.categorical(),
            "pid": transactions["pid"].array.take(rows),
            "txn_id": transactions["txn_id"].array.take(rows),
            "start": transactions["start"].array.take(rows),
            "method": requests.method.categorical(),
            "path": requests.path.categorical(),
            "server": requests.server.categorical(),
            "port": pd.arrays.IntegerArray(requests.port[0], ~requests.port[1]),
            "status": pd.arrays.IntegerArray(requests.status[0], ~requests.status[1]),
            "tls_failure": requests.tls_failure.categorical(),
            "failed": failed,
            "user": requests.user.categorical(),
            "device": requests.device.categorical(),
        },
        copy=False,  # every column is new (taken in login order): no copy of them
    )


def _texts(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return Column(codes, values).text()


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})


# ---- findings point at logins -------------------------------------------------------------------

FINDING_STATUSES = ("issue", "potential")


@dataclass
class FailedSteps:
    """The failed requests of the logins, as codes: what findings are matched against."""

    rows: np.ndarray  # positions in the steps frame
    login: np.ndarray
    server: Column
    node: Column
    port: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, steps: pd.DataFrame) -> FailedSteps:
        failed = (
            steps["failed"].to_numpy(dtype=bool) if "failed" in steps else np.zeros(len(steps), dtype=bool)
        )
        rows = np.flatnonzero(failed)
        if len(rows) == 0:
            return cls(
                rows, np.zeros(0, "int64"), _no_text(), _no_text(), (np.zeros(0, "int64"), np.zeros(0, bool))
            )
        return cls(  # only the four columns read, taken at the failed rows (never the whole frame)
            rows=rows,
            login=steps["login"].to_numpy(dtype="int64")[rows],
            server=column(steps["server"].iloc[rows]),
            node=column(steps["node"].iloc[rows]),
            port=ints(steps["port"].iloc[rows]),
        )


def finding_logins(findings: list[Finding], logins: Logins) -> dict[str, dict[str, Any]]:
    """For each finding that is an issue or potential problem: the failed logins it explains.

    A login's failed request is the finding's when the finding names its server (by name or
    address), on one of the finding's ports and nodes (when it lists any). Findings are read, never
    changed: their status stays what the signatures said.
    """
    return _finding_logins(findings, logins, FailedSteps.of(logins.steps))


def _finding_logins(
    findings: list[Finding], logins: Logins, failed: FailedSteps
) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    users: tuple[np.ndarray, Any] | None = None  # the logins' users as codes, made at the first hit
    for finding in findings:
        if finding.status not in FINDING_STATUSES or len(failed.rows) == 0:
            continue
        hit = _steps_of(finding, failed)
        if not hit.any():
            continue
        numbers = logins.logins["login"].to_numpy()
        rows = np.flatnonzero(np.isin(numbers, failed.login[hit]))  # only the columns read, at these rows
        if users is None:
            users = pd.factorize(logins.logins["user"])
        codes, named = _distinct(users[0][rows]), users[1]
        result[finding.id] = {
            "count": len(rows),
            "users_count": len(codes),
            "first_users": [str(named[code]) for code in codes[:FIRST_USERS].tolist()],
            "logins": [int(login) for login in numbers[rows].tolist()],
        }
    return result


def _distinct(codes: np.ndarray) -> np.ndarray:
    """The distinct codes (-1, missing, left out) in the order they first appear: a finding counts
    its users and names the first few, never making a text per login."""
    codes = codes[codes >= 0]
    first = np.unique(codes, return_index=True)[1]
    return codes[np.sort(first)]


def _steps_of(finding: Finding, failed: FailedSteps) -> np.ndarray:
    """Which failed requests the finding names: its server (name or address), port and node."""
    hit = np.zeros(len(failed.rows), dtype=bool)
    for named in finding.servers:
        names = [named.name, *([named.ip] if named.ip else [])]
        match = _among(failed.server, names)
        if named.ports:
            match &= failed.port[1] & one_of(failed.port[0], tuple(int(port) for port in named.ports))
        if named.nodes:
            match &= _among(failed.node, list(named.nodes))
        hit |= match
    return hit


def _among(col: Column, texts: list[Any]) -> np.ndarray:
    """Rows whose value is one of `texts` (a finding names a few: one comparison per value found)."""
    wanted = set(texts)
    return one_of(col.codes, tuple(code for code, value in enumerate(col.values.tolist()) if value in wanted))


def step_findings(
    steps: pd.DataFrame, findings: list[Finding], explained: dict[str, dict[str, Any]]
) -> pd.Categorical:
    """Per request, the id of the first finding (in report order) that explains its failure."""
    return _step_findings(len(steps), findings, explained, FailedSteps.of(steps))


def _step_findings(
    count: int, findings: list[Finding], explained: dict[str, dict[str, Any]], failed: FailedSteps
) -> pd.Categorical:
    ids = list(dict.fromkeys(finding.id for finding in findings if finding.id in explained))
    codes = np.full(count, -1, dtype="int64")
    for finding in findings:
        if finding.id not in explained:
            continue
        rows = failed.rows[_steps_of(finding, failed)]
        rows = rows[codes[rows] < 0]
        codes[rows] = ids.index(finding.id)
    return pd.Categorical.from_codes(codes, categories=pd.Index(ids, dtype=object))


def link_findings(findings: list[Finding], logins: Logins) -> dict[str, dict[str, Any]]:
    """Findings -> the logins they broke; also fills `logins.steps["finding"]` (a failed request's
    explaining finding, by id). The findings themselves are left as they are."""
    failed = FailedSteps.of(logins.steps)
    explained = _finding_logins(findings, logins, failed)
    logins.steps["finding"] = _step_findings(len(logins.steps), findings, explained, failed)
    return explained


def _no_text() -> Column:
    return Column(np.zeros(0, dtype="int64"), np.zeros(0, dtype=object))
