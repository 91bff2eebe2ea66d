"""The cache check: an input is skipped when its report pair records the same content hash,
logscope version and settings (signature files, size cap) in the JSON ``batch`` block."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from logscope import __version__
from logscope.batch.results import incomplete_of, result_fields
from logscope.resources import data_dir

CACHE_BLOCK = "batch"  # key of the cache record inside each report's JSON


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes; for a folder, of its sorted members (path, size, bytes; links by target).

    Raises OSError for a path that is missing, unreadable, or neither a regular file nor a folder
    (a fifo or device is never read: it could block or never end).
    """
    info = os.stat(path)
    if stat.S_ISREG(info.st_mode):
        with open(path, "rb") as stream:
            return "sha256:" + hashlib.file_digest(stream, "sha256").hexdigest()
    if stat.S_ISDIR(info.st_mode):
        return "sha256:" + _folder_digest(Path(path))
    raise OSError(f"{os.fspath(path)}: not a regular file or folder")


def _folder_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files) + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                entry = f"L {relative} -> {os.readlink(path)}"
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as stream:
                    member = hashlib.file_digest(stream, "sha256").hexdigest()
                entry = f"F {relative} {info.st_size} {member}"
            else:
                entry = f"O {relative}"
            digest.update(entry.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def settings_key(signature_dirs: Iterable[str | os.PathLike], max_bytes: int) -> str:
    """What, besides the input and the version, changes a report: the signature files and the cap."""
    digest = hashlib.sha256(f"max_bytes={max_bytes}\0".encode())
    for folder in (data_dir("signatures"), *map(Path, signature_dirs)):
        digest.update(f"dir {folder.name}\0".encode("utf-8", "surrogateescape"))
        files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        for path in files:
            digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def cache_record(path: str, name: str, digest: str, settings: str) -> dict[str, str]:
    return {
        "input": path,
        "name": name,
        "content_hash": digest,
        "logscope_version": __version__,
        "settings": settings,
    }


def load_cached(json_path: Path, html_path: Path, digest: str, settings: str) -> dict[str, Any] | None:
    """The stored report when it is complete and was made from the same bytes, version and settings."""
    if not html_path.is_file():
        return None
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    record = document.get(CACHE_BLOCK) if isinstance(document, dict) else None
    if not isinstance(record, dict):
        return None
    same = (
        record.get("content_hash") == digest
        and record.get("logscope_version") == __version__
        and record.get("settings") == settings
    )
    return document if same and _readable_document(document) else None


def _readable_document(document: dict[str, Any]) -> bool:
    try:
        result_fields(document)
        incomplete_of(document)
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True
