"""The staff survey in a real browser: keyboard, phone layout, no JavaScript, axe, support."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests import browser as b
from tests import survey_helpers as s
from wellbeing.extensions import db
from wellbeing.pulse.models import InvitationToken
from wellbeing.pulse.tokens import token_hash
from wellbeing.types import utcnow

pytestmark = pytest.mark.browser

BURNOUT = "burnout_self_rating"
TRAUMA = "trauma_follows_home"
TAP_TARGETS = "label.option, button, textarea, summary, .language a, a.contact, a.tap"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with b.chromium() as browser:
        yield browser


@pytest.fixture
def links(committed_app: Flask) -> tuple[list[str], list[str]]:
    """Emailed-link tokens for six people in a live wave (the last one expired), and its items."""
    with committed_app.app_context():
        wave = s.open_wave(6)
        tokens = [s.link_token(invitation) for invitation in s.invitations(wave)]
        expired = db.session.get(InvitationToken, token_hash(tokens[5]))
        assert expired is not None
        expired.expires_at = utcnow() - timedelta(hours=1)
        items = list(wave.item_ids)
        db.session.commit()
    return tokens, items


@pytest.fixture
def site(committed_app: Flask) -> Iterator[str]:
    with b.serving(committed_app) as base:
        yield base


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=b.PHONE)
    try:
        yield context.new_page()
    finally:
        context.close()


def _answer_everything(page: Any, items: list[str], burnout: str, trauma: str) -> None:
    """Click an option for every item: middle of the scale, except the two support items."""
    for item_id in items:
        value = {BURNOUT: burnout, TRAUMA: trauma}.get(item_id, "3")
        page.locator(f'label.option:has(input[name="answer-{item_id}"][value="{value}"])').click()


def _no_serious_problems(page: Any, name: str) -> None:
    b.screenshot(page, name)
    problems = b.serious_accessibility_problems(page)
    assert not problems, "\n".join(problems)


def test_a_keyboard_user_answers_and_is_offered_support(
    page: Any, site: str, links: tuple[list[str], list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    tokens, items = links
    page.goto(f"{site}/s/{tokens[0]}?a=4")
    assert page.url == f"{site}/survey"
    first = page.locator(f'input[name="answer-{items[0]}"]')
    assert first.nth(3).is_checked()  # the one-tap answer from the email
    assert page.get_by_role("status").is_visible()
    _no_serious_problems(page, "survey-form")

    # Keyboard only: arrows move within a radio group, Tab to the next group, Space chooses.
    first.nth(3).focus()
    page.keyboard.press("ArrowDown")
    assert first.nth(4).is_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    assert page.locator(f'input[name="answer-{items[1]}"]').first.is_checked()
    _answer_everything(page, items[2:], burnout="4", trauma="2")
    page.locator("#comment").focus()
    page.keyboard.type("Supervision this week really helped.")
    page.get_by_role("button", name="Send my answers").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/survey/thanks")

    assert page.get_by_role("heading", name="Thank you. Your answers are in.").is_visible()
    assert page.get_by_text("Your answers suggest that work has been weighing on you").is_visible()
    assert page.get_by_role("heading", name="Employee Assistance Program (EAP)").is_visible()
    assert page.get_by_role("link", name="Text HOME to 741741").is_visible()
    assert page.evaluate("() => window.sessionStorage.length") == 0  # the note was read once
    _no_serious_problems(page, "survey-thanks-support")

    # The access log shows the link's path, never its token or its one-tap answer.
    lines = [record.getMessage() for record in caplog.records]
    assert any("GET /s/[token] " in line for line in lines), lines
    assert not any(tokens[0] in line or "a=4" in line for line in lines)


def test_secondary_trauma_alone_opens_the_support_resources(
    page: Any, site: str, links: tuple[list[str], list[str]]
) -> None:
    tokens, items = links
    page.goto(f"{site}/s/{tokens[1]}")
    _answer_everything(page, items, burnout="1", trauma="5")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(f"{site}/survey/thanks")
    assert page.get_by_role("heading", name="988 Suicide & Crisis Lifeline").is_visible()


def test_low_answers_keep_the_support_resources_folded(
    page: Any, site: str, links: tuple[list[str], list[str]]
) -> None:
    tokens, items = links
    page.goto(f"{site}/s/{tokens[2]}")
    _answer_everything(page, items, burnout="2", trauma="3")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(f"{site}/survey/thanks")
    assert page.get_by_role("heading", name="If you need support").is_visible()
    assert not page.get_by_text("weighing on you").is_visible()
    assert not page.get_by_role("heading", name="Employee Assistance Program (EAP)").is_visible()
    page.get_by_text("Services you can contact").click()  # still one tap away
    assert page.get_by_role("heading", name="Employee Assistance Program (EAP)").is_visible()
    b.screenshot(page, "survey-thanks-folded")


def test_the_survey_works_without_javascript(
    chromium: Any, site: str, links: tuple[list[str], list[str]]
) -> None:
    tokens, items = links
    context = chromium.new_context(viewport=b.PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{site}/s/{tokens[3]}")
        _answer_everything(page, items, burnout="1", trauma="1")
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(f"{site}/survey/thanks")
        # Without JavaScript the resources are always listed, under the neutral heading.
        assert page.get_by_role("heading", name="Employee Assistance Program (EAP)").is_visible()
        assert not page.get_by_text("weighing on you").is_visible()
        b.screenshot(page, "survey-thanks-no-javascript")
    finally:
        context.close()


def test_the_pages_fit_a_phone_with_big_tap_targets(
    page: Any, site: str, links: tuple[list[str], list[str]]
) -> None:
    tokens, _ = links
    pages = {
        "survey-form-phone": f"/s/{tokens[4]}",
        "survey-form-phone-es": "/survey?lang=es",
        "survey-thanks-phone": "send",
        "survey-not-found-phone": "/s/" + "q" * 43,
        "survey-closed-phone": f"/s/{tokens[5]}",
    }
    for name, path in pages.items():
        if path == "send":
            page.locator("label.option").first.click()
            page.get_by_role("button", name="Enviar mis respuestas").click()
            page.wait_for_url(f"{site}/survey/thanks")
        else:
            page.goto(site + path)
        width = page.evaluate("() => document.scrollingElement.scrollWidth")
        assert width <= b.PHONE["width"], f"{name} scrolls sideways: {width}px wide"
        assert b.horizontal_overflow(page) == 0, name
        small = b.small_tap_targets(page, TAP_TARGETS)
        assert not small, f"{name}: " + "; ".join(small)
        b.screenshot(page, name)
        if name == "survey-form-phone-es":
            assert page.get_by_role("heading", name="¿Cómo le va en el trabajo?").is_visible()


def test_the_error_pages_are_accessible(
    page: Any, site: str, links: tuple[list[str], list[str]]
) -> None:
    tokens, _ = links
    response = page.goto(f"{site}/s/" + "q" * 43)
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="We could not open your survey").is_visible()
    _no_serious_problems(page, "survey-not-found")
    response = page.goto(f"{site}/s/{tokens[5]}")
    assert response is not None and response.status == 410
    assert page.get_by_role("heading", name="This pulse has closed").is_visible()
    _no_serious_problems(page, "survey-closed")
