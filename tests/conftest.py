"""Shared fixtures: tiny in-memory logs run through the real parse stage."""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from logscope.parse import ParseResult, parse_members
from logscope.report import Report

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LOGS = ROOT / "sample_logs"
DATA = Path(__file__).resolve().parent / "data"


def is_sample(path: Path) -> bool:
    """A sample in sample_logs/: a bundle file, or a folder of bundles (a folder with code is not one)."""
    if path.name.startswith(("_", ".")):
        return False
    if path.is_dir():
        return not (path / "__init__.py").exists()
    return path.name.endswith((".tar.gz", ".tgz", ".tar", ".zip", ".gz", ".txt", ".log"))


SAMPLE_INPUTS = sorted(path for path in SAMPLE_LOGS.iterdir() if is_sample(path))


def multipart_post_scope(boundary: str) -> dict:
    """The ASGI scope of a JSON-accepting multipart POST to serve's /analyze, for driving the app
    chunk by chunk without a server."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/analyze",
        "raw_path": b"/analyze",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"accept", b"application/json"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


CHROMIUM = Path("/usr/bin/chromium")  # Debian's, which .ci/run installs
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def tar_bytes(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    """An archive of regular files, in memory, in the given tarfile write mode."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class TextMember:
    """A log member held in memory (what bundle.Member offers the parse stage)."""

    def __init__(self, data: str | bytes, name: str = "inline.log", source: str = "log", host=None):
        self.data = data.encode("utf-8") if isinstance(data, str) else data
        self.name, self.source, self.host, self.size = name, source, host, len(self.data)

    def display(self) -> str:
        return self.name

    def open(self) -> io.BytesIO:
        return io.BytesIO(self.data)


def empty_report(**fields) -> Report:
    """A report of nothing read (the renderers' edge case); `fields` override its parts."""
    parts = {
        "inputs": ["bundle.tar.gz"],
        "nodes": [],
        "findings": [],
        "events": pd.DataFrame(),
        "transactions": pd.DataFrame(),
        "tls_failures": pd.DataFrame(),
        "stats": {},
    }
    return Report(**(parts | fields))


def parse_text(text: str | bytes, **options) -> ParseResult:
    source = options.pop("source", "log")
    host = options.pop("host", None)
    return parse_members([TextMember(text, source=source, host=host)], **options)


def events_of(text: str | bytes, **options) -> pd.DataFrame:
    """The events of a log text, every row's `raw` read (the scanner leaves it in the log)."""
    parsed = parse_text(text, **options)
    parsed.events["raw"] = parsed.texts.texts(parsed.events)
    return parsed.events


@pytest.fixture
def seed003_log() -> Path:
    return DATA / "seed003_lines.log"


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """Make `tempfile` create its folders here, so a test can watch what comes and goes."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder
