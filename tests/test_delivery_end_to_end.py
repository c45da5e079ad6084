"""A pulse from the outside: emails received by a real SMTP server, answered in a real browser.

Also the race a person can cause by double-tapping "send" on two devices: the same link posted
twice at once stores one set of answers.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from tests import browser as b
from tests import pulse_helpers as h
from tests.conftest import BACKEND
from tests.smtp import SmtpServer
from wellbeing.extensions import db
from wellbeing.pulse import mailer
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation
from wellbeing.responses.models import Submission
from wellbeing.types import utcnow

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/s/[\w-]+)")


def _open_and_send(app: Flask, base: str) -> tuple[list[str], list[str]]:
    """Three people (one Spanish-speaking) invited now; their emails sent for real."""
    app.config["BASE_URL"] = base
    with app.app_context():
        english = h.staff("North", 2)
        spanish = h.staff("Norte", 1, locale="es")
        program = h.program()
        wave = pulse.open_wave(program, utcnow())
        mailer.invite_now(wave)
        items = list(wave.item_ids)
        db.session.commit()
        report = mailer.send_due()
    assert report.invitations == 3
    return [*english, *spanish], items


@pytest.mark.browser
def test_an_emailed_link_is_answered_in_a_browser_and_only_the_others_are_reminded(
    committed_app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(committed_app)
    with b.serving(committed_app) as base, b.chromium() as chromium:
        people, items = _open_and_send(committed_app, base)
        assert smtp_server.recipients() == sorted(people)
        (invitation,) = smtp_server.to(people[0])
        assert "anonymous" in invitation.subject and "about 2 minutes" in invitation.text
        assert "pooled in groups of at least 5 people" in invitation.text
        assert invitation.html.count(base + "/s/") >= 1
        (spanish,) = smtp_server.to(people[2])
        assert "Encuesta anónima" in spanish.subject and "Sus respuestas" in spanish.text
        link = LINK.search(invitation.text)
        assert link is not None, invitation.text

        context = chromium.new_context(viewport=b.PHONE)
        try:
            page: Any = context.new_page()
            page.goto(link.group(1))
            assert page.url == f"{base}/survey"
            for item_id in items:
                page.locator(f'label.option:has(input[name="answer-{item_id}"])').first.click()
            page.get_by_role("button", name="Send my answers").click()
            page.wait_for_url(f"{base}/survey/thanks")
            assert page.get_by_role("heading", name="Thank you. Your answers are in.").is_visible()
            b.screenshot(page, "end-to-end-thanks")
        finally:
            context.close()

    smtp_server.clear()
    with committed_app.app_context():
        report = mailer.send_due(now=utcnow() + timedelta(days=3, hours=1))
    assert report.reminders == 2
    assert smtp_server.recipients() == sorted(people[1:])  # never the person who answered
    assert all("Reminder" in m.subject or "Recordatorio" in m.subject for m in smtp_server.messages)


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks under real concurrency: PostgreSQL")
def test_the_same_link_posted_twice_at_once_stores_one_set_of_answers(
    committed_app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(committed_app)
    with b.serving(committed_app) as base:
        people, items = _open_and_send(committed_app, base)
        (message,) = smtp_server.to(people[0])
        link = LINK.search(message.text)
        assert link is not None
        forms = []
        for _ in range(2):  # the same link opened on a phone and on a laptop
            device = requests.Session()
            page = device.get(link.group(1), timeout=10)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert page.status_code == 200 and csrf is not None
            data = {f"answer-{item}": "na" for item in items}
            data[f"answer-{items[0]}"] = "3"
            forms.append((device, {**data, "csrf_token": csrf.group(1)}))

        start = threading.Barrier(2)
        statuses: list[int] = []

        def send(device: requests.Session, data: dict[str, str]) -> None:
            start.wait()
            answer = device.post(f"{base}/survey", data=data, timeout=10, allow_redirects=False)
            statuses.append(answer.status_code)

        threads = [threading.Thread(target=send, args=form) for form in forms]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        for device, _ in forms:
            device.close()

    assert sorted(statuses) == [303, 409]
    with committed_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Invitation).where(Invitation.responded)
            )
            == 1
        )
