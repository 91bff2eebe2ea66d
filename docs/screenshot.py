"""Regenerate docs/findings-page.png: the top of the ECDSA sample's findings page, as the README shows it.

    .venv/bin/python docs/screenshot.py [--out docs/findings-page.png]

The page is analyzed from sample_logs/x14.2-ecdsa-self-signed-6972.tar.gz, written to a temporary
file and opened from a file:// URL in Debian's chromium (headless, driven by playwright, as
tests/test_browser.py does) at 1400x900; the browser may fetch nothing but the document. Needs
`apt-get install chromium` and the `test` extra (playwright).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "sample_logs" / "x14.2-ecdsa-self-signed-6972.tar.gz"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
VIEWPORT = {"width": 1400, "height": 900}
MAX_BYTES = 200 * 1024


def render_page(html_path: Path, out: Path) -> None:
    """Screenshot the first 1400x900 of the page; refuse any request but the document's own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            document = html_path.as_uri()
            page.route(
                "**/*", lambda route: route.continue_() if route.request.url == document else route.abort()
            )
            page.goto(document)
            page.screenshot(path=str(out), full_page=False)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "findings-page.png")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"screenshot: {CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    import logscope

    os.chdir(
        ROOT
    )  # the page's title is the input as given: the sample's path in the repo, not this machine's
    report = logscope.analyze(SAMPLE.relative_to(ROOT))
    with tempfile.TemporaryDirectory() as folder:
        html_path = Path(folder) / "report.html"
        html_path.write_text(report.to_html(), encoding="utf-8")
        render_page(html_path, args.out)
    size = args.out.stat().st_size
    print(f"{args.out}: {size // 1024} KB")
    if size > MAX_BYTES:
        print(f"screenshot: {args.out} is over {MAX_BYTES // 1024} KB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
