"""The safety net's word list (grammars/tls_failure_phrases.toml): which lines speak of a certificate
or TLS failure (design.md, unread input layer (a)).

The parse stage hands every block of a log to :func:`phrase_lines` before it pre-selects lines, so a
failure line in a wording no grammar knows is seen even when the pre-selection would skip it. A byte
search for the list's `prefilter` words in the lower-cased block comes first: the phrases (regular
expressions) run only on the few lines that hold one, which keeps the cost a few finds per block.
Those lines are ASCII nearly always: they are matched all at once by RE2 (pyarrow), with the phrases
put in RE2's terms where Python's `re` reads ASCII text the same way (`re2_pattern`); a line with any
other byte goes to `re`.
"""

from __future__ import annotations

import re
import tomllib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logscope.lines.fastpath import parse_event
from logscope.lines.unwrap import opens_event
from logscope.resources import grammar_path

FAILURE_KINDS = frozenset({"tls_verify_failed", "sni_not_in_cert", "ssl_connect_failed"})


@dataclass(frozen=True)
class PhraseList:
    prefilter: tuple[bytes, ...]
    phrases: tuple[tuple[re.Pattern[str], str], ...]  # (pattern, family)
    processes: dict[str, str]  # process name -> family, for the `by-process` phrases
    checks: dict[str, tuple[str, ...]]  # family -> check ids (a trailing `*` is a prefix)
    any_phrase: re.Pattern[str]  # every phrase at once: whether a line holds one
    any_phrase_re2: str | None  # the same for RE2 on ASCII text (None: not expressible so)


@cache
def phrase_list() -> PhraseList:
    data = tomllib.loads(grammar_path("tls_failure_phrases.toml").read_text(encoding="utf-8"))
    processes = {
        process: family for family, table in data["families"].items() for process in table["processes"]
    }
    any_phrase = "|".join(f"(?:{p['pattern']})" for p in data["phrase"])
    return PhraseList(
        prefilter=tuple(word.lower().encode() for word in data["prefilter"]),
        phrases=tuple((re.compile(p["pattern"], re.IGNORECASE), p["family"]) for p in data["phrase"]),
        processes=processes,
        checks={family: tuple(table["checks"]) for family, table in data["families"].items()},
        any_phrase=re.compile(any_phrase, re.IGNORECASE),
        any_phrase_re2=re2_pattern(any_phrase),
    )


# What Python's `\s` matches in ASCII text (str.isspace: the C0 separators too), spelled for RE2,
# whose own `\s` leaves out \v and \x1c-\x1f.
_ASCII_SPACE = r"\t\n\x0b\f\r \x1c-\x1f"
_RE2_SAME_ESCAPES = frozenset("dDwWbB.\\-^$|?*+()[]{}/ ")


def re2_pattern(pattern: str) -> str | None:
    """`pattern` (Python `re`, matched case-insensitively) as RE2 matches it on ASCII text, or None
    when it uses anything whose reading could differ: only the escapes of _RE2_SAME_ESCAPES and
    `\\s` (rewritten), no `{,n}` (a repetition in `re`, text in RE2), no `[` inside a class (`[:alpha:]`
    is a class name to RE2, letters to `re`), ASCII only (case folding of other letters differs), and
    RE2 must accept the result (it rejects look-arounds, back references, atomic groups, verbose mode)."""
    if not pattern.isascii():
        return None
    out, in_class, at = [], False, 0
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            escaped = pattern[at + 1 : at + 2]
            if escaped == "s":
                out.append(_ASCII_SPACE if in_class else f"[{_ASCII_SPACE}]")
            elif escaped and escaped in _RE2_SAME_ESCAPES:
                out.append(char + escaped)
            else:
                return None
            at += 2
        elif in_class:
            if char == "[":
                return None
            in_class = char != "]"
            out.append(char)
            at += 1
        elif char == "[":  # a `]` first in a class (after any `^`) is itself
            opening = "[^" if pattern.startswith("[^", at) else "["
            at += len(opening)
            if pattern[at : at + 1] == "]":
                opening += "]"
                at += 1
            out.append(opening)
            in_class = True
        elif pattern.startswith("{,", at):
            return None
        else:
            out.append(char)
            at += 1
    translated = "".join(out)
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), translated, ignore_case=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return translated


def phrase_families(text: str) -> list[str]:
    """The families of the phrases `text` holds (`by-process` unresolved); empty for a healthy line."""
    return list(dict.fromkeys(family for pattern, family in phrase_list().phrases if pattern.search(text)))


def family_of(families: list[str], process: str | None) -> str:
    """One family for a line: its phrase's own, or for OpenSSL's words the family of its process
    (`ats` for traffic_server and for ATS's own logs, which name no process)."""
    for family in families:
        if family != "by-process":
            return family
    return phrase_list().processes.get(process or "traffic_server", "ats")


FoundLine = tuple[int, int]  # a line's start offset in its block, and how many `\n` come before it
LineFinder = Callable[[bytes, tuple[bytes, ...]], list[FoundLine]]


def lines_holding(block: bytes, words: tuple[bytes, ...]) -> list[FoundLine]:
    """The lines of `block` holding one of `words` (lower-case; ASCII letters match in any case), in
    block order: (start offset, line ends before it). One byte search per word over the lower-cased
    block, the line ends counted once up to the last line found. The compiled scanner's
    `lines_holding` gives the same in one pass (the parse stage hands it in)."""
    lowered = block.lower()
    starts: set[int] = set()
    for word in words:
        position = lowered.find(word)
        while position >= 0:
            starts.add(lowered.rfind(b"\n", 0, position) + 1)
            end = lowered.find(b"\n", position)
            position = -1 if end < 0 else lowered.find(word, end)
    found, counted, line_ends = [], 0, 0
    for start in sorted(starts):
        line_ends += block.count(b"\n", counted, start)
        counted = start
        found.append((start, line_ends))
    return found


class SharedLineFinder:
    """One finder for every reader of a log that looks for lines by words (the safety net, the
    traversal reader): the first call on a block finds, in one pass, the lines holding a word of
    any list asked for so far; each call then keeps the lines holding a word of its own list. The
    result is what `find(block, words)` gives, for less than one pass per list. `word_lists`: lists
    known from the start (else the first block is searched again when a new list is asked for)."""

    def __init__(
        self, find: LineFinder = lines_holding, word_lists: Iterable[tuple[bytes, ...]] = ()
    ) -> None:
        self.find = find
        self.word_lists: list[tuple[bytes, ...]] = list(word_lists)
        self.block: bytes | None = None
        self.found: list[FoundLine] = []
        self.laid: tuple[bytes, np.ndarray] | None = None  # the found lines end to end, their starts

    def __call__(self, block: bytes, words: tuple[bytes, ...]) -> list[FoundLine]:
        if words not in self.word_lists:
            self.word_lists.append(words)
            self.block = None
        if block is not self.block:
            every = tuple(dict.fromkeys(word for listed in self.word_lists for word in listed))
            self.found, self.block, self.laid = list(self.find(block, every)), block, None
        if len(self.word_lists) == 1:
            return self.found
        return self._holding(block, words)

    def _holding(self, block: bytes, words: tuple[bytes, ...]) -> list[FoundLine]:
        """The found lines that hold one of `words`: the lines are laid end to end (once per
        block) and searched once, so the search's own case rules decide."""
        if self.laid is None:
            lines, firsts, at = [], [], 0
            for start, _ in self.found:
                end = block.find(b"\n", start)
                line = block[start : len(block) if end < 0 else end]
                lines.append(line)
                firsts.append(at)
                at += len(line) + 1
            self.laid = b"\n".join(lines), np.array(firsts, np.int64)
        text, firsts = self.laid
        hits = [start for start, _ in self.find(text, words)]
        if not hits:
            return []
        owners = np.searchsorted(firsts, np.array(hits, np.int64), "right") - 1
        return [self.found[owner] for owner in owners.tolist()]


def phrase_lines(block: bytes, line_base: int, finder: LineFinder = lines_holding) -> list[tuple[int, bytes]]:
    """(line number, line bytes) of each line of `block` (whole lines) that holds a phrase."""
    found = []
    for start, line_ends in finder(block, phrase_list().prefilter):
        end = block.find(b"\n", start)
        found.append((line_base + line_ends, block[start : len(block) if end < 0 else end]))
    holding = holds_phrase([line for _, line in found])
    return [line for line, holds in zip(found, holding, strict=True) if holds]


def holds_phrase(lines: list[bytes]) -> list[bool]:
    """Whether each line holds a phrase: the ASCII lines all at once by RE2 (when the phrases can be
    put in its terms), the others (and all, else) one by one by `re` over their text."""
    phrases = phrase_list()
    by_re2 = [bool(phrases.any_phrase_re2) and line.isascii() for line in lines]
    result = [
        not to_re2 and phrases.any_phrase.search(line.decode("utf-8", errors="replace")) is not None
        for line, to_re2 in zip(lines, by_re2, strict=True)
    ]
    plain = [at for at, to_re2 in enumerate(by_re2) if to_re2]
    if plain:
        texts = pa.array([lines[at] for at in plain], pa.string())  # ASCII: valid UTF-8 as it is
        matched = pc.match_substring_regex(texts, phrases.any_phrase_re2, ignore_case=True)
        for at, holds in zip(plain, matched.to_pylist(), strict=True):
            result[at] = holds
    return result


def checks_of(family: str) -> tuple[str, ...]:
    return phrase_list().checks.get(family, ())


def concerns(check_id: str, family: str) -> bool:
    """Whether a check (signature id) belongs to a family's checks (`ts-*` is a prefix)."""
    return any(
        check_id.startswith(pattern[:-1]) if pattern.endswith("*") else check_id == pattern
        for pattern in checks_of(family)
    )


MAX_TEXT = 2000  # characters of a listed line kept
NEAR_LINES = 20  # a debug line restating a failure: a failure row of its thread this near reads it


class SafetyNet:
    """Follows one log's events and lists the phrase lines no rule turned into a failure row.

    `block` is given each block before its events; `event` each event in line order with its
    record; `finish` returns the listed lines ({file, line, text, family}). A `DEBUG` line with a
    debug tag (`(ssl.error.connect)`, `(ssl-diag)`) that restates a failure its thread's failure row
    already holds within NEAR_LINES lines is read; alone, it is listed.
    """

    def __init__(self, source: str, finder: LineFinder = lines_holding) -> None:
        self.source = source
        self.finder = finder
        self.hits: deque[tuple[int, bytes]] = deque()
        self.listed: list[dict] = []
        self.debug: list[tuple[int, bytes, dict]] = []
        self.failures: list[tuple[int, str | None]] = []
        # the line of the last event, whether one of its events (several when a publisher flattened
        # them onto it) is a failure row, and its phrase lines waiting for the line's other events
        self.line: int | None = None
        self.read = False
        self.held: list[tuple[int, bytes, dict]] = []

    def block(self, block: bytes, line_base: int) -> None:
        self.found(phrase_lines(block, line_base, self.finder))

    def found(self, hits: list[tuple[int, bytes]]) -> None:
        """A block's phrase lines, found elsewhere (`phrase_lines` of the block, by a scan)."""
        self.hits.extend(hits)

    def event(self, line_no: int, raw: bytes, record: dict) -> None:
        if line_no != self.line:
            self._settle(line_no)
            self.line, self.read = line_no, False
        if record.get("kind") in FAILURE_KINDS:
            self.failures.append((line_no, record.get("thread")))
            self.read = True
            self.held.clear()
        hits = self.hits
        end = line_no + raw.count(b"\n") + 1
        while hits and hits[0][0] < end:
            hit_line, text = hits.popleft()
            if not self.read:
                self.held.append((hit_line, text, record))

    def _settle(self, next_line: int | None) -> None:
        """Judge the last line's phrase lines, and those before `next_line` (None: all): a piece a
        publisher wrapped off a failure row (no envelope of its own) is read with it."""
        if not self.read:
            for hit_line, text, record in self.held:
                if record.get("level") == "DEBUG" and record.get("module"):
                    self.debug.append((hit_line, text, record))
                else:
                    self._list(hit_line, text, record)
        self.held.clear()
        hits = self.hits
        while hits and (next_line is None or hits[0][0] < next_line):
            hit_line, text = hits.popleft()
            if not (self.read and not opens_event(text)):
                self._list(hit_line, text, None)

    def finish(self) -> list[dict]:
        self._settle(None)
        for hit_line, text, record in self.debug:
            thread = record.get("thread")
            if not any(t == thread and abs(line - hit_line) <= NEAR_LINES for line, t in self.failures):
                self._list(hit_line, text, record)
        self.listed.sort(key=lambda item: item["line"])
        return self.listed

    def _list(self, line_no: int, raw: bytes, record: dict | None) -> None:
        text = raw.decode("utf-8", errors="replace").replace("\r", "").lstrip("\ufeff")
        if record is None:
            record = _record_of(text)
        self.listed.append(
            {
                "file": self.source,
                "line": line_no,
                "text": text[:MAX_TEXT],
                "family": family_of(phrase_families(text), record.get("process")),
            }
        )


def _record_of(text: str) -> dict:
    """The parse of a line the pre-selection skipped (for its process): a failure is rare, so cheap."""
    try:
        return parse_event(text)
    except Exception:  # a line that cannot be parsed still gets listed, by its words alone
        return {}
