"""Receiving an upload: the multipart body streamed to a temporary folder under generated names,
with the size, file-count and header limits enforced while it streams."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

UPLOAD_FIELD = "bundle"
MAX_FILES = 32  # a cluster has at most six peers; more is a mistake or an attack
MAX_FIELD_BYTES = 64 * 1024  # a non-file form field (the page sends none)
MULTIPART_ALLOWANCE = 1024 * 1024  # boundaries and part headers on top of the file bytes
WRITE_BATCH_BYTES = 1024 * 1024  # file data is written off the event loop in batches of this size
MAX_DISPLAY_NAME = 200
MAX_PART_HEADER_BYTES = 16 * 1024
MAX_BOUNDARY = 70  # RFC 2046 5.1.1; browsers and HTTP clients send 30 to 70
# Suffixes the bundle reader recognises; an upload keeps one of these (never the client's name).
KNOWN_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".log.gz", ".txt.gz", ".gz", ".txt", ".log")


class UploadProblem(Exception):
    """A request that cannot be analyzed; `message` is one line safe to show (it is escaped);
    `reason` a short word for scripts (JSON `reason`: busy, timeout, upload-timeout, stopping)."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class SavedUpload:
    """One uploaded file: where it was written (generated name) and the name the client gave it."""

    path: Path
    display_name: str
    size: int


class UploadReceiver:
    """Feeds a multipart body to python-multipart and writes file parts under generated names.

    The parser calls back synchronously; file data is queued and written off the event loop in
    batches. The cap counts file bytes (and small form fields) as they arrive.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.received = 0
        self.saved: list[SavedUpload] = []
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._file: BinaryIO | None = None
        self._file_path: Path | None = None
        self._file_name = ""
        self._file_size = 0
        self._field_size = 0
        self._pending: list[tuple[BinaryIO, bytes]] = []
        self._pending_bytes = 0
        self._to_close: list[tuple[BinaryIO, Path, str, int]] = []
        self._names_taken: set[str] = set()

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }

    def _on_part_begin(self) -> None:
        self._disposition = b""
        self._file = None
        self._file_size = 0
        self._field_size = 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]
        self._check_header_size()

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._check_header_size()

    def _check_header_size(self) -> None:
        if len(self._header_name) + len(self._header_value) > MAX_PART_HEADER_BYTES:
            raise UploadProblem(400, "a part header of the upload is too large")

    def _on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self._disposition)
        if b"filename" not in options:
            return
        if options.get(b"name") != UPLOAD_FIELD.encode():
            raise UploadProblem(400, f"files go in the form field {UPLOAD_FIELD!r}")
        if len(self.saved) + len(self._to_close) >= MAX_FILES:
            raise UploadProblem(400, f"too many files in one upload (at most {MAX_FILES})")
        shown = display_name(options[b"filename"])
        self._file_name = unique_name(shown, self._names_taken)
        index = len(self.saved) + len(self._to_close)
        self._file_path = self.folder / f"upload-{index:02d}{known_suffix(shown)}"
        self._file = self._file_path.open("xb")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        self.received += size
        if self.received > self.max_bytes:
            raise UploadProblem(413, f"upload exceeds {self.max_bytes // (1024 * 1024)} MB")
        if self._file is None:
            self._field_size += size
            if self._field_size > MAX_FIELD_BYTES:
                raise UploadProblem(400, "a form field is too large")
            return
        self._file_size += size
        self._pending.append((self._file, data[start:end]))
        self._pending_bytes += size

    def _on_part_end(self) -> None:
        if self._file is not None and self._file_path is not None:
            self._to_close.append((self._file, self._file_path, self._file_name, self._file_size))
        self._file = None

    def ready_to_flush(self) -> bool:
        return self._pending_bytes >= WRITE_BATCH_BYTES or bool(self._to_close)

    def flush(self) -> None:
        """Write queued data and close finished files (called in a worker thread)."""
        for handle, chunk in self._pending:
            handle.write(chunk)
        self._pending.clear()
        self._pending_bytes = 0
        for handle, path, name, size in self._to_close:
            handle.close()
            if size == 0 and not name:
                path.unlink(missing_ok=True)  # the browser's empty part when no file was chosen
            else:
                self.saved.append(SavedUpload(path=path, display_name=name or path.name, size=size))
        self._to_close.clear()

    def close_all(self) -> None:
        for handle, _chunk in self._pending:
            handle.close()
        for handle, *_rest in self._to_close:
            handle.close()
        if self._file is not None:
            self._file.close()


def display_name(raw: bytes) -> str:
    """The client's file name for display only: last path component, no control characters, capped."""
    text = raw.decode("utf-8", errors="replace")
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:MAX_DISPLAY_NAME]


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`... so two uploads never share a label in the report."""
    if not name:
        return name
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    taken.add(candidate)
    return candidate


def known_suffix(name: str) -> str:
    """The archive/log suffix of `name` if it is one the bundle reader knows, else nothing."""
    lowered = name.lower()
    return next((suffix for suffix in KNOWN_SUFFIXES if lowered.endswith(suffix)), "")


async def receive_uploads(request: Request, folder: Path, max_bytes: int) -> list[SavedUpload]:
    """Stream the multipart body of `request` into `folder`; raise UploadProblem when it is refused."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadProblem(400, "expected a multipart/form-data upload (the form on the page sends one)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MULTIPART_ALLOWANCE:
        raise UploadProblem(413, f"upload exceeds {max_bytes // (1024 * 1024)} MB")
    if len(options[b"boundary"]) > MAX_BOUNDARY:
        raise UploadProblem(400, f"the multipart boundary is longer than {MAX_BOUNDARY} characters")
    receiver = UploadReceiver(folder, max_bytes)
    try:
        parser = MultipartParser(options[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
        async for chunk in request.stream():
            parser.write(chunk)
            if receiver.ready_to_flush():
                await run_in_threadpool(receiver.flush)
        parser.finalize()
        await run_in_threadpool(receiver.flush)
    except FormParserError:
        raise UploadProblem(400, "the upload is not valid multipart form data") from None
    finally:
        receiver.close_all()
    return receiver.saved
