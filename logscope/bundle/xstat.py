"""The status dump (xstat): its spec, its `*s` items, and the software version they name.

The bundle reads it for node facts (host name, version, role); see :mod:`logscope.bundle.facts`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from logscope.bundle.dumps import unquote
from logscope.bundle.spec import HOST_TS, IN_ARCHIVE, SourceSpec, name_patterns

XSTAT = SourceSpec(
    "xstat",
    "the status dump (xstat_dump_<host>_<timestamp>.txt)",
    name_patterns(rf"^xstat_dump{HOST_TS}\.(txt|xml)$", r"^xstat.*\.(txt|xml)$"),
    re.compile(rb"(?m)^\*s \w|<Status[\s>]"),
    False,
    f"{IN_ARCHIVE} Or save the output of `xStatus` from the Expressway CLI.",
    line_oriented=True,
)

_XSTAT_LINE = re.compile(r"^(?P<indent> *)(?:\*s )?(?P<key>[^:*\s][^:]*?)\s*:\s?(?P<value>.*?)\s*$")
_VERSION = re.compile(r"\bX\d+(?:\.\d+)*")
_XML_VERSION = re.compile(r"<Version\b[^>]{0,80}>\s*(X\d+(?:\.\d+)+)")


def xstat_items(lines: Sequence[str]) -> list[tuple[tuple[str, ...], str]]:
    """xStatus dumps -> [(("SystemUnit", "Software", "Version"), "X14.2.1"), ...], in dump order.

    Accepts the flat form (`*s SystemUnit Software Version: "X14.2.1"`) and blocks opened by
    `*s SystemUnit:` or `*s SystemUnit: /` with indented `Key: "value"` lines (nested); any other
    line that is not indented (`*s/end`, `OK`) closes the block.
    """
    items: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []  # (indent, name) of the open blocks
    for line in lines:
        match = _XSTAT_LINE.match(line)
        top = line.startswith("*s ")
        if not match or not (top or (stack and line.startswith(" "))):
            if not line.startswith(" "):
                stack.clear()
            continue
        indent = -1 if top else len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if match["value"] and match["value"] != "/":
            items.append(((*(name for _, name in stack), match["key"]), unquote(match["value"])))
        else:
            stack.append((indent, match["key"]))
    return items


def parse_xstat(lines: Sequence[str]) -> dict[str, str]:
    """xStatus dumps -> flat {"SystemUnit Software Version": "X14.2.1"} (see :func:`xstat_items`)."""
    return {" ".join(path): value for path, value in xstat_items(lines)}


def version_from(status: dict[str, str], text: str = "") -> str:
    """The software version ("X14.2.1") from xStatus items, else from an XML dump's text."""
    keys = ["SystemUnit Software Version", *(key for key in status if key.endswith("Software Version"))]
    for key in keys:
        match = _VERSION.search(status.get(key, ""))
        if match:
            return match[0]
    match = _XML_VERSION.search(text)
    return match[1] if match else "unknown"
