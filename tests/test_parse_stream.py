"""Reading events out of a byte stream: selection, folding, line numbers, hostile bytes."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import logscope.lines.blocks as blocks_module
import logscope.parse as parse_module
from conftest import events_of, parse_text
from logscope.frame import diags_times
from logscope.parse import ParseStats, iter_events

TS = "2022-07-11T19:49:01.472+02:00 vcsc"
DEBUG_REQUEST = (
    f'{TS} traffic_server[3916]: UTCTime="2022-07-11 17:49:01,472" Module="network.http.trafficserver" '
    'Level="DEBUG": Detail="Receive Request" Txn-id="144" TrackingID="t" Src-ip="127.0.0.1" '
    'Src-port="30044" Last-via-addr=" " HTTPMSG:\n'
    "|GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw/x HTTP/1.1\n"
    " Host: vcs_control.steven.lab:8443\n"
    " User-Agent: Jabber\n"
)
OTHER = f'{TS} tvcs: UTCTime="x" Module="network.ldap" Level="INFO": Detail="noise"\n'
WARNING = (
    f"{TS} traffic_server[3916]: [ET_NET 2] WARNING: SNI (10.48.36.215) not in certificate. "
    "Action=Terminate server=10.48.36.215(10.48.36.215)\n"
)


def test_debug_event_and_its_continuation_lines_are_one_event():
    events = events_of(OTHER + DEBUG_REQUEST + WARNING)
    assert list(events["kind"]) == ["receive_request", "sni_not_in_cert"]
    request = events.iloc[0]
    assert request["route_host"] == "10.48.36.215"
    assert "User-Agent: Jabber" in request["raw"]
    assert list(events["line"]) == [2, 6]


def test_other_processes_are_counted_but_not_kept_by_default():
    result = parse_text(OTHER * 5 + WARNING)
    assert result.stats.lines == 6
    assert len(result.events) == 1
    assert len(parse_text(OTHER * 5 + WARNING, all_events=True).events) == 6


@pytest.mark.parametrize("chunk", [7, 64, 333, 4096])
def test_chunk_boundaries_do_not_change_events(monkeypatch, chunk):
    text = (OTHER + DEBUG_REQUEST + WARNING) * 7
    expected = events_of(text)
    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", chunk)
    got = events_of(text)
    assert list(got["raw"]) == list(expected["raw"])
    assert list(got["line"]) == list(expected["line"])


def test_crlf_line_ends_parse_like_lf():
    lf = events_of(DEBUG_REQUEST + WARNING)
    crlf = events_of((DEBUG_REQUEST + WARNING).replace("\n", "\r\n"))
    assert list(crlf["kind"]) == list(lf["kind"])
    assert crlf.iloc[0]["url"] == lf.iloc[0]["url"]


def test_invalid_utf8_and_nul_are_counted_not_fatal():
    data = WARNING.encode().replace(b"certificate", b"certif\xff\x00cate", 1) + WARNING.encode()
    result = parse_text(data)
    assert result.stats.invalid_utf8 == 1
    assert len(result.events) == 2
    assert result.events.iloc[1]["kind"] == "sni_not_in_cert"


def test_a_huge_line_is_skipped_and_counted(monkeypatch):
    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(blocks_module, "MAX_LINE_BYTES", 4096)
    data = WARNING.encode() + b"x" * 50_000 + b"\n" + WARNING.encode()
    result = parse_text(data)
    assert result.stats.oversize_lines == 1
    assert list(result.events["line"]) == [1, 3]


def test_last_line_without_newline_is_kept():
    events = events_of(WARNING + WARNING.rstrip("\n"))
    assert len(events) == 2


def test_lines_without_envelope_are_kept_as_unparsed_rows():
    result = parse_text("garbage line\n" + WARNING, all_events=True)
    assert result.stats.unparsed == 1
    assert list(result.events["kind"]) == ["sni_not_in_cert", "unparsed"]
    assert result.events.iloc[1]["raw"] == "garbage line"


def test_times_are_utc_and_offsets_kept_across_nodes():
    a = "2022-07-11T18:00:00.000+02:00 c1 traffic_server[1]: [ET_NET 0] WARNING: x happened\n"
    b = "2022-07-11T11:30:00.000-05:00 c2 traffic_server[2]: [ET_NET 0] WARNING: y happened\n"
    events = events_of(a + b)
    assert [str(t) for t in events["ts"]] == ["2022-07-11 16:00:00+00:00", "2022-07-11 16:30:00+00:00"]
    assert list(events["ts_offset"]) == ["+02:00", "-05:00"]
    assert str(events["ts"].dtype) == "datetime64[ns, UTC]"


def test_frame_uses_categoricals_and_nullable_integers():
    events = events_of(DEBUG_REQUEST + WARNING)
    assert str(events["kind"].dtype) == "category"
    assert str(events["node"].dtype) == "category"
    assert str(events["txn_id"].dtype) == "Int64"
    assert str(events["dst_port"].dtype) == "Int64"
    assert str(events["url"].dtype) == "category"  # a few thousand distinct URLs in a million lines


def test_rows_with_the_same_unknown_keys_share_one_extra_dict():
    def request(txn, via):
        return DEBUG_REQUEST.replace('Txn-id="144"', f'Txn-id="{txn}"').replace('Last-via-addr=" "', via)

    events = events_of(
        request(1, 'Last-via-addr=""') + request(2, 'Last-via-addr=""') + request(3, 'New="v"')
    )
    extras = list(events["extra"])
    assert extras[0] == {"Last-via-addr": ""} and extras[0] is extras[1]
    assert extras[2] == {"New": "v"}


def test_extra_values_are_one_string_object_per_distinct_value():
    import numpy as np
    import pyarrow as pa

    from logscope.scan.coded import Coded
    from logscope.scan.events import _texts_at

    tags = Coded(np.array([1, 0, 1, -1, 1], dtype=np.int32), pa.array(["sip", "mra-login"]))
    texts = _texts_at(tags, np.array([0, 1, 2, 3, 4]))
    assert texts == ["mra-login", "sip", "mra-login", None, "mra-login"]
    assert texts[0] is texts[2] is texts[4]  # shared by the dicts that hold it, pickled once


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_and_every_event_is_accounted(data):
    result = parse_text(data, all_events=True)
    stats = result.stats
    ends = re.sub(rb"\r(?!\n)", b"\n", data)  # a lone CR ends a line too
    assert stats.lines == ends.count(b"\n") + (0 if ends.endswith(b"\n") or not ends else 1)
    assert len(result.events) == stats.events <= stats.lines
    assert stats.unparsed == int((result.events["kind"] == "unparsed").sum())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([DEBUG_REQUEST, WARNING, OTHER]), st.integers(0, 300), st.binary(max_size=8))
def test_mutated_real_lines_never_crash(line, position, junk):
    data = line.encode()
    position = min(position, len(data))
    mutated = data[:position] + junk + data[position + len(junk) :]
    result = parse_text(mutated, all_events=True)
    assert result.stats.events == len(result.events)


def test_iter_events_selects_by_needle_only():
    stats = ParseStats()
    stream = io.BytesIO((OTHER + WARNING + OTHER).encode())
    events = list(iter_events(stream, stats, needle=b" traffic_server"))
    assert [line for line, _ in events] == [2]
    assert stats.lines == 3


def test_a_time_pandas_cannot_hold_becomes_nat_not_a_crash():
    events = events_of(WARNING.replace("2022-07-11", "0022-07-11") + WARNING)
    assert events["ts"].isna().sum() == 1
    assert len(events) == 2


def test_diags_times_without_a_year_are_never_in_the_future():
    """diags.log writes no year: lines from late December read on 5 January belong to last year."""
    now = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
    times = diags_times(pd.Series(["Dec 31 23:59:59.250", "Jan  4 10:00:00.000"]), now=now)
    assert [str(t) for t in times] == ["2026-12-31 23:59:59.250000+00:00", "2027-01-04 10:00:00+00:00"]
    assert str(diags_times(pd.Series(["Dec 31 23:59:59.250"]), year=2020)[0]).startswith("2020-12-31")


def test_categories_are_text_even_when_a_value_is_not():
    from logscope.frame import _categorical

    assert _categorical(pd.Series(["a", 7, None], dtype=object)).tolist() == ["a", "7", pd.NA]
    merged = _categorical(pd.Series(["a", 1, "1", None], dtype=object))  # 1 and "1" are one category
    assert merged.tolist() == ["a", "1", "1", pd.NA] and list(merged.cat.categories) == ["1", "a"]


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_cr_only_line_ends_are_line_ends(monkeypatch, chunk):
    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", chunk)
    lf = events_of(DEBUG_REQUEST + WARNING + WARNING)
    cr = events_of((DEBUG_REQUEST + WARNING + WARNING).replace("\n", "\r"))
    assert list(cr["kind"]) == list(lf["kind"])
    assert list(cr["raw"]) == list(lf["raw"])
    assert list(cr["line"]) == list(lf["line"])


def test_a_line_whose_parsing_raises_is_counted_as_unparsed(monkeypatch):
    real = parse_module.parse_event

    def fragile(text):
        if "SNI" in text:
            raise RuntimeError("a parser bug")
        return real(text)

    monkeypatch.setattr(parse_module, "parse_event", fragile)
    monkeypatch.setenv("LOGSCOPE_SCANNER", "off")  # every event through parse_event (the scanner reads these)
    result = parse_text((DEBUG_REQUEST + WARNING).encode())
    assert list(result.events["kind"]) == ["receive_request", "unparsed"]
    assert result.stats.unparsed == 1
    assert result.stats.parse_errors == {"RuntimeError": 1}


_BLOCK_LINES = [
    b"2026-03-04T09:12:44.120+01:00 expc1 traffic_server[1]: [ET_NET 0] WARNING: x\n",
    b"Mar  4 09:12:44 expc1 traffic_server[1]: [ET_NET 0] DEBUG: y\n",
    b"  Host: cucm1.example.com\n",
    b"| HTTP/1.1 200 OK\n",
    b"HTTPMSG:\n",
    b"wrapped piece of a line\n",
    b"\n",
    b"Line 12: 2026-03-04T09:12:44Z expc1 traffic_server[1]: z\n",
    b"  Line 13: | header\n",
]


def _blocks_cut_from_whole_buffers(data: bytes, chunk: int) -> list[tuple[bytes, bool, int]]:
    """How event_blocks cut a log before it looked for the cut in each chunk first: the carried
    bytes and the chunk joined, then cut (the reference the shortcut must equal)."""
    out, carry, consumed = [], b"", 0
    for at in range(0, len(data), chunk):
        piece = data[at : at + chunk]
        consumed += len(piece)
        buffer = carry + piece
        end = buffer.rfind(b"\n")
        if end < 0:
            carry = buffer
            continue
        cut = blocks_module.event_cut(buffer, end)
        aligned = cut > 0
        cut = cut if aligned else end + 1
        out.append((buffer[:cut], aligned, consumed - len(buffer)))
        carry = buffer[cut:]
    if carry:
        out.append((carry if carry.endswith(b"\n") else carry + b"\n", True, consumed - len(carry)))
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_BLOCK_LINES), max_size=40),
    st.integers(min_value=1, max_value=400),
    st.booleans(),
)
def test_blocks_are_cut_where_a_cut_of_the_whole_buffer_would_be(lines, chunk, ends_without_newline):
    data = b"".join(lines)
    if ends_without_newline:
        data = data.rstrip(b"\n")
    stats = ParseStats()
    original = blocks_module.CHUNK_BYTES
    blocks_module.CHUNK_BYTES = chunk
    try:
        got = [
            (block, aligned, offset)
            for block, _, aligned, offset in blocks_module.event_blocks(io.BytesIO(data), stats)
        ]
    finally:
        blocks_module.CHUNK_BYTES = original
    assert got == _blocks_cut_from_whole_buffers(data, chunk)
    assert all(data[offset : offset + len(block)] == block[: len(data) - offset] for block, _, offset in got)
