"""A private Apache Traffic Server: its runroot, configuration, process and logs, all in one folder.

`/usr/bin/traffic_server` runs directly (not the Debian service, not traffic_manager) with
`TS_RUNROOT` pointing at a `runroot.yaml` whose configuration, log, runtime and cache folders live in
the lab's temporary folder. The binaries and plugins stay where Debian installed them.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

TRAFFIC_SERVER = Path("/usr/bin/traffic_server")
SYSTEM_BODY_FACTORY = Path("/etc/trafficserver/body_factory")
LIBDIR = Path("/usr/lib/trafficserver")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.05
HOSTS_FILE_LOADED = "(hostdb) Loading host file"
HOSTS_FILE_PARSE_GRACE_S = 0.25


class LabError(RuntimeError):
    """The lab could not do what it was asked (ATS missing, would not start, timed out)."""


@dataclass(frozen=True)
class RemapRule:
    """`map http://<from_host>:<proxy_port>/ https://<to_host>:<to_port>/`."""

    from_host: str
    to_host: str
    to_port: int


@dataclass(frozen=True)
class AtsSettings:
    """What differs between the lab's ATS instances."""

    policy: str  # ENFORCED | PERMISSIVE
    trust_bundle: Path
    client_chain: Path
    client_key: Path
    hosts: dict[str, str]  # name -> IP, written to the instance's own hosts file
    remaps: list[RemapRule]
    source_ip: str = "127.0.0.1"  # the address the instance connects to origins from
    ssl_debug: bool = False  # also write the `ssl.error` debug tag's lines to diags.log


def free_ports(count: int, ip: str = "127.0.0.1") -> list[int]:
    """`count` different TCP ports the kernel says are free on `ip` now (ATS binds them a moment
    later); all probes stay open until every port is chosen, so no two are the same."""
    with ExitStack() as stack:
        probes = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for probe in probes:
            probe.bind((ip, 0))
        return [probe.getsockname()[1] for probe in probes]


def version() -> str:
    """`traffic_server -V`'s first line, e.g. 'Traffic Server 9.2.9 Apr  4 2026 14:52:39 localhost'."""
    result = subprocess.run(
        [str(TRAFFIC_SERVER), "-V"], capture_output=True, text=True, timeout=10, check=False
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    return next((line.strip() for line in lines if line.startswith("Traffic Server")), "unknown")


def runroot_yaml(root: Path) -> str:
    """A runroot whose writable folders are under `root` and whose binaries are Debian's."""
    return "\n".join(
        [
            f"prefix: {root}",
            f"exec_prefix: {root}",
            "bindir: /usr/bin",
            "sbindir: /usr/sbin",
            f"sysconfdir: {root}/etc",
            f"datadir: {root}/cache",
            "includedir: /usr/include",
            f"libdir: {LIBDIR}",
            f"libexecdir: {LIBDIR}/modules",
            f"localstatedir: {root}/var",
            f"runtimedir: {root}/run",
            f"logdir: {root}/log",
            f"cachedir: {root}/cache",
            "",
        ]
    )


def records_config(root: Path, port: int, settings: AtsSettings) -> str:
    """records.config: a reverse proxy that verifies origin certificates with `settings.policy`.

    Notes on the less obvious lines: `admin.user_id #-1` keeps the current user (ATS would otherwise
    switch from root to the `trafficserver`/`nobody` account, which cannot read the lab's files);
    the crash-log helper, which traffic_server forks when it runs as root and which would look that
    user up and log to syslog, is `/bin/true`; every diagnostic goes to diags.log only (`L`), never to
    syslog; the `hostdb` debug tag goes to the console only (it says when the hosts file is read),
    unless `ssl_debug` asks for debug lines in diags.log too; DNS points at loopback so no name ever
    leaves the machine (every origin name is in the instance's own hosts file); the connection
    throttle is below any usual descriptor limit so start-up does not warn about `ulimit -n`; the log
    buffer is flushed every second so error.log is complete soon after the last request; each
    instance connects from its own loopback address (`proxy.local.outgoing_ip_to_bind`) so the
    origins can tell side-by-side instances apart.
    """
    records = {
        "proxy.config.admin.user_id": ("STRING", "#-1"),
        "proxy.config.http.server_ports": ("STRING", f"{port}:ipv4:ip-in=127.0.0.1"),
        "proxy.config.reverse_proxy.enabled": ("INT", "1"),
        "proxy.config.url_remap.remap_required": ("INT", "1"),
        "proxy.config.url_remap.pristine_host_hdr": ("INT", "0"),
        "proxy.config.http.cache.http": ("INT", "0"),
        "proxy.config.http.connect_attempts_timeout": ("INT", "5"),
        "proxy.config.exec_thread.autoconfig": ("INT", "0"),
        "proxy.config.exec_thread.limit": ("INT", "2"),
        "proxy.config.task_threads": ("INT", "1"),
        "proxy.config.ssl.client.verify.server.policy": ("STRING", settings.policy),
        "proxy.config.ssl.client.verify.server.properties": ("STRING", "ALL"),
        "proxy.config.ssl.client.CA.cert.path": ("STRING", str(settings.trust_bundle.parent)),
        "proxy.config.ssl.client.CA.cert.filename": ("STRING", settings.trust_bundle.name),
        "proxy.config.ssl.client.cert.path": ("STRING", str(settings.client_chain.parent)),
        "proxy.config.ssl.client.cert.filename": ("STRING", settings.client_chain.name),
        "proxy.config.ssl.client.private_key.path": ("STRING", str(settings.client_key.parent)),
        "proxy.config.ssl.client.private_key.filename": ("STRING", settings.client_key.name),
        "proxy.config.hostdb.host_file.path": ("STRING", str(root / "etc" / "hosts")),
        "proxy.config.dns.nameservers": ("STRING", "127.0.0.1"),
        "proxy.config.dns.resolv_conf": ("STRING", "NULL"),
        "proxy.config.body_factory.template_sets_dir": ("STRING", str(SYSTEM_BODY_FACTORY)),
        "proxy.config.log.logging_enabled": ("INT", "1"),
        "proxy.config.log.max_secs_per_buffer": ("INT", "1"),
        "proxy.config.log.periodic_tasks_interval": ("INT", "1"),
        "proxy.config.net.connections_throttle": ("INT", "1000"),
        "proxy.config.crash_log_helper": ("STRING", "/bin/true"),
        "proxy.config.diags.debug.enabled": ("INT", "1"),
        "proxy.config.diags.debug.tags": ("STRING", "hostdb|ssl.error" if settings.ssl_debug else "hostdb"),
    }
    for level in ("status", "note", "warning", "error", "fatal", "alert", "emergency"):
        records[f"proxy.config.diags.output.{level}"] = ("STRING", "L")
    for level in ("diag", "debug"):
        records[f"proxy.config.diags.output.{level}"] = ("STRING", "EL" if settings.ssl_debug else "E")
    lines = [f"CONFIG {name} {kind} {value}\n" for name, (kind, value) in records.items()]
    lines.append(f"LOCAL proxy.local.outgoing_ip_to_bind STRING {settings.source_ip}\n")
    return "".join(lines)


def remap_config(port: int, remaps: list[RemapRule]) -> str:
    return "".join(
        f"map http://{rule.from_host}:{port}/ https://{rule.to_host}:{rule.to_port}/\n" for rule in remaps
    )


def hosts_file(hosts: dict[str, str]) -> str:
    return "".join(f"{ip} {name}\n" for name, ip in hosts.items())


IP_ALLOW = """\
ip_allow:
  - apply: in
    ip_addrs: 127.0.0.1
    action: allow
    methods: ALL
  - apply: out
    ip_addrs: 127.0.0.0/8
    action: allow
    methods: ALL
"""


def write_runroot(root: Path, port: int, settings: AtsSettings) -> None:
    """Every file the instance reads, under `root`."""
    for folder in ("etc", "log", "run", "cache", "var"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    etc = root / "etc"
    (root / "runroot.yaml").write_text(runroot_yaml(root))
    (etc / "records.config").write_text(records_config(root, port, settings))
    (etc / "remap.config").write_text(remap_config(port, settings.remaps))
    (etc / "hosts").write_text(hosts_file(settings.hosts))
    (etc / "ip_allow.yaml").write_text(IP_ALLOW)
    for empty in (
        "storage.config",
        "plugin.config",
        "ssl_multicert.config",
        "volume.config",
        "hosting.config",
        "parent.config",
        "cache.config",
        "splitdns.config",
    ):
        (etc / empty).write_text("")
    (etc / "logging.yaml").write_text("logging: {}\n")
    (etc / "sni.yaml").write_text("sni: []\n")
    (etc / "strategies.yaml").write_text("")


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll `condition` until it holds or `timeout_s` passes; True when it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL_S)
    return condition()


def accepts(port: int, ip: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


class AtsInstance:
    """One traffic_server process with its own runroot under `root`."""

    def __init__(self, root: Path, settings: AtsSettings, port: int) -> None:
        self.root = root
        self.settings = settings
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        write_runroot(root, self.port, settings)

    @property
    def diags_log(self) -> Path:
        return self.root / "log" / "diags.log"

    @property
    def error_log(self) -> Path:
        return self.root / "log" / "error.log"

    @property
    def console_log(self) -> Path:
        return self.root / "log" / "console.out"

    def start(self) -> None:
        """Start traffic_server and wait until it accepts connections and says it is running."""
        if not TRAFFIC_SERVER.exists():
            raise LabError(f"{TRAFFIC_SERVER} not found: apt-get install trafficserver")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TS_RUNROOT": str(self.root), "LANG": "C"}
        with self.console_log.open("wb") as console:
            self.process = subprocess.Popen(
                [str(TRAFFIC_SERVER)],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
            )
        if not wait_for(self._ready, START_TIMEOUT_S):
            self.stop()
            raise LabError(f"traffic_server did not start within {START_TIMEOUT_S:.0f}s: {self.tail()}")
        time.sleep(HOSTS_FILE_PARSE_GRACE_S)  # the debug line comes just before the parse itself

    def _ready(self) -> bool:
        """Accepting, running, and its hosts file loaded.

        HostDB reads the hosts file in a background event about a second after start-up; a request
        sent before that goes to DNS (which the lab points at nowhere) and hangs. The `hostdb` debug
        tag, sent to the console and not to diags.log, says when the file is read.
        """
        if self.process is None or self.process.poll() is not None:
            raise LabError(f"traffic_server exited during start-up: {self.tail()}")
        return (
            HOSTS_FILE_LOADED in read_text(self.console_log) + read_text(self.diags_log)
            and "traffic server running" in read_text(self.diags_log)
            and accepts(self.port)
        )

    def tail(self, lines: int = 15) -> str:
        """The last lines of the console and diags.log, to explain a failure."""
        text = read_text(self.console_log) + read_text(self.diags_log)
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGTERM the process we started (by its PID), then SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            return self.process.wait(timeout=STOP_TIMEOUT_S)


def wait_until_settled(path: Path, done: Callable[[], bool], settle_s: float, timeout_s: float) -> bool:
    """Wait until `done()` holds, or `path` has not grown for `settle_s`, or `timeout_s` passes.

    ATS flushes its log buffers on a timer, and some failures never reach error.log at all, so "every
    expected line is there" cannot be the only way out. True when `done()` held.
    """
    deadline = time.monotonic() + timeout_s
    last_size, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        if done():
            return True
        size = path.stat().st_size if path.exists() else 0
        if size != last_size:
            last_size, last_change = size, time.monotonic()
        elif time.monotonic() - last_change >= settle_s:
            break
        time.sleep(POLL_S)
    return done()


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


CONNECT_LINE = re.compile(r"CONNECT: .* to (?P<ip>[0-9.]+):(?P<port>\d+) ")


def connect_failures(error_log: Path) -> set[tuple[str, int]]:
    """(ip, port) of every `CONNECT: attempt fail` line error.log holds so far."""
    found = set()
    for line in read_text(error_log).splitlines():
        match = CONNECT_LINE.search(line)
        if match:
            found.add((match["ip"], int(match["port"])))
    return found
