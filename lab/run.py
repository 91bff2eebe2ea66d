"""Run the lab: PKI, origins, three traffic_server instances, one request per case each, logs kept.

    .venv/bin/python -m lab.run --out DIR [--permissive-out DIR2] [--ssl-debug-out DIR3] [--samples FILE]

Runs, side by side, each a fresh traffic_server in front of the same origins:
  enforced    verify.server.policy ENFORCED, default diagnostics      -> DIR/diags.log, DIR/error.log
  permissive  verify.server.policy PERMISSIVE (Action=Continue)       -> DIR2 (default DIR/permissive)
  ssl-debug   ENFORCED plus the `ssl.error` debug tag in diags.log    -> DIR3 (default DIR/ssl-debug)
DIR/cases.json says what each case is and what happened to its request in each run. logscope walks
folders, so `logscope analyze DIR` with the default DIR2/DIR3 inside DIR reads all three runs at once:
give DIR2 and DIR3 outside DIR to analyze each run alone. Exit status 0 when the lab ran, 2 when it
could not (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import ats
from lab.cases import Case, lab_cases
from lab.origins import RunningOrigin, server_context, start_origin
from lab.pki import Pki, build_pki
from lab.samples import render_samples, sample_sections

REQUEST_PATH = "/cucm-uds/user/labuser/devices"
REQUEST_TIMEOUT_S = 15.0
# ATS writes error.log from buffers flushed on a timer (observed: up to ~2.7 s after the request, with
# the flush settings in lab.ats) and drops what is still buffered at SIGTERM; some failures never
# reach error.log at all. So wait for every failed origin's CONNECT line, or for error.log to stop
# growing for ERROR_LOG_SETTLE_S.
ERROR_LOG_SETTLE_S = 5.0
ERROR_LOG_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Run:
    """One traffic_server instance: its policy, its diagnostics, and the source address it connects
    to origins from (so each origin can tell the instances apart)."""

    name: str
    policy: str
    source_ip: str
    ssl_debug: bool = False


RUNS = (
    Run("enforced", "ENFORCED", "127.0.0.2"),
    Run("permissive", "PERMISSIVE", "127.0.0.3"),
    Run("ssl-debug", "ENFORCED", "127.0.0.4", ssl_debug=True),
)


def start_origins(cases: list[Case], pki: Pki, stack: ExitStack) -> dict[str, RunningOrigin]:
    """One origin per case; each is stopped when `stack` closes."""
    origins = {}
    for case in cases:
        client_ca = str(pki.origin_client_trust) if case.demands_client_cert else None
        context = server_context(pki.credentials[case.name], case.tls_max, client_ca)
        origin = start_origin(case.name, case.ip, context)
        stack.callback(origin.stop)
        origins[case.name] = origin
    return origins


def ats_settings(run: Run, cases: list[Case], origins: dict[str, RunningOrigin], pki: Pki) -> ats.AtsSettings:
    """The instance's hosts file and one remap rule per case: `<case>.lab` -> the origin."""
    return ats.AtsSettings(
        policy=run.policy,
        trust_bundle=pki.proxy_trust_bundle,
        client_chain=pki.proxy_client.chain_file,
        client_key=pki.proxy_client.key_file,
        hosts={case.host_name: case.ip for case in cases},
        remaps=[ats.RemapRule(case.host_name, case.server_name, origins[case.name].port) for case in cases],
        source_ip=run.source_ip,
        ssl_debug=run.ssl_debug,
    )


def send_request(proxy_port: int, host: str) -> dict[str, Any]:
    """GET through the proxy with `Host: host:port`; the HTTP status, or the error when none came."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{proxy_port}{REQUEST_PATH}", headers={"Host": f"{host}:{proxy_port}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
            return {"http_status": response.status, "reason": response.reason}
    except urllib.error.HTTPError as error:
        return {"http_status": error.code, "reason": error.reason}
    except OSError as error:
        return {"http_status": None, "reason": str(error)}


def send_all(proxy_port: int, cases: list[Case]) -> dict[str, dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = pool.map(lambda case: send_request(proxy_port, case.host_name), cases)
        return dict(zip([case.name for case in cases], replies, strict=True))


def keep_logs(instance: ats.AtsInstance, out: Path) -> None:
    """Copy the instance's diags.log and error.log to `out` (an empty file for a log ATS never made)."""
    out.mkdir(parents=True, exist_ok=True)
    for log in (instance.diags_log, instance.error_log):
        if log.exists():
            shutil.copyfile(log, out / log.name)
        else:
            (out / log.name).write_text("")


def run_once(
    instance: ats.AtsInstance, cases: list[Case], origins: dict[str, RunningOrigin], out: Path
) -> dict:
    """Start one instance, send every case's request, let error.log settle, stop it, keep its logs."""
    started = time.monotonic()
    try:
        instance.start()
        replies = send_all(instance.port, cases)
        failed = {(c.ip, origins[c.name].port) for c in cases if replies[c.name]["http_status"] != 200}
        ats.wait_until_settled(
            instance.error_log,
            lambda: failed <= ats.connect_failures(instance.error_log),
            ERROR_LOG_SETTLE_S,
            ERROR_LOG_TIMEOUT_S,
        )
    finally:
        exit_code = instance.stop()
    keep_logs(instance, out)
    return {
        "replies": replies,
        "instance": {
            "policy": instance.settings.policy,
            "ssl_debug": instance.settings.ssl_debug,
            "source_ip": instance.settings.source_ip,
            "dir": str(out),
            "proxy_port": instance.port,
            "exit_code": exit_code,
            "seconds": round(time.monotonic() - started, 2),
        },
    }


def run_all(
    cases: list[Case],
    origins: dict[str, RunningOrigin],
    pki: Pki,
    workdir: Path,
    folders: dict[str, Path],
) -> dict[str, dict[str, Any]]:
    """Every run at once, each its own traffic_server on its own port; results by run name."""
    ports = ats.free_ports(len(RUNS))
    instances = {
        run.name: ats.AtsInstance(workdir / run.name, ats_settings(run, cases, origins, pki), port)
        for run, port in zip(RUNS, ports, strict=True)
    }
    with ThreadPoolExecutor(max_workers=len(RUNS)) as pool:
        futures = {
            name: pool.submit(run_once, instance, cases, origins, folders[name])
            for name, instance in instances.items()
        }
        results = {name: future.result() for name, future in futures.items()}
    for run in RUNS:
        for case in cases:
            seen = origins[case.name].server.handshake_errors
            errors = [error for client, error in seen if client == run.source_ip]
            results[run.name]["replies"][case.name]["origin_handshake_errors"] = errors
    return results


def tool_version(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (result.stdout.strip() or result.stderr.strip() or "unknown").splitlines()[0]


def case_record(case: Case, port: int, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "cause": case.cause,
        "expected_signature": case.signature,
        "server_name": case.server_name,
        "host_name": case.host_name,
        "ip": case.ip,
        "port": port,
        "key_type": case.leaf.key_type,
        "tls_max": case.tls_max,
        "demands_client_cert": case.demands_client_cert,
        "runs": {
            name: {"policy": result["instance"]["policy"], **result["replies"][case.name]}
            for name, result in results.items()
        },
    }


def run_lab(out: Path, outputs: dict[str, Path] | None = None) -> dict[str, Any]:
    """Run every instance against every case; write the logs and DIR/cases.json; return its data.

    `outputs` maps a run name to its folder; missing runs go to `out/<run name>`, `enforced` to `out`.
    """
    started = time.monotonic()
    out = out.resolve()
    folders = {run.name: out / run.name for run in RUNS} | {"enforced": out} | dict(outputs or {})
    folders = {name: Path(path).resolve() for name, path in folders.items()}
    cases = lab_cases()
    with tempfile.TemporaryDirectory(prefix="logscope-lab-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        pki = build_pki(workdir / "pki", [case.leaf for case in cases])
        origins = start_origins(cases, pki, stack)
        results = run_all(cases, origins, pki, workdir, folders)
        ports = {case.name: origins[case.name].port for case in cases}
    data = {
        "lab": {
            "traffic_server": ats.version(),
            "debian_package": tool_version(["dpkg-query", "-W", "-f=${Version}", "trafficserver"]),
            "openssl": tool_version(["openssl", "version"]),
            "python_ssl": ssl.OPENSSL_VERSION,
            "request_path": REQUEST_PATH,
            "runs": {name: result["instance"] for name, result in results.items()},
            "seconds": round(time.monotonic() - started, 2),
        },
        "cases": {case.name: case_record(case, ports[case.name], results) for case in cases},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "cases.json").write_text(json.dumps(data, indent=2) + "\n")
    return data


def samples_source(data: dict[str, Any]) -> str:
    lab = data["lab"]
    openssl = lab["openssl"].split(" (")[0]
    return f"Debian trafficserver {lab['debian_package']} ({lab['traffic_server']}), {openssl}"


def exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C: origins stop, traffic_server is stopped, the temporary folder goes."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    parser = argparse.ArgumentParser(prog="python -m lab.run", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for the enforced run and cases.json")
    parser.add_argument("--permissive-out", type=Path, help="permissive run folder (default OUT/permissive)")
    parser.add_argument("--ssl-debug-out", type=Path, help="ssl-debug run folder (default OUT/ssl-debug)")
    parser.add_argument("--samples", type=Path, help="also write the grammar sample file here")
    args = parser.parse_args(argv)
    outputs = {"permissive": args.permissive_out, "ssl-debug": args.ssl_debug_out}
    try:
        data = run_lab(args.out, {name: path for name, path in outputs.items() if path})
        if args.samples:
            folders = {name: Path(run["dir"]) for name, run in data["lab"]["runs"].items()}
            text = render_samples(samples_source(data), sample_sections(folders, ssl_debug_run="ssl-debug"))
            args.samples.write_text(text)
    except (ats.LabError, OSError, ssl.SSLError) as error:
        print(f"lab: {error}", file=sys.stderr)
        return 2
    for name, case in data["cases"].items():
        statuses = " ".join(f"{run}={reply['http_status']}" for run, reply in case["runs"].items())
        print(f"{name:27} {case['server_name']:31} {case['ip']}:{case['port']:<6} {statuses}")
    runs = ", ".join(f"{name} {run['seconds']}s" for name, run in data["lab"]["runs"].items())
    print(f"lab: {data['lab']['seconds']}s ({runs}); logs in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
