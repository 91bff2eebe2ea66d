"""The flat layout both scanner backends write: one row of NCOL int64 per accepted event.

Spans are (start, length) in bytes relative to the block's first byte; a length of -1 means the field
is absent. Integers that may be missing use NULL (INT64 minimum). The C extension writes the same
layout into a bytes buffer, so the two backends are compared value for value.
"""

from __future__ import annotations

NULL = -(2**63)
MAX_EVENT_BYTES = 256 * 1024  # the parse stage's limit: a longer event is truncated there, never parsed
MAX_SHAPES = 4096  # distinct key sequences per block; an event with one more is declined
MAX_PAIRS = 64  # key="value" pairs per event; more is declined

# Column indices of one event row.
(
    OFFSET,
    LENGTH,
    LINE,
    DIALECT,
    TS,
    TS_START,
    TS_LEN,
    HOST_START,
    HOST_LEN,
    PROC_START,
    PROC_LEN,
    PID,
    FAMILY,
    KIND,
    THREAD_START,
    THREAD_LEN,
    LEVEL,
    PROGRAM_START,
    PROGRAM_LEN,
    MSG_START,
    MSG_LEN,
    F1_START,  # sni (verify, name check) or the server name (ssl_connect_failed)
    F1_LEN,
    ACTION_START,
    ACTION_LEN,
    F3_START,  # verify_error (verify) or the OpenSSL error text (ssl_connect_failed)
    F3_LEN,
    SERVER_START,  # server_name of `server=name(ip)`
    SERVER_LEN,
    IP_START,
    IP_LEN,
    DEPTH,
    NAME_CHECK,
    SHAPE,
    VALUES_FIRST,
    VALUES_COUNT,
    NCOL,
) = range(37)

# DIALECT codes: how the envelope was written (log-lines.md sections 1, 6 and 7).
RFC3339, BSD, RFC5424, DIAGS = 1, 2, 3, 4
DIALECTS = {RFC3339: "rfc3339", BSD: "bsd", RFC5424: "rfc5424", DIAGS: "diags"}
# FAMILY codes: which grammar the body belongs to.
KV, ATS, TEXT = 1, 2, 3
# KIND codes for ATS bodies (kv kinds are decided per shape and value, in columns.py).
KIND_OTHER, KIND_VERIFY, KIND_NAME_CHECK, KIND_SSL_FAILED = 0, 1, 2, 3
ATS_KINDS = {
    KIND_OTHER: "other",
    KIND_VERIFY: "tls_verify_failed",
    KIND_NAME_CHECK: "sni_not_in_cert",
    KIND_SSL_FAILED: "ssl_connect_failed",
}
LEVELS = ("DIAG", "DEBUG", "STATUS", "NOTE", "WARNING", "ERROR", "FATAL", "ALERT", "EMERGENCY")
NAME_CHECKS = ("SNI", "SAN", "Origin hostname")  # NAME_CHECK code = index + 1

# Why an event was declined (the caller sends it to the reference path, or truncates it when overlong).
DECLINE_OVERLONG, DECLINE_NUL, DECLINE_UTF8, DECLINE_CONTROL, DECLINE_SHAPE = 1, 2, 3, 4, 5
# the line after the event opens with no envelope: it may be a piece of the event a publisher wrapped
DECLINE_WRAPPED = 6
DECLINE_REASONS = {
    DECLINE_WRAPPED: "maybe-wrapped",
    DECLINE_OVERLONG: "overlong",
    DECLINE_NUL: "nul",
    DECLINE_UTF8: "invalid-utf8",
    DECLINE_CONTROL: "control-or-cr",
    DECLINE_SHAPE: "shape",
}
