"""What retention did: each run, and each wave whose raw answers it deleted.

A wave's deletion record is also the mark that its raw answers are gone for good, so nothing
recomputes its release from an empty table. Counts are whole-wave totals, never per unit.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.extensions import db
from wellbeing.types import UTCDateTime, enum_column, utcnow


class RunTrigger(enum.StrEnum):
    """Who started a retention run."""

    COMMAND = "command"
    SCHEDULER = "scheduler"


class RetentionRun(db.Model):  # type: ignore[name-defined,misc]
    """One run of retention (not a dry run): when, under which period, and what it did."""

    __tablename__ = "retention_run"
    __table_args__ = (
        sa.CheckConstraint("retention_days >= 1", name="days_positive"),
        sa.CheckConstraint(
            "waves_deleted >= 0 AND waves_kept >= 0 AND waves_failed >= 0", name="counts_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trigger: Mapped[RunTrigger] = mapped_column(enum_column(RunTrigger, "retention_trigger"))
    retention_days: Mapped[int] = mapped_column(sa.Integer)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime)
    waves_deleted: Mapped[int] = mapped_column(sa.Integer, default=0)
    waves_kept: Mapped[int] = mapped_column(sa.Integer, default=0)
    waves_failed: Mapped[int] = mapped_column(sa.Integer, default=0)

    deletions: Mapped[list[WaveDeletion]] = relationship(
        back_populates="run", order_by="WaveDeletion.wave_id"
    )


class WaveDeletion(db.Model):  # type: ignore[name-defined,misc]
    """That a wave's raw answers, comments and buffered submissions were deleted, and how many."""

    __tablename__ = "retention_deletion"
    __table_args__ = (
        sa.CheckConstraint(
            "responses >= 0 AND answers >= 0 AND comments >= 0 AND submissions >= 0",
            name="counts_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("retention_run.id", ondelete="RESTRICT"), index=True
    )
    # Unique: a wave's raw answers are deleted once, and two runs at once cannot both do it.
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("wave.id", ondelete="RESTRICT"), unique=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    responses: Mapped[int] = mapped_column(sa.Integer, default=0)
    answers: Mapped[int] = mapped_column(sa.Integer, default=0)
    comments: Mapped[int] = mapped_column(sa.Integer, default=0)
    submissions: Mapped[int] = mapped_column(sa.Integer, default=0)

    run: Mapped[RetentionRun] = relationship(back_populates="deletions")
