"""One real Apache Traffic Server lab run (`python -m lab.run`) shared by every lab test of a session.

Each lab test module declares a session-scoped `lab` fixture that calls :func:`shared_lab_run`; the
run is made once and cached here. Skipped with a reason when /usr/bin/traffic_server or openssl is
missing, except under CI=true, where a missing lab is a failure: CI installs both (see .ci/run).

This is not a conftest.py on purpose: the suite's modules do `from conftest import ...`, and pytest
leaves `sys.modules["conftest"]` pointing at the last conftest.py it imported, so a second
conftest.py in tests/lab/ would shadow tests/conftest.py for every module collected after it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `lab` is a top-level folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

TRAFFIC_SERVER = Path("/usr/bin/traffic_server")
LAB_TIMEOUT_S = 150
RUN_NAMES = ("enforced", "permissive", "ssl-debug")


def lab_unavailable() -> str | None:
    """Why the lab cannot run here, or None."""
    missing = []
    if not TRAFFIC_SERVER.exists():
        missing.append(f"{TRAFFIC_SERVER} (apt-get install trafficserver)")
    if shutil.which("openssl") is None:
        missing.append("openssl (apt-get install openssl)")
    return f"the ATS lab needs {' and '.join(missing)}" if missing else None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


@dataclass(frozen=True)
class LabRun:
    """What one `python -m lab.run` wrote: a folder per run, cases.json, the sample file."""

    folders: dict[str, Path]
    cases: dict[str, dict[str, Any]]
    meta: dict[str, Any]
    samples: Path

    def diags(self, run: str = "enforced") -> list[str]:
        return (self.folders[run] / "diags.log").read_text(encoding="utf-8").splitlines()

    def error_log(self, run: str = "enforced") -> list[str]:
        return (self.folders[run] / "error.log").read_text(encoding="utf-8").splitlines()


def run_lab_process(command: list[str]) -> tuple[int, str]:
    """Run the lab in its own process group; on timeout, stop that group (the lab and the
    traffic_server processes it started, nothing else) and fail."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=LAB_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        pytest.fail(f"the ATS lab did not finish within {LAB_TIMEOUT_S}s")
    return process.returncode, stderr


_OUTCOME: dict[str, LabRun | str] = {}


def shared_lab_run(tmp_path_factory: pytest.TempPathFactory) -> LabRun:
    """The session's lab run: made on first use, then reused; a failed run fails every later caller
    with the same message instead of running again."""
    if "run" not in _OUTCOME:
        try:
            _OUTCOME["run"] = run_lab_once(tmp_path_factory)
        except pytest.fail.Exception as failure:
            _OUTCOME["run"] = str(failure)
            raise
    outcome = _OUTCOME["run"]
    if isinstance(outcome, str):
        pytest.fail(outcome)
    return outcome


def run_lab_once(tmp_path_factory: pytest.TempPathFactory) -> LabRun:
    reason = lab_unavailable()
    if reason:
        if in_ci():
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("ats-lab")
    folders = {name: out / name for name in RUN_NAMES}
    command = [
        sys.executable, "-m", "lab.run",
        "--out", str(folders["enforced"]),
        "--permissive-out", str(folders["permissive"]),
        "--ssl-debug-out", str(folders["ssl-debug"]),
        "--samples", str(out / "samples.txt"),
    ]  # fmt: skip
    returncode, stderr = run_lab_process(command)
    if returncode != 0:
        pytest.fail(f"the ATS lab failed (exit {returncode}): {stderr[-3000:]}")
    data = json.loads((folders["enforced"] / "cases.json").read_text())
    return LabRun(folders, data["cases"], data["lab"], out / "samples.txt")
