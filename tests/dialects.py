"""The dialects real logs arrive in (shared/reference/log-lines.md section 7), as transformations.

Each transformation re-renders a pristine log (a list of lines, no line ends) into one dialect,
deterministically given a `random.Random`. :data:`DIALECTS` is the closed table: one entry per bullet
of section 7 (plus its closing paragraph on ATS debug output), each naming the words of the bullet it
stands for, so ``tests/test_dialects.py`` can check the table against the reference. Each dialect
has a hypothesis strategy (:func:`dialect`) that draws the random source; :func:`chain` draws several
compatible dialects in an order that keeps each one meaningful.

Lines a transformation does not apply to (another process's envelope, a body of another family) are
left as they are, so a dialect of a log without, say, HTTPMSG bodies may be the identity.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import strategies as st

Lines = list[str]
Transform = Callable[[Lines, random.Random], Lines]

# The pristine Expressway envelope: `<RFC 3339> <host> <process>[<pid>]:<body>`.
ENVELOPE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (?P<host>[^\s\[\]]+) "
    r"(?P<process>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?:(?P<body>.*)"
)
DIAGS_ENVELOPE = re.compile(r"\[(?P<ts>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?)\](?P<body>.*)")
CONTINUATION = ("|", " ", "\t")
THREAD_TAG = re.compile(r"\[(?P<thread>[^\]\n]+)\] (?=(?:DIAG|DEBUG|STATUS|NOTE|WARNING|ERROR|FATAL):)")
VERIFY_WARNING = re.compile(
    r"\[(?P<thread>[^\]\n]+)\] WARNING: Core server certificate verification failed for \((?P<sni>[^)]*)\)\. "
    r"Action=(?P<action>\w+) Error=(?P<error>.+?) server=(?P<name>[^()\s]*)\((?P<ip>[^()\s]*)\) depth=(?P<depth>-?\d+)"
)
IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
QUOTED_PAIR = re.compile(r'(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)="(?P<value>[^"]*)"')
TRACKING_ID = re.compile(r'(?<=TrackingID=")[0-9a-f-]{8,}(?=")')
# OpenSSL's X509_V_ERR numbers for the texts ATS writes (ssl_verify's `num=`).
OPENSSL_ERROR_NUMBERS = {
    "unable to get issuer certificate": 2,
    "certificate signature failure": 7,
    "certificate is not yet valid": 9,
    "certificate has expired": 10,
    "self signed certificate": 18,
    "self-signed certificate": 18,
    "self signed certificate in certificate chain": 19,
    "self-signed certificate in certificate chain": 19,
    "unable to get local issuer certificate": 20,
    "unable to verify the first certificate": 21,
    "certificate revoked": 23,
    "invalid CA certificate": 24,
    "unsupported certificate purpose": 26,
    "unsuitable certificate purpose": 26,
}


def _envelope(line: str) -> re.Match | None:
    return ENVELOPE.fullmatch(line)


def _rewrite_envelopes(lines: Lines, render: Callable[[re.Match], str]) -> Lines:
    """Every line with a pristine envelope re-rendered; other lines (continuations, diags) kept."""
    return [render(match) if (match := _envelope(line)) else line for line in lines]


def _pid(match: re.Match) -> str:
    return f"[{match['pid']}]" if match["pid"] else ""


# --- envelopes ------------------------------------------------------------------------------------


def rfc3339_precision(lines: Lines, rnd: random.Random) -> Lines:
    """The same instants with no fraction, milliseconds or microseconds, in the offset or in Z."""
    precision = rnd.choice(["seconds", "milliseconds", "microseconds"])
    to_utc = rnd.random() < 0.5
    width = {"seconds": 0, "milliseconds": 3, "microseconds": 6}[precision]

    def render(match: re.Match) -> str:
        moment = datetime.fromisoformat(match["ts"])
        if to_utc:
            moment = moment.astimezone(UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if width:
            text += "." + f"{moment.microsecond:06d}"[:width]
        offset = moment.strftime("%z")
        text += "Z" if to_utc else f"{offset[:3]}:{offset[3:]}"
        return f"{text} {match['host']} {match['process']}{_pid(match)}:{match['body']}"

    return _rewrite_envelopes(lines, render)


def bsd_syslog(lines: Lines, rnd: random.Random) -> Lines:
    """`Mar  4 09:12:44 expc1 traffic_server[2210]: <body>`: local time, no year, zone or fraction."""

    def render(match: re.Match) -> str:
        moment = datetime.fromisoformat(match["ts"])
        stamp = f"{moment:%b} {moment.day:>2} {moment:%H:%M:%S}"
        return f"{stamp} {match['host']} {match['process']}{_pid(match)}:{match['body']}"

    return _rewrite_envelopes(lines, render)


def rfc5424(lines: Lines, rnd: random.Random) -> Lines:
    """`<PRI>1 <time> <host> <app> <pid or -> - - [BOM]<body>` as a syslog server stores it."""
    pri = rnd.randrange(0, 192)
    bom = "\ufeff" if rnd.random() < 0.3 else ""
    separator = rnd.choice([" ", "  "])  # rsyslog keeps the message's own leading space

    def render(match: re.Match) -> str:
        pid = match["pid"] or "-"
        body = match["body"].lstrip(" ")
        return f"<{pri}>1 {match['ts']} {match['host']} {match['process']} {pid} - -{separator}{bom}{body}"

    return _rewrite_envelopes(lines, render)


def no_pid(lines: Lines, rnd: random.Random) -> Lines:
    """`... expe1 tvcs: <body>`: the process without its `[pid]` (every tvcs line is written so)."""
    return _rewrite_envelopes(lines, lambda m: f"{m['ts']} {m['host']} {m['process']}:{m['body']}")


def no_colon(lines: Lines, rnd: random.Random) -> Lines:
    """`... expc1 edgeconfigprovisioning UTCTime="..."`: no colon after the process (or its pid)."""

    def render(match: re.Match) -> str:
        body = match["body"] if match["body"].startswith(" ") else " " + match["body"]
        return f"{match['ts']} {match['host']} {match['process']}{_pid(match)}{body}"

    return _rewrite_envelopes(lines, render)


def no_process(lines: Lines, rnd: random.Random) -> Lines:
    """`... localhost UTCTime="..." Module=...`: time and host, no process at all."""
    return _rewrite_envelopes(lines, lambda m: f"{m['ts']} {m['host']} {m['body'].lstrip(' ')}")


def no_time(lines: Lines, rnd: random.Random) -> Lines:
    """`expe1 traffic_server[2210]: Module=...`: host and process, no time."""
    return _rewrite_envelopes(lines, lambda m: f"{m['host']} {m['process']}{_pid(m)}:{m['body']}")


def no_envelope(lines: Lines, rnd: random.Random) -> Lines:
    """A bare body, as pasted from a case note: no time, host or process (diags.log times too)."""
    bare = []
    for line in lines:
        if match := _envelope(line) or DIAGS_ENVELOPE.fullmatch(line):
            bare.append(match["body"].lstrip(" "))
        else:
            bare.append(line)
    return bare


def line_number_prefix(lines: Lines, rnd: random.Random) -> Lines:
    """`Line 190: <line>`, as an editor's search window lists matching lines (any indentation)."""
    indent = rnd.choice(["", "\t", "  "])
    return [f"{indent}Line {number}: {line}" for number, line in enumerate(lines, 1)]


# --- thread tags and spacing ------------------------------------------------------------------------


def thread_tag(lines: Lines, rnd: random.Random) -> Lines:
    """`[ET_NET 3]` becomes ATS 8's `{0x7f51c3a0e700}`, another bracketed name, or no tag at all."""
    mode = rnd.choice(["none", "hex", "bracket"])  # seed 0 (a derandomized first draw): ATS 8 hex
    ids: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        thread = match["thread"]
        if mode == "none":
            return ""
        if thread not in ids:
            ids[thread] = f"{{0x7f{rnd.getrandbits(40):010x}}}" if mode == "hex" else f"[ET_TASK {len(ids)}]"
        return ids[thread] + " "

    return [line if line.startswith(CONTINUATION) else THREAD_TAG.sub(replace, line) for line in lines]


_PUNCTUATION = set('[]():="')
_NEXT_KEY = re.compile(r"[A-Za-z_][\w.-]*=")


def _respace(line: str, rnd: random.Random, lose: float, double: float) -> str:
    """Spaces outside double quotes lost (where a neighbour is punctuation or a `key=` follows) or
    doubled; leading whitespace (a continuation's) is kept."""
    out: list[str] = []
    quoted = False
    start = len(line) - len(line.lstrip(" \t"))
    out.append(line[:start])
    for index in range(start, len(line)):
        char = line[index]
        if char == '"':
            quoted = not quoted
        if char != " " or quoted:
            out.append(char)
            continue
        before, after = line[index - 1 : index], line[index + 1 : index + 2]
        losable = before in _PUNCTUATION or after in _PUNCTUATION or _NEXT_KEY.match(line, index + 1)
        draw = rnd.random()
        if losable and draw < lose:
            continue
        out.append("  " if draw > 1 - double else " ")
    return "".join(out)


def spacing(lines: Lines, rnd: random.Random) -> Lines:
    """Spaces lost or doubled by a publisher between tokens: `traffic_server[812]:[ET_NET 0]WARNING:`."""
    lose, double = rnd.choice([(0.5, 0.0), (0.0, 0.3), (0.3, 0.2), (1.0, 0.0)])
    return [line if line.startswith(CONTINUATION) else _respace(line, rnd, lose, double) for line in lines]


# --- values ---------------------------------------------------------------------------------------


def masking_plan(lines: Lines, rnd: random.Random) -> dict[str, str]:
    """Address -> its masked form (`192.0.2.xx` or `<REDACTED>`), decided once per address per log."""
    plan: dict[str, str] = {}
    for line in lines:
        for address in IPV4.findall(line):
            if address in plan:
                continue
            style = rnd.choice(["last", "last-two", "redacted"])
            octets = address.split(".")
            if style == "redacted":
                plan[address] = "<REDACTED>"
            else:
                keep = 3 if style == "last" else 2
                plan[address] = ".".join(octets[:keep] + ["x" * len(o) for o in octets[keep:]])
    return plan


def mask_text(text: str, plan: dict[str, str]) -> str:
    return IPV4.sub(lambda m: plan.get(m.group(), m.group()), text)


def masked_values(lines: Lines, rnd: random.Random) -> Lines:
    """Addresses masked (:func:`masking_plan`) and tracking ids partly replaced by `x`."""
    plan = masking_plan(lines, rnd)
    tail = rnd.choice([4, 8, 12])

    def tracking(match: re.Match) -> str:
        text = match.group()
        return text[: len(text) - tail] + re.sub(r"[0-9a-f]", "x", text[len(text) - tail :])

    return [TRACKING_ID.sub(tracking, mask_text(line, plan)) for line in lines]


def padded_values(lines: Lines, rnd: random.Random) -> Lines:
    """`Service=" SIP "` or `Reason= "..."`: values padded inside their quotes, or a space after `=`."""

    def pad(match: re.Match) -> str:
        draw = rnd.random()
        if draw < 0.3:
            return f'{match["key"]}=" {match["value"]} "'
        if draw < 0.5:
            return f'{match["key"]}= "{match["value"]}"'
        return match.group()

    return [line if line.startswith(CONTINUATION) else QUOTED_PAIR.sub(pad, line) for line in lines]


_FUNCTIONS = ("HttpSM::state_send_server_request_header", "SslHandshake", "ProxyTransaction::process")
# Free text with no certificate or TLS failure words: text that says a TLS connection failed changes what
# the line means (the safety net rightly lists it), which no re-rendering may do.
_FREE_TEXT = (
    "state changed to connected",
    "handshake state advanced",
    "retrying with next address",
)


def free_text_between_pairs(lines: Lines, rnd: random.Random) -> Lines:
    """`... Level="X": <Function>: <free text> Detail="..."`: developer text between the pairs."""
    out = []
    for line in lines:
        level = re.search(r'Level="[^"]*":', line)
        if line.startswith(CONTINUATION) or level is None or rnd.random() < 0.3:
            out.append(line)
            continue
        text = f" {rnd.choice(_FUNCTIONS)}: {rnd.choice(_FREE_TEXT)}"
        out.append(line[: level.end()] + text + line[level.end() :])
    return out


# --- line structure -------------------------------------------------------------------------------


def httpmsg_placement(lines: Lines, rnd: random.Random) -> Lines:
    """`HTTPMSG:` / `SIPMSG:` alone on the line after the pairs instead of at their end (every one:
    the same-line form is the pristine one)."""
    out = []
    for line in lines:
        marker = re.search(r" (HTTPMSG|SIPMSG):$", line)
        if marker and not line.startswith(CONTINUATION):
            out += [line[: marker.start()], f"{marker[1]}:"]
        else:
            out.append(line)
    return out


def _wrap(line: str, width: int, mode: str) -> Lines:
    pieces = []
    while len(line) > width:
        cut = width
        if mode == "space":
            cut = line.rfind(" ", 1, width + 1)
        elif mode == "hyphen":
            cut = line.rfind("-", 1, width) + 1 or line.rfind(" ", 1, width + 1)
        if cut <= 0:
            cut = width
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" \t")  # a wrapped line does not start with a space in print
    pieces.append(line)
    return [piece for piece in pieces if piece]


def wrapped(lines: Lines, rnd: random.Random) -> Lines:
    """Lines broken at a fixed width by a PDF or mail client: mid-word, at a space (lost) or after a
    hyphen; continuation lines of an HTTP or SIP message are left as they are."""
    width = rnd.randint(60, 100)
    mode = rnd.choice(["mid-word", "space", "hyphen"])
    out: Lines = []
    for line in lines:
        out += [line] if line.startswith(CONTINUATION) else _wrap(line, width, mode)
    return out


def flattened(lines: Lines, rnd: random.Random) -> Lines:
    """Several events flattened onto one line: a whole envelope line appended to the one above."""
    out: Lines = []
    joinable = False  # whether the last line in `out` is a whole event with nothing folded into it
    for index, line in enumerate(lines):
        starts_event = not line.startswith(CONTINUATION) and line.strip() != ""
        followed = index + 1 < len(lines) and lines[index + 1].startswith(CONTINUATION)
        if starts_event and joinable and not followed and rnd.random() < 0.5:
            out[-1] += rnd.choice([" ", "  "]) + line
            joinable = False
            continue
        out.append(line)
        joinable = starts_event and not followed
    return out


def line_ends(lines: Lines, rnd: random.Random) -> Lines:
    """CRLF or lone CR line ends, tabs for spaces in the envelope, a UTF-8 byte order mark. Lone CR
    makes the whole log one `\\n`-free line; apply this dialect last."""
    mode = rnd.choice(["crlf", "cr", "bom", "tabs", "crlf+bom"])
    out = list(lines)
    if mode == "tabs":
        out = [
            f"{m['ts']}\t{m['host']}\t{m['process']}{_pid(m)}:{m['body']}" if (m := _envelope(line)) else line
            for line in out
        ]
    if "bom" in mode and out:
        out[0] = "\ufeff" + out[0]
    if mode.startswith("crlf"):
        out = [line + "\r" for line in out]
    if mode == "cr":
        out = ["\r".join(out) + "\r"]
    return out


# --- ATS debug output -------------------------------------------------------------------------------


def ats_ssl_debug(lines: Lines, rnd: random.Random) -> Lines:
    """What ATS writes around each certificate WARNING with the `ssl` debug tags on (measured in the
    lab: ATS 9.2.9): the verify callback's `(ssl_verify) verification error:num=..:depth=..` before
    it; `(ssl.error.connect)`, `(ssl-diag) ... peer address is <ip>` and `(ssl.error) SSL connection
    failed for '<sni>'` after it when the action was Terminate."""
    out: Lines = []
    for line in lines:
        match = VERIFY_WARNING.search(line)
        if match is None or line.startswith(CONTINUATION):
            out.append(line)
            continue
        prefix, thread = line[: match.start()], match["thread"]
        number = OPENSSL_ERROR_NUMBERS.get(match["error"], 1)
        debug = f"{prefix}[{thread}] DEBUG: "
        out.append(
            f"{debug}<SSLClientUtils.cc:50 (verify_callback)> (ssl_verify) Entered cert verify callback"
        )
        out.append(
            f"{debug}<SSLClientUtils.cc:78 (verify_callback)> (ssl_verify) verification error:num={number}:"
            f"{match['error']}:depth={match['depth']}"
        )
        out.append(line)
        if match["action"] == "Terminate":
            handle = rnd.randrange(10**14, 10**15)
            reason = "error:0A000086:SSL routines::certificate verify failed"
            out.append(
                f"{debug}<SSLNetVConnection.cc:2125 (_ssl_connect)> (ssl.error.connect) SSL connect returned -1, "
                f"ssl_error=1, ERR_get_error=167772294 ({reason})"
            )
            out.append(
                f"{debug}<SSLNetVConnection.cc:1569 (sslClientHandShakeEvent)> (ssl-diag) SSL::{handle}:{reason}"
                f":../ssl/statem/statem_clnt.c:1889: peer address is {match['ip']}"
            )
            out.append(
                f"{debug}<SSLNetVConnection.cc:1573 (sslClientHandShakeEvent)> (ssl.error) SSL connection "
                f"failed for '{match['sni']}': {reason}"
            )
    return out


# --- the closed table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    name: str
    transform: Transform
    bullet: str  # words that open (or identify) the bullet of log-lines.md section 7 it stands for
    stage: int  # order in a chain: body -> envelope -> spacing -> flatten/prefix -> wrap -> line ends


DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect("rfc3339_precision", rfc3339_precision, "RFC 3339 with offset", 1),
        Dialect("bsd_syslog", bsd_syslog, "BSD syslog as a remote syslog server stores it", 1),
        Dialect("rfc5424", rfc5424, "RFC 5424 from a syslog server", 1),
        Dialect("no_pid", no_pid, "No pid", 1),
        Dialect("no_colon", no_colon, "No colon after the process", 1),
        Dialect("no_process", no_process, "No process at all", 1),
        Dialect("no_time", no_time, "A host and process but no time", 1),
        Dialect("no_envelope", no_envelope, "No envelope at all", 1),
        Dialect("line_number_prefix", line_number_prefix, "A line-number prefix", 3),
        Dialect("thread_tag", thread_tag, "`[ET_NET 3] WARNING:`", 0),
        Dialect("spacing", spacing, "Spaces lost or doubled", 2),
        Dialect("masked_values", masked_values, "Masked addresses and ids", 0),
        Dialect("padded_values", padded_values, "Values padded inside the quotes", 0),
        Dialect("free_text_between_pairs", free_text_between_pairs, 'Free text between key="value" pairs', 0),
        Dialect("httpmsg_placement", httpmsg_placement, "`HTTPMSG:` (and `SIPMSG:` for SIP)", 0),
        Dialect("wrapped", wrapped, "Lines wrapped at a fixed width", 4),
        Dialect("flattened", flattened, "Several events flattened onto one line", 3),
        Dialect("line_ends", line_ends, "CRLF and lone CR line ends", 5),
        Dialect("ats_ssl_debug", ats_ssl_debug, "Apache Traffic Server debug output", 0),
    )
}


@dataclass(frozen=True)
class Drawn:
    """A dialect chain drawn by hypothesis, with the seed each step's random source starts from."""

    steps: tuple[tuple[str, int], ...]

    def apply(self, lines: Lines) -> Lines:
        for name, seed in self.steps:
            lines = DIALECTS[name].transform(lines, random.Random(seed))
        return lines

    @property
    def names(self) -> set[str]:
        return {name for name, _ in self.steps}


def dialect(name: str) -> st.SearchStrategy[Drawn]:
    """The named dialect alone, with a drawn random source."""
    return st.integers(0, 2**32 - 1).map(lambda seed: Drawn(((name, seed),)))


ENVELOPE_DIALECTS = frozenset(name for name, d in DIALECTS.items() if d.stage == 1)


@st.composite
def chain(draw, names: frozenset[str] = frozenset(DIALECTS)) -> Drawn:
    """Several dialects at once (at most one envelope), in stage order."""
    chosen = draw(st.sets(st.sampled_from(sorted(names)), min_size=1, max_size=4))
    envelopes = sorted(chosen & ENVELOPE_DIALECTS)
    chosen -= set(envelopes[1:])
    ordered = sorted(chosen, key=lambda n: (DIALECTS[n].stage, n))
    return Drawn(tuple((n, draw(st.integers(0, 2**32 - 1))) for n in ordered))


def render(lines: Lines) -> bytes:
    """The log as a file: lines joined by LF (a line may end in CR: see :func:`line_ends`)."""
    return "\n".join(lines).encode("utf-8")
