"""The timeline picture: transactions per server over time, coloured by outcome, with TLS failure
marks, laid out as data (an SVG the template draws) within a budget of points."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from logscope.markers import MARKER, marker_text
from logscope.render.budgets import MAX_TIMELINE_POINTS, MAX_TIMELINE_ROWS
from logscope.render.formatting import clip, format_time
from logscope.render.servers import (
    OUTCOME_TITLES,
    OUTCOMES,
    failure_servers,
    marker_failures,
    outcome_of,
    text_column,
    transaction_servers,
)

if TYPE_CHECKING:
    from logscope.report import Report


@dataclass
class Timeline:
    """An SVG picture as data: the template draws it, nothing here is markup."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    rows: list[dict[str, Any]]
    points: list[tuple[float, float, str]]
    marks: list[tuple[float, float]]
    ticks: list[tuple[float, str]]
    axis_title: str
    total_points: int
    drawn_points: int
    row_height: int
    by_node: bool = False
    markers: list[tuple[float, str, str]] = field(default_factory=list)  # (x, text, time): DEBUG_MARKER

    @property
    def sampled(self) -> bool:
        return self.drawn_points < self.total_points


def even_sample(count: int, keep: int) -> np.ndarray:
    """`keep` positions spread evenly over range(count), first and last included."""
    if keep >= count:
        return np.arange(count)
    if keep <= 0:
        return np.arange(0)
    return np.unique(np.linspace(0, count - 1, keep).round().astype(int))


def share_budget(sizes: dict[str, int], budget: int) -> dict[str, int]:
    """Split `budget` among groups, smallest first, so rare groups (failures) keep all their points."""
    shares: dict[str, int] = {}
    remaining, groups = budget, len(sizes)
    for name, size in sorted(sizes.items(), key=lambda item: item[1]):
        shares[name] = min(size, remaining // groups) if groups else 0
        remaining -= shares[name]
        groups -= 1
    return shares


def build_timeline(report: Report, max_points: int = MAX_TIMELINE_POINTS) -> Timeline | None:
    """Transactions per server over time, coloured by outcome, with TLS failure marks.

    Rows are servers, those with the most trouble (anything but an answered request) on top. When
    several cluster nodes proxied, a row is a server as one node saw it: a node that lacks a CA
    fails while its peer works.
    """
    txns, failures = report.transactions, marker_failures(report.tls_failures)
    parts: list[pd.DataFrame] = []
    if not txns.empty and "start" in txns:
        parts.append(
            _timeline_frame(
                txns,
                "start",
                _with_port(txns, transaction_servers(txns), "upstream_port", "route_port"),
                outcome_of(text_column(txns, "status")),
            )
        )
    if not failures.empty and "ts" in failures:
        parts.append(
            _timeline_frame(failures, "ts", _with_port(failures, failure_servers(failures), "port"), "tls")
        )
    if not parts:
        return None
    data = pd.concat(parts, ignore_index=True)
    data["time"] = pd.to_datetime(data["time"], utc=True, errors="coerce")
    data = data.dropna(subset=["time"])
    if data.empty:
        return None
    by_node = data["node"].dropna().nunique() > 1
    if by_node:
        data["server"] = data["server"] + " @ " + data["node"].fillna("?").astype(str)
    data = data.sort_values("time", kind="stable").reset_index(drop=True)
    data["server"], other = _fold_rare_rows(data["server"], MAX_TIMELINE_ROWS)
    timeline = _layout(data, max_points, other)
    timeline.by_node = by_node
    timeline.markers = _markers(report, data["time"].iloc[0], data["time"].iloc[-1], timeline)
    return timeline


def _with_port(frame: pd.DataFrame, servers: pd.Series, *columns: str) -> pd.Series:
    """`server:port`, so a port that works beside one that fails (8443 and 6972) are two rows."""
    port = pd.Series(pd.NA, index=frame.index, dtype=object)
    for column in columns:
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce").astype("Int64").astype(object)
            port = port.where(port.notna(), values.where(values.notna(), pd.NA))
    named = servers.astype(str)
    return named.where(port.isna(), named + ":" + port.astype(str))


def _markers(report: Any, start: pd.Timestamp, end: pd.Timestamp, timeline: Timeline) -> list:
    """The lines an admin marked while logging (a line holding DEBUG_MARKER; the text follows it):
    those the parse stage found in any line of the logs, and marked events of a Report built without them."""
    found = {(m["file"], m["line"]): (m["ts"], m["text"]) for m in getattr(report, "markers", None) or []}
    events = report.events
    if not events.empty and {"raw", "ts", "source", "line"} <= set(events.columns):
        marked = events[events["raw"].astype(str).str.contains(MARKER, regex=False, na=False)]
        for source, line, ts, raw in zip(
            marked["source"], marked["line"], marked["ts"], marked["raw"], strict=True
        ):
            found.setdefault((str(source), line), (ts, marker_text(str(raw))))
    span = max((end - start).total_seconds(), 0.0)
    x0, x1 = timeline.plot_left + 8, timeline.plot_right - 8
    markers = []
    dated = [(pd.to_datetime(ts, utc=True, errors="coerce"), text) for ts, text in found.values()]
    for when, text in sorted((item for item in dated if not pd.isna(item[0])), key=lambda item: item[0]):
        if when < start or when > end:
            continue
        x = x0 + ((when - start).total_seconds() / span if span else 0.5) * (x1 - x0)
        markers.append((round(x, 1), clip(text, 40), format_time(when)))
    return markers[:50]


def _timeline_frame(frame: pd.DataFrame, time_column: str, servers: pd.Series, kind: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {"time": frame[time_column], "server": servers, "node": text_column(frame, "node"), "kind": kind}
    )


def _fold_rare_rows(servers: pd.Series, max_rows: int) -> tuple[pd.Series, str | None]:
    """Keep the busiest servers as rows; the rest share one last row named after their number."""
    counts = servers.value_counts()
    if len(counts) <= max_rows:
        return servers, None
    keep = set(counts.index[: max_rows - 1])
    other = f"({len(counts) - len(keep)} other servers)"
    return servers.where(servers.isin(keep), other), other


def _layout(data: pd.DataFrame, max_points: int, other: str | None) -> Timeline:
    order = data["server"].value_counts()
    troubles = data.loc[data["kind"] != "ok", "server"].value_counts()
    names = sorted(
        order.index, key=lambda name: (name == other, -int(troubles.get(name, 0)), -order[name], name)
    )
    row_height, top, left, width, pad = 26, 16, 230, 1000, 8
    right = width - 20
    x0, x1 = left + pad, right - pad  # keep dots at the ends inside the plot
    bottom = top + row_height * len(names)
    height = bottom + 52
    start, end = data["time"].iloc[0], data["time"].iloc[-1]
    span = max((end - start).total_seconds(), 0.0)
    seconds = (data["time"] - start).dt.total_seconds().to_numpy()
    xs = x0 + (seconds / span if span else np.full(len(seconds), 0.5)) * (x1 - x0)
    row_of = {name: index for index, name in enumerate(names)}
    ys = top + row_height * (data["server"].map(row_of).to_numpy() + 0.5)
    kinds = data["kind"].to_numpy()
    shares = share_budget(data["kind"].value_counts().to_dict(), max_points)
    points: list[tuple[float, float, str]] = []
    marks: list[tuple[float, float]] = []
    for kind in (*OUTCOMES, "tls"):  # drawing order: failures on top of successes
        positions = np.flatnonzero(kinds == kind)
        chosen = positions[even_sample(len(positions), shares.get(kind, 0))]
        if kind == "tls":
            marks = [(round(float(xs[i]), 1), round(float(ys[i]), 1)) for i in chosen]
        else:
            points += [(round(float(xs[i]), 1), round(float(ys[i]), 1), kind) for i in chosen]
    stats = data.groupby(["server", "kind"]).size()
    rows = [
        {
            "name": name,
            "label": clip(name, 32),
            "y": top + row_height * index,
            "mid": top + row_height * (index + 0.5),
            "summary": _row_summary(name, stats),
        }
        for index, name in enumerate(names)
    ]
    return Timeline(
        width=width,
        height=height,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        rows=rows,
        points=points,
        marks=marks,
        ticks=time_ticks(start, end, x0, x1),
        axis_title=f"Time (UTC), {format_time(start)[:10]}"
        + (f" to {format_time(end)[:10]}" if format_time(end)[:10] != format_time(start)[:10] else ""),
        total_points=len(data),
        drawn_points=len(points) + len(marks),
        row_height=row_height,
    )


def _row_summary(name: str, stats: pd.Series) -> str:
    parts: list[pd.DataFrame] = []
    for kind in (*OUTCOMES, "tls"):
        count = int(stats.get((name, kind), 0))
        if count:
            parts.append(f"{count} {OUTCOME_TITLES[kind]}")
    return f"{name}: " + ", ".join(parts)


_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_ticks(start: pd.Timestamp, end: pd.Timestamp, left: float, right: float) -> list[tuple[float, str]]:
    """Round-numbered axis ticks (at most about seven) between `start` and `end`, labelled in UTC."""
    span = (end - start).total_seconds()
    if span <= 0:
        return [((left + right) / 2, format_time(start, with_date=False))]
    step = next((s for s in _TICK_STEPS if span / s <= 7), None)
    if step is None:
        step = 86400 * int(np.ceil(span / 86400 / 7))
    with_date = span >= 86400
    first = pd.Timestamp(np.ceil(start.timestamp() / step) * step, unit="s", tz="UTC")
    ticks = []
    moment = first
    while moment <= end:
        x = left + (moment - start).total_seconds() / span * (right - left)
        label = moment.strftime("%m-%d %H:%M") if with_date else moment.strftime("%H:%M:%S")
        ticks.append((round(x, 1), label))
        moment += pd.Timedelta(seconds=step)
    return ticks
