"""Text every renderer shows the same way: log text made safe to display, times in UTC, numbers.

Every string shown comes, directly or through a signature's text, from a customer's log, so it is
hostile: control characters are made visible so escape sequences in a log never reach a terminal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd

# C0 controls except newline and tab, DEL, C1 controls, and the Unicode bidi overrides/isolates that
# can make a log line read differently from what it says ("trojan source").
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ONE_LINE_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(text: str, *, keep_newlines: bool = True) -> str:
    """Replace control and bidi-override characters by a visible escape such as ``\\x1b``."""
    pattern = UNSAFE_CHARS if keep_newlines else ONE_LINE_UNSAFE
    return pattern.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clip(text: str, width: int) -> str:
    """Cut `text` to `width` characters, ending in an ellipsis when something was cut."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def format_time(value: Any, *, with_date: bool = True, milliseconds: bool = True) -> str:
    """A time in UTC as ``2022-07-11 16:55:25.910`` (milliseconds only when not zero); '' if unknown."""
    stamp = _utc(value)
    if stamp is None:
        return ""
    text = stamp.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    if stamp.microsecond and milliseconds:
        text += f".{stamp.microsecond // 1000:03d}"
    return text


def _utc(value: Any) -> datetime | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def time_span(first: Any, last: Any, *, milliseconds: bool = True) -> str:
    """``2022-07-11 16:55:25 – 17:49:01`` (the date once when both ends share it); '' if unknown."""
    start = format_time(first, milliseconds=milliseconds)
    end = format_time(last, milliseconds=milliseconds)
    if not start or not end:
        return start or end
    if start == end:
        return start
    return f"{start} – {end[11:] if start[:10] == end[:10] else end}"


def time_range_text(first: Any, last: Any) -> str:
    span = time_span(first, last)
    return f"{span} UTC" if span else "unknown"


def format_number(value: Any) -> str:
    """A statistic for people: thousands separated, floats to three significant digits below 100."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.3g}" if value < 100 else f"{value:,.0f}"
