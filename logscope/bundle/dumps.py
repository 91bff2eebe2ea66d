"""What the xconf and xstat dumps share: how a quoted value is written."""

from __future__ import annotations


def unquote(value: str) -> str:
    """`"v"` -> `v`; an unquoted value is kept as it is."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
