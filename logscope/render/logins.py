"""Logins as plain values: the JSON `logins` array, the page's Logins section and the terminal
(issue 16). One place turns the frames into dicts, so the three agree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from logscope.render.formatting import visible_controls

if TYPE_CHECKING:
    from logscope.report import Report

STEP_FIELDS = (
    "seq",
    "step",
    "method",
    "path",
    "server",
    "port",
    "status",
    "tls_failure",
    "finding",
    "txn_id",
)


def login_documents(report: Report, *, user: str | None = None) -> list[dict[str, Any]]:
    """Every login attempt (of `user` when given, case-insensitive), each with the ladder of its requests."""
    logins, steps = report.logins, report.login_steps
    if logins is None or logins.empty or steps is None:
        return []
    if user is not None:
        logins = logins[logins["user"].str.lower().eq(user.lower()).fillna(False).astype(bool)]
    return documents_of(logins, steps[steps["login"].isin(logins["login"])])


def documents_of(logins: pd.DataFrame, steps: pd.DataFrame) -> list[dict[str, Any]]:
    """The login objects of `logins`, with their `steps`; built column-wise (a storm has many)."""
    ladders: dict[int, list[dict[str, Any]]] = {}
    for login, step in zip(_column(steps, "login"), _records(steps), strict=True):
        ladders.setdefault(login, []).append(step)
    documents = []
    for row in _rows(logins):
        ladder = ladders.get(row["login"], [])
        failed = row["failed_step"]
        finding = next((s["finding"] for s in ladder if s["step"] == failed and s["finding"]), None)
        row["finding"] = finding
        row["steps"] = ladder
        documents.append(row)
    return documents


LOGIN_FIELDS = ("login", "user", "device", "node", "start", "end", "outcome", "failed_step", "requests")


def _rows(logins: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [_column(logins, name) for name in LOGIN_FIELDS]
    stages = [dict(value) for value in logins["stages"]]
    return [
        {
            "login": login,
            "user": user,
            "device": device,
            "node": node,
            "start": start,
            "end": end,
            "outcome": outcome,
            "failed_step": failed_step,
            "requests": requests,
            "stages": stage,
        }
        for (login, user, device, node, start, end, outcome, failed_step, requests), stage in zip(
            zip(*columns, strict=True), stages, strict=True
        )
    ]


def _records(steps: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per step, keys in STEP_FIELDS order then start and failed (a dict display per row:
    the storm's tens of thousands of steps made `dict(zip(...))` the render's cost)."""
    names = (*STEP_FIELDS, "start", "failed")
    columns = [_column(steps, name) if name in steps else [None] * len(steps) for name in names]
    return [
        {
            "seq": seq,
            "step": step,
            "method": method,
            "path": path,
            "server": server,
            "port": port,
            "status": status,
            "tls_failure": tls_failure,
            "finding": finding,
            "txn_id": txn_id,
            "start": start,
            "failed": failed,
        }
        for (
            seq,
            step,
            method,
            path,
            server,
            port,
            status,
            tls_failure,
            finding,
            txn_id,
            start,
            failed,
        ) in zip(*columns, strict=True)
    ]


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """A column as plain Python values: NA -> None, times -> ISO text, numbers -> int."""
    column = frame[name]
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column):
        return iso_times(column)
    if name == "failed":
        return [bool(value) for value in column.tolist()]
    missing = column.isna().to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(column.dtype):
        values = column.to_numpy(dtype="int64", na_value=0).astype(object)
    else:
        values = column.to_numpy(dtype=object)
    values[missing] = None
    return values.tolist()


def iso_times(column: pd.Series) -> list[str | None]:
    """`Timestamp.isoformat()` of each time (None for NaT), formatted by numpy for UTC and naive
    times: fractional digits only when present (6, or 9 when below a microsecond), then +00:00."""
    tz = getattr(column.dtype, "tz", None)
    if tz is not None and str(tz) != "UTC":
        text = column.map(lambda value: value.isoformat(), na_action="ignore")
        return [None if pd.isna(value) else value for value in text.tolist()]
    stamps = column.to_numpy(dtype="datetime64[ns]")
    ticks = stamps.astype("int64")
    seconds = np.datetime_as_string(stamps, unit="s")
    micro = np.datetime_as_string(stamps, unit="us")
    nano = np.datetime_as_string(stamps, unit="ns")
    text = np.where(ticks % 1000 != 0, nano, np.where(ticks % 1_000_000_000 != 0, micro, seconds))
    if tz is not None:
        text = np.char.add(text, "+00:00")
    result = text.astype(object)
    result[np.isnat(stamps)] = None
    return result.tolist()


def finding_logins(report: Report, finding_id: str) -> dict[str, Any] | None:
    """The logins a finding broke: {count, users_count, first_users, logins}; None when none."""
    return report.finding_logins.get(finding_id)


def logins_text(documents: list[dict[str, Any]], *, user: str | None = None, incomplete: bool = False) -> str:
    """The terminal listing of `logscope logins`: one line per attempt, then its ladder, indented."""
    if not documents:
        who = f" of user {plain(user)}" if user else ""
        unread = " read (some input was not read)" if incomplete else ""
        return f"No MRA login attempts{who} in the log{unread}.\n"
    lines = []
    for login in documents:
        failed = f" at {login['failed_step']}" if login["failed_step"] else ""
        cause = f" ({plain(login['finding'])})" if login["finding"] else ""
        lines.append(
            f"#{login['login']} {plain(login['user'] or '?')} device {plain(login['device'] or '?')}"
            f" on {plain(login['node'] or '?')} at {login['start'] or '?'}: {login['outcome']}{failed}{cause}"
        )
        for step in login["steps"]:
            broke = f"  {plain(step['tls_failure'])}" if step["tls_failure"] else ""
            lines.append(
                f"    {step['step']:<13} {plain(step['method'] or '')} {plain(step['server'] or '?')}:"
                f"{step['port'] if step['port'] is not None else '?'}{plain(step['path'] or '')}"
                f" -> {step['status'] if step['status'] is not None else 'no answer'}{broke}"
            )
        unknown = [name for name, state in login["stages"].items() if state == "unknown"]
        if unknown:
            lines.append(f"    not in the log (unknown): {', '.join(unknown)}")
    return "\n".join(lines) + "\n"


def logins_summary(report: Report) -> str | None:
    """The terminal's one line about logins: how many attempts, how many failed, at which steps."""
    logins = report.logins
    if logins is None or logins.empty:
        return None
    failed = logins[logins["outcome"] == "failed"]
    if failed.empty:
        return f"Logins: {len(logins)} MRA login attempt(s), none failed (see `logscope logins`)."
    steps = failed["failed_step"].value_counts()
    where = ", ".join(f"{count} at {step}" for step, count in steps.items())
    users = failed["user"].dropna().nunique()
    return (
        f"Logins: {len(failed)} of {len(logins)} MRA login attempt(s) failed ({where}); {users} user(s)"
        " (see `logscope logins`)."
    )


def plain(text: Any) -> str:
    """Log text for a terminal: control characters made visible, one line."""
    return visible_controls(str(text), keep_newlines=False)


MAX_PAGE_LOGINS = 200  # the page lists the failed attempts first, then the others, up to this many


def logins_context(report: Report) -> dict[str, Any]:
    """The page's Logins section: failed attempts first, each with its ladder of requests."""
    from logscope.render.formatting import format_time

    logins, steps = report.logins, report.login_steps
    if logins is None or logins.empty or steps is None:
        return {"logins": [], "more_logins": 0}
    ordered = logins.sort_values("outcome", key=lambda o: o != "failed", kind="stable")
    chosen = ordered.head(MAX_PAGE_LOGINS)
    shown = documents_of(chosen, steps[steps["login"].isin(chosen["login"])])
    for login in shown:
        login["start_text"] = format_time(login["start"]) if login["start"] else "?"
        login["unknown"] = [name for name, state in login["stages"].items() if state == "unknown"]
        for step in login["steps"]:
            step["time_text"] = format_time(step["start"], with_date=False) if step["start"] else "?"
    return {"logins": shown, "more_logins": len(logins) - len(shown)}


def broke_text(report: Report, finding_id: str) -> str:
    """What a finding did to logins, in words: "3 login attempt(s) of 2 user(s): emusk, jdoe"."""
    broke = report.finding_logins.get(finding_id)
    if not broke:
        return ""
    users = ", ".join(plain(user) for user in broke["first_users"])
    more = (
        f" and {broke['users_count'] - len(broke['first_users'])} more"
        if broke["users_count"] > len(broke["first_users"])
        else ""
    )
    named = f": {users}{more}" if users else ""
    return f"{broke['count']} login attempt(s) of {broke['users_count']} user(s) failed{named}"
