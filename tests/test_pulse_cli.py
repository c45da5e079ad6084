"""``wellbeing programs``, ``wellbeing pulse`` and ``wellbeing staff`` as an operator uses them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from tests import pulse_helpers as h
from tests.scheduler_helpers import with_recorded_releases
from tests.smtp import SmtpServer
from wellbeing.extensions import db
from wellbeing.org.models import Person
from wellbeing.pulse import mailer
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import DeliveryStatus, Invitation, PulseProgram, Wave, WaveStatus
from wellbeing.releases import service as releases
from wellbeing.responses import service as answers
from wellbeing.responses.models import Response


def run(runner: FlaskCliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(args=list(args))
    return result.exit_code, result.output


def setup_staff(north: int = 3, south: int = 0) -> list[str]:
    emails = h.staff("North", north) + (h.staff("South", south) if south else [])
    db.session.commit()
    return emails


def open_now(key: str = "standard") -> Wave:
    """A wave opened at the real present, so its emails are due now."""
    wave = pulse.open_wave(pulse.get_program(key))
    mailer.invite_now(wave)
    db.session.commit()
    return wave


def test_programs_create_takes_the_bank_defaults(app: Flask, runner: FlaskCliRunner) -> None:
    setup_staff()
    code, output = run(runner, "programs", "create", "standard", "--name", "Standard pulse",
                       "--unit", "Riverside")  # fmt: skip
    assert code == 0, output
    assert output.startswith("Created standard: Standard pulse — every 14 days on Tuesday at 9:00")
    program = pulse.get_program("standard")
    assert (program.cadence_days, program.window_days, program.reminder_days) == (14, 7, [3, 6])
    assert [u.path for u in program.units] == ["Riverside"]


def test_programs_create_with_every_option(app: Flask, runner: FlaskCliRunner) -> None:
    setup_staff(south=1)
    code, output = run(
        runner, "programs", "create", "weekly", "--name", "Weekly check-in",
        "--unit", "Riverside/North", "--unit", "Riverside/South", "--cadence-days", "7",
        "--weekday", "wed", "--hour", "8", "--window-days", "5", "--reminder-days", "2,4",
        "--languages", "es",
    )  # fmt: skip
    assert code == 0, output
    program = pulse.get_program("weekly")
    assert (program.cadence_days, program.invite_weekday, program.invite_hour) == (7, 2, 8)
    assert (program.window_days, program.reminder_days, program.languages) == (5, [2, 4], ["es"])
    assert [u.path for u in program.units] == ["Riverside/North", "Riverside/South"]
    assert "reminders on days 2, 4" in output


def test_programs_create_explains_what_is_wrong_and_writes_nothing(
    app: Flask, runner: FlaskCliRunner
) -> None:
    setup_staff()
    base = ["programs", "create", "weekly", "--name", "Weekly"]
    cases = [
        ([*base, "--unit", "Nowhere"], 1, "no unit has the path 'Nowhere'"),
        ([*base, "--unit", "Riverside", "--reminder-days", "3,9"], 1, "reminder day 9 is outside"),
        ([*base, "--unit", "Riverside", "--reminder-days", "2,4,5"], 1, "at most two reminders"),
        ([*base, "--unit", "Riverside", "--weekday", "funday"], 2, "give a day name"),
        ([*base, "--unit", "Riverside", "--reminder-days", "x"], 2, "numbers separated by commas"),
        (["programs", "create", "Bad Key", "--name", "B", "--unit", "Riverside"], 1, "the key"),
        ([*base], 2, "Missing option '--unit'"),
    ]
    for args, expected_code, message in cases:
        code, output = run(runner, *args)
        assert (code, message in output) == (expected_code, True), (args, output)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PulseProgram)) == 0

    assert run(runner, *base, "--unit", "Riverside")[0] == 0
    code, output = run(runner, *base, "--unit", "Riverside")
    assert code == 1 and "a program with the key 'weekly' already exists" in output


def test_pulse_open_invites_at_the_local_hour_or_with_now_at_once(
    app: Flask, runner: FlaskCliRunner, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_server.serve(app)
    emails = setup_staff(3)
    h.program()
    db.session.commit()

    code, output = run(runner, "pulse", "open", "standard")
    assert code == 0, output
    assert "3 people invited, 10 questions" in output
    assert "Invitations go out at 9:00 in each person's time zone" in output
    assert smtp_server.messages == []
    wave = pulse.latest_wave(pulse.get_program("standard"))
    assert wave is not None

    code, output = run(runner, "pulse", "open", "standard")
    assert code == 1 and "still open; close it first" in output
    assert run(runner, "pulse", "close", str(wave.id))[0] == 0

    code, output = run(runner, "pulse", "open", "standard", "--now")
    assert code == 0, output
    assert "Sent 3 invitations and 0 reminders; 0 addresses refused." in output
    assert smtp_server.recipients() == sorted(emails)

    code, output = run(runner, "pulse", "open", "no_such_program")
    assert code == 1 and "no pulse program has the key 'no_such_program'" in output


def test_pulse_send_reports_what_it_sent_and_fails_while_the_server_is_down(
    app: Flask, runner: FlaskCliRunner, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    emails = setup_staff(3)
    h.program()
    open_now()
    smtp_server.stop()

    code, output = run(runner, "pulse", "send")
    assert code == 1
    assert "the mail server could not take mail (ConnectionRefusedError" in output
    assert "3 emails will be tried again from" in output

    smtp_server.start()
    db.session.execute(sa.update(Invitation).values(next_attempt_at=sa.func.now()))  # skip the wait
    db.session.commit()
    code, output = run(runner, "pulse", "send")
    assert code == 0, output
    assert "Sent 3 invitations" in output
    assert smtp_server.recipients() == sorted(emails)


def test_pulse_status_shows_delivery_and_only_banded_participation(
    app: Flask, runner: FlaskCliRunner, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    emails = setup_staff(north=12, south=3)
    h.program()
    wave = open_now()
    smtp_server.reject(emails[1])
    mailer.send_due()
    for invitation in db.session.scalars(
        sa.select(Invitation).join(Person).where(Person.email.like("north%")).limit(6)
    ).all():
        checked = answers.check_answers(wave, {wave.item_ids[0]: "4"}, None)
        answers.submit(invitation.id, checked)
    db.session.commit()

    code, output = run(runner, "pulse", "status")
    assert code == 0, output
    assert "standard: Standard pulse — every 14 days on Tuesday" in output
    assert f"Wave {wave.id} of standard (#1)" in output
    assert "Emails: 14 sent, 0 pending, 1 refused" in output
    assert f"refused: {emails[1]} (550 5.1.1 No such mailbox here)" in output
    assert "Riverside: 40% (5–9 of 10–19)" in output
    assert "Riverside/North: 50% (5–9 of 10–19)" in output
    assert "Riverside/South: hidden" in output
    # Only bands and rounded rates: no exact count of answers or invitations appears.
    participation = output.split("Participation")[1]
    assert not any(f" {n} " in participation or f"({n} " in participation for n in (3, 6, 12, 15))


def test_pulse_status_with_nothing_set_up(app: Flask, runner: FlaskCliRunner) -> None:
    code, output = run(runner, "pulse", "status")
    assert code == 0 and "No pulse programs yet" in output


def test_pulse_close_closes_writes_the_answers_and_can_be_repeated(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave = h.open_wave(n_north=6)
    for invitation_id in db.session.scalars(
        sa.select(Invitation.id).where(Invitation.wave_id == wave.id).limit(5)
    ).all():
        answers.submit(invitation_id, answers.check_answers(wave, {wave.item_ids[0]: "2"}, None))
    db.session.commit()

    code, output = run(runner, "pulse", "close", str(wave.id))
    assert code == 0, output
    assert f"Closed wave {wave.id}; its answers are written." in output
    assert "Its results are released." in output
    assert wave.status is WaveStatus.RELEASED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 5
    assert not db.session.scalars(
        sa.select(Invitation.id).where(Invitation.next_attempt_at.is_not(None))
    ).all()

    code, output = run(runner, "pulse", "close", str(wave.id))
    assert code == 0 and "was already closed" in output
    code, output = run(runner, "pulse", "close", "999999")
    assert code == 1 and "there is no wave 999999" in output


def test_pulse_close_releases_the_wave_or_says_why_it_could_not(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = with_recorded_releases(monkeypatch)
    first = h.open_wave(n_north=6)
    db.session.commit()
    code, output = run(runner, "pulse", "close", str(first.id))
    assert code == 0, output
    assert "Its results are released." in output
    assert released == [first.id] and first.status is WaveStatus.RELEASED

    def broken(wave: Wave) -> None:
        raise ValueError("the audit solver is not installed")

    monkeypatch.setattr(releases, "compute_release", broken)
    second = pulse.open_wave(first.program, first.closes_at)
    db.session.commit()
    code, output = run(runner, "pulse", "close", str(second.id))
    assert code == 1
    assert f"Closed wave {second.id}; its answers are written." in output
    assert "could not be computed (the audit solver is not installed)" in output
    assert second.status is WaveStatus.CLOSED


def test_staff_pause_and_resume(app: Flask, runner: FlaskCliRunner) -> None:
    (email,) = setup_staff(1)
    code, output = run(runner, "staff", "pause", email.upper())
    assert code == 0, output
    person = db.session.scalars(sa.select(Person).where(Person.email == email)).one()
    assert person.paused
    assert run(runner, "staff", "resume", email)[0] == 0
    assert not person.paused
    code, output = run(runner, "staff", "pause", "nobody@example.org")
    assert code == 1 and "nobody on the roster has the email 'nobody@example.org'" in output


def test_a_paused_person_is_not_invited_to_the_next_wave(
    app: Flask, runner: FlaskCliRunner
) -> None:
    emails = setup_staff(3)
    assert run(runner, "staff", "pause", emails[0])[0] == 0
    wave = h.pulse.open_wave(h.program(), h.NOW)
    invited = db.session.scalars(
        sa.select(Person.email).join(Invitation).where(Invitation.wave_id == wave.id)
    ).all()
    assert sorted(invited) == emails[1:]
    assert all(
        i.status is DeliveryStatus.PENDING
        for i in db.session.scalars(sa.select(Invitation).where(Invitation.wave_id == wave.id))
    )
