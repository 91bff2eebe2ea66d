"""`pip install .` with no extras and no C compiler gives the development tree's JSON, byte for byte.

cryptography and pyarrow are base dependencies (design.md, "Dependencies"): this installs the package
in a fresh venv, with its base dependencies only and `CC=false` (issue 14: a machine without a
compiler installs, and runs the parse stage with the pyarrow scanner, not the compiled one), and analyzes a PEM bundle
and a log sample there: the JSON documents, minus the run's seconds, equal those of the development
tree, which uses the compiled scanner when it is built. It needs PyPI or a pip cache that holds the
base dependencies (CI's own install fills the cache), so it runs under CI=true or with
LOGSCOPE_INSTALL_TEST=1, and is skipped otherwise.
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
from logscope.render.json import render_json

INPUTS = (SAMPLE_LOGS / "node-certificates", SAMPLE_LOGS / "x14.2-ecdsa-self-signed-6972.tar.gz")
SOURCES = ("logscope", "grammars", "signatures", "pyproject.toml", "README.md", "hatch_build.py")
DOCUMENTS = (
    "import json, sys, logscope\n"
    "from logscope.render.json import render_json\n"
    "print(json.dumps([json.loads(render_json(logscope.analyze(path))) for path in sys.argv[1:]]))\n"
)


def _without_seconds(document: dict) -> dict:
    return {**document, "stats": {k: v for k, v in document["stats"].items() if k != "seconds"}}


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
        env={**os.environ, "PIP_NO_INPUT": "1", "CC": "false"},
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
    clean = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "LOGSCOPE_SCANNER")}
    version = subprocess.run(
        [str(environment / "bin" / "logscope"), "--version"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=clean,
    )
    assert "pyarrow scanner" in version.stdout, version.stdout
    installed = subprocess.run(
        [str(python), "-c", DOCUMENTS, *map(str, INPUTS)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean,
    )
    found = [_without_seconds(document) for document in json.loads(installed.stdout)]
    expected = [_without_seconds(json.loads(render_json(logscope.analyze(path)))) for path in INPUTS]
    assert found == expected
    assert {f["id"]: f["status"] for f in found[0]["findings"]}["cfg-uc-zone-tls-verify-off"] == "issue"
    assert sys.executable != str(python)
