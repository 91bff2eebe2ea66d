"""The dialect transformations (tests/dialects.py): one per bullet of log-lines.md section 7, each
rendering the shape the bullet describes."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings

from conftest import ROOT
from dialects import DIALECTS, ENVELOPE, Drawn, chain, dialect, mask_text, masking_plan, render

PRISTINE = [
    '2022-07-11T18:55:26.000+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,000" Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" Src-ip="127.0.0.1" Src-port="35766" Last-via-addr="" Msg="GET http://vcs_control.example.com:8443/ZXhhbXBsZS5jb20vaHR0cHMvY3VjbS5leGFtcGxlLmNvbS82OTcy/CSFemusk.cnf.xml HTTP/1.1"',
    '2022-07-11T18:55:26.006+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,006" Module="network.http.trafficserver" Level="DEBUG": Detail="Sending Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" Dst-ip="10.48.36.215" Dst-port="6972" HTTPMSG:',
    "|GET /CSFemusk.cnf.xml HTTP/1.1",
    " Host: cucm.example.com:6972",
    "|",
    "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: Core server certificate verification failed for (cucm.example.com). Action=Terminate Error=self signed certificate server=cucm.example.com(10.48.36.215) depth=0",
    "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] ERROR: SSL connection failed for 'cucm.example.com': error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed",
    '2022-07-11T18:55:26.024+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,024" Module="network.http.trafficserver" Level="INFO": Detail="Sending Response" Txn-id="191" TrackingID="" Dst-ip="127.0.0.1" Dst-port="35766" Msg="HTTP/1.1 502 connect failed"',
    '2022-07-11T18:55:27.100+02:00 vcsc tvcs: Event="Outbound TLS Negotiation Error" Service="SIP" Src-ip="192.0.2.10" Src-port="25001" Dst-ip="198.51.100.20" Dst-port="7001" Detail="Peer\'s TLS certificate identity was unacceptable" Protocol="TLS" Level="1" UTCTime="2022-07-11 16:55:27,100"',
]
EVENTS = [line for line in PRISTINE if ENVELOPE.fullmatch(line)]
SHAPE = settings(max_examples=15, derandomize=True, deadline=None)


def reference_section7() -> str | None:
    """Section 7 of shared/reference/log-lines.md, from the `shared/` folder beside the repository
    (CI puts it there; a worktree finds it further up)."""
    for folder in ROOT.parents:
        path = folder / "shared" / "reference" / "log-lines.md"
        if path.exists():
            text = path.read_text(encoding="utf-8")
            return text.split("## 7.", 1)[1].split("\n## ", 1)[0]
    return None


def section7_items(text: str) -> list[str]:
    """The bullets of the section, and its closing paragraph on ATS debug output."""
    bullets = [block.strip() for block in re.split(r"\n- ", text)[1:]]
    bullets = [bullet.split("\n\n", 1)[0] for bullet in bullets]
    debug = [p for p in text.split("\n\n") if p.startswith("Apache Traffic Server debug output")]
    return bullets + debug


def test_every_bullet_of_section_7_has_exactly_one_named_dialect():
    text = reference_section7()
    if text is None:
        pytest.skip("shared/reference/log-lines.md is not beside the repository")
    items = section7_items(text)
    assert len(items) == len(DIALECTS), [i[:40] for i in items]
    claimed = {name: [i for i in items if d.bullet in i] for name, d in DIALECTS.items()}
    assert {name: len(found) for name, found in claimed.items()} == dict.fromkeys(DIALECTS, 1)
    for item in items:
        assert any(d.bullet in item for d in DIALECTS.values()), f"no dialect for: {item[:80]}"


def apply(name: str, seed: int, lines: list[str] = PRISTINE) -> list[str]:
    return Drawn(((name, seed),)).apply(list(lines))


def bodies(lines: list[str]) -> list[str]:
    return [m["body"].strip() for line in lines if (m := ENVELOPE.fullmatch(line))]


@SHAPE
@given(dialect("rfc3339_precision"))
def test_rfc3339_precision_keeps_the_instant_with_another_fraction(drawn):
    out = drawn.apply(list(PRISTINE))
    stamps = [line.split(" ", 1)[0] for line in out if ENVELOPE.fullmatch(line)]
    assert len(stamps) == len(EVENTS)
    assert all(re.fullmatch(r"[\d-]+T\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?(Z|[+-]\d\d:\d\d)", s) for s in stamps)
    assert bodies(out) == bodies(PRISTINE)


@SHAPE
@given(dialect("bsd_syslog"))
def test_bsd_syslog_writes_month_day_time_host_and_tag(drawn):
    out = drawn.apply(list(PRISTINE))
    events = [line for line in out if not line.startswith(("|", " "))]
    assert events[0].startswith("Jul 11 18:55:26 vcsc traffic_server[18242]: UTCTime=")
    assert events[-1].startswith("Jul 11 18:55:27 vcsc tvcs: Event=")
    assert not any(ENVELOPE.fullmatch(line) for line in out)


@SHAPE
@given(dialect("rfc5424"))
def test_rfc5424_writes_pri_version_and_dash_for_a_missing_pid(drawn):
    out = drawn.apply(list(PRISTINE))
    first = re.fullmatch(r"<(\d+)>1 (\S+) vcsc traffic_server 18242 - -  ?\ufeff?UTCTime=.*", out[0])
    assert first and int(first[1]) < 192 and first[2] == "2022-07-11T18:55:26.000+02:00"
    assert re.match(r"<\d+>1 \S+ vcsc tvcs - - -  ?\ufeff?Event=", out[-1])


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("no_pid", r"\S+ vcsc (traffic_server|tvcs): \S.*"),
        ("no_colon", r"\S+ vcsc (traffic_server\[18242\]|tvcs) [^:\s].*"),
        ("no_process", r"\S+ vcsc (UTCTime=|\[ET_NET 0\]|Event=).*"),
        ("no_time", r"vcsc (traffic_server\[18242\]|tvcs): .*"),
        ("no_envelope", r"(UTCTime=|\[ET_NET 0\]|Event=).*"),
    ],
)
def test_envelope_dialects_render_their_shape_and_keep_bodies_and_continuations(name, pattern):
    out = apply(name, 7)
    assert len(out) == len(PRISTINE)
    events = [line for line in out if not line.startswith(("|", " "))]
    assert len(events) == len(EVENTS) and all(re.fullmatch(pattern, line) for line in events), events
    assert [line for line in out if line.startswith(("|", " "))] == PRISTINE[2:5]


@SHAPE
@given(dialect("line_number_prefix"))
def test_line_number_prefix_numbers_every_line(drawn):
    out = drawn.apply(list(PRISTINE))
    assert [re.sub(r"^\s*Line \d+: ", "", line) for line in out] == PRISTINE
    assert re.match(r"\s*Line 6: 2022", out[5])


@SHAPE
@given(dialect("thread_tag"))
def test_thread_tag_is_swapped_for_one_form_in_the_whole_log(drawn):
    out = drawn.apply(list(PRISTINE))
    tags = {re.search(r"(\{0x[0-9a-f]+\} |\[ET_TASK \d+\] |)(WARNING|ERROR):", line)[1] for line in out[5:7]}
    assert len(tags) == 1 and "[ET_NET 0]" not in "".join(out)
    assert re.fullmatch(r"(\{0x7f[0-9a-f]{10}\} |\[ET_TASK 0\] |)", tags.pop())


@SHAPE
@given(dialect("spacing"))
def test_spacing_only_loses_or_doubles_spaces_outside_quoted_values(drawn):
    out = drawn.apply(list(PRISTINE))
    assert len(out) == len(PRISTINE)
    for before, after in zip(PRISTINE, out, strict=True):
        assert after.replace(" ", "") == before.replace(" ", "")
        assert re.findall(r'"[^"]*"', after) == re.findall(r'"[^"]*"', before)
    assert out[2:5] == PRISTINE[2:5]


def test_spacing_can_write_the_publisher_shape_of_the_reference():
    squeezed = [apply("spacing", seed)[5] for seed in range(40)]
    assert any("traffic_server[18242]:[ET_NET 0]WARNING:Core server" in line for line in squeezed)


@SHAPE
@given(dialect("masked_values"))
def test_masked_values_mask_every_address_one_way_per_log(drawn):
    out = drawn.apply(list(PRISTINE))
    seed = drawn.steps[0][1]
    plan = masking_plan(list(PRISTINE), random.Random(seed))
    assert set(plan) == {"127.0.0.1", "10.48.36.215", "192.0.2.10", "198.51.100.20"}
    assert all(re.fullmatch(r"(\d+\.){2,3}x+(\.x+)?|<REDACTED>", masked) for masked in plan.values())
    assert "".join(mask_text(line, plan) for line in PRISTINE).count("10.48.36.215") == 0
    assert "cucm.example.com" in out[5] and "bb0c8492-8c15-4537-a7d1-082dde781dbd" not in "".join(out)


@SHAPE
@given(dialect("padded_values"))
def test_padded_values_trim_back_to_the_pristine_values(drawn):
    out = drawn.apply(list(PRISTINE))
    for before, after in zip(PRISTINE, out, strict=True):
        pairs = re.findall(r'([\w.-]+)= ?"([^"]*)"', after)
        assert [(k, v.strip()) for k, v in pairs] == [
            (k, v.strip()) for k, v in re.findall(r'([\w.-]+)="([^"]*)"', before)
        ]


def test_padded_values_write_both_paddings():
    text = "\n".join("\n".join(apply("padded_values", seed)) for seed in range(5))
    assert re.search(r'="\s\S[^"]*\s"', text) and re.search(r'= "', text)


def test_free_text_between_pairs_inserts_text_after_the_level_pair():
    out = "\n".join(apply("free_text_between_pairs", seed)[0] for seed in range(10))
    assert re.search(r'Level="INFO": [\w:]+: [a-zA-Z ]+ Detail="Receive Request"', out)


def test_httpmsg_placement_moves_the_marker_alone_to_the_next_line():
    moved = [apply("httpmsg_placement", seed) for seed in range(3)]
    assert all(out[out.index("HTTPMSG:") + 1] == "|GET /CSFemusk.cnf.xml HTTP/1.1" for out in moved)
    assert all(out[out.index("HTTPMSG:") - 1].endswith('Dst-port="6972"') for out in moved)


@SHAPE
@given(dialect("wrapped"))
def test_wrapped_lines_fit_the_width_and_join_back_without_the_lost_spaces(drawn):
    out = drawn.apply(list(PRISTINE))
    widths = {len(line) for line in out if not line.startswith(("|", " "))}
    assert max(widths) <= 100 and len(out) > len(PRISTINE)
    assert "".join(out).replace(" ", "") == "".join(PRISTINE).replace(" ", "")
    assert not any(line.startswith(" ") for line in out if line not in PRISTINE)


@SHAPE
@given(dialect("flattened"))
def test_flattened_lines_hold_whole_events_and_never_split_a_message(drawn):
    out = drawn.apply(list(PRISTINE))
    assert re.sub(" +", " ", " ".join(out)) == re.sub(" +", " ", " ".join(PRISTINE))
    assert out[out.index("|GET /CSFemusk.cnf.xml HTTP/1.1") - 1].endswith("HTTPMSG:")


def test_flattened_puts_a_second_envelope_inside_a_line():
    outs = ["\n".join(apply("flattened", seed)) for seed in range(10)]
    assert any(re.search(r"\S +2022-07-11T18:55:2\d\.\d+\+02:00 vcsc ", out) for out in outs)


@SHAPE
@given(dialect("line_ends"))
def test_line_ends_write_crlf_cr_bom_or_tabs(drawn):
    data = render(drawn.apply(list(PRISTINE))).decode("utf-8")
    shapes = {
        "crlf": data.count("\r\n") == len(PRISTINE) - 1,
        "cr": "\n" not in data and data.count("\r") == len(PRISTINE),
        "bom": data.startswith("\ufeff2022"),
        "tabs": data.startswith("2022-07-11T18:55:26.000+02:00\tvcsc\ttraffic_server[18242]:"),
    }
    assert any(shapes.values())
    assert data.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").rstrip(
        "\n"
    ) == "\n".join(PRISTINE)


def test_ats_ssl_debug_adds_the_verify_callback_and_connection_error_lines():
    out = apply("ats_ssl_debug", 1)
    warning = out.index(PRISTINE[5])
    prefix = "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] DEBUG: "
    assert out[warning - 1] == (
        prefix + "<SSLClientUtils.cc:78 (verify_callback)> (ssl_verify) "
        "verification error:num=18:self signed certificate:depth=0"
    )
    assert out[warning + 3].endswith(
        "(ssl.error) SSL connection failed for 'cucm.example.com': "
        "error:0A000086:SSL routines::certificate verify failed"
    )
    assert "peer address is 10.48.36.215" in out[warning + 2]
    assert [line for line in out if "DEBUG:" not in line] == PRISTINE


@settings(max_examples=30, derandomize=True, deadline=None)
@given(chain())
def test_a_chain_holds_at_most_one_envelope_dialect_in_stage_order(drawn):
    stages = [(DIALECTS[name].stage, name) for name, _ in drawn.steps]
    assert stages == sorted(stages)
    assert sum(stage == 1 for stage, _ in stages) <= 1
    assert render(drawn.apply(list(PRISTINE)))
