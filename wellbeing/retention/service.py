"""Retention: delete the raw answers of released waves once their retention period has passed.

A released wave whose close is more than ``RETENTION_DAYS`` days ago loses its responses, their
answers, its comments and anything still buffered; its release (cells and released comments)
stays as it is, so every page, export and API answer reads the same before and after.

Two kinds of wave keep their raw answers whatever their age: a wave without a release (deleting
would lose it for good), and a wave whose program's next wave is not released yet (that release
compares with this wave's answers and checks who joined or left since). Each wave is deleted in
a transaction of its own, so none is ever left half deleted; every run that is not a dry run is
recorded with what it deleted (``RetentionRun``, ``WaveDeletion``) and logged.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from wellbeing.config import DEFAULT_RETENTION_DAYS
from wellbeing.extensions import db
from wellbeing.pulse.models import Wave, WaveStatus
from wellbeing.releases.models import Release
from wellbeing.responses import service as answers
from wellbeing.responses.service import RawCounts
from wellbeing.retention.models import RetentionRun, RunTrigger, WaveDeletion
from wellbeing.types import utcnow

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]


class Outcome(enum.StrEnum):
    """What retention did, or would do, with one wave past its retention period."""

    DELETED = "deleted"
    WOULD_DELETE = "would delete"
    KEPT_UNRELEASED = "kept: no release"
    KEPT_FOR_NEXT_WAVE = "kept: next wave not released"
    ALREADY_DELETED = "already deleted"
    FAILED = "failed"


KEPT = {Outcome.KEPT_UNRELEASED, Outcome.KEPT_FOR_NEXT_WAVE}


@dataclass(frozen=True)
class WaveRetention:
    """One wave past its retention period and what became of its raw answers."""

    wave_id: int
    program_key: str
    sequence: int
    closed_on: date
    outcome: Outcome
    counts: RawCounts | None = None
    detail: str = ""

    @property
    def label(self) -> str:
        return f"wave {self.wave_id} ({self.program_key} #{self.sequence}, closed {self.closed_on})"


@dataclass
class RetentionReport:
    """What one run (or dry run) did, wave by wave."""

    days: int
    cutoff: datetime | None
    dry_run: bool
    run_id: int | None = None
    waves: list[WaveRetention] = field(default_factory=list)

    def having(self, *outcomes: Outcome) -> list[WaveRetention]:
        return [w for w in self.waves if w.outcome in outcomes]

    @property
    def totals(self) -> RawCounts:
        return _sum(w.counts for w in self.having(Outcome.DELETED, Outcome.WOULD_DELETE))


@dataclass(frozen=True)
class RetentionStatus:
    """Where retention stands: the setting, what is due or kept now, what was deleted before."""

    days: int
    cutoff: datetime | None
    due: list[WaveRetention]
    kept: list[WaveRetention]
    deleted_waves: int
    deleted: RawCounts
    next_due: tuple[WaveRetention, date] | None
    runs: list[RetentionRun]


def retention_days() -> int:
    """The deployment's retention period in days; 0 keeps raw answers for ever."""
    return int(current_app.config.get("RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def closed_at(wave: Wave) -> datetime:
    """When a wave stopped taking answers: its window's end, or later if it was closed late."""
    if wave.closed_at is not None and wave.closed_at > wave.closes_at:
        return wave.closed_at
    return wave.closes_at


def deletion_of(wave_id: int) -> WaveDeletion | None:
    """The record of a wave's raw answers being deleted, or None while they are kept."""
    return db.session.scalar(sa.select(WaveDeletion).where(WaveDeletion.wave_id == wave_id))


def _is_released(wave: Wave) -> bool:
    if wave.status is not WaveStatus.RELEASED:
        return False
    return (
        db.session.scalar(sa.select(Release.id).where(Release.wave_id == wave.id).limit(1))
        is not None
    )


def _judge(wave: Wave) -> tuple[Outcome, str]:
    """Whether a wave past its period may lose its raw answers now, and if not, why not."""
    if not _is_released(wave):
        if wave.status is WaveStatus.OPEN:
            why = "it is still open, so it has no release yet"
        else:
            why = f"it has no release yet (compute one with: wellbeing release compute {wave.id})"
        return Outcome.KEPT_UNRELEASED, f"{why}; deleting its answers would lose them"
    following = db.session.scalar(
        sa.select(Wave).where(
            Wave.program_id == wave.program_id, Wave.sequence == wave.sequence + 1
        )
    )
    if following is not None and not _is_released(following):
        return Outcome.KEPT_FOR_NEXT_WAVE, (
            f"its program's next wave {following.id} is not released yet, and that release "
            "compares with this wave's answers"
        )
    return Outcome.WOULD_DELETE, ""


def _summary(
    wave: Wave, outcome: Outcome, counts: RawCounts | None = None, detail: str = ""
) -> WaveRetention:
    return WaveRetention(
        wave_id=wave.id,
        program_key=wave.program.key,
        sequence=wave.sequence,
        closed_on=closed_at(wave).date(),
        outcome=outcome,
        counts=counts,
        detail=detail,
    )


def _past_period(cutoff: datetime) -> list[Wave]:
    """Waves that closed before ``cutoff`` and still hold their raw answers, oldest first."""
    waves = db.session.scalars(
        sa.select(Wave)
        .where(Wave.closes_at < cutoff, ~sa.exists().where(WaveDeletion.wave_id == Wave.id))
        .order_by(Wave.closes_at, Wave.id)
    )
    return [wave for wave in waves if closed_at(wave) < cutoff]


def _sum(counts: Iterable[RawCounts | None]) -> RawCounts:
    total = RawCounts()
    for c in counts:
        if c is not None:
            total = RawCounts(
                total.responses + c.responses,
                total.answers + c.answers,
                total.comments + c.comments,
                total.submissions + c.submissions,
            )
    return total


# ---------------------------------------------------------------- running


def waves_past_period(now: datetime | None = None) -> int:
    """How many waves a run would look at now (for a progress bar)."""
    days = retention_days()
    if days == 0:
        return 0
    return len(_past_period((now or utcnow()) - timedelta(days=days)))


def run_retention(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    trigger: RunTrigger = RunTrigger.COMMAND,
    progress: Progress | None = None,
) -> RetentionReport:
    """Delete (or, for a dry run, count) the raw answers of every wave past its period.

    Shared by ``wellbeing retention run`` and the scheduler's daily job. The wave is the unit of
    work: each deletion commits on its own with its record, and a failure rolls back only that
    wave, which keeps all its rows and is tried again on the next run.
    """
    days = retention_days()
    if days == 0:
        logger.debug("retention is off: raw answers are kept")
        return RetentionReport(days=0, cutoff=None, dry_run=dry_run)
    started = now or utcnow()
    cutoff = started - timedelta(days=days)
    report = RetentionReport(days=days, cutoff=cutoff, dry_run=dry_run)
    if not dry_run:
        report.run_id = _start_run(trigger, days, cutoff, started)
    for wave in _past_period(cutoff):
        outcome, detail = _judge(wave)
        if outcome in KEPT:
            report.waves.append(_summary(wave, outcome, detail=detail))
            if report.run_id is not None:
                logger.warning(
                    "retention: wave %s closed on %s, more than %s days ago, but keeps its raw "
                    "answers: %s",
                    wave.id,
                    closed_at(wave).date(),
                    days,
                    detail,
                )
        elif report.run_id is None:
            report.waves.append(_summary(wave, outcome, answers.raw_counts(wave.id)))
        else:
            report.waves.append(_delete_in_own_transaction(wave.id, report.run_id, started))
        if progress is not None:
            progress(1)
    if report.run_id is not None:
        _finish(report.run_id, report, utcnow() if now is None else now)
    return report


def _write_next() -> None:
    """End the reads so far, so the transaction that follows starts with its write.

    SQLite then waits for its write lock (busy timeout) instead of failing because another
    process wrote after this one's reads began.
    """
    db.session.commit()


def _start_run(trigger: RunTrigger, days: int, cutoff: datetime, started: datetime) -> int:
    _write_next()
    run = RetentionRun(trigger=trigger, retention_days=days, cutoff=cutoff, started_at=started)
    db.session.add(run)
    db.session.flush()
    run_id: int = run.id
    db.session.commit()
    logger.info(
        "retention run %s (%s): deleting the raw answers of released waves closed before %s "
        "(%s days)",
        run_id,
        trigger.value,
        f"{cutoff:%Y-%m-%d %H:%M} UTC",
        days,
    )
    return run_id


def _delete_in_own_transaction(wave_id: int, run_id: int, now: datetime) -> WaveRetention:
    _write_next()
    try:
        result = _delete_wave(wave_id, run_id, now)
        if result.outcome is Outcome.DELETED:
            db.session.commit()
        else:
            db.session.rollback()
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        if deletion_of(wave_id) is not None:
            # Another run recorded this wave's deletion first; ours changed nothing.
            return _summary(
                db.session.get_one(Wave, wave_id),
                Outcome.ALREADY_DELETED,
                detail="another retention run deleted it at the same time",
            )
        logger.exception(
            "retention: deleting the raw answers of wave %s failed; nothing of it was deleted, "
            "and the next run tries again",
            wave_id,
        )
        return _summary(
            db.session.get_one(Wave, wave_id),
            Outcome.FAILED,
            detail=f"the database refused ({type(exc).__name__}); nothing of it was deleted",
        )
    except BaseException:
        db.session.rollback()
        raise
    return result


def _delete_wave(wave_id: int, run_id: int, now: datetime) -> WaveRetention:
    """Delete one wave's raw answers and record it, in the caller's transaction."""
    # The record first: on SQLite it takes the write lock, and its unique wave_id stops a
    # second run (waiting for this one on PostgreSQL) before it deletes anything.
    record = WaveDeletion(run_id=run_id, wave_id=wave_id, deleted_at=now)
    db.session.add(record)
    db.session.flush()
    # Locked (on PostgreSQL) so a release recompute cannot read the answers half deleted.
    wave = db.session.scalars(
        sa.select(Wave)
        .where(Wave.id == wave_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    outcome, detail = _judge(wave)
    if outcome in KEPT:
        return _summary(wave, outcome, detail=detail)
    if db.session.get_bind().dialect.name == "sqlite":
        # Overwrite the freed pages instead of leaving the answers readable in the file.
        db.session.execute(sa.text("PRAGMA secure_delete = ON"))
    counts = answers.delete_raw_answers(wave_id)
    record.responses = counts.responses
    record.answers = counts.answers
    record.comments = counts.comments
    record.submissions = counts.submissions
    db.session.flush()
    logger.info(
        "retention: deleted the raw answers of wave %s (%s #%s, closed %s): %s responses, "
        "%s answers, %s comments, %s buffered submissions; its release is kept",
        wave.id,
        wave.program.key,
        wave.sequence,
        closed_at(wave).date(),
        counts.responses,
        counts.answers,
        counts.comments,
        counts.submissions,
    )
    return _summary(wave, Outcome.DELETED, counts)


def _finish(run_id: int, report: RetentionReport, finished: datetime) -> None:
    deleted = len(report.having(Outcome.DELETED))
    kept = len(report.having(*KEPT))
    failed = len(report.having(Outcome.FAILED))
    _write_next()
    db.session.execute(
        sa.update(RetentionRun)
        .where(RetentionRun.id == run_id)
        .values(waves_deleted=deleted, waves_kept=kept, waves_failed=failed, finished_at=finished)
    )
    db.session.commit()
    totals = report.totals
    logger.info(
        "retention run %s finished: raw answers of %s waves deleted (%s responses, %s answers, "
        "%s comments, %s buffered submissions), %s waves kept, %s failed",
        run_id,
        deleted,
        totals.responses,
        totals.answers,
        totals.comments,
        totals.submissions,
        kept,
        failed,
    )


# ---------------------------------------------------------------- status


def retention_status(now: datetime | None = None, recent_runs: int = 10) -> RetentionStatus:
    """The setting, waves due or kept now, what earlier runs deleted, and the latest runs."""
    days = retention_days()
    now = now or utcnow()
    cutoff = now - timedelta(days=days) if days else None
    due: list[WaveRetention] = []
    kept: list[WaveRetention] = []
    for wave in _past_period(cutoff) if cutoff else []:
        outcome, detail = _judge(wave)
        if outcome in KEPT:
            kept.append(_summary(wave, outcome, detail=detail))
        else:
            due.append(_summary(wave, outcome, answers.raw_counts(wave.id)))
    deletions = list(db.session.scalars(sa.select(WaveDeletion)))
    runs = list(
        db.session.scalars(
            sa.select(RetentionRun)
            .order_by(RetentionRun.started_at.desc(), RetentionRun.id.desc())
            .limit(recent_runs)
        )
    )
    return RetentionStatus(
        days=days,
        cutoff=cutoff,
        due=due,
        kept=kept,
        deleted_waves=len(deletions),
        deleted=_sum(
            RawCounts(d.responses, d.answers, d.comments, d.submissions) for d in deletions
        ),
        next_due=_next_due(days, cutoff),
        runs=runs,
    )


def _next_due(days: int, cutoff: datetime | None) -> tuple[WaveRetention, date] | None:
    """The released wave whose raw answers come due next, and the day they do."""
    if cutoff is None:
        return None
    waves = db.session.scalars(
        sa.select(Wave)
        .where(
            Wave.status == WaveStatus.RELEASED,
            ~sa.exists().where(WaveDeletion.wave_id == Wave.id),
        )
        .order_by(Wave.closes_at, Wave.id)
    )
    upcoming = [wave for wave in waves if closed_at(wave) >= cutoff]
    if not upcoming:
        return None
    wave = min(upcoming, key=closed_at)
    return _summary(wave, Outcome.WOULD_DELETE), (closed_at(wave) + timedelta(days=days)).date()
