"""Sending invitations and reminders: claim a batch, then send it over one SMTP connection.

A sending pass repeats two steps until nothing is due:

1. **Claim** a batch of due invitations (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
   several senders never take the same rows), give each a fresh single-use token (only its keyed
   hash is stored), push its next attempt a claim lease into the future, and commit. A sender
   that dies after this point leaves its claims to be taken again when the lease runs out.
2. **Send** the batch over one SMTP connection. Right after the server accepts a message its
   invitation is marked (sent, or one more reminder) and committed, one message at a time.

The one at-least-once window: if the process dies, or the database refuses the commit, between
the SMTP server accepting a message and that commit, the claim lease runs out and the person is
sent the email again. Everything else is exactly once.

Unlike the rest of the services this module commits: claims must be committed before any email
leaves (STYLE rule 4) and each delivery must be recorded as soon as it happens.

Raw tokens live only in memory and in the emails; they are never stored or logged.
"""

from __future__ import annotations

import enum
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date, format_datetime
from flask import current_app, render_template
from flask_mail import Connection, Message
from sqlalchemy.orm import joinedload

from wellbeing.actions import service as actions
from wellbeing.actions.service import Done
from wellbeing.bank import current_bank
from wellbeing.database import write_lock
from wellbeing.extensions import db, mail
from wellbeing.org.models import Person
from wellbeing.privacy import COMMENT_MIN_COMMENTERS, COMMENT_MIN_RESPONDENTS, min_group_size
from wellbeing.pulse.models import (
    MAX_REMINDERS,
    DeliveryStatus,
    Invitation,
    InvitationToken,
    Wave,
    WaveStatus,
)
from wellbeing.pulse.tokens import new_token, token_hash
from wellbeing.survey import service as survey
from wellbeing.types import utcnow

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
# How long a claimed invitation is left to its sender before another may take it again.
CLAIM_LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
# Waiting longer than this for the mail server counts as the server being down.
SMTP_TIMEOUT_SECONDS = 60

# Babel locales and date patterns for the close date, in the recipient's own time zone.
_BABEL_LOCALES = {"en": "en_US", "es": "es_419"}
_CLOSE_PATTERNS = {
    "en": "EEEE, MMMM d 'at' h:mm a z",
    "es": "EEEE d 'de' MMMM, h:mm a (zzzz)",
}
_DAY_PATTERNS = {"en": "EEEE, MMMM d", "es": "EEEE d 'de' MMMM"}


class Kind(enum.StrEnum):
    """Which email an invitation is due for."""

    INVITATION = "invitation"
    REMINDER = "reminder"


SUBJECTS: dict[tuple[Kind, str], str] = {
    (Kind.INVITATION, "en"): "How is work going? A {minutes}-minute anonymous pulse",
    (Kind.INVITATION, "es"): "¿Cómo le va en el trabajo? Encuesta anónima de {minutes} minutos",
    (Kind.REMINDER, "en"): "Reminder: the wellbeing pulse closes {close_day}",
    (Kind.REMINDER, "es"): "Recordatorio: la encuesta de bienestar cierra el {close_day}",
}

PROTECTION: dict[str, str] = {
    "en": (
        "Your answers are only ever shown pooled in groups of at least {k} people, never on "
        "their own; comments are shown only for groups of {comment_group} or more with at "
        "least {commenters} people commenting, and never with names."
    ),
    "es": (
        "Sus respuestas solo se muestran en conjunto, en grupos de al menos {k} personas, "
        "nunca por separado; los comentarios se muestran solo en grupos de {comment_group} "
        "personas o más, con al menos {commenters} que comenten, y nunca con nombres."
    ),
}


@dataclass(frozen=True)
class Claim:
    """One email to send: the invitation, which email, and its link's token (memory only)."""

    invitation_id: int
    kind: Kind
    token: str = field(repr=False)


@dataclass
class SendingReport:
    """What one sending pass did."""

    invitations: int = 0
    reminders: int = 0
    rejected: int = 0
    deferred: int = 0
    smtp_error: str | None = None
    retry_at: datetime | None = None

    @property
    def sent(self) -> int:
        return self.invitations + self.reminders


# ---------------------------------------------------------------- the pass


def send_due(
    now: datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> SendingReport:
    """Send every invitation and reminder that is due, batch by batch, until none is left.

    Stops early, leaving the rest for later, when the mail server cannot take mail, or when
    ``stop`` (asked before each claim) says so. ``now`` fixes the clock (for tests and
    replays); otherwise each delivery is stamped as it happens.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = SendingReport()
    batches = 0
    while max_batches is None or batches < max_batches:
        if stop is not None and stop():
            break
        claims = claim_due(clock(), limit=batch_size)
        if not claims:
            break
        batches += 1
        if not send_batch(claims, clock, report):
            break
    if report.sent or report.rejected or report.deferred:
        logger.info(
            "sending pass: %s invitations and %s reminders sent, %s rejected, %s deferred",
            report.invitations,
            report.reminders,
            report.rejected,
            report.deferred,
        )
    return report


def due_invitations(now: datetime, limit: int) -> sa.Select[tuple[Invitation]]:
    """Invitations owed an email now: unsent ones, and reminders to people yet to answer."""
    return (
        sa.select(Invitation)
        .join(Wave, Wave.id == Invitation.wave_id)
        .join(Person, Person.id == Invitation.person_id)
        .where(
            Invitation.next_attempt_at <= now,
            Invitation.responded.is_(False),
            sa.or_(
                Invitation.status == DeliveryStatus.PENDING,
                sa.and_(
                    Invitation.status == DeliveryStatus.SENT,
                    Invitation.reminders_sent < MAX_REMINDERS,
                ),
            ),
            Wave.status == WaveStatus.OPEN,
            Wave.closes_at > now,
            # People on leave keep their invitation; its emails wait until they are resumed.
            Person.active.is_(True),
            Person.paused.is_(False),
        )
        .order_by(Invitation.next_attempt_at, Invitation.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Invitation)
    )


def claim_due(now: datetime, limit: int = BATCH_SIZE) -> list[Claim]:
    """Take a batch of due emails for this sender, each with a fresh token, and commit."""
    claims: list[Claim] = []
    try:
        # SQLite has no row locks: the claim takes the write lock up front, so two senders
        # queue for it instead of both reading the same rows.
        with write_lock():
            due = list(db.session.scalars(due_invitations(now, limit)))
        for invitation in due:
            kind = Kind.INVITATION if invitation.status is DeliveryStatus.PENDING else Kind.REMINDER
            if kind is Kind.REMINDER and invitation.reminders_sent >= len(
                invitation.wave.program.reminder_days
            ):
                invitation.next_attempt_at = None  # the program has fewer reminders now
                continue
            token = new_token()
            db.session.add(
                InvitationToken(
                    token_hash=token_hash(token),
                    invitation_id=invitation.id,
                    expires_at=invitation.wave.closes_at,
                )
            )
            invitation.next_attempt_at = now + CLAIM_LEASE
            claims.append(Claim(invitation.id, kind, token))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return claims


@dataclass(frozen=True)
class _Outgoing:
    """A composed email and what recording its delivery needs, read before anything is sent."""

    claim: Claim
    message: Message
    sent_at: datetime | None
    reminders_sent: int
    reminder_days: tuple[int, ...]
    closes_at: datetime


def send_batch(claims: list[Claim], clock: Callable[[], datetime], report: SendingReport) -> bool:
    """Send claimed emails over one connection; False when the server stopped taking mail."""
    remaining = _compose_batch(claims)
    try:
        with mail.connect() as connection:
            _prepare(connection)
            while remaining:
                outgoing = remaining[0]
                claim = outgoing.claim
                try:
                    connection.send(outgoing.message)
                except smtplib.SMTPRecipientsRefused as exc:
                    # A refusal concerns this one message: the rest of the batch still goes.
                    code, reason = _first_refusal(exc)
                    _refused(claim, code, f"{code} {reason}", clock(), report)
                except smtplib.SMTPDataError as exc:
                    error = f"{exc.smtp_code} {_text(exc.smtp_error)}"
                    _refused(claim, exc.smtp_code, error, clock(), report)
                else:
                    _record_delivery(outgoing, clock(), report)
                remaining.pop(0)
    except (smtplib.SMTPException, OSError) as exc:
        if not remaining:
            return True  # everything was sent; only the goodbye failed
        _defer([outgoing.claim for outgoing in remaining], _describe(exc), clock(), report)
        return False
    return True


def _compose_batch(claims: list[Claim]) -> list[_Outgoing]:
    """Every email of a batch, with its invitation, wave and person loaded in one query."""
    ids = [claim.invitation_id for claim in claims]
    # Held in a dict so the loaded rows stay in the session's (weak) identity map while composing.
    loaded = {
        invitation.id: invitation
        for invitation in db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.id.in_(ids))
            .options(
                joinedload(Invitation.person),
                joinedload(Invitation.wave).joinedload(Wave.program),
            )
            .execution_options(populate_existing=True)  # the claim's commit expired them
        )
    }
    batch = []
    for claim in claims:
        invitation = loaded[claim.invitation_id]
        batch.append(
            _Outgoing(
                claim,
                compose(claim),
                invitation.sent_at,
                invitation.reminders_sent,
                tuple(invitation.wave.program.reminder_days),
                invitation.wave.closes_at,
            )
        )
    # End the read before anything is sent: each delivery is then recorded in a transaction
    # of its own that starts by writing, which SQLite lets wait for a lock instead of failing.
    db.session.commit()
    return batch


def _prepare(connection: Connection) -> None:
    host = connection.host
    if host is None:
        return  # sending is suppressed (MAIL_SUPPRESS_SEND)
    # smtplib's debug output would print whole messages, survey links included.
    host.set_debuglevel(0)
    if host.sock is not None:
        host.sock.settimeout(SMTP_TIMEOUT_SECONDS)


def _first_refusal(exc: smtplib.SMTPRecipientsRefused) -> tuple[int, str]:
    for code, reason in exc.recipients.values():
        return int(code), _text(reason)
    return 550, "recipient refused"


def _text(reason: bytes | str) -> str:
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reason = _first_refusal(exc)
        return f"{code} {reason}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# ---------------------------------------------------------------- recording outcomes


def _record_delivery(outgoing: _Outgoing, sent_at: datetime, report: SendingReport) -> None:
    """The server has the message: mark it at once, so a crash later cannot send it again."""
    claim = outgoing.claim
    values: dict[str, object] = {"attempts": 0, "last_error": None}
    first_sent: datetime | None
    if claim.kind is Kind.INVITATION:
        values.update(status=DeliveryStatus.SENT, sent_at=sent_at)
        first_sent, reminders_sent = sent_at, 0
        report.invitations += 1
    else:
        first_sent, reminders_sent = outgoing.sent_at, outgoing.reminders_sent + 1
        values["reminders_sent"] = reminders_sent
        report.reminders += 1
    values["next_attempt_at"] = reminder_due(
        first_sent, reminders_sent, outgoing.reminder_days, outgoing.closes_at, last=sent_at
    )
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == claim.invitation_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def reminder_due(
    sent_at: datetime | None,
    reminders_sent: int,
    days: tuple[int, ...],
    closes_at: datetime,
    *,
    last: datetime | None = None,
) -> datetime | None:
    """The next reminder's moment, or None when none is left or it would fall after the close.

    Counted from the invitation, but never sooner after the ``last`` email than the program's
    own gap between reminders, so a late first reminder (after a mail outage) is not followed
    by the second minutes later.
    """
    if sent_at is None or reminders_sent >= min(len(days), MAX_REMINDERS):
        return None
    due = sent_at + timedelta(days=days[reminders_sent])
    if last is not None:
        gap = days[reminders_sent] - (days[reminders_sent - 1] if reminders_sent else 0)
        due = max(due, last + timedelta(days=gap))
    return due if due < closes_at else None


def _refused(claim: Claim, code: int, error: str, now: datetime, report: SendingReport) -> None:
    """A 5xx is final for the address; a 4xx (a full mailbox, greylisting) is tried again later."""
    if code >= 500:
        _record_rejection(claim, error, report)
    else:
        _defer([claim], error, now, report)


def _record_rejection(claim: Claim, error: str, report: SendingReport) -> None:
    """The server refused the address for good; the coordinator sees it in the wave's summary."""
    invitation = db.session.get_one(Invitation, claim.invitation_id)
    invitation.status = DeliveryStatus.REJECTED
    invitation.last_error = error[:500]
    invitation.next_attempt_at = None
    db.session.commit()
    report.rejected += 1
    logger.warning(
        "invitation %s: the mail server refused the address: %s", claim.invitation_id, error
    )


def backoff(attempts: int) -> timedelta:
    """Wait 2, 4, 8 … minutes after each failed attempt, never more than an hour."""
    return min(timedelta(minutes=2 ** min(attempts, 10)), MAX_BACKOFF)


def _defer(claims: list[Claim], error: str, now: datetime, report: SendingReport) -> None:
    """The server is down or busy: try these again later, each a little later than before."""
    retry_at: datetime | None = None
    for claim in claims:
        invitation = db.session.get_one(Invitation, claim.invitation_id)
        invitation.attempts += 1
        invitation.last_error = error[:500]
        invitation.next_attempt_at = now + backoff(invitation.attempts)
        retry_at = min(retry_at or invitation.next_attempt_at, invitation.next_attempt_at)
    db.session.commit()
    report.deferred += len(claims)
    report.smtp_error = error
    report.retry_at = retry_at
    logger.warning(
        "the mail server could not take mail (%s); %s emails deferred until %s or later",
        error,
        len(claims),
        retry_at.isoformat() if retry_at else "later",
    )


# ---------------------------------------------------------------- the emails


def protection_sentence(locale: str) -> str:
    """How answers are protected, in one sentence, from this deployment's live settings."""
    return PROTECTION[_language(locale)].format(
        k=min_group_size(),
        comment_group=max(COMMENT_MIN_RESPONDENTS, min_group_size()),
        commenters=COMMENT_MIN_COMMENTERS,
    )


def _language(locale: str) -> str:
    return "es" if locale.lower().startswith("es") else "en"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_date(moment: datetime, time_zone: str, locale: str, *, with_time: bool = True) -> str:
    """``moment`` as the recipient reads it: their language, their time zone."""
    language = _language(locale)
    pattern = (_CLOSE_PATTERNS if with_time else _DAY_PATTERNS)[language]
    return format_datetime(
        moment, pattern, tzinfo=_zone(time_zone), locale=_BABEL_LOCALES[language]
    )


def survey_link(token: str) -> str:
    return f"{str(current_app.config['BASE_URL']).rstrip('/')}/s/{token}"


@dataclass(frozen=True)
class OneTapOption:
    """An answer to the wave's first question that opens the survey with it preselected."""

    label: str
    url: str


DONE_WORDS = {
    ("started", "en"): "started {day}",
    ("finished", "en"): "finished {day}",
    ("started", "es"): "se inició el {day}",
    ("finished", "es"): "se terminó el {day}",
}


@dataclass(frozen=True)
class DoneLine:
    """One "you said, we did" line as the email shows it."""

    title: str
    plan: str
    when: str
    unit_name: str


def _done_line(done: Done, language: str) -> DoneLine:
    day = format_date(done.on_date, format="d MMMM y", locale=language)
    return DoneLine(
        done.title, done.plan, DONE_WORDS[(done.what, language)].format(day=day), done.unit_name
    )


def compose(claim: Claim) -> Message:
    """The email for one claim, in the recipient's language, with its link and one-tap answers."""
    invitation = db.session.get_one(Invitation, claim.invitation_id)
    wave = invitation.wave
    person = invitation.person
    language = _language(invitation.locale)
    bank = current_bank()
    link = survey_link(claim.token)
    question = None
    options: list[OneTapOption] = []
    if wave.item_ids and wave.item_ids[0] in bank.items:
        first = bank.items[wave.item_ids[0]]
        question = first.text.get(language)
        options = [
            OneTapOption(option.label.get(language), f"{link}?a={option.value}")
            for option in bank.scale_of(first.id).options
        ]
    asked = survey.question_count(invitation)
    minutes = survey.estimated_minutes(asked)
    reminders = min(len(wave.program.reminder_days), MAX_REMINDERS)
    context = {
        "name": person.name,
        "program_name": wave.program.name,
        "question_count": asked,
        "minutes": minutes,
        "link": link,
        "question": question,
        "options": options,
        "protection": protection_sentence(language),
        "closes": local_date(wave.closes_at, person.time_zone, language),
        "window_days": wave.program.window_days,
        "reminders": reminders,
        "reminder_number": invitation.reminders_sent + 1,
        "last_reminder": invitation.reminders_sent + 1 >= reminders,
        "done": [_done_line(d, language) for d in actions.for_invitation(invitation, language)]
        if claim.kind is Kind.INVITATION
        else [],
    }
    subject = SUBJECTS[(claim.kind, language)].format(
        minutes=minutes,
        close_day=local_date(wave.closes_at, person.time_zone, language, with_time=False),
    )
    template = f"pulse/email/{claim.kind.value}.{language}"
    return Message(
        subject=subject,
        recipients=[(person.name, person.email) if person.name else person.email],
        body=render_template(f"{template}.txt", **context),
        html=render_template(f"{template}.html", **context),
        extra_headers={"Auto-Submitted": "auto-generated", "Content-Language": language},
    )


# ---------------------------------------------------------------- sending a wave now


def invite_now(wave: Wave, now: datetime | None = None) -> int:
    """Make a new wave's unsent invitations due at once; its window then runs from now."""
    now = now or utcnow()
    result = db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.wave_id == wave.id,
            Invitation.status == DeliveryStatus.PENDING,
            Invitation.next_attempt_at.is_not(None),
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    wave.closes_at = now + timedelta(days=wave.program.window_days)
    db.session.flush()
    return int(getattr(result, "rowcount", 0))
