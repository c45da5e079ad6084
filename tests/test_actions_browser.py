"""Recording an action in a real browser and seeing it marked on the unit's trend chart."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import browser as b
from tests import report_helpers as reports_h
from tests.factories import PASSWORD
from wellbeing.actions.models import Action, ActionStatus
from wellbeing.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def north(committed_app: Flask) -> tuple[int, str]:
    """Released history, committed; North's unit id and a date inside its history."""
    with committed_app.app_context():
        history = reports_h.build_history(waves=5)
        unit = history.unit("Child Welfare/North")
        middle = history.waves[2].scheduled_for + timedelta(days=2)
        db.session.commit()
        return unit.id, middle.isoformat()


def test_a_leader_records_an_action_and_sees_it_on_the_trend_chart(
    committed_app: Flask, north: tuple[int, str]
) -> None:
    unit_id, started = north
    title = "Protect Friday afternoons"
    with b.chromium() as browser, b.serving(committed_app) as site:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{site}/login")
        page.get_by_label("Email").fill("cw.lead@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")

        page.goto(f"{site}/results/units/{unit_id}")
        page.get_by_role("link", name="Record an action for North").click()
        page.wait_for_load_state("networkidle")
        assert not b.serious_accessibility_problems(page)
        page.get_by_label("Work-Life Harmony").check()
        page.get_by_label("What we will do (short title)").fill(title)
        page.get_by_label("What we heard").fill("Harmony is the team's lowest area.")
        page.get_by_label("The plan", exact=True).fill("No visits after 1 pm on Fridays.")
        page.get_by_label("Start date").fill(started)
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").inner_text() == title
        assert page.locator("[data-status]").inner_text() == "Planned"

        page.get_by_label("New status").select_option("in_progress")
        page.get_by_label("On", exact=True).first.fill(started)
        page.get_by_role("button", name="Change status").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("[data-status]").inner_text() == "In progress"
        page.get_by_label("Step of the cycle").select_option("study")
        page.get_by_label("Note").fill("Two Fridays in, the team says it helps.")
        page.get_by_role("button", name="Add note").click()
        page.wait_for_load_state("networkidle")
        assert "Two Fridays in" in page.locator("[data-history]").inner_text()
        assert not b.serious_accessibility_problems(page)
        b.screenshot(page, "action-page")

        page.goto(f"{site}/results/units/{unit_id}")
        chart = page.locator("#trend-work_life_harmony-index")
        chart.and_(page.locator('[data-drawn="true"]')).wait_for(timeout=15_000)
        marks = chart.evaluate(
            "el => (el.layout.annotations || []).filter(a => a.meta && a.meta.kind === 'action')"
            ".map(a => [a.meta.what, a.x, a.text])"
        )
        assert marks == [["started", started, f"Started: {title}"]]
        assert page.locator(".annotation-text", has_text=f"Started: {title}").count() == 1
        b.screenshot(page, "action-on-trend-chart")
        assert not errors, errors

    with committed_app.app_context():
        action = db.session.scalar(sa.select(Action).where(Action.title == title))
        assert action is not None and action.status is ActionStatus.IN_PROGRESS
