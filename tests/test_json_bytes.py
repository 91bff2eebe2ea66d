"""The JSON document written as UTF-8 bytes (issue 14, JSON budget): the `logins` array gathered
by pyarrow from coded texts is byte for byte what json.dumps writes, on hostile text too, and a
binary file gets the same text as to_json()."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import logscope
from logscope.logins import build_logins
from logscope.render.json_codes import quoted_seconds
from logscope.render.login_json import logins_array
from logscope.render.logins import login_documents

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"

# Every character json.dumps escapes (controls, quote, backslash), the ones it leaves as they are
# with ensure_ascii=False (DEL, U+2028/2029, non-ASCII, astral), and markup.
HOSTILE = [
    "".join(chr(code) for code in range(0x20)),
    'q"uo"te',
    "back\\slash\\",
    "\\u0041 not an escape",
    "del\x7f",
    "line\u2028para\u2029",
    "ünïcödé ĸelvin \u212a",
    "astral \U0001f600",
    "</script><b>x</b>",
    "",
]
LONE_SURROGATE = "half \ud800 pair"


def _transactions(texts: list[str], copies: int) -> pd.DataFrame:
    """Login requests (UDS and device-config) whose server, path and user carry the texts, each
    login repeated `copies` times an hour apart; times at whole seconds, milliseconds,
    microseconds and nanoseconds, one unknown, one without a status."""
    base = pd.Timestamp("2024-02-28T23:59:58", tz="UTC")
    fractions = [0, 250_000_000, 123_456_000, 7, 999_000_000]
    rows = []
    for copy in range(copies):
        for n, text in enumerate(texts):
            for k, path in enumerate((f"/cucm-uds/user/{text}", f"/CSF{text}.cnf.xml")):
                index = len(rows)
                start = base + pd.Timedelta(hours=copy, seconds=n) + pd.Timedelta(fractions[index % 5])
                rows.append(
                    {"node": "expc", "pid": 7, "txn_id": index, "start": pd.NaT if index == 3 else start,
                     "method": "GET", "url": f"http://x:8443/r{path}", "upstream_path": path,
                     "route_port": 8443 if k == 0 else 6972, "upstream_port": 8443, "route_host": f"cucm {text}",
                     "upstream_ip": "10.0.0.1", "route_scheme": "https",
                     "status": None if index == 4 else (200 if index % 3 else 502), "source": "log", "line": index}
                )  # fmt: skip
    transactions = pd.DataFrame(rows)
    transactions["status"] = transactions["status"].astype("Int64")
    return transactions


def _built(texts: list[str], copies: int) -> SimpleNamespace:
    events = pd.DataFrame({"kind": pd.Series(dtype=object)})
    failures = pd.DataFrame({"linked": pd.Series(dtype=bool)})
    built = build_logins(_transactions(texts, copies), events, failures)
    assert len(built.logins) >= len(texts)
    findings = np.array([f"finding {text}" for text in texts], dtype=object)
    failed = built.steps["failed"].to_numpy(dtype=bool)
    named = np.where(failed, findings[np.arange(len(failed)) % len(texts)], None)
    built.steps["finding"] = pd.Categorical(named)
    built.steps.loc[3, "start"] = pd.NaT  # a request with no time
    return SimpleNamespace(logins=built.logins, login_steps=built.steps, finding_logins={})


@pytest.mark.parametrize("copies", [1, 40])  # few rows: combinations hashed; many: packed codes
@pytest.mark.parametrize("level", [0, 1])
def test_the_logins_array_of_hostile_text_is_what_json_dumps_writes(copies, level):
    report = _built(HOSTILE, copies)
    plain = json.dumps(login_documents(report), indent=2, ensure_ascii=False, default=str)
    written = logins_array(report.logins, report.login_steps, level=level)
    assert written == plain.replace("\n", "\n" + "  " * level)
    assert '"start": null' in written and ".000000007+00:00" in written and ".250000+00:00" in written


def test_a_lone_surrogate_leaves_the_logins_array_to_json_dumps_not_a_crash():
    """No log text has one (it is decoded with errors="replace", and the logins stage's string
    columns refuse one), but a categorical of Python strings can hold one: UTF-8 cannot, so the
    column-wise writer declines and the dict path (json.dumps) writes the array."""
    report = _built(HOSTILE[:3], 1)
    paths = report.login_steps["path"].cat.categories
    renamed = pd.Index([f"{path}{LONE_SURROGATE}" for path in paths], dtype=object)
    report.login_steps["path"] = report.login_steps["path"].cat.rename_categories(renamed)
    assert logins_array(report.logins, report.login_steps, level=0) is None
    assert LONE_SURROGATE in json.dumps(login_documents(report), indent=2, ensure_ascii=False, default=str)


def test_write_json_to_a_binary_file_writes_the_utf8_of_to_json():
    report = logscope.analyze(SAMPLES / "logins-retry.tar.gz")
    assert len(report.logins) >= 3
    binary, text = io.BytesIO(), io.StringIO()
    report.write_json(binary)
    report.write_json(text)
    assert binary.getvalue() == report.to_json().encode("utf-8") == text.getvalue().encode("utf-8")


def test_seconds_are_written_as_numpy_writes_them_across_leap_days_and_centuries():
    days = np.array([-719162, -141427, -25567, -1, 0, 11016, 11017, 11058, 11059, 47482, 47541, 2932896])
    seconds = np.concatenate([days * 86400, days * 86400 + 86399, np.arange(951_782_000, 951_869_000, 997)])
    seconds = np.concatenate([seconds, [253402300799, 253402300800, -62135596800 - 1]])  # 9999, 10000, year 0
    expected = ['"' + text for text in np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")]
    assert quoted_seconds(seconds).to_pylist() == expected
    assert quoted_seconds(seconds[:-2]).to_pylist() == expected[:-2]  # years 1000-9999: as bytes
