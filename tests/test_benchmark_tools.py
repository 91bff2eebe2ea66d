"""The benchmark's tools tell the truth: the storm file's printed shape matches its bytes, the per-stage
timings come from the real flow, and the BSD copy changes the envelope only (issue 14 item 6)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from logscope.pipeline import analyze

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sample_logs"))

from scenario_kit.storm_file import write_storm  # noqa: E402


def _bench_module():
    spec = importlib.util.spec_from_file_location("analyze_bench", ROOT / "benchmarks" / "analyze_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_storm_file_shape_matches_its_bytes_and_repeats_by_seed(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    shape = write_storm(first, 1.5, seed=7)
    write_storm(second, 1.5, seed=7)
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert shape["bytes"] == len(data) <= 1.5 * 1024 * 1024
    lines = data.decode().split("\n")[:-1]
    assert shape["lines"] == len(lines)
    heads, ts_lines, in_ts = 0, 0, False
    for line in lines:
        if re.match(r"\d{4}-\d\d-\d\dT", line):
            heads, in_ts = heads + 1, " traffic_server[" in line
        ts_lines += in_ts
    assert shape["events"] == heads
    assert shape["non_traffic_server_share"] == pytest.approx(1 - ts_lines / len(lines))
    txn_ids = set(re.findall(r'Txn-id="(\d+)"', data.decode()))
    assert shape["distinct_txn_ids"] == len(txn_ids) > 400
    assert shape["servers"] > 100
    assert 0 < shape["failure_share"] < 0.2 and 0 < shape["debug_share"] < 0.5


def test_analyze_reports_seconds_per_stage_when_asked():
    timings: dict[str, float] = {}
    report = analyze(ROOT / "sample_logs" / "untrusted-root-depth1.tar.gz", timings=timings)
    for stage in ("bundle open", "parse", "correlate", "signatures and evidence", "bundle readers"):
        assert timings[stage] >= 0
    assert sum(timings.values()) <= report.stats["seconds"] + 0.01


def test_bsd_copy_rewrites_the_envelope_time_only(tmp_path):
    source = tmp_path / "snap.txt"
    source.write_text(
        '2026-03-02T08:00:07.563-05:00 expc1 traffic_server[21544]: UTCTime="2026-03-02 13:00:07,563" '
        'Level="DEBUG": Detail="Receive Request" HTTPMSG:\n|GET / HTTP/1.1\n Host: x:8443\n'
        '2026-11-22T15:10:45Z expc1 tvcs: Event="Search"\n'
    )
    copy = _bench_module().bsd_copy(source)
    assert copy.read_text() == (
        'Mar  2 08:00:07 expc1 traffic_server[21544]: UTCTime="2026-03-02 13:00:07,563" '
        'Level="DEBUG": Detail="Receive Request" HTTPMSG:\n|GET / HTTP/1.1\n Host: x:8443\n'
        'Nov 22 15:10:45 expc1 tvcs: Event="Search"\n'
    )


def test_benchmark_prints_each_stage_against_its_budget_scaled_to_the_file():
    bench = _bench_module()
    assert bench.budget_note("correlate", 0.2, 0.5) == "   budget 0.250 s: within"
    assert bench.budget_note("correlate", 1.0, 1.0) == "   budget 0.500 s: over (2.0x)"
    assert bench.budget_note("report", 9.0, 1.0) == ""


def test_the_json_stage_says_how_much_of_it_was_the_files_write_calls(tmp_path):
    """The writes are timed on the file the document goes to, which gets every byte unchanged."""
    bench = _bench_module()
    report = analyze(ROOT / "sample_logs" / "logins-retry.tar.gz")
    with (tmp_path / "x.json").open("wb") as file:
        out = bench.TimedWrites(file)
        bench._write_json(report, out)
    assert (tmp_path / "x.json").read_bytes() == report.to_json().encode("utf-8")
    assert out.calls >= 1 and out.seconds >= 0 and out.system_seconds >= 0


def test_repeated_runs_report_each_stages_median_and_range_and_the_highest_peak():
    bench = _bench_module()

    def run(parse: float, logins: float, peak: float) -> dict:
        return {"stages": {"parse": parse, "logins": logins}, "seconds": parse + logins, "cpu_seconds": 1.0,
                "peak_rss_mib": peak, "stats": {"lines": 10}, "findings": []}  # fmt: skip

    runs = [run(9.0, 0.40, 900), run(7.0, 0.25, 950), run(8.0, 0.30, 920)]
    for seconds, one in zip((0.7, 0.5, 0.6), runs, strict=True):
        one["json_writes"] = {"seconds": seconds, "system_seconds": seconds, "calls": 159}
        one["json_bytes"] = 212_014_619
    merged = bench.medians(runs)
    assert merged["json_writes"] == {"seconds": 0.6, "system_seconds": 0.6, "calls": 159}
    assert merged["stages"] == {"parse": 8.0, "logins": 0.30}
    assert merged["stage_ranges"]["logins"] == (0.25, 0.40)
    assert merged["peak_rss_mib"] == 950 and len(merged["runs"]) == 3
    result = {"file": "f", "bytes": 1024**3, "code": ".", "load": {}, "grep": {"seconds": 1.0, "count": 1,
              "cat_pipe_seconds": 1.0}, "in_process": merged}  # fmt: skip
    printed = bench.table(result)
    assert "logins                       0.300 s" in printed and "[0.250-0.400]" in printed
    assert "in-process total               8.30 s" in printed  # the median run's total (8.0 + 0.30)
    failed = {"error": "exit 1", "seconds": 1, "cpu_seconds": 1, "peak_rss_mib": 1}
    assert bench.medians([run(1, 1, 1), failed]) is failed  # a failed run is reported, not averaged
