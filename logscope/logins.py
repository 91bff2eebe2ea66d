"""Logins stage: correlated transactions -> MRA login attempts, step by step (issue 16).

On the Expressway-C every MRA request arrives from 127.0.0.1 with its own tracking id, so neither
keys a login. A request is keyed by its user (the UDS path `/cucm-uds/user/<name>`, else the
allow-list event's `Username` for the same request) or, failing that, by its device (the name of
the configuration file it fetches, `<device>.cnf.xml`); a device seen with a user anywhere takes that
user. A node's requests of one key form one attempt until SESSION_GAP passes without one; a retry
inside the gap is the same attempt. A request with neither key belongs to no login (time alone
cannot say whose it is once two users overlap).

The steps come from the log: each request is one rung of its login's ladder, named by its path and
port (STEP_KINDS); a step kind the log never shows for a login is unknown, never failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from logscope.findings import Finding

SESSION_GAP = pd.Timedelta(seconds=30)
ALLOW_SLACK = pd.Timedelta(seconds=2)  # Request Allowed is written a few ms after Receive Request
FIRST_USERS = 5  # users a finding lists by name (it counts all)

# The steps of an MRA login, in the order a client usually takes them (log-lines.md sections 2-3,
# seed 003): what a login's `stages` summary reports, each ok / failed / unknown.
STEP_KINDS = ("edge-config", "uds", "device-config", "imp", "voicemail", "registration")
OTHER = "other"
CONFIG_PORTS = (6970, 6972)
# An HTTP status that ends the step: the upstream broke (5xx) or refused (401/403). A 404 on an
# optional file (jabber-config-user.xml) is how a client learns it is absent, not a failure.
REFUSED = (401, 403)

LOGIN_COLUMNS = (
    "login", "user", "device", "node", "start", "end", "outcome", "failed_step", "requests", "stages",
)  # fmt: skip
STEP_COLUMNS = (
    "login", "seq", "step", "node", "pid", "txn_id", "start", "method", "path", "server", "port",
    "status", "tls_failure", "failed", "user", "device",
)  # fmt: skip

_UDS_USER = r"^/cucm-uds/(?:private/)?user/([^/?#]+)"
_DEVICE_FILE = r"/([^/?#]+)\.(?:cnf\.xml|tlv)(?:\.sgn)?(?:[?#]|$)"
DEVICE_PREFIX = r"^(?i:CSF|BOT|TCT|TAB)(.+)$"
_ROUTE_PATH = r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]+/[^/]+(/[^ ]*)?$"


@dataclass
class Logins:
    """The `logins` frame (one row per attempt) and `login_steps` (one row per request of a login)."""

    logins: pd.DataFrame
    steps: pd.DataFrame


def build_logins(transactions: pd.DataFrame, events: pd.DataFrame, tls_failures: pd.DataFrame) -> Logins:
    """The login attempts in the transactions (read-only inputs)."""
    if transactions.empty:
        return Logins(_empty(LOGIN_COLUMNS), _empty(STEP_COLUMNS))
    requests = request_table(transactions, events, tls_failures)
    requests = requests[requests["key"].notna()]
    if requests.empty:
        return Logins(_empty(LOGIN_COLUMNS), _empty(STEP_COLUMNS))
    steps = sessionize(requests)
    steps = only_logins(steps)
    return Logins(summarize(steps), steps[list(STEP_COLUMNS)].reset_index(drop=True))


def request_table(
    transactions: pd.DataFrame, events: pd.DataFrame, tls_failures: pd.DataFrame
) -> pd.DataFrame:
    """One row per transaction: path, step, server, port, status, TLS failure, user, device, key."""
    path = transactions["upstream_path"].astype("string")
    from_url = per_unique(transactions["url"], lambda urls: urls.str.extract(_ROUTE_PATH, expand=False))
    path = path.fillna(from_url).fillna("")
    port = pd.to_numeric(transactions["route_port"], errors="coerce").astype("Int64")
    port = port.fillna(pd.to_numeric(transactions["upstream_port"], errors="coerce")).astype("Int64")
    server = transactions["route_host"].astype("string").fillna(transactions["upstream_ip"].astype("string"))
    table = pd.DataFrame(
        {
            "node": transactions["node"].astype("string").fillna("unknown"),
            "pid": transactions["pid"],
            "txn_id": transactions["txn_id"],
            "start": transactions["start"],
            "method": transactions["method"].astype("string"),
            "path": path,
            "server": server,
            "port": port,
            "status": pd.to_numeric(transactions["status"], errors="coerce").astype("Int64"),
            "scheme": transactions["route_scheme"].astype("string"),
            "source": transactions["source"].astype("string"),
            "line": transactions["line"],
        }
    )
    table["step"] = step_kinds(table["path"], table["port"])
    table["tls_failure"] = _tls_failures(table, tls_failures)
    table["user"] = per_unique(path, lambda paths: paths.str.extract(_UDS_USER, expand=False))
    table["user"] = table["user"].fillna(_allowed_users(table, events))
    table["device"] = per_unique(path, lambda paths: paths.str.extract(_DEVICE_FILE, expand=False))
    table["user"] = table["user"].fillna(device_users(table))
    table["key"] = ("user:" + table["user"]).fillna("device:" + table["device"])
    return table


def per_unique(values: pd.Series, function: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`function` (a string operation) applied once per distinct value: a storm repeats its paths.

    A categorical column gives its codes as they are; the results are spread back by one
    `take` of the per-value answers, never a per-row Python object array.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy(dtype="int64")
        uniques = values.cat.categories
    else:
        codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    results = function(pd.Series(uniques, dtype="string")).astype("string").array
    return pd.Series(results.take(codes, allow_fill=True), index=values.index, dtype="string")


def device_users(table: pd.DataFrame) -> pd.Series:
    """The user of each device-only request: the user a request of the same device named, else the
    user of that node whose name the device's is (a Jabber device is `CSF`/`BOT`/`TCT`/`TAB` + user,
    seed 003's `CSFemusk.cnf.xml` for user emusk)."""
    result = pd.Series(pd.NA, index=table.index, dtype="string")
    todo = table[table["device"].notna() & table["user"].isna()]
    if todo.empty:
        return result
    known = table.dropna(subset=["user", "device"]).drop_duplicates("device")
    by_device = pd.Series(known["user"].to_numpy(), index=known["device"].to_numpy(), dtype="string")
    users = todo["device"].map(by_device).astype("string")
    named = todo["device"].str.extract(DEVICE_PREFIX, expand=False).str.lower()
    seen = table.loc[table["user"].notna(), ["node", "user"]].drop_duplicates()
    seen = seen.assign(lower=seen["user"].str.lower()).drop_duplicates(["node", "lower"])
    guess = pd.DataFrame({"node": todo["node"], "lower": named}).merge(seen, on=["node", "lower"], how="left")
    result.loc[todo.index] = users.fillna(
        pd.Series(guess["user"].to_numpy(), index=todo.index, dtype="string")
    )
    return result


def step_kinds(path: pd.Series, port: pd.Series) -> pd.Series:
    """The login step a request is, by its path and port (issue 16 "Details"); anything else is other."""
    on_config_port = port.isin(CONFIG_PORTS).fillna(False).to_numpy(dtype=bool)
    by_path = per_unique(path, _path_kinds).to_numpy(dtype=object, na_value=OTHER)
    edge_or_uds = np.isin(by_path, ("edge-config", "uds"))
    picked = np.where(on_config_port & ~edge_or_uds, "device-config", by_path)
    return pd.Series(picked, index=path.index, dtype="string")


def _path_kinds(paths: pd.Series) -> pd.Series:
    """The step a path names whatever its port (device-config is decided by the port)."""
    lower = paths.str.lower()
    conditions = [
        lower.str.contains("get_edge_config", regex=False),
        lower.str.startswith("/cucm-uds/"),
        lower.str.startswith("/cup/")
        | lower.str.contains("bosh", regex=False)
        | lower.str.startswith("/epassoap/"),
        lower.str.startswith("/vmrest/"),
        lower.str.contains("register", regex=False),
    ]
    choices = ["edge-config", "uds", "imp", "voicemail", "registration"]
    picked = np.select([c.fillna(False).to_numpy(dtype=bool) for c in conditions], choices, default=OTHER)
    return pd.Series(picked, index=paths.index, dtype="string")


def _allowed_users(table: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """The allow-list event's Username for each request: same node, pid and upstream URL, just after it."""
    users = pd.Series(pd.NA, index=table.index, dtype="string")
    if "username" not in events or events.empty:
        return users
    allowed = events.loc[events["kind"] == "request_allowed", ["ts", "node", "pid", "url", "username"]]
    allowed = allowed.dropna(subset=["ts", "username", "url"])
    if allowed.empty:
        return users
    wanted = ["start", "node", "pid", "scheme", "server", "port", "path"]
    table = table.loc[table["user"].isna().to_numpy(), wanted]  # a UDS user path names its user already
    target = table["scheme"] + "://" + table["server"] + ":" + table["port"].astype("string") + table["path"]
    left = pd.DataFrame(
        {
            "ts": table["start"],
            "node": table["node"],
            "pid": _pid_key(table["pid"]),
            "url": target,
            "row": table.index,
        }
    ).dropna(subset=["ts", "url"])
    right = pd.DataFrame(
        {
            "ts": allowed["ts"],
            "node": allowed["node"].astype("string"),
            "pid": _pid_key(allowed["pid"]),
            "url": allowed["url"].astype("string"),
            "username": allowed["username"].astype("string"),
        }
    )
    if left.empty:
        return users
    left, right = _shared_codes(left, right, ("node", "url"))
    # each allow line belongs to the latest request for its URL before it: two users fetching the same
    # IM&P path ms apart must not both take the second one's user name
    matched = pd.merge_asof(
        right.sort_values("ts"),
        left.rename(columns={"ts": "request_ts"}).sort_values("request_ts"),
        left_on="ts",
        right_on="request_ts",
        by=["node", "pid", "url"],
        direction="backward",
        tolerance=ALLOW_SLACK,
    )
    matched = matched[matched["row"].notna()].drop_duplicates("row", keep="first")
    users.loc[matched["row"].astype("int64").to_numpy()] = matched["username"].to_numpy(dtype=object)
    return users


def _shared_codes(
    left: pd.DataFrame, right: pd.DataFrame, columns: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`columns` of both frames as integer codes of one shared factorization (equal text, equal
    code; missing -1 on the right, -2 on the left, so missing never matches): merge_asof's `by` keys
    on integers instead of Python strings."""
    left, right = left.copy(), right.copy()
    for column in columns:
        both = pd.concat([left[column], right[column]], ignore_index=True).astype("string")
        codes = pd.factorize(both, use_na_sentinel=True)[0].astype("int64")
        ours, theirs = codes[: len(left)], codes[len(left) :]
        left[column] = np.where(ours < 0, -2, ours)
        right[column] = theirs
    return left, right


def _tls_failures(table: pd.DataFrame, failures: pd.DataFrame) -> pd.Series:
    """The TLS failure tied to each request (correlate's link): the verify error, else the SSL reason."""
    result = pd.Series(pd.NA, index=table.index, dtype="string")
    if failures.empty or "linked" not in failures:
        return result
    linked = failures[failures["linked"].astype(bool)]
    if linked.empty:
        return result
    text = linked["verify_error"].astype("string")
    depth = pd.to_numeric(linked["depth"], errors="coerce").astype("Int64").astype("string")
    text = (text + " (depth=" + depth + ")").fillna(text)
    sni = "SNI " + linked["sni"].astype("string") + " not in certificate"
    text = (
        text.fillna(linked["ssl_reason"].astype("string")).fillna(sni).fillna(linked["kind"].astype("string"))
    )
    keys = pd.DataFrame(
        {
            "node": linked["node"].astype("string"),
            "pid": _pid_key(linked["pid"]),
            "txn_id": linked["txn_id"],
            "text": text,
        }
    )
    keys = keys.assign(rank=(linked["kind"].to_numpy() == "ssl_connect_failed").astype(int))
    keys = keys.sort_values("rank", kind="stable").drop_duplicates(["node", "pid", "txn_id"])
    left = pd.DataFrame(
        {"node": table["node"], "pid": _pid_key(table["pid"]), "txn_id": table["txn_id"], "row": table.index}
    )
    merged = left.merge(keys, on=["node", "pid", "txn_id"], how="inner")
    result.loc[merged["row"].to_numpy()] = merged["text"].to_numpy(dtype=object)
    return result


def sessionize(requests: pd.DataFrame) -> pd.DataFrame:
    """Number the attempts: per node and key, a new one after SESSION_GAP without a request.

    Sorted on integer codes (numpy), the wide frame taken once: a storm has a million requests.
    """
    node = pd.factorize(requests["node"], sort=True)[0]
    key = pd.factorize(requests["key"], sort=True)[0]
    source = pd.factorize(requests["source"], sort=True)[0]
    line = pd.to_numeric(requests["line"], errors="coerce").fillna(-1).to_numpy("int64")
    known = requests["start"].notna().to_numpy()
    start = np.where(
        known, requests["start"].to_numpy("datetime64[ns]").astype("int64"), np.iinfo("int64").max
    )
    order = np.lexsort((line, source, start, key, node))
    node, key, source, line, start, known = (a[order] for a in (node, key, source, line, start, known))
    same_key = np.r_[False, (node[1:] == node[:-1]) & (key[1:] == key[:-1])]
    both_known = np.r_[False, known[1:] & known[:-1]]
    gap = np.r_[0, np.diff(start)]
    new = ~same_key | (both_known & (gap > SESSION_GAP.value))
    attempt = np.cumsum(new)
    firsts = np.flatnonzero(new)
    first = np.minimum.reduceat(start, firsts)[attempt - 1]
    again = np.lexsort((line, source, start, attempt, key, node, first))
    ordered = requests.iloc[order[again]].reset_index(drop=True)
    attempt = attempt[again]
    ordered["login"] = pd.factorize(attempt, sort=False)[0].astype("int64") + 1
    ordered["seq"] = ordered.groupby("login", sort=False).cumcount() + 1
    ordered["failed"] = step_failed(ordered["status"], ordered["tls_failure"])
    return ordered


LOGIN_STEPS = ("edge-config", "uds", "device-config")


def only_logins(steps: pd.DataFrame) -> pd.DataFrame:
    """The attempts that are logins: those with an edge-config, UDS or device-config request. A run of
    IM&P or voicemail requests alone is a logged-in client's traffic, not an attempt; renumbered 1..n."""
    keep = steps["step"].isin(LOGIN_STEPS).groupby(steps["login"], sort=False).transform("any")
    steps = steps[keep.astype(bool)].copy()
    codes, _ = pd.factorize(steps["login"], sort=False)
    steps["login"] = codes.astype("int64") + 1
    return steps


def step_failed(status: pd.Series, tls_failure: pd.Series) -> pd.Series:
    """A request ended its step when the upstream broke (5xx), refused (401/403) or failed TLS."""
    code = pd.to_numeric(status, errors="coerce")
    broke = (code >= 500) | code.isin(REFUSED)
    return (broke.fillna(False) | tls_failure.notna()).astype(bool)


def summarize(steps: pd.DataFrame) -> pd.DataFrame:
    """One row per login: who, where, when, its outcome and the first step whose last try failed."""
    grouped = steps.groupby("login", sort=True)
    logins = grouped.agg(
        node=("node", "first"),
        start=("start", "min"),
        end=("start", "max"),
        requests=("seq", "size"),
        user=("user", "first"),
        device=("device", "first"),
    )
    last_try = steps.drop_duplicates(["login", "step"], keep="last")
    # the retries of one step: only the last try says whether the step ended failed
    ended = last_try[last_try["failed"] & (last_try["step"] != OTHER)]
    order = steps.drop_duplicates(["login", "step"], keep="first")[["login", "step", "seq"]]
    ended = ended[["login", "step"]].merge(order, on=["login", "step"]).sort_values(["login", "seq"])
    failed_step = ended.drop_duplicates("login").set_index("login")["step"]
    answered = grouped["status"].count()
    logins["failed_step"] = failed_step.reindex(logins.index).astype("string")
    outcome = np.where(
        logins["failed_step"].notna(), "failed", np.where(answered > 0, "succeeded", "unknown")
    )
    logins["outcome"] = pd.Series(outcome, index=logins.index, dtype="string")
    logins["stages"] = _stages(last_try, logins.index)
    logins = logins.reset_index()
    for column in ("user", "device", "node"):
        logins[column] = logins[column].astype("string")
    return logins[list(LOGIN_COLUMNS)]


def _stages(last_try: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Per login, each step kind: failed, ok (answered), no-answer, or unknown when the log never shows it."""
    known = last_try[last_try["step"].isin(STEP_KINDS)]
    state = np.where(known["failed"], "failed", np.where(known["status"].notna(), "ok", "no-answer"))
    table = pd.DataFrame({"login": known["login"], "step": known["step"], "state": state})
    wide = table.pivot(index="login", columns="step", values="state").reindex(
        index=index, columns=list(STEP_KINDS)
    )
    wide = wide.astype(object).fillna("unknown")
    return pd.Series(wide.to_dict("records"), index=index, dtype="object")


def _pid_key(pid: pd.Series) -> pd.Series:
    return pd.to_numeric(pid, errors="coerce").astype("Int64").fillna(-1).astype("int64")


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})


# ---- findings point at logins -------------------------------------------------------------------

FINDING_STATUSES = ("issue", "potential")


def finding_logins(findings: list[Finding], logins: Logins) -> dict[str, dict[str, Any]]:
    """For each finding that is an issue or potential problem: the failed logins it explains.

    A login's failed request is the finding's when the finding names its server (by name or
    address), on one of the finding's ports and nodes (when it lists any). Findings are read, never
    changed: their status stays what the signatures said.
    """
    failed = logins.steps[logins.steps["failed"]] if "failed" in logins.steps else logins.steps.iloc[0:0]
    result: dict[str, dict[str, Any]] = {}
    for finding in findings:
        if finding.status not in FINDING_STATUSES or failed.empty:
            continue
        hit = _steps_of(finding, failed)
        if not hit.any():
            continue
        broke = failed.loc[hit, "login"].drop_duplicates()
        rows = logins.logins[logins.logins["login"].isin(broke)]
        users = [str(user) for user in rows["user"].dropna().drop_duplicates()]
        result[finding.id] = {
            "count": len(rows),
            "users_count": len(users),
            "first_users": users[:FIRST_USERS],
            "logins": [int(login) for login in rows["login"]],
        }
    return result


def _steps_of(finding: Finding, failed: pd.DataFrame) -> pd.Series:
    hit = pd.Series(False, index=failed.index)
    server = failed["server"].astype("string")
    for named in finding.servers:
        names = {named.name, *([named.ip] if named.ip else [])}
        match = server.isin(names).fillna(False)
        if named.ports:
            match &= failed["port"].isin(named.ports).fillna(False)
        if named.nodes:
            match &= failed["node"].isin(named.nodes).fillna(False)
        hit |= match.astype(bool)
    return hit


def step_findings(
    steps: pd.DataFrame, findings: list[Finding], explained: dict[str, dict[str, Any]]
) -> pd.Series:
    """Per failed request, the id of the first finding (in report order) that explains it."""
    result = pd.Series(pd.NA, index=steps.index, dtype="string")
    if steps.empty or "failed" not in steps:
        return result
    failed = steps[steps["failed"]]
    for finding in findings:
        if finding.id not in explained:
            continue
        hit = _steps_of(finding, failed)
        rows = hit[hit].index
        result.loc[rows] = result.loc[rows].fillna(finding.id)
    return result


def link_findings(findings: list[Finding], logins: Logins) -> dict[str, dict[str, Any]]:
    """Findings -> the logins they broke; also fills `logins.steps["finding"]` (a failed request's
    explaining finding, by id). The findings themselves are left as they are."""
    explained = finding_logins(findings, logins)
    logins.steps["finding"] = step_findings(logins.steps, findings, explained)
    return explained
