"""The logs: the Expressway logging snapshot and the traffic server's diags.log and error.log.

These are what the parse stage reads; the bundle only finds them (their lines are parsed later).
"""

from __future__ import annotations

import re

from logscope.bundle.spec import DIAGNOSTIC_LOGGING, HOST_TS, SourceSpec, name_patterns

SNAPSHOT = SourceSpec(
    "log",
    "the Expressway logging snapshot (loggingsnapshot_<host>_<timestamp>.txt)",
    name_patterns(rf"^loggingsnapshot{HOST_TS}\.(txt|log)$", r"^loggingsnapshot.*\.(txt|log)$"),
    re.compile(rb"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d) +\S+ +\S+(\[\d+\])?: "),
    True,
    DIAGNOSTIC_LOGGING,
    line_oriented=True,
)
ATS_DIAGS = SourceSpec(
    "ats_diags",
    "Apache Traffic Server's diags.log",
    name_patterns(r"^diags\.log([._-].*)?$"),
    re.compile(rb"(?m)^\[\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3}\] "),
    True,
    "Copy diags.log from the traffic server's log folder (e.g. /var/log/trafficserver/).",
    line_oriented=True,
)
ATS_ERROR = SourceSpec(
    "ats_error",
    "Apache Traffic Server's error.log",
    name_patterns(r"^error\.log([._-].*)?$"),
    re.compile(rb"(?m)^\d{8}\.\d\dh\d\dm\d\ds "),
    True,
    "Copy error.log from the traffic server's log folder (e.g. /var/log/trafficserver/).",
    line_oriented=True,
)
