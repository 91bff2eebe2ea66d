"""Every corpus line (tests/corpus/<dialect>.toml) parses to the rows it must give.

The corpus has one file per dialect of log-lines.md section 7 (the names of tests/dialects.py); each
case is a log text and its rows, in file order. Cases the parser does not read yet are marked
xfail(strict=True) in NOT_READ_YET: when the grammar learns a dialect its cases pass, the mark fails
loudly and must be removed.
"""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from conftest import ROOT, parse_text
from dialects import DIALECTS

CORPUS = ROOT / "tests" / "corpus"
FILES = sorted(CORPUS.glob("*.toml"))
# Case ids (`<dialect>:<number>`) the parser does not read yet (issue 11).
NOT_READ_YET: set[str] = set()


def cases() -> list:
    params = []
    for path in FILES:
        for number, case in enumerate(tomllib.loads(path.read_text(encoding="utf-8"))["case"], 1):
            case_id = f"{path.stem}:{number}"
            marks = (
                [pytest.mark.xfail(strict=True, reason="dialect not read yet: issue 11")]
                if case_id in NOT_READ_YET
                else []
            )
            params.append(pytest.param(case, id=case_id, marks=marks))
    return params


def test_every_dialect_has_corpus_lines_and_every_file_is_a_dialect():
    assert {path.stem for path in FILES} == set(DIALECTS)


def test_every_dialect_the_issue_names_has_a_line_from_a_real_producer():
    """Seeds' wrapped excerpts, the lab's ssl debug output, rsyslog's BSD and RFC 5424 templates."""
    producers = {
        path.stem: {c["producer"].split(" ")[0] for c in tomllib.loads(path.read_text())["case"]}
        for path in FILES
    }
    assert "seed" in producers["wrapped"]
    assert "lab" in producers["ats_ssl_debug"]
    assert "rsyslog" in producers["bsd_syslog"] and "rsyslog" in producers["rfc5424"]


def _value(row: pd.Series, column: str):
    value = row[column]
    return value if isinstance(value, dict) or not pd.isna(value) else None


def _check_ts(row: pd.Series, expected: str) -> None:
    ts = row["ts"]
    if expected == "unknown":
        assert pd.isna(ts), f"ts {ts} where none was written"
        return
    assert not pd.isna(ts), f"no time, expected {expected}"
    if expected.startswith("*-"):  # no year in the line
        assert ts.strftime("%m-%dT%H:%M:%S") == expected[2:].rstrip("Z")
        return
    assert ts == pd.Timestamp(expected), f"ts {ts} != {expected}"


def check_row(row: pd.Series, expected: dict) -> None:
    for column, want in expected.items():
        if column == "ts":
            _check_ts(row, want)
        elif column == "message_contains":
            assert want in (_value(row, "message") or "") or want in (_value(row, "raw") or "")
        elif column == "extra":
            extra = _value(row, "extra") or {}
            assert {k: (extra.get(k) or "").strip() for k in want} == want
        elif want == "unknown":
            assert _value(row, column) in (None, "unknown"), f"{column}: {_value(row, column)!r}"
        else:
            got = _value(row, column)
            assert got == want, f"{column}: {got!r} != {want!r}"


@pytest.mark.parametrize("case", cases())
def test_corpus_case_parses_to_its_rows(case):
    source = case.get("source", "log")
    text = case["text"].removeprefix("\n") if source != "log" else case["text"]
    events = parse_text(
        text.encode("utf-8"), all_events=True, source=source, host="ats" if source == "diags" else None
    ).events
    events = events.sort_values("line", kind="stable").reset_index(drop=True)
    assert len(events) == len(case["rows"]), list(events["raw"])
    for index, expected in enumerate(case["rows"]):
        check_row(events.iloc[index], expected)
