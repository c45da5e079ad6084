"""Actions: what the organisation did about what staff said, and the record of how it went."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.types import UTCDateTime, enum_column, utcnow


class ActionStatus(enum.StrEnum):
    """Where a change idea stands in its Plan-Do-Study-Act life."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    STOPPED = "stopped"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    ActionStatus.PLANNED: "Planned",
    ActionStatus.IN_PROGRESS: "In progress",
    ActionStatus.DONE: "Done",
    ActionStatus.STOPPED: "Stopped",
}

# A plan can start or be dropped; work under way can finish or stop; stopped work can resume.
# Done is done: a new round of the same idea is a new action.
STATUS_MOVES: dict[ActionStatus, tuple[ActionStatus, ...]] = {
    ActionStatus.PLANNED: (ActionStatus.IN_PROGRESS, ActionStatus.STOPPED),
    ActionStatus.IN_PROGRESS: (ActionStatus.DONE, ActionStatus.STOPPED),
    ActionStatus.STOPPED: (ActionStatus.IN_PROGRESS,),
    ActionStatus.DONE: (),
}


class Stage(enum.StrEnum):
    """The four steps of a Plan-Do-Study-Act cycle a note belongs to."""

    PLAN = "plan"
    DO = "do"
    STUDY = "study"
    ACT = "act"


class EntryKind(enum.StrEnum):
    """What one line of an action's history records."""

    CREATED = "created"
    EDITED = "edited"
    STATUS = "status"
    NOTE = "note"


class Action(db.Model):  # type: ignore[name-defined,misc]
    """A change a unit is trying, tied to one or more framework domains."""

    __tablename__ = "action"
    __table_args__ = (sa.CheckConstraint("title <> ''", name="title_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    other_domains: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    concept_id: Mapped[str | None] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    title_es: Mapped[str] = mapped_column(sa.String(200), default="")
    heard: Mapped[str] = mapped_column(sa.Text, default="")
    heard_cell_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("release_cell.id", ondelete="SET NULL")
    )
    plan: Mapped[str] = mapped_column(sa.Text, default="")
    plan_es: Mapped[str] = mapped_column(sa.Text, default="")
    owner_role: Mapped[str] = mapped_column(sa.String(100), default="")
    start_date: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = mapped_column(
        enum_column(ActionStatus, "action_status"), default=ActionStatus.PLANNED
    )
    finished_on: Mapped[date | None] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
    entries: Mapped[list[ActionEntry]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="ActionEntry.id"
    )

    @property
    def domains(self) -> list[str]:
        return [self.domain, *[d for d in self.other_domains if d != self.domain]]

    def title_in(self, language: str) -> str:
        return self.title_es if language == "es" and self.title_es else self.title

    def plan_in(self, language: str) -> str:
        return self.plan_es if language == "es" and self.plan_es else self.plan


class ActionEntry(db.Model):  # type: ignore[name-defined,misc]
    """One line of an action's history: created, edited, moved to a status, or a PDSA note."""

    __tablename__ = "action_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        sa.ForeignKey("action.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind, "action_entry_kind"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    on_date: Mapped[date] = mapped_column(sa.Date)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    by_email: Mapped[str] = mapped_column(sa.String(320), default="")
    stage: Mapped[Stage | None] = mapped_column(enum_column(Stage, "pdsa_stage"))
    status_from: Mapped[str | None] = mapped_column(sa.String(32))
    status_to: Mapped[str | None] = mapped_column(sa.String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    body: Mapped[str] = mapped_column(sa.Text, default="")

    action: Mapped[Action] = relationship(back_populates="entries")


FOLLOW_UP_PREFIX = "follow_up_"


class FollowUp(db.Model):  # type: ignore[name-defined,misc]
    """A follow-up question a wave carries for one action, asked in the action's unit."""

    __tablename__ = "follow_up"
    __table_args__ = (sa.UniqueConstraint("wave_id", "action_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("action.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"))
    domain: Mapped[str] = mapped_column(sa.String(64))
    text_en: Mapped[str] = mapped_column(sa.String(400))
    text_es: Mapped[str] = mapped_column(sa.String(400))

    @property
    def item_id(self) -> str:
        return f"{FOLLOW_UP_PREFIX}{self.action_id}"
