"""Taking answers in: check them, seal them into the buffer, and later write them shuffled.

A submission marks its invitation answered and adds a sealed (encrypted) row to the buffer in
one transaction. When the wave closes, its whole buffer is written as responses in a separate
transaction, shuffled, with fresh random ids: neither row order nor ids nor transaction ids
follow submission order.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wellbeing.bank import QuestionBank, current_bank
from wellbeing.extensions import db
from wellbeing.pulse.models import Invitation, Wave, WaveStatus
from wellbeing.pulse.tokens import derive_key
from wellbeing.responses.models import (
    COMMENT_MAX_CHARS,
    Answer,
    Choice,
    Comment,
    Response,
    Submission,
)

logger = logging.getLogger(__name__)

OPT_OUTS = {"na": Choice.NOT_APPLICABLE, "pns": Choice.PREFER_NOT_TO_SAY}
_shuffler = secrets.SystemRandom()


class SubmissionError(ValueError):
    """The answers cannot be accepted as sent; nothing was written."""


class AlreadyAnswered(SubmissionError):
    """This invitation's answers are already in."""


class WaveClosed(SubmissionError):
    """The wave is no longer taking answers."""


@dataclass(frozen=True)
class CheckedAnswers:
    """A submission after validation: item id → (choice, value), a comment, cut answers."""

    answers: dict[str, tuple[Choice, int | None]]
    comment: str | None
    cuts: dict[str, str] = field(default_factory=dict)


def check_answers(
    wave: Wave,
    raw_answers: dict[str, str],
    comment: str | None,
    raw_cuts: dict[str, str] | None = None,
    bank: QuestionBank | None = None,
) -> CheckedAnswers:
    """Validate every answer against the wave's items and their scales.

    Unanswered items are simply absent; "na" and "pns" are the two opt-outs; anything else
    must be one of the item's scale values.
    """
    bank = bank or current_bank()
    # Only the wave's items this person was asked: a follow-up is in their bank only if it is
    # asked in their unit.
    allowed = set(wave.item_ids) & set(bank.items)
    unknown = sorted(set(raw_answers) - allowed)
    if unknown:
        raise SubmissionError(f"unknown question {unknown[0]!r}")
    answers: dict[str, tuple[Choice, int | None]] = {}
    for item_id, raw in raw_answers.items():
        raw = raw.strip()
        if raw == "":
            continue
        if raw in OPT_OUTS:
            answers[item_id] = (OPT_OUTS[raw], None)
            continue
        # Compared as the text of each option: "²", "٣" or "--3" pass str.isdigit() or int().
        options = {str(value): value for value in bank.scale_of(item_id).values}
        if raw not in options:
            raise SubmissionError(f"the answer to {item_id!r} is not one of its options")
        answers[item_id] = (Choice.VALUE, options[raw])
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX_CHARS:
        raise SubmissionError(f"the comment is longer than {COMMENT_MAX_CHARS} characters")
    cuts: dict[str, str] = {}
    for cut_id, value in (raw_cuts or {}).items():
        value = value.strip()
        if not value:
            continue
        cut = bank.cuts.get(cut_id)
        if cut is None or value not in {o.value for o in cut.options}:
            raise SubmissionError(f"the answer to {cut_id!r} is not one of its options")
        cuts[cut_id] = value
    if not answers and not text:
        raise SubmissionError("answer at least one question before sending")
    return CheckedAnswers(answers, text or None, cuts)


def _seal(payload: dict[str, object]) -> bytes:
    nonce = os.urandom(12)
    data = json.dumps(payload, separators=(",", ":")).encode()
    return nonce + AESGCM(derive_key("submission-buffer")).encrypt(nonce, data, None)


def _unseal(sealed: bytes) -> dict[str, object]:
    try:
        data = AESGCM(derive_key("submission-buffer")).decrypt(sealed[:12], sealed[12:], None)
    except InvalidTag as exc:
        raise RuntimeError("a buffered submission cannot be opened with this secret key") from exc
    payload: dict[str, object] = json.loads(data)
    return payload


def submit(invitation_id: int, checked: CheckedAnswers) -> None:
    """Accept one invitation's answers exactly once; the caller's transaction commits both rows.

    The conditional update is the guard against double submission: of two concurrent posts
    for the same invitation, only one sees ``responded`` still false.
    """
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise SubmissionError("this survey link is not valid")
    wave = invitation.wave
    if wave.status is not WaveStatus.OPEN:
        raise WaveClosed("this pulse has closed")
    result = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.responded.is_(False))
        .values(responded=True, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise AlreadyAnswered("these answers are already in")
    payload: dict[str, object] = {
        "unit_id": invitation.unit_id,
        "answers": {k: [c.value, v] for k, (c, v) in checked.answers.items()},
        "comment": checked.comment,
        "cuts": checked.cuts,
    }
    db.session.add(Submission(wave_id=wave.id, sealed=_seal(payload)))
    db.session.flush()


def flush_buffer(wave_id: int | None = None) -> int:
    """Write the buffered submissions of closed waves as responses, each wave in one shuffled batch.

    Open waves are never written: nothing reads responses before a wave closes, and writing a
    whole wave at once is what keeps row order, ids and transaction ids free of submission
    order (batches written during the wave would follow time). Returns responses written.
    The caller commits; this must never share a transaction with an invitation update.
    """
    query = (
        sa.select(Submission.wave_id)
        .join(Wave, Wave.id == Submission.wave_id)
        .where(Wave.status != WaveStatus.OPEN)
        .distinct()
    )
    if wave_id is not None:
        query = query.where(Submission.wave_id == wave_id)
    written = 0
    for wid in list(db.session.scalars(query)):
        buffered = list(db.session.scalars(sa.select(Submission).where(Submission.wave_id == wid)))
        _shuffler.shuffle(buffered)
        payloads = [_unseal(s.sealed) for s in buffered]
        _write_responses(wid, payloads)
        db.session.execute(sa.delete(Submission).where(Submission.wave_id == wid))
        written += len(payloads)
        logger.info("wrote %s buffered responses for wave %s", len(payloads), wid)
    db.session.flush()
    return written


def _write_responses(wave_id: int, payloads: list[dict[str, object]]) -> None:
    responses = []
    answers = []
    comments = []
    for payload in payloads:
        response = Response(
            wave_id=wave_id, unit_id=payload["unit_id"], cuts=payload.get("cuts") or {}
        )
        responses.append(response)
        for item_id, (choice, value) in dict(payload["answers"]).items():  # type: ignore[call-overload]
            answers.append((response, item_id, Choice(choice), value))
        if payload.get("comment"):
            comments.append(
                Comment(wave_id=wave_id, unit_id=payload["unit_id"], body=payload["comment"])
            )
    db.session.add_all(responses)
    db.session.flush()
    if answers:
        db.session.execute(
            sa.insert(Answer),
            [
                {"response_id": r.id, "item_id": i, "choice": c, "value": v}
                for r, i, c, v in answers
            ],
        )
    _shuffler.shuffle(comments)
    db.session.add_all(comments)
    db.session.flush()


@dataclass(frozen=True)
class RawCounts:
    """How many raw rows a wave holds (or held): whole-wave totals, never per unit."""

    responses: int = 0
    answers: int = 0
    comments: int = 0
    submissions: int = 0

    @property
    def total(self) -> int:
        return self.responses + self.answers + self.comments + self.submissions


def _answers_of(wave_id: int) -> sa.ColumnElement[bool]:
    return Answer.response_id.in_(sa.select(Response.id).where(Response.wave_id == wave_id))


def _count(query: sa.Select[tuple[int]]) -> int:
    return int(db.session.scalar(query) or 0)


def raw_counts(wave_id: int) -> RawCounts:
    """Count a wave's responses, answers, comments and buffered submissions."""
    count = sa.func.count()
    return RawCounts(
        responses=_count(sa.select(count).where(Response.wave_id == wave_id)),
        answers=_count(sa.select(count).select_from(Answer).where(_answers_of(wave_id))),
        comments=_count(sa.select(count).where(Comment.wave_id == wave_id)),
        submissions=_count(sa.select(count).where(Submission.wave_id == wave_id)),
    )


def _deleted(statement: sa.Delete) -> int:
    result = db.session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_raw_answers(wave_id: int) -> RawCounts:
    """Delete everything a wave holds of what was answered; returns what was deleted.

    Only retention calls this, for a released wave past its retention period. The caller's
    transaction holds the whole deletion, so a wave is never left half deleted.
    """
    deleted = RawCounts(
        answers=_deleted(sa.delete(Answer).where(_answers_of(wave_id))),
        responses=_deleted(sa.delete(Response).where(Response.wave_id == wave_id)),
        comments=_deleted(sa.delete(Comment).where(Comment.wave_id == wave_id)),
        submissions=_deleted(sa.delete(Submission).where(Submission.wave_id == wave_id)),
    )
    db.session.flush()
    return deleted
