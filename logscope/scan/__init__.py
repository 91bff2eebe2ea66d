"""Block scanner with columnar output (issue 14, items 1 and 2).

Contract
--------
Input: the bytes of a block of a log, aligned on event boundaries (:func:`blocks` splits a file into
8-32 MiB blocks, each starting at a line that is not a continuation line). Lone CRs must already be
line ends (the parse stage's `_line_chunks` does that); a CRLF line end is read as a line end.

Events are found as the parse stage finds them: a line that is not a continuation (`|`, space, tab,
`HTTPMSG:`, `SIPMSG:`) and not blank opens an event, the continuation lines after it are folded in;
with `needle`, only lines holding it open an event. Line numbers count `\\n` from `line_base`.

Output per block, :class:`~logscope.scan.columns.ScanResult`:

- `events`, a pyarrow Table, one row per ACCEPTED event: `offset`, `length` (the event's bytes,
  without the final line end; offsets relative to the block), `line`, `dialect` (rfc3339, bsd,
  rfc5424, diags), `ts` (UTC ns, null when not known: a yearless time without `year`), `ts_start`
  and `ts_len` (the time as written), `host`, `process`, `pid`, `thread`, `level`, `program`,
  `kind`, the ATS message fields (`sni`, `name_check`, `action`, `verify_error`, `server_name`,
  `server_ip`, `depth`, `ssl_error_code`, `ssl_reason`), the key="value" columns of
  `logscope.lines.KEY_COLUMNS` (numbers as int64), `message`, the route columns of a Receive
  Request, `extra` (unknown keys), and for a key="value" body its `shape` (index into `shapes`, the
  key sequence) with `values_first`/`values_count` rows of `values` ((start, length) value spans).
  For an accepted event every field equals what `logscope.lines.parse_event` gives for its text.
- `declined`: (offset, length, line, reason) of every event the scanner is not sure of; the caller
  sends them to the reference path (the Lark grammars), except `overlong` ones (longer than
  MAX_EVENT_BYTES): those are counted and truncated as the parse stage does, never given to Lark.
  Declined: invalid UTF-8 (valid non-ASCII is read), NUL, control characters or a CR inside an
  event, odd spacing, an unknown or ambiguous shape, an overlong event, an event whose next line
  opens with no envelope read natively (`maybe-wrapped`: a publisher may have wrapped it, see
  logscope.lines.unwrap), an ATS or text body holding `]:` or a `<d>T<hh>:<mm>:<ss>` time (maybe
  several events flattened onto one line).

Envelopes read natively: RFC 3339 with any fraction (up to ns) and zone, BSD syslog (a body
`UTCTime=` gives its time), RFC 5424 (`-` pid and structured data, a BOM), no pid, ATS diags.log.

Three backends implement the scan with the same rules: `_cscan` (C, built by `pip install` when a
compiler is present), :mod:`~logscope.scan.pyscan` (Python, per event) and
:mod:`~logscope.scan.arrowscan` (pyarrow and numpy over the whole block for the common events,
pyscan's rules for the rest; the fallback when `_cscan` is not built). `BACKEND` names the one
`scan()` uses by default; `LOGSCOPE_SCANNER=python` forces the Python one, `=arrow` the pyarrow one.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterator
from typing import BinaryIO

from logscope.lines.phrases import FoundLine, LineFinder, lines_holding
from logscope.scan import arrowscan, pyscan
from logscope.scan.columns import ScanResult, to_table
from logscope.scan.layout import MAX_EVENT_BYTES
from logscope.scan.pyscan import RawScan

try:
    if os.environ.get("LOGSCOPE_SCANNER", "").lower() == "python":
        raise ImportError("LOGSCOPE_SCANNER=python")
    from logscope.scan import _cscan  # type: ignore[attr-defined]
except ImportError:
    _cscan = None

BACKEND = "compiled" if _cscan is not None else "python"
BLOCK_BYTES = 16 * 1024 * 1024
_CONTINUATION_START = (b"|", b" ", b"\t", b"HTTPMSG:", b"SIPMSG:")

__all__ = [
    "BACKEND",
    "MAX_EVENT_BYTES",
    "RawScan",
    "ScanResult",
    "blocks",
    "line_finder",
    "scan",
    "scan_path",
    "scan_raw",
]


def scan_path() -> str:
    """How the parse stage reads events: "compiled" (the C scanner, then the reference path for what
    it declines), "arrow" (the pyarrow scanner, :mod:`~logscope.scan.arrowscan`: used when no
    compiled scanner is built; 2.3x less CPU than the record path on the storm benchmark), "python"
    (the per-event Python scanner, only when LOGSCOPE_SCANNER=python asks for it) or "records" (the
    fast path and Lark grammars per event: LOGSCOPE_SCANNER=off)."""
    wanted = os.environ.get("LOGSCOPE_SCANNER", "").lower()
    if wanted in ("off", "records"):
        return "records"
    if wanted in ("python", "arrow"):
        return wanted
    return "compiled" if _cscan is not None else "arrow"


def line_finder() -> LineFinder:
    """How the safety net finds the lines holding its words: the compiled scanner's one-pass search
    on the compiled path, else one byte search per word (`logscope.lines.phrases.lines_holding`)."""
    return _compiled_lines_holding if scan_path() == "compiled" else lines_holding


def _compiled_lines_holding(block: bytes, words: tuple[bytes, ...]) -> list[FoundLine]:
    found = array("q", _cscan.lines_holding(block, words)).tolist()
    return list(zip(found[0::2], found[1::2], strict=True))


def scan_raw(
    block: bytes,
    line_base: int = 1,
    needle: bytes | None = None,
    year: int | None = None,
    *,
    backend: str = "",
) -> RawScan:
    """The flat spans of one block, from `backend` ("compiled", "arrow" or "python"; default: BACKEND)."""
    if backend == "arrow":
        return arrowscan.scan(block, line_base, needle, year)
    if (backend or BACKEND) == "compiled":
        if _cscan is None:
            raise RuntimeError("the compiled scanner is not built")
        events, values, shapes, declined = _cscan.scan(block, line_base, needle, year)
        raw = RawScan(shapes=shapes)
        raw.events.frombytes(events)
        raw.values.frombytes(values)
        raw.declined.frombytes(declined)
        return raw
    return pyscan.scan(block, line_base, needle, year)


def scan(
    block: bytes,
    line_base: int = 1,
    needle: bytes | None = None,
    year: int | None = None,
    *,
    backend: str = "",
) -> ScanResult:
    """Scan one event-aligned block (see the module docstring for the contract)."""
    return to_table(block, scan_raw(block, line_base, needle, year, backend=backend))


def blocks(stream: BinaryIO, size: int = BLOCK_BYTES) -> Iterator[tuple[bytes, int, int]]:
    """(block, byte offset in the stream, first line number) for event-aligned blocks of ~`size`.

    A block ends after a line end that is followed by a line opening an event (not a continuation),
    so a DEBUG message's continuation lines stay with their event.
    """
    carry, offset, line = b"", 0, 1
    while True:
        chunk = stream.read(size)
        data = carry + chunk
        if not chunk:
            if data:
                yield data, offset, line
            return
        cut = _event_cut(data)
        if cut <= 0:
            carry = data
            continue
        yield data[:cut], offset, line
        offset, line, carry = offset + cut, line + data.count(b"\n", 0, cut), data[cut:]


def _event_cut(data: bytes) -> int:
    """The last position after a `\\n` where an event can open (0: none in `data`)."""
    end = len(data)
    while (newline := data.rfind(b"\n", 0, end)) >= 0:
        after = newline + 1
        if after < len(data) and not data.startswith(_CONTINUATION_START, after):
            return after
        end = newline
    return 0
