"""The lines the readers of a log look for (the safety net, the traversal reader, the markers) are
found with each block's scan (logscope.scan.found), in the helper process for the blocks it scans:
what each reader reads is what it finds in the block itself."""

from __future__ import annotations

import pytest
from test_scan import CORPUS

from logscope import markers as markers_module
from logscope.lines import tvcs as tvcs_module
from logscope.lines.phrases import lines_holding, phrase_lines
from logscope.lines.tvcs import TvcsLines, marker_lines, names_tvcs
from logscope.markers import MarkerLines, marked_lines
from logscope.scan import line_finder
from logscope.scan.ahead import BlockScan, scan_block
from logscope.scan.found import block_lines

MARKED = b'2026-03-04T09:12:44.120+01:00 expc1 diag: Detail="DEBUG_MARKER before the test"\n'
TVCS = (
    b'2026-03-04T09:12:44.120+01:00 expc1 tvcs: Event="Outbound TLS Negotiation Error" Service="SIP"'
    b' Dst-ip="198.51.100.20" Dst-port="7001" Detail="Peer\'s TLS certificate identity was unacceptable"\n'
)


def _blocks() -> list[tuple[bytes, int]]:
    lines = CORPUS.splitlines(keepends=True)
    third = len(lines) // 3
    return [
        (b"".join(lines[:third]) + MARKED + TVCS, 1),
        (TVCS.lower() + b"".join(lines[third : 2 * third]) + MARKED * 2, 101),
        (b"".join(lines[2 * third :]), 5000),
    ]


@pytest.mark.parametrize("index", range(3))
def test_lines_found_for_a_block_are_those_each_reader_finds_in_it(index):
    block, line_base = _blocks()[index]
    found = block_lines(block, line_base, line_finder())
    assert found.phrases == phrase_lines(block, line_base, lines_holding)
    assert found.tvcs == marker_lines(block, line_base, lines_holding)
    assert found.names_tvcs == names_tvcs(block)
    assert found.markers == marked_lines(block, line_base)
    assert found.phrases and found.tvcs if index == 0 else True  # the planted lines are found


def test_readers_given_the_found_lines_read_what_they_read_from_the_blocks(monkeypatch):
    monkeypatch.setattr(tvcs_module, "MAX_TVCS_LINES", 1)  # the caps hold across blocks either way
    monkeypatch.setattr(markers_module, "MAX_MARKERS", 2)
    by_block, by_found = (MarkerLines(), TvcsLines()), (MarkerLines(), TvcsLines())
    for block, line_base in _blocks():
        by_block[0].reader("x.log", None)(block, line_base)
        by_block[1].reader("x.log", None)(block, line_base)
        found = block_lines(block, line_base)
        by_found[0].reader("x.log", None).found(found.markers)
        by_found[1].reader("x.log", None).found(block, line_base, found.tvcs, found.names_tvcs)
    assert by_found[0].records == by_block[0].records and len(by_block[0].records) == 2
    assert by_found[1].records == by_block[1].records and len(by_block[1].records) == 1
    assert by_found[1].seen == by_block[1].seen


def test_a_block_with_editor_line_prefixes_is_scanned_for_its_lines_and_left_to_the_record_path():
    block = b"Line 7: " + TVCS + b"Line 8: " + MARKED
    scanned = scan_block(block, BlockScan(7, b"traffic_server", 2026, "arrow", "x.log", None, 0))
    assert scanned.piece is None and scanned.declined == []
    assert scanned.lines == block_lines(block, 7) and [line for line, _ in scanned.lines.markers] == [8]
