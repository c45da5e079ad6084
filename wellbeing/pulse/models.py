"""Pulse programs, their waves, and invitations: the "who was asked" side.

Nothing here may be joined to what anyone answered; see ``wellbeing.responses.models``.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.extensions import db
from wellbeing.org.models import Person, Unit
from wellbeing.types import UTCDateTime, enum_column, utcnow

MAX_REMINDERS = 2

program_unit = sa.Table(
    "program_unit",
    db.metadata,
    sa.Column(
        "program_id", sa.ForeignKey("pulse_program.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("unit_id", sa.ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class PulseProgram(db.Model):  # type: ignore[name-defined,misc]
    """A recurring pulse for an audience of units: cadence, window, reminders, item plan."""

    __tablename__ = "pulse_program"
    __table_args__ = (
        sa.CheckConstraint("cadence_days BETWEEN 7 AND 366", name="cadence_range"),
        sa.CheckConstraint("window_days BETWEEN 1 AND cadence_days", name="window_within_cadence"),
        sa.CheckConstraint("invite_weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("invite_hour BETWEEN 0 AND 23", name="hour_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    cadence_days: Mapped[int] = mapped_column(sa.SmallInteger, default=14)
    invite_weekday: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    invite_hour: Mapped[int] = mapped_column(sa.SmallInteger, default=9)
    window_days: Mapped[int] = mapped_column(sa.SmallInteger, default=7)
    reminder_days: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [3, 6])
    core_items: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    rotation: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    deep_dive_items: Mapped[int] = mapped_column(sa.SmallInteger, default=2)
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: ["en", "es"])
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    units: Mapped[list[Unit]] = relationship(secondary=program_unit, order_by=Unit.path)
    waves: Mapped[list[Wave]] = relationship(back_populates="program", order_by="Wave.sequence")


class WaveStatus(enum.StrEnum):
    """A wave opens, closes, then has a release computed for it."""

    OPEN = "open"
    CLOSED = "closed"
    RELEASED = "released"


WAVE_TRANSITIONS: dict[WaveStatus, set[WaveStatus]] = {
    WaveStatus.OPEN: {WaveStatus.CLOSED},
    WaveStatus.CLOSED: {WaveStatus.RELEASED},
    WaveStatus.RELEASED: set(),
}


class InvalidTransition(ValueError):
    """A lifecycle move that the rules do not allow."""


class Wave(db.Model):  # type: ignore[name-defined,misc]
    """One pulse of a program. ``(program_id, sequence)`` is the key that keeps jobs idempotent."""

    __tablename__ = "wave"
    __table_args__ = (
        sa.UniqueConstraint("program_id", "sequence"),
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        sa.CheckConstraint("sequence >= 1", name="sequence_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        sa.ForeignKey("pulse_program.id", ondelete="RESTRICT"), index=True
    )
    sequence: Mapped[int] = mapped_column(sa.Integer)
    scheduled_for: Mapped[date] = mapped_column(sa.Date)
    module: Mapped[str | None] = mapped_column(sa.String(64))
    item_ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[WaveStatus] = mapped_column(
        enum_column(WaveStatus, "wave_status"), default=WaveStatus.OPEN
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    program: Mapped[PulseProgram] = relationship(back_populates="waves")

    def move_to(self, new: WaveStatus) -> None:
        """Change status, refusing moves the lifecycle does not allow."""
        if new not in WAVE_TRANSITIONS[self.status]:
            raise InvalidTransition(f"a {self.status.value} wave cannot become {new.value}")
        self.status = new
        if new is WaveStatus.CLOSED:
            self.closed_at = utcnow()


class DeliveryStatus(enum.StrEnum):
    """Where an invitation's email stands."""

    PENDING = "pending"
    SENT = "sent"
    REJECTED = "rejected"


class Invitation(db.Model):  # type: ignore[name-defined,misc]
    """That a person was asked in a wave, and whether they have answered. Never what."""

    __tablename__ = "invitation"
    __table_args__ = (
        sa.UniqueConstraint("wave_id", "person_id"),
        sa.CheckConstraint(f"reminders_sent BETWEEN 0 AND {MAX_REMINDERS}", name="reminder_cap"),
        sa.CheckConstraint("attempts >= 0", name="attempts_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("wave.id", ondelete="RESTRICT"), index=True)
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    locale: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders_sent: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    responded: Mapped[bool] = mapped_column(default=False)

    wave: Mapped[Wave] = relationship()
    person: Mapped[Person] = relationship()
    tokens: Mapped[list[InvitationToken]] = relationship(
        back_populates="invitation", cascade="all, delete-orphan"
    )


class InvitationToken(db.Model):  # type: ignore[name-defined,misc]
    """A keyed hash of one emailed link's token; the token itself is never stored."""

    __tablename__ = "invitation_token"
    __table_args__ = (sa.CheckConstraint("length(token_hash) = 64", name="hash_length"),)

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitation.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    invitation: Mapped[Invitation] = relationship(back_populates="tokens")


class SchedulerLease(db.Model):  # type: ignore[name-defined,misc]
    """Which scheduler process is active; others wait until the lease expires."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
