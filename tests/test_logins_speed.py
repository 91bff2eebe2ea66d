"""The logins stage's speed properties (issue 16: at most 0.3 s of the 1 GiB budget): the work it
leaves out and what it reads in place, each while building the same logins."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from test_logins import analyze_lines, login_lines

import logscope.login_allow as login_allow
import logscope.login_requests as login_requests
import logscope.logins as logins_module
from logscope.login_codes import Column, device_owner, shared
from logscope.logins import build_logins


def _frames(report):
    return report.transactions, report.events, report.tls_failures


def test_building_logins_sets_off_at_most_one_garbage_collection_and_leaves_the_collector_as_it_was():
    frames = _frames(analyze_lines(login_lines("erin", 0, 10), login_lines("frank", 100, 20)))
    started: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    threshold = gc.get_threshold()
    gc.callbacks.append(count)
    try:
        gc.collect()
        gc.set_threshold(50)  # a few thousand objects: dozens of collections unless the collector waits
        started.clear()
        built = build_logins(*frames)
        during = len(started)  # the one allowed: of what piled up, once the collector is back on
        enabled_after = gc.isenabled()
        gc.disable()
        build_logins(*frames)
        still_disabled = not gc.isenabled()
    finally:
        gc.enable()
        gc.set_threshold(*threshold)
        gc.callbacks.remove(count)
    assert during <= 1 and enabled_after and still_disabled
    assert sorted(built.logins["user"]) == ["erin", "frank"]


def test_times_are_read_in_place_as_int64_and_other_units_converted():
    from logscope.login_codes import NAT, ticks

    times = pd.Series(pd.to_datetime(["2026-03-02T13:00:02.245Z", None], utc=True)).astype(
        "datetime64[ns, UTC]"
    )
    read = ticks(times)
    assert np.shares_memory(read, times.array.asi8)  # no copy of a million times
    assert read.tolist() == [pd.Timestamp("2026-03-02T13:00:02.245Z").value, NAT]
    micro = times.astype("datetime64[us, UTC]")
    assert ticks(micro).tolist() == read.tolist()  # converted to nanoseconds
    assert np.shares_memory(ticks(micro, "us"), micro.array.asi8)


def test_a_device_only_request_looks_for_its_user_among_the_requests_of_owner_named_users_only(monkeypatch):
    # gina's 6972 request has no allow-list line: only its device name (CSFgina) says it is hers
    gina = [
        item for item in login_lines("gina", 0, 10) if not ("CSFgina" in item[1] and "Allowed" in item[1])
    ]
    report = analyze_lines(gina, login_lines("erin", 5000, 20), login_lines("frank", 9000, 30))
    sizes: list[int] = []
    real = login_requests.first_per_key

    def spy(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sizes.append(len(rows))
        return real(keys, rows)

    monkeypatch.setattr(login_requests, "first_per_key", spy)
    built = build_logins(*_frames(report))
    assert built.logins.set_index("user")["requests"].to_dict() == {"gina": 3, "erin": 3, "frank": 3}
    # the devices seen with a user (erin's and frank's), then gina's two requests with her name:
    # never erin's and frank's six, whose names no device-only request carries
    assert sizes == [2, 2]


def test_route_urls_are_not_read_when_every_request_has_its_upstream_path(monkeypatch):
    report = analyze_lines(login_lines("erin", 0, 10))
    assert report.transactions["upstream_path"].notna().all()
    read: list[object] = []
    real = login_requests.per_value

    def spy(col, function):
        read.append(function)
        return real(col, function)

    monkeypatch.setattr(login_requests, "per_value", spy)
    built = build_logins(*_frames(report))
    assert login_requests.route_path not in read
    assert built.steps["path"].tolist() == ["/cucm-uds/user/erin", "/jabber-config.xml", "/CSFerin.cnf.xml"]


def test_allow_list_users_on_one_node_are_matched_without_mapping_node_codes(monkeypatch):
    report = analyze_lines(login_lines("erin", 0, 10), login_lines("frank", 100, 20))
    mapped: list[int] = []
    real = login_allow.shared

    def spy(*columns):
        mapped.append(len(columns))
        return real(*columns)

    monkeypatch.setattr(login_allow, "shared", spy)
    built = build_logins(*_frames(report))
    assert mapped == []  # one node on both sides, seen from the distinct names alone
    # jabber-config.xml names neither user nor device: its user comes from the allow-list line alone
    assert built.steps.groupby("user", observed=True)["path"].apply(list).to_dict() == {
        "erin": ["/cucm-uds/user/erin", "/jabber-config.xml", "/CSFerin.cnf.xml"],
        "frank": ["/cucm-uds/user/frank", "/jabber-config.xml", "/CSFfrank.cnf.xml"],
    }


def _node_parts_by_shared_codes(requests: Column, lines: Column) -> list[tuple[np.ndarray, np.ndarray]]:
    """What the allow-list match keyed nodes by before: both sides' codes mapped into one set."""
    (left, right), _ = shared(requests, lines)
    nowhere = max(int(left.max(initial=-1)), int(right.max(initial=-1))) + 1
    right = np.where(right >= 0, right, nowhere)
    return [] if left.min() == left.max() == right.min() == right.max() else [(left, right)]


_NODE_NAMES = st.lists(st.sampled_from(["expc1", "expc2", "unknown"]), min_size=1, max_size=3, unique=True)


@st.composite
def _node_column(draw, missing: bool) -> Column:
    names = draw(_NODE_NAMES)
    codes = draw(st.lists(st.integers(-1 if missing else 0, len(names) - 1), min_size=1, max_size=8))
    return Column(np.array(codes, dtype="int64"), np.array(names, dtype=object))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_node_column(missing=False), _node_column(missing=True))
def test_node_key_parts_are_the_shared_codes_and_none_on_one_node(requests, lines):
    ours = login_allow._node_parts(requests, lines)
    theirs = _node_parts_by_shared_codes(requests, lines)
    assert len(ours) == len(theirs)
    for (left, right), (left_then, right_then) in zip(ours, theirs, strict=True):
        assert left.tolist() == left_then.tolist() and right.tolist() == right_then.tolist()


def test_logins_on_one_node_are_ordered_without_ranking_node_names(monkeypatch):
    report = analyze_lines(
        login_lines("erin", 0, 10), login_lines("frank", 100, 20), login_lines("erin", 90000, 30)
    )
    ranked: list[int] = []
    real = logins_module.ranks

    def spy(values: np.ndarray) -> np.ndarray:
        ranked.append(len(values))
        return real(values)

    monkeypatch.setattr(logins_module, "ranks", spy)
    built = build_logins(*_frames(report))
    assert ranked == []  # one node orders nothing: its name is never ranked
    assert built.logins["user"].tolist() == ["erin", "frank", "erin"]
    assert built.steps["login"].tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def _device_users_by_rule(node: Column, user: Column, device: Column) -> list[int]:
    """Issue 16's rule, request by request: a device-only request takes the user of the first request
    of its device that names one, else of the first request on its node whose user, lower-cased,
    is the name its device carries (CSFemusk: emusk)."""
    rows = range(len(user.codes))
    result = [-1] * len(user.codes)
    for row in rows:
        if device.codes[row] < 0 or user.codes[row] >= 0:
            continue
        same = [
            other for other in rows if device.codes[other] == device.codes[row] and user.codes[other] >= 0
        ]
        owner = device_owner(device.values[device.codes[row]])
        named = [
            other
            for other in rows
            if user.codes[other] >= 0
            and node.codes[other] == node.codes[row]
            and user.values[user.codes[other]].lower() == owner
        ]
        chosen = same or named
        result[row] = int(user.codes[chosen[0]]) if chosen else -1
    return result


def _coded(draw, names: list[str], rows: int, missing: bool) -> Column:
    values = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    codes = draw(st.lists(st.integers(-1 if missing else 0, len(values) - 1), min_size=rows, max_size=rows))
    return Column(np.array(codes, dtype="int64"), np.array(values, dtype=object))


@st.composite
def _requests_columns(draw) -> tuple[Column, Column, Column]:
    rows = draw(st.integers(1, 12))
    node = _coded(draw, ["expc1", "expc2"], rows, missing=draw(st.booleans()))
    user = _coded(draw, ["emusk", "Emusk", "bob", "Éva"], rows, missing=True)
    device = _coded(draw, ["CSFemusk", "csfbob", "TCTÉVA", "BOTnobody", "phone1"], rows, missing=True)
    return node, user, device


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_requests_columns())
def test_device_only_users_follow_the_rule_and_one_node_pairs_no_node_codes(columns):
    node, user, device = columns
    paired: list[int] = []
    real = login_requests.pair_codes

    def spy(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        paired.append(len(first))
        return real(first, second)

    login_requests.pair_codes = spy
    try:
        guessed = login_requests.device_users(node, user, device).tolist()
    finally:
        login_requests.pair_codes = real
    assert guessed == _device_users_by_rule(node, user, device)
    if len(node.values) == 1 and node.codes.min() >= 0:
        assert paired == []  # one node tells no request apart: the lower-cased name alone keys the guess


def test_allow_list_times_are_ordered_with_equal_times_in_log_order():
    """Which of several requests at one instant an allow-list line matches must not depend on how a
    numpy build's quicksort orders ties (it is not stable, and its tie order is no contract)."""
    from logscope.login_allow import _time_order

    clock = np.random.default_rng(16).integers(0, 20, size=5000).astype(np.int64)  # many equal times
    order = _time_order(clock)
    assert np.array_equal(order, np.argsort(clock, kind="stable"))


def test_a_categorical_whose_values_are_all_used_is_read_as_its_own_narrow_codes():
    from logscope.login_codes import column

    values = pd.Series(pd.Categorical(["cucm", "imp", None, "cucm"]))
    read = column(values)
    assert np.shares_memory(read.codes, values.array.codes)  # no int64 copy per request
    assert read.codes.tolist() == [0, 1, -1, 0] and read.values.tolist() == ["cucm", "imp"]


def test_codes_mapped_to_fewer_values_take_the_narrowest_type_that_holds_them():
    from logscope.login_codes import column, compact, narrow

    many = [f"/path/{n}" for n in range(40_000)]  # int32 codes in pandas
    values = pd.Series(pd.Categorical(["/path/7", "/path/39999", None], categories=many))
    read = column(values)
    assert read.codes.dtype == np.int8 and read.values.tolist() == ["/path/7", "/path/39999"]
    assert read.codes.tolist() == [0, 1, -1]
    wide = Column(
        np.array([5, -1, 300], dtype="int64"), np.array([f"v{n}" for n in range(301)], dtype=object)
    )
    kept = compact(wide)
    assert kept.codes.dtype == np.int8 and kept.text().tolist() == ["v5", None, "v300"]
    assert [narrow(count) for count in (0, 126, 127, 32_766, 32_767, 2**31 - 2, 2**31 - 1)] == [
        np.int8, np.int8, np.int16, np.int16, np.int32, np.int32, np.int64,
    ]  # fmt: skip


def test_allow_urls_are_the_categories_own_text_with_the_unused_ones_masked_not_copied():
    import pyarrow as pa

    from logscope.login_codes import arrow_column

    urls = ["https://cucm:8443/a", "https://cucm:8443/b", "https://imp:8443/c", "https://imp:8443/d"]
    values = pd.Series(pd.Categorical(["https://imp:8443/c", None, "https://cucm:8443/a"], categories=urls))
    values = values.astype(pd.CategoricalDtype(pd.Index(urls, dtype="string[pyarrow]")))
    codes, texts = arrow_column(values, at=np.array([0, 2]))
    categories = pa.array(values.array.categories.array, pa.large_string())
    assert texts.to_pylist() == ["https://cucm:8443/a", None, "https://imp:8443/c", None]
    assert texts.buffers()[2].address == categories.buffers()[2].address  # the text read in place
    assert [texts[code].as_py() for code in codes] == ["https://imp:8443/c", "https://cucm:8443/a"]
