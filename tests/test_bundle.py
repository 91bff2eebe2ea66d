"""The bundle stage: every input form, the source table, node facts and display names."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import SAMPLE_LOGS, tar_bytes
from logscope.bundle import (
    SOURCES,
    Member,
    identify,
    infer_role,
    open_bundle,
    parse_xconf,
    parse_xstat,
    version_from,
)
from logscope.errors import NoLogFound, UnreadableInput

SNAPSHOT = (
    b"2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: Core server "
    b"certificate verification failed for (cucm.steven.lab). Action=Terminate Error=self signed "
    b"certificate server=cucm.steven.lab(10.48.36.215) depth=0\n"
    b'2022-07-11T18:55:26.020+02:00 vcsc tvcs: UTCTime="2022-07-11 16:55:26,020" Module="x"\n'
)
DIAGS = b"[Nov 22 15:10:45.188] [ET_NET 0] WARNING: SNI (10.0.0.1) not in certificate. Action=Terminate server=10.0.0.1(10.0.0.1)\n"
ERRORLOG = b"20261122.15h10m45s CONNECT: attempt fail [CONNECTION_ERROR] to 127.0.0.12:8443 for host='127.0.0.1' connection_result=ENET_SSL_CONNECT_FAILED [-20104]\n"
XCONF_C = b"""*c xConfiguration SystemUnit Name: "vcsc"
*c xConfiguration EdgeConfigServer VerifyOriginServer: "On"
*c xConfiguration Ciphers UcClientTlsCiphers: "EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:!PSK:!eNULL:!aNULL:!aDH"
*c xConfiguration Zones Zone 2 Type: "TraversalClient"
"""
XCONF_E = b"""*c xConfiguration SystemUnit Name: "vcse"
*c xConfiguration Zones Zone 3 Type: "TraversalServer"
*c xConfiguration Zones Zone 3 Name: "UC traversal"
"""
XSTAT_BLOCK = b"""*s SystemUnit:
    Product: "TANDBERG VCS"
    Uptime: 86400
    Software:
      Version: "X14.2.1"
      Name: "s42700"
    Hardware:
      Version: "2.0"
*s/end
"""
XSTAT_FLAT = b'*s SystemUnit Software Version: "X12.7.1"\n*s SystemUnit Product: "TANDBERG VCS"\n'

NODE_C = {
    "loggingsnapshot_vcsc_2022-07-11_18-55-26.txt": SNAPSHOT,
    "xconf_dump_vcsc_2022-07-11_18-55-26.txt": XCONF_C,
    "xstat_dump_vcsc_2022-07-11_18-55-26.txt": XSTAT_BLOCK,
    "ca_vcsc_2022-07-11_18-55-26.pem": b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}


def write_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    path.write_bytes(tar_bytes(files, mode))
    return path


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def read(member: Member) -> bytes:
    with member.open() as stream:
        return stream.read()


@pytest.mark.parametrize(
    ("name", "mode"),
    [("case.tar.gz", "w:gz"), ("case.tgz", "w:gz"), ("case.tar", "w"), ("case.zip", None)],
)
def test_archive_forms_yield_the_log_and_facts(tmp_path, name, mode):
    path = tmp_path / name
    write_zip(path, NODE_C) if mode is None else write_tar(path, NODE_C, mode)
    with open_bundle(path) as bundle:
        assert bundle.inputs == [str(path)]
        assert [m.source for m in bundle.logs] == ["log"]
        log = bundle.logs[0]
        assert read(log) == SNAPSHOT
        assert log.size == len(SNAPSHOT)
        assert log.host == "vcsc"
        assert log.display() == f"{name}:loggingsnapshot_vcsc_2022-07-11_18-55-26.txt"
        assert bundle.sources_present() == {"log", "xconf", "xstat", "ca_pem"}
        assert [node.host for node in bundle.nodes] == ["vcsc"]


def test_single_gzip_log_is_decompressed(tmp_path):
    path = tmp_path / "loggingsnapshot_vcsc_20220711.txt.gz"
    path.write_bytes(gzip.compress(SNAPSHOT))
    with open_bundle(path) as bundle:
        (log,) = bundle.logs
        assert read(log) == SNAPSHOT and log.host == "vcsc"
        assert log.display() == "loggingsnapshot_vcsc_20220711.txt.gz:loggingsnapshot_vcsc_20220711.txt"


def test_unpacked_folder_is_read_in_place(tmp_path):
    folder = tmp_path / "diag"
    (folder / "sub").mkdir(parents=True)
    for name, data in NODE_C.items():
        (folder / "sub" / name).write_bytes(data)
    with open_bundle(folder) as bundle:
        (log,) = bundle.logs
        with log.open() as stream:
            assert Path(stream.name) == folder / "sub" / "loggingsnapshot_vcsc_2022-07-11_18-55-26.txt"
        assert log.path == "sub/loggingsnapshot_vcsc_2022-07-11_18-55-26.txt"
        assert log.display() == "diag/sub/loggingsnapshot_vcsc_2022-07-11_18-55-26.txt"
        assert not any(bundle.workdir.iterdir()), "nothing is copied for a folder"


def test_folder_of_node_archives_gives_one_node_each(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    write_tar(folder / "vcsc.tar.gz", NODE_C)
    write_zip(
        folder / "vcsc2.zip",
        {
            "loggingsnapshot_vcsc2_20220711.txt": SNAPSHOT.replace(b" vcsc ", b" vcsc2 "),
            "xstat_dump_vcsc2_20220711.txt": XSTAT_FLAT,
        },
    )
    with open_bundle(folder) as bundle:
        assert sorted(m.host for m in bundle.logs) == ["vcsc", "vcsc2"]
        nodes = {node.host: node for node in bundle.nodes}
        assert nodes["vcsc"].version == "X14.2.1" and nodes["vcsc"].role == "Expressway-C"
        assert nodes["vcsc2"].version == "X12.7.1" and nodes["vcsc2"].role == "unknown"
        assert nodes["vcsc2"].sources == {
            "log": "case/vcsc2.zip:loggingsnapshot_vcsc2_20220711.txt",
            "xstat": "case/vcsc2.zip:xstat_dump_vcsc2_20220711.txt",
        }


def test_case_tarball_holding_node_archives_is_opened_recursively(tmp_path):
    node_c = write_tar(tmp_path / "vcsc.tar.gz", NODE_C).read_bytes()
    node_e = write_zip(
        tmp_path / "vcse.zip",
        {"loggingsnapshot_vcse_20220711.txt": SNAPSHOT, "xconf_dump_vcse_20220711.txt": XCONF_E},
    ).read_bytes()
    case = write_tar(tmp_path / "case.tar.gz", {"nodes/vcsc.tar.gz": node_c, "nodes/vcse.zip": node_e})
    with open_bundle(case) as bundle:
        displays = sorted(m.display() for m in bundle.logs)
        assert displays == [
            "case.tar.gz:nodes/vcsc.tar.gz:loggingsnapshot_vcsc_2022-07-11_18-55-26.txt",
            "case.tar.gz:nodes/vcse.zip:loggingsnapshot_vcse_20220711.txt",
        ]
        assert {m.path for m in bundle.logs} >= {"nodes/vcse.zip:loggingsnapshot_vcse_20220711.txt"}
        roles = {node.host: node.role for node in bundle.nodes}
        assert roles == {"vcsc": "Expressway-C", "vcse": "Expressway-E"}


def test_plain_log_file(tmp_path):
    path = tmp_path / "loggingsnapshot_vcsc_20220711.txt"
    path.write_bytes(SNAPSHOT)
    with open_bundle(str(path)) as bundle:
        (log,) = bundle.logs
        assert log.path == str(path) and log.display() == path.name and log.host == "vcsc"
        assert [node.host for node in bundle.nodes] == ["vcsc"]


def test_binary_file_object_and_bytes(tmp_path):
    archive = write_tar(tmp_path / "x.tar.gz", NODE_C).read_bytes()
    with open_bundle(io.BytesIO(archive)) as bundle:
        assert bundle.inputs == ["<file object>"]
        assert bundle.logs[0].display() == "<file object>:loggingsnapshot_vcsc_2022-07-11_18-55-26.txt"
    with open_bundle(SNAPSHOT) as bundle:
        assert bundle.inputs == ["<bytes>"]
        assert read(bundle.logs[0]) == SNAPSHOT
        assert bundle.logs[0].display() == "<bytes>"


def test_text_file_object_is_refused_with_a_hint():
    with pytest.raises(UnreadableInput, match="binary mode"):
        open_bundle(io.StringIO(SNAPSHOT.decode()))


def test_stdin_is_copied(monkeypatch):
    fake = io.TextIOWrapper(io.BytesIO(gzip.compress(DIAGS)))
    monkeypatch.setattr("sys.stdin", fake)
    with open_bundle("-") as bundle:
        (log,) = bundle.logs
        assert log.source == "ats_diags" and log.input == "<stdin>"
        assert log.display() == "<stdin>:<gunzipped>"
        assert read(log) == DIAGS


def test_several_inputs_make_one_bundle(tmp_path):
    first = tmp_path / "loggingsnapshot_vcsc_20220711.txt"
    first.write_bytes(SNAPSHOT)
    second = write_tar(tmp_path / "ats.tar.gz", {"log/diags.log": DIAGS, "log/error.log": ERRORLOG})
    with open_bundle([first, second]) as bundle:
        assert bundle.inputs == [str(first), str(second)]
        assert [m.source for m in bundle.logs] == ["log", "ats_diags", "ats_error"]
        assert bundle.sources_present() == {"log", "ats_diags", "ats_error"}


def test_archive_type_comes_from_magic_bytes_not_extension(tmp_path):
    zipped_as_tar = write_zip(tmp_path / "really-a-zip.tar.gz", {"loggingsnapshot_a_20220711.txt": SNAPSHOT})
    tar_as_txt = write_tar(tmp_path / "notes.txt", {"loggingsnapshot_b_20220711.txt": SNAPSHOT})
    with open_bundle([zipped_as_tar, tar_as_txt]) as bundle:
        assert sorted(m.host for m in bundle.logs) == ["a", "b"]


@pytest.mark.parametrize(
    ("name", "content", "source"),
    [
        ("node1.log", SNAPSHOT, "log"),
        ("messages.txt", SNAPSHOT, "log"),
        ("traffic.out", DIAGS, "ats_diags"),
        ("ats-errors", ERRORLOG, "ats_error"),
        ("config.cfg", XCONF_C, "xconf"),
        ("status", XSTAT_FLAT, "xstat"),
    ],
)
def test_renamed_member_is_found_by_content(name, content, source):
    spec, host, _ = identify(name, content)
    assert spec is not None and spec.key == source and host is None


def test_renamed_log_inside_an_archive(tmp_path):
    path = write_tar(tmp_path / "b.tar.gz", {"var/log/node1.log": SNAPSHOT, "README": b"hello\n"})
    with open_bundle(path) as bundle:
        assert [(m.path, m.source, m.host) for m in bundle.members] == [("var/log/node1.log", "log", None)]
        assert [(s.path, s.reason) for s in bundle.skipped] == [
            ("README", "not a file logscope reads (no name pattern or content check matched)")
        ]


def test_name_needs_its_content_check():
    spec, _, why = identify("loggingsnapshot_vcsc_20220711.txt", b"\x00\x01binary\xff" * 100)
    assert spec is None and "loggingsnapshot" in why
    spec, _, _ = identify("error.log", b"[Mon Jul 11 18:55:26.016 2022] [core:error] apache httpd\n")
    assert spec is None, "an Apache httpd error.log is not traffic-server's"


def test_named_member_failing_its_check_falls_back_to_content():
    spec, host, _ = identify("diags.log", SNAPSHOT)
    assert spec is not None and spec.key == "log" and host is None


def test_name_patterns_are_ordered_specific_first():
    log = next(spec for spec in SOURCES if spec.key == "log")
    assert log.name_patterns[0].match("loggingsnapshot_vcs_control_2022-07-11_18-55-26.txt")["host"] == (
        "vcs_control"
    )
    assert identify("loggingsnapshot_vcsc_20220711_185526.txt", SNAPSHOT)[1] == "vcsc"
    assert identify("loggingsnapshot.txt", SNAPSHOT)[:2] == (log, None)
    pcap = identify("eth0_diagnostic_logging_tcpdump00_vcsc_2022-07-11_18-55-26.pcap", b"\xd4\xc3\xb2\xa1")
    assert pcap[0].key == "pcap" and pcap[1] == "vcsc"
    assert identify("capture.pcap", b"\xd4\xc3\xb2\xa1")[:2] == (pcap[0], None)
    assert identify("server_vcsc_20220711.pem", b"-----BEGIN")[0].key == "server_pem"


def test_source_table_keys_and_hints():
    assert [spec.key for spec in SOURCES] == [
        "log",
        "ats_diags",
        "ats_error",
        "xconf",
        "xstat",
        "pcap",
        "ca_pem",
        "server_pem",
        "client_pem",
    ]
    assert [spec.key for spec in SOURCES if spec.is_log] == ["log", "ats_diags", "ats_error"]
    assert all(spec.description and spec.collect_hint for spec in SOURCES)


def test_missing_sources_are_visible(tmp_path):
    path = write_tar(tmp_path / "b.tar.gz", {"loggingsnapshot_vcsc_20220711.txt": SNAPSHOT})
    with open_bundle(path) as bundle:
        assert bundle.sources_present() == {"log"}
        (node,) = bundle.nodes
        assert (node.host, node.version, node.role, node.config) == ("vcsc", "unknown", "unknown", {})
        assert node.sources == {"log": "b.tar.gz:loggingsnapshot_vcsc_20220711.txt"}


def test_xconf_items_are_flat_and_unquoted():
    config = parse_xconf(XCONF_C.decode().splitlines())
    assert config["SystemUnit Name"] == "vcsc"
    assert config["EdgeConfigServer VerifyOriginServer"] == "On"
    assert config["Ciphers UcClientTlsCiphers"].startswith("EECDH:EDH:HIGH:-AES256+SHA:")
    assert config["Zones Zone 2 Type"] == "TraversalClient"


def test_xstat_block_and_flat_forms():
    block = parse_xstat(XSTAT_BLOCK.decode().splitlines())
    assert block["SystemUnit Software Version"] == "X14.2.1"
    assert block["SystemUnit Hardware Version"] == "2.0"
    assert block["SystemUnit Product"] == "TANDBERG VCS"
    assert version_from(block) == "X14.2.1"
    assert version_from(parse_xstat(XSTAT_FLAT.decode().splitlines())) == "X12.7.1"


def test_xml_status_dump_gives_the_version():
    xml = '<Status><SystemUnit item="1"><Software item="1"><Version item="1">X14.0.7</Version>'
    assert version_from({}, xml) == "X14.0.7"


@pytest.mark.parametrize(
    ("config", "status", "role"),
    [
        ({"EdgeConfigServer VerifyOriginServer": "On"}, {}, "Expressway-C"),
        ({"Zones Zone 3 Type": "TraversalServer"}, {}, "Expressway-E"),
        ({"Zones Zone 2 Type": "TraversalClient"}, {}, "unknown"),
        ({}, {}, "unknown"),
        (
            {"EdgeConfigServer VerifyOriginServer": "On"},
            {"SystemUnit ProductType": "Expressway-E"},
            "Expressway-E",
        ),
        ({}, {"SystemUnit Role": "Expressway-C"}, "Expressway-C"),
    ],
)
def test_role_rule(config, status, role):
    assert infer_role(config, status) == role


def test_node_facts_from_dumps_without_host_in_their_names(tmp_path):
    folder = tmp_path / "node"
    folder.mkdir()
    (folder / "node1.log").write_bytes(SNAPSHOT)
    (folder / "xconf.txt").write_bytes(XCONF_C)
    (folder / "xstat.txt").write_bytes(XSTAT_BLOCK)
    with open_bundle(folder) as bundle:
        (node,) = bundle.nodes
        assert (node.host, node.version, node.role) == ("vcsc", "X14.2.1", "Expressway-C")
        assert node.sources == {"log": "node/node1.log", "xconf": "node/xconf.txt", "xstat": "node/xstat.txt"}
        assert node.config["SystemUnit Name"] == "vcsc"


def test_missing_path_is_unreadable_input(tmp_path):
    missing = tmp_path / "nope.tar.gz"
    with pytest.raises(UnreadableInput, match=r"nope\.tar\.gz: no such file or folder"):
        open_bundle(missing)


def test_unrelated_file_is_no_log_found(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = 'x'\n")
    with pytest.raises(NoLogFound, match=r"pyproject\.toml: no Expressway or traffic-server log found"):
        open_bundle(path)


def test_bundle_is_a_context_manager_that_removes_its_folder(tmp_path):
    path = write_tar(tmp_path / "b.tar.gz", NODE_C)
    with open_bundle(path) as bundle:
        workdir = bundle.workdir
        assert workdir.is_dir() and any(workdir.iterdir())
        for member in bundle.members:
            with member.open() as stream:
                assert Path(stream.name).parent == workdir, "archive members are extracted into it"
    assert not workdir.exists()


def test_unnamed_dump_joins_the_host_its_folder_names(tmp_path):
    folder = tmp_path / "node"
    folder.mkdir()
    (folder / "loggingsnapshot_vcsc_20220711.txt").write_bytes(SNAPSHOT)
    (folder / "xconf.txt").write_bytes(XCONF_C.replace(b'Name: "vcsc"', b'Name: "VCS-C1"'))
    with open_bundle(folder) as bundle:
        (node,) = bundle.nodes
        assert node.host == "vcsc" and node.role == "Expressway-C"
        assert set(node.sources) == {"log", "xconf"}


def test_leading_dot_slash_is_not_part_of_the_member_path(tmp_path):
    path = write_tar(tmp_path / "b.tar.gz", {"./loggingsnapshot_vcsc_20220711.txt": SNAPSHOT})
    with open_bundle(path) as bundle:
        assert bundle.logs[0].path == "loggingsnapshot_vcsc_20220711.txt"


def test_every_input_without_a_log_is_named_in_a_warning(tmp_path):
    log = tmp_path / "loggingsnapshot_vcsc_20220711.txt"
    log.write_bytes(SNAPSHOT)
    random_bytes = tmp_path / "random.bin"
    random_bytes.write_bytes(bytes(range(256)) * 16)
    folder = tmp_path / "nolog_folder"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    xconf = tmp_path / "xconf_dump_vcsc_20220711.txt"
    xconf.write_bytes(XCONF_C)
    nolog = write_tar(tmp_path / "nolog.tar.gz", {"README": b"hello\n", "notes.txt": b"x\n"})
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(write_tar(tmp_path / "whole.tar.gz", NODE_C).read_bytes()[:40])
    inputs = [log, random_bytes, folder, empty, xconf, nolog, broken]
    with open_bundle(inputs) as bundle:
        assert [m.input for m in bundle.logs] == [str(log)]
        assert bundle.warnings == [
            f"{random_bytes}: no log file found (not an archive, and no line looks like a log)",
            f"{folder}: no log file found (1 file looked at, none is a log: readme.txt)",
            f"{empty}: no log file found (an empty folder)",
            f"{xconf}: no log file found (not an archive; it is the configuration dump "
            "(xconf_dump_<host>_<timestamp>.txt), not a log)",
            f"{nolog}: no log file found (2 members looked at, none is a log: README, notes.txt)",
            f"{broken}: no log file found (damaged archive broken.tar.gz (Compressed file ended before "
            "the end-of-stream marker was reached); nothing read before the damage is a log)",
        ]
        assert bundle.nodes[0].config["SystemUnit Name"] == "vcsc", "the dump is still used"


def test_an_input_with_a_log_adds_no_warning(tmp_path):
    first = tmp_path / "loggingsnapshot_vcsc_20220711.txt"
    first.write_bytes(SNAPSHOT)
    second = write_tar(tmp_path / "ats.tar.gz", {"log/diags.log": DIAGS, "README": b"hello\n"})
    with open_bundle([first, second]) as bundle:
        assert bundle.warnings == []


def test_several_inputs_none_with_a_log_is_still_no_log_found(tmp_path):
    first = tmp_path / "random.bin"
    first.write_bytes(bytes(range(256)))
    second = tmp_path / "notes.txt"
    second.write_text("hello\n")
    with pytest.raises(NoLogFound, match=r"random\.bin, .*notes\.txt: no Expressway or traffic-server log"):
        open_bundle([first, second])


def test_an_archive_of_expressway_files_without_the_log_names_them_and_says_what_to_collect(tmp_path):
    """Issue 11, item 4: the dumps and certificates are there, the diagnostic log is not."""
    source = SAMPLE_LOGS / "node-certificates" / "expc1.tar.gz"
    stripped = tmp_path / "no-log.tar.gz"
    with tarfile.open(source) as original, tarfile.open(stripped, "w:gz") as target:
        for member in original:
            if member.isfile() and "loggingsnapshot" not in member.name:
                target.addfile(member, original.extractfile(member))
    with pytest.raises(NoLogFound) as raised:
        open_bundle(stripped)
    message = str(raised.value)
    assert "no Expressway or traffic-server log found" in message
    assert "xconf_dump_expc1_" in message and "server_expc1_" in message
    assert "but no diagnostic log: collect it from Maintenance > Diagnostics > Diagnostic logging" in message
