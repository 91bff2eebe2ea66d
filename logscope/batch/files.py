"""Files in the output folder: making it, and writing each file so it is complete or absent."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from logscope.bundle.workspace import owner_prefix
from logscope.errors import LogscopeError


def os_error_text(exc: OSError) -> str:
    """The reason of an OSError without the path it names ("no such file or directory")."""
    if exc.strerror:
        return exc.strerror.lower() if exc.errno else exc.strerror
    return str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)


def prepare_out_dir(out_dir: Path | str) -> Path:
    """The output folder, made if missing, as an absolute path; LogscopeError when it cannot be made."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LogscopeError(f"cannot create the output folder {folder}: {os_error_text(exc)}") from None
    return folder.absolute()  # workers (and Dask workers) may run in another directory


def write_atomic(path: Path, text: str) -> None:
    """Write `text` next to `path` under a temporary name, then rename it into place.

    The temporary name names this process (bundle.workspace), so the partial file of a worker killed
    mid-write is removed by the next batch into the same folder."""
    prefix = "." + owner_prefix("part")
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 is not a report's mode: the user's is
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read by setting it, and set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
