"""The metamorphic property of issue 11: a log re-rendered in any dialect of log-lines.md section 7
gives the same findings as the pristine log.

Inputs: every sample_logs scenario (its loggingsnapshot, or ATS diags.log, re-rendered inside its
bundle; xstat and xconf stay) and every signature example. Property: the set of (signature id,
status) and the servers each finding names are those of the pristine input, except for the closed
ALLOWANCES table below. Dialects the parser does not read yet are xfail(strict=True) in
NOT_READ_YET: when the grammar learns one, its test passes and the mark must go.

Bounded: derandomized, a few drawn random sources per dialect, no shrinking; each dialect runs one
example of every signature and two scenarios (both assigned round-robin, so every example and every
scenario is covered by some dialect, and every dialect meets every signature), then EXAMPLE_DRAWS
more draws over the signature examples (cheap: a few lines each; a scenario costs ~80 of them).
"""

from __future__ import annotations

import io
import random
import tarfile
import tomllib
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import logscope
from conftest import SAMPLE_LOGS, TextMember, tar_bytes
from dialects import DIALECTS, Drawn, chain, dialect, mask_text, masking_plan, render
from logscope.correlate import correlate
from logscope.nodes import NodeSummary
from logscope.parse import parse_members
from logscope.signatures import Context, load_library

# What a dialect may change, and nothing else (issue 11, "Contracts and details").
ALLOWANCES = {
    "no_time": "times unknown; correlation by file order within (node, pid): nothing compared here differs",
    "masked_values": "a masked address: the server is named by its host (compared by name, without address)",
    "no_envelope": 'node "unknown": servers are compared without their nodes',
}
# Dialects whose findings differ from the pristine ones today (issue 11).
NOT_READ_YET: set[str] = set()

LIBRARY = load_library()
EXAMPLES = [(signature, example) for signature in LIBRARY.signatures for example in signature.examples]
MANIFEST = tomllib.loads((SAMPLE_LOGS / "scenarios.toml").read_text(encoding="utf-8"))
SCENARIOS = sorted(scenario["name"] for scenario in MANIFEST["scenario"])
PATHS = {scenario["name"]: SAMPLE_LOGS / scenario["path"] for scenario in MANIFEST["scenario"]}
LOG_MEMBERS = ("loggingsnapshot_", "diags.log")
SETTINGS = settings(
    max_examples=1,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


# Scenarios added after the round-robin was fixed: each goes to one more dialect, in table order, so
# adding a sample never moves the first-wave scenarios to other dialects (and their xfail marks).
LATER_SCENARIOS = (
    "node-certificates",
    "own-cert-expired",
    "own-cert-no-client-eku",
    "edge-cert-missing-mra-domain",
    "own-cert-weak",
    "trust-store-hygiene",
    "cluster-trust-stores-differ",
    # (a bundle whose traffic server wrote only bare 403 responses is re-rendered without envelope
    # by test_a_traffic_server_known_only_by_its_error_responses_keeps_its_checks_without_envelope)
    "traversal-auth-failed-pair",
    "traversal-untrusted-pair",
    "ssh-tunnel-down-pair",
    "traversal-e-only",
    "traversal-path-disconnect-pair",
    "traversal-healthy-pair",
)


def assigned_scenarios(name: str) -> list[str]:
    """Two scenarios per dialect, round-robin over the table, so all are covered by some dialect."""
    index = list(DIALECTS).index(name)
    first = [scenario for scenario in SCENARIOS if scenario not in LATER_SCENARIOS]
    later = [s for i, s in enumerate(LATER_SCENARIOS) if i % len(DIALECTS) == index and s in SCENARIOS]
    return [first[index % len(first)], first[(index + len(first) // 2) % len(first)], *later]


def assigned_examples(turn: int) -> list[int]:
    """One example of every signature per dialect (indexes into EXAMPLES), turning with the dialect,
    so every dialect meets every signature and every example is met by some dialect."""
    by_signature: dict[str, list[int]] = {}
    for index, (signature, _) in enumerate(EXAMPLES):
        by_signature.setdefault(signature.id, []).append(index)
    return [indexes[turn % len(indexes)] for indexes in by_signature.values()]


def split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


# --- inputs ----------------------------------------------------------------------------------------


def bundle_files(name: str) -> list[Path]:
    path = PATHS[name]
    return sorted(path.glob("*.tar.gz")) if path.is_dir() else [path]


@cache
def bundle_members(path: Path) -> tuple[tuple[str, bytes], ...]:
    with tarfile.open(path) as archive:
        return tuple((m.name, archive.extractfile(m).read()) for m in archive.getmembers() if m.isfile())


def rerendered_bundle(path: Path, drawn: Drawn | None) -> bytes:
    """The bundle with its log member's lines passed through the dialects (none: re-packed as is)."""
    members = {}
    for name, data in bundle_members(path):
        if Path(name).name.startswith(LOG_MEMBERS):
            lines = split_lines(data.decode("utf-8"))
            data = render(drawn.apply(lines) if drawn else lines)
        members[name] = data
    return tar_bytes(members)


def scenario_report(name: str, drawn: Drawn | None) -> logscope.Report:
    bundles = [rerendered_bundle(path, drawn) for path in bundle_files(name)]
    return logscope.analyze(bundles if len(bundles) > 1 else bundles[0])


@cache
def pristine_scenario(name: str) -> logscope.Report:
    return scenario_report(name, None)


def example_findings(signature, example, drawn: Drawn | None) -> list:
    """The whole library's findings over an example's log (see logscope.signatures.run_example)."""
    lines = split_lines(example.log.lstrip("\n"))
    member = TextMember(render(drawn.apply(lines) if drawn else lines), name=f"{signature.id}:example")
    parsed = parse_members([member])
    nodes = []
    if example.version or example.role:
        host = (
            str(parsed.events["node"].dropna().iloc[0]) if parsed.events["node"].notna().any() else "example"
        )
        nodes = [NodeSummary(host=host, version=example.version or "unknown", role=example.role or "unknown")]
    correlation = correlate(parsed.events)
    context = Context(
        parsed.events, correlation.transactions, correlation.tls_failures, nodes, {"log"}, texts=parsed.texts
    )
    return LIBRARY.evaluate(context)


@cache
def pristine_example(index: int) -> list:
    signature, example = EXAMPLES[index]
    return example_findings(signature, example, None)


# --- the property ----------------------------------------------------------------------------------


def outcome(findings: list, names: set[str], plan: dict[str, str] | None) -> tuple[frozenset, dict]:
    """(signature id, status) pairs and, per finding, the servers it names, under the allowances."""

    def server(s) -> tuple:
        name, ip, nodes = s.name, s.ip, tuple(sorted(s.nodes))
        if "masked_values" in names:
            name, ip = mask_text(name, plan or {}), None
        if "no_envelope" in names:
            nodes = ()
        return (name, ip, tuple(sorted(s.ports)), nodes)

    statuses = frozenset((f.id, f.status) for f in findings)
    servers = {f.id: sorted(server(s) for s in f.servers) for f in findings if f.servers}
    return statuses, servers


def plan_for(drawn: Drawn, lines: list[str]) -> dict[str, str] | None:
    seed = dict(drawn.steps).get("masked_values")
    return None if seed is None else masking_plan(lines, random.Random(seed))


def assert_same_findings(label: str, pristine: list, dialected: list, drawn: Drawn, lines: list[str]) -> None:
    plan = plan_for(drawn, lines)
    expected = outcome(pristine, set(), None)
    if plan is not None:
        expected = (expected[0], outcome(pristine, drawn.names, plan)[1])
    if "no_envelope" in drawn.names:
        expected = (
            expected[0],
            outcome(pristine, {"no_envelope"} | (drawn.names & {"masked_values"}), plan)[1],
        )
    got = outcome(dialected, drawn.names, plan)
    assert got[0] == expected[0], f"{label} {drawn}: statuses differ: {sorted(got[0] ^ expected[0])}"
    assert got[1] == expected[1], f"{label} {drawn}: servers differ"


def check_examples(drawn: Drawn, indexes: list[int]) -> None:
    for index in indexes:
        signature, example = EXAMPLES[index]
        dialected = example_findings(signature, example, drawn)
        lines = split_lines(example.log.lstrip("\n"))
        assert_same_findings(
            f"{signature.id}: {example.name}:", pristine_example(index), dialected, drawn, lines
        )


def check_scenario(name: str, drawn: Drawn) -> None:
    pristine = pristine_scenario(name)
    dialected = scenario_report(name, drawn)
    lines = [
        line
        for path in bundle_files(name)
        for member, data in bundle_members(path)
        if Path(member).name.startswith(LOG_MEMBERS)
        for line in split_lines(data.decode("utf-8"))
    ]
    assert_same_findings(f"{name}:", pristine.findings, dialected.findings, drawn, lines)


def _marks(name: str) -> list:
    if name in NOT_READ_YET:
        return [pytest.mark.xfail(strict=True, reason="dialect not read yet: issue 11")]
    return []


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n), id=n) for n in DIALECTS])
def test_dialect_gives_the_pristine_findings(name):
    @SETTINGS
    @given(dialect(name))
    def check(drawn: Drawn) -> None:
        check_examples(drawn, assigned_examples(list(DIALECTS).index(name)))
        for scenario in assigned_scenarios(name):
            check_scenario(scenario, drawn)

    check()


# More drawn random sources per dialect over the signature examples (a whole analysis of a few lines
# each, ~0.07 s): with the dialect tests above and the combinations below, a CI run re-renders
# 19 dialects x (1 + EXAMPLE_DRAWS) x 25 signatures (less KNOWN_GAPS) + 51 scenarios
# + COMBINED_DRAWS x 26 + 1 logs (issue 11: "thousands of generated cases in CI, bounded time").
# Three draws and three combinations re-render about 2,000 logs (this file: 225 s on a quiet machine;
# one draw of each, 1,020 logs, took about as long as the 553 of the stop before).
EXAMPLE_DRAWS = 3
COMBINED_DRAWS = 3
# Differences the extra draws found that the reader does not handle yet (issue 11): (dialect,
# signature id) -> an example and seed that show it, and what differs. That signature's examples are
# left out of that dialect's extra draws (a closed table, nothing else); test_known_gaps_still_differ
# pins each (strict xfail: when the reader learns it, that test passes and its row must go).
KNOWN_GAPS: dict[tuple[str, str], tuple[str, int, str]] = {
    ("wrapped", "trust-store-hygiene"): (
        "a log-only bundle says which file to collect",
        308675,
        "a line wrapped inside its envelope's date: the node is lost (servers named without it)",
    ),
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n), id=n) for n in DIALECTS])
def test_dialect_gives_the_pristine_findings_over_more_drawn_examples(name):
    """Each draw re-renders one example of every signature, chosen by its seed (so draws meet
    other examples than the dialect's turn above)."""

    @settings(SETTINGS, max_examples=EXAMPLE_DRAWS)
    @given(dialect(name))
    def check(drawn: Drawn) -> None:
        indexes = assigned_examples(drawn.steps[0][1])
        check_examples(drawn, [i for i in indexes if (name, EXAMPLES[i][0].id) not in KNOWN_GAPS])

    check()


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="a dialect not read yet: issue 11")
@pytest.mark.parametrize("gap", list(KNOWN_GAPS), ids=["-".join(gap) for gap in KNOWN_GAPS])
def test_known_gaps_still_differ(gap):
    name, signature_id = gap
    example_name, seed, _ = KNOWN_GAPS[gap]
    index = next(i for i, (s, e) in enumerate(EXAMPLES) if s.id == signature_id and e.name == example_name)
    check_examples(Drawn(((name, seed),)), [index])


@SETTINGS
@given(dialect("no_envelope"))
def test_a_traffic_server_known_only_by_its_error_responses_keeps_its_checks_without_envelope(drawn):
    """The -E's traffic server wrote only `Event="Sending HTTP error response"` bodies: without an
    envelope they are still its own, so the ts-* checks stay ok (not missing-info)."""
    check_scenario("traversal-e-only", drawn)


def test_every_scenario_is_rerendered_by_some_dialect():
    covered = {scenario for name in DIALECTS for scenario in assigned_scenarios(name)}
    assert covered == set(SCENARIOS)


def test_every_example_is_rerendered_by_some_dialect_and_every_dialect_meets_every_signature():
    turns = [assigned_examples(turn) for turn in range(len(DIALECTS))]
    assert {index for indexes in turns for index in indexes} == set(range(len(EXAMPLES)))
    signatures = {signature.id for signature, _ in EXAMPLES}
    assert all({EXAMPLES[index][0].id for index in indexes} == signatures for indexes in turns)


def test_rerendering_without_a_dialect_changes_no_finding():
    """The harness itself: re-packing a bundle and splitting an example into lines loses nothing."""
    name = "x14.2-ecdsa-self-signed-6972"
    direct = logscope.analyze(PATHS[name])
    assert outcome(pristine_scenario(name).findings, set(), None) == outcome(direct.findings, set(), None)
    assert any(f.status == "issue" for f in direct.findings)


def test_allowances_are_the_closed_table_of_the_issue():
    assert set(ALLOWANCES) == {"no_time", "masked_values", "no_envelope"} and set(ALLOWANCES) <= set(DIALECTS)


READ = frozenset(DIALECTS) - NOT_READ_YET


@pytest.mark.skipif(not READ, reason="no dialect is read yet")
@settings(SETTINGS, max_examples=COMBINED_DRAWS)
@given(chain(READ))
def test_dialects_read_today_combine(drawn):
    turn = sum(seed for _, seed in drawn.steps)
    check_examples(drawn, assigned_examples(turn))
    check_scenario(SCENARIOS[turn % len(SCENARIOS)], drawn)


def test_example_logs_rerender_without_loss():
    signature, example = EXAMPLES[0]
    same = example_findings(signature, replace(example, log=example.log), None)
    assert outcome(same, set(), None) == outcome(pristine_example(0), set(), None)
    assert io.BytesIO(render(["a", "b"])).read() == b"a\nb"
