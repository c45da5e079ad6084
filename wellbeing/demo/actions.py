"""The demo's actions: what the made-up agency did about what its staff said, wave by wave.

Each story starts, notes and finishes an action through the actions service on the dates of
the history, so the unit pages mark them on their charts, the waves after them carry the
follow-up question, and staff see them as "you said, we did". Two of them come before a
team's results turn (see ``history.TURNS``), so the charts show movement after the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from wellbeing.actions import service as actions
from wellbeing.actions.models import Action, ActionStatus, Stage
from wellbeing.auth.models import Role, User
from wellbeing.extensions import db
from wellbeing.org.models import Unit


@dataclass(frozen=True)
class Story:
    """One action: where, what, and at which waves it starts and ends (None: still running)."""

    team: str | None  # None: the whole agency
    domains: tuple[str, ...]
    title: str
    title_es: str
    heard: str
    plan: str
    plan_es: str
    owner_role: str
    starts: int
    ends: int | None = None
    outcome: ActionStatus = ActionStatus.DONE
    notes: tuple[tuple[int, Stage, str], ...] = field(default_factory=tuple)


STORIES = (
    Story(
        team="Ongoing Services",
        domains=("reflective_supervision", "work_life_harmony"),
        title="Bring back biweekly reflective supervision",
        title_es="Recuperar la supervisión reflexiva cada dos semanas",
        heard="Reflective supervision and work-life harmony were the team's lowest results; "
        "several released comments said there was nobody to talk to after hard visits.",
        plan="Every worker gets a protected hour with their supervisor every other week; "
        "sessions are moved, not cancelled, when court runs late.",
        plan_es="Cada persona tiene una hora protegida con su supervisora cada dos semanas; "
        "las sesiones se cambian de día, no se cancelan, cuando el juzgado se alarga.",
        owner_role="Program manager, Ongoing Services",
        starts=3,
        ends=8,
        notes=(
            (3, Stage.PLAN, "We expect the harmony index to rise within three pulses."),
            (5, Stage.DO, "Nine of ten scheduled sessions held in the first month."),
            (7, Stage.STUDY, "The run chart is above its median for four waves running."),
            (8, Stage.ACT, "Kept as standing practice; the schedule is in the team calendar."),
        ),
    ),
    Story(
        team="Intake & Assessment",
        domains=("work_life_harmony",),
        title="Cap new assignments while caseloads are above 12",
        title_es="Limitar las asignaciones nuevas mientras los casos pasen de 12",
        heard="Work-life harmony kept falling for Intake & Assessment and a released comment "
        "said caseloads leave no time for the families who need it most.",
        plan="No worker above 12 open investigations gets a new one; overflow goes to a "
        "rotating backup list reviewed every Monday.",
        plan_es="Nadie con más de 12 investigaciones abiertas recibe una nueva; el exceso pasa "
        "a una lista rotativa que se revisa cada lunes.",
        owner_role="Intake supervisor",
        starts=9,
        notes=((10, Stage.DO, "Two weeks in: the backup list is used about four times a week."),),
    ),
    Story(
        team=None,
        domains=("mattering_at_work",),
        title="Pay mileage within two weeks",
        title_es="Pagar el kilometraje en un plazo de dos semanas",
        heard="Comments across the agency said field days cost staff money.",
        plan="Mileage claims are approved weekly and paid in the next payroll.",
        plan_es="Las solicitudes de kilometraje se aprueban cada semana y se pagan en la "
        "siguiente nómina.",
        owner_role="Finance director",
        starts=5,
        ends=7,
    ),
    Story(
        team="Eastside Center",
        domains=("connection_community",),
        title="Monthly team lunch",
        title_es="Almuerzo mensual del equipo",
        heard="Connection was steady but lower than the other centres.",
        plan="A paid team lunch on the first Friday of each month.",
        plan_es="Un almuerzo pagado del equipo el primer viernes de cada mes.",
        owner_role="Center director",
        starts=6,
        ends=9,
        outcome=ActionStatus.STOPPED,
        notes=(
            (9, Stage.ACT, "Coverage made lunches hard to attend; we will try a shorter huddle."),
        ),
    ),
)


def act(number: int, day: date) -> None:
    """Record what the stories do at wave ``number``, dated ``day`` (just before it opens)."""
    coordinator = db.session.scalar(sa.select(User).where(User.role == Role.COORDINATOR).limit(1))
    if coordinator is None:
        return
    for story in STORIES:
        unit = _unit(story.team)
        if unit is None:
            continue
        action = db.session.scalar(sa.select(Action).where(Action.title == story.title))
        if number == story.starts - 1:
            action = actions.record_action(
                coordinator,
                actions.ActionDraft(
                    unit_id=unit.id,
                    domains=story.domains,
                    title=story.title,
                    title_es=story.title_es,
                    heard=story.heard,
                    plan=story.plan,
                    plan_es=story.plan_es,
                    owner_role=story.owner_role,
                    start_date=day,
                ),
            )
        if action is None:
            continue
        if number == story.starts:
            actions.move(coordinator, action, ActionStatus.IN_PROGRESS, day)
        for at, stage, text in story.notes:
            if at == number:
                actions.add_note(coordinator, action, stage, text, day)
        if story.ends is not None and number == story.ends:
            actions.move(coordinator, action, story.outcome, day)


def _unit(team: str | None) -> Unit | None:
    if team is None:
        return db.session.scalar(sa.select(Unit).where(Unit.depth == 0).order_by(Unit.path))
    return db.session.scalar(sa.select(Unit).where(Unit.name == team).order_by(Unit.path))
