"""Practice indicators by month and practices self-assessments, read and written within scope.

Every function takes the viewer and checks the unit through ``auth.access``: a unit outside
the viewer's scope raises ``AccessDenied`` (pages answer 404). Recording indicators also needs
``RECORD_PERMISSION``; anyone with the unit in scope may read them and fill in an assessment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from wellbeing.auth.access import check_permission, check_unit, scope_of
from wellbeing.auth.models import User
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.practices.guide import ChecklistItem, Indicator, ReferenceLine, current_guide
from wellbeing.practices.models import (
    INDICATOR_LIMITS,
    INDICATORS,
    NOTE_LENGTH,
    ChecklistRating,
    PracticeAssessment,
    PracticeRating,
    PracticeRecord,
)
from wellbeing.types import utcnow

# Caseloads, ratios and turnover are staffing figures: they sit with whoever keeps the roster.
RECORD_PERMISSION = "manage_roster"
EARLIEST = date(2000, 1, 1)


class PracticeError(ValueError):
    """The figures or ratings cannot be saved; the message says why, in the user's words."""


class NotFound(LookupError):
    """No such unit or assessment (pages answer 404, as for one outside the viewer's scope)."""


# ------------------------------------------------------------------ units


def unit_for(viewer: User, unit_id: int) -> Unit:
    """The unit, if it exists and is in the viewer's scope."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("no such unit")
    check_unit(viewer, unit)
    return unit


def units_in_scope(viewer: User) -> list[Unit]:
    """Every unit the viewer may see, in tree order."""
    sees = scope_of(viewer)
    units = db.session.scalars(sa.select(Unit).order_by(Unit.path))
    return [u for u in units if sees(u.id, u.path)]


# ------------------------------------------------------------------ monthly indicators


def parse_month(raw: str, today: date | None = None) -> date:
    """``YYYY-MM`` as the first day of that month; a future or implausible month is refused."""
    text = raw.strip()
    try:
        if len(text) != 7 or text[4] != "-":
            raise ValueError(text)
        first = date(int(text[:4]), int(text[5:]), 1)
    except ValueError as exc:
        raise PracticeError("Give the month as YYYY-MM, for example 2026-03.") from exc
    today = today or utcnow().date()
    if first > today.replace(day=1):
        raise PracticeError("That month has not started yet.")
    if first < EARLIEST:
        raise PracticeError(f"Give a month from {EARLIEST:%Y-%m} on.")
    return first


def check_value(indicator: str, value: float | None) -> float | None:
    """The value rounded to two decimals, if it lies in the indicator's range."""
    if value is None:
        return None
    low, high = INDICATOR_LIMITS[indicator]
    if not math.isfinite(value) or not low <= value <= high:
        label = current_guide().indicator(indicator).label.en
        raise PracticeError(f"{label} must be between {low:g} and {high:g}.")
    return round(value, 2)


def record_month(
    viewer: User, unit: Unit, month: date, values: Mapping[str, float | None]
) -> tuple[PracticeRecord, bool]:
    """Add or replace the unit's figures for ``month``; True when the month is new.

    Replacing sets all four: an indicator left empty is cleared for that month.
    """
    check_permission(viewer, RECORD_PERMISSION)
    check_unit(viewer, unit)
    if month.day != 1:
        raise PracticeError("A month is stored as its first day.")
    if unknown := set(values) - set(INDICATORS):
        raise PracticeError(f"Unknown indicator {sorted(unknown)[0]!r}.")
    checked = {name: check_value(name, values.get(name)) for name in INDICATORS}
    if all(v is None for v in checked.values()):
        raise PracticeError("Give at least one of the four figures for the month.")
    record = record_for(viewer, unit, month)
    created = record is None
    if record is None:
        record = PracticeRecord(unit_id=unit.id, month=month)
    for name, value in checked.items():
        setattr(record, name, value)
    record.recorded_by_id = viewer.id
    record.recorded_at = utcnow()
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except sa.exc.IntegrityError as exc:
        # Someone saved the same month a moment ago: theirs stands, and this one says so.
        raise PracticeError(
            "Someone else saved this month just now. Open the month again to see their figures."
        ) from exc
    return record, created


def record_for(viewer: User, unit: Unit, month: date) -> PracticeRecord | None:
    """The unit's figures for one month, if any."""
    check_unit(viewer, unit)
    return db.session.scalar(
        sa.select(PracticeRecord).where(
            PracticeRecord.unit_id == unit.id, PracticeRecord.month == month
        )
    )


def unit_records(viewer: User, unit: Unit) -> list[PracticeRecord]:
    """The unit's months, oldest first."""
    check_unit(viewer, unit)
    return list(
        db.session.scalars(
            sa.select(PracticeRecord)
            .where(PracticeRecord.unit_id == unit.id)
            .order_by(PracticeRecord.month)
        )
    )


@dataclass(frozen=True)
class IndicatorPoint:
    month: date
    value: float


@dataclass(frozen=True)
class IndicatorSeries:
    """One indicator for one unit: its recorded months in order and its reference lines."""

    indicator: Indicator
    points: list[IndicatorPoint]

    @property
    def id(self) -> str:
        return self.indicator.id

    @property
    def label(self) -> str:
        return self.indicator.label.en

    @property
    def unit_label(self) -> str:
        return self.indicator.unit.en

    @property
    def suffix(self) -> str:
        return self.indicator.suffix

    @property
    def months(self) -> list[date]:
        return [p.month for p in self.points]

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points]

    @property
    def reference_lines(self) -> list[ReferenceLine]:
        return list(self.indicator.reference_lines)

    @property
    def latest(self) -> IndicatorPoint | None:
        return self.points[-1] if self.points else None

    @property
    def has_data(self) -> bool:
        return bool(self.points)


def practice_series(viewer: User, unit: Unit) -> list[IndicatorSeries]:
    """Every indicator in the file's order, each with the months that recorded it."""
    records = unit_records(viewer, unit)
    series = []
    for indicator in current_guide().indicators:
        points = [
            IndicatorPoint(r.month, value)
            for r in records
            if (value := r.value(indicator.id)) is not None
        ]
        series.append(IndicatorSeries(indicator, points))
    return series


# ------------------------------------------------------------------ self-assessments


def checklist_items() -> list[ChecklistItem]:
    return current_guide().items


def unit_assessments(viewer: User, unit: Unit) -> list[PracticeAssessment]:
    """The unit's assessments, oldest first."""
    check_unit(viewer, unit)
    return list(
        db.session.scalars(
            sa.select(PracticeAssessment)
            .where(PracticeAssessment.unit_id == unit.id)
            .order_by(PracticeAssessment.assessed_on, PracticeAssessment.id)
        )
    )


def latest_assessment(viewer: User, unit: Unit) -> PracticeAssessment | None:
    found = unit_assessments(viewer, unit)
    return found[-1] if found else None


def assessment_for(viewer: User, assessment_id: int) -> PracticeAssessment:
    """The assessment, if it exists and its unit is in the viewer's scope."""
    assessment = db.session.get(PracticeAssessment, assessment_id)
    if assessment is None:
        raise NotFound("no such assessment")
    check_unit(viewer, assessment.unit)
    return assessment


def previous_of(assessment: PracticeAssessment) -> PracticeAssessment | None:
    """The unit's assessment just before this one."""
    earlier = sa.or_(
        PracticeAssessment.assessed_on < assessment.assessed_on,
        sa.and_(
            PracticeAssessment.assessed_on == assessment.assessed_on,
            PracticeAssessment.id < assessment.id,
        ),
    )
    return db.session.scalar(
        sa.select(PracticeAssessment)
        .where(PracticeAssessment.unit_id == assessment.unit_id, earlier)
        .order_by(PracticeAssessment.assessed_on.desc(), PracticeAssessment.id.desc())
        .limit(1)
    )


def parse_day(raw: str, today: date | None = None) -> date:
    """``YYYY-MM-DD``; a future or implausible date is refused."""
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise PracticeError("Give the date as YYYY-MM-DD, for example 2026-03-14.") from exc
    if day > (today or utcnow().date()):
        raise PracticeError("The date of an assessment cannot be in the future.")
    if day < EARLIEST:
        raise PracticeError(f"Give a date from {EARLIEST.isoformat()} on.")
    return day


@dataclass(frozen=True)
class Answer:
    """One item's rating and note, as given on the form."""

    rating: ChecklistRating
    note: str = ""


def save_assessment(
    viewer: User, unit: Unit, assessed_on: date, answers: Mapping[str, Answer]
) -> PracticeAssessment:
    """A new assessment rating every item of the checklist."""
    check_unit(viewer, unit)
    items = [i.id for i in checklist_items()]
    if unknown := set(answers) - set(items):
        raise PracticeError(f"Unknown checklist item {sorted(unknown)[0]!r}.")
    if missing := [i for i in items if i not in answers]:
        raise PracticeError(f"Rate every item: {len(missing)} still need a rating.")
    assessment = PracticeAssessment(
        unit_id=unit.id, assessed_on=assessed_on, assessed_by_id=viewer.id
    )
    for item_id in items:
        answer = answers[item_id]
        note = answer.note.strip()
        if len(note) > NOTE_LENGTH:
            raise PracticeError(f"Keep each note to {NOTE_LENGTH:,} characters or fewer.")
        assessment.ratings.append(PracticeRating(item_id=item_id, rating=answer.rating, note=note))
    db.session.add(assessment)
    db.session.flush()
    return assessment


def starting_answers(viewer: User, unit: Unit) -> dict[str, Answer]:
    """The latest assessment's ratings and notes, to start the next one from."""
    latest = latest_assessment(viewer, unit)
    if latest is None:
        return {}
    return {r.item_id: Answer(r.rating, r.note) for r in latest.ratings}


@dataclass(frozen=True)
class AssessmentSummary:
    """How many items an assessment rated in place, partly and not yet."""

    assessment: PracticeAssessment
    in_place: int
    partly: int
    not_yet: int

    @property
    def total(self) -> int:
        return self.in_place + self.partly + self.not_yet

    @property
    def in_place_pct(self) -> float:
        return round(100 * self.in_place / self.total, 1) if self.total else 0.0

    @property
    def at_least_partly_pct(self) -> float:
        return round(100 * (self.in_place + self.partly) / self.total, 1) if self.total else 0.0


def summarise(assessment: PracticeAssessment) -> AssessmentSummary:
    ratings = [r.rating for r in assessment.ratings]
    return AssessmentSummary(
        assessment,
        in_place=ratings.count(ChecklistRating.IN_PLACE),
        partly=ratings.count(ChecklistRating.PARTLY),
        not_yet=ratings.count(ChecklistRating.NOT_YET),
    )


@dataclass(frozen=True)
class ItemChange:
    """An item whose rating differs from the assessment before (None: not rated then)."""

    item_id: str
    text: str
    before: ChecklistRating | None
    after: ChecklistRating | None

    @property
    def better(self) -> bool:
        order = [None, ChecklistRating.NOT_YET, ChecklistRating.PARTLY, ChecklistRating.IN_PLACE]
        return order.index(self.after) > order.index(self.before)


def item_text(item_id: str) -> str:
    """An item's wording, or a plain mark for one no longer in the checklist."""
    for item in checklist_items():
        if item.id == item_id:
            return item.text.en
    return f"{item_id} (no longer in the checklist)"


def changes(before: PracticeAssessment | None, after: PracticeAssessment) -> list[ItemChange]:
    """The items rated differently in ``after`` than in ``before``, in checklist order."""
    if before is None:
        return []
    old = {r.item_id: r.rating for r in before.ratings}
    new = {r.item_id: r.rating for r in after.ratings}
    order = [i.id for i in checklist_items()]
    ids = [i for i in order if i in old or i in new]
    ids += sorted((set(old) | set(new)) - set(order))
    return [
        ItemChange(item_id, item_text(item_id), old.get(item_id), new.get(item_id))
        for item_id in ids
        if old.get(item_id) != new.get(item_id)
    ]


@dataclass(frozen=True)
class Progress:
    """A unit's assessments over time and what changed in the latest one."""

    unit: Unit
    summaries: list[AssessmentSummary]
    latest_changes: list[ItemChange]

    @property
    def latest(self) -> AssessmentSummary | None:
        return self.summaries[-1] if self.summaries else None

    @property
    def previous(self) -> AssessmentSummary | None:
        return self.summaries[-2] if len(self.summaries) > 1 else None


def progress(viewer: User, unit: Unit) -> Progress:
    assessments = unit_assessments(viewer, unit)
    summaries = [summarise(a) for a in assessments]
    latest_changes = changes(assessments[-2], assessments[-1]) if len(assessments) > 1 else []
    return Progress(unit, summaries, latest_changes)
