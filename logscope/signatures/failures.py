"""Checks that could not be decided: one that raised (design.md layer (d)) and those input left unread
could concern (layer (c)). Statuses never get better by reading less, or by failing."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from logscope.findings import Finding
from logscope.signatures.evaluate import MESSAGES
from logscope.signatures.signature import Signature

UNDECIDED = ("ok", "not-applicable")  # what an unread input may not leave a check at
_SHOWN = 3  # unread items named in a finding's text


@dataclass(frozen=True)
class CheckError:
    """An exception while deciding a check (or a stage every check depends on)."""

    check: str  # signature id, or the stage ("correlation")
    error: str  # "KeyError: 'port'": one line, for the report
    traceback: str  # the whole traceback, for --debug

    @classmethod
    def of(cls, check: str, error: BaseException) -> CheckError:
        text = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        return cls(check, text, "".join(traceback.format_exception(error)))

    def incomplete_entry(self) -> dict[str, str]:
        """The report's `incomplete` entry: which check failed, and how."""
        reason = MESSAGES["internal_error_incomplete"].format(check=self.check, error=self.error)
        return {"input": "", "path": f"check {self.check}", "reason": reason}


def failed_finding(signature: Signature) -> Finding:
    """The finding of a signature whose evaluation raised: missing-info, saying so."""
    return Finding(
        id=signature.id,
        title=signature.title,
        status="missing-info",
        severity=signature.severity,
        category=signature.category,
        description=MESSAGES["internal_error"],
        action=MESSAGES["internal_error_action"],
        related=list(signature.related),
        documents=list(signature.documents),
    )


def leave_open(findings: list[Finding], unread: list[dict[str, str]]) -> None:
    """Layer (c): a check that would say `ok` or `not-applicable` says `missing-info` naming what was
    not read (any unread member may be a log, so every check could be concerned); `issue` and
    `potential` stand. Changes the findings in place."""
    if not unread:
        return
    what = _unread_text(unread)
    for finding in findings:
        if finding.status in UNDECIDED:
            finding.status = "missing-info"
            finding.description = MESSAGES["unread_description"].format(what=what)
            finding.action = MESSAGES["unread_action"]


def _unread_text(unread: list[dict[str, str]]) -> str:
    named = [f"{item['path'] or item['input']} ({item['reason']})" for item in unread[:_SHOWN]]
    shown = "; ".join(named)
    if len(unread) > _SHOWN:
        return MESSAGES["unread_more"].format(shown=shown, more=len(unread) - _SHOWN)
    return shown
