"""Pulse programs and waves: when a wave opens, what it asks, who is invited, when it closes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from wellbeing.actions import follow_up
from wellbeing.bank import QuestionBank, current_bank
from wellbeing.extensions import db
from wellbeing.org.models import PATH_SEPARATOR, Person, Unit
from wellbeing.privacy import Participation, min_group_size, participation
from wellbeing.pulse.models import (
    DeliveryStatus,
    Invitation,
    PulseProgram,
    Wave,
    WaveStatus,
)
from wellbeing.types import utcnow

logger = logging.getLogger(__name__)


class PulseError(ValueError):
    """A pulse operation cannot be done as asked; the message says why."""


# ---------------------------------------------------------------- programs


@dataclass(frozen=True)
class ProgramSettings:
    """What a coordinator may set on a program."""

    name: str
    unit_paths: list[str]
    cadence_days: int
    invite_weekday: int
    invite_hour: int
    window_days: int
    reminder_days: list[int]
    languages: list[str]


def default_settings(bank: QuestionBank, name: str, unit_paths: list[str]) -> ProgramSettings:
    plan = bank.program
    return ProgramSettings(
        name=name,
        unit_paths=unit_paths,
        cadence_days=plan.cadence_days,
        invite_weekday=plan.invite_weekday,
        invite_hour=plan.invite_hour,
        window_days=plan.window_days,
        reminder_days=list(plan.reminder_days),
        languages=list(plan.languages),
    )


def check_settings(settings: ProgramSettings) -> None:
    """Refuse settings that would break the delivery rules."""
    if not settings.name.strip():
        raise PulseError("the program needs a name")
    if not settings.unit_paths:
        raise PulseError("the program needs at least one unit in its audience")
    if not 7 <= settings.cadence_days <= 366:
        raise PulseError("the cadence must be between 7 and 366 days")
    if not 1 <= settings.window_days <= settings.cadence_days:
        raise PulseError("the window must be at least 1 day and no longer than the cadence")
    if not 0 <= settings.invite_weekday <= 6 or not 0 <= settings.invite_hour <= 23:
        raise PulseError("the invitation weekday must be 0–6 and the hour 0–23")
    if len(settings.reminder_days) > 2:
        raise PulseError("at most two reminders are sent")
    if sorted(set(settings.reminder_days)) != settings.reminder_days:
        raise PulseError("reminder days must be increasing")
    for day in settings.reminder_days:
        if not 1 <= day < settings.window_days:
            raise PulseError(f"reminder day {day} is outside the {settings.window_days}-day window")
    if not settings.languages or set(settings.languages) - {"en", "es"}:
        raise PulseError("languages must be chosen from en and es")


def _units(paths: list[str]) -> list[Unit]:
    units = []
    for path in paths:
        unit = db.session.scalar(sa.select(Unit).where(Unit.path == path.strip().strip("/")))
        if unit is None:
            raise PulseError(f"no unit has the path {path!r}")
        units.append(unit)
    return units


def create_program(
    key: str, settings: ProgramSettings, bank: QuestionBank | None = None
) -> PulseProgram:
    """A new program with the bank's item plan."""
    bank = bank or current_bank()
    check_settings(settings)
    if db.session.scalar(sa.select(PulseProgram.id).where(PulseProgram.key == key)) is not None:
        raise PulseError(f"a program with the key {key!r} already exists")
    program = PulseProgram(
        key=key,
        core_items=list(bank.program.core_items),
        rotation=list(bank.program.rotation),
        deep_dive_items=bank.program.deep_dive_items,
    )
    apply_settings(program, settings)
    db.session.add(program)
    db.session.flush()
    return program


def apply_settings(program: PulseProgram, settings: ProgramSettings) -> None:
    check_settings(settings)
    program.name = settings.name.strip()
    program.units = _units(settings.unit_paths)
    program.cadence_days = settings.cadence_days
    program.invite_weekday = settings.invite_weekday
    program.invite_hour = settings.invite_hour
    program.window_days = settings.window_days
    program.reminder_days = list(settings.reminder_days)
    program.languages = list(settings.languages)


@dataclass(frozen=True)
class ProgramStatus:
    """A program with its latest wave, for the coordinator's list."""

    program: PulseProgram
    latest: Wave | None
    next_date: date


def program_overview() -> list[ProgramStatus]:
    programs = db.session.scalars(
        sa.select(PulseProgram)
        .order_by(PulseProgram.name)
        .options(selectinload(PulseProgram.units))
    )
    result = []
    for program in programs:
        last = latest_wave(program)
        result.append(ProgramStatus(program, last, next_wave_date(program, last)))
    return result


def get_program(key: str) -> PulseProgram:
    program = db.session.scalar(sa.select(PulseProgram).where(PulseProgram.key == key))
    if program is None:
        raise PulseError(f"no pulse program has the key {key!r}")
    return program


# ---------------------------------------------------------------- waves


def plan_items(
    program: PulseProgram, sequence: int, bank: QuestionBank
) -> tuple[str | None, list[str]]:
    """The module whose turn it is and the wave's items: the core, then the rotating deep dive.

    Within a module the deep-dive items rotate too, so each comes up in turn across quarters.
    """
    items = [i for i in program.core_items if i in bank.items]
    if not program.rotation or program.deep_dive_items == 0:
        return None, items
    turn = (sequence - 1) % len(program.rotation)
    cycle = (sequence - 1) // len(program.rotation)
    module = program.rotation[turn]
    pool = [i.id for i in bank.module_items(module)]
    if pool:
        take = min(program.deep_dive_items, len(pool))
        start = (cycle * take) % len(pool)
        items += [pool[(start + j) % len(pool)] for j in range(take)]
    return module, items


def first_wave_date(program: PulseProgram) -> date:
    """The program's first invitation day: its weekday on or after the program was created."""
    created = program.created_at.date()
    return created + timedelta(days=(program.invite_weekday - created.weekday()) % 7)


def next_wave_date(program: PulseProgram, last: Wave | None) -> date:
    if last is None:
        return first_wave_date(program)
    return last.scheduled_for + timedelta(days=program.cadence_days)


def latest_wave(program: PulseProgram) -> Wave | None:
    return db.session.scalar(
        sa.select(Wave).where(Wave.program_id == program.id).order_by(Wave.sequence.desc()).limit(1)
    )


def local_send_time(day: date, hour: int, time_zone: str) -> datetime:
    """``hour`` o'clock on ``day`` in the recipient's zone, as a UTC instant."""
    try:
        zone = ZoneInfo(time_zone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def audience(program: PulseProgram) -> list[Person]:
    """Active, unpaused people in the program's units and everything below them."""
    conditions = []
    for unit in program.units:
        conditions.append(Unit.id == unit.id)
        conditions.append(Unit.path.startswith(unit.path + PATH_SEPARATOR, autoescape=True))
    if not conditions:
        return []
    unit_ids = sa.select(Unit.id).where(sa.or_(*conditions))
    return list(
        db.session.scalars(
            sa.select(Person)
            .where(Person.unit_id.in_(unit_ids), Person.active.is_(True), Person.paused.is_(False))
            .order_by(Person.id)
        )
    )


def open_wave(
    program: PulseProgram,
    now: datetime | None = None,
    *,
    scheduled_for: date | None = None,
    bank: QuestionBank | None = None,
) -> Wave:
    """Open the program's next wave and create an invitation for everyone in its audience.

    Invitations go out at the program's hour in each person's time zone on the wave's day (or
    at once when that moment has passed). The wave's key, ``(program, sequence)``, is unique,
    so a second scheduler or a retried job cannot open the same wave twice.
    """
    now = now or utcnow()
    bank = bank or current_bank()
    last = latest_wave(program)
    if last is not None and last.status is WaveStatus.OPEN:
        raise PulseError(f"wave {last.id} of {program.key} is still open; close it first")
    sequence = (last.sequence + 1) if last else 1
    day = scheduled_for or now.date()
    module, items = plan_items(program, sequence, bank)
    people = audience(program)
    if not people:
        raise PulseError(f"{program.key} has nobody to invite: its units have no active staff")
    send_times = {
        p.id: max(now, local_send_time(day, program.invite_hour, p.time_zone)) for p in people
    }
    closes_at = max(send_times.values()) + timedelta(days=program.window_days)
    wave = Wave(
        program=program,
        sequence=sequence,
        scheduled_for=day,
        module=module,
        item_ids=items,
        opens_at=now,
        closes_at=closes_at,
        status=WaveStatus.OPEN,
    )
    db.session.add(wave)
    db.session.flush()
    asked_again = follow_up.plan_follow_ups(wave, last.opens_at if last else None)
    if asked_again:
        wave.item_ids = [*items, *asked_again]
    db.session.execute(
        sa.insert(Invitation),
        [
            {
                "wave_id": wave.id,
                "person_id": p.id,
                "unit_id": p.unit_id,
                "locale": p.locale if p.locale in program.languages else program.languages[0],
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": send_times[p.id],
                "reminders_sent": 0,
                "responded": False,
            }
            for p in people
        ],
    )
    logger.info("opened wave %s of %s with %s invitations", wave.id, program.key, len(people))
    return wave


def open_due_waves(now: datetime | None = None) -> list[Wave]:
    """Open every active program's wave whose day has come (a day early for zones ahead of UTC)."""
    now = now or utcnow()
    opened = []
    programs = db.session.scalars(
        sa.select(PulseProgram)
        .where(PulseProgram.active.is_(True))
        .options(selectinload(PulseProgram.units))
    )
    for program in programs:
        last = latest_wave(program)
        if last is not None and last.status is WaveStatus.OPEN:
            continue
        day = next_wave_date(program, last)
        if last is not None and day <= last.scheduled_for:
            continue
        if now < datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=14):
            continue
        try:
            with db.session.begin_nested():
                opened.append(open_wave(program, now, scheduled_for=day))
        except sa.exc.IntegrityError:
            logger.info("wave %s of %s was opened by another process", day, program.key)
        except PulseError as exc:
            logger.warning("not opening a wave for %s: %s", program.key, exc)
    return opened


def close_wave(wave: Wave, now: datetime | None = None) -> Wave:
    """Close a wave: no more answers are taken and unsent invitations are dropped."""
    wave.move_to(WaveStatus.CLOSED)
    if now is not None:
        wave.closed_at = now
    db.session.execute(
        sa.update(Invitation).where(Invitation.wave_id == wave.id).values(next_attempt_at=None)
    )
    db.session.flush()
    logger.info("closed wave %s", wave.id)
    return wave


def waves_due_to_close(now: datetime | None = None) -> list[Wave]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Wave)
            .where(Wave.status == WaveStatus.OPEN, Wave.closes_at <= now)
            .order_by(Wave.id)
        )
    )


def get_wave(wave_id: int) -> Wave:
    wave = db.session.get(Wave, wave_id)
    if wave is None:
        raise PulseError(f"there is no wave {wave_id}")
    return wave


# ---------------------------------------------------------------- participation


@dataclass(frozen=True)
class UnitParticipation:
    """Participation in one unit's subtree for a wave, banded or hidden."""

    path: str
    depth: int
    shown: Participation


def participation_by_unit(wave: Wave) -> list[UnitParticipation]:
    """Banded participation for every unit with invitations in the wave (whole subtrees)."""
    k = min_group_size()
    rows = db.session.execute(
        sa.select(
            Invitation.unit_id,
            sa.func.count(),
            sa.func.sum(sa.case((Invitation.responded.is_(True), 1), else_=0)),
        )
        .where(Invitation.wave_id == wave.id)
        .group_by(Invitation.unit_id)
    ).tuples()
    direct = {unit_id: (int(n), int(r or 0)) for unit_id, n, r in rows}
    if not direct:
        return []
    units = list(db.session.scalars(sa.select(Unit).order_by(Unit.path)))
    by_id = {u.id: u for u in units}
    totals: dict[int, tuple[int, int]] = {}
    for unit_id, (n, r) in direct.items():
        node: Unit | None = by_id[unit_id]
        while node is not None:
            invited, responded = totals.get(node.id, (0, 0))
            totals[node.id] = (invited + n, responded + r)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
    return [
        UnitParticipation(u.path, u.depth, participation(*totals[u.id], k))
        for u in units
        if u.id in totals
    ]


@dataclass(frozen=True)
class DeliverySummary:
    """Where a wave's emails stand (counts of invitations, not of answers)."""

    pending: int
    sent: int
    rejected: int
    rejected_addresses: list[tuple[str, str]]


def delivery_summary(wave: Wave) -> DeliverySummary:
    counts = dict(
        (status, int(n))
        for status, n in db.session.execute(
            sa.select(Invitation.status, sa.func.count())
            .where(Invitation.wave_id == wave.id)
            .group_by(Invitation.status)
        ).tuples()
    )
    rejected = db.session.execute(
        sa.select(Person.email, Invitation.last_error)
        .join(Person, Person.id == Invitation.person_id)
        .where(Invitation.wave_id == wave.id, Invitation.status == DeliveryStatus.REJECTED)
        .order_by(Person.email)
    ).tuples()
    return DeliverySummary(
        pending=counts.get(DeliveryStatus.PENDING, 0),
        sent=counts.get(DeliveryStatus.SENT, 0),
        rejected=counts.get(DeliveryStatus.REJECTED, 0),
        rejected_addresses=[(email, error or "") for email, error in rejected],
    )
