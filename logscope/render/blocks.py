"""Finding texts as blocks: plain text with "- " bullets becomes paragraphs, lists and CLI commands.

The HTML template lays the blocks out (nothing log-derived is ever marked safe); the terminal text
takes the first line of an action from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CLI_LINE = re.compile(r"^\s*(xConfiguration|xCommand|xStatus)\b")


@dataclass
class TextBlock:
    """A paragraph (`p`), a bullet list (`ul`) or CLI commands (`code`) of a finding text."""

    kind: str
    lines: list[str] = field(default_factory=list)


def text_blocks(text: str) -> list[TextBlock]:
    """Split a plain finding text into blocks: "- " lines become a list, CLI commands a code block.

    Each other line is its own paragraph (signature texts write one paragraph per line).
    """
    blocks: list[TextBlock] = []
    for raw_line in (text or "").splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith(("- ", "* ")):
            kind, line = "ul", line[2:].strip()
        elif CLI_LINE.match(line):
            kind = "code"
        else:
            kind = "p"
        if blocks and blocks[-1].kind == kind and kind != "p":
            blocks[-1].lines.append(line)
        else:
            blocks.append(TextBlock(kind, [line]))
    return blocks


def first_action_line(text: str) -> str:
    """The first sentence-bearing line of an action text (what to do first)."""
    blocks = text_blocks(text)
    return blocks[0].lines[0] if blocks else ""


def first_action_lines(text: str) -> list[str]:
    """The first line of an action, with the commands it introduces when it ends in a colon: the
    remedy of "Enable the debug loggers:" is the commands, not the sentence."""
    blocks = text_blocks(text)
    if not blocks:
        return []
    first = blocks[0].lines[0]
    if first.endswith(":") and len(blocks) > 1 and blocks[1].kind == "code":
        return [first, *blocks[1].lines]
    return [first]
