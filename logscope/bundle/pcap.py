"""Packet captures (tcpdump while logging): today the bundle only notes that one is present.

Nothing reads a capture's packets yet; signatures ask whether the source is there, and the
`missing-info` text says how to take one.
"""

from __future__ import annotations

import re

from logscope.bundle.spec import HOST_TS, SourceSpec, name_patterns

PCAP = SourceSpec(
    "pcap",
    "a packet capture (eth<n>_diagnostic_logging_tcpdump<k>_<host>_<timestamp>.pcap)",
    name_patterns(rf"^eth\d+_diagnostic_logging_tcpdump\d*{HOST_TS}\.pcap(ng)?$", r"^.*\.pcap(ng)?$"),
    re.compile(rb"\A(\xd4\xc3\xb2\xa1|\xa1\xb2\xc3\xd4|\x4d\x3c\xb2\xa1|\xa1\xb2\x3c\x4d|\x0a\x0d\x0d\x0a)"),
    False,
    "Tick 'Take tcpdump while logging' in Maintenance > Diagnostics > Diagnostic logging, then "
    "reproduce the failure and download the archive again.",
    head_only=True,
)
