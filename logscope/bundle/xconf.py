"""The configuration dump (xconf): its spec and its `*c xConfiguration` items.

The bundle reads it for node facts (host name, role); see :mod:`logscope.bundle.facts`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from logscope.bundle.dumps import unquote
from logscope.bundle.spec import HOST_TS, IN_ARCHIVE, SourceSpec, name_patterns

XCONF = SourceSpec(
    "xconf",
    "the configuration dump (xconf_dump_<host>_<timestamp>.txt)",
    name_patterns(rf"^xconf_dump{HOST_TS}\.(txt|xml)$", r"^xconf.*\.(txt|xml)$"),
    re.compile(rb"(?m)^\*c xConfiguration |<Configuration[\s>]"),
    False,
    f"{IN_ARCHIVE} Or save the output of `xConfiguration` from the Expressway CLI.",
    line_oriented=True,
)

_XCONF_LINE = re.compile(r"^\*c xConfiguration (?P<key>[^:]+?)\s*:\s?(?P<value>.*?)\s*$")


def xconf_items(lines: Sequence[str]) -> list[tuple[str, str]]:
    """Every `*c xConfiguration A B: "v"` line as ("A B", "v"), as spelled, quoted or not."""
    return [(match["key"], unquote(match["value"])) for line in lines if (match := _XCONF_LINE.match(line))]


def parse_xconf(lines: Sequence[str]) -> dict[str, str]:
    """`*c xConfiguration A B: "v"` lines -> {"A B": "v"} (the last value of a repeated path wins)."""
    return dict(xconf_items(lines))


_OLD_SPELLINGS = ((re.compile(r"^SIP Domains Domain (\d+) "), r"SIP Domain \1 "),)


def canonical_path(path: str) -> str:
    """One spelling per setting: older VCS releases write `SIP Domains Domain <n> Name`."""
    for pattern, replacement in _OLD_SPELLINGS:
        path = pattern.sub(replacement, path)
    return path


def config_rows(lines: Sequence[str]) -> list[tuple[str, str]]:
    """Every `*c xConfiguration` line as (canonical path, value), in dump order, quoted or not."""
    return [(canonical_path(path), value) for path, value in xconf_items(lines)]
