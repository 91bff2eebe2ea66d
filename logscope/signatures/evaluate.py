"""The engine: one signature and a context to one finding, with its status and rendered texts.

The engine, not the signature, decides `missing-info` and `not-applicable`, groups matched rows per
server (:mod:`logscope.signatures.evidence`), and renders the texts in a sandboxed jinja2.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import lru_cache

import jinja2
import pandas as pd
from jinja2 import nodes as template_nodes
from jinja2.sandbox import SandboxedEnvironment

from logscope.bundle import SOURCES
from logscope.findings import Finding
from logscope.nodes import NodeSummary
from logscope.resources import templates_dir
from logscope.signatures.bundle_facts import bundle_facts
from logscope.signatures.context import Context
from logscope.signatures.detectors import DETECTORS, DetectorResult
from logscope.signatures.evidence import servers_and_evidence, time_column
from logscope.signatures.matching import map_distinct, normalize_text, where_mask
from logscope.signatures.node_evidence import group_nodes, is_node_frame, node_evidence, node_times
from logscope.signatures.signature import TEXT_FIELDS, Signature, parse_version

_TEMPLATES = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
)
MESSAGES = tomllib.loads((templates_dir() / "messages.toml").read_text(encoding="utf-8"))


def evaluate_signature(
    signature: Signature, context: Context, claimed: set[int] | None = None
) -> tuple[Finding, pd.DataFrame | None]:
    """One signature -> one Finding (and the rows it matched, for claim tracking)."""
    finding = Finding(
        id=signature.id,
        title=signature.title,
        status="ok",
        severity=signature.severity,
        category=signature.category,
        related=list(signature.related),
        documents=list(signature.documents),
    )
    missing = [source for source in signature.needs if source not in context.available()]
    if missing:
        finding.status = "missing-info"
        finding.description = _missing_text(missing, context.xml_only)
        finding.action = MESSAGES["missing_info_action"]
        return finding, None
    result = _match(signature, context, claimed or set())
    not_applicable = _not_applicable_reason(signature, context.nodes)
    undecided = result.missing + _unknown_node_facts(signature, context.nodes)
    if result.rows.empty and undecided:
        finding.status = "missing-info"
        finding.description = MESSAGES["undecided"].format(what="; ".join(undecided))
        finding.action = MESSAGES["missing_info_action"]
        return finding, result.rows
    if result.rows.empty:
        finding.status = "not-applicable" if not_applicable else "ok"
        ok_text = MESSAGES["ok_description_files" if reads_node_files(signature) else "ok_description"]
        finding.description = not_applicable or ok_text
        return finding, result.rows
    if not_applicable:
        finding.notes.append(MESSAGES["logged_anyway"].format(reason=not_applicable))
    finding.status = result.status or _status_of(signature, result.rows)
    if is_node_frame(signature.frame):
        finding.servers = group_nodes(result.rows, signature.frame)
        finding.evidence = node_evidence(result.rows, signature.frame)
        times = node_times(result.rows, signature.frame).dropna()
    else:
        finding.servers, finding.evidence = servers_and_evidence(result.rows, signature.frame, context)
        times = result.rows[time_column(signature.frame)].dropna()
    finding.evidence += result.evidence
    finding.failing_nodes = list(result.nodes)
    finding.count = len(result.rows)
    finding.first_seen = times.min().to_pydatetime() if not times.empty else None
    finding.last_seen = times.max().to_pydatetime() if not times.empty else None
    finding.notes += result.notes + depth_disagreements(result.rows)
    if result.missing:
        finding.notes.append(MESSAGES["undecided"].format(what="; ".join(result.missing)))
    bundle = bundle_facts(context, finding.servers)
    for name in TEXT_FIELDS:
        try:
            text = _render(signature.texts[name], finding, result, bundle)
        except jinja2.TemplateError as exc:
            raise TemplateFailure(f"text.{name}: {UNRENDERED} {exc})") from exc
        setattr(finding, name, text.strip())
    return finding, result.rows


def _match(signature: Signature, context: Context, claimed: set[int]) -> DetectorResult:
    frame = context.frame(signature.frame)
    rows = frame[where_mask(frame, signature.where)] if not frame.empty else frame
    if signature.unclaimed_only:
        rows = rows[~rows.index.isin(list(claimed))]
    if signature.detector:
        return DETECTORS[signature.detector](context, rows)
    return DetectorResult(rows)


def _status_of(signature: Signature, rows: pd.DataFrame) -> str:
    if signature.potential_when and where_mask(rows, [signature.potential_when]).all():
        return "potential"
    return "issue"


def _not_applicable_reason(signature: Signature, nodes: Sequence[NodeSummary]) -> str | None:
    known_roles = [node.role for node in nodes if node.role != "unknown"]
    if signature.roles and known_roles and not set(known_roles) & set(signature.roles):
        return MESSAGES["wrong_role"].format(
            roles=", ".join(sorted(set(known_roles))), wanted=", ".join(signature.roles)
        )
    versions = [(node.version, parse_version(node.version)) for node in nodes]
    known = [(text, parsed) for text, parsed in versions if parsed]
    if signature.min_version and known and all(parsed < signature.min_version for _, parsed in known):
        message = "old_version_node" if is_node_frame(signature.frame) else "old_version"
        return MESSAGES[message].format(
            versions=", ".join(sorted({text for text, _ in known})), minimum=signature.min_version_text
        )
    return None


@lru_cache(maxsize=512)
def compiled_template(template: str) -> jinja2.Template:
    return _TEMPLATES.from_string(template)


def check_template(template: str) -> None:
    """Raise jinja2.TemplateSyntaxError where `template` would not compile: its syntax, or a filter
    or test it names that the environment lacks (the errors compiling finds). Loading the library
    checks every text this way and compiles none: an analysis renders the texts of its findings
    only (29 of 106 on a sample), and compiling the others cost ~70 ms of each run."""
    tree = _TEMPLATES.parse(template)
    for node in tree.find_all((template_nodes.Filter, template_nodes.Test)):
        is_filter = isinstance(node, template_nodes.Filter)
        if node.name not in (_TEMPLATES.filters if is_filter else _TEMPLATES.tests):
            kind = "filter" if is_filter else "test"
            raise jinja2.TemplateAssertionError(f"No {kind} named {node.name!r}.", node.lineno)


def _unknown_node_facts(signature: Signature, nodes: Sequence[NodeSummary]) -> list[str]:
    """For a check that reads the node's own files: the nodes whose role or version it needs and the
    bundle does not say. Unknown then means undecided (missing-info), not "does not apply"; the
    first-wave log checks keep treating an unknown role or version as no restriction."""
    if not reads_node_files(signature):
        return []
    unknown = []
    for node in nodes:
        if signature.roles and node.role == "unknown":
            unknown.append(MESSAGES["unknown_role"].format(node=node.host))
        if signature.min_version and not parse_version(node.version):
            unknown.append(MESSAGES["unknown_version"].format(node=node.host))
    return unknown


def reads_node_files(signature: Signature) -> bool:
    """Whether a signature decides from the node's own files (PEM, xconf, xstat): second-wave checks."""
    return is_node_frame(signature.frame) or bool(set(signature.needs) & NODE_SOURCES)


NODE_SOURCES = {"xconf", "xstat", "server_pem", "ca_pem"}


def _missing_text(missing: list[str], xml_only: set[str] | frozenset[str] = frozenset()) -> str:
    hints = {spec.key: (spec.description, spec.collect_hint) for spec in SOURCES}
    hints.update({key: tuple(value) for key, value in MESSAGES["pseudo_sources"].items()})
    parts = []
    for source in missing:
        description, hint = hints.get(source, (source, ""))
        template = MESSAGES["xml_only_source"] if source in xml_only else MESSAGES["missing_source"]
        parts.append(template.format(description=description, hint=hint).strip())
    return " ".join(parts)


UNRENDERED = "(text could not be rendered:"


class TemplateFailure(Exception):
    """A signature's text could not be rendered for this finding (the finding becomes missing-info)."""


def _render(template: str, finding: Finding, result: DetectorResult, bundle: dict | None = None) -> str:
    names = [server.name for server in finding.servers]
    return compiled_template(template).render(
        bundle=bundle or {},
        servers=finding.servers,
        names=", ".join(names),
        count=finding.count,
        first_seen=finding.first_seen,
        last_seen=finding.last_seen,
        facts=result.facts,
        notes=finding.notes,
        status=finding.status,
        potential=MESSAGES["potential_continue"],
    )


def depth_disagreements(rows: pd.DataFrame) -> list[str]:
    """Notes where the error text and the depth tell different stories (the text wins).

    Depth 0 means the server's own certificate; above 0, a CA in its chain. The vendor analyzer's own
    snippet shows `self signed certificate in certificate chain ... depth=0`. Column-wise, so a
    missing name or depth (a cut line) is NA in a comparison, never in a boolean context.
    """
    if "verify_error" not in rows or "depth" not in rows:
        return []
    present = (rows["verify_error"].notna() & rows["depth"].notna()).to_numpy(dtype=bool)
    if not present.any():
        return []
    known = rows.loc[present, [c for c in ("verify_error", "depth", "server_name", "sni") if c in rows]]
    error = pd.Series(map_distinct(known["verify_error"], normalize_text), index=known.index)
    depth = known["depth"].astype("Int64")
    in_chain = error == "self signed certificate in certificate chain"
    disagree = (in_chain & (depth == 0)) | ((error == "self signed certificate") & (depth > 0))
    disagree = disagree.fillna(False).astype(bool)
    if not disagree.any():
        return []
    name = _text_column(known[disagree], "server_name").fillna(_text_column(known[disagree], "sni"))
    notes = [
        MESSAGES["depth_disagrees"].format(
            error=text,
            depth=int(level),
            server=server if isinstance(server, str) else MESSAGES["unnamed_server"],
        )
        for text, level, server in zip(
            known.loc[disagree, "verify_error"], depth[disagree], name.astype(object), strict=True
        )
    ]
    return list(dict.fromkeys(notes))


def _text_column(rows: pd.DataFrame, column: str) -> pd.Series:
    """A text column with empty strings as NA (a missing column is all NA)."""
    if column not in rows:
        return pd.Series(pd.NA, index=rows.index, dtype="string")
    values = rows[column].astype("string")
    return values.mask(values == "")
