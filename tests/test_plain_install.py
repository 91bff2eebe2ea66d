"""`pip install .` with no extras reads a PEM bundle and gives the same findings as the development tree.

cryptography and pyarrow are base dependencies (design.md, "Dependencies"): this installs the package
in a fresh venv, with its base dependencies only, and analyzes the node-certificates sample there. It
needs PyPI or a pip cache that holds the base dependencies (CI's own install fills the cache), so it
runs under CI=true or with LOGSCOPE_INSTALL_TEST=1, and is skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import logscope
from conftest import ROOT, SAMPLE_LOGS

BUNDLE = SAMPLE_LOGS / "node-certificates"
SOURCES = ("logscope", "grammars", "signatures", "pyproject.toml", "README.md", "hatch_build.py")
FINDINGS = (
    "import json, sys, logscope\n"
    "report = logscope.analyze(sys.argv[1])\n"
    "print(json.dumps({f.id: f.status for f in report.findings}))\n"
)

pytestmark = [
    pytest.mark.install,
    pytest.mark.skipif(
        os.environ.get("CI") != "true" and os.environ.get("LOGSCOPE_INSTALL_TEST") != "1",
        reason="needs PyPI or a filled pip cache: set LOGSCOPE_INSTALL_TEST=1 (CI runs it)",
    ),
]


def _copy_sources(target: Path) -> Path:
    """The files the wheel is built from, copied, so the build leaves nothing in the work tree."""
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        else:
            shutil.copy2(source, target / name)
    return target


def test_a_plain_pip_install_analyzes_a_pem_bundle_with_the_same_findings(tmp_path):
    project = _copy_sources(tmp_path / "project")
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "--disable-pip-version-check",
            str(project),
        ],
        check=True,
        timeout=240,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    extras = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u; print([m for m in ('starlette', 'dask') if u.find_spec(m)])",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert extras.stdout.strip() == "[]"
    installed = subprocess.run(
        [str(python), "-c", FINDINGS, str(BUNDLE)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    found = json.loads(installed.stdout)
    expected = {finding.id: finding.status for finding in logscope.analyze(BUNDLE).findings}
    assert found == expected
    assert found["cfg-uc-zone-tls-verify-off"] == "issue"
    assert sys.executable != str(python)
