"""The results pages in a real browser: charts drawn, nothing fetched elsewhere, axe, tablets.

Each page is opened as an administrator and as a program lead on an organisation with released
history. Charts must be drawn by the plotly.js the app serves (``data-drawn`` is set once
Plotly has finished), with no console error and no request leaving the app's own host.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests import browser as b
from tests import report_helpers as reports_h
from tests.factories import PASSWORD
from wellbeing.extensions import db

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with b.chromium() as browser:
        yield browser


@pytest.fixture
def history(committed_app: Flask) -> dict[str, int]:
    """Released history, committed so the served app sees it; the ids the tests open."""
    with committed_app.app_context():
        history = reports_h.build_history(waves=6)
        ids = {
            "north": history.unit("Child Welfare/North").id,
            "east": history.unit("Child Welfare/East").id,
            "west": history.unit("Home Visiting/West").id,
        }
        db.session.commit()
    return ids


@pytest.fixture
def site(committed_app: Flask) -> Iterator[str]:
    with b.serving(committed_app) as base:
        yield base


class Watched:
    """A page whose console errors and off-host requests are collected as it is used."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.host = urlsplit(base).netloc
        self.errors: list[str] = []
        self.elsewhere: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc != self.host:
            self.elsewhere.append(request.url)

    def open(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url
        self.page.wait_for_load_state("networkidle")

    def charts_drawn(self) -> int:
        """Wait until every chart on the page is drawn; how many there are."""
        charts = self.page.locator("[data-chart]")
        count: int = charts.count()
        for index in range(count):
            chart = charts.nth(index)
            chart.and_(self.page.locator('[data-drawn="true"]')).wait_for(timeout=15_000)
            assert chart.locator("svg.main-svg").count() > 0, "the chart has no drawing"
            caption = self.page.locator(f"#{chart.get_attribute('aria-describedby')}")
            assert caption.inner_text().strip(), "the chart has no text alternative"
        return count

    def check(self, name: str) -> None:
        b.screenshot(self.page, name)
        problems = b.serious_accessibility_problems(self.page)
        assert not problems, "\n".join(problems)
        assert not self.errors, self.errors
        assert not self.elsewhere, self.elsewhere


@pytest.fixture
def signed_in(chromium: Any, site: str) -> Iterator[Any]:
    """Open a signed-in page at a viewport: ``signed_in(email, viewport)`` → ``Watched``."""
    contexts: list[Any] = []

    def open_as(email: str, viewport: dict[str, int] = LAPTOP) -> Watched:
        context = chromium.new_context(viewport=viewport)
        contexts.append(context)
        watched = Watched(context.new_page(), site)
        watched.open(f"{site}/login")
        watched.page.get_by_label("Email").fill(email)
        watched.page.get_by_label("Password").fill(PASSWORD)
        watched.page.get_by_role("button", name="Sign in").click()
        watched.page.wait_for_load_state("networkidle")
        return watched

    try:
        yield open_as
    finally:
        for context in contexts:
            context.close()


PAGES = [
    ("overview", "/results/", 1),
    ("unit", "/results/units/{north}", 3),
    ("heatmap", "/results/heatmap", 1),
    ("equity", "/results/equity", 0),
    ("participation", "/results/participation", 0),
]


@pytest.mark.parametrize(("name", "path", "least_charts"), PAGES, ids=[p[0] for p in PAGES])
def test_each_results_page_draws_its_charts_cleanly(
    signed_in: Any, site: str, history: dict[str, int], name: str, path: str, least_charts: int
) -> None:
    admin = signed_in("admin@example.org")
    admin.open(site + path.format(**history))
    assert admin.charts_drawn() >= least_charts
    assert admin.page.locator("h1").count() == 1
    admin.check(f"results-{name}-laptop")

    lead = signed_in("cw.lead@example.org", TABLET)
    lead.open(site + path.format(**history))
    lead.charts_drawn()
    assert b.horizontal_overflow(lead.page) == 0, "the page scrolls sideways on a tablet"
    lead.check(f"results-{name}-tablet")


def test_a_heatmap_cell_opens_the_unit_page(
    signed_in: Any, site: str, history: dict[str, int]
) -> None:
    lead = signed_in("cw.lead@example.org")
    lead.open(f"{site}/results/heatmap")
    assert lead.charts_drawn() == 1
    table = lead.page.locator("table.heat")
    assert table.get_by_text("hidden").count() > 0, "East's hidden cells are marked"
    assert table.get_by_role("link", name="West").count() == 0, "Home Visiting is out of scope"

    # A click on the drawn heatmap goes to the clicked unit's page (the first row is the root).
    box = lead.page.locator("#heatmap .nsewdrag").first.bounding_box()
    assert box is not None
    lead.page.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.05)
    lead.page.wait_for_url(f"{site}/results/units/*")
    assert lead.page.locator("h1").count() == 1

    # The table's links are the text alternative, and go to the same pages.
    lead.open(f"{site}/results/heatmap")
    table.get_by_role("link", name="North").click()
    lead.page.wait_for_url(f"{site}/results/units/{history['north']}*")
    lead.charts_drawn()
    assert lead.page.get_by_text("Table of this chart").count() >= 1
    lead.check("results-unit-from-heatmap")


def test_a_hidden_unit_shows_its_reason_not_a_number(
    signed_in: Any, site: str, history: dict[str, int]
) -> None:
    admin = signed_in("admin@example.org")
    admin.open(f"{site}/results/units/{history['east']}")
    admin.charts_drawn()
    lede = admin.page.locator("p.lede")
    assert "Hidden to protect anonymity" in lede.inner_text()
    assert lede.get_by_role("link", name="Child Welfare").is_visible(), "where it is counted"
    assert admin.page.locator("[data-cell]").count() == 0, "no number of East's is shown"
    admin.check("results-unit-hidden")


def test_an_empty_organisation_explains_what_will_appear(
    signed_in: Any, site: str, committed_app: Flask
) -> None:
    from tests import factories
    from wellbeing.auth.models import Role

    with committed_app.app_context():
        factories.user("admin@example.org", Role.ADMIN)
        db.session.commit()
    admin = signed_in("admin@example.org", TABLET)
    admin.open(f"{site}/results/")
    assert admin.charts_drawn() == 0
    assert admin.page.locator(".empty").is_visible()
    admin.check("results-empty")


def test_the_access_log_page_lists_what_was_viewed(
    signed_in: Any, site: str, history: dict[str, int]
) -> None:
    lead = signed_in("cw.lead@example.org")
    lead.open(f"{site}/results/units/{history['north']}")
    admin = signed_in("admin@example.org", TABLET)
    admin.open(f"{site}/admin/access-log")
    assert admin.page.get_by_text("cw.lead@example.org").count() > 0
    assert b.horizontal_overflow(admin.page) == 0
    admin.check("access-log")


def test_the_download_buttons_hand_over_files(
    signed_in: Any, site: str, history: dict[str, int]
) -> None:
    lead = signed_in("cw.lead@example.org", TABLET)
    lead.open(f"{site}/results/units/{history['north']}")
    downloads = lead.page.get_by_role("region", name="Download").or_(
        lead.page.locator("section.downloads")
    )
    for name, start in [
        ("Data (CSV)", b"\xef\xbb\xbfprogram,"),
        ("Board report (PDF)", b"%PDF"),
        ("Workbook (Excel)", b"PK"),
    ]:
        with lead.page.expect_download() as info:
            downloads.get_by_role("link", name=name).click()
        download = info.value
        assert "child-welfare-north" in download.suggested_filename
        with open(download.path(), "rb") as handle:
            assert handle.read(len(start)) == start, name
    lead.check("results-unit-downloads")
