"""The safety net's verdict (design.md layer (a)): lines that speak of a certificate or TLS failure
that no rule read keep the checks they could concern open.

`ts-cert-unrecognised-lines` says `missing-info` with those lines as its evidence; every other check
of the lines' family (grammars/tls_failure_phrases.toml) that would say `ok` or `not-applicable` says
`missing-info` too; `issue` and `potential` stand. Changes the findings in place.
"""

from __future__ import annotations

from collections.abc import Sequence

from logscope.findings import Evidence, Finding
from logscope.lines.phrases import concerns
from logscope.signatures.evaluate import MESSAGES, compiled_template
from logscope.signatures.failures import UNDECIDED
from logscope.signatures.signature import TEXT_FIELDS, Signature

SIGNATURE_ID = "ts-cert-unrecognised-lines"
EVIDENCE_SHOWN = 20  # listed lines a finding carries; the report lists up to 100


def flag_unrecognised(
    findings: Sequence[Finding], signatures: Sequence[Signature], lines: Sequence[dict]
) -> None:
    """Turn the checks unread certificate-failure lines could concern to `missing-info`."""
    if not lines:
        return
    texts = {s.id: s.texts for s in signatures}
    for finding in findings:
        if finding.id == SIGNATURE_ID:
            _fill(finding, texts.get(SIGNATURE_ID, {}), lines)
            continue
        concerned = [line for line in lines if concerns(finding.id, line["family"])]
        if finding.status in UNDECIDED and concerned:
            finding.status = "missing-info"
            finding.description = MESSAGES["unrecognised_description"].format(count=len(concerned))
            finding.action = MESSAGES["unrecognised_action"]
            finding.evidence = _evidence(concerned[:EVIDENCE_SHOWN])


def _fill(finding: Finding, texts: dict[str, str], lines: Sequence[dict]) -> None:
    finding.status = "missing-info"
    finding.count = len(lines)
    finding.evidence = _evidence(lines[:EVIDENCE_SHOWN])
    for name in TEXT_FIELDS:
        template = texts.get(name, "")
        text = compiled_template(template).render(count=len(lines), lines=lines[:EVIDENCE_SHOWN])
        setattr(finding, name, text.strip())


def _evidence(lines: Sequence[dict]) -> list[Evidence]:
    return [Evidence(source=line["file"], line=line["line"], text=line["text"]) for line in lines]
