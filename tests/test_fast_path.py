"""The fast path and the pre-selection agree with the grammars (differential tests)."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import ROOT, SAMPLE_LOGS
from logscope.lines import fast_pairs, fast_parse_line, grammars, kv_record, parse_line
from logscope.parse import _needle_for

KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True).filter(lambda k: k != "HTTPMSG")
VALUES = st.text(
    alphabet=st.characters(blacklist_characters='"\n\r', blacklist_categories=("Cs",)), max_size=30
)
ENVELOPE = "2022-07-11T18:55:25.910+02:00 vcsc traffic_server[18242]:"
REAL_LINES = [
    sample["line"]
    for path in sorted((ROOT / "grammars" / "samples").glob("*.toml"))
    for sample in tomllib.loads(path.read_text(encoding="utf-8"))["sample"]
]

grammars()  # compiled here, once, and not inside the first (timed) hypothesis example


def _kv_body(pairs: list[tuple[str, str]], level_at: int | None) -> str:
    parts = [f'{key}="{value}"' + (":" if i == level_at else "") for i, (key, value) in enumerate(pairs)]
    return " ".join(parts)


@settings(max_examples=300)
@given(st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=8), st.integers(0, 8))
def test_fast_pairs_equal_grammar_pairs(pairs, level_at):
    body = " " + _kv_body(pairs, level_at if level_at < len(pairs) else None)
    assert fast_pairs(body) == grammars()["kv"].parse(body)


@settings(max_examples=300)
@given(st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=8))
def test_fast_line_equals_grammar_line(pairs):
    line = f"{ENVELOPE} {_kv_body(pairs, None)}"
    fast = fast_parse_line(line)
    assert fast is not None
    assert fast == parse_line(line)
    assert kv_record(pairs)["kind"] == fast["kind"]


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_fast_path_never_disagrees_on_arbitrary_text(text):
    for line in (text, f"{ENVELOPE} {text}", f'{ENVELOPE} Detail="{text}"'):
        fast = fast_parse_line(line)
        if fast is not None:
            assert fast == parse_line(line)


def _lines_of_samples():
    for path in sorted(SAMPLE_LOGS.glob("**/*")):
        if path.suffix in {".txt", ".log"} and path.stat().st_size < 5_000_000:
            yield from path.read_text(encoding="utf-8", errors="replace").splitlines()


def test_preselection_keeps_every_traffic_server_line():
    """A line the envelope grammar attributes to traffic_server always contains the needle."""
    needle = _needle_for("log", all_events=False).decode()
    lines = REAL_LINES + list(_lines_of_samples())
    for line in lines:
        record = parse_line(line)
        if record.get("process") == "traffic_server" and record.get("ts_format") == "rfc3339":
            assert needle in line, line


@settings(max_examples=300)
@given(
    st.sampled_from(["traffic_server", "tvcs", "traffic_server_x", "httpd", "traffic_serve"]),
    st.one_of(st.none(), st.integers(1, 99999)),
    st.text(max_size=60),
)
def test_preselection_superset_on_generated_envelopes(process, pid, body):
    line = f"2024-01-02T03:04:05.678Z host {process}{f'[{pid}]' if pid else ''}: {body}"
    record = parse_line(line)
    if record.get("process") == "traffic_server":
        assert _needle_for("log", all_events=False).decode() in line


SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=25
)
ATS_MESSAGES = st.one_of(
    st.builds(
        "Core server certificate verification failed for ({}). Action={} Error={} server={}({}) depth={}".format,
        SAFE_TEXT,
        st.sampled_from(["Terminate", "Continue", "X1"]),
        SAFE_TEXT,
        SAFE_TEXT,
        SAFE_TEXT,
        st.integers(-2, 9),
    ),
    st.builds(
        "{} ({}) not in certificate. Action={} server={}({})".format,
        st.sampled_from(["SNI", "SAN", "Origin hostname", "SANS"]),
        SAFE_TEXT,
        st.sampled_from(["Terminate", "Continue"]),
        SAFE_TEXT,
        SAFE_TEXT,
    ),
    st.builds(
        "SSL connection failed for {}: {}".format,
        st.sampled_from(["'a.b'", '"1.2.3.4"', "x", "''"]),
        SAFE_TEXT,
    ),
    SAFE_TEXT,
)


@settings(max_examples=500)
@example(  # a tab before ` server=`: the grammar's error text stops before it, so must the fast path's
    "[ET_NET 0] ",
    "WARNING",
    ": ",
    "Core server certificate verification failed for (). Action=Terminate Error=0\t server=() depth=0",
    "",
)
@given(
    st.sampled_from(["[ET_NET 0] ", "[ET_NET 12]  ", "traffic_server ", "", " [x] "]),
    st.sampled_from(["WARNING", "ERROR", "NOTE", "DEBUG", "Warning"]),
    st.sampled_from([": ", ":", ":  "]),
    ATS_MESSAGES,
    st.sampled_from(["", " ", "\t"]),
)
def test_fast_ats_diagnostics_equal_grammar(origin, level, colon, message, trail):
    for line in (
        f"{ENVELOPE} {origin}{level}{colon}{message}{trail}",
        f"[Nov 22 15:10:45.188] {origin}{level}{colon}{message}{trail}",
    ):
        fast = fast_parse_line(line)
        if fast is not None:
            assert fast == parse_line(line), line


@pytest.mark.parametrize(
    "message",
    [
        "Core server certificate verification failed for x",
        "Core server certificate verification failed for (). Action=Terminate Error=e server=() depth=0",
        "SAN is great",
        "SNI (x) not in certificate. Action=Terminate",
        "SSL connection failed for x: y",
        "SSL connection failed for 'x': error:0A000086:SSL routines::certificate verify failed",
    ],
)
def test_near_miss_messages_agree(message):
    line = f"{ENVELOPE} [ET_NET 0] WARNING: {message}"
    fast = fast_parse_line(line)
    assert fast is None or fast == parse_line(line)


@settings(max_examples=200)
@given(
    st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=5),
    st.text(max_size=60),
    st.sampled_from([" ", "", "\t "]),
)
def test_fast_pairs_with_httpmsg_equal_grammar(pairs, message, gap):
    body = f" {_kv_body(pairs, None)}{gap}HTTPMSG:{message}"
    fast = fast_pairs(body)
    assert fast is not None
    assert fast == grammars()["kv"].parse(body)
