"""Build closed waves with chosen answers, the way real submissions arrive."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from tests import pulse_helpers as h
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation, PulseProgram, Wave
from wellbeing.responses import service as answers

Answerer = Callable[[int, str, list[str]], tuple[dict[str, str], str | None, dict[str, str]]]


def steady(value: int = 4) -> Answerer:
    """Everyone gives ``value`` to every item, with a little variety so nothing is unanimous."""

    def answer(
        i: int, unit: str, items: list[str]
    ) -> tuple[dict[str, str], str | None, dict[str, str]]:
        return {item: str(min(5, max(1, value + (i % 3) - 1))) for item in items}, None, {}

    return answer


def run_wave(
    program: PulseProgram,
    answerer: Answerer,
    *,
    respond: float = 1.0,
    seed: int = 7,
    now: datetime | None = None,
) -> Wave:
    """Open a wave, have people answer through the service, close it and write responses."""
    rng = random.Random(seed)
    wave = pulse.open_wave(program, now or h.NOW)
    invitations = list(
        db.session.execute(
            sa.select(Invitation.id, Invitation.unit_id)
            .where(Invitation.wave_id == wave.id)
            .order_by(Invitation.id)
        ).tuples()
    )
    from wellbeing.org.models import Unit

    for i, (invitation_id, unit_id) in enumerate(invitations):
        if rng.random() > respond:
            continue
        unit = db.session.get(Unit, unit_id)
        assert unit is not None
        raw, comment, cuts = answerer(i, unit.path, list(wave.item_ids))
        answers.submit(invitation_id, answers.check_answers(wave, raw, comment, cuts))
    pulse.close_wave(wave)
    answers.flush_buffer(wave.id)
    return wave
