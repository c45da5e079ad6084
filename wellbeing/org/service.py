"""The unit hierarchy: finding and creating units by path, and summarising a scope."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from wellbeing.extensions import db
from wellbeing.org.models import PATH_SEPARATOR, Person, Unit

MAX_NAME_CHARS: int = Unit.__table__.c.name.type.length
MAX_PATH_CHARS: int = Unit.__table__.c.path.type.length


class UnitPathError(ValueError):
    """A unit path cannot be used; the message says why."""


def split_path(raw: str) -> list[str]:
    """The names along a path like ``Agency/Program/Team``, trimmed; empty parts refused."""
    parts = [p.strip() for p in raw.strip().strip(PATH_SEPARATOR).split(PATH_SEPARATOR)]
    if not raw.strip() or any(not p for p in parts):
        raise UnitPathError("the unit path is empty or has an empty part")
    for part in parts:
        if len(part) > MAX_NAME_CHARS:
            raise UnitPathError(f"a unit name is longer than {MAX_NAME_CHARS} characters")
    if len(join_path(parts)) > MAX_PATH_CHARS:
        raise UnitPathError(f"the unit path is longer than {MAX_PATH_CHARS} characters")
    return parts


def join_path(parts: list[str]) -> str:
    return PATH_SEPARATOR.join(parts)


def ensure_unit(path: str) -> Unit:
    """The unit at ``path``, creating it and any missing ancestors."""
    parts = split_path(path)
    parent: Unit | None = None
    for depth in range(len(parts)):
        here = join_path(parts[: depth + 1])
        unit = db.session.scalar(sa.select(Unit).where(Unit.path == here))
        if unit is None:
            unit = Unit(name=parts[depth], path=here, depth=depth, parent=parent)
            db.session.add(unit)
            db.session.flush()
        parent = unit
    assert parent is not None  # noqa: S101 - split_path never returns an empty list
    return parent


def all_units() -> list[Unit]:
    """Every unit, in path order (parents before their children)."""
    return list(db.session.scalars(sa.select(Unit).order_by(Unit.path)))


def subtree_ids(unit: Unit) -> list[int]:
    """Ids of a unit and every unit below it."""
    prefix = unit.path + PATH_SEPARATOR
    rows = db.session.scalars(
        sa.select(Unit.id).where(
            sa.or_(Unit.id == unit.id, Unit.path.startswith(prefix, autoescape=True))
        )
    )
    return list(rows)


@dataclass(frozen=True)
class UnitSummary:
    """A unit in a user's scope with the size of its active roster."""

    path: str
    name: str
    depth: int
    active_people: int


def scope_summary(top_units: list[Unit]) -> list[UnitSummary]:
    """Every unit under ``top_units`` in path order, with active roster counts."""
    if not top_units:
        return []
    conditions = []
    for unit in top_units:
        conditions.append(Unit.id == unit.id)
        conditions.append(Unit.path.startswith(unit.path + PATH_SEPARATOR, autoescape=True))
    units = list(db.session.scalars(sa.select(Unit).where(sa.or_(*conditions)).order_by(Unit.path)))
    rows = db.session.execute(
        sa.select(Person.unit_id, sa.func.count())
        .where(Person.active.is_(True))
        .group_by(Person.unit_id)
    ).tuples()
    counts = {unit_id: n for unit_id, n in rows}
    base_depth = min(u.depth for u in top_units)
    totals = {unit.path: 0 for unit in units}
    for unit in units:
        # Each unit's own people count for it and for every unit above it.
        path, people = unit.path, counts.get(unit.id, 0)
        while people:
            if path in totals:
                totals[path] += people
            if PATH_SEPARATOR not in path:
                break
            path = path.rsplit(PATH_SEPARATOR, 1)[0]
    return [UnitSummary(u.path, u.name, u.depth - base_depth, totals[u.path]) for u in units]


class PersonNotFound(LookupError):
    """No person on the roster matches."""


def find_people(query: str, limit: int = 50) -> list[Person]:
    """People whose email or name contains ``query`` (case-insensitive), active first."""
    text = query.strip().lower()
    if not text:
        return []
    pattern = f"%{text}%"
    return list(
        db.session.scalars(
            sa.select(Person)
            .where(sa.or_(Person.email.like(pattern), sa.func.lower(Person.name).like(pattern)))
            .order_by(Person.active.desc(), Person.email)
            .limit(limit)
        )
    )


def set_paused(person_id: int, paused: bool) -> Person:
    """Pause a person (on leave: no invitations) or resume them."""
    person = db.session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"no person with id {person_id}")
    person.paused = paused
    db.session.flush()
    return person
