"""The signature library: loading and validating the TOML files, and running them all over a context."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2
import jsonschema

from logscope.errors import SignatureError
from logscope.findings import SEVERITIES, STATUSES, Finding
from logscope.resources import data_dir
from logscope.signatures.context import Context
from logscope.signatures.detectors import DETECTORS
from logscope.signatures.evaluate import check_template, evaluate_signature
from logscope.signatures.failures import CheckError, failed_finding, leave_open
from logscope.signatures.safety import flag_unrecognised
from logscope.signatures.signature import TEXT_FIELDS, Example, Signature, parse_version

MATCH_STATUSES = {"issue", "potential", "missing-info"}
_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((data_dir("signatures") / "schema.json").read_text(encoding="utf-8"))
)


def load_signature(path: Path) -> Signature:
    """Read and validate one signature file; raise SignatureError naming the file and the problem."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise SignatureError(f"{path.name}: cannot read: {exc}") from None
    return _load_signature(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1024)
def _load_signature(path: Path, _mtime_ns: int, _size: int) -> Signature:
    """Cached by path, modification time and size: a batch loads each file once per process."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SignatureError(f"{path.name}: cannot read: {exc}") from None
    problems = list(_schema_problems(data))
    if problems:
        raise SignatureError(f"{path.name}: {'; '.join(problems)}")
    match = data["match"]
    where = match.get("where", [{}])
    applies = data.get("applies", {})
    signature = Signature(
        id=data["id"],
        title=data["title"],
        category=data["category"],
        severity=data["severity"],
        needs=tuple(data.get("needs", ["log"])),
        roles=tuple(applies.get("roles", [])),
        min_version=parse_version(applies.get("min_version")),
        min_version_text=applies.get("min_version"),
        frame=match["frame"],
        where=[where] if isinstance(where, dict) else list(where),
        potential_when=match.get("potential_when"),
        detector=match.get("detector"),
        unclaimed_only=bool(match.get("unclaimed_only", False)),
        texts={name: data["text"].get(name, "") for name in TEXT_FIELDS},
        related=list(data.get("related", [])),
        documents=list(data.get("documents", [])),
        examples=[Example(**example) for example in data["examples"]],
        path=path,
    )
    for name, template in signature.texts.items():
        try:
            check_template(template)
        except jinja2.TemplateSyntaxError as exc:
            raise SignatureError(f"{path.name}: text.{name}: template error: {exc}") from None
    return signature


def _schema_problems(data: dict) -> Iterable[str]:
    """What is wrong with a signature file: signatures/schema.json, then what a schema cannot say."""
    for error in sorted(_SCHEMA.iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(part) for part in error.absolute_path) or "file"
        yield f"{where}: {error.message}"
    match = data.get("match")
    if isinstance(match, dict) and match.get("detector") and match["detector"] not in DETECTORS:
        yield f"unknown detector {match['detector']!r} (known: {', '.join(sorted(DETECTORS))})"
    examples = data.get("examples")
    if isinstance(examples, list):
        expects = {example.get("expect") for example in examples if isinstance(example, dict)}
        if not (expects & MATCH_STATUSES and "ok" in expects):
            yield "examples need a log that must match (issue, potential, missing-info) and an ok one"


@dataclass
class Library:
    signatures: list[Signature]
    errors: list[SignatureError] = field(default_factory=list)

    def get(self, signature_id: str) -> Signature | None:
        return next((s for s in self.signatures if s.id == signature_id), None)

    def evaluate(self, context: Context) -> list[Finding]:
        """Run every signature; signatures that only take unclaimed rows run last."""
        return self.evaluate_all(context)[0]

    def evaluate_all(
        self, context: Context, unread: Sequence[dict[str, str]] = ()
    ) -> tuple[list[Finding], list[CheckError]]:
        """Every signature's finding, and the checks that raised (design.md layers (c) and (d)).

        A signature whose evaluation raises becomes `missing-info` and its error is returned; the
        others stand. With `unread` input, no check is left at `ok` or `not-applicable`.
        """
        claimed: set[int] = set()
        findings: dict[str, Finding] = {}
        errors: list[CheckError] = []
        ordered = sorted(self.signatures, key=lambda s: s.unclaimed_only)
        for signature in ordered:
            try:
                finding, rows = evaluate_signature(signature, context, claimed)
            except Exception as error:  # one failing check costs that check, not the report
                errors.append(CheckError.of(signature.id, error))
                finding, rows = failed_finding(signature), None
            if signature.frame == "tls_failures" and rows is not None:
                claimed.update(int(i) for i in rows.index)
            findings[signature.id] = finding
        result = [findings[s.id] for s in self.signatures]
        flag_unrecognised(result, self.signatures, context.unrecognised_tls_lines)
        leave_open(result, list(unread))
        return sort_findings(result), errors


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most urgent first: by status, then by severity."""
    order = {status: rank for rank, status in enumerate(STATUSES)}
    severity = {name: rank for rank, name in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order[f.status], severity[f.severity]))


def load_library(extra_dirs: Iterable[str | os.PathLike] = ()) -> Library:
    """The built-in signatures, then each extra pack; a later file overrides an earlier one by id.

    A broken file is recorded in `errors` and skipped; it never stops the others.
    """
    by_id: dict[str, Signature] = {}
    errors: list[SignatureError] = []
    for folder in (data_dir("signatures"), *map(Path, extra_dirs)):
        if not folder.is_dir():
            errors.append(SignatureError(f"{folder}: not a folder of signatures"))
            continue
        seen_here: set[str] = set()
        for path in sorted(folder.glob("*.toml")):
            try:
                signature = load_signature(path)
            except SignatureError as exc:
                errors.append(exc)
                continue
            if signature.id in seen_here:
                errors.append(SignatureError(f"{path.name}: duplicate id {signature.id!r} in {folder}"))
                continue
            seen_here.add(signature.id)
            by_id[signature.id] = signature
    return Library(list(by_id.values()), errors)
