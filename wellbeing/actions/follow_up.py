"""The follow-up question: "Has <action> made a difference for you?" in the unit's next wave.

When a wave opens, each action in its audience that started or finished since the program's
previous wave gets one question, asked only of the people in the action's unit and below. Its
answers are stored and released like any other item (as shares on the ``difference4`` scale,
never averaged into a domain index), under the item id ``follow_up_<action id>``.

Such items are not in the question bank on disk: ``bank_for`` adds a wave's follow-ups to the
bank for everything that reads the wave's items (the survey, the release, the pages).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from wellbeing.actions.models import (
    FOLLOW_UP_PREFIX,
    Action,
    ActionEntry,
    ActionStatus,
    EntryKind,
    FollowUp,
)
from wellbeing.bank import QuestionBank, current_bank
from wellbeing.bank.schema import Item, Text
from wellbeing.extensions import db
from wellbeing.org.models import PATH_SEPARATOR, Unit
from wellbeing.pulse.models import PulseProgram, Wave

SCALE = "difference4"
MODULE = "follow_up"
PREFIX = FOLLOW_UP_PREFIX
MAX_PER_WAVE = 3


def question(title: str, language: str) -> str:
    if language == "es":
        return f"¿«{title}» ha marcado una diferencia para usted?"
    return f"Has “{title}” made a difference for you?"


def plan_follow_ups(wave: Wave, since: datetime | None) -> list[str]:
    """Follow-ups for a wave being opened: actions in its program's units that started or
    finished (by the dates recorded) after ``since``, the previous wave's opening, and by
    this wave's opening. Returns the new item ids."""
    program: PulseProgram = wave.program
    paths = [u.path for u in program.units]
    if not paths:
        return []
    moved = sa.select(ActionEntry.action_id).where(
        ActionEntry.kind == EntryKind.STATUS,
        ActionEntry.status_to.in_([ActionStatus.IN_PROGRESS.value, ActionStatus.DONE.value]),
        ActionEntry.on_date <= wave.opens_at.date(),
    )
    if since is not None:
        moved = moved.where(ActionEntry.on_date > since.date())
    rows = db.session.execute(
        sa.select(Action, Unit)
        .join(Unit, Unit.id == Action.unit_id)
        .where(Action.id.in_(moved), Action.status != ActionStatus.STOPPED)
        .order_by(Action.id.desc())
    ).tuples()
    chosen: list[FollowUp] = []
    for action, unit in rows:
        if not _covered(unit.path, paths) or len(chosen) >= MAX_PER_WAVE:
            continue
        chosen.append(
            FollowUp(
                wave_id=wave.id,
                action_id=action.id,
                unit_id=unit.id,
                domain=action.domain,
                text_en=question(action.title, "en"),
                text_es=question(action.title_in("es"), "es"),
            )
        )
    db.session.add_all(chosen)
    db.session.flush()
    return [f.item_id for f in sorted(chosen, key=lambda f: f.action_id)]


def follow_ups(wave_id: int) -> list[FollowUp]:
    return list(
        db.session.scalars(
            sa.select(FollowUp).where(FollowUp.wave_id == wave_id).order_by(FollowUp.action_id)
        )
    )


def bank_for(
    wave: Wave, unit_id: int | None = None, bank: QuestionBank | None = None
) -> QuestionBank:
    """The bank with the wave's follow-up items added; with ``unit_id``, only the follow-ups
    asked of people in that unit (their action is on the unit or a unit above it)."""
    bank = bank or current_bank()
    found = follow_ups(wave.id)
    if unit_id is not None and found:
        unit = db.session.get(Unit, unit_id)
        path = unit.path if unit is not None else ""
        above = _self_and_above(path)
        units = {
            u.id: u.path for u in db.session.scalars(sa.select(Unit).where(Unit.path.in_(above)))
        }
        found = [f for f in found if f.unit_id in units]
    if not found:
        return bank
    extra = {f.item_id: _item(f) for f in found}
    return dataclasses.replace(bank, items={**bank.items, **extra})


def applies_to(item_id: str, unit: Unit, wave_id: int) -> bool:
    """Whether a wave's item is shown on ``unit``'s page: every bank item is; a follow-up only
    on its action's unit and the units above and below it."""
    if not item_id.startswith(PREFIX):
        return True
    follow_up = db.session.scalar(
        sa.select(FollowUp).where(
            FollowUp.wave_id == wave_id, FollowUp.action_id == int(item_id.removeprefix(PREFIX))
        )
    )
    if follow_up is None:
        return False
    asked = db.session.get(Unit, follow_up.unit_id)
    if asked is None:
        return False
    return _related(unit.path, asked.path)


def _item(follow_up: FollowUp) -> Item:
    return Item.model_validate(
        {
            "id": follow_up.item_id,
            "domain": follow_up.domain,
            "construct": "whether an action made a difference",
            "scale": SCALE,
            "role": "deep_dive",
            "module": MODULE,
            "text": Text(en=follow_up.text_en, es=follow_up.text_es),
        }
    )


def _covered(path: str, tops: Iterable[str]) -> bool:
    return any(path == top or path.startswith(top + PATH_SEPARATOR) for top in tops)


def _related(path: str, other: str) -> bool:
    return _covered(path, [other]) or _covered(other, [path])


def _self_and_above(path: str) -> list[str]:
    parts = path.split(PATH_SEPARATOR)
    return [PATH_SEPARATOR.join(parts[: n + 1]) for n in range(len(parts))]
