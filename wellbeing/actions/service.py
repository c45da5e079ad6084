"""Recording actions, moving them through their life, and telling staff what was done.

Leaders act for the units in their scope (and below); coordinators and admins for any unit.
Every change is written to the action's history, so what was planned, changed and learned
stays visible after the fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from wellbeing.actions.models import (
    STATUS_MOVES,
    Action,
    ActionEntry,
    ActionStatus,
    EntryKind,
    Stage,
)
from wellbeing.auth.access import AccessDenied, check_unit, scope_of
from wellbeing.auth.models import User
from wellbeing.bank import current_bank
from wellbeing.bank.schema import ChangeConcept, Domain
from wellbeing.extensions import db
from wellbeing.org.models import PATH_SEPARATOR, Unit
from wellbeing.pulse.models import Invitation, Wave
from wellbeing.releases.models import ReleaseCell
from wellbeing.types import utcnow

TITLE_MAX = 200
TEXT_MAX = 5000
EDITABLE = ("title", "title_es", "heard", "plan", "plan_es", "owner_role", "start_date")


class ActionError(ValueError):
    """An action cannot be recorded or changed as asked; the message says what to fix."""


# ------------------------------------------------------------------ the library


@dataclass(frozen=True)
class ConceptShelf:
    """The change concepts for one domain, as the library shows them."""

    domain: Domain
    concepts: list[ChangeConcept]


def library() -> list[ConceptShelf]:
    """Every domain that has change concepts, in the bank's order, with its concepts."""
    bank = current_bank()
    shelves = [ConceptShelf(d, bank.concepts_for(d.id)) for d in bank.domains.values()]
    return [s for s in shelves if s.concepts]


def concept(concept_id: str | None) -> ChangeConcept | None:
    return next((c for c in current_bank().concepts if c.id == concept_id), None)


def action_domains() -> list[Domain]:
    """The domains an action can be tied to: the essentials and the field measures."""
    return list(current_bank().domains.values())


# ------------------------------------------------------------------ reading


def actions_for(viewer: User, unit_id: int | None = None) -> list[Action]:
    """Actions the viewer may see (on units in scope), newest start first."""
    query = sa.select(Action).join(Unit, Unit.id == Action.unit_id)
    if unit_id is not None:
        unit = db.session.get(Unit, unit_id)
        if unit is None:
            raise AccessDenied("no such unit")
        check_unit(viewer, unit)
        query = query.where(
            sa.or_(
                Unit.id == unit.id,
                Unit.path.startswith(unit.path + PATH_SEPARATOR, autoescape=True),
            )
        )
    sees = scope_of(viewer)
    actions = db.session.scalars(query.order_by(Action.start_date.desc(), Action.id.desc()))
    return [a for a in actions if sees(a.unit.id, a.unit.path)]


def actions_on(unit: Unit) -> list[Action]:
    """The actions recorded on the unit itself, oldest start first."""
    return list(
        db.session.scalars(
            sa.select(Action)
            .where(Action.unit_id == unit.id)
            .order_by(Action.start_date, Action.id)
        )
    )


def get_action(viewer: User, action_id: int) -> Action:
    """The action, if its unit is in the viewer's scope; AccessDenied (a 404) otherwise."""
    action = db.session.get(Action, action_id)
    if action is None:
        raise AccessDenied("no such action")
    check_unit(viewer, action.unit)
    return action


def heard_cell(viewer: User, cell_id: int | None) -> ReleaseCell | None:
    """A released, shown cell an action can point to as what was heard; None if not allowed."""
    if cell_id is None:
        return None
    cell = db.session.get(ReleaseCell, cell_id)
    if cell is None or cell.hidden:
        return None
    unit = db.session.get(Unit, cell.unit_id)
    if unit is None or not scope_of(viewer)(unit.id, unit.path):
        return None
    return cell


# ------------------------------------------------------------------ recording


@dataclass
class ActionDraft:
    """What a form sends for a new or edited action, before checks."""

    unit_id: int
    domains: Sequence[str]
    title: str
    start_date: date
    heard: str = ""
    plan: str = ""
    owner_role: str = ""
    title_es: str = ""
    plan_es: str = ""
    concept_id: str | None = None
    heard_cell_id: int | None = None


def _checked(viewer: User, draft: ActionDraft) -> tuple[Unit, list[str]]:
    unit = db.session.get(Unit, draft.unit_id)
    if unit is None:
        raise AccessDenied("no such unit")
    check_unit(viewer, unit)
    known = current_bank().domains
    domains = list(dict.fromkeys(d for d in draft.domains if d))
    if not domains:
        raise ActionError("Choose at least one area of the framework this action is about.")
    unknown = [d for d in domains if d not in known]
    if unknown:
        raise ActionError(f"{unknown[0]!r} is not an area of the framework.")
    if not draft.title.strip():
        raise ActionError("Give the action a short title saying what you will do.")
    if len(draft.title) > TITLE_MAX or len(draft.title_es) > TITLE_MAX:
        raise ActionError(f"Keep the title under {TITLE_MAX} characters.")
    for text in (draft.heard, draft.plan, draft.plan_es):
        if len(text) > TEXT_MAX:
            raise ActionError(f"Keep each text under {TEXT_MAX:,} characters.")
    if draft.concept_id and concept(draft.concept_id) is None:
        raise ActionError("That change concept is not in the library.")
    return unit, domains


def record_action(viewer: User, draft: ActionDraft) -> Action:
    """A new action in the planned state, with its first history line."""
    unit, domains = _checked(viewer, draft)
    cell = heard_cell(viewer, draft.heard_cell_id)
    action = Action(
        unit_id=unit.id,
        domain=domains[0],
        other_domains=domains[1:],
        concept_id=draft.concept_id or None,
        title=draft.title.strip(),
        title_es=draft.title_es.strip(),
        heard=draft.heard.strip(),
        heard_cell_id=cell.id if cell else None,
        plan=draft.plan.strip(),
        plan_es=draft.plan_es.strip(),
        owner_role=draft.owner_role.strip(),
        start_date=draft.start_date,
        status=ActionStatus.PLANNED,
        created_by_id=viewer.id,
    )
    db.session.add(action)
    db.session.flush()
    _entry(viewer, action, EntryKind.CREATED, draft.start_date, status_to=action.status.value)
    return action


def edit_action(viewer: User, action: Action, draft: ActionDraft) -> dict[str, Any]:
    """Apply an edit; the history keeps every field's old and new value. Returns the changes."""
    if draft.unit_id != action.unit_id:
        raise ActionError("An action stays with its unit; record a new one for another unit.")
    _, domains = _checked(viewer, draft)
    proposed: dict[str, Any] = {
        "title": draft.title.strip(),
        "title_es": draft.title_es.strip(),
        "heard": draft.heard.strip(),
        "plan": draft.plan.strip(),
        "plan_es": draft.plan_es.strip(),
        "owner_role": draft.owner_role.strip(),
        "start_date": draft.start_date,
    }
    changes: dict[str, Any] = {}
    for name, new in proposed.items():
        old = getattr(action, name)
        if old != new:
            changes[name] = [_plain(old), _plain(new)]
            setattr(action, name, new)
    if domains != action.domains:
        changes["domains"] = [action.domains, domains]
        action.domain, action.other_domains = domains[0], domains[1:]
    if changes:
        _entry(viewer, action, EntryKind.EDITED, date.today(), changes=changes)
    return changes


def move(viewer: User, action: Action, new: ActionStatus, on_date: date, note: str = "") -> None:
    """Change status where the life of an action allows it, dated and noted in the history."""
    if new not in STATUS_MOVES[action.status]:
        allowed = ", ".join(s.label.lower() for s in STATUS_MOVES[action.status]) or "nothing"
        raise ActionError(
            f"A {action.status.label.lower()} action cannot become {new.label.lower()}; "
            f"it can become: {allowed}."
        )
    if on_date < action.start_date and new is not ActionStatus.IN_PROGRESS:
        raise ActionError("That date is before the action started.")
    if len(note) > TEXT_MAX:
        raise ActionError(f"Keep the note under {TEXT_MAX:,} characters.")
    old = action.status
    action.status = new
    if new is ActionStatus.IN_PROGRESS and old is ActionStatus.PLANNED:
        action.start_date = on_date
    action.finished_on = on_date if new in (ActionStatus.DONE, ActionStatus.STOPPED) else None
    _entry(
        viewer,
        action,
        EntryKind.STATUS,
        on_date,
        status_from=old.value,
        status_to=new.value,
        body=note.strip(),
    )


def add_note(viewer: User, action: Action, stage: Stage, body: str, on_date: date) -> None:
    """A Plan-Do-Study-Act note: what was planned, done, learned or decided next."""
    text = body.strip()
    if not text:
        raise ActionError("Write the note before saving it.")
    if len(text) > TEXT_MAX:
        raise ActionError(f"Keep the note under {TEXT_MAX:,} characters.")
    _entry(viewer, action, EntryKind.NOTE, on_date, stage=stage, body=text)


def _entry(viewer: User, action: Action, kind: EntryKind, on_date: date, **fields: Any) -> None:
    db.session.add(
        ActionEntry(
            action=action,
            kind=kind,
            at=utcnow(),
            on_date=on_date,
            by_id=viewer.id,
            by_email=viewer.email,
            **fields,
        )
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# ------------------------------------------------------------------ on the charts


@dataclass(frozen=True)
class Milestone:
    """A dated moment of an action that the unit's charts mark."""

    action_id: int
    title: str
    domains: tuple[str, ...]
    on_date: date
    what: str  # "started", "done", "stopped", "resumed"
    status: str


def milestones(unit: Unit) -> list[Milestone]:
    """Starts and status changes of the actions recorded on ``unit``, in date order."""
    found = []
    for action in actions_on(unit):

        def mark(on_date: date, what: str, action: Action = action) -> None:
            found.append(
                Milestone(
                    action.id,
                    action.title,
                    tuple(action.domains),
                    on_date,
                    what,
                    action.status.value,
                )
            )

        if action.status is not ActionStatus.PLANNED:
            mark(action.start_date, "started")
        for entry in action.entries:
            if entry.kind is not EntryKind.STATUS or entry.status_from == "planned":
                continue
            mark(
                entry.on_date,
                "resumed" if entry.status_to == "in_progress" else str(entry.status_to),
            )
    return sorted(found, key=lambda m: (m.on_date, m.action_id))


# ------------------------------------------------------------------ back to staff


@dataclass(frozen=True)
class Done:
    """One "you said, we did" line for staff, in their language."""

    title: str
    plan: str
    what: str  # "started" or "finished"
    on_date: date
    unit_name: str


def you_said_we_did(unit: Unit, since: date, until: date, language: str) -> list[Done]:
    """Actions on the person's unit or any unit above it, started or finished after ``since``
    (their last pulse) and by ``until``. Planned and stopped actions are not announced.
    """
    start = since
    paths = _self_and_above(unit.path)
    rows = db.session.execute(
        sa.select(Action, Unit.name)
        .join(Unit, Unit.id == Action.unit_id)
        .where(
            Unit.path.in_(paths), Action.status.in_([ActionStatus.IN_PROGRESS, ActionStatus.DONE])
        )
        .order_by(Action.start_date, Action.id)
    ).tuples()
    lines = []
    for action, unit_name in rows:
        title, plan = action.title_in(language), action.plan_in(language)
        finished = action.finished_on
        if action.status is ActionStatus.DONE and finished and start < finished <= until:
            lines.append(Done(title, plan, "finished", finished, unit_name))
        elif start < action.start_date <= until:
            lines.append(Done(title, plan, "started", action.start_date, unit_name))
    return lines


def for_invitation(invitation: Invitation, language: str, today: date | None = None) -> list[Done]:
    """ "You said, we did" for one person asked in a wave: the actions on their unit (or above)
    started or finished since the last pulse they were asked to answer, up to today."""
    unit = db.session.get(Unit, invitation.unit_id)
    if unit is None:
        return []
    opened = invitation.wave.opens_at
    previous = db.session.scalar(
        sa.select(Wave.opens_at)
        .join(Invitation, Invitation.wave_id == Wave.id)
        .where(Invitation.person_id == invitation.person_id, Wave.opens_at < opened)
        .order_by(Wave.opens_at.desc())
        .limit(1)
    )
    # A person's first pulse looks back a season.
    since = previous.date() if previous else opened.date() - timedelta(days=90)
    return you_said_we_did(unit, since, today or utcnow().date(), language)


def _self_and_above(path: str) -> list[str]:
    parts = path.split(PATH_SEPARATOR)
    return [PATH_SEPARATOR.join(parts[: n + 1]) for n in range(len(parts))]


# ------------------------------------------------------------------ suggestions


@dataclass(frozen=True)
class Suggestion:
    """Change concepts offered for a domain whose results call for a look."""

    domain: Domain
    why: str
    concepts: list[ChangeConcept]


def suggestions(trends: Sequence[Any], line: float) -> list[Suggestion]:
    """Concepts for each domain whose latest index is below ``line`` or whose run chart shows
    a shift below its median (a real, sustained move down)."""
    bank = current_bank()
    found = []
    for trend in trends:
        if trend.metric != "index" or trend.measure not in bank.domains:
            continue
        concepts = bank.concepts_for(trend.measure)
        if not concepts:
            continue
        latest = trend.latest
        value = latest.value if latest is not None else None
        chart = trend.runchart
        why = ""
        if value is not None and value < line:
            why = f"The latest index, {value:g}, is below {line:g}."
        elif chart.shift and chart.run_side == "below":
            why = (
                f"The run chart shows a shift: {chart.longest_run} waves in a row below the median."
            )
        if why:
            found.append(Suggestion(bank.domains[trend.measure], why, concepts))
    return found
