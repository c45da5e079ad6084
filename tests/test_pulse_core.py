"""Waves, invitations and the unlinkable response side, through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import pulse_helpers as h
from wellbeing.bank import current_bank
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation, WaveStatus
from wellbeing.responses import service as answers
from wellbeing.responses.models import Answer, Choice, Comment, Response, Submission


def test_rotation_covers_every_module_and_each_essential_each_quarter(app: Flask) -> None:
    bank = current_bank()
    h.staff("North", 1)
    program = h.program()
    modules = [pulse.plan_items(program, seq, bank)[0] for seq in range(1, 7)]
    assert sorted(m for m in modules if m) == sorted(bank.modules)
    for seq in range(1, 13):
        module, items = pulse.plan_items(program, seq, bank)
        assert items[:8] == list(bank.program.core_items)
        assert len(items) == 10 and len(set(items)) == 10
        assert all(bank.items[i].module == module for i in items[8:])
    # The second time a module comes round, it asks different deep-dive items.
    assert pulse.plan_items(program, 1, bank)[1][8:] != pulse.plan_items(program, 7, bank)[1][8:]


def test_open_wave_invites_active_unpaused_people_at_their_local_hour(app: Flask) -> None:
    h.staff("North", 3, time_zone="America/Chicago")
    h.staff("South", 2, time_zone="America/Los_Angeles")
    paused = h.staff("East", 1)[0]
    inactive = h.staff("East", 1, start=1)[0]
    from wellbeing.org.models import Person

    db.session.scalar(sa.select(Person).where(Person.email == paused)).paused = True
    db.session.scalar(sa.select(Person).where(Person.email == inactive)).active = False
    program = h.program()
    day = h.NOW.date() + timedelta(days=1)
    wave = pulse.open_wave(program, h.NOW, scheduled_for=day)
    invitations = list(
        db.session.scalars(sa.select(Invitation).where(Invitation.wave_id == wave.id))
    )
    assert len(invitations) == 5
    hours = {inv.next_attempt_at.hour for inv in invitations if inv.next_attempt_at}
    assert hours == {15, 17}  # 9:00 in Chicago (UTC-6) and Los Angeles (UTC-8) in March
    assert wave.closes_at == max(
        i.next_attempt_at for i in invitations if i.next_attempt_at
    ) + timedelta(days=7)
    with pytest.raises(pulse.PulseError, match="still open"):
        pulse.open_wave(program, h.NOW)


def test_open_due_waves_follows_the_cadence(app: Flask) -> None:
    h.staff("North", 6)
    program = h.program()
    first_day = pulse.first_wave_date(program)
    assert first_day.weekday() == program.invite_weekday
    early = pulse.open_due_waves(now=h.NOW.replace(year=2000))
    assert early == []
    from datetime import UTC, datetime, time

    at = datetime.combine(first_day, time(12), tzinfo=UTC)
    (wave,) = pulse.open_due_waves(now=at)
    assert pulse.open_due_waves(now=at) == []  # already open
    pulse.close_wave(wave)
    assert pulse.open_due_waves(now=at + timedelta(days=8)) == []  # not yet two weeks
    (second,) = pulse.open_due_waves(now=at + timedelta(days=14))
    assert second.sequence == 2 and second.scheduled_for == first_day + timedelta(days=14)


def _answer_all(wave_id: int, value: int) -> answers.CheckedAnswers:
    wave = pulse.get_wave(wave_id)
    return answers.check_answers(
        wave, dict.fromkeys(wave.item_ids, str(value)) | {wave.item_ids[0]: "na"}, "fine"
    )


def test_submissions_stay_sealed_until_the_wave_closes(app: Flask) -> None:
    wave = h.open_wave(n_north=7)
    invitations = list(
        db.session.scalars(sa.select(Invitation).where(Invitation.wave_id == wave.id))
    )
    for inv in invitations[:5]:
        answers.submit(inv.id, _answer_all(wave.id, 3))
    assert answers.flush_buffer() == 0  # the wave is open: nothing is written yet
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    sealed = db.session.scalars(sa.select(Submission.sealed)).all()
    assert all(b"fine" not in blob and b"answers" not in blob for blob in sealed)
    pulse.close_wave(wave)
    assert answers.flush_buffer() == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 5
    na = db.session.scalars(sa.select(Answer).where(Answer.item_id == wave.item_ids[0])).all()
    assert {a.choice for a in na} == {Choice.NOT_APPLICABLE} and {a.value for a in na} == {None}


def test_a_second_submission_is_refused(app: Flask) -> None:
    wave = h.open_wave(n_north=5)
    inv = db.session.scalars(sa.select(Invitation).where(Invitation.wave_id == wave.id)).first()
    assert inv is not None
    answers.submit(inv.id, _answer_all(wave.id, 3))
    with pytest.raises(answers.AlreadyAnswered):
        answers.submit(inv.id, _answer_all(wave.id, 5))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"nope": "3"}, "unknown question 'nope'"),
        ({"FIRST": "6"}, "is not one of its options"),
        ({"FIRST": "-1"}, "is not one of its options"),
        ({"FIRST": "three"}, "is not one of its options"),
        ({}, "answer at least one question"),
    ],
)
def test_bad_answers_are_refused(app: Flask, raw: dict[str, str], message: str) -> None:
    wave = h.open_wave(n_north=5)
    raw = {(wave.item_ids[0] if k == "FIRST" else k): v for k, v in raw.items()}
    with pytest.raises(answers.SubmissionError, match=message):
        answers.check_answers(wave, raw, None)


def test_oversized_comment_is_refused(app: Flask) -> None:
    wave = h.open_wave(n_north=5)
    with pytest.raises(answers.SubmissionError, match="longer than 2000"):
        answers.check_answers(wave, {}, "x" * 2001)


def test_closed_wave_takes_no_answers(app: Flask) -> None:
    wave = h.open_wave(n_north=5)
    inv = db.session.scalars(sa.select(Invitation).where(Invitation.wave_id == wave.id)).first()
    assert inv is not None
    checked = _answer_all(wave.id, 3)
    pulse.close_wave(wave)
    assert wave.status is WaveStatus.CLOSED
    with pytest.raises(answers.WaveClosed):
        answers.submit(inv.id, checked)


def test_participation_is_shown_only_where_both_counts_reach_k(app: Flask) -> None:
    wave = h.open_wave(n_north=12, n_south=4)
    invitations = list(
        db.session.scalars(
            sa.select(Invitation).where(Invitation.wave_id == wave.id).order_by(Invitation.id)
        )
    )
    for inv in invitations[:6]:
        answers.submit(inv.id, _answer_all(wave.id, 3))
    rows = {r.path: r.shown for r in pulse.participation_by_unit(wave)}
    assert (
        rows["Riverside/North"].rate_percent == 50
        and rows["Riverside/North"].invited_band == "10–19"
    )
    assert rows["Riverside/South"].hidden  # 4 invited: below k
    assert rows["Riverside"].rate_percent == 40  # 6 of 16 = 37.5 → nearest 5
