"""What an agency records about its own practices: monthly indicators and self-assessments."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.auth.models import User
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.types import UTCDateTime, enum_column, utcnow

# The indicators a month can carry, each with the range a sane value lies in. The database
# refuses anything outside; forms and surveys/practices.yaml are checked against the same list.
INDICATOR_LIMITS: dict[str, tuple[float, float]] = {
    "caseload": (0, 200),
    "staff_per_supervisor": (0, 100),
    "reflective_supervision": (0, 100),
    "turnover": (0, 400),
}
INDICATORS = tuple(INDICATOR_LIMITS)
NOTE_LENGTH = 1000


def _in_range(column: str) -> sa.CheckConstraint:
    low, high = INDICATOR_LIMITS[column]
    return sa.CheckConstraint(
        f"{column} IS NULL OR ({column} >= {low:g} AND {column} <= {high:g})",
        name=f"{column}_range",
    )


class PracticeRecord(db.Model):  # type: ignore[name-defined,misc]
    """One unit's practice indicators for one calendar month (``month`` is its first day)."""

    __tablename__ = "practice_record"
    __table_args__ = (
        sa.UniqueConstraint("unit_id", "month"),
        *(_in_range(column) for column in INDICATORS),
        sa.CheckConstraint(
            " OR ".join(f"{column} IS NOT NULL" for column in INDICATORS), name="some_value"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"))
    month: Mapped[date] = mapped_column(sa.Date)
    # Families or cases per worker, on average.
    caseload: Mapped[float | None] = mapped_column(sa.Float)
    # Staff per supervisor.
    staff_per_supervisor: Mapped[float | None] = mapped_column(sa.Float)
    # Percentage of scheduled reflective supervision sessions that took place.
    reflective_supervision: Mapped[float | None] = mapped_column(sa.Float)
    # Annualised staff turnover, in percent.
    turnover: Mapped[float | None] = mapped_column(sa.Float)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    def value(self, indicator: str) -> float | None:
        """The month's value of one indicator; unknown indicators raise."""
        if indicator not in INDICATOR_LIMITS:
            raise KeyError(indicator)
        number: float | None = getattr(self, indicator)
        return number


class ChecklistRating(enum.StrEnum):
    """How far a practice on the checklist is in place."""

    NOT_YET = "not_yet"
    PARTLY = "partly"
    IN_PLACE = "in_place"

    @property
    def label(self) -> str:
        return RATING_LABELS[self]


RATING_LABELS = {
    ChecklistRating.NOT_YET: "Not yet",
    ChecklistRating.PARTLY: "Partly",
    ChecklistRating.IN_PLACE: "In place",
}


class PracticeAssessment(db.Model):  # type: ignore[name-defined,misc]
    """A unit's (or, for the root unit, the organisation's) self-assessment on one day."""

    __tablename__ = "practice_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    assessed_on: Mapped[date] = mapped_column(sa.Date)
    assessed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    assessed_by: Mapped[User | None] = relationship()
    ratings: Mapped[list[PracticeRating]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="PracticeRating.id"
    )


class PracticeRating(db.Model):  # type: ignore[name-defined,misc]
    """One checklist item's rating in an assessment, with an optional note."""

    __tablename__ = "practice_rating"
    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "item_id"),
        sa.CheckConstraint("item_id <> ''", name="item_id_not_empty"),
        sa.CheckConstraint(f"length(note) <= {NOTE_LENGTH}", name="note_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("practice_assessment.id", ondelete="CASCADE")
    )
    item_id: Mapped[str] = mapped_column(sa.String(64))
    rating: Mapped[ChecklistRating] = mapped_column(enum_column(ChecklistRating, "rating"))
    note: Mapped[str] = mapped_column(sa.String(NOTE_LENGTH), default="")

    assessment: Mapped[PracticeAssessment] = relationship(back_populates="ratings")
