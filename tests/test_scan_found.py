"""The lines the readers of a log look for (the safety net, the traversal reader, the markers) are
found with each block's scan (logscope.scan.found), in the helper process for the blocks it scans:
what each reader reads is what it finds in the block itself."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scan import CORPUS

from logscope import markers as markers_module
from logscope.lines import tvcs as tvcs_module
from logscope.lines.blocks import _LINE_PREFIXES as LINE_PREFIXES
from logscope.lines.phrases import lines_holding, phrase_lines
from logscope.lines.tvcs import TVCS_BARE_BODY, TVCS_PROCESS_NEEDLE, TvcsLines, marker_lines, names_tvcs
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
        (TVCS.lower() + MARKED.lower() + b"".join(lines[third : 2 * third]) + MARKED * 2, 101),
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


@pytest.mark.parametrize(
    "block, prefixed",
    [
        (b"Line 12: 2026-03-04T09:12:44Z expc1 traffic_server[1]: x\n", True),
        (b"ok\n \tLine 7: continued\n", True),
        (b"ok\nthe Line 7: is not at the start\n", False),
        (b"LINE 7: upper case\nline 8: lower case\n", False),
        (b"Line seven: no number\nLine 9 no colon\n", False),
        (b"deadline 5: online 6: \n", False),
        (CORPUS, True),  # the corpus holds a pasted excerpt with `Line N: ` prefixes
    ],
)
@pytest.mark.parametrize("compiled", [False, True])
def test_line_prefixes_are_found_with_the_readers_line_search(block, prefixed, compiled):
    """The scanner leaves a block with an editor's `Line N: ` prefixes to the record path; the
    shared line search finds them as a search of the whole block for the prefix would."""
    if compiled and line_finder() is lines_holding:
        pytest.skip("the compiled scanner is not built")
    find = line_finder() if compiled else lines_holding
    assert block_lines(block, 1, find).line_prefixes is prefixed
    assert (LINE_PREFIXES.search(block) is not None) is prefixed


@pytest.mark.parametrize("compiled", [False, True])
def test_markers_found_by_the_shared_line_search_are_those_of_a_token_search(monkeypatch, compiled):
    if compiled and line_finder() is lines_holding:
        pytest.skip("the compiled scanner is not built")
    monkeypatch.setattr(markers_module, "MAX_MARKERS", 3)
    block = MARKED.lower() + b"ok\n" + MARKED * 2 + b"DEBUG_MARKER twice DEBUG_MARKER\n" + MARKED * 2
    found = block_lines(block, 10, line_finder() if compiled else lines_holding).markers
    assert found == marked_lines(block, 10)
    assert [line for line, _ in found] == [12, 13, 14]  # the lower-cased word is not the token


_TVCS_LINES = [
    b'2026-03-04T09:12:44.120+01:00 expc1 tvcs: UTCTime="x" Event="y"\n',
    b'2026-03-04T09:12:44.120+01:00 expc1 tvcs[123]: Event="y"\n',
    b'<14>1 2026-03-04T09:12:44Z expc1\ttvcs\t- - - Event="y"\n',
    b"2026-03-04T09:12:44Z expc1 TVCS: upper case is not the process\n",
    b"2026-03-04T09:12:44Z expc1 xtvcs: another process\n",
    b"tvcs: at the start of a block, no blank before it\n",
    b"2026-03-04T09:12:44Z expc1 a tvcstvcs:\ttvcs[12] tvcs\n",
    b'Event="Outbound TLS Negotiation Error" Service="SIP" Dst-ip="198.51.100.20"\n',
    b'2026-03-04T09:12:44Z expc1 Module="network.tcp" Event="x"\n',
    b'Line 7: Module= "developer.ssl" x="y"\n',
    b'\xef\xbb\xbfEvent="x" Service = "SIP"\n',
    b'event="x" service="SIP" module="network.tcp"\n',
    b'Event="x" Service="SIPS"\r\n',
    b"2026-03-04T09:12:44Z expc1 traffic_server[1]: [ET_NET 0] WARNING: SIP network.tcp\n",
    b"\n",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TVCS_LINES), max_size=8), st.booleans())
def test_a_block_names_tvcs_when_a_search_of_the_whole_block_finds_it(lines, compiled):
    """names_tvcs tries its process pattern only where the name is: the same answer as its two
    patterns searched over the whole block."""
    block = b"".join(lines)
    find = line_finder() if compiled else lines_holding
    whole = TVCS_PROCESS_NEEDLE.search(block) is not None or TVCS_BARE_BODY.search(block) is not None
    assert names_tvcs(block) is whole
    assert block_lines(block, 1, find).names_tvcs is whole


def test_the_corpus_and_a_log_without_tvcs_are_told_apart():
    assert names_tvcs(CORPUS) is (TVCS_PROCESS_NEEDLE.search(CORPUS) is not None) is True
    without = CORPUS.replace(b"tvcs", b"tvxs").replace(b"Service=", b"Servic=").replace(b"Module=", b"Modul=")
    assert names_tvcs(without) is False
