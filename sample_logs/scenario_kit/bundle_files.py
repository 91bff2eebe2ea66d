"""A node's bundle members beside its log (xstat and xconf dumps) and deterministic tar/gzip packing."""

from __future__ import annotations

import gzip
import io
import tarfile

from .clock import Clock
from .deployment import NodeSpec, Site


def xstat_text(spec: NodeSpec, clock: Clock, t_end: int, uptime_s: int) -> str:
    build = f"{sum(map(ord, spec.version)) * 7919 % 999983:06d}"
    lines = [
        "*s SystemUnit:",
        '    Product: "TANDBERG VCS"',
        f"    Uptime: {uptime_s}",
        f'    SystemTime: "{clock.utc(t_end)[:19]}"',
        f'    TimeZone: "{spec.tz_name}"',
        "    Software:",
        f'      Version: "{spec.version}"',
        f'      Build: "{build}"',
        '      Name: "s42700"',
        "    Hardware:",
        '      Version: "VMware"',
        f'      SerialNumber: "{spec.ts_pid * 104729 % 0xFFFFFFF:07X}"',
        "*s/end",
    ]
    return "\n".join(lines) + "\n"


def xconf_text(spec: NodeSpec, site: Site, extra: tuple[str, ...] = ()) -> str:
    def c(path: str, value: str) -> str:
        return f'*c xConfiguration {path}: "{value}"'

    lines = [
        c("SystemUnit Name", spec.host),
        c("IP DNS Hostname", spec.host),
        c("IP DNS Domain Name", site.domain),
        c("Ethernet 1 IP V4 Address", spec.ip),
        c("TimeZone Name", spec.tz_name),
        c("NTP Server 1 Address", f"ntp.{site.domain}"),
        c("UnifiedCommunications Mode", "MobileRemoteAccess"),
        c("Ciphers UcClientTlsCiphers", spec.ciphers),
    ]
    if spec.verify_origin is not None:
        lines.append(c("EdgeConfigServer VerifyOriginServer", spec.verify_origin))
    for index, peer in enumerate(spec.peers, start=1):
        lines.append(c(f"Alternates Peer {index} Address", peer))
    pools = (("UnifiedCM", site.cucms), ("ImpServer", site.imps), ("UnityConnection", site.cucs))
    for key, pool in pools if spec.role != "Expressway-E" else ():  # only a -C proxies to the UC servers
        for index, upstream in enumerate(pool, start=1):
            lines.append(c(f"EdgeConfigServer {key} {index} Address", upstream.name))
            lines.append(c(f"EdgeConfigServer {key} {index} TlsVerifyMode", spec.tls_verify_mode))
            lines.append(c(f"EdgeConfigServer {key} {index} Deployment", "1"))
    if spec.debug_loggers:
        for logger in ("http", "http_trans", "iocore", "ssl"):
            lines.append(c(f"Logger Developer developer.trafficserver.{logger} Level", "DEBUG"))
    return "\n".join([*lines, *extra, "*c/end"]) + "\n"


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A reproducible .tar.gz: sorted members, mtime 0, uid/gid 0, no gzip name or time stamp."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as stream:
        stream.write(raw.getvalue())
    return packed.getvalue()
