"""Stopping `logscope batch`: SIGTERM behaves like Ctrl-C, workers never outlive the batch, and what a
killed run leaves in the output folder is removed by the next run (real subprocesses, real inputs)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logscope.bundle import open_bundle, workspace

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parent.parent
SEED003_LOG = ROOT / "tests" / "data" / "seed003_lines.log"
COPIES = 1500  # ~9 MB of real traffic-server lines: a few seconds of analysis per input


def slowish_inputs(folder: Path, count: int = 2) -> list[Path]:
    """`count` long logs made of seed003's real lines, so every worker is busy for a few seconds."""
    lines = SEED003_LOG.read_bytes()
    paths = []
    for n in range(count):
        path = folder / f"node{n}.log"
        path.write_bytes(lines * COPIES)
        paths.append(path)
    return paths


def start_batch(inputs: list[Path], out: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "logscope.cli",
        "batch",
        *map(str, inputs),
        "--out",
        str(out),
        "--jobs",
        "2",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_until_both_workers_are_busy(batch: subprocess.Popen, out: Path) -> list[psutil.Process]:
    """The batch's worker processes, once two extraction folders exist (each worker holds an input)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert batch.poll() is None, batch.communicate()
        if len([p for p in out.glob("logscope-*") if p.is_dir()]) >= 2:
            return psutil.Process(batch.pid).children(recursive=True)
        time.sleep(0.05)
    raise AssertionError("the workers never started")


def stop_all(batch: subprocess.Popen, workers: list[psutil.Process]) -> None:
    """Whatever the test found, leave no process behind."""
    if batch.poll() is None:
        batch.kill()
    for worker in workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            worker.kill()
    batch.wait(10)


def gone_within(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """The processes still running (not zombies) after `seconds`."""
    _gone, alive = psutil.wait_procs(processes, timeout=seconds)
    return [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_sigterm_stops_the_batch_and_its_workers_and_leaves_no_temp_entry(tmp_path):
    out = tmp_path / "out"
    batch = start_batch(slowish_inputs(tmp_path), out)
    workers: list[psutil.Process] = []
    try:
        workers += wait_until_both_workers_are_busy(batch, out)
        assert len(workers) >= 2
        batch.send_signal(signal.SIGTERM)
        _stdout, stderr = batch.communicate(timeout=20)
        assert gone_within(workers, 20) == []
        assert sorted(p.name for p in out.iterdir()) == []
        assert batch.returncode == 128 + signal.SIGTERM
        assert b"Traceback" not in stderr and b"batch stopped" in stderr
    finally:
        stop_all(batch, workers)


def test_workers_stop_when_the_batch_is_killed_and_the_next_run_removes_their_folders(tmp_path):
    out = tmp_path / "out"
    inputs = slowish_inputs(tmp_path)
    batch = start_batch(inputs, out)
    workers: list[psutil.Process] = []
    try:
        workers += wait_until_both_workers_are_busy(batch, out)
        batch.kill()  # SIGKILL: no handler runs in the batch process
        batch.wait(10)
        assert gone_within(workers, 20) == []
    finally:
        stop_all(batch, workers)
    removed = workspace.clean_stale(out)  # what the next run does first
    assert not [p for p in out.iterdir() if workspace.OWNED.fullmatch(p.name)]
    assert all(workspace.OWNED.fullmatch(p.name) for p in removed)


def test_only_folders_whose_owner_is_gone_are_removed(tmp_path):
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead_pid = int(ended.stdout)
    host = workspace.host_label()
    stale = tmp_path / f"logscope-work-{host}-{dead_pid}-abc123"
    partial = tmp_path / f".logscope-part-{host}-{dead_pid}-xyz789.tmp"
    live = tmp_path / f"logscope-work-{host}-{os.getpid()}-def456"
    other_host = tmp_path / f"logscope-work-not-{host}-{dead_pid}-ghi789"
    unowned = tmp_path / "logscope-report-folder"
    for folder in (stale, live, other_host, unowned):
        folder.mkdir()
        (folder / "member.log").write_text("x")
    partial.write_text("half a report")
    assert sorted(workspace.clean_stale(tmp_path)) == sorted([stale, partial])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (live, other_host, unowned))


def test_a_bundle_extraction_folder_names_its_host_and_process(tmp_path):
    with open_bundle(SEED003_LOG, work_dir=tmp_path) as bundle:
        match = workspace.OWNED.fullmatch(bundle.workdir.name)
        assert bundle.workdir.parent == tmp_path
        assert match and match["host"] == workspace.host_label() and int(match["pid"]) == os.getpid()
    assert list(tmp_path.iterdir()) == []
