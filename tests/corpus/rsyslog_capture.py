"""Re-make rsyslog_*.toml: real traffic_server and tvcs bodies sent through a real rsyslog.

    python tests/corpus/rsyslog_capture.py        # needs Debian's rsyslog (`apt-get install rsyslog`)

Starts a private `rsyslogd -n` (its own config, work folder and pid file in a temporary folder; it
listens on a loopback UDP port only), sends each body of BODIES twice from host `expc1`, as an RFC 5424
message and as a BSD (RFC 3164) one, and keeps what rsyslog wrote with three of its stock templates: RSYSLOG_TraditionalFileFormat
(BSD syslog), RSYSLOG_SyslogProtocol23Format (RFC 5424) and RSYSLOG_FileFormat (RFC 3339, microseconds).
The bodies come from the logscope lab (ATS 9.2.9 diags.log lines, time stamp removed) and from
grammars/samples/seed003.toml (the Expressway key="value" lines of seed document 003).
The output files are committed; the corpus test reads them, it does not run rsyslog itself.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "expc1"
# (app, procid or "-", body): procid "-" is how a process without a pid (tvcs) arrives in RFC 5424.
BODIES = [
    (
        "traffic_server",
        "2210",
        "[ET_NET 1] WARNING: Core server certificate verification failed for (selfsigned-rsa.lab). "
        "Action=Terminate Error=self-signed certificate server=selfsigned-rsa.lab(127.0.0.11) depth=0",
    ),
    (
        "traffic_server",
        "2210",
        "[ET_NET 0] WARNING: SNI (127.0.0.17) not in certificate. Action=Terminate server=127.0.0.17(127.0.0.17)",
    ),
    (
        "traffic_server",
        "2210",
        "[ET_NET 0] DEBUG: <SSLClientUtils.cc:78 (verify_callback)> (ssl_verify) "
        "verification error:num=19:self-signed certificate in certificate chain:depth=2",
    ),
    (
        "traffic_server",
        "2210",
        "[ET_NET 1] DEBUG: <SSLNetVConnection.cc:1573 (sslClientHandShakeEvent)> (ssl.error) "
        "SSL connection failed for 'expired.lab': error:0A000086:SSL routines::certificate verify failed",
    ),
    (
        "traffic_server",
        "2210",
        'UTCTime="2022-07-11 16:55:26,006" Module="network.http.trafficserver" Level="INFO": '
        'Detail="Sending Request" Txn-id="191" TrackingID="bb0c8492-8c15-4537-a7d1-082dde781dbd" '
        'Dst-ip="10.48.36.215" Dst-port="6972" Msg="GET /CSFemusk.cnf.xml HTTP/1.1"',
    ),
    (
        "tvcs",
        "-",
        'Event="Outbound TLS Negotiation Error" Service="SIP" Src-ip="192.0.2.10" Src-port="25001" '
        'Dst-ip="198.51.100.20" Dst-port="7001" Detail="Peer\'s TLS certificate identity was unacceptable" '
        'Protocol="TLS" Common-name="expe.example.com" Level="1" UTCTime="2026-03-04 08:12:44,120"',
    ),
]
TEMPLATES = {
    "bsd": "RSYSLOG_TraditionalFileFormat",
    "rfc5424": "RSYSLOG_SyslogProtocol23Format",
    "rfc3339": "RSYSLOG_FileFormat",
}


def config(folder: Path, port: int) -> str:
    outputs = "\n".join(
        f'action(type="omfile" file="{folder / (name + ".log")}" template="{template}")'
        for name, template in TEMPLATES.items()
    )
    return (
        f'global(workDirectory="{folder}")\n'
        'module(load="imudp")\n'
        f'input(type="imudp" address="127.0.0.1" port="{port}")\n'
        f"{outputs}\n"
    )


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def capture() -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory(prefix="logscope-rsyslog-") as name:
        folder = Path(name)
        port = free_udp_port()
        (folder / "rsyslog.conf").write_text(config(folder, port))
        process = subprocess.Popen(
            ["rsyslogd", "-n", "-f", str(folder / "rsyslog.conf"), "-i", str(folder / "rsyslogd.pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            time.sleep(1.0)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for number, (app, pid, body) in enumerate(BODIES):
                    stamp = f"2026-03-04T09:12:44.{120 + number:03d}+01:00"
                    message = f"<134>1 {stamp} {HOST} {app} {pid} - - {body}"
                    sender.sendto(message.encode("utf-8"), ("127.0.0.1", port))
                for number, (app, pid, body) in enumerate(BODIES):
                    tag = app if pid == "-" else f"{app}[{pid}]"
                    message = f"<134>Mar  4 09:13:{number:02d} {HOST} {tag}: {body}"
                    sender.sendto(message.encode("utf-8"), ("127.0.0.1", port))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                files = [folder / f"{name}.log" for name in TEMPLATES]
                if all(f.exists() and len(f.read_text().splitlines()) >= 2 * len(BODIES) for f in files):
                    break
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=10)
        return {name: (folder / f"{name}.log").read_text().splitlines() for name in TEMPLATES}


def main() -> int:
    version = subprocess.run(["rsyslogd", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    for name, lines in capture().items():
        print(f"# {name}: {len(lines)} lines ({version})")
        for line in lines:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
