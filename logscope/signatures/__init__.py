"""Signatures stage: the signature library (one TOML file per signature) evaluated over the frames.

A signature says what it needs (sources), where it applies (role, minimum version), how it matches
(declarative filters over `tls_failures` or `transactions`, or a named detector from
:mod:`logscope.signatures.detectors` where correlation needs code), and what to tell the user (jinja2
texts). The engine, not the signature, decides `missing-info` and `not-applicable`, groups matched rows
per server, picks the evidence and renders the texts. Every signature ends in exactly one status.

The parts, each importing only those listed before it:

- :mod:`~logscope.signatures.context`: the frames and node facts a signature reads;
- :mod:`~logscope.signatures.signature`: what one signature file says (Signature, Example);
- :mod:`~logscope.signatures.matching`: the declarative `where` filters;
- :mod:`~logscope.signatures.detectors`: the named detectors, for matches that need code;
- :mod:`~logscope.signatures.evidence`: matched rows per server, and the evidence lines;
- :mod:`~logscope.signatures.evaluate`: one signature to one finding, texts rendered;
- :mod:`~logscope.signatures.failures`: checks a failure or unread input leaves undecided;
- :mod:`~logscope.signatures.library`: loading and validating the files, running them all;
- :mod:`~logscope.signatures.examples`: a signature's examples run through parse and correlate.
"""

from __future__ import annotations

from logscope.signatures.context import Context, row_positions
from logscope.signatures.detectors import DETECTORS, DetectorResult, is_fqdn
from logscope.signatures.evaluate import UNRENDERED, depth_disagreements, evaluate_signature
from logscope.signatures.evidence import SERVER_COLUMNS, collect_evidence, group_servers, server_identity
from logscope.signatures.examples import check_library, run_example
from logscope.signatures.failures import CheckError, failed_finding, leave_open
from logscope.signatures.library import Library, load_library, load_signature
from logscope.signatures.matching import normalize_text, where_mask
from logscope.signatures.signature import Example, Signature, parse_version

__all__ = [
    "DETECTORS",
    "SERVER_COLUMNS",
    "UNRENDERED",
    "CheckError",
    "Context",
    "DetectorResult",
    "Example",
    "Library",
    "Signature",
    "check_library",
    "collect_evidence",
    "depth_disagreements",
    "evaluate_signature",
    "failed_finding",
    "group_servers",
    "is_fqdn",
    "leave_open",
    "load_library",
    "load_signature",
    "normalize_text",
    "parse_version",
    "row_positions",
    "run_example",
    "server_identity",
    "where_mask",
]
