"""The logs: the Expressway logging snapshot and the traffic server's diags.log and error.log.

These are what the parse stage reads; the bundle only finds them (their lines are parsed later).
"""

from __future__ import annotations

import re

from logscope.bundle.spec import DIAGNOSTIC_LOGGING, HOST_TS, SourceSpec, name_patterns

# A log is Expressway's (or its traffic server's) when a line has the pristine envelope, or when a line
# carries a body only they write, in any dialect of envelope or none (issue 11): the full ATS
# certificate-warning shape, or key="value" pairs with at least two of Expressway's own keys. Other
# software's TLS logs share OpenSSL's words but not these shapes.
_PRISTINE = rb"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d) +\S+ +\S+(\[\d+\])?: "
_ATS_WARNING = (  # a diags.log line is ATS_DIAGS's (its table entry comes after this one)
    rb"^(?!\[\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3}\] )[^\n]*?WARNING: *"
    rb"(Core server certificate verification failed for *\([^)\n]*\)\. *Action=[A-Za-z]+ +"
    rb"Error=[^\n]+? +server=[^()\s]*\([^()\s]*\) +depth=-?\d+"
    rb"|(SNI|SAN|Origin hostname) *\([^)\n]*\) *not in certificate\. *Action=[A-Za-z]+ +server=)"
)
_KEYS = rb"(?:UTCTime|Module|Level|Detail|Event|Txn-id|TrackingID|Src-ip|Src-port|Dst-ip|Dst-port|Msg)"
_KV_BODY = rb"(?<![\w.-])(?P<k>" + _KEYS + rb')= ?"[^"\n]*"[^\n]*?(?<![\w.-])(?!(?P=k)=)' + _KEYS + rb'= ?"'
SNAPSHOT = SourceSpec(
    "log",
    "the Expressway logging snapshot (loggingsnapshot_<host>_<timestamp>.txt)",
    name_patterns(rf"^loggingsnapshot{HOST_TS}\.(txt|log)$", r"^loggingsnapshot.*\.(txt|log)$"),
    re.compile(_PRISTINE + rb"|" + _ATS_WARNING + rb"|" + _KV_BODY),
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
