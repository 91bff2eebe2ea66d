"""The safety net's word list (grammars/tls_failure_phrases.toml) against every sample line we have.

No false alarm: on every sample bundle and on the lab's recorded ATS lines, a phrase hits only lines
the parser already turns into a certificate/TLS failure row, and a sample whose checks are all fine
gets no hit at all. No miss: every certificate-failure row of the samples is hit, by a phrase of the
family its process maps to. (Wiring the list into the pipeline is issue 11's next step.)
"""

from __future__ import annotations

import re
import tomllib
from functools import cache

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import logscope
from conftest import SAMPLE_INPUTS, SAMPLE_LOGS
from logscope.lines import parse_line
from logscope.resources import grammar_path

DATA = tomllib.loads(grammar_path("tls_failure_phrases.toml").read_text(encoding="utf-8"))
PHRASES = [(re.compile(p["pattern"], re.IGNORECASE), p) for p in DATA["phrase"]]
FAILURE_KINDS = {"tls_verify_failed", "sni_not_in_cert", "ssl_connect_failed"}
MANIFEST = tomllib.loads((SAMPLE_LOGS / "scenarios.toml").read_text(encoding="utf-8"))
ALL_FINE = {
    (SAMPLE_LOGS / s["path"]).name
    for s in MANIFEST["scenario"]
    if set(s["expect"].values()) <= {"ok", "not-applicable"}
}


def hits(line: str) -> list[dict]:
    return [phrase for pattern, phrase in PHRASES if pattern.search(line)]


def family_of(phrase: dict, process: str | None) -> str:
    if phrase["family"] != "by-process":
        return phrase["family"]
    for family, table in DATA["families"].items():
        if process in table["processes"]:
            return family
    return "ats" if process in (None, "traffic_server") else "unknown"


@cache
def sample_events(path):
    return logscope.analyze(path, all_events=True).events


def _read_as_traversal(path, events):
    """tvcs lines the traversal reader turned into tls_events rows (issue 15) are failure rows too,
    but for the traversal account's authentication failures: not a certificate or TLS failure (the
    phrase list's traversal family does not cover traversal-auth-failed)."""
    frame = logscope.analyze(path).tls_events
    if frame is None or frame.empty:
        return pd.Series(False, index=events.index)
    frame = frame[frame["cause"] != "auth"]
    read = set(zip(frame["source"], frame["line"], strict=True))
    pairs = zip(events["source"], events["line"], strict=True)
    return pd.Series([pair in read for pair in pairs], index=events.index)


def test_every_phrase_hits_its_example_and_names_a_family():
    assert len(PHRASES) >= 10
    for pattern, phrase in PHRASES:
        assert pattern.search(phrase["example"]), phrase["pattern"]
        assert phrase["family"] in {*DATA["families"], "by-process"}


@pytest.mark.parametrize(
    "line",
    [
        '2024-06-12T08:58:11.442+02:00 expc httpd[1607]: Event="Alarm Raised" Detail="alert lowered"',
        "[Nov 22 19:01:20.029] [TS_MAIN] NOTE: traffic server running",
        'Module="network.tls" Level="INFO": Detail="TLS handshake completed" Certificate="ok"',
        "[ET_NET 1] DEBUG: <SSLClientUtils.cc:113 (verify_callback)> (ssl_verify) Hostname a.lab verified OK, matched a.lab",
    ],
)
def test_bare_words_of_healthy_lines_are_no_phrase(line):
    assert hits(line) == []


@pytest.mark.parametrize(
    "line",
    [
        "traffic_server[812]:[ET_NET 0]WARNING:Core server certificate verificationfailed for(cucm.lab)",
        'Event="Inbound TLS  Negotiation Error" Detail="sslv3 alert certificate unknown"',
        "(ssl.error) SSL connection failed for 'x': error:0A000418:SSL routines::tlsv1 alert unknown ca",
    ],
)
def test_phrases_survive_lost_and_doubled_spaces(line):
    assert hits(line)


@pytest.mark.parametrize("path", SAMPLE_INPUTS, ids=lambda p: p.name)
def test_sample_lines_hit_only_failure_rows_and_every_failure_row_is_hit(path):
    events = sample_events(path)
    hit = events["raw"].map(lambda raw: bool(hits(raw)) if isinstance(raw, str) else False)
    failure = events["kind"].isin(FAILURE_KINDS) | _read_as_traversal(path, events)
    false_alarms = events.loc[hit & ~failure, "raw"].tolist()
    assert false_alarms == [], false_alarms[:3]
    missed = events.loc[failure & ~hit, "raw"].tolist()
    assert missed == [], missed[:3]
    for raw, process in events.loc[failure, ["raw", "process"]].itertuples(index=False):
        assert {family_of(p, process) for p in hits(raw)} == (
            {"traversal"} if process == "tvcs" else {"ats"}
        ), raw
    if path.name in ALL_FINE:
        assert not hit.any()


def test_samples_hold_failure_rows_for_the_list_to_hit():
    """The sweep above is not vacuous: the samples hold certificate failures of every kind."""
    kinds = set()
    for path in SAMPLE_INPUTS:
        kinds |= set(sample_events(path)["kind"].astype(str))
    assert kinds >= FAILURE_KINDS
    assert ALL_FINE and {path.name for path in SAMPLE_INPUTS} >= ALL_FINE


def lab_lines() -> list[str]:
    path = grammar_path("samples") / "ats92_openssl3.txt"
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_lab_lines_hit_only_failure_rows():
    """Every line the real ATS wrote, except its `(ssl.error.*)` debug lines (next test)."""
    lines = [line for line in lab_lines() if "(ssl.error." not in line]
    assert len(lines) > 40
    for line in lines:
        assert bool(hits(line)) == (parse_line(line)["kind"] in FAILURE_KINDS), line


def test_lab_ssl_debug_lines_that_name_a_failure_become_failure_rows():
    """`(ssl.error.connect) SSL connect returned -1 ... (error:...:certificate verify failed)` and
    `(ssl.error.read) ... tlsv1 alert unknown ca` speak of a failure: once wired, the safety net would
    list them (and turn an ssl-debug run's certificate checks to missing-info) unless a rule reads them."""
    debug = [line for line in lab_lines() if "(ssl.error." in line]
    assert debug and all(hits(line) for line in debug)
    assert [line for line in debug if parse_line(line)["kind"] not in FAILURE_KINDS] == []


# Words of the phrases, the separators Python's `\s` reads in ASCII (RE2's own `\s` misses \v and
# \x1c-\x1f), and bytes no phrase has: lines that hold a phrase, nearly do, or are not ASCII.
_PIECES = [
    "verification", "failed", "not", "in", "certificate", "SSL", "connection", "self", "signed",
    "alert", "unknown", "ca", "hostname", "IP", "address", "mismatch", "unable", "to", "get", "local",
    "issuer", "handshake", "failure", "TLS", "Negotiation", "Error", "CERTIFICATE", "x", "é", "ſ", "K",
]  # fmt: skip
_GAPS = ["", " ", "  ", "\t", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "-", "_", "\x00", "\x85", "\u00a0"]


@st.composite
def _example_lines(draw: st.DrawFn) -> str:
    """A phrase's example line with each of its spaces made one of the gaps (or none)."""
    words = draw(st.sampled_from([p["example"] for p in DATA["phrase"]])).split(" ")
    gaps = draw(st.lists(st.sampled_from(_GAPS), min_size=len(words) - 1, max_size=len(words) - 1))
    return words[0] + "".join(gap + word for gap, word in zip(gaps, words[1:], strict=True))


@given(
    st.lists(
        _example_lines()
        | st.lists(st.sampled_from(_PIECES) | st.sampled_from(_GAPS), max_size=12).map("".join),
        max_size=30,
    )
)
@settings(max_examples=300, deadline=None)
def test_lines_read_by_re2_hold_a_phrase_exactly_when_python_re_finds_one(texts):
    from logscope.lines.phrases import holds_phrase, phrase_list

    assert phrase_list().any_phrase_re2 is not None  # the shipped list is read by RE2
    lines = [text.encode("utf-8") for text in texts]
    expected = [phrase_list().any_phrase.search(line.decode("utf-8")) is not None for line in lines]
    assert holds_phrase(lines) == expected


@pytest.mark.parametrize(
    "pattern, translated",
    [
        (r"a\s*b", r"a[\t\n\x0b\f\r \x1c-\x1f]*b"),
        (r"self[\s-]*signed", r"self[\t\n\x0b\f\r \x1c-\x1f-]*signed"),
        (r"\b(a|b)\d{2,}", r"\b(a|b)\d{2,}"),
        (r"[]a]x", r"[]a]x"),  # a `]` first in a class is itself, for both
        (r"x(?=y)", None),  # a look-ahead: RE2 has none
        (r"a{,3}", None),  # a repetition to `re`, text to RE2
        (r"\Aa", None),  # an escape not known to read alike
        (r"[[:alpha:]]", None),  # a class name to RE2, letters to `re`
        ("ſelf", None),  # case folding beyond ASCII
    ],
)
def test_a_phrase_goes_to_re2_only_in_terms_both_read_alike(pattern, translated):
    from logscope.lines.phrases import re2_pattern

    assert re2_pattern(pattern) == translated
