"""Random bundles (tests/strategies.py): analyze returns a valid Report or raises a BundleError subclass,
never anything else, and writes nothing outside its own temporary folder, which it removes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import logscope
from logscope.errors import BundleError
from strategies import RandomBundle, bundles, materialize

SCHEMA = json.loads((Path(logscope.__file__).parent / "report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def tree(root: Path) -> dict[str, int]:
    """Every path under `root` (links not followed) with its size: what a write would change."""
    return {str(path.relative_to(root)): path.lstat().st_size for path in root.rglob("*")}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(bundle=bundles(), cap=st.sampled_from([64 * 1024, 16 * 1024 * 1024]))
def test_analyze_gives_a_report_or_a_bundle_error_and_writes_nothing_outside(bundle: RandomBundle, cap: int):
    with tempfile.TemporaryDirectory(prefix="logscope-random-") as scratch:
        root = Path(scratch)
        (root / "input").mkdir()
        watched = root / "tmp"  # where the bundle's own temporary folder must appear and vanish
        watched.mkdir()
        path = materialize(bundle, root / "input")
        before = tree(root)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tempfile, "tempdir", str(watched))
            try:
                report = logscope.analyze(path, max_bytes=cap)
            except BundleError as exc:
                assert str(exc) and "\n" not in str(exc)
            else:
                assert isinstance(report, logscope.Report)
                document = json.loads(report.to_json())
                errors = [error.message for error in VALIDATOR.iter_errors(document)]
                assert not errors, errors[:3]
        assert tree(root) == before
        escaped = [
            str(p) for p in (root.parent, Path.cwd(), Path("/tmp")) for p in p.glob(f"*{bundle.token}*")
        ]
        assert not escaped
