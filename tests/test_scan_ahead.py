"""The second scanning process (logscope.scan.ahead): the frame is the same whoever scans a block,
and whatever happens to the helper."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_scan import CORPUS
from test_scan_parse import _storm_slice

import logscope.parse as parse_module
import logscope.scan.ahead as ahead_module
from conftest import TextMember
from logscope.parse import parse_members
from logscope.scan.ahead import BlockScan, ScanAhead, scan_block, wanted

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the helper is tested on POSIX")


def _parse(monkeypatch, members: list, *, ahead: bool) -> tuple:
    """Events, stats and unrecognised lines; with `ahead`, every block after the first is handed to
    the helper while it has room for it (and the number it scanned is returned too)."""
    monkeypatch.setenv("LOGSCOPE_SCAN_AHEAD", "1" if ahead else "0")
    monkeypatch.setattr(parse_module, "AFTER_BYTES", 1)
    scanned: list[int] = []
    close = ScanAhead.close

    def counting_close(self: ScanAhead) -> None:
        scanned.append(self.scanned)
        close(self)

    monkeypatch.setattr(ScanAhead, "close", counting_close)
    result = parse_members(members, year=2026)
    events = result.events.assign(raw=result.texts.texts(result.events))
    return events, result.stats.as_dict() | {"seconds": 0}, result.unrecognised, sum(scanned)


def _assert_same_with_the_helper(monkeypatch, members: list) -> None:
    expected = _parse(monkeypatch, members, ahead=False)
    got = _parse(monkeypatch, members, ahead=True)
    assert got[3] > 0, "the helper scanned no block"
    pd.testing.assert_frame_equal(got[0], expected[0], check_categorical=True, check_exact=True)
    assert got[1:3] == expected[1:3]


def test_blocks_the_helper_scans_build_the_same_frame_on_a_storm_slice(monkeypatch):
    import logscope.lines.blocks as blocks_module

    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", 256 * 1024)
    monkeypatch.setattr(ahead_module, "IN_FLIGHT", 64)  # the helper scans nearly every block
    _assert_same_with_the_helper(monkeypatch, [TextMember(_storm_slice(), name="storm.log", host="expe-a")])


def test_blocks_the_helper_scans_build_the_same_frame_on_the_dialect_corpus(monkeypatch):
    import logscope.lines.blocks as blocks_module

    # small blocks: wrapped and flattened events go to the record path, declined ones are read here,
    # and the helper and this process share the rest
    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", 4096)
    lines = CORPUS.splitlines(keepends=True)
    plain = b"".join(line for line in lines if b"Line " not in line)
    _assert_same_with_the_helper(
        monkeypatch, [TextMember(plain, name="corpus.log"), TextMember(plain, name="b.log")]
    )


def _blocks(data: bytes, count: int) -> list[tuple[bytes, BlockScan]]:
    lines = data.splitlines(keepends=True)
    size = len(lines) // count
    out, line_base, offset = [], 1, 0
    for i in range(count):
        block = b"".join(lines[i * size : (i + 1) * size])
        out.append((block, BlockScan(line_base, b"traffic_server", 2026, "arrow", "x.log", None, offset)))
        line_base, offset = line_base + size, offset + len(block)
    return out


def _same_scan(got, expected) -> None:
    assert got.declined == expected.declined and got.lines == expected.lines
    if expected.piece is None:  # a block the scanner does not take (`Line N: ` prefixes)
        assert got.piece is None
        return
    assert got.piece.keys() == expected.piece.keys()
    for column, values in expected.piece.items():
        assert got.piece[column] == values if isinstance(values, list) else got.piece[column].equals(values)


@pytest.mark.parametrize(
    "command",
    [
        ["/nonexistent/python"],  # cannot start
        [""],  # an embedded interpreter with no sys.executable
        [sys.executable, "-c", "import sys; sys.stdin.read(8)"],  # dies without a reply
        [sys.executable, "-c", "import sys; sys.stdout.write('<html>' * 99); sys.stdout.flush()"],
        [
            sys.executable,
            "-c",
            "import sys, struct; sys.stdout.buffer.write(struct.pack('<Q', 5) + b'hello')",
        ],
    ],
    ids=["cannot-start", "no-interpreter", "dies", "writes-garbage", "writes-a-bad-pickle"],
)
def test_a_helper_that_fails_leaves_every_block_to_this_process(command):
    blocks = _blocks(CORPUS, 3)
    with ScanAhead(command) as ahead:
        for block, job in blocks:
            ahead.hand(block, job)
        results = [ahead.take() for _ in blocks]
        assert ahead.failed and ahead.scanned == 0 and not ahead.free()
    for (block, job), got in zip(blocks, results, strict=True):
        _same_scan(got, scan_block(block, job))


def test_the_helper_returns_its_scans_in_the_order_they_were_handed():
    blocks = _blocks(_storm_slice()[: 400 * 1024], 4)
    with ScanAhead() as ahead:
        for block, job in blocks:
            ahead.hand(block, job)
        results = [ahead.take() for _ in blocks]
        assert ahead.scanned == len(blocks) and not ahead.failed
    for (block, job), got in zip(blocks, results, strict=True):
        _same_scan(got, scan_block(block, job))


def test_a_second_process_is_used_only_with_two_cores_unless_turned_off(monkeypatch):
    monkeypatch.delenv("LOGSCOPE_SCAN_AHEAD", raising=False)
    monkeypatch.setattr(ahead_module, "usable_cores", lambda: 1)
    assert not wanted()
    monkeypatch.setattr(ahead_module, "usable_cores", lambda: 2)
    assert wanted()
    monkeypatch.setenv("LOGSCOPE_SCAN_AHEAD", "0")
    assert not wanted()
    monkeypatch.setattr(ahead_module, "usable_cores", lambda: 1)
    monkeypatch.setenv("LOGSCOPE_SCAN_AHEAD", "1")
    assert wanted()


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("0", "scanning: one process (LOGSCOPE_SCAN_AHEAD=0)"),
        ("1", "scanning: a second process scans blocks"),
    ],
)
def test_version_says_whether_a_second_process_scans(monkeypatch, setting, said):
    from click.testing import CliRunner

    from logscope.cli import main

    monkeypatch.setenv("LOGSCOPE_SCANNER", "compiled")
    monkeypatch.setenv("LOGSCOPE_SCAN_AHEAD", setting)
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and said in result.output


def test_a_log_under_the_threshold_is_scanned_without_starting_the_helper(monkeypatch):
    """Many tiny blocks are not a large log: the helper starts only once AFTER_BYTES were scanned."""
    import logscope.lines.blocks as blocks_module

    monkeypatch.setenv("LOGSCOPE_SCAN_AHEAD", "1")
    monkeypatch.setattr(blocks_module, "CHUNK_BYTES", 64 * 1024)  # a 3 MB slice in ~50 blocks
    started: list[ScanAhead] = []

    def record_start(self: ScanAhead) -> None:  # and fail, so the blocks are scanned here
        started.append(self)
        self.failed = True

    monkeypatch.setattr(ScanAhead, "_start", record_start)
    parse_members([TextMember(_storm_slice(), name="storm.log", host="expe-a")], year=2026)
    assert started == []


def test_the_helpers_column_buffers_arrive_in_arrows_memory_pool():
    """Held in Python's heap, a 1 GiB log's pieces kept ~150 MiB with the process after the build."""
    import pyarrow as pa

    (block, job), *_ = _blocks(_storm_slice()[: 400 * 1024], 1)
    with ScanAhead() as ahead:
        before = pa.total_allocated_bytes()
        ahead.hand(block, job)
        got = ahead.take()
        grown = pa.total_allocated_bytes() - before
        assert ahead.scanned == 1
        columns = [column for column in got.piece.values() if isinstance(column, pa.Array)]
        assert grown >= sum(column.nbytes for column in columns) > 0


def test_replies_waiting_to_be_taken_leave_the_helper_free_for_more_blocks(monkeypatch):
    monkeypatch.setattr(ahead_module, "IN_FLIGHT", 2)
    blocks = _blocks(CORPUS, 2)
    with ScanAhead() as ahead:
        for block, job in blocks:
            ahead.hand(block, job)
        assert not ahead.free()  # two handed, the helper still starting
        deadline = time.monotonic() + 60
        while ahead._replies.qsize() < len(blocks) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ahead.free() and ahead.ready()  # scanned, not yet taken: the helper is idle
        [ahead.take() for _ in blocks]


def test_batch_workers_start_no_helper_unless_the_pool_has_one_worker(monkeypatch):
    from logscope.batch.executors import _worker_pool

    monkeypatch.delenv("LOGSCOPE_SCAN_AHEAD", raising=False)
    for workers, setting in ((2, "0"), (1, None)):
        with _worker_pool(workers) as pool:
            assert pool.submit(os.getenv, "LOGSCOPE_SCAN_AHEAD").result(timeout=60) == setting


def test_serve_analyses_start_no_helper(monkeypatch):
    pytest.importorskip("starlette", reason="the [web] extra is not installed")
    from logscope.serve.processes import WorkerProcesses

    monkeypatch.delenv("LOGSCOPE_SCAN_AHEAD", raising=False)
    workers = WorkerProcesses(1)
    assert asyncio.run(workers.run(os.getenv, ("LOGSCOPE_SCAN_AHEAD",), 60)) == "0"


@pytest.mark.skipif(
    not hasattr(__import__("fcntl"), "F_GETPIPE_SZ")
    or int(Path("/proc/sys/fs/pipe-max-size").read_text()) < ahead_module.PIPE_BYTES,
    reason="pipe sizes are Linux's, up to its pipe-max-size",
)
def test_the_helpers_pipes_hold_a_mebibyte_each_way():
    import fcntl

    blocks = _blocks(CORPUS, 1)
    with ScanAhead() as ahead:
        ahead.hand(*blocks[0])
        pipes = (ahead._process.stdin, ahead._process.stdout)
        sizes = [fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ) for pipe in pipes]
        ahead.take()
    assert sizes == [ahead_module.PIPE_BYTES] * 2
