"""The organisation: its unit hierarchy and the people on the roster."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.extensions import db
from wellbeing.types import UTCDateTime, utcnow

PATH_SEPARATOR = "/"
LOCALES = ("en", "es")


class Unit(db.Model):  # type: ignore[name-defined,misc]
    """A node of the hierarchy: agency › program › team, any depth."""

    __tablename__ = "unit"
    __table_args__ = (
        sa.UniqueConstraint("parent_id", "name"),
        sa.CheckConstraint("name <> ''", name="name_not_empty"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    path: Mapped[str] = mapped_column(sa.String(1000), unique=True)
    depth: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.name")
    people: Mapped[list[Person]] = relationship(back_populates="unit")

    def __repr__(self) -> str:
        return f"<Unit {self.path}>"


class Person(db.Model):  # type: ignore[name-defined,misc]
    """A staff member on the roster. Leavers are marked inactive, never deleted."""

    __tablename__ = "person"
    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint("email LIKE '%_@_%'", name="email_shape"),
        sa.CheckConstraint(f"locale IN {LOCALES!r}", name="locale_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    locale: Mapped[str] = mapped_column(sa.String(8), default="en")
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    employee_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    paused: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="people")

    def __repr__(self) -> str:
        return f"<Person {self.id}>"
