"""`logscope batch` exit codes and the INCOMPLETE mark per input (design.md, "Second-wave contracts").

Nothing in the analysis fills `Report.incomplete` on this branch yet, so the reports here are made
incomplete by wrapping the pipeline's analyze (the wrapper reaches the pool's workers by fork)."""

from __future__ import annotations

import csv
import io
import multiprocessing
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import logscope.batch.worker
from conftest import SAMPLE_LOGS
from logscope.batch import BatchResult, BatchSummary
from logscope.cli import main

pytestmark = pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork", reason="the patch reaches workers by fork"
)
CUT = {"input": "cut.tar.gz", "path": "loggingsnapshot.txt", "reason": "size cap of 1.0 MiB reached"}
HEALTHY = SAMPLE_LOGS / "healthy-mra-login.tar.gz"
ANOTHER = SAMPLE_LOGS / "expired-certificate.tar.gz"


@pytest.fixture
def cut_inputs_are_incomplete(monkeypatch):
    """Reports of inputs whose file name starts with `cut` list one entry in `incomplete`."""
    real_analyze = logscope.batch.worker.analyze

    def analyze(input_path, **options):
        report = real_analyze(input_path, **options)
        if str(input_path).rsplit("/", 1)[-1].startswith("cut"):
            report.incomplete.append(dict(CUT))
        return report

    monkeypatch.setattr(logscope.batch.worker, "analyze", analyze)


def cases(tmp_path, *names_and_sources):
    folder = tmp_path / "cases"
    folder.mkdir()
    for name, source in names_and_sources:
        if isinstance(source, bytes):
            (folder / name).write_bytes(source)
        else:
            shutil.copy(source, folder / name)
    return folder


def run(folder, out, *extra):
    return CliRunner().invoke(main, ["batch", str(folder), "--out", str(out), "--jobs", "2", *extra])


def csv_rows(out) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "summary.csv").read_text(encoding="utf-8"))))


def test_batch_exits_3_and_marks_the_input_when_a_report_is_incomplete(tmp_path, cut_inputs_are_incomplete):
    folder = cases(tmp_path, ("cut.tar.gz", HEALTHY), ("whole.tar.gz", ANOTHER))
    out = tmp_path / "out"
    result = run(folder, out)
    assert result.exit_code == 3, result.output
    assert "1 incomplete" in result.output
    rows = csv_rows(out)
    assert list(rows[0])[-1] == "incomplete"
    cut = {row["incomplete"] for row in rows if row["name"] == "cut"}
    whole = {row["incomplete"] for row in rows if row["name"] == "whole"}
    assert cut == {"loggingsnapshot.txt: size cap of 1.0 MiB reached"} and whole == {""}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count("INCOMPLETE:") == 1 and "size cap of 1.0 MiB reached" in index
    assert "1 incomplete" in index


def test_an_incomplete_report_read_back_from_the_cache_still_exits_3(tmp_path, cut_inputs_are_incomplete):
    folder = cases(tmp_path, ("cut.tar.gz", HEALTHY))
    out = tmp_path / "out"
    assert run(folder, out).exit_code == 3
    again = run(folder, out)
    assert again.exit_code == 3 and "(1 cached), 1 incomplete" in again.output


def test_complete_reports_exit_0_even_with_issues(tmp_path):
    folder = cases(tmp_path, ("whole.tar.gz", ANOTHER))
    result = run(folder, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert csv_rows(tmp_path / "out")[0]["incomplete"] == ""


def test_batch_results_carry_incomplete(tmp_path, cut_inputs_are_incomplete):
    folder = cases(tmp_path, ("cut.tar.gz", HEALTHY), ("whole.tar.gz", ANOTHER))
    results = {result.name: result for result in logscope.batch([folder], jobs=2)}
    assert results["cut"].ok and results["cut"].incomplete == [CUT]
    assert results["whole"].ok and results["whole"].incomplete == []


def test_summary_exit_code_follows_failed_then_incomplete():
    ok = BatchResult(input="a", name="a", ok=True)
    cut = BatchResult(input="b", name="b", ok=True, incomplete=[CUT])
    failed = BatchResult(input="c", name="c", ok=False, error="damaged")
    out = Path("out")
    assert BatchSummary([ok], out).exit_code == 0
    assert BatchSummary([ok, cut], out).exit_code == 3
    assert BatchSummary([ok, cut, failed], out).exit_code == 2
