"""Scanning blocks in a second process while this one reads and settles the others (issue 14, item 5).

The parse stage's scanner path does two kinds of work per block. Scanning it into a piece of columns
(:func:`scan_block`) depends on the block alone; settling it (the safety net, the marker and traversal
readers, the declined events' records, adding the piece) follows the log in order. On a machine
with two cores or more, :class:`ScanAhead` hands some blocks' scans to one helper process, which
returns the same :class:`ScannedBlock` the parse stage would have built itself; the parse stage
settles every block in order, whoever scanned it, so the frame is the same.

The helper is a plain subprocess (`python -m logscope.scan.ahead`), not `multiprocessing`: that
would import the caller's `__main__` again in the child, a trap for a triage script that embeds
logscope without a main guard. A request (a pickled job, then the raw block) and a reply (a pickle,
then its columns' buffers, read straight into Arrow's memory pool) are length-prefixed frames over
its stdin and stdout, written and read by two threads so neither side waits on a full pipe.
Whatever goes wrong with the helper (it cannot start, dies, or a scan raises in it), the block is
scanned here instead, so the outcome never depends on the helper.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # not on Windows: its pipes stay as they are
    fcntl = None  # type: ignore[assignment]

import pyarrow as pa

from logscope.memory import keep_freed_memory
from logscope.scan import line_finder, scan
from logscope.scan.events import (
    Piece,
    compact_piece,
    declined_spans,
    native_rows,
    scanned_piece,
)
from logscope.scan.found import BlockLines, block_lines

_LENGTH = struct.Struct("<Q")
MAX_FRAME = 1 << 31  # a block is at most a few tens of MiB, and so is its scan
IN_FLIGHT = 3  # blocks handed to the helper and not yet scanned: it always has the next one waiting
AFTER_BYTES = 16 * 1024 * 1024  # scanned here before the helper takes a block: a small log never pays


@dataclass
class ScannedBlock:
    """One block's scan as the parse stage settles it: the piece of accepted events (None: the
    scanner does not take the block, the record path reads it), the declined events' spans (offset,
    length, line), and the lines the readers look for (None: not looked for)."""

    piece: Piece | None
    declined: list[tuple[int, int, int]]
    lines: BlockLines | None = None


@dataclass(frozen=True)
class BlockScan:
    """What scanning a block needs besides its bytes."""

    line_base: int
    needle: bytes | None
    year: int | None
    backend: str
    source: str
    default_node: str | None
    block_offset: int


def scan_block(block: bytes, job: BlockScan) -> ScannedBlock:
    """Scan one event-aligned block into the piece the parse stage adds, and find the lines its
    readers look for (a pure function of its arguments, so it gives the same here and in the helper)."""
    lines = block_lines(block, job.line_base, line_finder())
    if lines.line_prefixes:  # an editor's `Line N: ` prefixes: the record path strips them
        return ScannedBlock(None, [], lines)
    result = scan(block, job.line_base, job.needle, job.year, backend=job.backend)
    native = native_rows(result)
    piece = scanned_piece(result, native, job.source, job.default_node, job.block_offset, job.year)
    return ScannedBlock(compact_piece(piece), declined_spans(result, native), lines)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def wanted() -> bool:
    """Whether to scan in a second process: two cores or more, unless LOGSCOPE_SCAN_AHEAD=0."""
    setting = os.environ.get("LOGSCOPE_SCAN_AHEAD", "").strip().lower()
    if setting in ("0", "off", "no", "false"):
        return False
    return setting in ("1", "on", "yes", "true") or usable_cores() >= 2


def ahead_described() -> str:
    """What `logscope --version` says of the second process."""
    cores = usable_cores()
    if not wanted():
        reason = "one core" if cores < 2 else "LOGSCOPE_SCAN_AHEAD=0"
        return f"one process ({reason})"
    return f"a second process scans blocks ({cores} cores; LOGSCOPE_SCAN_AHEAD=0 turns it off)"


class ScanAhead:
    """One helper process, started on first use and stopped by `close`; blocks come back in the
    order they were handed over."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or [sys.executable, "-m", "logscope.scan.ahead"]
        self._process: subprocess.Popen | None = None
        self._requests: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue()
        self._replies: queue.Queue[tuple[bytes, list[pa.Buffer]] | None] = queue.Queue()
        self._handed: deque[tuple[bytes, BlockScan]] = deque()
        self.failed = False
        self.scanned = 0  # blocks the helper scanned (the tests read it)

    def free(self) -> bool:
        """Whether the helper should take the next block: fewer than IN_FLIGHT of the blocks it was
        handed are still unscanned (its replies waiting to be taken do not count)."""
        return not self.failed and len(self._handed) - self._replies.qsize() < IN_FLIGHT

    def ready(self) -> bool:
        """Whether the oldest handed block's result can be taken without waiting."""
        return self.failed or not self._replies.empty()

    def hand(self, block: bytes, job: BlockScan) -> None:
        """Give the helper a block to scan; its result is taken back with `take`, in order."""
        if self._process is None and not self.failed:
            self._start()
        self._handed.append((block, job))
        if not self.failed:
            self._requests.put((pickle.dumps(job), block))  # the block goes as it is, not copied

    def take(self) -> ScannedBlock:
        """The oldest handed block's scan: the helper's, or this process's when the helper failed."""
        block, job = self._handed.popleft()
        if not self.failed:
            reply = self._replies.get()
            try:
                data, buffers = reply
                status, value = pickle.loads(data, buffers=buffers)
            except Exception:  # the helper is gone (no reply) or wrote something else
                self._fail()
            else:
                if status == "ok" and isinstance(value, ScannedBlock):
                    self.scanned += 1
                    return value
        return scan_block(block, job)  # the helper's error, if any, is raised here the same way

    def close(self) -> None:
        if self._process is None:
            return
        self._requests.put(None)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> ScanAhead:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _start(self) -> None:
        if getattr(sys, "frozen", False) or not self.command[0]:  # no interpreter to run it with
            self.failed = True
            return
        package_root = str(Path(__file__).resolve().parents[2])  # the helper runs this very code
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (package_root, env.get("PYTHONPATH"))))
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # a helper that cannot start is not the user's error
                env=env,
            )
        except (OSError, ValueError):
            self.failed = True
            return
        for pipe in (self._process.stdin, self._process.stdout):
            _widen(pipe)
        threading.Thread(target=_send, args=(self._requests, self._process.stdin), daemon=True).start()
        threading.Thread(target=_receive, args=(self._process.stdout, self._replies), daemon=True).start()

    def _fail(self) -> None:
        self.failed = True
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def _send(requests: queue.Queue, pipe: BinaryIO) -> None:
    try:
        while (request := requests.get()) is not None:
            for frame in request:
                pipe.write(_LENGTH.pack(len(frame)))
                pipe.write(frame)
            pipe.flush()
        pipe.close()
    except OSError:  # the helper is gone: `take` finds its replies missing
        pass


def _receive(pipe: BinaryIO, replies: queue.Queue) -> None:
    try:
        while (reply := _read_reply(pipe)) is not None:
            replies.put(reply)
    except (OSError, ValueError):  # the helper is gone or its pipe was closed
        pass
    finally:  # `take` waits for a reply: it must always get one, None for "no more"
        replies.put(None)


def _read_reply(pipe: BinaryIO) -> tuple[bytes, list[pa.Buffer]] | None:
    """A reply: its pickle and the out-of-band buffers of its columns, read straight into Arrow's
    memory pool. Held in Python's heap instead, the pieces' memory stayed with the process after the
    frame was built (~150 MiB more at the CLI's peak on the 1 GiB storm)."""
    count = _read_frame(pipe)
    data = _read_frame(pipe)
    if count is None or data is None or len(count) != _LENGTH.size:
        return None
    buffers = [_read_frame(pipe, into_arrow=True) for _ in range(_LENGTH.unpack(count)[0])]
    return None if any(buffer is None for buffer in buffers) else (data, buffers)


def _read_frame(pipe: BinaryIO, *, into_arrow: bool = False):
    """One length-prefixed frame, as bytes or (`into_arrow`) as a buffer of Arrow's memory pool
    (None: the pipe ended, or holds no frame of a sane size)."""
    head = pipe.read(_LENGTH.size)
    if len(head) < _LENGTH.size or (size := _LENGTH.unpack(head)[0]) > MAX_FRAME:
        return None
    if not into_arrow:
        body = pipe.read(size)
        return body if len(body) == size else None
    buffer = pa.allocate_buffer(size)
    return buffer if not size or pipe.readinto(memoryview(buffer)) == size else None


PIPE_BYTES = 1 << 20  # Linux's default ceiling for a pipe (/proc/sys/fs/pipe-max-size)


def _widen(pipe: BinaryIO | None) -> None:
    """Give a pipe a 1 MiB buffer (Linux: 64 KiB by default): a block and its reply are MBs each,
    and every 64 KiB cost a wake-up of each side. Where the system refuses, the pipe stays as it is."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if pipe is None or set_size is None:
        return
    with suppress(OSError):
        fcntl.fcntl(pipe.fileno(), set_size, PIPE_BYTES)


def _write_reply(replies: BinaryIO, reply: tuple) -> None:
    """A reply as frames: the count of out-of-band buffers, the pickle, then each buffer's bytes."""
    buffers: list[pickle.PickleBuffer] = []
    try:
        data = pickle.dumps(reply, protocol=5, buffer_callback=buffers.append)
        raws = [buffer.raw() for buffer in buffers]
    except BufferError:  # a buffer that is not contiguous: everything in the pickle
        data, raws = pickle.dumps(reply, protocol=5), []
    for frame in (_LENGTH.pack(len(raws)), data, *raws):
        replies.write(_LENGTH.pack(len(frame)))
        replies.write(frame)
    replies.flush()


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """The helper's loop: scan each block it is given and send the result (or the error) back."""
    while (request := _read_frame(requests)) is not None and (block := _read_frame(requests)) is not None:
        job = pickle.loads(request)
        try:
            reply = ("ok", scan_block(block, job))
        except Exception as error:  # the parse stage scans the block itself and meets it there
            reply = ("error", repr(error))
        _write_reply(replies, reply)


def main() -> int:
    keep_freed_memory()  # a block's arrays, freed, are the next block's
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing printed by accident can corrupt the replies
    try:
        _serve(sys.stdin.buffer, replies)
    except (KeyboardInterrupt, BrokenPipeError):
        return 1
    return 0


if __name__ == "__main__":  # run as `-m`: serve from the module itself, so replies unpickle by its name
    from logscope.scan.ahead import main as serve

    sys.exit(serve())
