"""Typed errors a script can catch and show to a user as one line."""

from __future__ import annotations


class LogscopeError(Exception):
    """Base of every error logscope raises on purpose."""


class BundleError(LogscopeError):
    """An input could not be read as a diagnostic bundle."""


class UnreadableInput(BundleError):
    """The path does not exist, is not a file we can open, or is not a supported format."""


class CorruptArchive(BundleError):
    """The archive is damaged (truncated gzip, bad zip CRC, broken tar header)."""


class UnsafeArchive(BundleError):
    """The archive tries to write outside its folder (../, absolute paths, links)."""


class SizeLimitExceeded(BundleError):
    """Decompressed content passed the configured cap (a decompression bomb, or a huge bundle)."""


class NoLogFound(BundleError):
    """The input holds no file that looks like an Expressway or traffic-server log."""


class SignatureError(LogscopeError):
    """A signature file is invalid (schema, template or example failure)."""
