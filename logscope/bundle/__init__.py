"""Bundle stage: find the log members and the node facts in what the user passed, safely.

Inputs: archives (.tar.gz/.tgz/.tar/.zip/.gz, told apart by magic bytes), folders, plain logs, stdin
(`-`), a binary file object or bytes. Archive members are streamed into a temporary folder the
:class:`Bundle` owns, under generated names (a member's own name never becomes a path); plain files
and folders are read in place. Each candidate is named by :data:`SOURCES`: the first spec whose name
pattern matches wins if its content check passes; a member no name matches is tried against every
content check in table order, so a renamed log is still found. Nested archives open up to
:data:`MAX_DEPTH` levels. One byte budget covers the bundle: every byte written to the temporary
folder, plus the bytes a compressed tar must decompress to skip a member nobody reads.

A gzip or tar stream that ends early (a cut download) keeps what came before the cut: a log or dump
member up to its last complete line, a nested archive as far as it goes, with a warning naming the
member and how many bytes were read. A member whose bytes are wrong (bad CRC, invalid data) is not
read. Every input that gives no log is named in a warning saying why.

The package, in the order data flows through it:

    limits     the byte budget, head size, nesting depth, size caps
    spec       SourceSpec: what a source kind declares
    log, xconf, xstat, pcap, pem   one module per source kind (its spec; the dumps' item readers)
    sources    the sources table (SOURCES, in order) and identify()
    places     where an item sits, names safe to show
    streams    heads and members of streams that may be cut
    damage     damaged and cut archives, as warnings
    result     Bundle, Member, Skip, NodeFacts: what open_bundle returns
    collect    filling the Bundle: members, extraction under generated names, skips, the budget
    safety     which archive members are refused, and why
    archive    archive_kind() and walking tar, zip and gzip
    members    one file or archive member, by what it is
    inputs     paths, folders, stdin, file objects, bytes; one note per input
    facts      node facts from file names and the xconf / xstat dumps
    entry      open_bundle()
"""

from __future__ import annotations

from logscope.bundle.archive import archive_kind
from logscope.bundle.entry import open_bundle
from logscope.bundle.facts import build_nodes, infer_role, read_facts
from logscope.bundle.inputs import Input
from logscope.bundle.limits import DEFAULT_MAX_BYTES, FACTS_MAX_BYTES, HEAD_BYTES, MAX_DEPTH
from logscope.bundle.result import Bundle, Member, NodeFacts, Skip
from logscope.bundle.safety import unsafe_name
from logscope.bundle.sources import SOURCES, identify
from logscope.bundle.spec import SourceSpec
from logscope.bundle.xconf import parse_xconf
from logscope.bundle.xstat import parse_xstat, version_from

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FACTS_MAX_BYTES",
    "HEAD_BYTES",
    "MAX_DEPTH",
    "SOURCES",
    "Bundle",
    "Input",
    "Member",
    "NodeFacts",
    "Skip",
    "SourceSpec",
    "archive_kind",
    "build_nodes",
    "identify",
    "infer_role",
    "open_bundle",
    "parse_xconf",
    "parse_xstat",
    "read_facts",
    "unsafe_name",
    "version_from",
]
