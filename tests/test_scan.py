"""The block scanner (logscope.scan): what it accepts equals today's parse rows, what it is not sure
of it declines, and the compiled and Python backends give the same spans."""

from __future__ import annotations

import functools
import os
import random
import subprocess
import sys
import tarfile
import tomllib

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, SAMPLE_LOGS, parse_text
from logscope.frame import records_to_frame
from logscope.lines import parse_event
from logscope.scan import BACKEND, MAX_EVENT_BYTES, arrowscan, blocks, pyscan, scan, scan_raw
from logscope.scan.columns import extras

YEAR = 2026
_POSITIONAL = {"offset", "length", "line", "dialect", "ts", "ts_start", "ts_len", "shape"}
_POSITIONAL |= {"values_first", "values_count", "extra", "host"}


def _sample_logs() -> bytes:
    data = []
    for path in sorted(SAMPLE_LOGS.glob("*.tar.gz")):
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                if member.isfile() and "log" in member.name.rsplit("/", 1)[-1]:
                    data.append(archive.extractfile(member).read())
    return b"\n".join(data)


def _corpus_lines() -> list[str]:
    lines = []
    for path in sorted((ROOT / "tests" / "corpus").glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8")).get("case", []):
            lines += [line for line in case["text"].splitlines() if line.strip()]
    for path in sorted((ROOT / "grammars" / "samples").glob("*.toml")):
        lines += [s["line"] for s in tomllib.loads(path.read_text(encoding="utf-8"))["sample"]]
    return lines


SAMPLES = _sample_logs()
CORPUS = "\n".join(_corpus_lines()).encode() + b"\n"


def rows_of(result) -> list[dict]:
    events = result.events
    events = events.set_column(events.schema.get_field_index("ts"), "ts", events["ts"].cast(pa.int64()))
    return [{**row, "extra": extra} for row, extra in zip(events.to_pylist(), extras(result), strict=True)]


def row_record(row: dict) -> dict:
    """A scanner row in the shape of a parse_event record (None dropped, `host` named `node`)."""
    record = {k: v for k, v in row.items() if v is not None and k not in _POSITIONAL}
    if row["host"] is not None:
        record["node"] = row["host"]
    if row["extra"]:
        record["extra"] = row["extra"]
    record["ts"] = row["ts"]
    return record


def reference_records(texts: list[str]) -> list[dict]:
    """What the parse stage's fast path / grammars give for each event's text, times in UTC ns."""
    records = [parse_event(text) for text in texts]
    times = records_to_frame([dict(r) for r in records], year=YEAR)["ts"] if records else []
    out = []
    for record, ts in zip(records, times, strict=True):
        clean = {k: v for k, v in record.items() if v is not None and k not in ("ts_raw", "ts_format")}
        clean["ts"] = None if ts is None or ts != ts else ts.value
        out.append(clean)
    return out


def assert_arrow_equals_python(block: bytes, line_base: int = 1, needles=(None, b"traffic_server")) -> None:
    """The pyarrow backend gives the Python backend's spans, shapes and declines (by default with
    and without a needle)."""
    for needle in needles:
        expected = pyscan.scan(block, line_base, needle, YEAR)
        assert arrowscan.scan(block, line_base, needle, YEAR) == expected, needle


def assert_agrees(block: bytes, backend: str = "") -> object:
    """Accepted events equal the parse rows; with the C extension built, both backends' spans are equal."""
    if BACKEND == "compiled":
        assert scan_raw(block, year=YEAR, backend="compiled") == scan_raw(block, year=YEAR, backend="python")
    assert_arrow_equals_python(block, needles=(None,))
    result = scan(block, year=YEAR, backend=backend)
    rows = rows_of(result)
    texts = [block[row["offset"] : row["offset"] + row["length"]].decode("utf-8") for row in rows]
    for row, text, expected in zip(rows, texts, reference_records(texts), strict=True):
        assert row_record(row) == expected, text
    return result


def test_accepted_sample_events_equal_parse_rows():
    result = assert_agrees(SAMPLES)
    assert result.events.num_rows > 30_000  # most events are read by the scanner


def test_accepted_corpus_lines_equal_parse_rows():
    result = assert_agrees(CORPUS)
    dialects = set(result.events["dialect"].to_pylist())
    assert {"rfc3339", "bsd", "rfc5424", "diags"} <= dialects


ENV = b"2022-07-11T18:55:25.910+02:00 vcsc traffic_server[18242]: "
KV = b'UTCTime="2022-07-11 16:55:25,910" Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="189" Username="'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (ENV + KV + b'\xffmusk"', "invalid-utf8"),
        (ENV + KV + b'mu\x00sk"', "nul"),
        (ENV + KV + b'mu\x07sk"', "control-or-cr"),
        (ENV.replace(b" vcsc", b"  vcsc") + KV + b'emusk"', "shape"),
        (ENV + KV + b'emusk"  Src-ip="1.2.3.4"', "shape"),
        (ENV + b"[ET_NET 0] WARNING: SNI (x) not in certificate. Action=Terminate", "shape"),
        (
            ENV
            + b"[ET_NET 0] WARNING: Core server certificate verification failed for (x). Action=Terminate",
            "shape",
        ),
        (ENV + b"[1209613.546000] TCP: request_sock_TCP: Possible SYN flooding", "shape"),
        (ENV + KV + b"x" * MAX_EVENT_BYTES + b'"', "overlong"),
    ],
)
def test_unsure_events_are_declined_with_their_reason(line, reason):
    result = scan(b"first line kept\n" + line + b"\n")
    assert result.events.num_rows == 0
    first, declined = result.declined.to_pylist()
    assert first["line"] == 1  # no envelope: the reference path reads it
    assert declined == {"offset": 16, "length": len(line), "line": 2, "reason": reason}


BACKENDS = ["python", "arrow"] + (["compiled"] if BACKEND == "compiled" else [])
WRAPPED_ERROR = (
    ENV + b"[ET_NET 2] ERROR: SSL connection failed\n"
    b"for '10.48.36.215': error:1416F086:SSL routines:tls_process_server_certificate:certificate\n"
)
FLATTENED_NOTE = (
    ENV + b"[ET_NET 2] NOTE: cache ready " + ENV + b"[ET_NET 3] WARNING: SNI (x) not in certificate.\n"
)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("needle", [None, b" traffic_server"])
def test_an_event_whose_next_line_opens_with_no_envelope_is_declined_as_maybe_wrapped(backend, needle):
    """The first piece of a wrapped line reads as a whole ATS `ERROR` line: the scanner must not
    accept it, or the piece after it would be lost (the record path joins them)."""
    result = scan(WRAPPED_ERROR + ENV + KV + b'emusk"\n', needle=needle, backend=backend)
    declined = result.declined.to_pylist()
    assert declined[0] == {
        "offset": 0,
        "length": WRAPPED_ERROR.index(b"\n"),
        "line": 1,
        "reason": "maybe-wrapped",
    }
    assert result.events["line"].to_pylist() == [3]  # the line after the pieces is read natively


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_ats_line_holding_a_second_envelope_is_declined(backend):
    result = scan(FLATTENED_NOTE, backend=backend)
    assert result.events.num_rows == 0
    assert [row["reason"] for row in result.declined.to_pylist()] == ["shape"]


def test_non_ascii_user_names_are_read_not_declined():
    line = ENV + KV + 'Ærøskøbing-ünïcode"'.encode()
    result = assert_agrees(line + b"\n")
    assert result.events["username"].to_pylist() == ["Ærøskøbing-ünïcode"]
    assert result.declined.num_rows == 0


def test_debug_message_continuation_lines_stay_in_their_event():
    block = ENV + KV + b'x" HTTPMSG:\n|GET /a HTTP/1.1\n Host: x\n' + ENV + b"[ET_NET 0] NOTE: hello\n"
    result = assert_agrees(block)
    assert result.events["line"].to_pylist() == [1, 4]
    assert result.events["method"].to_pylist() == ["GET", None]  # read from the message's first line
    assert result.events["message"].to_pylist() == [None, "hello"]  # a transaction step keeps none
    assert result.events["length"][0].as_py() == block.index(b"\n2022")


def test_blocks_cut_only_where_an_event_opens():
    import io

    parts = list(blocks(io.BytesIO(SAMPLES), size=64 * 1024))
    assert b"".join(block for block, _, _ in parts) == SAMPLES
    assert len(parts) > 10
    lines = [line for block, _, first in parts for line in scan(block, first).events["line"].to_pylist()]
    assert lines == scan(SAMPLES).events["line"].to_pylist()


KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True)
VALUES = st.text(
    alphabet=st.characters(blacklist_characters='"\n\r', blacklist_categories=("Cs",)), max_size=30
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=8),
    st.sampled_from([ENV, b"[Nov 22 15:10:45.188] "]),
)
def test_random_kv_bodies_agree_or_are_declined(pairs, envelope):
    body = " ".join(f'{k}="{v}"' for k, v in pairs).encode()
    assert_agrees(envelope + body + b"\n")


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_text_after_an_envelope_agrees_or_is_declined(text):
    encoded = text.encode("utf-8", errors="replace")
    assert_agrees(ENV + encoded.replace(b"\n", b" ") + b"\n")


def _mutants(lines: list[bytes], count: int, seed: int = 14) -> bytes:
    rng = random.Random(seed)
    alphabet = b' \t"()[]:=.-x0\xc3\xa9\xff\r'
    out = []
    for _ in range(count):
        line = bytearray(rng.choice(lines))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(line) + 1)
            action = rng.random()
            if action < 0.4 and line:
                del line[min(at, len(line) - 1)]
            elif action < 0.8:
                line[at:at] = bytes([rng.choice(alphabet)])
            elif line:
                line[min(at, len(line) - 1)] = rng.choice(alphabet)
        out.append(bytes(line).replace(b"\n", b" "))
    return b"\n".join(out) + b"\n"


REAL_LINES = [line for line in (SAMPLES + CORPUS).split(b"\n") if b"traffic_server" in line or b'="' in line][
    ::7
]
FUZZ = _mutants(REAL_LINES, 3000)


def test_mutated_real_lines_agree_or_are_declined():
    result = assert_agrees(FUZZ.replace(b"\r", b" "))
    assert result.declined.num_rows > 0 and result.events.num_rows > 0


def test_python_fallback_is_forced_by_the_environment():
    code = "import logscope.scan as s; print(s.BACKEND)"
    env = {**os.environ, "LOGSCOPE_SCANNER": "python"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "python"


compiled = pytest.mark.skipif(BACKEND != "compiled", reason="the C extension is not built here")


@compiled
@pytest.mark.parametrize("name", ["samples", "corpus", "fuzz"])
def test_compiled_and_python_backends_give_the_same_spans(name):
    block = {"samples": SAMPLES, "corpus": CORPUS, "fuzz": FUZZ}[name]
    assert scan_raw(block, year=YEAR, backend="compiled") == scan_raw(block, year=YEAR, backend="python")


_ASAN_RUN = """
import array, hashlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("_cscan", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
digest = hashlib.sha256()
for path in sys.argv[2:]:
    block = open(path, "rb").read()
    events, values, shapes, declined = module.scan(block, 1, None, 2026)
    for part in (events, declined, values):
        digest.update(part)
    module.scan(block, 1, b"traffic_server", None)
    pairs = array.array("q", values)
    starts, lengths = array.array("q", pairs[0::2]), array.array("q", pairs[1::2])
    module.gather(block, starts, lengths, True)
    module.gather(block, starts, lengths)
    module.lines_holding(block, (b"certificate", b"ssl  connection", b"al"))
    module.encode(block, starts, lengths, True)
    module.encode(block, starts, lengths)
    module.encode_fields(block, events, 36, (7, 9, 14, 17, 21, 23, 25, 27, 29))
    count = len(starts)
    index = array.array("q", [i % (count + 1) - 1 for i in range(3 * count)])
    for codes, offsets, data, edges in module.encode_at(block, values, index, 3, True):
        module.renumber(codes, len(offsets) // 4 - 1)
    refused = (
        lambda: module.encode(block, array.array("q", [len(block)]), array.array("q", [5])),
        lambda: module.encode(block, array.array("q", [-1]), array.array("q", [1])),
        lambda: module.encode(block, array.array("q", [0]), array.array("q", [2**40])),
        lambda: module.encode_at(block, values, array.array("q", [count]), 1),
        lambda: module.encode_fields(block, events, 36, (35,)),
        lambda: module.renumber(array.array("i", [0, 3]), 3),
    )
    for call in refused:
        try:
            call()
        except ValueError:
            continue
        raise SystemExit("a span, index or code outside its bounds was read")
print(digest.hexdigest())
"""


def _asan_inputs(tmp_path) -> list:
    rng = random.Random(1414)
    cuts = b"".join(line[: rng.randrange(len(line) + 1)] + b"\n" for line in REAL_LINES[:2000])
    noise = bytes(rng.randrange(256) for _ in range(200_000))
    paths = []
    for name, data in (
        ("fuzz", FUZZ.replace(b"\r", b" ")),
        ("cuts", cuts),
        ("noise", noise),
        ("corpus", CORPUS),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_compiled_scanner_under_address_sanitizer(tmp_path):
    """The C extension built with -fsanitize=address reads the fuzz corpus, cut lines and random bytes
    without an out-of-bounds read, and gives the Python backend's spans."""
    import hashlib
    import shutil
    import sysconfig

    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    libasan = subprocess.run(
        [compiler, "-print-file-name=libasan.so"], capture_output=True, text=True
    ).stdout.strip()
    target = tmp_path / ("_cscan" + sysconfig.get_config_var("EXT_SUFFIX"))
    build = subprocess.run(
        [compiler, "-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer", "-shared", "-fPIC",
         f"-I{sysconfig.get_paths()['include']}", str(ROOT / "logscope" / "scan" / "_cscan.c"), "-o", str(target)],
        capture_output=True, text=True,
    )  # fmt: skip
    if build.returncode != 0 or not os.path.isabs(libasan):
        pytest.skip(f"no AddressSanitizer toolchain: {build.stderr[-200:]}")
    paths = _asan_inputs(tmp_path)
    env = {**os.environ, "LD_PRELOAD": libasan, "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"}
    run = subprocess.run(
        [sys.executable, "-c", _ASAN_RUN, str(target), *map(str, paths)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    digest = hashlib.sha256()
    for path in paths:
        raw = scan_raw(path.read_bytes(), 1, None, 2026, backend="python")
        for part in (raw.events, raw.declined, raw.values):
            digest.update(part.tobytes())
    assert run.stdout.strip() == digest.hexdigest()


@functools.cache
def _storm_lines() -> bytes:
    from test_scan_parse import _storm_slice

    return _storm_slice()


@pytest.mark.parametrize("name", ["corpus", "fuzz", "storm"])
def test_arrow_backend_gives_the_python_backends_spans(name):
    """(The samples are compared by assert_agrees, without a needle.)"""
    block = {"corpus": CORPUS, "fuzz": FUZZ, "storm": _storm_lines()}[name]
    assert_arrow_equals_python(block, line_base=7)


def test_arrow_backend_reads_most_storm_events_in_bulk(monkeypatch):
    """The point of the pyarrow backend: pyscan's per-event rules see only the uncommon events (and
    no event of several lines: a DEBUG message is read in bulk)."""
    calls = []
    original = pyscan._Scanner.event
    monkeypatch.setattr(pyscan._Scanner, "event", lambda self, *a: calls.append(a) or original(self, *a))
    raw = arrowscan.scan(_storm_lines(), 1, b"traffic_server", YEAR)
    assert raw.count > 1000 and len(calls) < raw.count / 20
    assert not any(multiline for *_, multiline in calls)
    assert arrowscan.scan(_storm_lines(), 1, None, YEAR).count > raw.count


ZONED = b"2026-03-02T08:00:00%s expc1 tvcs%s: %s\n"


@pytest.mark.parametrize(
    "block",
    [
        b"".join(
            ZONED % (stamp, pid, body)
            for stamp in (b".012-05:00", b"Z", b".123456789+0530", b"+23:59", b".5+24:00", b"-00:60")
            for pid in (b"", b"[1]", b"[123456789012345678]", b"[]")
            for body in (
                b'A="1" B="x y":',
                b'A="1" A="2"',
                b'Module="m" Level="INFO": Detail="d"',
                b'A="1" b',
            )
        ),
        ZONED.replace(b"-03-02", b"-02-30") % (b"Z", b"", b'A="1"')
        + ZONED.replace(b"2026", b"1500") % (b"Z", b"", b'A="1"')
        + ZONED.replace(b"tvcs", b"DEBUG") % (b"Z", b"", b'A="1"'),
        ZONED % (b"Z", b"", b'A="1"') + b"\r\n\n" + ZONED % (b"Z", b"", b'B="1" SIPMSG:') + b"|INVITE x\n",
        ZONED % (b"Z", b"", b'A="1"') + b"not an envelope\n" + (ZONED % (b"Z", b"", b'B="1"'))[:-1],
        ZONED % (b"Z", b"", b'A="1"') * 3
        + ZONED % (b"Z", b"", b'A="\xc3\xa9"')
        + ZONED % (b"Z", b"", b'C="\x07"'),
    ],
    ids=[
        "zones-pids-bodies",
        "odd-times-and-processes",
        "cr-blank-continuation",
        "wrapped-and-unended",
        "bytes",
    ],
)
def test_arrow_backend_agrees_on_envelope_and_line_edge_cases(block):
    assert_arrow_equals_python(block)
    assert_arrow_equals_python(block.replace(b"tvcs", b"traffic_server"))


def test_arrow_backend_numbers_shapes_as_pyscan_past_the_shape_limit(monkeypatch):
    import logscope.scan.layout as layout

    monkeypatch.setattr(layout, "MAX_SHAPES", 8)  # the rule at 4,096 shapes, for less time
    lines = [ZONED % (b"Z", b"", f'K{i}="v"'.encode()) for i in range(13)]
    lines.insert(
        3, ZONED % (b"Z", b"", b"[ET_NET 0] NOTE: x") + ZONED % (b"Z", b"", b'K2="v" SIPMSG:') + b"|x\n"
    )
    block = b"".join(lines)
    assert_arrow_equals_python(block)
    assert len(arrowscan.scan(block, 1, None, YEAR).shapes) == 8


@pytest.mark.parametrize(
    "message",
    [
        b"Core server certificate  verification failed for  (x). Action=Terminate Error=self signed"
        b" certificate server=x(10.0.0.5) depth=0",
        b"Core\tserver certificate verification failed for (x). Action=Terminate Error=e server=x(1.2.3.4) depth=0",
        b"SSL  connection failed for 'x': error:1416F086:SSL routines:f:certificate verify failed",
        b"SNI(x) not in certificate. Action=Terminate server=x(10.0.0.5)",
        b"Origin  hostname (x) not in certificate. Action=Terminate server=x(10.0.0.5)",
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_spaced_failure_opening_is_declined_not_read_as_free_text(message, backend):
    """The grammar reads these openings with any spacing: read by the scanner as free text ('other'),
    a certificate failure was lost and its check said ok (found by the metamorphic draws)."""
    line = ENV + b"[ET_NET 0] WARNING: " + message
    result = scan(line + b"\n", backend=backend)
    assert result.events.num_rows == 0
    assert [row["reason"] for row in result.declined.to_pylist()] in (["shape"], ["control-or-cr"])
    assert_agrees(line + b"\n")


FLATTENED_DIAGS = (
    b"[Nov 30 15:33:58.148] [ET_NET 0] NOTE: cache ready [Nov 30 15:33:58.149] [ET_NET 3] WARNING: Core server"
    b" certificate verification failed for (x). Action=Terminate Error=self signed certificate"
    b" server=x(10.0.0.5) depth=0\n"
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_line_holding_a_second_diags_envelope_is_declined_and_split_by_the_reference_path(backend):
    """Two ATS diags events flattened onto one line: read as one free-text NOTE, the certificate
    failure after it was lost (found by the metamorphic draws)."""
    result = scan(FLATTENED_DIAGS, backend=backend)
    assert result.events.num_rows == 0
    assert [row["reason"] for row in result.declined.to_pylist()] == ["shape"]
    events = parse_text(FLATTENED_DIAGS, source="diags").events
    assert events["kind"].astype(str).tolist() == ["other", "tls_verify_failed"]


_EDGE_VALUES = [
    "  plain ", "\u00a0nbsp\u2003", "\u2003", "", " ", "caf\u00e9 ", " \tx\n y\n", "\u3000ideo", "na\u00efve",
    None,
]  # fmt: skip


@pytest.mark.parametrize("compiled", [True, False])
def test_stripped_spans_are_str_strip_of_each_value(compiled, monkeypatch):
    """A key's value is compared trimmed, as kv_record trims it: ASCII and Unicode space at both ends,
    the compiled gather and encode and Arrow's kernels alike."""
    from logscope.scan import columns

    if compiled and columns._gather is None:
        pytest.skip("the compiled scanner is not built")
    if not compiled:
        monkeypatch.setattr(columns, "_gather", None)
        monkeypatch.setattr(columns, "_encode", None)
    block, starts, lengths = b"", [], []
    for value in _EDGE_VALUES:
        data = b"" if value is None else value.encode()
        starts.append(len(block))
        lengths.append(-1 if value is None else len(data))
        block += b"<" + data + b">"
        starts[-1] += 1
    array = columns.span_strings(block, np.array(starts), np.array(lengths), strip=True)
    assert array.to_pylist() == [None if value is None else value.strip() for value in _EDGE_VALUES]
    coded = columns.span_codes(block, np.array(starts), np.array(lengths), strip=True)
    assert coded.strings().to_pylist() == array.to_pylist()


_HOLDING_CASES = [
    b"", b"certificate", b"x\nCERTIFICATE", b"CeRtIfIcAtE verification\nalert\n\nno\nmis-match\nmismatch",
    b"ssl  connection\r\nSSL connection\nsslconnection", b"caf\xc3\xa9 Certif\xc3\xadcate\n\xff\x00alert",
    b"\n\n\nhandshake", b"negotiatio", b"NEGOTIATION\n",
]  # fmt: skip


@pytest.mark.skipif(BACKEND != "compiled", reason="the compiled scanner is not built")
@pytest.mark.parametrize("name", ["cases", "samples", "corpus", "fuzz", "noise"])
def test_compiled_line_search_finds_the_lines_the_byte_search_finds(name):
    """The safety net's one-pass compiled search gives the lines the per-word byte search gives."""
    import array

    from logscope.lines.phrases import lines_holding, phrase_list
    from logscope.scan import _cscan

    words = phrase_list().prefilter
    rng = random.Random(7)
    blocks_of = {
        "cases": _HOLDING_CASES,
        "samples": [SAMPLES],
        "corpus": [CORPUS],
        "fuzz": [FUZZ],
        "noise": [bytes(rng.choice(b"aAcCeErRtTiIfF\n ") for _ in range(20_000))],
    }

    def pairs(found: bytes) -> list[tuple[int, int]]:
        values = array.array("q", found).tolist()
        return list(zip(values[0::2], values[1::2], strict=True))

    for block in blocks_of[name]:
        assert pairs(_cscan.lines_holding(block, words)) == lines_holding(block, words), block[:80]
        short = (b"ac", b"ca")
        assert pairs(_cscan.lines_holding(block, short)) == lines_holding(block, short)


_SEARCH_BYTES = b"abxAB _\n"


@pytest.mark.skipif(BACKEND != "compiled", reason="the compiled scanner is not built")
@settings(max_examples=600, deadline=None)
@given(
    block=st.lists(st.sampled_from(_SEARCH_BYTES), max_size=400).map(bytes),
    words=st.lists(
        st.lists(st.sampled_from(b"abx _"), min_size=2, max_size=7).map(bytes), min_size=1, max_size=6
    ),
)
def test_compiled_line_search_finds_what_the_byte_search_finds_for_any_words(block, words):
    """The window's shifts (by the shortest word) never step over a word, in any case, at any place:
    few letters, so words overlap, repeat and share pairs."""
    import array

    from logscope.lines.phrases import lines_holding
    from logscope.scan import _cscan

    found = array.array("q", _cscan.lines_holding(block, tuple(words))).tolist()
    assert list(zip(found[0::2], found[1::2], strict=True)) == lines_holding(block, tuple(words))


@pytest.mark.parametrize("compiled", [False, True])
def test_each_line_found_comes_with_the_line_ends_before_it(compiled):
    """A reader numbers a found line from its block's first line without counting the block again."""
    from logscope.lines.phrases import lines_holding
    from logscope.scan import _compiled_lines_holding

    if compiled and BACKEND != "compiled":
        pytest.skip("the compiled scanner is not built")
    find = _compiled_lines_holding if compiled else lines_holding
    block = b"ok\n\nfirst ALERT here\nok\r\nalert\n" + b"x" * 70 + b"\nlast alert"
    found = find(block, (b"alert",))
    assert [start for start, _ in found] == [4, 25, 102]
    assert (
        found == [(start, block.count(b"\n", 0, start)) for start, _ in found] == [(4, 2), (25, 4), (102, 6)]
    )


_START_TEXTS = [
    "GET /cucm-uds/user/alice HTTP/1.1", "HTTP/1.1 200 OK", "HTTP/1.1 502 connect failed ", "| HTTP/1.0 404",
    "  |  POST https://h:8443/x?y=1 HTTP/2", "GET  /two-spaces", "get /lower", "HTTP/1.1 2000", "HTTP/1.1 200  Two",
    "GET /a HTTP/1.1 extra", "HTTP/1.1 200 OK\nsecond", "HTTP/1.\u0661 200 OK", "HTTP/1.1 200 \u00d6kay\u2003",
    "\u2003GET /x", "GET /caf\u00e9", "|", "", "HTTP/1.1 \u0662\u0660\u0660 OK", "GET /x\x1c", "GET /x\x1cy", "GET /a\x0bb", "GET\t/x",
]  # fmt: skip
_ROUTE_URLS = [
    "http://vcs_control.example.com:8443/ZXhhbXBsZS5jb20vaHR0cHMvY3VjbTEuZXhhbXBsZS5jb20vODQ0Mw/cucm-uds/x",
    "https://h/ZXhhbXBsZS5jb20vaHR0cHMvY3VjbTEuZXhhbXBsZS5jb20vODQ0Mw==?q", "/ZXhhbXBsZS5jb20vaHR0cHMvY3VjbQ/x",
    "http://h:1/short/x", "http://h/ZXhhbXBsZS5jb20vaHR0cHMvaC85OTk5OTk", "http://h\u2003x/ZXhhbXBsZS5jb20vaHR0cHMvY3Vj",
    "http://h/ZXhhbXBsZS5jb20vaHR0cHMvY3VjbTE\u00e9", "1http://h/ZXhhbXBsZS5jb20vaHR0cHMvY3VjbTEu", "http://h/",
    "http://h/ZXhh-_bXBsZS5jb20vaHR0cHMvY3VjbTEu#f", "",
]  # fmt: skip


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.lists(st.sampled_from(_START_TEXTS) | st.text(alphabet="GETHP/1.0 |\t\u2003\u00e9xa\n", max_size=24))
)
def test_start_lines_read_in_bulk_equal_http_start_line(texts):
    """The start-line fields read by RE2 kernels over distinct values equal `http_start_line`'s."""
    from logscope.lines.records import http_start_line
    from logscope.scan.values import start_lines

    texts = list(dict.fromkeys(_START_TEXTS + texts))
    fields = {name: array.to_pylist() for name, array in start_lines(pa.array(texts, pa.string())).items()}
    for row, text in enumerate(texts):
        assert {name: values[row] for name, values in fields.items() if values[row] is not None} == (
            http_start_line(text)
        ), text


def test_routes_decoded_per_segment_equal_route_from_url():
    """A URL's route read through its segment (decoded once per distinct segment) is route_from_url's."""
    from logscope.route import route_from_url
    from logscope.scan.values import route_columns, route_segments

    segments = route_segments(pa.array(_ROUTE_URLS, pa.string())).to_pylist()
    for url, segment in zip(_ROUTE_URLS, segments, strict=True):
        route = route_from_url(url)
        expected = (
            {}
            if route is None
            else {
                f"route_{p}": getattr(route, p)
                for p in ("segment", "domain", "scheme", "host", "port", "error")
            }
        )
        assert ({} if segment is None else route_columns(segment)) == expected, url


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "body",
    [
        b"[ET_NET 0]DEBUG: <SSLNetVConnection.cc:1573 (sslClientHandShakeEvent)>(ssl.error) SSL connection"
        b" failed for 'x.lab':error:0A000086:SSL routines::certificate verify failed",
        b"{0x7f51c3a0e700}WARNING: SNI (x.lab) not in certificate. Action=Terminate",
    ],
)
@pytest.mark.parametrize("envelope", [ENV, b"[Nov 30 15:33:58.148] "])
def test_an_ats_body_whose_thread_lost_its_space_is_declined_not_read_as_free_text(backend, body, envelope):
    """A publisher that lost the space after the thread (`[ET_NET 0]DEBUG:`) still writes an ATS body
    to the grammars: the scanner must not take it for free text (the failure would be lost)."""
    line = envelope + body
    result = scan(line + b"\n", year=YEAR, backend=backend)
    assert result.events.num_rows == 0
    assert result.declined.to_pylist()[0]["reason"] == "shape"
    assert parse_event(line.decode())["kind"] in ("ssl_connect_failed", "sni_not_in_cert")


_WORD_LISTS = [
    (b"certificate", b"alert"),
    (b"tls negotiation error", b"tcp connection closed"),
    (b"al", b"ert"),
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(
                [
                    "Certificate",
                    "ALERT",
                    "tls negotiation ERROR",
                    "tcp connection closed",
                    "al",
                    "x",
                    " ",
                    "é",
                ]
            ),
            max_size=12,
        ).map(" ".join),
        max_size=20,
    ).map(lambda lines: "\n".join(lines).encode()),
    st.permutations(range(len(_WORD_LISTS))),
    st.booleans(),
)
def test_a_shared_line_finder_gives_each_reader_what_its_own_search_gives(block, order, compiled):
    """The safety net and the traversal reader share one pass per block (phrases.SharedLineFinder)."""
    from logscope.lines.phrases import SharedLineFinder, lines_holding
    from logscope.scan import _compiled_lines_holding

    find = _compiled_lines_holding if compiled and BACKEND == "compiled" else lines_holding
    shared = SharedLineFinder(find)
    for half in (
        block[: len(block) // 2],
        block,
        block + b"\nalert",
    ):  # several blocks, lists learned on the way
        for index in order:
            words = _WORD_LISTS[index]
            assert shared(half, words) == lines_holding(half, words)
