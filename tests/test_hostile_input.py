"""Hostile bundles: escapes, links, bombs, damage, nesting, odd members. Never a traceback, never a write
outside the bundle's own temporary folder."""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import logscope
from logscope.bundle import open_bundle
from logscope.errors import BundleError, CorruptArchive, NoLogFound, SizeLimitExceeded

LOG = b"2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: x\n"
GOOD = "loggingsnapshot_vcsc_20220711.txt"
MIB = 1024 * 1024
ZEROS_10_MIB = gzip.compress(bytes(10 * MIB), compresslevel=9)  # one gzip member, about 10 KiB


def add(tar: tarfile.TarFile, name: str, data: bytes = b"", **fields) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if data else None)


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


# --- escapes and links ---------------------------------------------------------------------------


ESCAPES = ["../../escaped-logscope.txt", "/tmp/absolute-logscope.txt", "a/../../escaped2-logscope.txt"]


def test_tar_escaping_member_paths_are_refused(tmp_path, private_tmp):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in ESCAPES:
            add(tar, name, LOG)
        add(tar, GOOD, LOG)
    before = tree(tmp_path)
    with open_bundle(path) as bundle:
        assert [m.path for m in bundle.logs] == [GOOD]
        reasons = {skip.path: skip.reason for skip in bundle.skipped}
        assert set(reasons) == set(ESCAPES)
        assert reasons["../../escaped-logscope.txt"].startswith("refused: member path escapes the bundle")
        assert reasons["/tmp/absolute-logscope.txt"].startswith("refused: absolute member path")
        assert all(name in reasons[name] for name in ESCAPES), "the reason names the member"
    assert tree(tmp_path) == before, "nothing written outside the bundle's folder (which is gone)"
    assert not Path("/tmp/absolute-logscope.txt").exists()


def test_zip_escaping_names_and_symlink_entries_are_refused(tmp_path, private_tmp):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in [*ESCAPES, "..\\..\\windows-logscope.txt", "C:/drive-logscope.txt"]:
            archive.writestr(name, LOG)
        link = zipfile.ZipInfo(GOOD.replace("vcsc", "link"))
        link.external_attr = (0o120777 << 16) | 0x20
        archive.writestr(link, "/etc/passwd")
        archive.writestr(GOOD, LOG)
    before = tree(tmp_path)
    with open_bundle(path) as bundle:
        assert [m.path for m in bundle.logs] == [GOOD]
        reasons = {skip.path: skip.reason for skip in bundle.skipped}
        assert len(reasons) == 6 and all(reason.startswith("refused: ") for reason in reasons.values())
        assert reasons[link.filename].startswith("refused: symbolic link")
    assert tree(tmp_path) == before


def test_tar_symlinks_and_hardlinks_are_refused(tmp_path, private_tmp):
    path = tmp_path / "links.tar"
    with tarfile.open(path, "w") as tar:
        add(tar, "loggingsnapshot_sym_20220711.txt", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add(tar, "loggingsnapshot_hard_20220711.txt", type=tarfile.LNKTYPE, linkname="../../etc/shadow")
        add(tar, GOOD, LOG)
    with open_bundle(path) as bundle:
        assert [m.path for m in bundle.logs] == [GOOD]
        reasons = [skip.reason for skip in bundle.skipped]
        assert reasons == [
            "refused: symbolic link (loggingsnapshot_sym_20220711.txt -> /etc/passwd)",
            "refused: hard link (loggingsnapshot_hard_20220711.txt -> ../../etc/shadow)",
        ]


def test_device_and_fifo_members_are_skipped(tmp_path):
    path = tmp_path / "devices.tar"
    with tarfile.open(path, "w") as tar:
        add(tar, "dev/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
        add(tar, "dev/sda", type=tarfile.BLKTYPE, devmajor=8, devminor=0)
        add(tar, "loggingsnapshot_fifo_20220711.txt", type=tarfile.FIFOTYPE)
        add(tar, GOOD, LOG)
    with open_bundle(path) as bundle:
        assert [m.path for m in bundle.logs] == [GOOD]
        assert [skip.path for skip in bundle.skipped] == [
            "dev/null",
            "dev/sda",
            "loggingsnapshot_fifo_20220711.txt",
        ]
        assert all("not a regular file" in skip.reason for skip in bundle.skipped)


def test_folder_links_and_fifos_are_not_followed_or_opened(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.log").write_bytes(LOG)
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / GOOD).write_bytes(LOG)
    (folder / "linked.log").symlink_to(outside / "secret.log")
    (folder / "linked-dir").symlink_to(outside)
    os.mkfifo(folder / "pipe.log")  # opening it would block forever
    with open_bundle(folder) as bundle:
        assert [m.path for m in bundle.logs] == [GOOD]
        reasons = {skip.path: skip.reason for skip in bundle.skipped}
        assert reasons == {
            "linked.log": "refused: symbolic link (not followed)",
            "linked-dir": "refused: symbolic link (not followed)",
            "pipe.log": "skipped: device, fifo or socket, not a regular file",
        }


def test_unprintable_member_names_are_made_safe(tmp_path):
    path = tmp_path / "names.tar"
    with tarfile.open(path, "w", encoding="utf-8", errors="surrogateescape") as tar:
        add(tar, "bad\x1b[31m\udcffname.bin", b"\x00" * 10)
        add(tar, GOOD, LOG)
    with open_bundle(path) as bundle:
        (skip,) = bundle.skipped
        assert skip.path == "bad?[31m\ufffdname.bin"
        skip.path.encode("utf-8")


# --- size cap and bombs ------------------------------------------------------------------------------


def gzip_bomb(head: bytes, copies: int) -> bytes:
    """`head` then copies x 10 MiB of zeros, as concatenated gzip members (cheap to build)."""
    return gzip.compress(head) + ZEROS_10_MIB * copies


def test_gzip_bomb_stops_at_the_cap(tmp_path, private_tmp):
    path = tmp_path / f"{GOOD}.gz"
    path.write_bytes(gzip_bomb(LOG, 2000))  # 20 GB of zeros in 20 MB
    started = time.perf_counter()
    with pytest.raises(SizeLimitExceeded, match=r"size cap of 10\.0 MiB reached before any log was read"):
        open_bundle(path, max_bytes=10 * MIB)
    assert time.perf_counter() - started < 5, "reading stops at the cap, it does not inflate 20 GB"
    assert not any(private_tmp.iterdir()), "the temporary folder is removed when opening fails"


def test_tar_member_bomb_keeps_the_good_log_and_warns(tmp_path):
    header = tarfile.TarInfo(f"bomb_{GOOD}")
    header.size = len(LOG) + 2000 * 10 * MIB
    tar_head = tarfile.TarInfo(GOOD)
    tar_head.size = len(LOG)
    first = tar_head.tobuf(tarfile.PAX_FORMAT) + LOG.ljust(512, b"\0")
    end = bytes(1024)
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(
        gzip.compress(first + header.tobuf(tarfile.PAX_FORMAT) + LOG)
        + ZEROS_10_MIB * 2000
        + gzip.compress(bytes(512 - len(LOG)) + end)
    )
    started = time.perf_counter()
    with open_bundle(path, max_bytes=10 * MIB) as bundle:
        assert time.perf_counter() - started < 5
        assert [m.path for m in bundle.logs] == [GOOD]
        assert bundle.warnings == [
            "size cap of 10.0 MiB reached: 2 item(s) not read (raise --max-bytes to read them)"
        ]
        assert [skip.path for skip in bundle.skipped] == [f"bomb_{GOOD}", str(path)]
        assert all(skip.reason.startswith("size cap of 10.0 MiB reached") for skip in bundle.skipped)
        held = sum(f.stat().st_size for f in bundle.workdir.iterdir())
        assert held == len(LOG), "the partial bomb was removed"


def test_unread_member_still_counts_when_skipping_it_inflates(tmp_path):
    """A compressed tar must inflate a member to skip it: a 20 GB junk member stops the walk."""
    junk = tarfile.TarInfo("junk.bin")
    junk.size = 2000 * 10 * MIB
    path = tmp_path / "junk.tar.gz"
    path.write_bytes(gzip.compress(junk.tobuf(tarfile.PAX_FORMAT)) + ZEROS_10_MIB * 2000)
    started = time.perf_counter()
    with pytest.raises(SizeLimitExceeded):
        open_bundle(path, max_bytes=10 * MIB)
    assert time.perf_counter() - started < 5


def test_zip_bomb_member_is_cut_at_the_cap(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(GOOD, LOG)
        with archive.open(f"bomb_{GOOD}", "w", force_zip64=True) as member:
            member.write(LOG)
            for _ in range(20):
                member.write(bytes(10 * MIB))
    with open_bundle(path, max_bytes=10 * MIB) as bundle:
        assert [m.path for m in bundle.logs] == [GOOD]
        assert bundle.warnings[0].startswith("size cap of 10.0 MiB reached")
        assert [skip.path for skip in bundle.skipped] == [f"bomb_{GOOD}"]


def test_the_cap_is_shared_across_inputs(tmp_path):
    first = tmp_path / "a.gz"
    first.write_bytes(gzip.compress(LOG + bytes(6 * MIB)))
    second = tmp_path / "b.gz"
    second.write_bytes(gzip.compress(LOG + bytes(6 * MIB)))
    with open_bundle([first, second], max_bytes=10 * MIB) as bundle:
        assert [m.input for m in bundle.logs] == [str(first)]
        assert [skip.input for skip in bundle.skipped] == [str(second)]


# --- damage ------------------------------------------------------------------------------------------


def numbered_log(count: int) -> bytes:
    """`count` log lines, each numbered and padded with random hex so that it hardly compresses."""
    return b"".join(
        b"2022-07-11T18:55:26.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: line %d %s\n"
        % (number, os.urandom(40).hex().encode())
        for number in range(1, count + 1)
    )


def cut_after_complete_lines(kept: bytes, whole: bytes) -> None:
    assert kept and kept.endswith(b"\n"), "no half line is kept"
    assert whole.startswith(kept) and len(kept) < len(whole)


def test_truncated_tar_gz_keeps_the_cut_log_up_to_its_last_complete_line(tmp_path):
    text = numbered_log(5000)
    whole = tmp_path / "whole.tar.gz"
    with tarfile.open(whole, "w:gz") as tar:
        add(tar, GOOD, text)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 9 // 10])
    with open_bundle(cut) as bundle:
        (log,) = bundle.logs
        assert log.path == GOOD
        with log.open() as stream:
            kept = stream.read()
        cut_after_complete_lines(kept, text)
        assert len(kept) > len(text) * 8 // 10, "the bytes read before the damage are kept"
        (warning,) = bundle.warnings
        assert re.fullmatch(
            rf"{re.escape(str(cut))}: damaged archive cut\.tar\.gz \(Compressed file ended before the "
            rf"end-of-stream marker was reached\): {GOOD} is cut after \d+ bytes; analyzed what was read",
            warning,
        )
        (skip,) = bundle.skipped
        assert skip.path == str(cut)
        assert skip.reason.startswith("damaged archive (") and f"{GOOD} is cut after" in skip.reason


def test_truncated_plain_tar_keeps_the_cut_log(tmp_path):
    text = numbered_log(2000)
    whole = tmp_path / "whole.tar"
    with tarfile.open(whole, "w") as tar:
        add(tar, GOOD, text)
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole.read_bytes()[: len(text) // 2])
    with open_bundle(cut) as bundle:
        (log,) = bundle.logs
        with log.open() as stream:
            cut_after_complete_lines(stream.read(), text)
        (warning,) = bundle.warnings
        assert "damaged archive cut.tar (unexpected end of data)" in warning
        assert warning.endswith("; analyzed what was read")


def test_truncated_tar_gz_without_a_complete_line_of_a_log_is_corrupt(tmp_path):
    whole = tmp_path / "whole.tar.gz"
    with tarfile.open(whole, "w:gz") as tar:
        add(tar, GOOD, LOG.rstrip(b"\n") + os.urandom(300_000).replace(b"\n", b" "))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[:150_000])
    with pytest.raises(CorruptArchive, match=r"^.*cut\.tar\.gz: damaged archive cut\.tar\.gz \([^)]*\)$"):
        open_bundle(cut)


def test_truncated_tar_gz_keeps_the_logs_read_before_the_damage(tmp_path):
    whole = tmp_path / "whole.tar.gz"
    with tarfile.open(whole, "w:gz") as tar:
        add(tar, GOOD, LOG)
        add(tar, "noise.bin", os.urandom(300_000))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[:150_000])
    with open_bundle(cut) as bundle:
        assert [m.path for m in bundle.logs] == [GOOD]
        (warning,) = bundle.warnings
        assert warning.startswith(f"{cut}: damaged archive cut.tar.gz (") and warning.endswith(
            "kept what was read"
        )
        assert bundle.skipped[-1].path == str(cut) and "damaged archive" in bundle.skipped[-1].reason


@pytest.mark.parametrize("lines", [100, 3000], ids=["cut-in-the-first-64k", "cut-later"])
def test_truncated_gzip_log_keeps_every_complete_line_read(tmp_path, lines):
    text = numbered_log(lines)
    path = tmp_path / f"{GOOD}.gz"
    path.write_bytes(gzip.compress(text)[: len(gzip.compress(text)) * 9 // 10])
    with open_bundle(path) as bundle:
        (log,) = bundle.logs
        with log.open() as stream:
            kept = stream.read()
        cut_after_complete_lines(kept, text)
        with gzip.open(path) as raw:
            readable, _ = _read_to_the_cut(raw)
        assert kept == readable[: readable.rfind(b"\n") + 1], "a gzip log loses nothing before the cut"
        (warning,) = bundle.warnings
        assert warning == (
            f"{path}: damaged archive {path.name} (Compressed file ended before the end-of-stream marker "
            f"was reached): {GOOD} is cut after {len(readable)} bytes; analyzed what was read"
        )
        assert len(bundle.skipped) == 1 and "is cut after" in bundle.skipped[0].reason


def _read_to_the_cut(stream) -> tuple[bytes, BaseException | None]:
    parts = []
    try:
        while part := stream.read1(4096):
            parts.append(part)
    except EOFError as error:
        return b"".join(parts), error
    return b"".join(parts), None


def test_truncated_gzip_without_a_complete_line_is_corrupt(tmp_path):
    path = tmp_path / f"{GOOD}.gz"
    path.write_bytes(gzip.compress(LOG.rstrip(b"\n") + os.urandom(100_000).replace(b"\n", b" "))[:50_000])
    with pytest.raises(CorruptArchive, match=r"damaged archive [^:]*\(Compressed file ended [^)]*\)$"):
        open_bundle(path)


def test_gzip_cut_inside_its_header_is_corrupt(tmp_path):
    path = tmp_path / "tiny.gz"
    path.write_bytes(gzip.compress(LOG)[:6])
    with pytest.raises(CorruptArchive, match=r"damaged archive tiny\.gz"):
        open_bundle(path)


def test_cut_node_archive_inside_a_case_tarball_keeps_its_log(tmp_path):
    text = numbered_log(4000)
    node = io.BytesIO()
    with tarfile.open(fileobj=node, mode="w:gz") as tar:
        add(tar, GOOD, text)
    whole = tmp_path / "case.tar"
    with tarfile.open(whole, "w") as tar:
        add(tar, "nodes/vcsc.tar.gz", node.getvalue())
    cut = tmp_path / "cut-case.tar"
    cut.write_bytes(whole.read_bytes()[: 512 + len(node.getvalue()) // 2])
    with open_bundle(cut) as bundle:
        (log,) = bundle.logs
        assert log.display() == f"cut-case.tar:nodes/vcsc.tar.gz:{GOOD}"
        with log.open() as stream:
            cut_after_complete_lines(stream.read(), text)
        inner, outer = bundle.warnings
        assert inner.startswith(f"{cut}: damaged archive cut-case.tar:nodes/vcsc.tar.gz (")
        assert inner.endswith("; analyzed what was read") and f"{GOOD} is cut after" in inner
        assert re.fullmatch(
            rf"{re.escape(str(cut))}: damaged archive cut-case\.tar \(unexpected end of data\): "
            r"nodes/vcsc\.tar\.gz is cut after \d+ bytes; read what it held before the cut",
            outer,
        )


def corrupt_zip(path: Path, members: dict[str, bytes], broken: str) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = bytearray(path.read_bytes())
    at = data.index(members[broken]) + 5  # stored: the member's bytes appear verbatim
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_zip_with_a_bad_crc_is_corrupt(tmp_path):
    path = tmp_path / "crc.zip"
    corrupt_zip(path, {GOOD: LOG}, GOOD)
    with pytest.raises(CorruptArchive, match=r"crc\.zip: damaged member crc\.zip:loggingsnapshot.*CRC"):
        open_bundle(path)


def test_zip_with_one_bad_member_keeps_the_others(tmp_path):
    path = tmp_path / "crc.zip"
    other = "loggingsnapshot_vcse_20220711.txt"
    corrupt_zip(path, {GOOD: LOG, other: LOG.replace(b"vcsc", b"vcse")}, other)
    with open_bundle(path) as bundle:
        assert [m.path for m in bundle.logs] == [GOOD]
        assert [skip.path for skip in bundle.skipped] == [other]
        assert "CRC" in bundle.skipped[0].reason and "CRC" in bundle.warnings[0]


def test_not_really_a_zip_is_corrupt(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))
    with pytest.raises(CorruptArchive, match=r"fake\.zip: damaged archive"):
        open_bundle(path)


# --- nesting -----------------------------------------------------------------------------------------


def nest(levels: int, tmp_path: Path) -> Path:
    """level1.tar.gz > level2.tar.gz > ... > levelN.tar.gz, each level holding its own log."""
    inner = b""
    for level in range(levels, 0, -1):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            add(tar, f"loggingsnapshot_level{level}_20220711.txt", LOG)
            if inner:
                add(tar, f"level{level + 1}.tar.gz", inner)
        inner = buffer.getvalue()
    path = tmp_path / "level1.tar.gz"
    path.write_bytes(inner)
    return path


def test_nested_archives_open_up_to_three_levels(tmp_path):
    with open_bundle(nest(4, tmp_path)) as bundle:
        assert [m.host for m in bundle.logs] == ["level1", "level2", "level3"]
        assert bundle.logs[2].display() == (
            "level1.tar.gz:level2.tar.gz:level3.tar.gz:loggingsnapshot_level3_20220711.txt"
        )
        (skip,) = bundle.skipped
        assert skip.path == "level2.tar.gz:level3.tar.gz:level4.tar.gz"
        assert skip.reason == "skipped: nested archive deeper than 3 levels (not opened)"


# --- nothing usable ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "zip", "folder"])
def test_empty_bundle_is_no_log_found(tmp_path, kind):
    path = tmp_path / f"empty.{kind}"
    if kind == "zip":
        zipfile.ZipFile(path, "w").close()
    elif kind == "folder":
        path.mkdir()
    else:
        tarfile.open(path, "w:gz" if kind == "tar.gz" else "w").close()
    with pytest.raises(NoLogFound, match=r"no Expressway or traffic-server log found .*; it is empty$"):
        open_bundle(path)


def test_tar_without_a_log_names_what_was_skipped(tmp_path, private_tmp):
    path = tmp_path / "nolog.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        add(tar, "README.txt", b"hello\n")
        add(tar, "xconf_dump_vcsc_20220711.txt", b'*c xConfiguration SystemUnit Name: "vcsc"\n')
    with pytest.raises(NoLogFound, match=r"nolog\.tar\.gz: no Expressway or traffic-server log found"):
        open_bundle(path)
    assert not any(private_tmp.iterdir())


def test_binary_file_renamed_txt_is_no_log_found(tmp_path):
    path = tmp_path / GOOD
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(NoLogFound):
        open_bundle(path)


def test_zero_byte_file_is_no_log_found(tmp_path):
    path = tmp_path / "loggingsnapshot_vcsc_20220711.txt"
    path.touch()
    with pytest.raises(NoLogFound):
        open_bundle(path)


# --- any bytes at all --------------------------------------------------------------------------------


def sample_archives() -> list[bytes]:
    tar_buffer, zip_buffer = io.BytesIO(), io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as tar:
        add(tar, GOOD, LOG * 20)
        add(tar, "xstat_dump_vcsc_20220711.txt", b'*s SystemUnit Software Version: "X14.2"\n')
    with zipfile.ZipFile(zip_buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(GOOD, LOG * 20)
    return [tar_buffer.getvalue(), zip_buffer.getvalue(), zlib.compress(LOG), gzip.compress(LOG)]


SAMPLES = sample_archives()


def damaged(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data[: max(1, cut % (len(data) + 1))])
    for position, value in flips:
        buffer[position % len(buffer)] = value
    return bytes(buffer)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.integers(min_value=0),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
)
def test_damaged_archives_never_raise_anything_but_bundle_errors(data, cut, flips):
    try:
        with open_bundle(damaged(data, cut, flips), max_bytes=MIB) as bundle:
            for member in bundle.members:
                with member.open() as stream:
                    stream.read()
    except BundleError as error:
        message = str(error)
        assert message.startswith("<bytes>: ") and "\n" not in message


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise_anything_but_bundle_errors(data):
    try:
        with open_bundle(data) as bundle:
            assert bundle.logs, "a bundle that opens holds a log"
    except BundleError as error:
        assert str(error).startswith("<bytes>: ") and "\n" not in str(error)


def test_huge_pax_header_is_refused_before_tarfile_reads_it_into_memory():
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type, pax.size = tarfile.XHDTYPE, 100 * 10 * MIB  # tarfile would hold 1 GB in memory
    bomb = gzip.compress(pax.tobuf(tarfile.USTAR_FORMAT)) + ZEROS_10_MIB * 100 + gzip.compress(bytes(1024))
    started = time.perf_counter()
    with pytest.raises(CorruptArchive, match=r"refused an extended header of 1000\.0 MiB"):
        open_bundle(bomb)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("form", ["gnu", "pax"])
def test_sparse_maps_longer_than_a_mib_are_refused_before_tarfile_holds_them(form):
    buffer = io.BytesIO()
    if form == "gnu":
        sparse = tarfile.TarInfo("sparse.bin")
        sparse.type, sparse.size = tarfile.GNUTYPE_SPARSE, 0
        header = bytearray(sparse.tobuf(tarfile.GNU_FORMAT))
        header[482] = 1  # "isextended": the map goes on in the blocks after the header
        chk = tarfile.calc_chksums(bytes(header))[0]
        header[148:156] = b"%06o\0 " % chk
        buffer.write(bytes(header))
        extension = bytearray(512)
        extension[504] = 1  # and on, for 2 MiB of map
        buffer.write(bytes(extension) * 4096)
    else:
        sparse = tarfile.TarInfo("sparse.bin")
        sparse.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}
        sparse.size = 0
        buffer.write(sparse.tobuf(tarfile.PAX_FORMAT)[:-512])  # the pax header, not the member's
        plain = tarfile.TarInfo("sparse.bin")
        buffer.write(plain.tobuf(tarfile.USTAR_FORMAT))
        buffer.write(b"99999999999\n")
    with pytest.raises(CorruptArchive, match="refused a sparse m"):
        open_bundle(gzip.compress(buffer.getvalue()) + ZEROS_10_MIB * 10)


# --- analysis of what survived ------------------------------------------------------------------------


def failure_log(count: int) -> bytes:
    """`count` certificate failures, one a second."""
    return b"".join(
        b"2022-07-11T%02d:%02d:%02d.016+02:00 vcsc traffic_server[18242]: [ET_NET 0] WARNING: Core server "
        b"certificate verification failed for (cucm.steven.lab). Action=Terminate Error=self signed "
        b"certificate server=cucm.steven.lab(10.48.36.215) depth=0\n"
        % (number // 3600, number // 60 % 60, number % 60)
        for number in range(count)
    )


@pytest.mark.parametrize("form", ["gz", "tar.gz"])
def test_analysis_of_a_cut_download_uses_the_lines_before_the_cut(tmp_path, form):
    text = failure_log(3000)
    whole = tmp_path / f"whole.{form}"
    if form == "gz":
        whole.write_bytes(gzip.compress(text))
    else:
        with tarfile.open(whole, "w:gz") as tar:
            add(tar, GOOD, text)
    cut = tmp_path / f"trunc.{form}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 9 // 10])
    report = logscope.analyze(cut)
    lines = text.splitlines()
    events = report.events
    assert 2000 < len(events) < len(lines), "events from the part before the cut, not the rest"
    assert events["raw"].tolist() == [line.decode() for line in lines[: len(events)]], "no half line"
    assert report.stats["unparsed"] == 0
    assert report.finding("ts-cert-self-signed").status == "issue"
    (warning,) = report.warnings
    member = GOOD if form == "tar.gz" else "trunc"
    assert warning.startswith(f"{cut}: damaged archive trunc.{form} (Compressed file ended ")
    assert f"): {member} is cut after " in warning and warning.endswith("bytes; analyzed what was read")
    assert [skip["path"] for skip in report.skipped] == [str(cut)]
    text_words = " ".join(report.to_text().split())  # the terminal text wraps long lines
    assert warning in report.to_json() and f"warning: {cut}: damaged archive" in text_words
