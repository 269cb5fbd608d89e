"""Open report pages from disk in headless Chromium (Debian's package) and check them.

Shared by the report and workshop tests: no console errors, no request outside
``file://``/``data:``, every image decoded; a screenshot of each page goes to
``test-artifacts/``. Skips when Chromium is missing unless CRM_REQUIRE_BROWSER is set
(``.ci/run`` sets it whenever it could install Chromium).
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from crmlib import paths

ARTIFACTS = paths.ROOT / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROKEN_IMAGES = ("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                 ".map(i => i.src.slice(0, 60))")


@contextmanager
def chromium():
    """Yield a Playwright browser driving the system Chromium (skip or fail when missing)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        if os.environ.get("CRM_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (CRM_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("chromium not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check_page(browser, path: Path, screenshot: str) -> None:
    """Load ``path`` offline and assert no errors, no outside requests and no broken images."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(("file://", "data:", "about:")) else None)
    page.goto(path.as_uri(), wait_until="load")
    broken = page.evaluate(BROKEN_IMAGES)
    assert errors == [], (path.name, errors)
    assert outside == [], (path.name, outside)
    assert broken == [], (path.name, broken)
    page.screenshot(path=str(ARTIFACTS / f"{screenshot}.png"))
    page.close()
