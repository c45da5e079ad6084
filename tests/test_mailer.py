"""Invitations and reminders, read as a real SMTP server on loopback received them."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import pulse_helpers as h
from tests.smtp import Received, SmtpServer
from wellbeing.extensions import db
from wellbeing.org import service as org
from wellbeing.org.models import Person
from wellbeing.pulse import mailer
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import DeliveryStatus, Invitation, InvitationToken, Wave
from wellbeing.pulse.sender import SenderWorker
from wellbeing.pulse.tokens import token_hash
from wellbeing.responses import service as answers
from wellbeing.types import utcnow

BASE = "http://pulse.test"
LINK = re.compile(r"http://pulse\.test/s/([A-Za-z0-9_\-]+)")
DAY = timedelta(days=1)


def invitation_of(email: str) -> Invitation:
    return db.session.scalars(sa.select(Invitation).join(Person).where(Person.email == email)).one()


def token_in(received: Received) -> str:
    tokens = set(LINK.findall(received.text)) | set(LINK.findall(received.html))
    assert len(tokens) == 1, tokens
    return tokens.pop()


def answer(email: str) -> None:
    invitation = invitation_of(email)
    wave = pulse.get_wave(invitation.wave_id)
    checked = answers.check_answers(wave, {item: "4" for item in wave.item_ids}, None)
    answers.submit(invitation.id, checked)
    db.session.commit()


def open_wave(people: int = 6) -> tuple[Wave, list[str]]:
    emails = h.staff("North", people)
    return pulse.open_wave(h.program(), h.NOW), emails


def test_each_person_receives_one_invitation_in_plain_text_and_html(
    app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    wave, emails = open_wave(6)

    report = mailer.send_due(now=h.NOW, batch_size=4)

    assert (report.invitations, report.reminders, report.deferred) == (6, 0, 0)
    assert smtp_server.recipients() == sorted(emails)
    assert smtp_server.connections == 2  # two batches, one SMTP connection each
    assert mailer.send_due(now=h.NOW + timedelta(hours=1)).sent == 0
    assert len(smtp_server.messages) == 6
    for email in emails:
        (received,) = smtp_server.to(email)
        assert received.message["From"] == app.config["MAIL_DEFAULT_SENDER"]
        assert received.message["Auto-Submitted"] == "auto-generated"
        assert received.subject == "How is work going? A 2-minute anonymous pulse"
        assert "It takes about 2 minutes" in received.text
        assert "about 2 minutes" in received.html
        assert "until Tuesday, March 10 at 3:00 PM UTC" in received.text
        invitation = invitation_of(email)
        assert invitation.status is DeliveryStatus.SENT
        assert invitation.sent_at == h.NOW
        assert invitation.next_attempt_at == h.NOW + 3 * DAY  # the day-3 reminder
    summary = pulse.delivery_summary(wave)
    assert (summary.sent, summary.pending, summary.rejected) == (6, 0, 0)


def test_emails_are_in_the_recipients_language_and_time_zone(
    app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    (english,) = h.staff("North", 1, time_zone="America/Chicago")
    (spanish,) = h.staff("South", 1, locale="es", time_zone="America/Los_Angeles")
    pulse.open_wave(h.program(), h.NOW)

    mailer.send_due(now=h.NOW)  # 9:00 in Chicago; still 7:00 in Los Angeles
    assert smtp_server.recipients() == [english]
    mailer.send_due(now=h.NOW + timedelta(hours=2))
    assert smtp_server.recipients() == sorted([english, spanish])

    (en,) = smtp_server.to(english)
    assert en.subject == "How is work going? A 2-minute anonymous pulse"
    assert en.message["Content-Language"] == "en"
    assert "Overall, I feel safe doing my job here." in en.text
    assert "Strongly agree" in en.html
    # The wave closes 7 days after the last invitation (Los Angeles), shown in Chicago time.
    assert "until Tuesday, March 10 at 12:00 PM CDT" in en.text

    (es,) = smtp_server.to(spanish)
    assert es.subject == "¿Cómo le va en el trabajo? Encuesta anónima de 2 minutos"
    assert es.message["Content-Language"] == "es"
    assert '<html lang="es">' in es.html
    assert "Le tomará unos 2 minutos" in es.text
    assert "En general, siento seguridad al hacer mi trabajo aquí." in es.text
    assert "Totalmente de acuerdo" in es.html
    assert "hasta el martes 10 de marzo, 10:00 a.m. (hora de verano del Pacífico)" in es.text
    assert "Sus respuestas solo se muestran en conjunto" in es.text


@pytest.mark.parametrize("k", [5, 7])
def test_the_protection_sentence_comes_from_the_live_settings(
    app: Flask, smtp_server: SmtpServer, k: int
) -> None:
    app.config["MIN_GROUP_SIZE"] = k
    smtp_server.serve(app)
    (english,) = h.staff("North", 1)
    (spanish,) = h.staff("South", 1, locale="es")
    pulse.open_wave(h.program(), h.NOW)
    mailer.send_due(now=h.NOW)

    sentence = (
        f"Your answers are only ever shown pooled in groups of at least {k} people, never on "
        "their own; comments are shown only for groups of 10 or more with at least 3 people "
        "commenting, and never with names."
    )
    (en,) = smtp_server.to(english)
    assert sentence in en.text
    assert sentence in en.html
    (es,) = smtp_server.to(spanish)
    assert f"en grupos de al menos {k} personas, nunca por separado" in es.text


def test_one_tap_links_carry_a_token_stored_only_as_its_hash(
    app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    wave, (email, *_) = open_wave(2)
    mailer.send_due(now=h.NOW)

    (received,) = smtp_server.to(email)
    token = token_in(received)
    link = f"{BASE}/s/{token}"
    one_taps = [f"{link}?a={value}" for value in range(1, 6)]
    hrefs = re.findall(r'href="([^"]+)"', received.html)
    assert hrefs == [*one_taps, link, link]
    for url in [*one_taps, link]:
        assert url in received.text
    labels = re.findall(r'\?a=\d" [^>]*>([^<]+)</a>', received.html)
    assert labels == [
        "Strongly disagree",
        "Disagree",
        "Neither agree nor disagree",
        "Agree",
        "Strongly agree",
    ]
    # Nothing is fetched when the email is opened: no images, no tracking pixels, no styles.
    assert not re.search(r"<img|src=|url\(|<link|@import", received.html, re.IGNORECASE)

    stored = db.session.get(InvitationToken, token_hash(token))
    assert stored is not None
    assert stored.invitation_id == invitation_of(email).id
    assert stored.expires_at == wave.closes_at


def _database_text() -> str:
    """Every row of every table in the database, as text."""
    connection = db.session.connection()
    dump = []
    for table in sa.inspect(connection).get_table_names():
        rows = connection.execute(sa.text(f'SELECT * FROM "{table}"')).all()  # noqa: S608 - table names read from the database
        dump.append(f"{table}: {rows!r}")
    return "\n".join(dump)


def test_raw_tokens_are_in_no_table_and_no_log_line(
    app: Flask, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp_server.serve(app)
    open_wave(5)
    mailer.send_due(now=h.NOW)
    mailer.send_due(now=h.NOW + 3 * DAY)

    tokens = {token_in(received) for received in smtp_server.messages}
    assert len(tokens) == 10  # five invitations and five reminders, each with its own token
    stored = _database_text()
    assert all(token_hash(token) in stored for token in tokens)
    # The SMTP server's own log ("mail.log") stands for the recipient's mail system, not ours.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert "sending pass" in ours
    for token in tokens:
        assert token not in stored
        assert token not in ours


def test_reminders_go_only_to_non_respondents_on_days_3_and_6_and_never_a_third(
    app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    wave, emails = open_wave(6)
    mailer.send_due(now=h.NOW)
    answer(emails[0])
    answer(emails[1])

    assert mailer.send_due(now=h.NOW + 2 * DAY).sent == 0
    first = mailer.send_due(now=h.NOW + 3 * DAY)
    assert (first.invitations, first.reminders) == (0, 4)
    answer(emails[2])
    assert mailer.send_due(now=h.NOW + 5 * DAY).sent == 0
    second = mailer.send_due(now=h.NOW + 6 * DAY)
    assert second.reminders == 3
    assert mailer.send_due(now=wave.closes_at - timedelta(minutes=1)).sent == 0

    counts = {email: len(smtp_server.to(email)) for email in emails}
    assert counts == {emails[0]: 1, emails[1]: 1, emails[2]: 2, **dict.fromkeys(emails[3:], 3)}
    invitation, reminder, last = smtp_server.to(emails[5])
    assert reminder.subject == "Reminder: the wellbeing pulse closes Tuesday, March 10"
    assert "This is reminder 1 of 2." in reminder.text
    assert "This is the last reminder for this pulse." in last.text
    assert "who has or hasn't answered" in reminder.text
    assert len({token_in(invitation), token_in(reminder), token_in(last)}) == 3
    for email in emails[3:]:
        row = invitation_of(email)
        assert (row.reminders_sent, row.next_attempt_at) == (2, None)


def test_smtp_down_then_back_delivers_each_invitation_once_within_the_window(
    app: Flask, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.serve(app)
    wave, emails = open_wave(6)
    smtp_server.stop()

    down = mailer.send_due(now=h.NOW)
    assert (down.sent, down.deferred) == (0, 6)
    assert down.smtp_error is not None and "ConnectionRefusedError" in down.smtp_error
    assert "the mail server could not take mail" in caplog.text
    row = invitation_of(emails[0])
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.next_attempt_at == h.NOW + timedelta(minutes=2)
    assert row.last_error == down.smtp_error

    assert mailer.send_due(now=h.NOW + timedelta(minutes=1)).deferred == 0  # backing off
    again = mailer.send_due(now=h.NOW + timedelta(minutes=2))
    assert again.deferred == 6
    assert invitation_of(emails[0]).next_attempt_at == h.NOW + timedelta(minutes=6)

    smtp_server.start()
    back = mailer.send_due(now=h.NOW + timedelta(minutes=6))
    assert back.invitations == 6
    assert mailer.send_due(now=h.NOW + timedelta(minutes=30)).sent == 0
    assert smtp_server.recipients() == sorted(emails)
    for email in emails:
        row = invitation_of(email)
        assert row.status is DeliveryStatus.SENT
        assert row.sent_at is not None and row.sent_at < wave.closes_at
        assert (row.attempts, row.last_error) == (0, None)


def test_a_sender_worker_says_once_the_mail_server_is_down_and_once_it_is_back(
    app: Flask, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wellbeing.pulse.sender")
    smtp_server.serve(app)
    emails = h.staff("North", 3)
    wave = pulse.open_wave(h.program(), utcnow())
    mailer.invite_now(wave)
    db.session.commit()
    worker = SenderWorker(app, every=1)
    smtp_server.stop()

    down = worker.run_pass()
    assert down is not None and down.deferred == 3
    assert worker.run_pass() is not None  # backing off: nothing is due, nothing new to say
    refusals = [r for r in caplog.records if "cannot take mail" in r.getMessage()]
    assert [r.levelname for r in refusals] == ["ERROR"]
    assert f"127.0.0.1:{smtp_server.port}" in refusals[0].getMessage()
    assert "ConnectionRefusedError" in refusals[0].getMessage()

    smtp_server.start()
    mailer.invite_now(wave)  # the retry time has come
    db.session.commit()
    back = worker.run_pass()
    assert back is not None and back.invitations == 3
    assert "the mail server takes mail again" in caplog.text
    assert smtp_server.recipients() == sorted(emails)
    assert worker.sent == 3


def test_backoff_doubles_up_to_an_hour() -> None:
    waits = [mailer.backoff(n) for n in (1, 2, 3, 5, 6, 40)]
    assert waits == [timedelta(minutes=m) for m in (2, 4, 8, 32, 60, 60)]


def test_a_busy_server_451_defers_and_a_later_pass_delivers(
    app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    _, emails = open_wave(3)
    smtp_server.fail_temporarily = True
    busy = mailer.send_due(now=h.NOW)
    assert (busy.sent, busy.deferred) == (0, 3)
    row = invitation_of(emails[0])
    assert row.status is DeliveryStatus.PENDING
    assert row.last_error is not None and row.last_error.startswith("451")

    smtp_server.fail_temporarily = False
    assert mailer.send_due(now=h.NOW + timedelta(minutes=2)).invitations == 3
    assert smtp_server.recipients() == sorted(emails)


def test_a_refused_address_is_rejected_and_listed_for_the_coordinator(
    app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    wave, emails = open_wave(4)
    smtp_server.reject(emails[1])

    report = mailer.send_due(now=h.NOW)
    assert (report.invitations, report.rejected, report.deferred) == (3, 1, 0)
    row = invitation_of(emails[1])
    assert row.status is DeliveryStatus.REJECTED
    assert row.last_error == "550 5.1.1 No such mailbox here"
    summary = pulse.delivery_summary(wave)
    assert (summary.sent, summary.rejected) == (3, 1)
    assert summary.rejected_addresses == [(emails[1], "550 5.1.1 No such mailbox here")]
    # Never retried, and never reminded.
    assert mailer.send_due(now=h.NOW + 3 * DAY).reminders == 3
    assert smtp_server.to(emails[1]) == []


def test_people_on_leave_get_nothing_until_resumed(app: Flask, smtp_server: SmtpServer) -> None:
    smtp_server.serve(app)
    _, emails = open_wave(3)
    on_leave = invitation_of(emails[0]).person_id
    org.set_paused(on_leave, True)

    assert mailer.send_due(now=h.NOW).invitations == 2
    org.set_paused(on_leave, False)
    assert mailer.send_due(now=h.NOW + DAY).invitations == 1
    assert smtp_server.recipients() == sorted(emails)


def test_nothing_is_sent_for_a_wave_past_its_close(app: Flask, smtp_server: SmtpServer) -> None:
    smtp_server.serve(app)
    wave, _ = open_wave(3)
    assert mailer.send_due(now=wave.closes_at).sent == 0
    pulse.close_wave(wave)
    assert mailer.send_due(now=h.NOW).sent == 0
    assert smtp_server.messages == []


def test_reminders_fall_inside_the_window(app: Flask, smtp_server: SmtpServer) -> None:
    smtp_server.serve(app)
    _, emails = open_wave(1)
    # Delivered late (the server was down for days): a day-3 reminder would come after close.
    mailer.send_due(now=h.NOW + 5 * DAY)
    assert invitation_of(emails[0]).next_attempt_at is None


def test_a_late_reminder_keeps_the_programs_gap_before_the_next() -> None:
    sent = datetime(2026, 3, 3, 9, tzinfo=UTC)
    closes = sent + timedelta(days=7)
    days = (3, 6)
    assert mailer.reminder_due(sent, 0, days, closes, last=sent) == sent + timedelta(days=3)
    # The first reminder went out on day 5, after an outage: the second waits three days more,
    # which is past the close, so there is none.
    late = sent + timedelta(days=5)
    assert mailer.reminder_due(sent, 1, days, closes, last=late) is None
    on_time = sent + timedelta(days=3)
    assert mailer.reminder_due(sent, 1, days, closes, last=on_time) == sent + timedelta(days=6)
    assert mailer.reminder_due(sent, 2, days, closes, last=on_time) is None


def test_one_full_mailbox_waits_while_the_rest_of_the_batch_goes(
    app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    _, emails = open_wave(3)
    smtp_server.full.add(emails[0])
    first = mailer.send_due(now=h.NOW)
    assert (first.invitations, first.deferred) == (2, 1)
    assert smtp_server.recipients() == sorted(emails[1:])
    row = invitation_of(emails[0])
    assert row.status is DeliveryStatus.PENDING and (row.last_error or "").startswith("452")

    smtp_server.full.clear()
    assert mailer.send_due(now=h.NOW + timedelta(minutes=3)).invitations == 1
    assert smtp_server.recipients() == sorted(emails)
