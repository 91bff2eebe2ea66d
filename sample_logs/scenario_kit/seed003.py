"""Scenario family: seed document 003's two scenarios rebuilt, its lines re-joined where the publisher
wrapped them mid-token, amid generated traffic and noise; and the check of those lines against the
document when it is beside the repository."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .clock import Clock
from .deployment import NodeSpec, Site, Step, Upstream, name_failure, node, verify_failure
from .log_lines import envelope, sending_response, status_line
from .manifest import Built, expect
from .scenario_build import NodeRun, Scenario, build_scenario
from .snapshot import Fixed, Plan
from .traffic import client_headers, upstream_headers
from .vocabulary import USER_AGENTS

# ../shared/seeds/ beside the repository (parents[3]: the folder that holds the repository).
SEED003_DOC = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "003_db971a42f7a3e9e0.txt"

SEED003_SELF_SIGNED = (
    '2022-07-11T18:55:25.910+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:25,910" Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="189" TrackingID="6af9a674-9ebc-41ea-868e-90e7309a758c" Src-ip="127.0.0.1" Src-port="35764" Last-via-addr="" Msg="GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy9jdWNTLnN0ZXZlbi5sYWIVODQ0Mw/cucm-uds/user/emusk/devices HTTP/1.1"',
    '2022-07-11T18:55:25.917+02:00 vcsc traffic_server[18242]: Event="Request Allowed" Detail="Access allowed" Reason="In allow list" Username="emusk" Deployment="1" Method="GET" Request="https://cucm.steven.lab:8443/cucm-uds/user/emusk/devices" Rule="https://cucm.steven.lab:8443/cucm-uds/user/" Match="prefix" Type="Automatically generated rule for CUCM server" UTCTime="2022-07-11 16:55:25,916"',
    '2022-07-11T18:55:25.917+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:25,916" Module="network.http.trafficserver" Level="INFO": Detail="Sending Request" Txn-id="189" TrackingID="6af9a674-9ebc-41ea-868e-90e7309a758c" Dst-ip="10.48.36.215" Dst-port="8443" Msg="GET /cucm-uds/user/emusk/devices HTTP/1.1"',
    '2022-07-11T18:55:25.955+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:25,955" Module="network.http.trafficserver" Level="INFO": Detail="Receive Response" Txn-id="189" TrackingID="" Src-ip="10.48.36.215" Src-port="8443" Msg="HTTP/1.1 200 "',
    '2022-07-11T18:55:25.956+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:25,955" Module="network.http.trafficserver" Level="INFO": Detail="Sending Response" Txn-id="189" TrackingID="" Dst-ip="127.0.0.1" Dst-port="35764" Msg="HTTP/1.1 200 "',
    '2022-07-11T18:55:26.000+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,000" Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" Src-ip="127.0.0.1" Src-port="35766" Last-via-addr="" Msg="GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy9jdWNTLnN0ZXZlbi5sYWIVNjk3Mg/CSFemusk.cnf.xml HTTP/1.1"',
    '2022-07-11T18:55:26.006+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,006" Module="network.http.trafficserver" Level="INFO": Detail="Sending Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" Dst-ip="10.48.36.215" Dst-port="6972" Msg="GET /CSFemusk.cnf.xml HTTP/1.1"',
    '2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: UTCTime="2022-07-11 16:55:26,016" Module="network.http.trafficserver" Level="INFO": Detail="Sending Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" Dst-ip="10.48.36.215" Dst-port="6972" Msg="GET /CSFemusk.cnf.xml HTTP/1.1"',
    "2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: Core server certificate verification failed for (cucm.steven.lab). Action=Terminate Error=self signed certificate server=cucm.steven.lab(10.48.36.215) depth=0",
    "2022-07-11T18:55:26.016+02:00 vscs traffic_server[18242]: [ET_NET 0] ERROR: SSL connection failed for 'cucm.steven.lab': error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed",
    '2022-07-11T18:55:26.024+02:00 vscs traffic_server[18242]: UTCTime="2022-07-11 16:55:26,024" Module="network.http.trafficserver" Level="INFO": Detail="Sending Response" Txn-id="191" TrackingID="" Dst-ip="127.0.0.1" Dst-port="35766" Msg="HTTP/1.1 502 connect failed"',
)
SEED003_IP_DEBUG_REQUEST = (
    '2022-07-11T19:49:01.472+02:00 vcsc traffic_server[3916]: UTCTime="2022-07-11 17:49:01,472" Module="network.http.trafficserver" Level="DEBUG": Detail="Receive Request" Txn-id="144" TrackingID="0a334fa8-41e9-4b97-adf4-e165372c38cb" Src-ip="127.0.0.1" Src-port="30044" Last-via-addr=" " HTTPMSG:',
    "|GET http://vcs_control.steven.lab:8443/c3RldmVuLmxhYi9odHRwcy8xMC40OC4zNi4yMTUvODQ0Mw/cucm-uds/user/emusk/devices?max=100 HTTP/1.1",
)
SEED003_IP_SENDING = (
    '2022-07-11T19:49:01.478+02:00 vcsc traffic_server[3916]: UTCTime="2022-07-11 17:49:01,478" Module="network.http.trafficserver" Level="INFO": Detail="Sending Request" Txn-id="144" TrackingID="0a334fa8-41e9-4b97-adf4-e165372c38cb" Dst-ip="10.48.36.215" Dst-port="8443" Msg="GET /cucm-uds/user/emusk/devices?max=100 HTTP/1.1"',
)
SEED003_IP_DEBUG_SENDING = (
    '2022-07-11T19:49:01.478+02:00 vcsc traffic_server[3916]: UTCTime="2022-07-11 17:49:01,478" Module="network.http.trafficserver" Level="DEBUG": Detail="Sending Request" Txn-id="144" TrackingID="0a334fa8-41e9-4b97-adf4-e165372c38cb" Dst-ip="10.48.36.215" Dst-port="8443" HTTPMSG:',
    "|GET /cucm-uds/user/emusk/devices?max=100 HTTP/1.1",
)
SEED003_IP_FAILURE = (
    "2022-07-11T19:49:01.491+02:00 vcsc traffic_server[3916]: [ET_NET 2] WARNING: SNI (10.48.36.215) not in certificate. Action=Terminate server=10.48.36.215(10.48.36.215)",
    "2022-07-11T19:49:01.491+02:00 vcsc traffic_server[3916]: [ET_NET 2] ERROR: SSL connection failed for '10.48.36.215': error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed",
)
SEED003_IP_LINES = (
    SEED003_IP_DEBUG_REQUEST + SEED003_IP_SENDING + SEED003_IP_DEBUG_SENDING + SEED003_IP_FAILURE
)
SEED003_VERBATIM = SEED003_SELF_SIGNED + SEED003_IP_LINES


def line_time(line: str) -> int:
    return int(datetime.fromisoformat(line.split(" ", 1)[0]).timestamp() * 1000)


def seed_site(cucm_name: str) -> Site:
    domain = "steven.lab"
    return Site(
        domain,
        (Upstream(cucm_name, "10.48.36.215", "cucm"),),
        (Upstream(f"imp.{domain}", "10.48.36.216", "imp"),),
        (Upstream(f"cuc.{domain}", "10.48.36.217", "cuc"),),
    )


def seed_node(ts_pid: int, debug_rate: float, debug_loggers: bool) -> NodeSpec:
    return node(
        "vcsc",
        "10.48.36.20",
        120,
        "Europe/Brussels",
        "X14.2.0",
        ts_pid,
        1,
        tls_verify_mode="Off",
        debug_rate=debug_rate,
        debug_loggers=debug_loggers,
    )


def with_headers(lines: tuple[str, ...], headers: tuple[str, ...]) -> str:
    """A DEBUG event from the document whose `...` we continue with generated header lines."""
    return "\n".join([*lines, *(f" {header}" for header in headers)])


def seed003_self_signed() -> Scenario:
    site = seed_site("cucm.steven.lab")
    site.outcomes[(None, "cucm.steven.lab", 6972)] = verify_failure(
        "self signed certificate", 0, "ts-cert-self-signed"
    )
    fixed = [Fixed(line_time(line), line) for line in SEED003_SELF_SIGNED]
    fixed[0].txn, fixed[0].status = 189, 200
    fixed[5].txn, fixed[5].status = 191, 502
    doc_start = fixed[0].t
    between = Step(doc_start + 22, site.cucms[0], 8443, "https", "GET", "/cucm-uds/user/atanaka", "atanaka")
    plan = Plan(
        20, 24, doc_start - 240_000, 420, quiet=((doc_start - 1200, doc_start + 400),), extra=(between,)
    )
    summary = (
        "Seed 003 scenario 1 rebuilt: vcsc X14.2.0, pid 18242; Txn-id 189 (200 on 8443) and 191 (6972 retried, "
        "'self signed certificate' depth=0, ERROR, 502) exactly as the document prints them, with its vscs host "
        "variant and damaged base64; Txn-id 190 and everything else is generated."
    )
    statuses = expect(
        {"ts-cert-self-signed": "issue", "ts-ecdsa-port-split": "potential"}, omit=("mra-address-not-fqdn",)
    )
    return Scenario(
        "seed003-self-signed-6972",
        "seed003-self-signed-6972.tar.gz",
        summary,
        site,
        [NodeRun(seed_node(18242, 0.04, False), plan, fixed)],
        statuses,
        113,
        verbatim=SEED003_SELF_SIGNED,
    )


def seed003_ip_not_in_san() -> Scenario:
    site = seed_site("10.48.36.215")
    for port in (8443, 6972):
        site.outcomes[(None, "10.48.36.215", port)] = name_failure()
    agent = USER_AGENTS[0]
    t0, t_send, t_fail = (
        line_time(lines[0]) for lines in (SEED003_IP_DEBUG_REQUEST, SEED003_IP_SENDING, SEED003_IP_FAILURE)
    )
    clock = Clock(120)
    reply = sending_response(clock.utc(t_fail + 8), 144, 30044, status_line(502))
    fixed = [
        Fixed(t0, with_headers(SEED003_IP_DEBUG_REQUEST, client_headers("steven.lab", agent)), 144, 502),
        Fixed(t_send, SEED003_IP_SENDING[0]),
        Fixed(t_send, with_headers(SEED003_IP_DEBUG_SENDING, upstream_headers("10.48.36.215", 8443, agent))),
        *(Fixed(t_fail, line) for line in SEED003_IP_FAILURE),
        Fixed(t_fail + 8, envelope(clock, t_fail + 8, "vcsc", "traffic_server", 3916, reply)),
    ]
    plan = Plan(20, 30, t0 - 200_000, 420, quiet=((t0 - 1500, t0 + 600),))
    summary = (
        "Seed 003 scenario 2 rebuilt: vcsc X14.2.0, pid 3916, DEBUG loggers on, CUCM advertised by IP. Txn-id 144 "
        "(DEBUG Receive Request with its HTTPMSG line, INFO and DEBUG Sending Request, 'SNI (10.48.36.215) not in "
        "certificate', ERROR) as the document prints them; the elided headers, the final 502 and the rest are generated."
    )
    statuses = expect({"ts-cert-name-mismatch": "issue", "mra-address-not-fqdn": "issue"})
    return Scenario(
        "seed003-ip-not-in-san",
        "seed003-ip-not-in-san.tar.gz",
        summary,
        site,
        [NodeRun(seed_node(3916, 0.6, True), plan, fixed)],
        statuses,
        114,
        verbatim=SEED003_IP_LINES,
    )


def build() -> list[Built]:
    """Both seed-003 scenarios, built."""
    return [build_scenario(seed003_self_signed()), build_scenario(seed003_ip_not_in_san())]


def seed_document_problems(document: Path) -> list[str]:
    """Each verbatim line must appear in the seed document once its wrapping and fences are removed."""
    squeezed = "".join(document.read_text(encoding="utf-8").replace("```", "").split())
    return [
        f"not in {document.name}: {line[:90]}..."
        for line in SEED003_VERBATIM
        if "".join(line.split()) not in squeezed
    ]


def source_problems() -> list[str]:
    """The verbatim lines checked against the document; a note (not a problem) when it is not there."""
    if not SEED003_DOC.exists():
        print(f"note: {SEED003_DOC} not found; verbatim seed lines not re-verified")
        return []
    return seed_document_problems(SEED003_DOC)
