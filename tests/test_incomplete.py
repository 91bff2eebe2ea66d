"""Never say "No issue" over a log logscope did not read (design.md layer (c)), and a failing check
costs that check, not the report (layer (d)). Issue 10."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

import logscope
import logscope.pipeline as pipeline_module
from logscope.cli import main
from logscope.signatures import detectors

MIB = 1024 * 1024
SAMPLES = Path(__file__).parent.parent / "sample_logs"
SCHEMA = json.loads((Path(logscope.__file__).parent / "report.schema.json").read_text())
LINE = "2022-07-11T18:55:26.016{offset} {host} traffic_server[18242]: [ET_NET 0] WARNING: {message}\n"
FAILURE = (
    "Core server certificate verification failed for (cucm.steven.lab). Action=Terminate "
    "Error=self signed certificate server=cucm.steven.lab(10.48.36.215) depth=0"
)


def log(host: str, message: str = "Traffic Server is fully initialized.", offset: str = "+02:00") -> bytes:
    return LINE.format(offset=offset, host=host, message=message).encode()


def snapshot(host: str) -> str:
    return f"loggingsnapshot_{host}_20220711.txt"


def tar_bytes(members: list[tuple[str, bytes]], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def undecided(report: logscope.Report) -> list[str]:
    return [f.id for f in report.findings if f.status in ("ok", "not-applicable")]


# --- what is read, and what is charged ----------------------------------------------------------


def test_a_large_capture_before_a_second_nodes_log_does_not_use_up_the_cap():
    capture = b"\xd4\xc3\xb2\xa1" + bytes(30 * MIB)  # presence is all a capture is used for
    bundle = tar_bytes(
        [
            (snapshot("expc1"), log("expc1")),
            ("eth0_diagnostic_logging_tcpdump00_expc1_2022-07-11_18-55-26.pcap", capture),
            (snapshot("expc2"), log("expc2", FAILURE)),
        ]
    )
    report = logscope.analyze(bundle, max_bytes=10 * MIB)
    assert sorted(node.host for node in report.nodes) == ["expc1", "expc2"]
    assert report.finding("ts-cert-self-signed").status == "issue"
    assert report.incomplete == [] and report.warnings == []
    assert any(node.sources.get("pcap") for node in report.nodes) or "pcap" in json.dumps(report.to_dict())


def test_when_the_cap_keeps_a_log_unread_the_report_is_incomplete_and_no_check_says_ok():
    bundle = tar_bytes(
        [(snapshot("expc1"), log("expc1") * 10), (snapshot("expc2"), log("expc2") + bytes(12 * MIB))]
    )
    report = logscope.analyze(bundle, max_bytes=10 * MIB)
    assert [(item["path"], item["reason"][:20]) for item in report.incomplete] == [
        (snapshot("expc2"), "size cap of 10.0 MiB"),
        ("<bytes>", "size cap of 10.0 MiB"),  # and the rest of the archive
    ]
    assert undecided(report) == []
    finding = report.finding("ts-cert-self-signed")
    assert finding.status == "missing-info" and snapshot("expc2") in finding.description
    assert report.exit_code == 3
    jsonschema.validate(report.to_dict(), SCHEMA)


def test_an_issue_found_stands_when_other_input_was_not_read():
    bundle = tar_bytes(
        [(snapshot("expc1"), log("expc1", FAILURE)), ("x/../../" + snapshot("expc2"), log("x"))]
    )
    report = logscope.analyze(bundle)
    assert report.finding("ts-cert-self-signed").status == "issue"
    assert [item["reason"].split(":")[0] for item in report.incomplete] == ["refused"]
    assert report.exit_code == 1


def test_an_ignored_readme_or_an_empty_file_is_skipped_but_not_incomplete():
    bundle = tar_bytes(
        [(snapshot("expc1"), log("expc1")), ("README.txt", b"how to read this\n"), ("empty", b"")]
    )
    report = logscope.analyze(bundle)
    assert sorted(skip["path"] for skip in report.skipped) == ["README.txt", "empty"]
    assert report.incomplete == [] and report.exit_code == 0
    assert report.finding("ts-cert-self-signed").status == "ok"


def test_a_cut_download_is_incomplete():
    whole = tar_bytes(
        [(snapshot("expc1"), b"".join(log("expc1", f"line {n} " + "x" * 60) for n in range(3000)))]
    )
    report = logscope.analyze(whole[: len(whole) * 9 // 10])
    assert len(report.incomplete) == 1 and "damaged archive" in report.incomplete[0]["reason"]
    assert report.exit_code == 3 and undecided(report) == []


def test_skipped_lists_are_capped_at_100_with_a_count():
    members = [(snapshot("expc1"), log("expc1"))] + [(f"notes/{n}.txt", b"a note\n") for n in range(150)]
    members += [(f"../escape{n}", b"x") for n in range(120)]
    report = logscope.analyze(tar_bytes(members))
    document = report.to_dict()
    assert len(document["skipped"]) == 100 and document["skipped_count"] == 270
    assert len(document["incomplete"]) == 100 and document["incomplete_count"] == 120
    jsonschema.validate(document, SCHEMA)
    assert "and 115 more" in report.to_text()


# --- sparse members ----------------------------------------------------------------------------------


def sparse_tar(tmp_path: Path, fmt: str, sparse_name: str) -> Path:
    """A real `tar --sparse` archive: a 10 MiB file with a hole, then a log."""
    if shutil.which("tar") is None:
        pytest.skip("GNU tar is not installed")
    folder = tmp_path / "files"
    folder.mkdir()
    with open(folder / sparse_name, "wb") as file:
        file.write(log("expc1"))
        file.seek(10 * MIB)
        file.write(log("expc1"))
    (folder / snapshot("expc2")).write_bytes(log("expc2", FAILURE))
    archive = tmp_path / f"{fmt}.tar"
    subprocess.run(
        ["tar", "--sparse", f"--format={fmt}", "-cf", str(archive), sparse_name, snapshot("expc2")],
        cwd=folder,
        check=True,
    )
    with tarfile.open(archive) as tar:
        if not tar.getmembers()[0].issparse():
            pytest.skip("this file system keeps no holes, so tar made no sparse member")
    return archive


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_a_sparse_member_is_skipped_and_the_members_after_it_are_read(tmp_path, fmt):
    archive = sparse_tar(tmp_path, fmt, "disk.img")
    report = logscope.analyze(archive, max_bytes=4 * MIB)
    assert report.finding("ts-cert-self-signed").status == "issue", "the log after the sparse member"
    assert [(item["path"], "sparse" in item["reason"]) for item in report.incomplete] == [("disk.img", True)]
    assert not any("damaged" in warning for warning in report.warnings)


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_a_sparse_log_is_not_inflated_and_the_report_says_incomplete(tmp_path, fmt):
    archive = sparse_tar(tmp_path, fmt, snapshot("expc1"))
    gz = tmp_path / f"{fmt}.tar.gz"
    gz.write_bytes(gzip.compress(archive.read_bytes()))
    (tmp_path / "work").mkdir()
    report = logscope.analyze(gz, max_bytes=MIB, work_dir=tmp_path / "work")
    assert [item["path"] for item in report.incomplete] == [snapshot("expc1")]
    assert report.finding("ts-cert-self-signed").status == "issue"
    assert sorted(node.host for node in report.nodes) == ["expc2"]


# --- files named like a log whose head fails the content check -------------------------------------


def test_a_snapshot_with_a_nul_filled_head_is_read(tmp_path):
    path = tmp_path / snapshot("expc1")
    path.write_bytes(bytes(70 * 1024) + log("expc1", FAILURE))
    report = logscope.analyze(path)
    assert report.finding("ts-cert-self-signed").status == "issue"
    assert report.stats["unparsed"] == 0


def test_a_snapshot_with_offsets_without_a_colon_is_read():
    bundle = tar_bytes([(snapshot("expc1"), log("expc1", FAILURE, offset="+0100"))])
    report = logscope.analyze(bundle)
    assert report.finding("ts-cert-self-signed").status == "issue"


def test_a_file_named_like_a_snapshot_holding_something_else_is_incomplete():
    bundle = tar_bytes([(snapshot("expc1"), log("expc1")), (snapshot("expc2"), b"\x01\x02binary" * 100)])
    report = logscope.analyze(bundle)
    assert [item["path"] for item in report.incomplete] == [snapshot("expc2")]
    assert report.exit_code == 3


# --- layer (d): a failing check -------------------------------------------------------------------


def failing_detector(*_args, **_kwargs):
    raise KeyError("a bug in a detector")


def test_a_check_that_raises_says_missing_info_and_the_others_stand(monkeypatch):
    monkeypatch.setitem(detectors.DETECTORS, "ecdsa_port_split", failing_detector)
    report = logscope.analyze(SAMPLES / "x14.2-ecdsa-self-signed-6972.tar.gz")
    failed = report.finding("ts-ecdsa-port-split")
    assert failed.status == "missing-info" and "Internal error" in failed.description
    assert "--debug" in failed.description
    assert report.finding("ts-cert-self-signed").status == "issue"
    assert report.incomplete == [
        {
            "input": "",
            "path": "check ts-ecdsa-port-split",
            "reason": "internal error in ts-ecdsa-port-split (KeyError: 'a bug in a detector'); see --debug",
        }
    ]
    assert "failing_detector" in report.tracebacks[0]
    assert report.exit_code == 1


def test_a_failing_correlation_leaves_every_check_undecided(monkeypatch):
    real = pipeline_module.correlate

    def fragile(events):
        if len(events):
            raise ValueError("a bug in correlation")
        return real(events)

    monkeypatch.setattr(pipeline_module, "correlate", fragile)
    report = logscope.analyze(log("expc1", FAILURE))
    assert undecided(report) == []
    assert [item["path"] for item in report.incomplete] == ["check correlation"]
    assert report.exit_code == 3


def test_a_signature_text_that_fails_to_render_costs_that_finding_only(tmp_path):
    source = (Path(logscope.__file__).parent.parent / "signatures" / "ts-cert-self-signed.toml").read_text()
    broken = source.replace('description = """', 'description = """{{ facts.nothing.deeper }}', 1)
    (tmp_path / "ts-cert-self-signed.toml").write_text(broken)
    report = logscope.analyze(log("expc1", FAILURE), signature_dirs=[tmp_path])
    assert report.finding("ts-cert-self-signed").status == "missing-info"
    assert report.incomplete[0]["path"] == "check ts-cert-self-signed"
    # its rows are unclaimed, so the catch-all still reports the failure: never dropped
    assert report.finding("ts-cert-verify-other").status == "issue"


# --- the command line -----------------------------------------------------------------------------


def test_analyze_exits_3_and_says_incomplete_first(tmp_path):
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(tar_bytes([(snapshot("expc1"), log("expc1")), ("../escape", b"x")]))
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 3
    assert result.output.startswith("INCOMPLETE: 1 item(s)")
    html = tmp_path / "report.html"
    assert CliRunner().invoke(main, ["analyze", str(path), "-o", str(html)]).exit_code == 3
    page = html.read_text()
    assert page.index('id="incomplete"') < page.index('id="overview"')


def test_debug_shows_the_traceback_of_a_failing_check(monkeypatch):
    monkeypatch.setitem(detectors.DETECTORS, "ecdsa_port_split", failing_detector)
    path = str(SAMPLES / "healthy-mra-login.tar.gz")
    quiet = CliRunner().invoke(main, ["analyze", path])
    assert quiet.exit_code == 3 and "Traceback" not in quiet.output
    loud = CliRunner().invoke(main, ["analyze", "--debug", path])
    assert loud.exit_code == 3 and "Traceback" in loud.output and "failing_detector" in loud.output


def test_an_error_that_prevents_any_report_is_one_line_and_exit_2(monkeypatch, tmp_path):
    def broken(*_args, **_kwargs):
        raise RuntimeError("nothing works")

    monkeypatch.setattr(pipeline_module, "load_library", broken)
    path = tmp_path / snapshot("expc1")
    path.write_bytes(log("expc1"))
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 2
    assert (
        result.output
        == "logscope: internal error: RuntimeError: nothing works (run with --debug for details)\n"
    )
    loud = CliRunner().invoke(main, ["analyze", str(path), "--debug"])
    assert loud.exit_code == 2 and "Traceback" in loud.output and loud.output.endswith("details)\n")
