"""The command line's byte-progress bar (stderr, a terminal only, large inputs only)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

PROGRESS_MIN_BYTES = 64 * 1024 * 1024  # below this a progress bar is noise


class progress_bar:
    """A byte-progress bar on stderr, only on a terminal and only for large inputs."""

    def __init__(self) -> None:
        self._bar = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not sys.stderr.isatty():
            return None
        return self._update

    def _update(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_BYTES:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="parsing", file=sys.stderr, show_eta=True)
            self._bar.__enter__()
        self._bar.update(done - self._bar.pos)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
