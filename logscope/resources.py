"""Where the data folders live: inside the wheel, or beside the package in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the folder `name` (``grammars`` or ``signatures``).

    A wheel maps the repository's top-level folders into the package's ``data/`` (see pyproject); an
    editable install or a plain checkout finds them one level up.
    """
    for candidate in (_PACKAGE_DIR / "data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"logscope data folder {name!r} is missing from this installation")


def grammar_path(name: str) -> Path:
    return data_dir("grammars") / name


def templates_dir() -> Path:
    """The renderers' templates (logscope.render), beside which messages.toml also lives."""
    return _PACKAGE_DIR / "render" / "templates"
