"""Real-browser helpers: Debian's Chromium driven by Playwright, and the app on a real server.

Use ``chromium()`` as a context manager for a browser (it skips the test, with the reason,
when Chromium is missing, unless ``WELLBEING_REQUIRE_BROWSER=1`` says it must be there), and
``serving(app)`` for the address of the app served by a threaded werkzeug server on a free
port. Both close everything they open, so ``filterwarnings = error`` stays quiet.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"width": 360, "height": 740}
MIN_TAP_TARGET_PX = 44


def require_chromium() -> None:
    """Skip the test when Chromium is missing, or fail if the run says it must be there."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    if os.environ.get("WELLBEING_REQUIRE_BROWSER") == "1":
        pytest.fail(f"WELLBEING_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``), closed with its driver afterwards."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app served on a free loopback port in a thread; yields its base address."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to ``test-artifacts/`` (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    width: int = page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")
    return max(0, width)


def small_tap_targets(page: Any, selector: str, minimum: int = MIN_TAP_TARGET_PX) -> list[str]:
    """Visible elements matching ``selector`` shorter than ``minimum`` CSS pixels."""
    found: list[str] = page.evaluate(
        """([selector, minimum]) => Array.from(document.querySelectorAll(selector))
            .filter((el) => el.getClientRects().length > 0)
            .map((el) => [el, el.getBoundingClientRect().height])
            .filter(([el, height]) => height < minimum)
            .map(([el, height]) => `${el.outerHTML.slice(0, 80)} is ${height}px tall`)""",
        [selector, minimum],
    )
    return found
