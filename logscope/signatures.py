"""Signatures stage: the signature library (one TOML file per signature) evaluated over the frames.

A signature says what it needs (sources), where it applies (role, minimum version), how it matches
(declarative filters over `tls_failures` or `transactions`, or a named detector from
:mod:`logscope.detectors` where correlation needs code), and what to tell the user (jinja2 texts).
The engine, not the signature, decides `missing-info` and `not-applicable`, groups matched rows per
server, picks the evidence and renders the texts. Every signature ends in exactly one status.
"""

from __future__ import annotations

import io
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import numpy as np
import pandas as pd
from jinja2.sandbox import SandboxedEnvironment

from logscope.bundle import SOURCES
from logscope.correlate import LINK_SLACK, correlate
from logscope.detectors import DETECTORS, DetectorResult
from logscope.errors import SignatureError
from logscope.findings import SEVERITIES, STATUSES, Evidence, Finding, Server
from logscope.nodes import NodeSummary
from logscope.parse import parse_members
from logscope.resources import data_dir, templates_dir

FRAMES = ("tls_failures", "transactions")
MATCH_STATUSES = {"issue", "potential", "missing-info"}
TEXT_FIELDS = ("description", "condition", "further_information", "action", "workaround")
MAX_EVIDENCE_PER_SERVER = 6
WARNING_KINDS = ("tls_verify_failed", "sni_not_in_cert")
STEP_ROLES = {"receive_request": "request", "sending_request": "upstream", "sending_response": "response"}


# --- the frames a signature sees ---------------------------------------------------------------


@dataclass
class Context:
    events: pd.DataFrame
    transactions: pd.DataFrame
    tls_failures: pd.DataFrame
    nodes: list[NodeSummary] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)

    def available(self) -> set[str]:
        """Bundle sources plus what the log itself shows (traffic_server lines, transactions)."""
        present = set(self.sources)
        if not self.events.empty and (self.events["process"] == "traffic_server").any():
            present.add("traffic_server")
        if not self.transactions.empty:
            present.add("transactions")
        if "transactions" in present or (
            not self.events.empty and (self.events["kind"] == "connect_attempt_failed").any()
        ):
            present.add("requests")
        return present

    def frame(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @cached_property
    def step_lines(self) -> pd.DataFrame:
        """The request, upstream and response lines of every transaction (evidence for a finding)."""
        events = self.events
        if events.empty:
            return events
        steps = events["txn_id"].notna() & events["kind"].isin(list(STEP_ROLES))
        return events.loc[steps, ["node", "pid", "txn_id", "kind", "ts", "source", "line", "raw"]]

    @cached_property
    def steps_by_transaction(self) -> dict[tuple[str, int, int], Any]:
        """Positions in `step_lines` per (node, pid, txn_id), found once for all findings."""
        steps = self.step_lines
        if steps.empty:
            return {}
        return row_positions(
            [steps["node"].astype(str).to_numpy(), steps["pid"].to_numpy(), steps["txn_id"].to_numpy()]
        )

    @cached_property
    def ssl_errors(self) -> pd.DataFrame:
        failures = self.tls_failures
        return failures if failures.empty else failures[failures["kind"] == "ssl_connect_failed"]


# --- signature files ---------------------------------------------------------------------------


@dataclass
class Example:
    expect: str
    log: str
    name: str = ""
    version: str | None = None
    role: str | None = None


@dataclass
class Signature:
    id: str
    title: str
    category: str
    severity: str
    needs: tuple[str, ...]
    roles: tuple[str, ...]
    min_version: tuple[int, ...] | None
    frame: str
    where: list[dict[str, Any]]
    potential_when: dict[str, Any] | None
    detector: str | None
    unclaimed_only: bool
    texts: dict[str, str]
    related: list[str]
    documents: list[str]
    examples: list[Example]
    path: Path
    min_version_text: str | None = None


_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_VERSION = re.compile(r"X?(\d+(?:\.\d+)*)", re.I)


def parse_version(text: str | None) -> tuple[int, ...] | None:
    match = _VERSION.fullmatch((text or "").strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


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
            _compiled(template)
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
        claimed: set[int] = set()
        findings: dict[str, Finding] = {}
        ordered = sorted(self.signatures, key=lambda s: s.unclaimed_only)
        for signature in ordered:
            finding, rows = evaluate_signature(signature, context, claimed)
            if signature.frame == "tls_failures" and rows is not None:
                claimed.update(int(i) for i in rows.index)
            findings[signature.id] = finding
        order = {status: rank for rank, status in enumerate(STATUSES)}
        severity = {name: rank for rank, name in enumerate(SEVERITIES)}
        result = [findings[s.id] for s in self.signatures]
        return sorted(result, key=lambda f: (order[f.status], severity[f.severity]))


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


# --- evaluation --------------------------------------------------------------------------------

_TEMPLATES = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
)
_MESSAGES = tomllib.loads((templates_dir() / "messages.toml").read_text(encoding="utf-8"))
_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((data_dir("signatures") / "schema.json").read_text(encoding="utf-8"))
)


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
        finding.description = _missing_text(missing)
        finding.action = _MESSAGES["missing_info_action"]
        return finding, None
    result = _match(signature, context, claimed or set())
    not_applicable = _not_applicable_reason(signature, context.nodes)
    if result.rows.empty:
        finding.status = "not-applicable" if not_applicable else "ok"
        finding.description = not_applicable or _render(signature.texts["description"], finding, result)
        if finding.status == "ok":
            finding.description = _MESSAGES["ok_description"]
        return finding, result.rows
    if not_applicable:
        finding.notes.append(_MESSAGES["logged_anyway"].format(reason=not_applicable))
    finding.status = result.status or _status_of(signature, result.rows)
    finding.servers = group_servers(result.rows, signature.frame)
    finding.evidence = collect_evidence(result.rows, signature.frame, context)
    finding.count = len(result.rows)
    times = result.rows[_time_column(signature.frame)].dropna()
    finding.first_seen = times.min().to_pydatetime() if not times.empty else None
    finding.last_seen = times.max().to_pydatetime() if not times.empty else None
    finding.notes += result.notes + depth_disagreements(result.rows)
    for name in TEXT_FIELDS:
        setattr(finding, name, _render(signature.texts[name], finding, result).strip())
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
        return _MESSAGES["wrong_role"].format(
            roles=", ".join(sorted(set(known_roles))), wanted=", ".join(signature.roles)
        )
    versions = [(node.version, parse_version(node.version)) for node in nodes]
    known = [(text, parsed) for text, parsed in versions if parsed]
    if signature.min_version and known and all(parsed < signature.min_version for _, parsed in known):
        return _MESSAGES["old_version"].format(
            versions=", ".join(sorted({text for text, _ in known})), minimum=signature.min_version_text
        )
    return None


@lru_cache(maxsize=512)
def _compiled(template: str) -> jinja2.Template:
    return _TEMPLATES.from_string(template)


def _missing_text(missing: list[str]) -> str:
    hints = {spec.key: (spec.description, spec.collect_hint) for spec in SOURCES}
    hints.update({key: tuple(value) for key, value in _MESSAGES["pseudo_sources"].items()})
    parts = []
    for source in missing:
        description, hint = hints.get(source, (source, ""))
        parts.append(_MESSAGES["missing_source"].format(description=description, hint=hint).strip())
    return " ".join(parts)


UNRENDERED = "(text could not be rendered:"


def _render(template: str, finding: Finding, result: DetectorResult) -> str:
    names = [server.name for server in finding.servers]
    try:
        return _compiled(template).render(
            servers=finding.servers,
            names=", ".join(names),
            count=finding.count,
            first_seen=finding.first_seen,
            last_seen=finding.last_seen,
            facts=result.facts,
            notes=finding.notes,
        )
    except jinja2.TemplateError as exc:
        return f"{UNRENDERED} {exc})"


def depth_disagreements(rows: pd.DataFrame) -> list[str]:
    """Notes where the error text and the depth tell different stories (the text wins).

    Depth 0 means the server's own certificate; above 0, a CA in its chain. The vendor analyzer's own
    snippet shows `self signed certificate in certificate chain ... depth=0`.
    """
    if "verify_error" not in rows or "depth" not in rows:
        return []
    notes = []
    for _, row in rows.dropna(subset=["verify_error", "depth"]).iterrows():
        error, depth = normalize_text(row["verify_error"]), int(row["depth"])
        in_chain = error == "self signed certificate in certificate chain"
        if (in_chain and depth == 0) or (error == "self signed certificate" and depth > 0):
            name = row.get("server_name") or row.get("sni")
            notes.append(
                _MESSAGES["depth_disagrees"].format(error=row["verify_error"], depth=depth, server=name)
            )
    return list(dict.fromkeys(notes))


# --- declarative filters -----------------------------------------------------------------------


def normalize_text(value: Any) -> str:
    """Compare OpenSSL texts across versions: 1.1.1 `self signed`, 3.x `self-signed`; case-free."""
    return re.sub(r"\s+", " ", str(value).strip().lower().replace("self-signed", "self signed"))


def where_mask(frame: pd.DataFrame, alternatives: list[dict[str, Any]]) -> pd.Series:
    """Rows matching any of the alternatives; each alternative is column -> condition (all must hold).

    Conditions: a list of values (text compared by :func:`normalize_text`), or a table with one of
    `regex` (case-insensitive search), `min`/`max` (numbers), `missing` (true/false), `not` (a list).
    """
    mask = pd.Series(False, index=frame.index)
    for alternative in alternatives:
        part = pd.Series(True, index=frame.index)
        for column, condition in alternative.items():
            part &= _condition_mask(frame, column, condition)
        mask |= part
    return mask


def _condition_mask(frame: pd.DataFrame, column: str, condition: Any) -> pd.Series:
    if column not in frame:
        return pd.Series(False, index=frame.index)
    series = frame[column]
    if isinstance(condition, list):
        return _text_in(series, condition)
    if not isinstance(condition, dict):
        return _text_in(series, [condition])
    mask = pd.Series(True, index=frame.index)
    if "regex" in condition:
        pattern = re.compile(condition["regex"], re.IGNORECASE)
        found = series.astype("object").map(lambda v: False if pd.isna(v) else bool(pattern.search(str(v))))
        mask &= found.astype(bool)
    if "min" in condition:
        mask &= (pd.to_numeric(series, errors="coerce") >= condition["min"]).fillna(False).astype(bool)
    if "max" in condition:
        mask &= (pd.to_numeric(series, errors="coerce") <= condition["max"]).fillna(False).astype(bool)
    if "missing" in condition:
        mask &= series.isna() == bool(condition["missing"])
    if "not" in condition:
        mask &= ~_text_in(series, condition["not"])
    return mask


def _text_in(series: pd.Series, values: list) -> pd.Series:
    wanted = {normalize_text(value) for value in values}
    normalized = series.astype("object").map(lambda v: None if pd.isna(v) else normalize_text(v))
    return normalized.isin(wanted).astype(bool)


# --- servers and evidence ----------------------------------------------------------------------


def _time_column(frame: str) -> str:
    return "ts" if frame == "tls_failures" else "start"


def server_identity(rows: pd.DataFrame, frame: str) -> tuple[pd.Series, pd.Series]:
    """(name, ip) per row: how the logs name the server a row concerns."""
    if frame == "tls_failures":
        ip = _first_present(rows, ["server_ip", "upstream_ip"])
        name = _first_present(rows, ["server_name", "sni", "server_ip"])
    else:
        ip = _first_present(rows, ["upstream_ip"])
        name = _first_present(rows, ["route_host", "upstream_name", "upstream_ip"])
    return name.fillna("(unnamed)"), ip


def _first_present(rows: pd.DataFrame, columns: list[str]) -> pd.Series:
    result = pd.Series(pd.NA, index=rows.index, dtype="object")
    for column in columns:
        if column in rows:
            result = result.fillna(rows[column].astype("object").where(rows[column].notna()))
    return result


# The columns grouping and evidence read. Grouping is done with whole-column operations and the
# evidence rows are read in one pass: a hostile log can name thousands of servers, and a per-server
# slice of a frame costs about a millisecond.
SERVER_COLUMNS = (
    "node", "pid", "txn_id", "kind", "ts", "start", "source", "line", "raw",
    "server_name", "server_ip", "sni", "name_check", "verify_error", "ssl_reason", "depth",
    "upstream_ip", "upstream_name", "port", "upstream_port",
    "route_domain", "route_scheme", "route_host", "route_port",
)  # fmt: skip


def _narrow(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[[column for column in SERVER_COLUMNS if column in rows]].reset_index(drop=True)


def group_servers(rows: pd.DataFrame, frame: str) -> list[Server]:
    rows = _narrow(rows)
    if rows.empty:
        return []
    name, ip = server_identity(rows, frame)
    table = pd.DataFrame(
        {
            "name": name.astype(str),
            "ip": ip.astype("string"),
            "port": pd.to_numeric(_first_present(rows, ["port", "upstream_port", "route_port"])).astype(
                "Int64"
            ),
            "ts": rows[_time_column(frame)],
            "node": rows["node"].astype("string"),
            "route": _route_texts(rows),
            "detail": _detail_texts(rows, frame),
        }
    )
    grouped = table.groupby("name", sort=False)
    counts, first, last = grouped.size(), grouped["ts"].min(), grouped["ts"].max()
    values = {
        column: _distinct_per_name(table, column) for column in ("ip", "port", "node", "route", "detail")
    }
    servers = [
        Server(
            name=key,
            ip=", ".join(values["ip"].get(key, [])) or None,
            ports=sorted(int(port) for port in values["port"].get(key, [])),
            count=int(counts[key]),
            first_seen=None if pd.isna(first[key]) else first[key].to_pydatetime(),
            last_seen=None if pd.isna(last[key]) else last[key].to_pydatetime(),
            route=next(iter(values["route"].get(key, [])), None),
            nodes=sorted(values["node"].get(key, [])),
            detail="; ".join(values["detail"].get(key, [])[:3]) or None,
        )
        for key in counts.index
    ]
    return sorted(servers, key=lambda s: (-s.count, s.name))


def _distinct_per_name(table: pd.DataFrame, column: str) -> dict[str, list]:
    """The distinct values of `column` per server name, in order of first appearance."""
    present = table.loc[table[column].notna(), ["name", column]].drop_duplicates()
    return present.groupby("name", sort=False)[column].agg(list).to_dict()


def _route_texts(rows: pd.DataFrame) -> pd.Series:
    """domain/scheme/host/port of each row's decoded route; NA where the row has no route."""
    if "route_host" not in rows:
        return pd.Series(pd.NA, index=rows.index, dtype="string")
    parts = [
        rows[column].astype("string").fillna("") if column in rows else ""
        for column in ("route_domain", "route_scheme", "route_host", "route_port")
    ]
    text = parts[0] + "/" + parts[1] + "/" + parts[2] + "/" + parts[3]
    return text.where(rows["route_host"].notna())


def _detail_texts(rows: pd.DataFrame, frame: str) -> pd.Series:
    """What each failure says went wrong: the verify error, the SSL reason, or the name check."""
    none = pd.Series(pd.NA, index=rows.index, dtype="string")
    if frame != "tls_failures":
        return none

    def column(name: str) -> pd.Series:
        return rows[name].astype("string") if name in rows else none

    text = column("verify_error").fillna(column("ssl_reason"))
    name_check = column("name_check").fillna("SNI") + " (" + column("sni").fillna("") + ") not in certificate"
    text = text.where(text.notna() | (column("kind") != "sni_not_in_cert"), name_check)
    depth = column("depth")
    return text.where(depth.isna(), text + " (depth=" + depth + ")")


def row_positions(keys: Any) -> dict[Any, np.ndarray]:
    """Row positions per key (one array, or a list of arrays for a tuple key), in order of first
    appearance, found in one pass: a boolean mask per key would be quadratic."""
    size = len(keys[0]) if isinstance(keys, list) else len(keys)
    return pd.Series(range(size)).groupby(keys, sort=False).indices


def collect_evidence(rows: pd.DataFrame, frame: str, context: Context) -> list[Evidence]:
    """Per server, most recent first: the warning, its error, then the transaction it broke."""
    rows = _narrow(rows)
    if rows.empty:
        return []
    name, _ = server_identity(rows, frame)
    times = rows[_time_column(frame)].array.asi8  # NaT is the smallest: last when newest first
    newest_first = [
        where[np.argsort(-times[where], kind="stable")][: MAX_EVIDENCE_PER_SERVER + 1]
        for where in row_positions(name.to_numpy(dtype=object)).values()
    ]
    wanted = np.unique(np.concatenate(newest_first))
    records = dict(zip(wanted.tolist(), rows.iloc[wanted].to_dict("records"), strict=True))
    evidence: list[Evidence] = []
    for positions in newest_first:
        server_rows = [records[position] for position in positions.tolist()]
        latest = server_rows[0]
        picked: list[Evidence] = []
        if frame == "tls_failures":
            picked.append(_evidence_from(latest, "warning" if latest["kind"] in WARNING_KINDS else "error"))
            error = _paired_error(latest, context.ssl_errors)
            if error is not None:
                picked.append(_evidence_from(error, "error"))
        steps = _transaction_evidence(latest, context)
        if not steps and frame != "tls_failures" and pd.notna(latest.get("raw")):
            steps = [_evidence_from(latest, "log")]
        picked += steps
        for row in server_rows[1:]:
            if len(picked) >= MAX_EVIDENCE_PER_SERVER:
                break
            if pd.notna(row.get("raw")):
                picked.append(_evidence_from(row, "log"))
        evidence += _unique_evidence(picked)
    return evidence


def _evidence_from(row: Mapping[str, Any], role: str) -> Evidence:
    ts = row.get("ts")
    return Evidence(
        source=str(row.get("source")),
        line=int(row["line"]) if pd.notna(row.get("line")) else None,
        text=str(row.get("raw", "")),
        node=str(row.get("node")) if pd.notna(row.get("node")) else None,
        ts=ts.to_pydatetime() if pd.notna(ts) else None,
        role=role,
    )


def _paired_error(warning: Mapping[str, Any], errors: pd.DataFrame) -> pd.Series | None:
    """The `SSL connection failed` error written beside a certificate warning, if any."""
    if warning["kind"] not in WARNING_KINDS or errors.empty:
        return None
    names = {str(warning.get(c)) for c in ("server_name", "server_ip", "sni") if pd.notna(warning.get(c))}
    errors = errors[
        (errors["node"] == warning["node"])
        & (errors["server_name"].astype("string").isin(names))
        & ((errors["ts"] - warning["ts"]).abs() <= LINK_SLACK)
    ]
    if "pid" in errors and pd.notna(warning.get("pid")):
        errors = errors[errors["pid"] == warning["pid"]]
    return None if errors.empty else errors.iloc[0]


def _transaction_evidence(row: Mapping[str, Any], context: Context) -> list[Evidence]:
    txn_id, pid = row.get("txn_id"), row.get("pid")
    if pd.isna(txn_id) or pd.isna(pid):
        return []
    where = context.steps_by_transaction.get((str(row["node"]), pid, txn_id))
    if where is None:
        return []
    steps = context.step_lines.iloc[where]
    picked = []
    for kind, role in STEP_ROLES.items():
        step = steps[steps["kind"] == kind]
        if not step.empty:
            picked.append(_evidence_from(step.iloc[-1], role))
    return picked


def _unique_evidence(items: list[Evidence]) -> list[Evidence]:
    seen = set()
    unique = []
    for item in items:
        key = (item.source, item.line)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


# --- examples ----------------------------------------------------------------------------------


class _TextMember:
    """An in-memory log for running a signature's examples through the real stages."""

    source = "log"
    host = None

    def __init__(self, name: str, text: str) -> None:
        self._name, self._data = name, text.encode("utf-8")

    def display(self) -> str:
        return self._name

    def open(self) -> io.BytesIO:
        return io.BytesIO(self._data)


def run_example(library: Library, signature: Signature, example: Example) -> Finding:
    """Parse an example's log, correlate it, evaluate the whole library, return this signature's finding.

    The whole library runs because some signatures only take what no other signature claimed.
    """
    member = _TextMember(f"{signature.path.name}:example", example.log)
    parsed = parse_members([member])
    correlation = correlate(parsed.events)
    nodes = []
    if example.version or example.role:
        host = str(parsed.events["node"].dropna().iloc[0]) if not parsed.events.empty else "example"
        nodes = [NodeSummary(host=host, version=example.version or "unknown", role=example.role or "unknown")]
    context = Context(parsed.events, correlation.transactions, correlation.tls_failures, nodes, {"log"})
    findings = library.evaluate(context)
    return next(f for f in findings if f.id == signature.id)


def check_library(library: Library) -> list[str]:
    """Every example of every signature, run; the list of failures (empty when all pass)."""
    failures = [str(error) for error in library.errors]
    for signature in library.signatures:
        for number, example in enumerate(signature.examples, 1):
            finding = run_example(library, signature, example)
            label = example.name or f"example {number}"
            if finding.status != example.expect:
                failures.append(
                    f"{signature.path.name}: {label}: expected {example.expect}, got {finding.status}"
                )
            for name in ("description", "condition", "further_information", "action", "workaround"):
                text = getattr(finding, name, "") or ""
                if UNRENDERED in text:
                    failures.append(
                        f"{signature.path.name}: {label}: text.{name}: {text[text.index(UNRENDERED) :]}"
                    )
    return failures
