"""Actions: what the organisation did about what staff said."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wellbeing.extensions import db
from wellbeing.types import UTCDateTime, enum_column, utcnow


class ActionStatus(enum.StrEnum):
    """Where a change idea stands in its Plan-Do-Study-Act life."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    STOPPED = "stopped"


class Action(db.Model):  # type: ignore[name-defined,misc]
    """A change a unit is trying, tied to a framework domain."""

    __tablename__ = "action"
    __table_args__ = (sa.CheckConstraint("title <> ''", name="title_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    heard: Mapped[str] = mapped_column(sa.Text, default="")
    plan: Mapped[str] = mapped_column(sa.Text, default="")
    owner_role: Mapped[str] = mapped_column(sa.String(100), default="")
    start_date: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = mapped_column(
        enum_column(ActionStatus, "action_status"), default=ActionStatus.PLANNED
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
