"""grammars/samples/ats92_openssl3.txt holds lines a real traffic_server wrote, and all the ones that matter.

The committed file was written by `python -m lab.run --samples`; a fresh lab run must write the same
lines, up to what changes from run to run (timestamps, thread tags, ports, the lab's temporary folder,
retry counts).
"""

from __future__ import annotations

import re
from pathlib import Path

import ats_lab  # first: puts the repository root, where lab/ lives, on sys.path
import pytest

from lab.samples import diags_key, distinct, error_log_key, render_samples

SAMPLE_FILE = Path(__file__).resolve().parents[2] / "grammars" / "samples" / "ats92_openssl3.txt"
RUN_NAMES = ("enforced", "permissive", "ssl-debug")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> ats_lab.LabRun:
    return ats_lab.shared_lab_run(tmp_path_factory)


VOLATILE = [
    (re.compile(r"^\[[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\.\d{3}\] "), ""),
    (re.compile(r"^\d{8}\.\d\dh\d\dm\d\ds "), ""),
    (re.compile(r"^\[[A-Z_]+(?: \d+)?\] |^traffic_server "), ""),
    (re.compile(r"/\S*/logscope-lab-[^/\s]+/[^/\s]+/"), "<lab>/"),
    (re.compile(r":\d{2,5}\b"), ":<port>"),
    (re.compile(r" attempts=\d+ "), " attempts=<n> "),
]
# The lines the analyzer reads. Start-up lines are left out of the completeness check: some depend on
# the machine (e.g. a `connection throttle too high` warning below a low `ulimit -n`).
MATTERS = re.compile(
    r"certificate verification failed|not in certificate| CONNECT: |SSL connection failed for "
)


def normalized(line: str) -> str:
    for pattern, replacement in VOLATILE:
        line = pattern.sub(replacement, line)
    return line


def sample_lines() -> list[str]:
    return [line for line in SAMPLE_FILE.read_text().splitlines() if line and not line.startswith("#")]


def fresh_lines(lab) -> set[str]:
    lines = set()
    for run in RUN_NAMES:
        lines |= {normalized(line) for line in lab.diags(run) + lab.error_log(run)}
    return lines


def test_sample_file_names_its_source():
    header = SAMPLE_FILE.read_text().splitlines()[0]
    assert re.match(
        r"^# source: Debian trafficserver \S+ \(Traffic Server 9\.2\.\d+ .*\), OpenSSL 3\.", header
    )
    assert header.endswith(", logscope lab")


@pytest.mark.lab
def test_every_sample_line_was_written_by_a_fresh_run(lab):
    fresh = fresh_lines(lab)
    assert [line for line in sample_lines() if normalized(line) not in fresh] == []


@pytest.mark.lab
def test_every_certificate_connect_and_ssl_failure_line_of_a_fresh_run_is_in_the_sample_file(lab):
    sampled = {normalized(line) for line in sample_lines()}
    missing = sorted(line for line in fresh_lines(lab) if MATTERS.search(line) and line not in sampled)
    assert missing == []


def test_distinct_keeps_the_first_of_lines_that_differ_only_by_time_and_thread():
    lines = [
        "[Nov 22 15:10:45.188] [ET_NET 0] WARNING: SNI (a.lab) not in certificate. Action=Terminate server=a.lab(127.0.0.1)",
        "[Nov 22 15:10:45.190] [ET_NET 1] WARNING: SNI (a.lab) not in certificate. Action=Terminate server=a.lab(127.0.0.1)",
        "[Nov 22 15:10:45.191] [ET_NET 1] WARNING: SNI (a.lab) not in certificate. Action=Continue server=a.lab(127.0.0.1)",
        "[Nov 22 15:10:45.192] traffic_server NOTE: storage.config loading ...",
    ]
    assert distinct(lines, re.compile(" WARNING: "), diags_key, set()) == [lines[0], lines[2]]


def test_distinct_skips_what_an_earlier_section_listed():
    seen: set[str] = set()
    first = "20261122.15h10m45s CONNECT: attempt fail [CONNECTION_ERROR] to 127.0.0.12:8443 for host='a' attempts=0 url='x'"
    again = "20261122.15h10m46s CONNECT: attempt fail [CONNECTION_ERROR] to 127.0.0.12:8443 for host='a' attempts=3 url='x'"
    assert distinct([first], re.compile("CONNECT"), error_log_key, seen) == [first]
    assert distinct([again], re.compile("CONNECT"), error_log_key, seen) == []


def test_render_marks_an_empty_section():
    text = render_samples(
        "Debian trafficserver 1 (Traffic Server 9.2.9 x), OpenSSL 3.0.19", [("error.log, x", [])]
    )
    assert text.splitlines()[-2:] == ["# -- error.log, x", "# (no line that is not listed above)"]
