"""logscope: explain Cisco Expressway MRA / traffic-server TLS failures from diagnostic bundles.

import logscope
report = logscope.analyze("bundle.tar.gz")
for finding in report.findings: ...
"""

from __future__ import annotations

__version__ = "0.1.0"

# `logscope.batch(...)` runs a batch; `logscope.batch` is also the module (it is made callable).
from logscope import batch
from logscope.errors import (
    BundleError,
    CorruptArchive,
    LogscopeError,
    NoLogFound,
    SignatureError,
    SizeLimitExceeded,
    UnreadableInput,
    UnsafeArchive,
)
from logscope.findings import Evidence, Finding, Server
from logscope.pipeline import analyze
from logscope.report import Report

__all__ = [
    "BundleError",
    "CorruptArchive",
    "Evidence",
    "Finding",
    "LogscopeError",
    "NoLogFound",
    "Report",
    "Server",
    "SignatureError",
    "SizeLimitExceeded",
    "UnreadableInput",
    "UnsafeArchive",
    "__version__",
    "analyze",
    "batch",
]
