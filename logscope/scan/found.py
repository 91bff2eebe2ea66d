"""The lines each reader of a log looks for in a block, found with the block's scan (issue 14).

The safety net (logscope.lines.phrases), the traversal reader (logscope.lines.tvcs) and the markers
(logscope.markers) look for a few lines in every block of whole lines. What they find depends on the
block and its first line number alone, so it is found where the block is scanned (the helper process
scans some, logscope.scan.ahead), and the parse stage, which follows the log in order, only reads what
was found: the lines are the same whoever finds them, and the readers' own state (the net's pending
lines, the caps on markers and tvcs lines) stays with the parse stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from logscope.lines.blocks import LINE_PREFIX_WORDS, has_line_prefixes
from logscope.lines.phrases import LineFinder, SharedLineFinder, lines_holding, phrase_lines, phrase_list
from logscope.lines.tvcs import MARKER_WORDS, marker_lines, names_tvcs
from logscope.markers import TOKEN_WORDS, marked_lines


@dataclass
class BlockLines:
    """What a block holds for the readers, each list in block order."""

    phrases: list[tuple[int, bytes]]  # the safety net's lines: `phrases.phrase_lines`
    tvcs: list[tuple[int, str]]  # lines holding a tvcs marker (an unwrapped log): `tvcs.marker_lines`
    names_tvcs: bool  # whether the block shows tvcs logging: `tvcs.names_tvcs`
    markers: list[tuple[int, str]]  # DEBUG_MARKER lines: `markers.marked_lines`
    line_prefixes: bool  # an editor's `Line N: ` prefixes: `blocks.has_line_prefixes`


def block_lines(block: bytes, line_base: int, find: LineFinder = lines_holding) -> BlockLines:
    """The lines of `block` (whole lines, the first one numbered `line_base`) the readers want; one
    `find` pass over the block serves the safety net, the traversal reader, the markers and the
    scanner's check for line prefixes."""
    finder = SharedLineFinder(find, (phrase_list().prefilter, MARKER_WORDS, LINE_PREFIX_WORDS, TOKEN_WORDS))
    return BlockLines(
        phrases=phrase_lines(block, line_base, finder),
        tvcs=marker_lines(block, line_base, finder),
        names_tvcs=names_tvcs(block),
        markers=marked_lines(block, line_base, finder),
        line_prefixes=has_line_prefixes(block, (start for start, _ in finder(block, LINE_PREFIX_WORDS))),
    )
