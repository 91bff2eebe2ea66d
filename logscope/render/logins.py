"""Logins as plain values: the JSON `logins` array, the page's Logins section and the terminal
(issue 16). One place turns the frames into dicts, so the three agree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from logscope.report import Report

STEP_FIELDS = ("seq", "step", "method", "path", "server", "port", "status", "tls_failure", "finding", "txn_id")


def login_documents(report: Report, *, user: str | None = None) -> list[dict[str, Any]]:
    """Every login attempt (of `user` when given, case-insensitive), each with the ladder of its requests."""
    logins, steps = report.logins, report.login_steps
    if logins is None or logins.empty or steps is None:
        return []
    if user is not None:
        logins = logins[logins["user"].str.lower().eq(user.lower()).fillna(False).astype(bool)]
    ladders = {login: rows for login, rows in steps[steps["login"].isin(logins["login"])].groupby("login")}
    return [_login(row, ladders.get(row["login"])) for row in logins.to_dict("records")]


def _login(row: dict[str, Any], ladder: pd.DataFrame | None) -> dict[str, Any]:
    steps = [] if ladder is None else [_step(step) for step in ladder.to_dict("records")]
    failed = row["failed_step"] if _present(row["failed_step"]) else None
    finding = next((s["finding"] for s in steps if s["step"] == failed and s["finding"]), None)
    return {
        "login": int(row["login"]),
        "user": _value(row["user"]),
        "device": _value(row["device"]),
        "node": _value(row["node"]),
        "start": _time(row["start"]),
        "end": _time(row["end"]),
        "outcome": str(row["outcome"]),
        "failed_step": failed,
        "finding": finding,
        "requests": int(row["requests"]),
        "stages": dict(row["stages"]),
        "steps": steps,
    }


def _step(row: dict[str, Any]) -> dict[str, Any]:
    step = {name: _value(row.get(name)) for name in STEP_FIELDS}
    step["start"] = _time(row.get("start"))
    step["failed"] = bool(row.get("failed"))
    return step


def finding_logins(report: Report, finding_id: str) -> dict[str, Any] | None:
    """The logins a finding broke: {count, users_count, first_users, logins}; None when none."""
    return report.finding_logins.get(finding_id)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float | type(pd.NA)) and pd.isna(value))


def _value(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _time(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()
