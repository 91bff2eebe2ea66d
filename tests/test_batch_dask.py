"""`logscope batch --dask ADDRESS`: the same inputs on a two-worker Dask cluster give the same index
rows and summary.csv as the process pool."""

from __future__ import annotations

import re
import socket

import pandas as pd
import pytest

import logscope.batch.executors
from conftest import SAMPLE_LOGS
from logscope.batch import run_batch
from logscope.errors import LogscopeError

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.dask

PICKED = ["healthy-mra-login", "expired-certificate", "cucm-by-ip-san-missing", "missing-intermediate"]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=40
    ) as local:
        yield local


@pytest.fixture
def cases(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    for stem in PICKED:
        (folder / f"{stem}.tar.gz").write_bytes((SAMPLE_LOGS / f"{stem}.tar.gz").read_bytes())
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 cut short")
    return folder


def rows(index_html: str) -> list[str]:
    """The index table's rows without the per-run parts (seconds are not shown; paths are the same)."""
    body = index_html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [" ".join(row.split()) for row in re.findall(r"<tr .*?</tr>", body, re.S)]


def test_dask_cluster_gives_the_same_rows_as_the_process_pool(cluster, cases, tmp_path):
    pooled = run_batch([str(cases)], tmp_path / "pool", jobs=2)
    on_dask = run_batch([str(cases)], tmp_path / "dask", dask_address=cluster.scheduler_address)

    assert [r.name for r in on_dask.results] == [r.name for r in pooled.results]
    assert on_dask.failed == pooled.failed == 1
    assert not any(r.cached for r in on_dask.results)
    for mine, theirs in zip(on_dask.results, pooled.results, strict=True):
        assert (mine.ok, mine.error, mine.summary, mine.top_finding, mine.findings) == (
            theirs.ok,
            theirs.error,
            theirs.summary,
            theirs.top_finding,
            theirs.findings,
        )
    assert rows((tmp_path / "dask" / "index.html").read_text()) == rows(
        (tmp_path / "pool" / "index.html").read_text()
    )
    csv_pool = pd.read_csv(tmp_path / "pool" / "summary.csv")
    csv_dask = pd.read_csv(tmp_path / "dask" / "summary.csv")
    pd.testing.assert_frame_equal(csv_dask, csv_pool)
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == sorted(
        p.name for p in (tmp_path / "pool").iterdir()
    )

    again = run_batch([str(cases)], tmp_path / "dask", dask_address=cluster.scheduler_address)
    assert [r.cached for r in again.results] == [r.ok for r in again.results]


def test_unreachable_scheduler_is_a_one_line_error(monkeypatch, cases, tmp_path):
    monkeypatch.setattr(logscope.batch.executors, "DASK_CONNECT_TIMEOUT", "1s")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(
        LogscopeError, match=rf"^cannot reach the Dask scheduler at tcp://127\.0\.0\.1:{port}: "
    ):
        run_batch([str(cases)], tmp_path / "out", dask_address=f"tcp://127.0.0.1:{port}")


@pytest.mark.parametrize("address", ["scheduler-without-port", "[::1"])
def test_malformed_scheduler_address_is_a_one_line_error_at_once(cases, tmp_path, address):
    with pytest.raises(LogscopeError, match=r"^not a Dask scheduler address \(tcp://HOST:PORT\): "):
        run_batch([str(cases)], tmp_path / "out", dask_address=address)
