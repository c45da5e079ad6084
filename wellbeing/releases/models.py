"""Releases: the audited, immutable set of cells every report reads for a closed wave."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.extensions import db
from wellbeing.types import UTCDateTime, enum_column, utcnow


class ReleaseError(ValueError):
    """A release cannot be computed as asked; the message says why."""


class CellScope(enum.StrEnum):
    """Whether a cell covers a unit's whole subtree or only its direct members."""

    SUBTREE = "subtree"
    DIRECT = "direct"


class Release(db.Model):  # type: ignore[name-defined,misc]
    """The one set of published numbers for a wave; a new version only by explicit recompute."""

    __tablename__ = "release"
    __table_args__ = (
        sa.UniqueConstraint("wave_id", "version"),
        sa.CheckConstraint("min_group_size >= 5", name="k_floor"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("wave.id", ondelete="RESTRICT"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    min_group_size: Mapped[int] = mapped_column(sa.SmallInteger)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    audit: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    cells: Mapped[list[ReleaseCell]] = relationship(
        back_populates="release", cascade="all, delete-orphan"
    )
    comments: Mapped[list[ReleasedComment]] = relationship(
        back_populates="release", cascade="all, delete-orphan"
    )


class ReleaseCell(db.Model):  # type: ignore[name-defined,misc]
    """One published number (or its visible absence) for a unit, a cut and a metric."""

    __tablename__ = "release_cell"
    __table_args__ = (
        sa.UniqueConstraint(
            "release_id", "unit_id", "scope", "cut", "cut_value", "measure", "metric"
        ),
        sa.CheckConstraint("NOT hidden OR value IS NULL", name="hidden_has_no_value"),
        sa.CheckConstraint(
            "NOT hidden OR (ci_low IS NULL AND ci_high IS NULL AND n_band IS NULL)",
            name="hidden_has_no_detail",
        ),
        sa.CheckConstraint("hidden OR reason IS NULL", name="reason_only_when_hidden"),
        sa.CheckConstraint("NOT hidden OR change IS NULL", name="hidden_has_no_change"),
        # What the pages read most: one kind of cell for every unit of a release.
        sa.Index("ix_release_cell_reading", "release_id", "scope", "cut", "metric", "measure"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        sa.ForeignKey("release.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    scope: Mapped[CellScope] = mapped_column(enum_column(CellScope, "cell_scope"))
    cut: Mapped[str] = mapped_column(sa.String(64), default="")
    cut_value: Mapped[str] = mapped_column(sa.String(64), default="")
    measure: Mapped[str] = mapped_column(sa.String(64))
    metric: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[float | None] = mapped_column(sa.Float)
    ci_low: Mapped[float | None] = mapped_column(sa.Float)
    ci_high: Mapped[float | None] = mapped_column(sa.Float)
    n_band: Mapped[str | None] = mapped_column(sa.String(16))
    hidden: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    change: Mapped[str | None] = mapped_column(sa.String(32))
    change_value: Mapped[float | None] = mapped_column(sa.Float)

    release: Mapped[Release] = relationship(back_populates="cells")


class ReleasedComment(db.Model):  # type: ignore[name-defined,misc]
    """A comment as released: masked, in a group of at least 10 respondents and 3 commenters."""

    __tablename__ = "release_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        sa.ForeignKey("release.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    topics: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    release: Mapped[Release] = relationship(back_populates="comments")
