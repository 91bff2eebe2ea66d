"""The logins stage (issue 16): MRA login attempts, step by step, from inline log lines and samples."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import logscope
from logscope.cli import main
from logscope.logins import STEP_KINDS, build_logins

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
ECDSA = SAMPLES / "x14.2-ecdsa-self-signed-6972.tar.gz"
PID = 18242


def _route(host: str, port: int, scheme: str = "https") -> str:
    return base64.b64encode(f"steven.lab/{scheme}/{host}/{port}".encode()).decode().rstrip("=")


def _stamp(ms: int) -> tuple[str, str]:
    t = pd.Timestamp("2022-07-11T16:55:00Z") + pd.Timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", t.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def _line(ms: int, body: str, *, host: str = "vcsc") -> str:
    envelope, _ = _stamp(ms)
    return f"{envelope} {host} traffic_server[{PID}]: {body}"


def txn(
    ms: int, txn_id: int, path: str, *, port: int = 8443, status: int = 200, user: str | None = None
) -> list[tuple[int, str]]:
    """The lines of one proxied request (log-lines.md section 2), with its allow-list line when
    `user` is given and a self-signed warning before a 502 on 6972."""
    scheme = "http" if port == 6970 else "https"
    head = 'Module="network.http.trafficserver" Level="INFO":'
    route = _route("cucm.steven.lab", port, scheme)
    lines = [
        (ms, f'UTCTime="{_stamp(ms)[1]}" {head} Detail="Receive Request" Txn-id="{txn_id}" TrackingID="t{txn_id}" '
         f'Src-ip="127.0.0.1" Src-port="{30000 + txn_id}" Last-via-addr="" '
         f'Msg="GET http://vcs_control.steven.lab:8443/{route}{path} HTTP/1.1"'),
    ]  # fmt: skip
    if user:
        lines.append(
            (ms + 1, f'Event="Request Allowed" Detail="Access allowed" Reason="In allow list" Username="{user}" '
             f'Deployment="1" Method="GET" Request="{scheme}://cucm.steven.lab:{port}{path}" '
             f'Rule="{scheme}://cucm.steven.lab:{port}/" Match="prefix" Type="CUCM" UTCTime="{_stamp(ms + 1)[1]}"')
        )  # fmt: skip
    lines.append(
        (ms + 2, f'UTCTime="{_stamp(ms + 2)[1]}" {head} Detail="Sending Request" Txn-id="{txn_id}" '
         f'TrackingID="t{txn_id}" Dst-ip="10.48.36.215" Dst-port="{port}" Msg="GET {path} HTTP/1.1"')
    )  # fmt: skip
    if status == 502 and port == 6972:
        lines.append(
            (ms + 3, "[ET_NET 0] WARNING: Core server certificate verification failed for (cucm.steven.lab). "
             "Action=Terminate Error=self signed certificate server=cucm.steven.lab(10.48.36.215) depth=0")
        )  # fmt: skip
    else:
        reason = "connect failed" if status == 502 else ""
        lines.append(
            (ms + 5, f'UTCTime="{_stamp(ms + 5)[1]}" {head} Detail="Receive Response" Txn-id="{txn_id}" '
             f'TrackingID="" Src-ip="10.48.36.215" Src-port="{port}" Msg="HTTP/1.1 {status} {reason}"')
        )  # fmt: skip
    lines.append(
        (ms + 6, f'UTCTime="{_stamp(ms + 6)[1]}" {head} Detail="Sending Response" Txn-id="{txn_id}" '
         f'TrackingID="" Dst-ip="127.0.0.1" Dst-port="{30000 + txn_id}" Msg="HTTP/1.1 {status} "')
    )  # fmt: skip
    return lines


def login_lines(user: str, start: int, first_txn: int, *, fail: str | None = None) -> list[tuple[int, str]]:
    """A Jabber login: UDS, the 6970 files, the device's config file on 6972, IM&P and voicemail."""
    steps = [
        (f"/cucm-uds/user/{user}", 8443, 502 if fail == "uds" else 200),
        ("/jabber-config.xml", 6970, 200),
        (f"/CSF{user}.cnf.xml", 6972, 502 if fail == "6972" else 200),
    ]
    if fail == "uds":
        steps = steps[:1]
    lines = []
    for n, (path, port, status) in enumerate(steps):
        lines += txn(start + 200 * n, first_txn + n, path, port=port, status=status, user=user)
    return lines


def analyze_lines(*groups: list[tuple[int, str]]) -> logscope.Report:
    merged = sorted((item for group in groups for item in group), key=lambda item: item[0])
    return logscope.analyze("\n".join(_line(ms, body) for ms, body in merged).encode() + b"\n")


def logins_of(report: logscope.Report) -> list[dict]:
    return report.to_dict()["logins"]


def test_one_user_failing_at_uds_and_another_at_the_6972_config_file_are_two_failed_logins():
    report = analyze_lines(login_lines("alice", 0, 10, fail="uds"), login_lines("bob", 5000, 20, fail="6972"))
    by_user = {login["user"]: login for login in logins_of(report)}
    assert set(by_user) == {"alice", "bob"}
    assert (by_user["alice"]["outcome"], by_user["alice"]["failed_step"]) == ("failed", "uds")
    assert (by_user["bob"]["outcome"], by_user["bob"]["failed_step"]) == ("failed", "device-config")
    failed = [step for step in by_user["bob"]["steps"] if step["failed"]]
    assert [(s["port"], s["status"], s["tls_failure"]) for s in failed] == [
        (6972, 502, "self signed certificate (depth=0)")
    ]
    assert by_user["bob"]["device"] == "CSFbob"


def test_a_step_the_log_never_shows_is_unknown_not_failed():
    report = analyze_lines(login_lines("alice", 0, 10, fail="uds"))
    (login,) = logins_of(report)
    assert login["stages"]["uds"] == "failed"
    assert login["stages"]["device-config"] == "unknown"
    assert login["stages"]["voicemail"] == "unknown"


def test_a_healthy_login_succeeds_with_every_step_it_shows_ok():
    report = analyze_lines(login_lines("carol", 0, 10))
    (login,) = logins_of(report)
    assert (login["outcome"], login["failed_step"]) == ("succeeded", None)
    assert [s["step"] for s in login["steps"]] == ["uds", "device-config", "device-config"]
    assert login["stages"]["uds"] == login["stages"]["device-config"] == "ok"


def test_a_retry_within_30_seconds_is_the_same_attempt_and_after_a_gap_a_new_one():
    first = login_lines("dave", 0, 10, fail="6972")
    retry = txn(10_000, 20, "/CSFdave.cnf.xml", port=6972, status=200, user="dave")
    later = login_lines("dave", 100_000, 30)
    logins = logins_of(analyze_lines(first, retry, later))
    assert [(login["user"], login["requests"]) for login in logins] == [("dave", 4), ("dave", 3)]
    assert logins[0]["outcome"] == "succeeded"  # the last try of the config file got its 200


def test_two_users_interleaved_on_one_traffic_server_are_kept_apart():
    report = analyze_lines(login_lines("erin", 0, 10, fail="6972"), login_lines("frank", 100, 20))
    by_user = {login["user"]: login for login in logins_of(report)}
    assert by_user["erin"]["outcome"] == "failed" and by_user["frank"]["outcome"] == "succeeded"
    assert {s["txn_id"] for s in by_user["erin"]["steps"]} == {10, 11, 12}
    assert {s["txn_id"] for s in by_user["frank"]["steps"]} == {20, 21, 22}


def test_a_config_file_without_allow_list_line_joins_its_users_login_by_device_name():
    lines = login_lines("gina", 0, 10)
    # the 6972 request's allow-list line is missing: only the device name keys it
    lines = [item for item in lines if not ("CSFgina" in item[1] and "Request Allowed" in item[1])]
    (login,) = logins_of(analyze_lines(lines))
    assert login["user"] == "gina" and login["requests"] == 3


def test_log_text_in_the_logins_section_is_escaped():
    hostile = "<script>x</script>"
    lines = txn(0, 10, f"/cucm-uds/user/{hostile}", user=hostile)
    html = analyze_lines(lines).to_html()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


# -- the ECDSA sample (issue 16 "Done when") ------------------------------------------------------


@pytest.fixture(scope="module")
def ecdsa() -> logscope.Report:
    return logscope.analyze(ECDSA)


def test_ecdsa_sample_logins_fail_at_the_6972_config_file_while_the_other_steps_succeed(ecdsa):
    logins = logins_of(ecdsa)
    assert logins and all(login["failed_step"] == "device-config" for login in logins)
    for login in logins:
        assert {login["stages"][step] for step in ("uds", "imp", "voicemail")} <= {"ok", "unknown"}
        assert login["stages"]["uds"] == "ok"
        failed = [s for s in login["steps"] if s["failed"]]
        assert {(s["port"], s["finding"]) for s in failed} == {(6972, "ts-cert-self-signed")}
    assert 'id="logins"' in ecdsa.to_html()


def test_ecdsa_finding_names_the_users_whose_logins_it_broke(ecdsa):
    finding = next(f for f in ecdsa.to_dict()["findings"] if f["id"] == "ts-cert-self-signed")
    users = {login["user"] for login in logins_of(ecdsa)}
    assert finding["logins"]["count"] == len(logins_of(ecdsa))
    assert finding["logins"]["first_users"] and set(finding["logins"]["first_users"]) <= users
    assert finding["status"] == "issue"
    assert "login attempt(s)" in ecdsa.to_text()


def test_logins_command_filters_by_user_and_exits_as_analyze(ecdsa):
    user = logins_of(ecdsa)[0]["user"]
    result = CliRunner().invoke(main, ["logins", str(ECDSA), "--user", user.upper(), "--format", "json"])
    assert result.exit_code == ecdsa.exit_code == 1
    assert {login["user"] for login in json.loads(result.output)} == {user}
    missing = CliRunner().invoke(main, ["logins", "/no/such/bundle.tar.gz"])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


# -- property: transactions belong to at most one login; interleaving changes no login -----------


def _frames(spec: list[tuple[str, int, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transactions and allow-list events for (user, txn_id, ms) requests, every one keyed by user."""
    base = pd.Timestamp("2024-01-01", tz="UTC")
    rows, allowed = [], []
    for line, (user, txn_id, ms) in enumerate(spec, start=1):
        path = f"/cucm-uds/user/{user}" if txn_id % 2 else f"/CSF{user}.cnf.xml"
        port = 8443 if txn_id % 2 else 6972
        start = base + pd.Timedelta(milliseconds=ms)
        rows.append(
            {"node": "expc", "pid": PID, "txn_id": txn_id, "start": start, "method": "GET", "url": f"http://x:8443/r{path}",
             "upstream_path": path, "route_port": port, "upstream_port": port, "route_host": "cucm", "upstream_ip": "10.0.0.1",
             "route_scheme": "https", "status": 200 if txn_id % 3 else 502, "source": "log", "line": line}
        )  # fmt: skip
        allowed.append(
            {"ts": start, "node": "expc", "pid": PID, "url": f"https://cucm:{port}{path}", "username": user, "kind": "request_allowed"}
        )  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(allowed)


_FAILURES = pd.DataFrame({"linked": pd.Series(dtype=bool)})


def _by_user(spec: list[tuple[str, int, int]]) -> dict[str, list[tuple[int, ...]]]:
    transactions, events = _frames(spec)
    built = build_logins(transactions, events, _FAILURES)
    assert not built.steps["txn_id"].duplicated().any()  # a transaction is in at most one login
    ladders: dict[str, list[tuple[int, ...]]] = {}
    for _, rows in built.steps.groupby("login"):
        ladders.setdefault(rows["user"].iloc[0], []).append(tuple(rows["txn_id"]))
    return ladders


gaps = st.lists(st.integers(min_value=1, max_value=40_000), min_size=1, max_size=6)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(gaps, gaps, st.integers(min_value=0, max_value=60_000), st.randoms(use_true_random=False))
def test_interleaving_two_users_logins_changes_neither(gaps_a, gaps_b, offset, rnd):
    a = [("ann", 2 * n + 1 if n % 2 == 0 else 2 * n + 2, sum(gaps_a[: n + 1])) for n in range(len(gaps_a))]
    b = [("ben", 100 + n, offset + sum(gaps_b[: n + 1])) for n in range(len(gaps_b))]
    merged = a + b
    rnd.shuffle(merged)  # file order is another interleaving; time orders the ladders
    alone = {**_by_user(a), **_by_user(b)}
    assert _by_user(merged) == alone


# -- the login scenarios: the built logins equal the generator's ground truth -----------------------


def _manifest_logins() -> list[tuple[str, list[dict]]]:
    import tomllib

    manifest = tomllib.loads((SAMPLES / "scenarios.toml").read_text())
    return [(entry["path"], entry["logins"]) for entry in manifest["scenario"] if "logins" in entry]


def test_the_manifest_has_ground_truth_for_the_login_scenarios():
    names = {path for path, _ in _manifest_logins()}
    assert {"logins-uds-and-6972.tar.gz", "logins-retry.tar.gz", "logins-interleaved.tar.gz"} <= names
    assert "logins-healthy.tar.gz" in names


@pytest.mark.parametrize(("path", "truth"), _manifest_logins(), ids=lambda v: v if isinstance(v, str) else "")
def test_built_logins_equal_the_generators_ground_truth(path, truth):
    built = [
        {
            "node": login["node"],
            "user": login["user"],
            "start": pd.Timestamp(login["start"]).isoformat(timespec="milliseconds"),
            "outcome": login["outcome"],
            "failed_step": login["failed_step"] or "",
            "requests": login["requests"],
        }
        for login in logins_of(logscope.analyze(SAMPLES / path))
    ]
    expected = [
        {**row, "start": pd.Timestamp(row["start"]).isoformat(timespec="milliseconds")} for row in truth
    ]
    assert built == expected


# -- the whole `logins` JSON of the login samples, pinned (the column-wise render must not change it) ---

EXPECTED_LOGINS = json.loads((Path(__file__).parent / "data" / "sample_logins.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED_LOGINS))
def test_logins_json_of_the_login_samples_is_unchanged(name, ecdsa):
    report = ecdsa if SAMPLES / name == ECDSA else logscope.analyze(SAMPLES / name)
    assert json.loads(report.to_json())["logins"] == EXPECTED_LOGINS[name]


def test_the_api_frame_gives_each_login_its_stages_as_a_dict_of_its_own():
    report = analyze_lines(login_lines("alice", 0, 10, fail="uds"), login_lines("bob", 5000, 20))
    stages = report.logins["stages"]
    first, second = stages.iloc[0], stages.iloc[1]
    assert isinstance(first, dict) and set(first) == set(STEP_KINDS)
    first["uds"] = "changed"  # a copy: the frame and the other logins keep theirs
    assert stages.iloc[0]["uds"] != "changed" and second["uds"] != "changed"
    assert [login["stages"] for login in logins_of(report)] == stages.tolist()
