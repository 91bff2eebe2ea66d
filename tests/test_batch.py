"""`logscope batch` and logscope.batch(): many inputs, a report pair each, index.html and summary.csv.

Bundles are built in tmp_path from the sample_logs/ bundles (their log cut to a few hundred lines so
each one differs and the whole file stays fast) or from tiny inline logs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import logscope
import logscope.batch
import logscope.batch.cache
import logscope.batch.worker
from conftest import ROOT, SAMPLE_LOGS, tar_bytes
from logscope.batch import (
    BatchResult,
    BatchSummary,
    analyze_one,
    plan_batch,
    report_stem,
    run_batch,
    summary_csv,
    unique_stems,
)
from logscope.cli import main

SCENARIOS = sorted(SAMPLE_LOGS.glob("*.tar.gz"))
FORMS = ("tgz", "tar", "zip", "folder", "txt")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# --- building bundles ------------------------------------------------------------------------------


@cache
def _members(path: Path) -> tuple[tuple[str, bytes], ...]:
    with tarfile.open(path) as archive:
        return tuple((m.name, archive.extractfile(m).read()) for m in archive if m.isfile())


def sample_members(scenario: Path, keep_lines: int | None = None) -> dict[str, bytes]:
    """A sample bundle's members, its loggingsnapshot cut to its first `keep_lines` lines."""
    members = dict(_members(scenario))
    if keep_lines is not None:
        for name, data in members.items():
            if name.startswith("loggingsnapshot_"):
                members[name] = b"".join(data.splitlines(keepends=True)[:keep_lines])
    return members


def log_member(members: dict[str, bytes]) -> tuple[str, bytes]:
    return next(
        (name, data) for name, data in members.items() if name.startswith(("loggingsnapshot_", "diags"))
    )


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_bundle(members: dict[str, bytes], folder: Path, stem: str, form: str) -> Path:
    """The members as <stem>.tar.gz / .tar / .zip, an unpacked folder, or just the log as <stem>.txt."""
    if form == "folder":
        target = folder / stem
        target.mkdir()
        for name, data in members.items():
            (target / name).write_bytes(data)
        return target
    if form == "txt":
        target = folder / f"{stem}.txt"
        target.write_bytes(log_member(members)[1])
        return target
    suffix, data = {
        "tgz": (".tar.gz", lambda: tar_bytes(members)),
        "tar": (".tar", lambda: tar_bytes(members, "w")),
        "zip": (".zip", lambda: zip_bytes(members)),
    }[form]
    target = folder / f"{stem}{suffix}"
    target.write_bytes(data())
    return target


def bad_crc_zip(members: dict[str, bytes]) -> bytes:
    """A stored zip whose log member has one byte flipped: its CRC-32 no longer matches."""
    blob = bytearray(zip_bytes(members, zipfile.ZIP_STORED))
    start = blob.index(log_member(members)[1][:200])
    blob[start + 100] ^= 0x20
    return bytes(blob)


def make_cases(folder: Path, count: int, first_lines: int = 150) -> list[Path]:
    """`count` small, distinct, valid bundles in every form, cycling through the sample scenarios."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        scenario = SCENARIOS[index % len(SCENARIOS)]
        members = sample_members(scenario, keep_lines=first_lines + 3 * index)
        stem = f"case{index:02d}-{scenario.name.removesuffix('.tar.gz')}"
        paths.append(write_bundle(members, folder, stem, FORMS[index % len(FORMS)]))
    return paths


def tree(root: Path, skip: Path | None = None) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.lstat().st_size
        for p in root.rglob("*")
        if skip is None or (p != skip and skip not in p.parents)
    }


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def index_rows(index: Path) -> dict[str, str]:
    """name -> the row's HTML, from index.html's table body."""
    body = index.read_text(encoding="utf-8").split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r'<tr class="(?:ok|failed)" data-name="([^"]+)">(.*?)</tr>', body, re.S)
    return dict(rows)


# --- the issue's acceptance --------------------------------------------------------------------


def test_fifty_bundles_three_broken_give_fifty_rows_47_reports_and_exit_2(tmp_path):
    work = tmp_path / "work"
    cases = work / "cases"
    make_cases(cases, 47)
    healthy = sample_members(SAMPLE_LOGS / "healthy-mra-login.tar.gz", keep_lines=200)
    whole = tar_bytes(healthy)
    (cases / "broken-truncated.tar.gz").write_bytes(whole[: len(whole) // 2])
    (cases / "broken-bad-crc.zip").write_bytes(bad_crc_zip(healthy))
    (cases / "broken-binary.txt").write_bytes(bytes(range(256)) * 64)
    (cases / "README.md").write_text("notes about these cases\n")  # not a bundle: listed, not analyzed
    out = work / "out"
    before = tree(work)

    result = CliRunner().invoke(main, ["batch", str(cases), "--out", str(out), "--jobs", "2"])

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"50 inputs: 47 analyzed (0 cached), 3 failed; index: {out / 'index.html'}" in result.output
    assert tree(work, skip=out) == before  # nothing written outside --out

    rows = index_rows(out / "index.html")
    assert len(rows) == 50
    failed = {
        name: html
        for name, html in rows.items()
        if "error" in html and re.search(r'class="error"[^>]*>[^<]', html)
    }
    assert set(failed) == {"broken-truncated", "broken-bad-crc", "broken-binary"}
    assert "damaged archive" in failed["broken-truncated"]
    assert "Bad CRC-32" in failed["broken-bad-crc"]
    assert "no Expressway or traffic-server log found" in failed["broken-binary"]

    reports = {p.stem for p in out.glob("*.html")} - {"index"}
    assert reports == {p.stem for p in out.glob("*.json")} == set(rows) - set(failed)
    assert len(reports) == 47
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    for name in reports:
        document = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        source = Path(document["batch"]["input"])
        if source.is_file():
            assert document["batch"]["content_hash"] == sha256(source)
        assert document["batch"]["logscope_version"] == logscope.__version__

    table = pd.read_csv(out / "summary.csv")
    assert table["input"].nunique() == 50
    broken = table[~table["ok"]]
    assert len(broken) == 3 and broken["error"].notna().all() and broken["finding_id"].isna().all()
    per_input = table[table["ok"]].groupby("name")["finding_id"].count()
    assert len(per_input) == 47 and (per_input == per_input.max()).all() and per_input.max() >= 10
    assert "README.md" in (out / "index.html").read_text(encoding="utf-8")


def test_a_tar_without_a_log_is_a_failed_row_with_no_report(tmp_path):
    members = sample_members(SAMPLE_LOGS / "healthy-mra-login.tar.gz")
    facts_only = {name: data for name, data in members.items() if not name.startswith("loggingsnapshot_")}
    bundle = tmp_path / "facts-only.tar"
    bundle.write_bytes(tar_bytes(facts_only, "w"))
    out = tmp_path / "out"
    out.mkdir()
    result = analyze_one(str(bundle), out, name="facts-only")
    assert not result.ok and "no Expressway or traffic-server log found" in result.error
    assert result.content_hash == sha256(bundle) and list(out.iterdir()) == []


# --- re-running ---------------------------------------------------------------------------------


def test_rerun_skips_up_to_date_reports_unless_forced_and_reanalyzes_a_changed_input(tmp_path):
    cases, out = tmp_path / "cases", tmp_path / "out"
    paths = make_cases(cases, 3)
    first = run_batch([str(cases)], out, jobs=2)
    assert [r.cached for r in first.results] == [False, False, False] and first.failed == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("case*")}

    second = run_batch([str(cases)], out, jobs=2)
    assert [r.cached for r in second.results] == [True, True, True]
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("case*")} == stamps
    assert [r.summary for r in second.results] == [r.summary for r in first.results]
    assert [r.top_finding for r in second.results] == [r.top_finding for r in first.results]
    assert second.describe().startswith("3 inputs: 3 analyzed (3 cached), 0 failed")

    changed = paths[0]
    members = sample_members(SCENARIOS[0], keep_lines=400)
    changed.write_bytes(tar_bytes(members))
    third = run_batch([str(cases)], out, jobs=2)
    assert [r.cached for r in third.results] == [False, True, True]
    stored = json.loads(third.results[0].json.read_text(encoding="utf-8"))
    assert stored["batch"]["content_hash"] == sha256(changed) != first.results[0].content_hash

    forced = CliRunner().invoke(main, ["batch", str(cases), "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "3 inputs: 3 analyzed (0 cached), 0 failed" in forced.output


def test_a_new_version_or_other_settings_invalidate_the_cache(tmp_path, monkeypatch):
    bundle = make_cases(tmp_path / "cases", 1)[0]
    out = tmp_path / "out"
    out.mkdir()
    assert not analyze_one(str(bundle), out, name="one").cached
    assert analyze_one(str(bundle), out, name="one").cached
    assert not analyze_one(str(bundle), out, max_bytes=10**9, name="one").cached
    assert not analyze_one(str(bundle), out, name="one").cached  # back to the default cap: redone
    pack = tmp_path / "pack"
    pack.mkdir()
    assert not analyze_one(str(bundle), out, signature_dirs=[str(pack)], name="one").cached
    (pack / "site-check.toml").write_text('id = "site-check"\n')
    assert not analyze_one(str(bundle), out, signature_dirs=[str(pack)], name="one").cached
    assert analyze_one(str(bundle), out, signature_dirs=[str(pack)], name="one").cached
    monkeypatch.setattr(logscope.batch.cache, "__version__", "99.0")
    assert not analyze_one(str(bundle), out, signature_dirs=[str(pack)], name="one").cached


def test_an_input_that_breaks_loses_its_old_reports(tmp_path):
    cases, out = tmp_path / "cases", tmp_path / "out"
    bundle = make_cases(cases, 1)[0]
    assert run_batch([str(bundle)], out, jobs=1).failed == 0
    assert (out / f"{bundle.name.removesuffix('.tar.gz')}.json").exists()
    bundle.write_bytes(bundle.read_bytes()[:300])
    summary = run_batch([str(bundle)], out, jobs=1)
    assert summary.failed == 1 and not summary.results[0].cached
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "summary.csv"]


# --- the Python API -------------------------------------------------------------------------------


def test_logscope_batch_yields_results_as_they_finish_and_writes_nothing_without_out_dir(tmp_path):
    cases = tmp_path / "cases"
    paths = make_cases(cases, 4)
    (cases / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    before = tree(tmp_path)
    results = list(logscope.batch([str(cases)], jobs=2))
    assert tree(tmp_path) == before
    assert all(isinstance(r, BatchResult) for r in results)
    by_input = {r.input: r for r in results}
    assert set(by_input) == {str(p) for p in paths} | {str(cases / "broken.zip")}
    assert [r.ok for r in results].count(False) == 1 and by_input[str(cases / "broken.zip")].error
    assert all(r.html is None and r.json is None and r.seconds > 0 for r in results)
    healthy = [r for r in results if r.ok and r.top_finding is None]
    assert all(r.summary["issue"] == 0 for r in healthy)

    written = list(logscope.batch([str(p) for p in paths[:2]], out_dir=tmp_path / "out", jobs=1))
    assert all(r.html.is_file() and r.json.is_file() for r in written)
    assert not (tmp_path / "out" / "index.html").exists()  # the index is run_batch's job


def test_analyze_accepts_bytes_and_a_binary_file_object():
    path = SAMPLE_LOGS / "seed003-self-signed-6972.tar.gz"
    from_path = logscope.analyze(path)
    from_bytes = logscope.analyze(path.read_bytes())
    with open(path, "rb") as stream:
        from_file = logscope.analyze(stream)
    statuses = {f.id: f.status for f in from_path.findings}
    assert statuses["ts-cert-self-signed"] == "issue"
    assert {f.id: f.status for f in from_bytes.findings} == statuses
    assert {f.id: f.status for f in from_file.findings} == statuses
    assert from_bytes.stats["lines"] == from_file.stats["lines"] == from_path.stats["lines"]
    with pytest.raises(logscope.BundleError):
        logscope.analyze(io.BytesIO(b"\x00" * 100))


def test_analysis_crash_becomes_an_internal_error_row(tmp_path, monkeypatch):
    bundle = make_cases(tmp_path / "cases", 1)[0]

    def explode(*args, **kwargs):
        raise RuntimeError("boom\nwith a second line")

    monkeypatch.setattr(logscope.batch.worker, "_analyze", explode)
    result = analyze_one(str(bundle), tmp_path / "out", name="x")
    assert not result.ok and result.error == "internal error: RuntimeError: boom with a second line"


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patch reaches workers by fork")
def test_a_worker_process_that_dies_fails_only_its_own_input(tmp_path, monkeypatch):
    cases = tmp_path / "cases"
    paths = make_cases(cases, 4)
    crash = paths[1].rename(paths[1].with_name("crash-" + paths[1].name))
    analyze = logscope.batch.worker._analyze

    def die_on_crash(input_path, *args):
        if "crash-" in input_path:
            os._exit(70)
        return analyze(input_path, *args)

    monkeypatch.setattr(logscope.batch.worker, "_analyze", die_on_crash)
    summary = run_batch([str(cases)], tmp_path / "out", jobs=2)
    assert len(summary.results) == 4 and summary.failed == 1
    (dead,) = [r for r in summary.results if not r.ok]
    assert dead.input == str(crash)
    assert dead.error.startswith("internal error: the worker process died")


# --- which inputs ---------------------------------------------------------------------------------


def test_inputs_from_folders_globs_and_missing_paths(tmp_path):
    cases = tmp_path / "cases"
    paths = make_cases(cases, 5)  # tgz, tar, zip, folder, txt
    (cases / ".hidden.tar.gz").write_bytes(paths[0].read_bytes())
    (cases / "notes.md").write_text("not a bundle")
    (cases / "out").mkdir()  # the output folder inside the input folder is never an input
    plan = plan_batch([str(cases)], cases / "out")
    assert [i.path for i in plan.inputs] == [str(p) for p in paths]
    assert plan.ignored == [str(cases / "notes.md")]
    described = BatchSummary([], tmp_path / "report", plan.ignored).describe()
    assert described.endswith("; 1 file(s) ignored (not bundles): notes.md")

    unpacked = paths[3]  # one unpacked bundle: one input, not one per member
    assert [i.path for i in plan_batch([str(unpacked)]).inputs] == [str(unpacked)]

    pattern = str(cases / "case0[01]*")
    missing = str(tmp_path / "nothing-here.tar.gz")
    no_match = str(tmp_path / "none-*.zip")
    plan = plan_batch([pattern, str(paths[0]), missing, no_match])
    assert [i.path for i in plan.inputs] == [str(paths[0]), str(paths[1]), missing, no_match]

    summary = run_batch([missing, no_match, str(paths[4])], tmp_path / "report", jobs=1)
    errors = [r.error for r in summary.results]
    assert errors[0] == f"{missing}: no such file or directory"
    assert errors[1] == f"{no_match}: no file matches this pattern"
    assert errors[2] is None and summary.failed == 2


def test_a_cluster_folder_given_inside_a_folder_is_one_incident(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    cluster = cases / "cluster"
    cluster.mkdir()
    for node in sorted((SAMPLE_LOGS / "cluster-one-node-missing-ca").glob("*.tar.gz")):
        (cluster / node.name).write_bytes(node.read_bytes())
    summary = run_batch([str(cases)], tmp_path / "out", jobs=1)
    (result,) = summary.results
    assert result.name == "cluster" and [n["host"] for n in result.nodes] == ["expc1", "expc2"]
    # Given directly, the same folder is a folder of bundles: one report per node.
    assert [i.name for i in plan_batch([str(cluster)]).inputs] == ["expc1", "expc2"]


@pytest.mark.parametrize(
    ("given", "stem"),
    [
        ("../../etc/passwd", "passwd"),
        ("cases/my case 1.tar.gz", "my_case_1"),
        ("Café ünïcode.tar.gz", "Cafe_unicode"),
        ("名前.zip", "input"),
        ("..", "input"),
        ("/", "input"),
        ("a..b...c.tgz", "a.b.c"),
        ("index.tar.gz", "index-input"),
        ("Summary.zip", "Summary-input"),
        ("-rf .tar", "rf"),
        ("x" * 300 + ".txt", "x" * 80),
        ("<img src=x onerror=alert(1)>.log", "img_src_x_onerror_alert_1"),
    ],
)
def test_report_stem_is_a_safe_file_name(given, stem):
    assert report_stem(given) == stem
    assert SAFE_NAME.match(stem)


def test_report_names_are_unique_ignoring_case():
    assert unique_stems(["a/x.tar.gz", "b/x.zip", "X.txt", "x-2.tar"]) == ["x", "x-2", "X-3", "x-2-2"]


def test_odd_input_names_give_safe_report_files_inside_out(tmp_path):
    cases, out = tmp_path / "cases", tmp_path / "out"
    cases.mkdir()
    data = tar_bytes(sample_members(SCENARIOS[0], keep_lines=150))
    names = ["my case 1.tar.gz", "Café ü 名.tar.gz", "a..b.tar.gz", "index.tar.gz", "..tar.gz"]
    for name in names:
        (cases / name).write_bytes(data)
    summary = run_batch([str(cases / n) for n in names], out, jobs=2)
    assert summary.failed == 0
    assert [r.name for r in summary.results] == ["my_case_1", "Cafe_u", "a.b", "index-input", "input"]
    assert all(SAFE_NAME.match(p.name) for p in out.iterdir())
    assert len(list(out.glob("*.json"))) == 5
    assert "batch index" in (out / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases", "out"]


# --- hostile text, line ends and clocks -------------------------------------------------------------


def transaction_log(
    times: list[tuple[str, str]], *, host: str = "vcsc", user: str = "emusk", line_end: str = "\n"
) -> bytes:
    """Failing MRA requests (self-signed certificate, 502), one per (local time, UTC offset)."""
    route = base64.b64encode(b"steven.lab/https/cucm.steven.lab/6972").decode().rstrip("=")
    lines = []
    for txn, (local, offset) in enumerate(times, start=100):
        stamp = f"{local}{offset}"
        head = f"{stamp} {host} traffic_server[18242]:"
        body = f'Module="network.http.trafficserver" Level="INFO": Txn-id="{txn}"'
        lines += [
            f'{head} {body} Detail="Receive Request" TrackingID="t" Src-ip="127.0.0.1" Src-port="35766" '
            f'Last-via-addr="" Msg="GET http://vcs_control.steven.lab:8443/{route}/cucm-uds/user/{user}/devices HTTP/1.1"',
            f'{head} Event="Request Allowed" Detail="Access allowed" Reason="In allow list" Username="{user}" '
            f'Method="GET" Request="https://cucm.steven.lab:6972/cucm-uds/user/{user}/devices"',
            f'{head} {body} Detail="Sending Request" TrackingID="t" Dst-ip="10.48.36.215" Dst-port="6972" '
            f'Msg="GET /cucm-uds/user/{user}/devices HTTP/1.1"',
            f"{head} [ET_NET 0] WARNING: Core server certificate verification failed for (cucm.steven.lab). "
            "Action=Terminate Error=self signed certificate server=cucm.steven.lab(10.48.36.215) depth=0",
            f'{head} {body} Detail="Sending Response" TrackingID="" Dst-ip="127.0.0.1" Dst-port="35766" '
            'Msg="HTTP/1.1 502 connect failed"',
        ]
    return (line_end.join(lines) + line_end).encode("utf-8")


def test_script_in_url_user_and_host_is_escaped_in_html_and_intact_in_json(tmp_path):
    cases, out = tmp_path / "cases", tmp_path / "out"
    cases.mkdir()
    log = transaction_log([("2022-07-11T18:55:26.000", "+02:00")], host=EVIL, user=EVIL)
    evil_file = "<img src=x onerror=alert(1)>.tar.gz"
    (cases / evil_file).write_bytes(tar_bytes({"loggingsnapshot.txt": log}))
    summary = run_batch([str(cases)], out, jobs=1)
    (result,) = summary.results
    assert result.ok and SAFE_NAME.match(result.name)
    assert result.nodes[0]["host"] == EVIL

    document = json.loads(result.json.read_text(encoding="utf-8"))
    evidence = "\n".join(e["text"] for f in document["findings"] for e in f["evidence"])
    assert f"/cucm-uds/user/{EVIL}/devices" in evidence
    assert document["nodes"][0]["host"] == EVIL
    assert document["batch"]["input"].endswith(evil_file)

    report_html = result.html.read_text(encoding="utf-8")
    index_html = (out / "index.html").read_text(encoding="utf-8")
    for page in (report_html, index_html):
        assert EVIL not in page and "<img src=x" not in page
        assert EVIL_ESCAPED in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in index_html
    assert f"/cucm-uds/user/{EVIL_ESCAPED}/devices" in report_html

    table = pd.read_csv(out / "summary.csv")
    assert set(table["hosts"]) == {EVIL}


def test_crlf_line_ends_out_of_order_lines_and_a_dst_change_still_analyze(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    members = sample_members(SAMPLE_LOGS / "seed003-self-signed-6972.tar.gz")
    name, log = log_member(members)
    lines = log.splitlines(keepends=True)
    variants = {
        "lf": log,
        "crlf": log.replace(b"\n", b"\r\n"),
        "reversed": b"".join(reversed(lines)),
        "shuffled": b"".join(line for start in range(7) for line in lines[start::7]),
    }
    for stem, text in variants.items():
        (cases / f"{stem}.tar.gz").write_bytes(tar_bytes({**members, name: text}))
    # Europe's spring change: 01:59 at +01:00 is followed by 03:00 at +02:00; one line crosses back.
    dst = [
        ("2022-03-27T01:59:58.000", "+01:00"),
        ("2022-03-27T03:00:01.000", "+02:00"),
        ("2022-03-27T01:59:59.500", "+01:00"),
    ]
    (cases / "dst.txt").write_bytes(transaction_log(dst, line_end="\r\n"))

    summary = run_batch([str(cases)], tmp_path / "out", jobs=2)
    assert summary.failed == 0, [r.error for r in summary.results]
    statuses = {r.name: {f["id"]: f["status"] for f in r.findings} for r in summary.results}
    for stem in ("crlf", "reversed", "shuffled"):
        assert statuses[stem] == statuses["lf"], stem
    assert statuses["lf"]["ts-cert-self-signed"] == "issue"
    assert statuses["dst"]["ts-cert-self-signed"] == "issue"
    dst_result = next(r for r in summary.results if r.name == "dst")
    finding = next(
        f for f in json.loads(dst_result.json.read_text())["findings"] if f["id"] == "ts-cert-self-signed"
    )
    assert finding["count"] == 3
    assert finding["first_seen"].startswith("2022-03-27T00:59:58") and finding["last_seen"].startswith(
        "2022-03-27T01:00:01"
    )


# --- summary.csv and index.html -------------------------------------------------------------------


def test_summary_csv_round_trips_through_pandas_and_defuses_formulas(tmp_path):
    findings = [
        {
            "id": "ts-cert-self-signed",
            "title": 'Self-signed, "quoted"\nand two lines',
            "status": "issue",
            "severity": "high",
            "category": "MRA",
            "count": 3,
            "servers": ['=HYPERLINK("http://evil")', "cucm, one"],
        }
    ]
    results = [
        BatchResult(
            input="cases/a.tar.gz",
            name="a",
            ok=True,
            nodes=[{"host": "@SUM(1)", "version": "X14.2.0", "role": "Expressway-C"}],
            findings=findings,
        ),
        BatchResult(input="cases/b.zip", name="b", ok=False, error="b.zip: damaged\x1b[31m archive"),
    ]
    path = tmp_path / "summary.csv"
    path.write_text(summary_csv(results), encoding="utf-8")
    table = pd.read_csv(path)
    assert list(table.columns) == list(logscope.batch.CSV_COLUMNS)
    assert len(table) == 2
    first, second = table.iloc[0], table.iloc[1]
    assert first["title"] == 'Self-signed, "quoted"\\x0aand two lines'
    assert first["servers"] == '\'=HYPERLINK("http://evil"); cucm, one'
    assert first["hosts"] == "'@SUM(1)" and first["count"] == 3 and bool(first["ok"])
    assert not bool(second["ok"]) and second["error"] == "b.zip: damaged\\x1b[31m archive"
    assert pd.isna(second["finding_id"])


def test_index_page_is_offline_and_its_script_and_styles_are_allowed_by_hash(tmp_path):
    cases = tmp_path / "cases"
    make_cases(cases, 2)
    summary = run_batch([str(cases)], tmp_path / "out", jobs=1)
    page = summary.index.read_text(encoding="utf-8")
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1])
    assert "default-src 'none'" in csp
    for tag in ("script", "style"):
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        assert blocks
        for block in blocks:
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp, tag
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert page.count('<a href="case') == 2


# --- command line errors ---------------------------------------------------------------------------


def test_nothing_to_analyze_and_an_unusable_out_folder_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["batch", str(empty), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip() == f"logscope: nothing to analyze in {empty}"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = CliRunner().invoke(main, ["batch", str(SCENARIOS[0]), "--out", str(blocker / "out")])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith(f"logscope: cannot create the output folder {blocker / 'out'}: ")


# --- the example script ------------------------------------------------------------------------------


def test_triage_example_prints_one_line_per_input_with_issues(tmp_path):
    picked = ["healthy-mra-login", "expired-certificate", "cucm-by-ip-san-missing", "no-traffic-server"]
    for stem in picked:
        (tmp_path / f"{stem}.tar.gz").write_bytes((SAMPLE_LOGS / f"{stem}.tar.gz").read_bytes())
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00 truncated")
    script = ROOT / "examples" / "triage.py"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 3
    assert lines[0].startswith(f"{tmp_path / 'broken.tar.gz'}: unreadable: ")
    assert lines[1].startswith(f"{tmp_path / 'cucm-by-ip-san-missing.tar.gz'} [expc]: 2 issue(s), first: ")
    assert lines[2].startswith(
        f"{tmp_path / 'expired-certificate.tar.gz'} [expc-east]: 1 issue(s), first: ts-cert-expired"
    )

    (tmp_path / "broken.tar.gz").unlink()
    (tmp_path / "cucm-by-ip-san-missing.tar.gz").unlink()
    (tmp_path / "expired-certificate.tar.gz").unlink()
    clean = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert clean.returncode == 0 and clean.stdout == ""


def test_dask_without_the_extra_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # what `import distributed` sees when absent
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["batch", str(SCENARIOS[0]), "--out", str(out), "--dask", "tcp://x:1"])
    assert result.exit_code == 2
    assert result.output == (
        "logscope: --dask needs the [dask] extra: in the logscope source folder, pip install -e '.[dask]' "
        "(dask.distributed is missing)\n"
    )


# --- the index in a real browser -----------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_index_sorts_by_column_in_a_browser_and_loads_nothing(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")
    playwright_api = pytest.importorskip("playwright.sync_api")
    cases = tmp_path / "cases"
    cases.mkdir()
    for stem in ("healthy-mra-login", "plain-ats-diags", "cucm-by-ip-san-missing", "expired-certificate"):
        (cases / f"{stem}.tar.gz").write_bytes((SAMPLE_LOGS / f"{stem}.tar.gz").read_bytes())
    (cases / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00 cut")
    summary = run_batch([str(cases)], tmp_path / "out", jobs=2)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
        )
        page = browser.new_page()
        requests, problems = [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(summary.index.as_uri())

        def column(index: int) -> list[str]:
            return page.eval_on_selector_all(
                "#batch-index tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent.trim())"
            )

        first = page.eval_on_selector("#batch-index tbody tr", "r => r.className")
        assert first != "failed" and not column(0)[0].startswith(
            "broken"
        )  # the worst finding first (issue 12)
        issues = page.get_by_role("button", name="Issues", exact=True)
        issues.click()
        assert column(3) == ["", "0", "1", "2", "3"]  # a failed input has no count: it sorts first
        issues.click()
        assert column(3) == ["3", "2", "1", "0", ""]
        assert page.get_attribute("#batch-index th:nth-child(4)", "aria-sort") == "descending"
        page.get_by_role("button", name="Input").click()
        assert [name.split()[0] for name in column(0)] == [
            "broken",
            "cucm-by-ip-san-missing",
            "expired-certificate",
            "healthy-mra-login",
            "plain-ats-diags",
        ]
        browser.close()
    assert requests == [summary.index.as_uri()]
    assert problems == []


def test_archives_unpack_inside_out_not_in_the_system_temp_folder(tmp_path, monkeypatch):
    import logscope.bundle

    out = tmp_path / "out"
    out.mkdir()
    workdirs: list[Path] = []
    real_init = logscope.bundle.Bundle.__init__

    def recording_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        workdirs.append(self.workdir)

    monkeypatch.setattr(logscope.bundle.Bundle, "__init__", recording_init)
    result = logscope.batch.analyze_one(
        str(SAMPLE_LOGS / "x14.2-ecdsa-self-signed-6972.tar.gz"), out, (), 4 * 1024**3, True
    )
    assert result.ok, result.error
    assert workdirs and all(path.parent == out for path in workdirs)
    assert sorted(p.name for p in out.iterdir()) == [f"{result.name}.html", f"{result.name}.json"]


def test_readme_shows_the_triage_script_as_it_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    script = (ROOT / "examples" / "triage.py").read_text(encoding="utf-8")
    assert f"```python\n{script}```" in readme
