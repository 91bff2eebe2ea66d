"""One line (one event) to one record: the Lark grammars and the fast path they define.

The grammars in ``grammars/*.lark`` are the single source of truth for what a line means. Two
regular expressions give a fast path for the two shapes that make up most of a snapshot (the syslog
envelope and Expressway's key="value" body); every line they decline goes to the full grammar, and
``tests/test_fast_path.py`` proves on samples and random input that both paths give the same record.

The parts: :mod:`~logscope.lines.records` (the record's columns and the helpers both paths share),
:mod:`~logscope.lines.grammar` (the reference parse) and :mod:`~logscope.lines.fastpath` (the fast
path, and :func:`parse_event` that falls back to the grammar).
"""

from __future__ import annotations

from logscope.lines.fastpath import fast_ats, fast_pairs, fast_parse_line, parse_event
from logscope.lines.grammar import grammars, parse_body_with_grammar, parse_line, salvage_tls_fields
from logscope.lines.records import (
    DETAIL_KINDS,
    DIAGS,
    ERRORLOG,
    EVENT_KINDS,
    KEY_COLUMNS,
    REDUNDANT_KEYS,
    SYSLOG,
    TRANSACTION_KINDS,
    Record,
    body_family,
    http_start_line,
    kv_record,
    server_fields,
    split_openssl_error,
)

__all__ = [
    "DETAIL_KINDS",
    "DIAGS",
    "ERRORLOG",
    "EVENT_KINDS",
    "KEY_COLUMNS",
    "REDUNDANT_KEYS",
    "SYSLOG",
    "TRANSACTION_KINDS",
    "Record",
    "body_family",
    "fast_ats",
    "fast_pairs",
    "fast_parse_line",
    "grammars",
    "http_start_line",
    "kv_record",
    "parse_body_with_grammar",
    "parse_event",
    "parse_line",
    "salvage_tls_fields",
    "server_fields",
    "split_openssl_error",
]
