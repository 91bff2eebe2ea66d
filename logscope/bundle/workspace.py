"""Owned temporary folders: each one's name says which process made it, on which host.

A run that is killed (SIGKILL, the OOM killer, a batch worker stopped mid-input) cannot remove its
extraction folder. The next run that makes a folder in the same place removes those left behind, and
only those: a folder is stale when it carries our prefix, names this host, and the process it names
is gone. The owner is in the folder's name rather than in a file inside it, so a folder is never seen
without its owner (no window between creating it and writing a marker), and a folder that another
host made on a shared disk (Dask workers writing into one output folder) is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

PREFIX = "logscope-"
# A folder, or a file being written (a leading dot and a .tmp suffix), owned by host + pid.
OWNED = re.compile(
    r"\.?logscope-(?P<kind>[a-z]+)-(?P<host>[A-Za-z0-9.-]{1,40})-(?P<pid>[0-9]+)-[A-Za-z0-9_]+(\.tmp)?"
)
_cleaned: set[tuple[int, str]] = set()  # (pid, folder) already swept by this process


def host_label() -> str:
    """This host's name as it goes into a folder name: letters, digits, dot and dash, at most 40."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:40] or "host"


def owner_prefix(kind: str) -> str:
    """`logscope-<kind>-<host>-<pid>-`: the start of the name of a folder this process owns
    (a partial file's name is the same behind a dot, with a `.tmp` suffix)."""
    return f"{PREFIX}{kind}-{host_label()}-{os.getpid()}-"


def process_alive(pid: int) -> bool:
    """True when a process with this id exists here (one we may not signal counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(path: Path) -> bool:
    """An owned folder of this host whose owning process is gone."""
    match = OWNED.fullmatch(path.name)
    return bool(match) and match["host"] == host_label() and not process_alive(int(match["pid"]))


def clean_stale(parent: str | os.PathLike) -> list[Path]:
    """Remove the stale owned folders and partial files directly inside `parent`; the ones removed."""
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        path = Path(entry.path)
        if not is_stale(path):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def temporary_folder(
    work_dir: str | os.PathLike | None = None, kind: str = "work", *, ignore_cleanup_errors: bool = False
) -> tempfile.TemporaryDirectory[str]:
    """A TemporaryDirectory owned by this process, made after sweeping the stale ones beside it
    (once per process and folder)."""
    parent = os.path.abspath(work_dir if work_dir is not None else tempfile.gettempdir())
    if (os.getpid(), parent) not in _cleaned:
        clean_stale(parent)
        _cleaned.add((os.getpid(), parent))
    return tempfile.TemporaryDirectory(
        prefix=owner_prefix(kind), dir=work_dir, ignore_cleanup_errors=ignore_cleanup_errors
    )
