"""The logins stage and its JSON worked column-wise (issue 16, speed): the fast paths read and write
exactly what the plain ones do, on samples and on hostile text."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import logscope
from logscope.login_codes import Column, device_name, device_owner, path_facts, path_kind, uds_user
from logscope.login_requests import _PATH_KINDS
from logscope.logins import build_logins
from logscope.render.json import report_document
from logscope.render.login_json import logins_array, positions_in
from logscope.render.logins import login_documents

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"

# Paths a hostile or odd log may carry: case, query strings, signed and TLV files, a path that
# ends in a newline (re's `$` matches before it, RE2's does not), and non-ASCII letters whose
# lower case or case folding differ between str.lower and RE2 (long s, Kelvin sign, dotted I).
PATHS = [
    "/cucm-uds/user/emusk",
    "/CUCM-UDS/User/EMusk/devices",
    "/cucm-uds/private/user/jdoe?x=1",
    "/cucm-uds/user/",
    "/cucm-uds/version",
    "/SEPAB12.cnf.xml",
    "/CSFemusk.cnf.xml.sgn",
    "/dir/TCTann.tlv?x",
    "/x.cnf.xml#frag",
    "/CSFbob.cnf.xml\n",
    "/CSFbob.cnf.xmlx",
    "/http-bind/BOSH",
    "/boſh/x",
    "/cup/x",
    "/EPASSoap/service/v105",
    "/vmrest/user",
    "/sip/REGİSTER",
    "/\u212aregister",
    "/get_edge_config?service_name=_cisco-uds",
    "/ünïcode/cucm-uds/user/x",
    '/q"uote\\back',
    "",
]


def test_path_facts_read_every_path_as_re_and_str_lower_do():
    col = Column(np.arange(len(PATHS), dtype="int64"), np.array(PATHS, dtype=object))
    kind, user, device = path_facts(col, _PATH_KINDS)
    assert kind.text().tolist() == [path_kind(path, _PATH_KINDS) for path in PATHS]
    assert user.text().tolist() == [uds_user(path) for path in PATHS]
    assert device.text().tolist() == [device_name(path) for path in PATHS]
    assert device.text()[PATHS.index("/CSFbob.cnf.xml\n")] == "CSFbob"  # re's `$`, kept


def _plain_json(report: SimpleNamespace) -> str:
    return json.dumps(login_documents(report), indent=2, ensure_ascii=False, default=str)


@pytest.mark.parametrize("name", ["logins-retry.tar.gz", "x14.2-ecdsa-self-signed-6972.tar.gz"])
def test_report_json_with_logins_written_column_wise_is_what_json_dumps_writes(name):
    report = logscope.analyze(SAMPLES / name)
    assert report.logins is not None and len(report.logins)
    plain = json.dumps(report_document(report), indent=2, ensure_ascii=False, default=str)
    assert report.to_json() == plain
    assert logins_array(report.logins, report.login_steps, level=0) == _plain_json(report)


def _hostile_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Requests whose text needs escaping (quotes, backslashes, controls, U+2028, non-ASCII), a
    request without a time, one below the microsecond and one without a status."""
    base = pd.Timestamp("2024-01-01", tz="UTC")
    users = ['e"musk', "j\\doe", "tab\tuser", "ünï\u2028code", "nul\x00l"]
    rows = []
    for n, user in enumerate(users * 2):
        uds = n % 2 == 0
        path = f"/cucm-uds/user/{user}" if uds else f"/CSF{user}.cnf.xml"
        start = base + pd.Timedelta(seconds=n) + pd.Timedelta(nanoseconds=n * 7)
        rows.append(
            {"node": "expc", "pid": 7, "txn_id": n, "start": start if n != 3 else pd.NaT, "method": "GET",
             "url": f"http://x:8443/r{path}", "upstream_path": path, "route_port": 8443 if uds else 6972,
             "upstream_port": 8443, "route_host": f'cucm"{n}', "upstream_ip": "10.0.0.1", "route_scheme": "https",
             "status": None if n == 4 else (200 if n % 3 else 502), "source": "log", "line": n}
        )  # fmt: skip
    transactions = pd.DataFrame(rows)
    transactions["status"] = transactions["status"].astype("Int64")
    events = pd.DataFrame({"kind": pd.Series(dtype=object)})
    failures = pd.DataFrame({"linked": pd.Series(dtype=bool)})
    return transactions, events, failures


def test_hostile_text_in_the_logins_array_is_escaped_exactly_as_json_dumps_does():
    built = build_logins(*_hostile_frames())
    built.steps["finding"] = pd.array(
        ['ts-"x"' if failed else None for failed in built.steps["failed"]], dtype="string"
    )
    report = SimpleNamespace(logins=built.logins, login_steps=built.steps, finding_logins={})
    written = logins_array(built.logins, built.steps, level=1)
    plain = _plain_json(report).replace("\n", "\n  ")
    assert written == plain
    assert re.search(r'"user": "e\\"musk"', written) and "\\u0000" in written
    assert json.loads(written) == login_documents(report)


def test_a_time_zone_other_than_utc_is_written_as_isoformat_writes_it():
    transactions, events, failures = _hostile_frames()
    transactions["start"] = transactions["start"].dt.tz_convert("Europe/Oslo")
    built = build_logins(transactions, events, failures)
    report = SimpleNamespace(logins=built.logins, login_steps=built.steps, finding_logins={})
    assert logins_array(built.logins, built.steps, level=0) == _plain_json(report)
    assert "+01:00" in logins_array(built.logins, built.steps, level=0)


def test_match_and_sort_keys_stay_exact_when_codes_are_too_large_to_mix():
    from logscope.login_codes import joint_key as _joint_key
    from logscope.logins import _mixed_or_not

    # mixed naively, (4, 0) would be 4 * 2**62 + 0, which wraps to (0, 0)'s key
    major = np.array([0, 4, 0], dtype="int64")
    minor = np.array([0, 0, 2**62 - 1], dtype="int64")
    key = _joint_key((major, major), (minor, minor))  # left rows, then the same as right rows
    assert len(set(key[:3].tolist())) == 3 and key[:3].tolist() == key[3:].tolist()
    # and 2 * (2**62 + 1) wraps negative: it would sort before (0, 2**62)
    parts = _mixed_or_not((np.array([2, 0], dtype="int64"), np.array([0, 2**62], dtype="int64")))
    assert np.lexsort(parts).tolist() == [1, 0]
    assert len(_mixed_or_not((np.array([1, 2]), np.array([3, 4])))) == 1  # small ones are mixed


URLS = [
    "https://cucm:8443/a", "http://cucm:6970", "https://cucm:8443/b/c", "https://cucm:8443", "ftp://x",
    "https://cucm:8443//a", "/a", "", "https://cucm:8443/a?x=1", "https://cucm:8443/ü", "https://cucm:6970/a",
    "https://cu:cm:8443/a", "https://cucm:8443/a:1/x", "https://cucm:8443/a:8443/x", "https://cucm:8443x/y", "https://a/b:1/c",
    "https://cucm:8443/a://b", "x/https://cucm:8443/a", "https:/cucm:8443/a", "https://cucm:8443/x/y",
]  # fmt: skip


@pytest.mark.parametrize(
    "servers, paths",
    [
        (["cucm", "cu:cm", "ünï"], ["/a", "/b/c", "", "/ü", "/a:1/x", "//a"]),
        (["cucm:8443/a", "cucm"], ["/x", "/a:8443/x"]),  # a server with '/': two requests, one URL
        (["cucm"], ["x/y", "/a"]),  # a path without its leading '/'
        (["cucm"], ["/a://b", "/x/y", "/a"]),  # a "://" in the path
    ],
)
@pytest.mark.parametrize("unused", [(), (0, 3, 4)])  # URLs no allow line has: masked (null), never matched
def test_allow_urls_cut_after_the_scheme_match_exactly_the_requests_whole_urls_do(servers, paths, unused):
    from logscope.login_allow import Requests, _whole_url_keys, url_keys
    from logscope.login_codes import masked

    grid = [
        (s, v, p, t)
        for s in (0, 1)
        for v in range(len(servers))
        for p in (8443, 6970)
        for t in range(len(paths))
    ]
    scheme, server, port, path = (np.array(part, dtype="int64") for part in zip(*grid, strict=True))
    requests = Requests(
        rows=np.arange(len(grid)),
        node=Column(np.zeros(len(grid), dtype="int64"), np.array(["n"], dtype=object)),
        pid=np.zeros(len(grid), dtype="int64"),
        scheme=Column(scheme, np.array(["https", "http"], dtype=object)),
        server=Column(server, np.array(servers, dtype=object)),
        port=(port, np.ones(len(grid), dtype=bool)),
        path=Column(path, np.array(paths, dtype=object)),
    )
    urls = masked(pa.array(URLS, pa.string()), ~np.isin(np.arange(len(URLS)), unused))
    left, right = url_keys(requests, urls)
    whole_left, whole_right = _whole_url_keys(requests, urls)
    assert (left[:, None] == right[None, :]).tolist() == (
        whole_left[:, None] == whole_right[None, :]
    ).tolist()
    assert (whole_left < len(URLS)).any()  # some request has one of the URLs


def test_device_owners_and_lower_case_users_read_in_arrow_are_what_re_and_str_lower_give():
    from logscope.login_codes import device_owners, per_value_ascii

    # ASCII names go to RE2 and ASCII lower-casing; a long s, the Kelvin sign, a dotted I or a
    # trailing newline (re's `$` matches before it) must be read by Python as before
    names = [
        "CSFemusk",
        "csfEMusk",
        "BOTx",
        "TCT",
        "TABann\n",
        "SEP00AB",
        "CSFſ",
        "ſCSFx",
        "CSF\u212a",
        "tabX Y",
        "",
    ]
    col = Column(np.arange(len(names), dtype="int64"), np.array(names, dtype=object))
    assert per_value_ascii(col, device_owners, device_owner).text().tolist() == [
        device_owner(n) for n in names
    ]
    users = ["EMusk", "ſa", "\u212aB", "x\n", "İ", "bob"]
    col = Column(np.arange(len(users), dtype="int64"), np.array(users, dtype=object))
    assert per_value_ascii(col, pc.ascii_lower, str.lower).text().tolist() == [user.lower() for user in users]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["uds", None, "x\u00e9", "nope", "edge-config", ""], dtype="string"),
        pd.Series(["uds", None, np.nan, "edge-config"], dtype=object),
        pd.Series([1, 2.5, "uds", None], dtype=object),
        pd.Series(pd.Categorical(["uds", None, "edge-config"])),
        pd.Series([], dtype="string"),
    ],
)
def test_a_failed_step_is_found_among_the_step_names_as_get_indexer_finds_it(values):
    """The lookup of each login's failed step (pyarrow's index_in over text, get_indexer else)."""
    names = pd.Index(["edge-config", "uds", "x\u00e9", ""], dtype=object)
    found = positions_in(values, names)
    assert found.dtype == np.dtype("int64")
    assert found.tolist() == names.get_indexer(values.astype(object).to_numpy()).tolist()
