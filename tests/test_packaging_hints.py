"""What a user installs and gets: typed package, install hints naming this project's own command, and
report files with the user's normal mode (issue 12)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import logscope
from logscope.batch.files import write_atomic

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_ships_py_typed():
    assert (Path(logscope.__file__).parent / "py.typed").is_file()


def test_install_hints_name_this_projects_install_command_not_an_index_package():
    for path in (ROOT / "logscope" / "cli.py", ROOT / "logscope" / "batch" / "executors.py"):
        text = path.read_text(encoding="utf-8")
        assert "pip install 'logscope[" not in text
        assert "pip install -e '.[" in text


def test_a_written_report_has_the_users_normal_file_mode(tmp_path):
    previous = os.umask(0o022)
    try:
        target = tmp_path / "report.html"
        write_atomic(target, "<p>x</p>")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_batch_prints_why_an_input_failed_and_the_index_puts_the_worst_first(tmp_path):
    import subprocess
    import sys

    samples = ROOT / "sample_logs"
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes((samples / "permissive-continue.tar.gz").read_bytes()[:3000])
    inputs = [samples / "healthy-mra-login.tar.gz", damaged, samples / "expired-certificate.tar.gz"]
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "logscope.cli", "batch", *map(str, inputs), "--out", str(out)],
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert f"logscope: failed: {damaged}: damaged archive damaged.tar.gz" in result.stderr.decode()
    index = (out / "index.html").read_text(encoding="utf-8")
    order = [
        index.index(f'data-name="{name}"') for name in ("expired-certificate", "damaged", "healthy-mra-login")
    ]
    assert order == sorted(order)
    assert (
        stat.S_IMODE((out / "index.html").stat().st_mode) & 0o044
    )  # readable by group and others (umask 022)


SCRIPT_WITHOUT_GUARD = """
import multiprocessing, sys
import logscope
multiprocessing.set_start_method("spawn", force=True)  # the default on macOS, Windows, Python 3.14
try:
    results = list(logscope.batch(sys.argv[1:], jobs=2))
except logscope.LogscopeError as exc:
    print("error:", exc)
else:
    print("analyzed", len(results))
"""


def test_a_spawned_batch_without_the_main_guard_is_one_clear_error(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "triage.py"
    script.write_text(SCRIPT_WITHOUT_GUARD, encoding="utf-8")
    samples = ROOT / "sample_logs"
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            str(samples / "healthy-mra-login.tar.gz"),
            str(samples / "unexplained-502.tar.gz"),
        ],
        capture_output=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out = result.stdout.decode()
    assert out.startswith("error: the batch's worker processes start with the 'spawn' method"), out
    assert 'if __name__ == "__main__":' in out and out.count("\n") == 1
    assert "Traceback" not in result.stderr.decode()
