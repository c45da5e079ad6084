"""People who sign in: admins, wellness coordinators and leaders, each with a scope."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.types import UTCDateTime, enum_column, utcnow


class Role(enum.StrEnum):
    """What a signed-in user is for; scope rules depend on it."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    LEADER = "leader"


user_unit = sa.Table(
    "user_unit",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit_id", sa.ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A login account. Leaders see only the units assigned here and everything below them.

    An account linked to single sign-on carries the provider's subject; its role and units are
    the provider's groups, rewritten at every sign-in.
    """

    __tablename__ = "user_account"
    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    oidc_subject: Mapped[str | None] = mapped_column(sa.String(255), unique=True)

    units: Mapped[list[Unit]] = relationship(secondary=user_unit, order_by=Unit.path)

    @property
    def is_active(self) -> bool:
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A personal, revocable token for the read-only JSON API; only its hash is stored."""

    __tablename__ = "api_token"
    __table_args__ = (sa.CheckConstraint("length(token_hash) = 64", name="hash_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class AccessRecord(db.Model):  # type: ignore[name-defined,misc]
    """One view of results: who, through which channel, what and in what scope, when."""

    __tablename__ = "access_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    user_email: Mapped[str] = mapped_column(sa.String(320))
    role: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str] = mapped_column(sa.String(16))
    what: Mapped[str] = mapped_column(sa.String(500))
    scope: Mapped[str] = mapped_column(sa.String(1000))
