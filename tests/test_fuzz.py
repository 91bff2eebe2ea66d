"""Mutation fuzz, in CI: real lines and crafted archives through `logscope.analyze` and the CLI.

Seeded and counted (at least 2,000 mutated lines and 200 crafted archives a run), each mutation made
by a named operator. Properties (issue 10): no exception but a BundleError escapes, the exit code is
0, 1, 2 or 3, each input finishes in bounded time, the JSON report validates against its schema,
the temporary folder never holds more than `max_bytes` and nothing is written outside it, and an
input holding an intact certificate-failure line ends with that cause or `missing-info`, never `ok`.
Mutated lines are analyzed in batches (a folder of logs per batch), so the run stays well under 90 s.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import tarfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

import logscope
from logscope.bundle.result import Bundle
from logscope.cli import main
from logscope.errors import BundleError
from logscope.signatures import load_library

ROOT = Path(__file__).parent.parent
SEED = 20261122
MIN_LINES, MIN_ARCHIVES = 2000, 200
BATCH = 200  # mutated lines per analysis
SECONDS_PER_INPUT = 20  # generous on a loaded 2-core runner; a hang is minutes
MAX_BYTES = 2 * 1024 * 1024
VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((ROOT / "logscope" / "report.schema.json").read_text())
)
DECIDED_OR_OPEN = {"issue", "potential", "missing-info"}
FAILURE_MARKERS = (b"Core server certificate verification failed", b"not in certificate")

# --- seed lines: real ones -------------------------------------------------------------------------

_TIME = re.compile(
    rb"^(\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-][\d:]+)|\[[A-Z][a-z]{2} +\d+ [\d:.]+\]|\d{8}\.\d\dh\d\dm\d\ds)"
)


def _kind(name: str) -> str | None:
    if name.startswith("loggingsnapshot"):
        return "snapshot"
    if name.startswith(("diags.log", "error.log")):
        return name.split(".")[0]
    return None


@cache
def seed_lines() -> tuple[tuple[str, bytes], ...]:
    """(kind, line) from every sample bundle's logs and every signature example, de-duplicated."""
    found: dict[bytes, str] = {}
    for bundle in sorted(ROOT.glob("sample_logs/**/*.tar.gz")):
        with tarfile.open(bundle) as tar:
            for member in tar:
                kind = _kind(Path(member.name).name)
                stream = tar.extractfile(member) if kind else None
                if stream is None:
                    continue
                for line in stream.read().splitlines(keepends=True):
                    if kind != "snapshot" or b" traffic_server" in line:
                        found.setdefault(line if line.endswith(b"\n") else line + b"\n", kind)
    for signature in load_library().signatures:
        for example in signature.examples:
            for line in example.log.encode().splitlines(keepends=True):
                kind = "snapshot" if _TIME.match(line) and line[:1].isdigit() and b"T" in line[:11] else None
                kind = kind or ("diags" if line.startswith(b"[") else "error" if line[:1].isdigit() else None)
                if kind:
                    found.setdefault(line if line.endswith(b"\n") else line + b"\n", kind)
    return tuple(_one_per_shape(found))


def _one_per_shape(found: dict[bytes, str]) -> list[tuple[str, bytes]]:
    """One line per shape (digits and hex masked): 14k sample lines are ~a few hundred shapes."""
    shapes: dict[tuple[str, bytes], bytes] = {}
    for line, kind in found.items():
        start = match.end() if (match := _TIME.match(line)) else 0
        shape = re.sub(rb"[0-9A-Fa-f]+", b"0", line[start:])[:160]
        shapes.setdefault((kind, shape), line)
    return [(kind, line) for (kind, _), line in shapes.items()]


# --- named mutation operators -------------------------------------------------------------------------

_BOUNDARY = re.compile(rb'[ =()"\[\],:]')
_INTEGER = re.compile(rb"\d+")


def integer_fields(line: bytes) -> list[re.Match[bytes]]:
    """The integer fields after the line's time (pid, depth, ports, Txn-id, status, ...)."""
    start = match.end() if (match := _TIME.match(line)) else 0
    return [field for field in _INTEGER.finditer(line, start)]


def widen_integer(line: bytes, field: re.Match[bytes], rng: random.Random) -> bytes:
    wide = rng.choice([b"9" * 20, b"18446744073709551616", b"-" + b"9" * 25, b"1" + b"0" * 40, b"65536"])
    return line[: field.start()] + wide + line[field.end() :]


def truncate_at(line: bytes, position: int) -> bytes:
    return line[:position] + b"\n"


def flip_bytes(line: bytes, rng: random.Random) -> bytes:
    data = bytearray(line.rstrip(b"\n"))
    for _ in range(rng.randint(1, 3)):
        if data:
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
    return bytes(data) + b"\n"


def insert_line_ends(line: bytes, rng: random.Random) -> bytes:
    junk = rng.choice([b"\r", b"\n", b"\0", b"\r\n", b"\0" * rng.randint(2, 64), b"\r\r"])
    position = rng.randrange(len(line))
    return line[:position] + junk + line[position:]


def mutants(rng: random.Random) -> list[tuple[str, str, bytes]]:
    """(operator, kind, mutated line): every integer field of every seed widened once; every field
    boundary of every certificate-failure line cut; byte flips and CR/LF/NUL on a sample of the rest."""
    out: list[tuple[str, str, bytes]] = []
    for kind, line in seeds(rng):
        fields = integer_fields(line)
        boundaries = [m.start() for m in _BOUNDARY.finditer(line)]
        if any(marker in line for marker in FAILURE_MARKERS):
            out += [("integer-widening", kind, widen_integer(line, f, rng)) for f in fields]
            out += [("truncate-at-field-boundary", kind, truncate_at(line, p)) for p in boundaries]
        else:
            out += [
                ("integer-widening", kind, widen_integer(line, f, rng))
                for f in rng.sample(fields, min(3, len(fields)))
            ]
            if boundaries:
                out.append(("truncate-at-field-boundary", kind, truncate_at(line, rng.choice(boundaries))))
        out.append(("byte-flip", kind, flip_bytes(line, rng)))
        out.append(("cr-lf-nul-insertion", kind, insert_line_ends(line, rng)))
    rng.shuffle(out)
    return out


def seeds(rng: random.Random, others: int = 300) -> list[tuple[str, bytes]]:
    """Every certificate-failure shape, every ATS line shape, and a sample of the other shapes."""
    lines = seed_lines()
    kept = [(k, line) for k, line in lines if k != "snapshot" or any(m in line for m in FAILURE_MARKERS)]
    chosen = set(kept)
    rest = [(k, line) for k, line in lines if (k, line) not in chosen]
    return kept + rng.sample(rest, min(others, len(rest)))


# --- the properties, per input ----------------------------------------------------------------------


class DiskWatch:
    """The largest temporary folder any Bundle held when it closed (extraction never deletes early)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.largest = 0
        close = Bundle.close

        def measured(bundle: Bundle) -> None:
            size = sum(p.stat().st_size for p in bundle.workdir.rglob("*") if p.is_file())
            self.largest = max(self.largest, size)
            close(bundle)

        monkeypatch.setattr(Bundle, "close", measured)


def checked_analysis(source: object, work: Path, **options: object) -> logscope.Report | None:
    """analyze() under the properties; None when it refused the input with a BundleError (exit 2)."""
    started = time.perf_counter()
    try:
        report = logscope.analyze(source, work_dir=work, **options)
    except BundleError as error:
        assert "\n" not in str(error)
        report = None
    assert time.perf_counter() - started < SECONDS_PER_INPUT
    assert not any(work.iterdir()), "the temporary folder is removed"
    if report is not None:
        assert report.exit_code in (0, 1, 3)
        errors = list(VALIDATOR.iter_errors(report.to_dict()))
        assert not errors, errors[0].message
        report.to_text()
        report.to_html()
    return report


@cache
def expected_cause(kind: str, line: bytes) -> set[str]:
    """The findings an intact failure line decides on its own (issue or potential)."""
    report = logscope.analyze(line) if kind == "snapshot" else None
    if report is None:
        return set()
    return {f.id for f in report.findings if f.status in ("issue", "potential")}


def write_batch(folder: Path, batch: list[tuple[str, str, bytes]]) -> None:
    names = {"snapshot": "loggingsnapshot_fuzz_20220711.txt", "diags": "diags.log", "error": "error.log"}
    folder.mkdir()
    for kind, name in names.items():
        data = b"".join(line for _, k, line in batch if k == kind)
        if data:
            (folder / name).write_bytes(data)


def test_mutated_real_lines_never_crash_and_never_hide_a_failure(tmp_path, monkeypatch):
    rng = random.Random(SEED)
    lines = mutants(rng)
    assert len(lines) >= MIN_LINES
    controls = [(k, line) for k, line in seed_lines() if k == "snapshot" and FAILURE_MARKERS[0] in line]
    disk = DiskWatch(monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    operators = Counter(operator for operator, _, _ in lines)
    for number, start in enumerate(range(0, len(lines), BATCH)):
        control_kind, control = rng.choice(controls)
        batch = [*lines[start : start + BATCH], ("control", control_kind, control)]
        folder = tmp_path / f"batch{number}"
        write_batch(folder, batch)
        report = checked_analysis(folder, work, max_bytes=MAX_BYTES)
        assert report is not None
        for finding_id in expected_cause(control_kind, control):
            assert report.finding(finding_id).status in DECIDED_OR_OPEN, (finding_id, control)
    assert disk.largest <= MAX_BYTES
    assert set(operators) == {
        "integer-widening",
        "truncate-at-field-boundary",
        "byte-flip",
        "cr-lf-nul-insertion",
    }


def test_widened_integers_in_a_failure_line_keep_its_cause(tmp_path):
    """Integer widening leaves a failure's words intact: its cause must still be found."""
    rng = random.Random(SEED + 1)
    failures = [line for kind, line in seed_lines() if kind == "snapshot" and FAILURE_MARKERS[0] in line]
    for line in rng.sample(failures, min(len(failures), 6)):
        for field in integer_fields(line):
            widened = widen_integer(line, field, rng)
            report = logscope.analyze(widened)
            for finding_id in expected_cause("snapshot", line):
                assert report.finding(finding_id).status in DECIDED_OR_OPEN, widened


# --- crafted archives ---------------------------------------------------------------------------------

LOG = (
    b"2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: Core server "
    b"certificate verification failed for (cucm.steven.lab). Action=Terminate Error=self signed "
    b"certificate server=cucm.steven.lab(10.48.36.215) depth=0\n"
)
SNAPSHOT = "loggingsnapshot_vcsc_20220711.txt"


def _tar(members: list[tarfile.TarInfo | tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member, io.BytesIO(bytes(member.size)) if member.size else None)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    return buffer.getvalue()


def sparse_pax(name: str, rng: random.Random) -> tarfile.TarInfo:
    """A PAX 0.1 sparse member (GNU tar's map in the pax header): data 0..size, holes up to realsize."""
    info = tarfile.TarInfo(name)
    data = rng.randint(1, 4096)
    real = rng.choice([data, 10 * 1024 * 1024, 4 * 1024**3, 2**40])
    info.pax_headers = {
        "GNU.sparse.map": f"0,{data}",
        "GNU.sparse.realsize": str(real),
        "GNU.sparse.name": name,
    }
    info.size = data
    return info


def sparse_gnu_header(name: str) -> bytes:
    """An old-GNU sparse member with an empty map, as bytes (tarfile cannot write one)."""
    info = tarfile.TarInfo(name)
    info.type, info.size = tarfile.GNUTYPE_SPARSE, 0
    return info.tobuf(tarfile.GNU_FORMAT)


def op_sparse_member(rng: random.Random) -> bytes:
    name = rng.choice(["disk.img", SNAPSHOT.replace("vcsc", "other"), "eth0.pcap"])
    if rng.random() < 0.5:
        return _tar([sparse_pax(name, rng), (SNAPSHOT, LOG)])
    return sparse_gnu_header(name) + _tar([(SNAPSHOT, LOG)], tarfile.GNU_FORMAT)


def op_large_member_before_the_log(rng: random.Random) -> bytes:
    name = rng.choice(["eth0_diagnostic_logging_tcpdump00_vcsc_2022-07-11.pcap", "core.dump", "x.txt"])
    head = b"\xd4\xc3\xb2\xa1" if name.endswith(".pcap") else b""
    big = head + bytes(rng.choice([MAX_BYTES // 2, MAX_BYTES + 1, 3 * MAX_BYTES]))
    return gzip.compress(_tar([(name, big), (SNAPSHOT, LOG * rng.randint(1, 50))]), compresslevel=1)


def op_cut_archive(rng: random.Random) -> bytes:
    whole = gzip.compress(_tar([(SNAPSHOT, LOG * 300), ("other.txt", b"x" * 1000)]))
    return whole[: rng.randrange(1, len(whole))]


def op_flipped_archive(rng: random.Random) -> bytes:
    data = bytearray(rng.choice([gzip.compress(_tar([(SNAPSHOT, LOG * 20)])), _tar([(SNAPSHOT, LOG * 20)])]))
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
    return bytes(data)


def op_line_ends_in_member(rng: random.Random) -> bytes:
    junk = rng.choice([b"\r", b"\0" * 70000, b"\r\n", b"\n\n", b"\0"])
    text = LOG.replace(b"\n", junk) if rng.random() < 0.5 else junk + LOG * 3
    return _tar([(SNAPSHOT, text)])


def op_hostile_members(rng: random.Random) -> bytes:
    link = tarfile.TarInfo(rng.choice(["link", SNAPSHOT]))
    link.type, link.linkname = (
        rng.choice([tarfile.SYMTYPE, tarfile.LNKTYPE]),
        rng.choice(["/etc/passwd", "../x"]),
    )
    escaping = rng.choice(["../../escape.txt", "/tmp/absolute.txt", "a/../../b.txt"])
    members = [link, (escaping, LOG), (SNAPSHOT, LOG)]
    rng.shuffle(members)
    return _tar(members)


def op_nested_zip(rng: random.Random) -> bytes:
    inner = gzip.compress(_tar([(SNAPSHOT, LOG)]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for depth in range(rng.randint(0, 4)):
            inner = gzip.compress(_tar([(f"level{depth}.tar.gz", inner)]))
        archive.writestr("node.tar.gz", inner)
        archive.writestr("README.txt", b"notes")
    return buffer.getvalue()


ARCHIVE_OPERATORS: dict[str, Callable[[random.Random], bytes]] = {
    "sparse-member": op_sparse_member,
    "large-member-before-the-log": op_large_member_before_the_log,
    "cut-archive": op_cut_archive,
    "byte-flips-in-archive": op_flipped_archive,
    "cr-lf-nul-in-member": op_line_ends_in_member,
    "hostile-members": op_hostile_members,
    "nested-archives": op_nested_zip,
}


def test_crafted_archives_never_crash_and_never_hide_a_failure(tmp_path, monkeypatch):
    rng = random.Random(SEED + 2)
    disk = DiskWatch(monkeypatch)
    sandbox = tmp_path / "sandbox"
    work = sandbox / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(sandbox)
    names = sorted(ARCHIVE_OPERATORS)
    outcomes: Counter[str] = Counter()
    for number in range(MIN_ARCHIVES):
        operator = names[number % len(names)]
        data = ARCHIVE_OPERATORS[operator](rng)
        report = checked_analysis(data, work, max_bytes=MAX_BYTES)
        outcomes["refused" if report is None else "incomplete" if report.incomplete else "read"] += 1
        if report is not None and report.events["raw"].str.contains("Core server certificate").any():
            assert report.finding("ts-cert-self-signed").status in DECIDED_OR_OPEN, operator
        assert sorted(p.name for p in sandbox.iterdir()) == ["work"], "nothing written outside it"
        assert not list(tmp_path.parent.glob("escape*")) and not Path("/tmp/absolute.txt").exists()
    assert disk.largest <= MAX_BYTES
    assert outcomes["incomplete"] and outcomes["read"] and outcomes["refused"], outcomes


def test_the_command_line_exits_0_1_2_or_3_on_crafted_input(tmp_path):
    rng = random.Random(SEED + 3)
    names = sorted(ARCHIVE_OPERATORS)
    codes = set()
    for number in range(len(names) * 3):
        path = tmp_path / f"input{number}.bin"
        path.write_bytes(ARCHIVE_OPERATORS[names[number % len(names)]](rng))
        result = CliRunner().invoke(
            main, ["analyze", str(path), "--max-bytes", str(MAX_BYTES), "--format", "json"]
        )
        assert result.exit_code in (0, 1, 2, 3), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
        codes.add(result.exit_code)
    assert codes >= {1, 2}
