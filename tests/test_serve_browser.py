"""`logscope serve` in a real browser: Debian's chromium driven by playwright, uvicorn on loopback.

Skipped with the reason when chromium or playwright is missing, except under CI=true where that fails.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, SAMPLE_LOGS

pytestmark = pytest.mark.browser

SAMPLE = "x14.2-ecdsa-self-signed-6972"
SCREENSHOT = Path("/tmp/logscope-serve.png")
UPLOAD_SCREENSHOT = Path("/tmp/logscope-serve-upload.png")
SERVER_START_SECONDS = 20
SERVER_STOP_SECONDS = 20
ANALYSIS_TIMEOUT_MS = 180_000


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def _require_browser() -> None:
    if not CHROMIUM.is_file():
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright package is missing (pip install -e '.[test]')")
    try:
        import uvicorn  # noqa: F401

        import logscope.serve  # noqa: F401
    except ImportError as exc:
        _missing(f"the [web] extra is missing ({exc.name})")


def sample() -> tuple[Path, list[str]]:
    """The README's sample bundle and the titles of the findings its construction raises."""
    scenarios = tomllib.loads((SAMPLE_LOGS / "scenarios.toml").read_text(encoding="utf-8"))["scenario"]
    found = next(s for s in scenarios if s["name"] == SAMPLE)
    titles = {}
    for file in (ROOT / "signatures").glob("*.toml"):
        data = tomllib.loads(file.read_text(encoding="utf-8"))
        titles[data["id"]] = data["title"]
    raised = [titles[sid] for sid, status in found["expect"].items() if status in ("issue", "potential")]
    assert raised
    return SAMPLE_LOGS / found["path"], raised


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """uvicorn in a background thread on 127.0.0.1; told to exit and joined (bounded) at the end."""
    _require_browser()
    import uvicorn

    from logscope.serve import LOOPBACK_HOST_NAMES, create_app

    port = free_loopback_port()
    app = create_app(max_upload_mb=64, allowed_hosts=LOOPBACK_HOST_NAMES)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="logscope-serve-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SERVER_STOP_SECONDS)
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_upload_through_the_page_shows_progress_and_opens_the_findings(server_url, browser):
    bundle, titles = sample()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    statuses: list[str] = []
    page.expose_function("recordStatus", lambda text: statuses.append(text))
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server_url) else outside.append(r.url))
    page.goto(server_url + "/")
    page.evaluate(
        """() => new MutationObserver(() => window.recordStatus(document.getElementById('message').textContent))
              .observe(document.getElementById('message'), {childList: true, characterData: true, subtree: true})"""
    )
    page.set_input_files("#files", str(bundle))
    assert bundle.name in page.inner_text("#chosen")
    page.click("#analyze")
    page.wait_for_url(re.compile(r".*/reports/[0-9a-f]{32}$"), timeout=ANALYSIS_TIMEOUT_MS)
    page.wait_for_load_state("load")
    body = page.inner_text("body")
    for title in titles:
        assert title in body
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert any(s.startswith("Uploading") for s in statuses), statuses
    assert any(s.startswith("Analyzing") for s in statuses), statuses
    assert blocked == [] and outside == []
    page.goto(server_url + "/")
    assert bundle.name in page.inner_text("#recent")
    page.screenshot(path=str(UPLOAD_SCREENSHOT), full_page=True)
    page.close()


def test_the_form_works_with_javascript_off(server_url, browser):
    bundle, titles = sample()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server_url + "/")
    page.set_input_files("#files", str(bundle))
    with page.expect_navigation(url=re.compile(r".*/reports/[0-9a-f]{32}$"), timeout=ANALYSIS_TIMEOUT_MS):
        page.click("#analyze")
    body = page.inner_text("body")
    for title in titles:
        assert title in body
    context.close()


def test_a_broken_upload_shows_its_one_line_error_on_the_page(server_url, browser, tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 64)
    page = browser.new_page()
    page.goto(server_url + "/")
    page.set_input_files("#files", str(broken))
    page.click("#analyze")
    page.wait_for_selector("#message.error", timeout=ANALYSIS_TIMEOUT_MS)
    assert page.url == server_url + "/"
    assert page.inner_text("#message").strip()
    assert page.is_enabled("#analyze")
    page.close()


def test_a_too_large_selection_is_refused_before_uploading(server_url, browser, tmp_path):
    large = tmp_path / "large.log"
    with large.open("wb") as handle:
        handle.truncate(65 * 1024 * 1024)  # sparse: 65 MB against the 64 MB cap, no disk used
    page = browser.new_page()
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    page.goto(server_url + "/")
    page.set_input_files("#files", str(large))
    page.click("#analyze")
    page.wait_for_selector("#message.error")
    assert "upload exceeds 64 MB" in page.inner_text("#message")
    assert uploads == []
    page.close()


def test_the_upload_result_and_error_pages_need_no_sideways_scrolling_on_a_phone(server_url, browser):
    """Issue 12: at 390 px wide, nothing is wider than the screen (tables reflow)."""
    bundle, _titles = sample()
    page = browser.new_page(viewport={"width": 390, "height": 844})
    widths = {}
    page.goto(server_url + "/")
    widths["upload"] = page.evaluate("document.documentElement.scrollWidth")
    page.set_input_files("#files", str(bundle))
    page.click("#analyze")
    page.wait_for_url(re.compile(r".*/reports/[0-9a-f]{32}$"), timeout=ANALYSIS_TIMEOUT_MS)
    page.wait_for_load_state("load")
    widths["result"] = page.evaluate("document.documentElement.scrollWidth")
    page.goto(server_url + "/")
    widths["upload with recent"] = page.evaluate("document.documentElement.scrollWidth")
    page.goto(server_url + "/reports/" + "0" * 32)
    widths["error"] = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    assert all(width <= 390 for width in widths.values()), widths
