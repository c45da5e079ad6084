"""Months of made-up pulse history for the demo, written through the product's own services.

Each past wave is opened, answered through the same submission service the survey page uses,
closed, written and released, exactly as the scheduler would; no email is sent for it because
a wave in the past is closed before any invitation falls due. Teams follow simple stories so
the dashboards have something to show: one team's workload worsens, another recovers after a
change, most hold steady.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from wellbeing.actions import follow_up
from wellbeing.bank import current_bank
from wellbeing.demo import actions as demo_actions
from wellbeing.demo import practices as demo_practices
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation, PulseProgram, Wave
from wellbeing.releases import service as releases
from wellbeing.responses import service as answers

PROGRAM_KEY = "staff-pulse"
HISTORY_SEED = 20260915
RESPONSE_RATE = 0.72

# How each team's answers lean (1–5) at the start and how much they move per wave.
STORIES: dict[str, tuple[float, float]] = {
    "Intake & Assessment": (3.4, -0.12),  # caseloads climbing
    "Ongoing Services": (3.0, 0.0),  # flat until reflective supervision comes back
    "Eastside Center": (3.8, 0.0),
    "North": (3.6, 0.03),
}
DEFAULT_STORY = (3.5, 0.0)
# From which wave a team's answers take a new drift: after the demo's actions (demo.actions).
TURNS: dict[str, tuple[int, float]] = {
    "Ongoing Services": (4, 0.14),  # reflective supervision back from wave 3
    "Intake & Assessment": (10, 0.02),  # the caseload cap stops the slide
}

COMMENTS = (
    "Caseloads have gone up again and there is no time left for the families who need the most.",
    "Reflective supervision every other week has made a real difference for me.",
    "We need mileage paid on time; field days cost us money.",
    "I feel safe on home visits when we go in pairs.",
    "Pay has not kept up and several colleagues are looking elsewhere.",
    "More training on trauma-informed practice, please.",
    "Leadership listened about the on-call schedule. Thank you.",
    "After a hard visit there is nobody to talk to before the next one.",
    "I love this team; we cover for each other.",
    "Paperwork takes more time than the families do.",
)

Progress = Callable[[int, int], None]


def history_program() -> PulseProgram:
    """The demo's pulse program over the whole agency, created on first use."""
    existing = db.session.scalar(sa.select(PulseProgram).where(PulseProgram.key == PROGRAM_KEY))
    if existing is not None:
        return existing
    agency = db.session.scalar(sa.select(Unit).where(Unit.depth == 0).order_by(Unit.path))
    if agency is None:
        raise RuntimeError("the demo organisation must exist before its history")
    settings = pulse.default_settings(current_bank(), "Staff wellbeing pulse", [agency.path])
    return pulse.create_program(PROGRAM_KEY, settings)


def has_history() -> bool:
    """Whether the demo program has any waves yet."""
    return (
        db.session.scalar(
            sa.select(Wave.id)
            .join(PulseProgram, PulseProgram.id == Wave.program_id)
            .where(PulseProgram.key == PROGRAM_KEY)
            .limit(1)
        )
        is not None
    )


def build_history(waves: int, now: datetime | None = None, progress: Progress | None = None) -> int:
    """Add ``waves`` released past waves, ending before ``now``, unless the program has some.

    Commits after each wave, so an interrupted build keeps the waves it finished (and, since
    the program then has waves, is not extended later). Returns the number of waves added.
    """
    now = now or datetime.now(UTC)
    if has_history():
        return 0
    program = history_program()
    db.session.commit()
    rng = random.Random(HISTORY_SEED)  # noqa: S311 - made-up answers, not security
    cadence = timedelta(days=program.cadence_days)
    first = now - cadence * waves - timedelta(days=1)
    for number in range(waves):
        opened = first + cadence * number
        demo_actions.act(number, (opened - timedelta(days=2)).date())
        wave = pulse.open_wave(program, opened)
        _answer(wave, number, rng)
        pulse.close_wave(wave, wave.closes_at)
        answers.flush_buffer(wave.id)
        releases.compute_release(wave)
        db.session.commit()
        if progress is not None:
            progress(number + 1, waves)
    demo_practices.record(first, first + cadence * (waves - 1))
    db.session.commit()
    return waves


def _answer(wave: Wave, number: int, rng: random.Random) -> None:
    """Answer the wave for about RESPONSE_RATE of the invited, each team along its story."""
    rows = db.session.execute(
        sa.select(Invitation.id, Unit.name, Unit.id)
        .join(Unit, Unit.id == Invitation.unit_id)
        .where(Invitation.wave_id == wave.id)
        .order_by(Invitation.id)
    ).tuples()
    for invitation_id, team, unit_id in rows:
        if rng.random() > RESPONSE_RATE:
            continue
        bank = follow_up.bank_for(wave, unit_id)
        centre = _centre(team, number)
        raw: dict[str, str] = {}
        for item_id in (i for i in wave.item_ids if i in bank.items):
            values = list(bank.scale_of(item_id).values)
            if rng.random() < 0.04:
                raw[item_id] = rng.choice(["na", "pns"])
                continue
            lean = centre if not bank.items[item_id].reverse else 6 - centre
            value = round(rng.gauss(lean, 0.9))
            raw[item_id] = str(
                min(max(value, values[0]), values[-1]) if len(values) == 5 else rng.choice(values)
            )
        cuts = {
            cut.id: rng.choice([option.value for option in cut.options])
            for cut in bank.cuts.values()
            if rng.random() < 0.8
        }
        comment = rng.choice(COMMENTS) if rng.random() < 0.25 else None
        answers.submit(invitation_id, answers.check_answers(wave, raw, comment, cuts, bank))


def _centre(team: str, number: int) -> float:
    """Where a team's answers lean at wave ``number``, along its story and any turn in it."""
    start, drift = STORIES.get(team, DEFAULT_STORY)
    turn = TURNS.get(team)
    if turn is None or number < turn[0]:
        return start + drift * number
    at, after = turn
    return start + drift * at + after * (number - at)
