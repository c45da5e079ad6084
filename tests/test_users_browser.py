"""Managing accounts in a real browser, under the content security policy, with axe checks."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import browser as b
from tests import factories
from wellbeing.auth.models import AccessRecord, Role, User
from wellbeing.extensions import db

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a long and sound passphrase"
LATER_PASSWORD = "another long passphrase"


@pytest.fixture
def admin(committed_app: Flask) -> str:
    with committed_app.app_context():
        factories.unit("Riverside/North")
        factories.unit("Riverside/South")
        user = factories.user("admin@example.org", Role.ADMIN)
        db.session.commit()
        return user.email


def _sign_in(page: Any, site: str, email: str, password: str) -> None:
    page.goto(f"{site}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def test_an_admin_creates_a_leader_who_then_changes_their_password(
    committed_app: Flask, admin: str
) -> None:
    with b.chromium() as browser, b.serving(committed_app) as site:
        errors: list[str] = []

        def collect(message: Any) -> None:
            # The refused form below answers 422 on purpose; anything else is a fault.
            if message.type == "error" and "status of 422" not in message.text:
                errors.append(message.text)

        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("console", collect)
        _sign_in(page, site, admin, factories.PASSWORD)
        page.get_by_role("link", name="Users").click()
        page.get_by_role("link", name="New user").click()
        page.wait_for_load_state("networkidle")
        assert not b.serious_accessibility_problems(page)
        page.get_by_label("Email").fill("new.lead@example.org")
        page.get_by_label("Role").select_option("leader")
        page.get_by_label("Riverside/North").check()
        page.get_by_label("Password", exact=True).fill("too short")
        page.get_by_label("The password again").fill("too short")
        page.get_by_role("button", name="Create the account").click()
        page.wait_for_load_state("networkidle")
        assert "at least 12 characters" in page.get_by_role("alert").inner_text()
        page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("The password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Create the account").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").inner_text() == "new.lead@example.org"
        assert not b.serious_accessibility_problems(page)
        b.screenshot(page, "user-page")

        page.get_by_label("What it is for (e.g. Power BI)").fill("Power BI")
        page.get_by_role("button", name="Issue a token").click()
        page.wait_for_load_state("networkidle")
        # The number is the token's row id, which on PostgreSQL follows earlier tests.
        token = page.get_by_label(re.compile(r"^Token \d+ \(Power BI\)$"))
        assert token.input_value().startswith("wbp_")
        assert not b.serious_accessibility_problems(page)
        b.screenshot(page, "token-issued")
        assert not errors, errors

        theirs = browser.new_context(viewport=b.PHONE).new_page()
        theirs.on("console", collect)
        _sign_in(theirs, site, "new.lead@example.org", NEW_PASSWORD)
        theirs.get_by_role("link", name="Password").click()
        theirs.wait_for_load_state("networkidle")
        assert not b.serious_accessibility_problems(theirs)
        theirs.get_by_label("Current password").fill(NEW_PASSWORD)
        theirs.get_by_label("New password", exact=True).fill(LATER_PASSWORD)
        theirs.get_by_label("The new password again").fill(LATER_PASSWORD)
        theirs.get_by_role("button", name="Change the password").click()
        theirs.wait_for_load_state("networkidle")
        assert "Your password is changed" in theirs.locator(".flashes").inner_text()
        assert b.horizontal_overflow(theirs) == 0
        assert not errors, errors

    with committed_app.app_context():
        lead = db.session.scalar(sa.select(User).where(User.email == "new.lead@example.org"))
        assert lead is not None and [u.path for u in lead.units] == ["Riverside/North"]
        changes = db.session.scalars(
            sa.select(AccessRecord.user_email)
            .where(AccessRecord.channel == "change")
            .order_by(AccessRecord.id)
        ).all()
        assert changes == [admin, admin, "new.lead@example.org"]
