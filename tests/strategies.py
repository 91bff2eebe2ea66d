"""Hypothesis strategies that build random diagnostic bundles from pieces.

Pieces: valid log lines in the formats of shared/reference/log-lines.md (Expressway envelope with
transaction, Request Allowed, certificate warning, SSL error and DEBUG HTTPMSG bodies; ATS diags.log
and error.log lines), garbage bytes, invalid UTF-8, NUL bytes, CR/CRLF/LF line ends, lines past the
parser's 4 MiB cap; members with ``../`` and absolute names, symbolic and hard links, nested archives,
empty members and folders. A drawn :class:`RandomBundle` is a description; :func:`materialize`
writes it as a .tar.gz, .tar, .zip, .gz, plain file or folder.

Every escaping name and link target carries the bundle's `token`, so a test can look for anything
written outside where it should be.
"""

from __future__ import annotations

import base64
import gzip
import io
import os
import stat
import tarfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

CONTAINERS = ("tar.gz", "tar", "zip", "gz", "plain", "folder")
HUGE_LINE = 4 * 1024 * 1024 + 16  # just past parse.MAX_LINE_BYTES
OPENSSL_ERRORS = (
    "self signed certificate",
    "self-signed certificate",
    "self signed certificate in certificate chain",
    "unable to get local issuer certificate",
    "unable to verify the first certificate",
    "certificate has expired",
    "certificate is not yet valid",
    "unsuitable certificate purpose",
    "certificate revoked",
)
HOSTS = ("vcsc", "vscs", "expc1", "expc-2.example.com", "<b>x</b>", "h\u00f6st")
SERVERS = ("cucm.steven.lab", "10.48.36.215", "imp1.example.org", "cuc1", "x" * 300)
PATHS = ("/cucm-uds/user/emusk/devices", "/CSFemusk.cnf.xml", "/<script>alert(1)</script>", "/%00/..%2f")


@dataclass
class RandomMember:
    name: str
    kind: str  # file | symlink | hardlink | archive | dir | empty
    data: bytes = b""
    target: str = ""  # link target
    children: list[RandomMember] = field(default_factory=list)
    archive: str = "tar.gz"  # for kind == "archive"


@dataclass
class RandomBundle:
    container: str
    members: list[RandomMember]
    token: str

    def __repr__(self) -> str:  # hypothesis prints this on failure: keep it readable
        names = ", ".join(f"{m.kind}:{m.name!r}({len(m.data)}B)" for m in self.members)
        return f"RandomBundle({self.container}, [{names}])"


# --- lines ---------------------------------------------------------------------------------------


def _timestamp(second: int, offset: str) -> str:
    minute, second = divmod(second % 3600, 60)
    return f"2022-07-11T18:{minute:02d}:{second:02d}.{second * 7 % 1000:03d}{offset}"


@st.composite
def expressway_lines(draw) -> list[bytes]:
    """One Expressway event (sometimes several physical lines): envelope plus a random body."""
    ts = _timestamp(draw(st.integers(0, 3599)), draw(st.sampled_from(["+02:00", "-05:00", "Z", "+05:30"])))
    host = draw(st.sampled_from(HOSTS))
    pid = draw(st.integers(1, 99999))
    txn = draw(st.integers(1, 500))
    server = draw(st.sampled_from(SERVERS))
    port = draw(st.sampled_from([8443, 6970, 6972, 443, 0, 70000]))
    route = base64.b64encode(f"steven.lab/https/{server}/{port}".encode()).decode().rstrip("=")
    path = draw(st.sampled_from(PATHS))
    head = f'{ts} {host} traffic_server[{pid}]: UTCTime="2022-07-11 16:55:26,016" Module="network.http.trafficserver"'
    bodies = [
        f'{head} Level="INFO": Detail="Receive Request" Txn-id="{txn}" TrackingID="t" Src-ip="127.0.0.1" '
        f'Src-port="35764" Last-via-addr="" Msg="GET http://vcs_control.steven.lab:8443/{route}{path} HTTP/1.1"',
        f'{head} Level="INFO": Detail="Sending Request" Txn-id="{txn}" TrackingID="t" Dst-ip="10.48.36.215" '
        f'Dst-port="{port}" Msg="GET {path} HTTP/1.1"',
        f'{head} Level="INFO": Detail="Sending Response" Txn-id="{txn}" TrackingID="" Dst-ip="127.0.0.1" '
        f'Dst-port="35766" Msg="HTTP/1.1 {draw(st.sampled_from([200, 404, 502]))} connect failed"',
        f'{ts} {host} traffic_server[{pid}]: Event="Request Allowed" Detail="Access allowed" '
        f'Username="{draw(st.sampled_from(["emusk", "<script>x</script>", ""]))}" Method="GET" '
        f'Request="https://{server}:{port}{path}"',
        f"{ts} {host} traffic_server[{pid}]: [ET_NET 0] WARNING: Core server certificate verification failed "
        f"for ({server}). Action={draw(st.sampled_from(['Terminate', 'Continue']))} "
        f"Error={draw(st.sampled_from(OPENSSL_ERRORS))} server={server}(10.48.36.215) "
        f"depth={draw(st.integers(-1, 9))}",
        f"{ts} {host} traffic_server[{pid}]: [ET_NET 2] WARNING: "
        f"{draw(st.sampled_from(['SNI', 'SAN', 'Origin hostname']))} ({server}) not in certificate. "
        f"Action=Terminate server={server}({server})",
        f"{ts} {host} traffic_server[{pid}]: [ET_NET 0] ERROR: SSL connection failed for '{server}': "
        + draw(
            st.sampled_from(
                [
                    "error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed",
                    "error:0A000086:SSL routines::certificate verify failed",
                    "error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca",
                ]
            )
        ),
        f'{head} Level="DEBUG": Detail="Receive Request" Txn-id="{txn}" TrackingID="t" Src-ip="127.0.0.1" '
        f'Src-port="1" Last-via-addr=" " HTTPMSG:\n|GET http://vcs_control.steven.lab:8443/{route}{path} '
        "HTTP/1.1\n Host: vcs_control.steven.lab:8443\n User-Agent: Jabber",
        f'{ts} {host} tvcs: UTCTime="2022-07-11 16:55:26,016" Module="network.dns" Level="DEBUG": '
        'Detail="lookup" Name="cucm"',
        f"{ts} {host} kernel: [12345.678] eth0: link up",
    ]
    return [line.encode("utf-8") for line in draw(st.sampled_from(bodies)).split("\n")]


@st.composite
def ats_lines(draw) -> list[bytes]:
    """A stock Apache Traffic Server diags.log or error.log line."""
    server = draw(st.sampled_from(SERVERS))
    error = draw(st.sampled_from(OPENSSL_ERRORS))
    second = draw(st.integers(0, 59))
    return [
        draw(
            st.sampled_from(
                [
                    f"[Nov 22 15:10:{second:02d}.188] [ET_NET 0] WARNING: Core server certificate verification "
                    f"failed for ({server}). Action=Terminate Error={error} server={server}(127.0.0.12) depth=0",
                    f"[Nov 22 15:10:{second:02d}.333] traffic_server NOTE: traffic server running",
                    f"20261122.15h10m{second:02d}s CONNECT: attempt fail [CONNECTION_ERROR] to 127.0.0.12:8443 "
                    f"for host='{server}' connection_result=ENET_SSL_CONNECT_FAILED [-20104] "
                    f"error=ENET_SSL_CONNECT_FAILED [-20104] attempts=0 url='https://{server}:8443/x'",
                ]
            )
        ).encode()
    ]


def hostile_lines() -> st.SearchStrategy[list[bytes]]:
    return st.one_of(
        st.binary(max_size=200).map(lambda data: [data]),
        st.just([b"\xff\xfe\xc3\x28 invalid utf-8 \xed\xa0\x80"]),
        st.just([b"2022-07-11T18:55:26.016+02:00 vcsc traffic_server[1]: \x00\x00 NUL body"]),
        st.just([b"2022-07-11T18:55:26.016+02:00 vcsc traffic_server[1]: " + b"A" * HUGE_LINE]),
        st.just([b"2022-07-11T25:61:99.999+99:99 vcsc traffic_server[x]: broken envelope"]),
        st.just([b""]),
    )


@st.composite
def log_text(draw) -> bytes:
    """A member's bytes: a mix of valid and hostile lines with one line ending style."""
    pieces = draw(
        st.lists(
            st.one_of(
                expressway_lines(), expressway_lines(), expressway_lines(), ats_lines(), hostile_lines()
            ),
            min_size=1,
            max_size=25,
        )
    )
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    text = ending.join(line for piece in pieces for line in piece)
    return text + ending if text and draw(st.booleans()) else text


# --- members and bundles -------------------------------------------------------------------------

FACTS = (
    b'*c xConfiguration SystemUnit Name: "vcsc"\n*c xConfiguration EdgeConfigServer UnifiedCM 1 Address: '
    b'"cucm.steven.lab"\n*c/end\n',
    b'*s SystemUnit:\n    Product: "Expressway-C"\n    Software:\n      Version: "X14.2.0"\n*s/end\n',
)


def member_names(token: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            "loggingsnapshot_vcsc_20220711_185526.txt",
            "loggingsnapshot_vcsc_20220711_185526.txt",
            "loggingsnapshot_expc2_20220711_185526.log",
            "diags.log",
            "error.log",
            "xconf_dump_vcsc_20220711_185526.txt",
            "xstat_dump_vcsc_20220711_185526.txt",
            "tmp/logs/loggingsnapshot_deep_20220711.txt",
            "renamed.bin",
            "n\u00e4me with spaces \u540d.txt",
            "ctl\x01\x1b[31m.txt",
            f"../escape-{token}.txt",
            f"../../escape2-{token}.txt",
            f"a/../../up-{token}.txt",
            f"/tmp/absolute-{token}.txt",
            f"C:\\windows-{token}.txt",
        ]
    )


@st.composite
def members(draw, token: str, depth: int = 0) -> RandomMember:
    name = draw(member_names(token))
    kinds = ["file", "file", "file", "file", "empty", "symlink", "hardlink", "dir"] + (
        ["archive"] if depth < 2 else []
    )
    kind = draw(st.sampled_from(kinds))
    if kind == "file":
        data = draw(st.sampled_from(FACTS)) if name.startswith(("xconf", "xstat")) else draw(log_text())
        return RandomMember(name, kind, data)
    if kind in ("symlink", "hardlink"):
        target = draw(st.sampled_from(["/etc/passwd", f"../../outside-{token}", "diags.log", "."]))
        return RandomMember(name, kind, target=target)
    if kind == "archive":
        children = draw(st.lists(members(token, depth + 1), max_size=3))
        archive = draw(st.sampled_from(["tar.gz", "zip", "gz"]))
        return RandomMember(f"nested-{depth}.{archive}", kind, children=children, archive=archive)
    return RandomMember(name, kind)


@st.composite
def bundles(draw) -> RandomBundle:
    token = draw(st.uuids()).hex[:12]
    container = draw(st.sampled_from(CONTAINERS))
    drawn = draw(st.lists(members(token), min_size=0 if container not in ("gz", "plain") else 1, max_size=5))
    if container in ("gz", "plain"):
        drawn = [next((m for m in drawn if m.kind == "file"), RandomMember("log.txt", "empty"))]
    return RandomBundle(container, drawn, token)


# --- writing a drawn bundle -----------------------------------------------------------------------


def archive_bytes(kind: str, items: list[RandomMember]) -> bytes:
    """The members as a .tar.gz / .tar / .zip (links and folders as archive entries), or one .gz."""
    if kind == "gz":
        first = next((m for m in items if m.kind in ("file", "empty", "archive")), None)
        return gzip.compress(_content(first) if first else b"", mtime=0)
    buffer = io.BytesIO()
    if kind == "zip":
        with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            warnings.simplefilter("ignore", UserWarning)  # duplicate member names are part of the game
            for item in items:
                _add_zip(archive, item)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz" if kind == "tar.gz" else "w") as archive:
            for item in items:
                _add_tar(archive, item)
    return buffer.getvalue()


def _content(item: RandomMember) -> bytes:
    return archive_bytes(item.archive, item.children) if item.kind == "archive" else item.data


def _add_tar(archive: tarfile.TarFile, item: RandomMember) -> None:
    info = tarfile.TarInfo(item.name)
    if item.kind in ("symlink", "hardlink"):
        info.type = tarfile.SYMTYPE if item.kind == "symlink" else tarfile.LNKTYPE
        info.linkname = item.target
        archive.addfile(info)
    elif item.kind == "dir":
        info.type = tarfile.DIRTYPE
        archive.addfile(info)
    else:
        data = _content(item)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


def _add_zip(archive: zipfile.ZipFile, item: RandomMember) -> None:
    info = zipfile.ZipInfo(item.name + ("/" if item.kind == "dir" else ""))
    if item.kind == "symlink":
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, item.target)
    elif item.kind == "hardlink":
        archive.writestr(info, item.target)  # zip has no hard links: a small file holding the target
    else:
        archive.writestr(info, b"" if item.kind == "dir" else _content(item))


def materialize(bundle: RandomBundle, folder: Path) -> Path:
    """Write the bundle into `folder` (which must exist) and return the path to analyze."""
    if bundle.container == "plain":
        path = folder / "loggingsnapshot_vcsc_20220711_185526.txt"
        path.write_bytes(_content(bundle.members[0]))
        return path
    if bundle.container == "folder":
        root = folder / "unpacked"
        root.mkdir()
        for item in bundle.members:
            _write_entry(root, item)
        return root
    path = folder / f"bundle.{bundle.container}"
    path.write_bytes(archive_bytes(bundle.container, bundle.members))
    return path


def _write_entry(root: Path, item: RandomMember) -> None:
    """A member as a real file, folder or link; names that would leave `root` are not created."""
    relative = item.name.replace("\\", "/")
    if relative.startswith("/") or ".." in relative.split("/") or ":" in relative:
        return
    path = root / relative
    if path.exists() or path.is_symlink():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if item.kind == "dir":
        path.mkdir(exist_ok=True)
    elif item.kind in ("symlink", "hardlink"):
        os.symlink(item.target, path)
    else:
        path.write_bytes(_content(item))
