"""`logscope serve`: the upload page, the upload flow, its limits and its refusals (Starlette TestClient)."""

from __future__ import annotations

import asyncio
import builtins
import gzip
import inspect
import json
import os
import re
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from html import escape as html_escape
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the [web] extra is not installed")
pytest.importorskip("httpx", reason="starlette's TestClient needs httpx")

from starlette.testclient import TestClient

import logscope
from conftest import multipart_post_scope, tar_bytes
from logscope import serve
from logscope.findings import STATUS_TITLES

ROOT = Path(__file__).resolve().parent.parent
SEED003_LOG = ROOT / "tests" / "data" / "seed003_lines.log"
SAMPLE_LOGS = ROOT / "sample_logs"
REPORT_LOCATION = re.compile(r"^/reports/([0-9a-f]{32})$")

# seed 003's log holds a depth-0 self-signed failure, a depth-1 "self signed certificate in
# certificate chain" failure and an "SNI (10.48.36.215) not in certificate" failure.
SEED003_ISSUES = {
    "ts-cert-self-signed": "Traffic server rejects a self-signed server certificate",
    "ts-cert-unknown-ca": "Traffic server does not trust the CA that signed a server certificate",
    "ts-cert-name-mismatch": "The address used for a server is not in its certificate",
}


def scenario(name: str) -> dict:
    """A scenario as sample_logs/generate.py built it: its bundles and the status each signature should get."""
    scenarios = tomllib.loads((SAMPLE_LOGS / "scenarios.toml").read_text(encoding="utf-8"))["scenario"]
    return next(s for s in scenarios if s["name"] == name)


def scenario_bundles(found: dict) -> list[Path]:
    return list(dict.fromkeys(SAMPLE_LOGS / node["bundle"] for node in found["nodes"]))


def signature_titles() -> dict[str, str]:
    files = (ROOT / "signatures").glob("*.toml")
    return {
        data["id"]: data["title"] for data in (tomllib.loads(f.read_text(encoding="utf-8")) for f in files)
    }


def statuses_of(document: dict) -> dict[str, str]:
    return {finding["id"]: finding["status"] for finding in document["findings"]}


def assert_same_verdicts_as_the_cli(document: dict, bundles: list[Path], sample: dict) -> None:
    """The served report says what `logscope analyze` says, and every `issue` the scenario built."""
    served = statuses_of(document)
    assert served == {f.id: f.status for f in logscope.analyze(bundles).findings}
    built_issues = {sid for sid, status in sample["expect"].items() if status == "issue"}
    assert built_issues and {sid for sid, status in served.items() if status == "issue"} == built_issues


@pytest.fixture(scope="module")
def client():
    with TestClient(serve.create_app(max_upload_mb=8, max_workers=2)) as test_client:
        yield test_client


@pytest.fixture
def thread_pool_client():
    """An app whose analyses run in a thread of this process, so a test can observe or break them."""
    app = serve.create_app(max_upload_mb=8)
    app.state.logscope.executor = ThreadPoolExecutor(max_workers=1)
    with TestClient(app) as test_client:
        yield test_client


def upload(client: TestClient, *files: tuple[str, bytes], accept_json: bool = False):
    headers = {"accept": "application/json"} if accept_json else {}
    return client.post(
        "/analyze",
        files=[("bundle", (name, data, "application/octet-stream")) for name, data in files],
        headers=headers,
        follow_redirects=False,
    )


def report_id_of(response) -> str:
    assert response.status_code == 303, response.text
    match = REPORT_LOCATION.match(response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def seed003_bytes() -> bytes:
    return SEED003_LOG.read_bytes()


# --- the page ---------------------------------------------------------------------------------------


def test_upload_page_is_a_plain_multipart_form_that_needs_no_javascript(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    form = re.search(r"<form [^>]*>", html).group(0)
    assert 'method="post"' in form and 'action="/analyze"' in form
    assert 'enctype="multipart/form-data"' in form
    file_input = re.search(r'<input id="files" [^>]*>', html).group(0)
    assert 'type="file"' in file_input and 'name="bundle"' in file_input and "multiple" in file_input
    assert re.search(r'<button [^>]*type="submit"', html)


def test_upload_page_fetches_nothing_from_the_network(client):
    html = client.get("/").text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and " src=" not in html
    assert "@import" not in html and "url(" not in html


# --- the upload flow -------------------------------------------------------------------------------


def test_form_post_redirects_to_the_findings_page_with_the_expected_findings(client):
    sample = scenario("x14.2-ecdsa-self-signed-6972")
    (bundle,) = scenario_bundles(sample)
    report_id = report_id_of(upload(client, (bundle.name, bundle.read_bytes())))
    page = client.get(f"/reports/{report_id}")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    titles = signature_titles()
    raised = [sid for sid, status in sample["expect"].items() if status in ("issue", "potential")]
    assert "ts-cert-self-signed" in raised
    for signature_id in raised:
        assert titles[signature_id] in page.text
    document = json.loads(client.get(f"/reports/{report_id}.json").text)
    assert_same_verdicts_as_the_cli(document, [bundle], sample)


def test_findings_page_links_its_downloads_when_render_supports_header_links(client):
    report_id = report_id_of(upload(client, ("seed003.log", seed003_bytes())))
    page = client.get(f"/reports/{report_id}").text
    from logscope.render import render_html

    if "header_links" not in inspect.signature(render_html).parameters:
        pytest.skip("render_html has no header_links keyword yet: the page is the plain findings page")
    assert f'href="/reports/{report_id}.html"' in page
    assert f'href="/reports/{report_id}.json"' in page


def test_several_files_are_one_analysis_and_the_recent_list_names_them(client):
    sample = scenario("cluster-one-node-missing-ca")
    bundles = scenario_bundles(sample)
    assert len(bundles) == 2
    report_id = report_id_of(upload(client, *[(b.name, b.read_bytes()) for b in bundles]))
    document = json.loads(client.get(f"/reports/{report_id}.json").text)
    assert document["inputs"] == [b.name for b in bundles]
    assert {node["host"] for node in document["nodes"]} == {node["host"] for node in sample["nodes"]}
    assert_same_verdicts_as_the_cli(document, bundles, sample)
    page = client.get(f"/reports/{report_id}").text
    assert signature_titles()["ts-cert-unknown-ca"] in page
    home = client.get("/").text
    row_end = home.index(f'href="/reports/{report_id}"')
    row = home[home.rindex("<tr>", 0, row_end) : row_end]
    assert all(b.name in row for b in bundles)


def test_reports_name_the_uploaded_files_never_the_servers_temporary_paths(client):
    bundle = SAMPLE_LOGS / scenario("x14.2-ecdsa-self-signed-6972")["path"]
    report_id = report_id_of(upload(client, ("node-a.tar.gz", bundle.read_bytes())))
    document = json.loads(client.get(f"/reports/{report_id}.json").text)
    sources = {e["source"] for f in document["findings"] for e in f["evidence"]}
    sources |= {s for node in document["nodes"] for s in node["sources"].values()}
    assert sources and all(source.startswith("node-a.tar.gz:") for source in sources)
    for text in (client.get(f"/reports/{report_id}").text, client.get(f"/reports/{report_id}.html").text):
        assert "node-a.tar.gz" in text
        assert "logscope-upload-" not in text and "upload-00" not in text


def test_upload_labels_replace_each_generated_name_once():
    labels = serve.UploadLabels({"/t/x/upload-00.log": "upload-01.log", "/t/x/upload-01.log": "b.log"})
    assert labels.label("/t/x/upload-00.log") == "upload-01.log"
    assert labels.label("upload-01.log:inner/upload-00.log") == "b.log:inner/upload-00.log"
    assert labels.label("upload-00.logx") == "upload-00.logx"
    assert labels.text("/t/x/upload-00.log: damaged archive upload-01.log") == (
        "upload-01.log: damaged archive b.log"
    )


def test_javascript_upload_gets_json_with_the_report_location(client):
    response = upload(client, ("seed003.log", seed003_bytes()), accept_json=True)
    assert response.status_code == 200
    body = response.json()
    assert REPORT_LOCATION.match(body["report"])
    assert body["summary"]["issue"] >= 1
    assert client.get(body["report"]).status_code == 200


def test_recent_list_shows_counts_per_status(client):
    response = upload(client, ("counted.log", seed003_bytes()), accept_json=True)
    summary = response.json()["summary"]
    home = client.get("/").text
    for title in STATUS_TITLES.values():
        assert title in home
    row_start = home.index("counted.log")
    row = home[row_start : home.index("</tr>", row_start)]
    counts = [int(n) for n in re.findall(r'<td class="count[^"]*"[^>]*>(\d+)</td>', row)]
    assert counts == [summary[status] for status in STATUS_TITLES]


# --- limits and refusals ----------------------------------------------------------------------------


def test_upload_over_the_cap_is_refused_with_413_and_says_the_limit(private_tmp):
    with TestClient(serve.create_app(max_upload_mb=1)) as small:
        response = upload(small, ("big.log", b"x" * (1024 * 1024 + 1)))
        assert response.status_code == 413
        assert "upload exceeds 1 MB" in response.text
        as_json = upload(small, ("big.log", b"x" * (1024 * 1024 + 1)), accept_json=True)
        assert as_json.status_code == 413
        assert as_json.json() == {"error": "upload exceeds 1 MB"}
    assert list(private_tmp.iterdir()) == []


def test_cap_is_enforced_while_streaming_and_the_rest_of_the_body_is_never_read(private_tmp):
    """Drives the ASGI app directly: a chunked body (no Content-Length) of 12.5 MB against a 1 MB cap."""
    boundary = "logscope-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="big.log"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    chunk, chunks = b"y" * 65536, 200
    received = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal received
        received += 1
        if received == 1:
            return {"type": "http.request", "body": head, "more_body": True}
        if received <= chunks:
            return {"type": "http.request", "body": chunk, "more_body": True}
        return {"type": "http.request", "body": f"\r\n--{boundary}--\r\n".encode(), "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = multipart_post_scope(boundary)
    asyncio.run(serve.create_app(max_upload_mb=1)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(b"".join(m.get("body", b"") for m in sent[1:])) == {"error": "upload exceeds 1 MB"}
    assert received <= 1 + (1024 * 1024) // len(chunk) + 1  # stopped right after the cap, not at the end
    assert list(private_tmp.iterdir()) == []


def test_broken_archive_is_a_400_with_one_line_naming_the_upload(client):
    truncated = gzip.compress(b"2022-07-11T18:55:26.016+02:00 vcsc traffic_server[1]: x\n" * 500)[:12]
    response = upload(client, ("broken.tar.gz", truncated))
    assert response.status_code == 400
    assert "Traceback" not in response.text
    as_json = upload(client, ("broken.tar.gz", truncated), accept_json=True)
    assert as_json.status_code == 400
    message = as_json.json()["error"]
    assert message.startswith("broken.tar.gz: damaged archive broken.tar.gz")
    assert "\n" not in message and len(message) <= 300
    assert "upload-00" not in message and tempfile.gettempdir() not in message
    assert html_escape(message) in response.text


def test_upload_without_a_file_is_a_400(client):
    response = client.post(
        "/analyze",
        files=[("bundle", ("", b"", "application/octet-stream"))],
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "no file" in response.text


def test_a_file_in_another_form_field_is_a_400(client):
    response = client.post(
        "/analyze",
        files=[("attachment", ("seed003.log", seed003_bytes(), "text/plain"))],
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "bundle" in response.text


def test_uploads_beyond_the_pending_limit_get_a_503(client):
    state = client.app.state.logscope
    state.in_flight = state.max_in_flight
    try:
        response = upload(client, ("seed003.log", seed003_bytes()), accept_json=True)
    finally:
        state.in_flight = 0
    assert response.status_code == 503
    assert "busy" in response.json()["error"]


def test_a_body_that_is_not_multipart_is_a_400(client):
    response = client.post("/analyze", content=b"bundle=x", headers={"content-type": "text/plain"})
    assert response.status_code == 400


def test_script_in_a_file_name_is_escaped_everywhere(client):
    hostile = "<script>alert('x')&amp;<img src=x onerror=alert(1)>.log"  # no "/" or '"': sent as is
    report_id = report_id_of(upload(client, (hostile, seed003_bytes())))
    for url in ("/", f"/reports/{report_id}", f"/reports/{report_id}.html"):
        html = client.get(url).text
        assert '<script>alert("x")' not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&amp;amp;&lt;img src=x" in client.get("/").text
    assert json.loads(client.get(f"/reports/{report_id}.json").text)["inputs"] == [hostile]


def test_a_path_in_a_file_name_is_shown_as_its_last_part(client):
    report_id = report_id_of(upload(client, ("../../../../tmp/evil/../x.log", seed003_bytes())))
    assert json.loads(client.get(f"/reports/{report_id}.json").text)["inputs"] == ["x.log"]


@pytest.mark.parametrize(
    "path",
    [
        "/reports/" + "0" * 32,
        "/reports/" + "A" * 32,
        "/reports/" + "0" * 31,
        "/reports/" + "0" * 33,
        "/reports/not-an-id",
        "/reports/" + "0" * 32 + ".txt",
        "/reports/" + "0" * 32 + ".json",
        "/reports/..%2f..%2fetc%2fpasswd",
        "/reports/%2e%2e/%2e%2e/etc/passwd",
        "/reports/" + "0" * 32 + "%00.html",
    ],
)
def test_unknown_or_ill_formed_report_ids_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Traceback" not in response.text


def test_report_ids_never_reach_the_filesystem(tmp_path, monkeypatch):
    keep = tmp_path / "keep"
    planted_id = "f" * 32
    keep.mkdir()
    (keep / f"{planted_id}.html").write_text("<p>planted</p>")
    (tmp_path / "secret.txt").write_text("secret")
    with TestClient(serve.create_app(keep_dir=keep)) as keeper:
        assert keeper.get("/reports/" + "0" * 32).status_code == 404  # loads the error template once
        opened: list[str] = []
        real_open, real_os_open = builtins.open, os.open
        monkeypatch.setattr(
            builtins, "open", lambda f, *a, **k: opened.append(str(f)) or real_open(f, *a, **k)
        )
        monkeypatch.setattr(os, "open", lambda f, *a, **k: opened.append(str(f)) or real_os_open(f, *a, **k))
        for path in (
            f"/reports/{planted_id}",
            f"/reports/{planted_id}.html",
            "/reports/..%2fsecret.txt",
            "/reports/../secret.txt",
            "/reports/%2e%2e%2fkeep%2f" + planted_id,
        ):
            response = keeper.get(path)
            assert response.status_code == 404, path
            assert "planted" not in response.text and "secret" not in response.text
        monkeypatch.setattr(builtins, "open", real_open)
        monkeypatch.setattr(os, "open", real_os_open)
    assert opened == []


def test_downloads_serve_html_and_json_with_their_content_types(client):
    report_id = report_id_of(upload(client, ("seed003.log", seed003_bytes())))
    html = client.get(f"/reports/{report_id}.html")
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["content-disposition"] == f'attachment; filename="logscope-{report_id}.html"'
    assert html.text.lstrip().lower().startswith("<!doctype html")
    for title in SEED003_ISSUES.values():
        assert title in html.text
    assert f"/reports/{report_id}.json" not in html.text  # the download stands alone, no server links
    data = client.get(f"/reports/{report_id}.json")
    assert data.headers["content-type"] == "application/json; charset=utf-8"
    assert data.headers["content-disposition"] == f'attachment; filename="logscope-{report_id}.json"'
    document = data.json()
    assert document["schema_version"] and document["summary"]["issue"] >= 1
    assert {f["id"] for f in document["findings"] if f["status"] == "issue"} >= set(SEED003_ISSUES)


def test_keep_writes_the_report_files_only_inside_the_folder(tmp_path, private_tmp):
    keep = tmp_path / "kept"
    before = {p for p in tmp_path.rglob("*") if p != keep}
    with TestClient(serve.create_app(keep_dir=keep)) as keeper:
        report_id = report_id_of(upload(keeper, ("../../escape.log", seed003_bytes())))
        served_json = keeper.get(f"/reports/{report_id}.json").text
        served_html = keeper.get(f"/reports/{report_id}.html").text
    assert sorted(p.name for p in keep.iterdir()) == [f"{report_id}.html", f"{report_id}.json"]
    assert (keep / f"{report_id}.json").read_text(encoding="utf-8") == served_json
    assert (keep / f"{report_id}.html").read_text(encoding="utf-8") == served_html
    after = {p for p in tmp_path.rglob("*") if p != keep and keep not in p.parents}
    assert after == before
    assert not (tmp_path.parent / "escape.log").exists()


def test_temp_folder_exists_during_the_analysis_and_is_removed_after_it(
    thread_pool_client, private_tmp, monkeypatch
):
    seen: list[list[str]] = []
    real_job = serve.analysis_job

    def observing_job(report_id, paths, names, *limits):
        seen.append(sorted(str(Path(p).relative_to(private_tmp)) for p in paths))
        assert all(Path(p).is_file() for p in paths)
        return real_job(report_id, paths, names, *limits)

    monkeypatch.setattr(serve.executor, "analysis_job", observing_job)
    report_id_of(
        upload(
            thread_pool_client,
            ("a.log", seed003_bytes()),
            ("b.tar.gz", tar_bytes({"b.log": seed003_bytes()})),
        )
    )
    assert len(seen) == 1 and len(seen[0]) == 2
    assert all(re.fullmatch(r"logscope-upload-[^/]+/upload-0[01](\.log|\.tar\.gz)", p) for p in seen[0])
    assert list(private_tmp.iterdir()) == []
    assert upload(thread_pool_client, ("broken.zip", b"PK\x03\x04broken")).status_code == 400
    assert list(private_tmp.iterdir()) == []


def test_an_unexpected_failure_is_a_generic_500_and_is_logged(thread_pool_client, monkeypatch, caplog):
    def failing_job(report_id, paths, names, *limits):
        raise RuntimeError("internal detail /srv/secret/path")

    monkeypatch.setattr(serve.executor, "analysis_job", failing_job)
    response = upload(thread_pool_client, ("seed003.log", seed003_bytes()))
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "analysis failed" in response.text
    assert any("internal detail" in (r.exc_text or "") or r.exc_info for r in caplog.records)


# --- safety headers and origin checks ---------------------------------------------------------------


def test_every_response_carries_the_security_headers(client):
    report_id = report_id_of(upload(client, ("seed003.log", seed003_bytes())))
    for path in ("/", f"/reports/{report_id}", f"/reports/{report_id}.json", "/reports/nope"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "base-uri 'none'" in csp
        assert "http:" not in csp and "https:" not in csp and "*" not in csp


def test_own_pages_allow_only_their_nonce_script(client):
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>", response.text)
    assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts)
    assert re.search(r"'nonce-([^']+)'", client.get("/").headers["content-security-policy"]).group(1) != nonce


def test_a_foreign_host_header_is_refused_on_a_loopback_server():
    app = serve.create_app(allowed_hosts=["127.0.0.1", "localhost", "::1"])
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/").status_code == 200
        assert local.get("/", headers={"host": "localhost:8000"}).status_code == 200
        assert local.get("/", headers={"host": "[::1]:8000"}).status_code == 200
        rebound = local.get("/", headers={"host": "attacker.example:8000"})
        assert rebound.status_code == 400
        assert rebound.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"origin": "http://attacker.example"}, 403),
        ({"origin": "http://attacker.example", "sec-fetch-site": "cross-site"}, 403),
        ({"origin": "null", "sec-fetch-site": "cross-site"}, 403),
        ({"origin": "null", "sec-fetch-site": "same-site"}, 403),
        ({"origin": "http://testserver"}, 303),
        ({"origin": "null", "sec-fetch-site": "same-origin"}, 303),  # the page's form, no-referrer
        ({}, 303),  # a script (curl, requests)
    ],
)
def test_cross_site_posts_are_refused(client, headers, status):
    response = client.post(
        "/analyze",
        files=[("bundle", ("seed003.log", seed003_bytes(), "text/plain"))],
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == status


# --- small pieces -------------------------------------------------------------------------------------


def test_report_store_keeps_only_the_most_recent_reports():
    store = serve.ReportStore(capacity=3)
    for n in range(5):
        store.add(stored_report(f"{n:032x}"))
    assert [r.id for r in store.recent()] == [f"{n:032x}" for n in (4, 3, 2)]
    assert store.get(f"{0:032x}") is None and store.get(f"{4:032x}") is not None
    assert store.get("../" + "0" * 29) is None


def stored_report(report_id: str) -> serve.StoredReport:
    from datetime import datetime

    return serve.StoredReport(
        id=report_id,
        file_names=("a.log",),
        created=datetime.now(),
        upload_bytes=1,
        seconds=0.1,
        summary={},
        page_html="",
        download_html="",
        json_text="{}",
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"bundle.tar.gz", "bundle.tar.gz"),
        (b"C:\\Users\\me\\diag.tgz", "diag.tgz"),
        (b"../../etc/passwd", "passwd"),
        (b"a\x00b\x1b[31mc.log", "ab[31mc.log"),
        ("n\u00f6de.log".encode(), "n\u00f6de.log"),
        (b"\xff\xfe.log", "\ufffd\ufffd.log"),
    ],
)
def test_display_name_keeps_only_a_printable_last_component(raw, shown):
    assert serve.display_name(raw) == shown


@pytest.mark.parametrize(
    ("name", "suffix"),
    [("x.TAR.GZ", ".tar.gz"), ("x.tgz", ".tgz"), ("x.zip", ".zip"), ("x.exe", ""), ("x.tar.gz/..", "")],
)
def test_saved_files_keep_only_a_known_suffix(name, suffix):
    assert serve.known_suffix(name) == suffix


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False), ("", False)],
)  # fmt: skip
def test_loopback_detection(host, loopback):
    assert serve.is_loopback(host) is loopback


def test_run_server_warns_on_stderr_only_when_not_on_loopback(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(serve.startup.StoppingServer, "run", lambda server: calls.append(server.config))
    serve.run_server(host="127.0.0.1", port=8123)
    assert "no authentication" not in capsys.readouterr().err
    serve.run_server(host="0.0.0.0", port=8123)
    warning = [line for line in capsys.readouterr().err.splitlines() if "no authentication" in line]
    assert len(warning) == 1 and "network" in warning[0]
    assert [c.host for c in calls] == ["127.0.0.1", "0.0.0.0"]
