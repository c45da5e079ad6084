"""What was answered: stored so that nobody can tell who answered it.

These tables share no key, column or timestamp with invitations. Ids are random, rows carry
the wave, the unit and self-reported cut values frozen at answer time, and nothing finer.
Only ``wellbeing.releases`` reads them for reporting.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.extensions import db
from wellbeing.types import enum_column, new_uuid

COMMENT_MAX_CHARS = 2000


class Choice(enum.StrEnum):
    """How an item was answered; the two opt-outs are never counted as neutral."""

    VALUE = "value"
    NOT_APPLICABLE = "not_applicable"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"


class Response(db.Model):  # type: ignore[name-defined,misc]
    """One person's answers to one wave, with a fresh random id and no time finer than the wave."""

    __tablename__ = "response"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_uuid)
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("wave.id", ondelete="RESTRICT"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    cuts: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(db.Model):  # type: ignore[name-defined,misc]
    """One item's answer within a response."""

    __tablename__ = "answer"
    __table_args__ = (
        sa.CheckConstraint(
            "(choice = 'value' AND value IS NOT NULL) OR (choice <> 'value' AND value IS NULL)",
            name="value_iff_chosen",
        ),
        sa.CheckConstraint("value BETWEEN 0 AND 10", name="value_range"),
    )

    response_id: Mapped[str] = mapped_column(
        sa.ForeignKey("response.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    choice: Mapped[Choice] = mapped_column(enum_column(Choice, "answer_choice"))
    value: Mapped[int | None] = mapped_column(sa.SmallInteger)

    response: Mapped[Response] = relationship(back_populates="answers")


class Comment(db.Model):  # type: ignore[name-defined,misc]
    """A free-text comment, kept apart from the answers it came with."""

    __tablename__ = "comment"
    __table_args__ = (
        sa.CheckConstraint(f"length(body) BETWEEN 1 AND {COMMENT_MAX_CHARS}", name="body_length"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_uuid)
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("wave.id", ondelete="RESTRICT"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)


class Submission(db.Model):  # type: ignore[name-defined,misc]
    """A sealed submission waiting in the buffer to be written, shuffled, as a response.

    The payload is encrypted with a key derived from the secret key, so a reader of the
    database cannot match a buffered answer to the invitation marked answered beside it.
    """

    __tablename__ = "submission_buffer"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_uuid)
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("wave.id", ondelete="RESTRICT"), index=True)
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
