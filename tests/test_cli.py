"""The command line: exit codes, formats, one-line errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import DATA, ROOT
from logscope.cli import main, wants_color
from logscope.resources import data_dir

SEED_LOG = DATA / "seed003_lines.log"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run the installed command line in a subprocess, as a user would."""
    command = [sys.executable, "-m", "logscope.cli", *args]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(command, input=stdin, capture_output=True, cwd=ROOT, env=env, timeout=120)


def test_decode_prints_the_route():
    result = CliRunner().invoke(main, ["decode", "c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw"])
    assert result.exit_code == 0
    assert "host:   10.48.36.215" in result.output and "port:   8443" in result.output


def test_decode_accepts_a_whole_url_and_flags_damage():
    url = "http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy9jdWNTLnN0ZXZlbi5sYWIVODQ0Mw/cucm-uds/x"
    result = CliRunner().invoke(main, ["decode", url])
    assert result.exit_code == 2
    assert "domain: steven.lab" in result.output


def test_decode_of_garbage_prints_only_the_error():
    result = CliRunner().invoke(main, ["decode", "!!!notbase64"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("logscope: not base64") and "domain:" not in result.output


def test_decode_names_a_port_out_of_range():
    result = CliRunner().invoke(main, ["decode", "ZG9tL2Z0cC9ob3N0Lzk5OTk5"])  # dom/ftp/host/99999
    assert result.exit_code == 2 and "port 99999 is out of range (0-65535)" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", str(SEED_LOG), "--signatures", "no-such-folder"],
        ["analyze", str(SEED_LOG), "--max-bytes", "-5"],
        ["analyze", str(SEED_LOG), "--max-bytes", "0"],
        ["signatures", "check", "no-such-folder"],
        ["analyze", "-", "-"],
    ],
    ids=["missing-signature-folder", "negative-cap", "zero-cap", "check-missing-folder", "stdin-twice"],
)
def test_bad_options_are_usage_errors(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "Error: Invalid value" in result.output


def test_signatures_check_of_a_folder_without_signature_files_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["signatures", "check", str(tmp_path)])
    assert result.exit_code == 2 and "holds no signature file" in result.output


def test_signatures_list_and_check_of_a_folder_runs_only_that_folders_examples(tmp_path):
    """The whole library's examples are run by tests/test_signatures.py; `check DIR` runs the pack's."""
    runner = CliRunner()
    listed = runner.invoke(main, ["signatures", "list"])
    assert listed.exit_code == 0 and "ts-cert-self-signed" in listed.output
    pack = tmp_path / "pack"
    pack.mkdir()
    source = data_dir("signatures") / "ts-cert-expired.toml"
    (pack / "ts-cert-expired.toml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    examples = source.read_text(encoding="utf-8").count("[[examples]]")
    checked = runner.invoke(main, ["signatures", "check", str(pack)])
    assert checked.exit_code == 0, checked.output
    assert f"1 signatures, {examples} examples, 0 problem(s)" in checked.output


def test_analyze_text_exits_1_on_issue():
    result = run("analyze", str(SEED_LOG))
    assert result.returncode == 1, result.stderr
    assert b"ts-cert-self-signed" in result.stdout
    assert b"Traceback" not in result.stderr


def test_analyze_json_to_stdout_and_from_stdin():
    result = run("analyze", "-", "--format", "json", stdin=SEED_LOG.read_bytes())
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["issue"] >= 1
    assert {f["id"] for f in document["findings"]} >= {"ts-cert-self-signed", "ts-cert-name-mismatch"}


def test_analyze_writes_html_by_suffix(tmp_path):
    output = tmp_path / "report.html"
    result = run("analyze", str(SEED_LOG), "-o", str(output))
    assert result.returncode == 1
    assert output.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


@pytest.mark.parametrize(
    "argument",
    ["/nonexistent/bundle.tar.gz", str(ROOT / "pyproject.toml")],
)
def test_unreadable_input_is_one_line_and_exit_2(argument):
    result = run("analyze", argument)
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("logscope: ")
    assert "Traceback" not in result.stderr.decode()


def test_bad_usage_exits_2():
    result = run("analyze", str(SEED_LOG), "--format", "pdf")
    assert result.returncode == 2


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color():
    assert wants_color(_Terminal(), {})
    assert not wants_color(_Terminal(), {"NO_COLOR": "1"})
    assert wants_color(_Terminal(), {"NO_COLOR": ""})  # no-color.org: set and non-empty
    assert not wants_color(io.StringIO(), {})


def test_an_input_without_a_log_is_a_warning_in_every_format(tmp_path):
    random_bytes = tmp_path / "random.bin"
    random_bytes.write_bytes(bytes(range(256)) * 16)
    folder = tmp_path / "nolog_folder"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello\n")
    inputs = [str(SEED_LOG), str(random_bytes), str(folder)]
    expected = [
        f"{random_bytes}: no log file found (not an archive, and no line looks like a log)",
        f"{folder}: no log file found (1 file looked at, none is a log: readme.txt)",
    ]
    result = run("analyze", *inputs, "--format", "json")
    assert result.returncode == 1, result.stderr  # analyzed, with an issue: the exit code is unchanged
    assert json.loads(result.stdout)["warnings"] == expected
    text = run("analyze", *inputs)
    assert text.returncode == 1
    unwrapped = " ".join(text.stdout.decode().split())  # wrapped to the width, never cut
    assert f"warning: {expected[0]}" in unwrapped and f"warning: {expected[1]}" in unwrapped
    html = tmp_path / "report.html"
    assert run("analyze", *inputs, "-o", str(html)).returncode == 1
    assert "random.bin: no log file found" in html.read_text(encoding="utf-8")


def test_analyze_json_is_written_in_pieces_as_the_reports_utf8_json_whatever_stdouts_encoding(tmp_path):
    sample = ROOT / "sample_logs" / "logins-interleaved.tar.gz"
    import logscope

    expected = json.loads(logscope.analyze(sample).to_json())
    expected["stats"].pop("seconds")
    log = tmp_path / "loggingsnapshot_expc1_2024.txt"
    log.write_bytes(SEED_LOG.read_bytes() + "Fran\u00e7oise \u00e9t\u00e9\n".encode())
    command = [sys.executable, "-m", "logscope.cli", "analyze", "--format", "json"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONIOENCODING": "ascii"}
    for path, check in ((sample, expected), (log, None)):
        result = subprocess.run([*command, str(path)], capture_output=True, cwd=ROOT, env=env, timeout=120)
        assert result.returncode in (0, 1, 3), result.stderr
        assert result.stdout.endswith(b"}\n")
        document = json.loads(result.stdout.decode("utf-8"))
        if check is not None:
            document["stats"].pop("seconds")
            assert document == check and document["logins"]
    written = tmp_path / "out.json"
    assert run("analyze", str(sample), "-o", str(written)).returncode in (0, 1, 3)
    document = json.loads(written.read_text(encoding="utf-8"))
    document["stats"].pop("seconds")
    assert document == expected


def test_a_logins_array_written_in_parts_is_the_one_written_whole(monkeypatch):
    import logscope
    import logscope.render.login_json as login_json

    report = logscope.analyze(ROOT / "sample_logs" / "logins-retry.tar.gz")
    assert len(report.logins) >= 3
    whole = report.to_json()
    for texts_per_chunk in (1, 2, 7):
        monkeypatch.setattr(login_json, "CHUNK_ELEMENTS", texts_per_chunk)
        assert report.to_json() == whole


def test_the_cli_leaves_pyarrows_memory_pool_to_pyarrow_and_the_user(monkeypatch):
    """pyarrow's own pool (mimalloc) keeps freed pages for reuse: jemalloc, which gave them back,
    cost the 1 GiB storm 250-263k page faults in the parse stage against 133-144k (README)."""
    route = "c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw"
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    CliRunner().invoke(main, ["decode", route])
    assert "ARROW_DEFAULT_MEMORY_POOL" not in os.environ
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    CliRunner().invoke(main, ["decode", route])
    assert os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "system"
