"""The parse stage's scanner path (issue 14 item 1): the events frame it builds is the record path's,
column for column (dtypes, categories, values, order), on every sample log, the dialect corpus and a
slice of the login-storm benchmark file, with the compiled, the pyarrow and the Python scanner."""

from __future__ import annotations

import random
import subprocess
import sys
import tarfile
import tempfile
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_scan import CORPUS

from conftest import ROOT, SAMPLE_LOGS, TextMember
from logscope.parse import parse_members
from logscope.scan import BACKEND

PATHS = ["records", "python", "arrow"] + (["compiled"] if BACKEND == "compiled" else [])


def _sample_members() -> list[TextMember]:
    members = []
    for path in sorted(SAMPLE_LOGS.glob("*.tar.gz")):
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and "log" in name:
                    data = archive.extractfile(member).read()
                    source = "diags" if name.startswith("diags") else "log"
                    members.append(TextMember(data, name=f"{path.name}/{name}", source=source))
    return members


def _storm_slice() -> bytes:
    """A few thousand events of the seeded login-storm generator (sample_logs/generate.py)."""
    out = ROOT / "sample_logs" / "generate.py"
    with tempfile.TemporaryDirectory() as folder:
        target = f"{folder}/storm.txt"
        subprocess.run(
            [sys.executable, str(out), "--big", target, "--size-mb", "3", "--storm"],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        return open(target, "rb").read()


def _parse(monkeypatch, path: str, members: list) -> pd.DataFrame:
    monkeypatch.setenv("LOGSCOPE_SCANNER", "off" if path == "records" else path)
    result = parse_members(members, year=2026)
    scanned = result.stats.scanned
    assert (scanned == 0) == (path == "records"), f"{path}: {scanned} events from the scanner"
    events = result.events
    if path == "records":
        assert events["offset"].isna().all() and events["raw"].notna().all()
    else:
        assert events["offset"].notna().sum() == scanned and events["raw"].isna().sum() == scanned
    # the scanner leaves an event's text in the log: read back, it is the record path's `raw`
    events = events.assign(raw=result.texts.texts(events)).drop(columns=["offset", "length"])
    return events, result.stats.as_dict() | {"seconds": 0, "scanned": 0}, result.unrecognised


def _assert_same(monkeypatch, members: list) -> None:
    expected = _parse(monkeypatch, "records", members)
    for path in PATHS[1:]:
        got = _parse(monkeypatch, path, members)
        pd.testing.assert_frame_equal(got[0], expected[0], check_categorical=True, check_exact=True)
        assert got[1:] == expected[1:], path


def test_scanner_path_builds_the_record_paths_frame_on_every_sample_log(monkeypatch):
    _assert_same(monkeypatch, _sample_members())


def test_scanner_path_builds_the_record_paths_frame_on_the_dialect_corpus(monkeypatch):
    import logscope.lines.blocks as blocks_module

    # small blocks: one holding a wrapped or flattened event goes to the record path whole, the others
    # are scanned
    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", 2048)
    lines = CORPUS.splitlines(keepends=True)
    prefixed = b"".join(line for line in lines if b"Line " in line)  # an editor's copy: records only
    plain = b"".join(line for line in lines if b"Line " not in line)
    _assert_same(monkeypatch, [TextMember(plain, name="corpus.log"), TextMember(prefixed, name="lines.log")])


@pytest.mark.parametrize("ahead_values", [1, 1 << 40], ids=["dictionaries-joined-ahead", "joined-in-turn"])
def test_scanner_path_builds_the_record_paths_frame_on_a_storm_slice_with_small_blocks(
    monkeypatch, ahead_values
):
    import logscope.frame as frame_module
    import logscope.lines.blocks as blocks_module
    import logscope.scan.build as build_module

    data = _storm_slice()
    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", 256 * 1024)  # many blocks
    for module in (frame_module, build_module):  # many frame chunks: categories as the chunks give them
        monkeypatch.setattr(module, "FRAME_ROWS", 700)
    monkeypatch.setattr(build_module, "AHEAD_VALUES", ahead_values)  # on the build's second thread, or not
    _assert_same(monkeypatch, [TextMember(data, name="storm.log", host="expe-a")])


def test_scanner_path_matches_on_mutated_lines_cut_into_odd_blocks(monkeypatch):
    import logscope.lines.blocks as blocks_module

    lines = CORPUS.splitlines(keepends=True) + _sample_members()[0].data.splitlines(keepends=True)[:400]
    rng = random.Random(14)
    mutated = []
    for line in lines:
        if rng.random() < 0.3 and len(line) > 4:
            at = rng.randrange(len(line) - 1)
            line = (
                line[:at] + rng.choice([b"\r", b" ", b"\xff", b'"', b"|", b"\n|x", b"\xc3\xa9"]) + line[at:]
            )
        mutated.append(line)
    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", 997)
    _assert_same(monkeypatch, [TextMember(b"".join(mutated), name="mutated.log")])


def test_span_copy_by_take_equals_the_string_view_path_and_declines_overlapping_spans():
    import numpy as np

    from logscope.scan.columns import _span_take, _span_views

    rng = np.random.default_rng(14)
    block = bytes(rng.integers(32, 127, 5000, dtype=np.uint8)) + "é€".encode()
    starts = np.sort(rng.choice(4900, 800, replace=False))
    lengths = np.minimum(np.diff(np.append(starts, len(block))), rng.integers(0, 9, 800))
    lengths = np.where(rng.random(800) < 0.1, -1, lengths)
    for order in (np.arange(800), rng.permutation(800)):  # in block order, and shuffled
        s, n = starts[order], lengths[order]
        assert _span_take(block, s, n, n >= 0).equals(_span_views(block, s, n, n >= 0))
    overlapping = np.array([10, 12]), np.array([5, 5])
    assert _span_take(block, *overlapping, np.array([True, True])) is None


@pytest.mark.skipif(BACKEND != "compiled", reason="the compiled scanner is not built")
def test_compiled_span_copy_equals_the_string_view_path_and_refuses_spans_outside_the_block():
    import numpy as np

    from logscope.scan import _cscan
    from logscope.scan.columns import _span_views, span_strings

    rng = np.random.default_rng(14)
    block = bytes(rng.integers(32, 127, 5000, dtype=np.uint8)) + "é€".encode()
    starts = rng.integers(0, 4900, 2000)
    lengths = np.where(rng.random(2000) < 0.1, -1, rng.integers(0, 100, 2000))
    assert span_strings(block, starts, lengths).equals(_span_views(block, starts, lengths, lengths >= 0))
    for start, length in ((4990, 20), (-1, 2), (0, 2**40)):
        with pytest.raises(ValueError):
            _cscan.gather(block, np.array([start], np.int64), np.array([length], np.int64))


@pytest.mark.parametrize(
    ("setting", "said"),
    [("off", "records path"), ("python", "Python scanner"), ("arrow", "pyarrow scanner")]
    + ([("", "compiled scanner")] if BACKEND == "compiled" else []),
)
def test_version_says_which_parse_path_is_in_use(monkeypatch, setting, said):
    from click.testing import CliRunner

    from logscope.cli import main

    monkeypatch.setenv("LOGSCOPE_SCANNER", setting)
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "version" in result.output and said in result.output


def test_the_scans_decoding_caches_are_dropped_once_the_frame_is_built(monkeypatch):
    from logscope.scan import values

    _parse(monkeypatch, "compiled" if BACKEND == "compiled" else "arrow", _sample_members()[:3])
    assert not values._OPENSSL


_LOCAL_TIMES = st.builds(
    "{} {:>2} {:02d}:{:02d}:{:02d}".format,
    st.sampled_from(["Jan", "Feb", "Mar", "Jun", "Dec"]),
    st.integers(1, 31),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@example(local="Mar  4 09:07:30", universal=datetime(2026, 3, 4, 9, 0, 0), fraction=0)  # half: to even
@example(local="Mar  4 09:22:30", universal=datetime(2026, 3, 4, 9, 0, 0), fraction=0)
@example(local="Dec 31 23:30:00", universal=datetime(2027, 1, 1, 0, 15, 0), fraction=5)  # year before
@example(local="Feb 29 10:00:00", universal=datetime(2025, 2, 28, 9, 0, 0), fraction=0)  # no leap year near
@example(local="Mar  4 09:12:44", universal=datetime(2026, 3, 5, 9, 12, 44), fraction=0)  # a day ahead
@given(
    local=_LOCAL_TIMES,
    universal=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31)),
    fraction=st.integers(0, 999),
)
def test_bsd_zones_from_utctime_are_the_record_paths(local, universal, fraction):
    """A BSD line's zone from its UTCTime, computed in bulk, is the one bsd_with_zone writes (nearest
    year of the local time, a quarter-hour offset); a local time it cannot read, or a zone of a day or
    more that the record path's time parser refuses, sends the line to the record path instead."""
    from logscope.frame import _to_utc
    from logscope.lines.grammar import _UTC_TIME, bsd_with_zone
    from logscope.scan.times import bsd_zones, zone_texts

    universal = universal.replace(microsecond=0)
    body = f'UTCTime="{universal:%Y-%m-%d %H:%M:%S},{fraction:03d}"'
    universal_ns = int(pd.Timestamp(universal, tz="UTC").value) + fraction * 1_000_000
    zone, readable = bsd_zones(pa.array([local]), np.array([universal_ns], np.int64))
    try:
        written = bsd_with_zone(local + ".000", _UTC_TIME.search(body))
    except ValueError:  # no year makes the local time valid: the record path decides
        assert not readable[0]
        return
    expected_ts = _to_utc(pd.Series([written]))[0]
    if not readable[0]:
        assert pd.isna(expected_ts) or abs(int(zone[0])) >= 86_400
        return
    assert written.endswith(zone_texts(zone)[0])
    assert expected_ts.value == universal_ns


def test_bsd_and_diags_lines_are_built_by_the_scanner_as_the_record_path_reads_them(monkeypatch):
    """BSD syslog lines (timed by a UTCTime body or with no zone at all) and ATS diags lines, with no
    year given: the scanner path builds them itself, into the record path's frame (times in the
    latest year not in the future, zones from UTCTime, `UTC assumed`, then the node's zone)."""
    import random

    from dialects import bsd_syslog

    logs = [m for m in _sample_members() if "/loggingsnapshot_" in m.display()]
    members = []
    for member in logs[:6] + [m for m in _sample_members() if m.display().endswith("diags.log")]:
        text = member.data.decode("utf-8")
        if not member.display().endswith("diags.log"):
            text = "\n".join(bsd_syslog(text.splitlines(), random.Random(5))) + "\n"
        members.append(TextMember(text.encode(), name=member.display(), source=member.source))
    frames = {}
    for path in ("records", "compiled" if BACKEND == "compiled" else "arrow"):
        monkeypatch.setenv("LOGSCOPE_SCANNER", "off" if path == "records" else path)
        result = parse_members(members)
        frames[path] = result.events.assign(raw=result.texts.texts(result.events)).drop(
            columns=["offset", "length"]
        )
        if path != "records":
            assert result.stats.scanned > 0.9 * len(result.events)
    zones = set(frames["records"]["ts_offset"].astype(str))
    assert "unknown" in zones and any(zone[:1] in "+-" for zone in zones)
    pd.testing.assert_frame_equal(*frames.values(), check_categorical=True, check_exact=True)


_TIME_ENDS = st.sampled_from(
    ["Z", "+01:00", "-0530", "+1:00", "+01:0", "z", "\u0663\u0663:00", "é", "", "ZZ", "+01:00\n"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.tuples(st.text(max_size=12), _TIME_ENDS).map("".join)), max_size=30))
def test_zone_offsets_read_once_per_tail_equal_the_pattern_over_the_whole_text(texts):
    from logscope.scan.events import _OFFSET, zone_offsets

    array = pa.array(texts, pa.string())
    whole = pc.struct_field(pc.extract_regex(array, _OFFSET), "offset") if texts else array
    block, starts, lengths = b"", [], []
    for text in texts:  # each time text in a block of its own bytes, after a non-ASCII character
        data = b"" if text is None else text.encode()
        block += "\u00e9".encode()
        starts.append(len(block))
        lengths.append(-1 if text is None else len(data))
        block += data
    tails = zone_offsets(block, np.array(starts, np.int64), np.array(lengths, np.int64))
    assert tails.strings().to_pylist() == whole.to_pylist()
