"""Every periodic job, declared once in ``JOBS`` with a stable id (reconciled at start).

Each job is a module-level function taking no app objects: it runs in an app context (the
scheduler's app, bound with ``bind``), commits once at its end and rolls back on error. APScheduler
never overlaps a job with itself (``max_instances=1``) and runs a late job once (``coalesce``).
Every job is idempotent, so a restart, a second scheduler or a retried run cannot repeat work.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ParamSpec

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from wellbeing.extensions import db
from wellbeing.pulse import mailer
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Wave, WaveStatus
from wellbeing.releases import service as releases
from wellbeing.releases.models import Release
from wellbeing.responses import service as answers
from wellbeing.retention import service as retention
from wellbeing.retention.models import RunTrigger

logger = logging.getLogger(__name__)

P = ParamSpec("P")

_bound: dict[str, Flask] = {}


def bind(app: Flask) -> None:
    """Run jobs in ``app`` when APScheduler calls them outside any app context."""
    _bound["app"] = app


def _app() -> Flask:
    if has_app_context():
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        return app
    if "app" not in _bound:
        raise RuntimeError("no app is bound to the scheduler jobs; call jobs.bind(app) first")
    return _bound["app"]


def job(func: Callable[P, None]) -> Callable[P, None]:
    """Run ``func`` as one unit of work in an app context: commit at its end, roll back on error."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        if has_app_context():
            _unit_of_work(func, *args, **kwargs)
            return
        with _app().app_context():
            _unit_of_work(func, *args, **kwargs)

    return run


def _unit_of_work(func: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> None:
    try:
        func(*args, **kwargs)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        logger.exception("job %s failed; its open transaction was rolled back", func.__name__)
        raise


# ---------------------------------------------------------------- the jobs


@job
def open_due_waves(now: datetime | None = None) -> None:
    """Open every program's wave whose day has come, with its invitations."""
    for wave in pulse.open_due_waves(now):
        logger.info("opened wave %s (%s #%s)", wave.id, wave.program.key, wave.sequence)


@job
def send_invitations(now: datetime | None = None) -> None:
    """Send the invitations and reminders that are due (the mailer commits per message)."""
    mailer.send_due(now)


@job
def close_due_waves(now: datetime | None = None) -> None:
    """Close waves whose window has ended, write their answers, then release them."""
    for wave in pulse.waves_due_to_close(now):
        close_and_release(wave.id, now)
    release_closed_waves()


@job
def flush_buffer() -> None:
    """Write any answers still buffered for closed waves (recovers an interrupted close)."""
    answers.flush_buffer()


@job
def apply_retention(now: datetime | None = None) -> None:
    """Delete the raw answers of released waves past the retention period (each wave commits)."""
    retention.run_retention(now=now, trigger=RunTrigger.SCHEDULER)


# ---------------------------------------------------------------- closing, step by step


def close_and_release(wave_id: int, now: datetime | None = None) -> Wave:
    """Close a wave, write its buffered answers, then release it: three transactions.

    Writing the answers must never share a transaction with invitation updates, so each step
    commits before the next. Safe to repeat: a closed wave is not closed again, an empty
    buffer writes nothing, and a wave is released once.
    """
    close_and_write_answers(wave_id, now)
    release(wave_id)
    return pulse.get_wave(wave_id)


def close_and_write_answers(wave_id: int, now: datetime | None = None) -> Wave:
    """Close the wave if it is open (commit), then write its buffered answers (commit)."""
    wave = pulse.get_wave(wave_id)
    if wave.status is WaveStatus.OPEN:
        pulse.close_wave(wave, now)
        db.session.commit()
    written = answers.flush_buffer(wave_id)
    db.session.commit()
    if written:
        logger.info("wrote %s answers of wave %s", written, wave_id)
    return pulse.get_wave(wave_id)


def release(wave_id: int) -> bool:
    """Compute a closed wave's release if none exists yet; False when there was nothing to do."""
    wave = pulse.get_wave(wave_id)
    already = db.session.scalar(sa.select(Release.id).where(Release.wave_id == wave_id).limit(1))
    if wave.status is not WaveStatus.CLOSED or already is not None:
        return False
    releases.compute_release(wave)
    db.session.commit()
    logger.info("released wave %s", wave_id)
    return True


def release_closed_waves() -> None:
    """Release closed waves a failed or interrupted close left without a release."""
    waiting = db.session.scalars(
        sa.select(Wave.id)
        .where(
            Wave.status == WaveStatus.CLOSED,
            ~sa.exists().where(Release.wave_id == Wave.id),
        )
        .order_by(Wave.id)
    ).all()
    for wave_id in waiting:
        answers.flush_buffer(wave_id)
        db.session.commit()
        release(wave_id)


# ---------------------------------------------------------------- the list


@dataclass(frozen=True)
class ScheduledJob:
    """A periodic job: its stable id, what it runs and how often."""

    id: str
    run: Callable[..., None]
    every: timedelta

    @property
    def reference(self) -> str:
        """The textual reference the persistent job store keeps instead of the function."""
        return f"{self.run.__module__}:{self.run.__qualname__}"

    @property
    def description(self) -> str:
        return (self.run.__doc__ or self.id).strip().splitlines()[0]


JOBS: list[ScheduledJob] = [
    ScheduledJob("open_due_waves", open_due_waves, timedelta(minutes=5)),
    ScheduledJob("send_invitations", send_invitations, timedelta(minutes=1)),
    ScheduledJob("close_due_waves", close_due_waves, timedelta(minutes=5)),
    ScheduledJob("flush_buffer", flush_buffer, timedelta(minutes=15)),
    ScheduledJob("apply_retention", apply_retention, timedelta(days=1)),
]

# The job that ``WELLBEING_SCHEDULER_SENDS=false`` leaves to ``wellbeing sender`` workers.
SENDING_JOB = "send_invitations"


def declared(config: Mapping[str, Any]) -> list[ScheduledJob]:
    """The jobs this deployment's scheduler runs: all of them, or all but sending."""
    if config.get("SCHEDULER_SENDS", True):
        return list(JOBS)
    return [spec for spec in JOBS if spec.id != SENDING_JOB]
