"""logscope.memory: the CLI's processes keep the memory they free for their later stages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from logscope import cli
from logscope.memory import USER_SETTINGS, keep_freed_memory

GLIBC = hasattr(os, "confstr") and os.confstr("CS_GNU_LIBC_VERSION") is not None
# In a fresh interpreter: an 8 MiB array written, freed, and one of the same size written again;
# prints the page faults of the second. glibc's defaults give the first's pages back to the kernel.
REALLOCATION = """
import resource, sys
import numpy as np
from logscope.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
first = np.ones(1 << 20)
del first
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
second = np.ones(1 << 20)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
PAGES = (8 << 20) // 4096


def _faults_of_second_array(mode: str) -> int:
    env = {name: value for name, value in os.environ.items() if name not in USER_SETTINGS}
    done = subprocess.run(
        [sys.executable, "-c", REALLOCATION, mode], capture_output=True, text=True, env=env, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not GLIBC, reason="tunes glibc's malloc only")
def test_a_process_that_keeps_freed_memory_reuses_its_pages():
    default = _faults_of_second_array("default")  # glibc's own settings: fresh pages from the kernel
    if default < PAGES // 8:
        pytest.skip("this kernel hands out huge pages here: a few faults either way")
    assert _faults_of_second_array("keep") < default // 4


def test_malloc_settings_in_the_environment_win():
    for name in USER_SETTINGS:
        assert keep_freed_memory({name: "1"}) is False


@pytest.mark.parametrize("command", ["analyze", "logins", "batch"])
def test_the_cli_commands_keep_freed_memory(command, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(command))
    log = tmp_path / "empty.log"
    log.write_text("")
    extra = ["--out", str(tmp_path / "reports"), "--jobs", "1"] if command == "batch" else []
    CliRunner().invoke(cli.main, [command, str(log), *extra])
    assert calls == [command]


TRIMMED = """
import numpy as np
from logscope.memory import keep_freed_memory, trim_heap
def resident_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20
assert keep_freed_memory()
arrays = [np.ones(1 << 17) for _ in range(100)]  # 100 MiB from the heap, 1 MiB apiece
before = resident_mib()
del arrays
kept = resident_mib()
trim_heap()
print(before, kept, resident_mib())
"""


@pytest.mark.skipif(not GLIBC or not os.path.exists("/proc/self/statm"), reason="glibc's heap, Linux's /proc")
def test_memory_kept_for_reuse_goes_back_to_the_system_when_the_heap_is_trimmed():
    env = {name: value for name, value in os.environ.items() if name not in USER_SETTINGS}
    done = subprocess.run(
        [sys.executable, "-c", TRIMMED], capture_output=True, text=True, env=env, check=True
    )
    before, kept, trimmed = map(float, done.stdout.split())
    assert kept > before - 20  # freed, and still resident: kept for the next stage
    assert trimmed < kept - 80  # trimmed: given back
