"""logscope: explain Cisco Expressway MRA / traffic-server TLS failures from diagnostic bundles.

import logscope
report = logscope.analyze("bundle.tar.gz")
for finding in report.findings: ...
summary = logscope.run_batch(["cases/"], "reports/", jobs=2)   # what `logscope batch` runs
for result in summary.results: ...

The public names load on first use (PEP 562), so `logscope --help` and `logscope decode` do not pay
for pandas, numpy and lark, which only analysing needs.
"""

from __future__ import annotations

import importlib
from typing import Any

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

__version__ = "0.1.0"

# name -> the module that defines it; `batch` is the module itself, made callable (`logscope.batch(...)`).
_LAZY = {
    "analyze": "logscope.pipeline",
    "batch": None,
    "run_batch": "logscope.batch",
    "BatchResult": "logscope.batch",
    "BatchSummary": "logscope.batch",
    "Evidence": "logscope.findings",
    "Finding": "logscope.findings",
    "Server": "logscope.findings",
    "Report": "logscope.report",
}

__all__ = [
    "BatchResult",
    "BatchSummary",
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
    "run_batch",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'logscope' has no attribute {name!r}")
    module_name = _LAZY[name]
    value = (
        importlib.import_module(f"logscope.{name}")
        if module_name is None
        else getattr(importlib.import_module(module_name), name)
    )
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
