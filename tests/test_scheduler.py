"""The scheduler's jobs, its persistent job list and its lock, run in this process."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.util import ref_to_obj
from flask import Flask

from tests import pulse_helpers as h
from tests.scheduler_helpers import with_recorded_releases
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import PulseProgram, SchedulerLease, Wave, WaveStatus
from wellbeing.releases.models import Release
from wellbeing.responses import service as answers
from wellbeing.responses.models import Response, Submission
from wellbeing.scheduler import JOBS_TABLE, jobs
from wellbeing.scheduler.lock import AdvisoryLock, LeaseLock
from wellbeing.scheduler.runner import reconcile, start_in_process

BACKEND = os.environ.get("WELLBEING_TEST_DB", "sqlite")
DECLARED = [
    "open_due_waves",
    "send_invitations",
    "close_due_waves",
    "flush_buffer",
    "apply_retention",
]


def test_jobs_are_declared_once_with_stable_ids() -> None:
    assert [spec.id for spec in jobs.JOBS] == DECLARED
    for spec in jobs.JOBS:
        assert ref_to_obj(spec.reference) is spec.run
        assert spec.description and spec.every >= timedelta(minutes=1)


@pytest.fixture
def paused_scheduler(committed_app: Flask) -> Iterator[BackgroundScheduler]:
    """APScheduler on the real job store, never running anything; emptied afterwards."""
    with committed_app.app_context():
        store = SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE)
        scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
        scheduler.start(paused=True)
        scheduler.remove_all_jobs()
        try:
            yield scheduler
        finally:
            scheduler.remove_all_jobs()
            scheduler.shutdown(wait=False)


def test_reconcile_adds_declared_jobs_replaces_changed_ones_and_removes_unknown_ones(
    paused_scheduler: BackgroundScheduler,
) -> None:
    flush = "wellbeing.scheduler.jobs:flush_buffer"
    paused_scheduler.add_job(flush, "interval", minutes=99, id="flush_buffer")
    paused_scheduler.add_job(flush, "interval", hours=1, id="weekly_digest")

    reconcile(paused_scheduler)

    stored = {job.id: job for job in paused_scheduler.get_jobs()}
    assert sorted(stored) == sorted(DECLARED)
    assert stored["flush_buffer"].trigger.interval == timedelta(minutes=15)
    for job in stored.values():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT id FROM {JOBS_TABLE}")).scalars().all()  # noqa: S608 - the scheduler's own table name
    assert sorted(rows) == sorted(DECLARED)

    # Unchanged jobs keep their next run time across restarts.
    before = {job.id: job.next_run_time for job in paused_scheduler.get_jobs()}
    reconcile(paused_scheduler)
    assert {job.id: job.next_run_time for job in paused_scheduler.get_jobs()} == before


def test_with_scheduler_sends_off_the_store_drops_sending_and_gets_it_back_when_on(
    paused_scheduler: BackgroundScheduler,
) -> None:
    reconcile(paused_scheduler, jobs.declared({"SCHEDULER_SENDS": True}))
    assert "send_invitations" in {job.id for job in paused_scheduler.get_jobs()}

    reconcile(paused_scheduler, jobs.declared({"SCHEDULER_SENDS": False}))
    stored = sorted(job.id for job in paused_scheduler.get_jobs())
    assert stored == sorted(set(DECLARED) - {"send_invitations"})

    reconcile(paused_scheduler, jobs.declared({"SCHEDULER_SENDS": True}))
    assert sorted(job.id for job in paused_scheduler.get_jobs()) == sorted(DECLARED)


def test_open_due_waves_job_opens_the_wave_that_is_due(app: Flask) -> None:
    h.staff("North", 5)
    program = h.program()
    day = pulse.first_wave_date(program)
    jobs.open_due_waves(now=datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
    wave = pulse.latest_wave(program)
    assert wave is not None and wave.status is WaveStatus.OPEN


def _answer_five(wave: Wave) -> None:
    for invitation_id in db.session.scalars(
        sa.text("SELECT id FROM invitation WHERE wave_id = :w ORDER BY id LIMIT 5"),
        {"w": wave.id},
    ):
        checked = answers.check_answers(wave, {item: "3" for item in wave.item_ids}, None)
        answers.submit(invitation_id, checked)


def _count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_close_due_waves_closes_writes_the_answers_and_releases(app: Flask) -> None:
    wave = h.open_wave(n_north=6)
    _answer_five(wave)

    jobs.close_due_waves(now=wave.closes_at - timedelta(minutes=1))
    assert wave.status is WaveStatus.OPEN
    jobs.close_due_waves(now=wave.closes_at)

    assert wave.status is WaveStatus.RELEASED and wave.closed_at == wave.closes_at
    assert (_count(Response), _count(Submission)) == (5, 0)
    assert _count(Release) == 1


def test_the_release_step_runs_once_per_closed_wave_and_catches_up(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    early = h.open_wave(n_north=6)
    pulse.close_wave(early, early.closes_at)  # closed by a run that died before releasing it
    later = pulse.open_wave(early.program, early.closes_at)

    released = with_recorded_releases(monkeypatch)

    jobs.close_due_waves(now=later.closes_at)
    jobs.close_due_waves(now=later.closes_at + timedelta(minutes=5))
    assert sorted(released) == sorted([early.id, later.id])


def test_a_failing_job_rolls_back_what_it_did(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def half_done(now: datetime | None = None) -> list[Wave]:
        db.session.add(PulseProgram(key="half", name="Half done"))
        db.session.flush()
        raise RuntimeError("the database went away")

    monkeypatch.setattr(pulse, "open_due_waves", half_done)
    with pytest.raises(RuntimeError):
        jobs.open_due_waves()
    assert _count(PulseProgram) == 0


def test_the_lease_is_held_by_one_process_until_it_expires(committed_app: Flask) -> None:
    clock = [datetime(2026, 3, 3, 12, tzinfo=UTC)]
    with committed_app.app_context():
        engine = db.engine
    first = LeaseLock(engine, "first", timedelta(seconds=30), clock=lambda: clock[0])
    second = LeaseLock(engine, "second", timedelta(seconds=30), clock=lambda: clock[0])

    assert first.acquire()
    assert not second.acquire()
    clock[0] += timedelta(seconds=20)
    assert first.still_held()  # renewed until 12:00:50
    clock[0] += timedelta(seconds=20)
    assert not second.acquire()
    clock[0] += timedelta(seconds=11)  # the first stopped renewing: its lease has run out
    assert second.acquire()
    assert not first.still_held()
    second.release()
    assert first.acquire()
    first.release()


@pytest.mark.skipif(BACKEND != "postgres", reason="advisory locks are PostgreSQL's")
def test_the_advisory_lock_admits_one_session(committed_app: Flask) -> None:
    with committed_app.app_context():
        engine = db.engine
    first, second = AdvisoryLock(engine), AdvisoryLock(engine)
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.still_held()
        first.release()
        assert second.acquire()
    finally:
        first.dispose()
        second.dispose()


def test_start_in_process_runs_the_jobs_until_shutdown(committed_app: Flask) -> None:
    committed_app.config.update(SCHEDULER_HEARTBEAT_SECONDS=0.1, SCHEDULER_LEASE_SECONDS=5)
    scheduler = start_in_process(committed_app)
    try:
        assert scheduler.active.wait(15), "the scheduler did not become active"
        if BACKEND == "sqlite":
            with committed_app.app_context():
                lease = db.session.get(SchedulerLease, "scheduler")
                assert lease is not None and lease.holder == scheduler.holder
    finally:
        scheduler.shutdown()
    assert not scheduler.active.is_set()
    with committed_app.app_context():
        assert db.session.get(SchedulerLease, "scheduler") is None  # given up for the next one
        deadline = time.monotonic() + 5
        stored: list[str] = []
        while time.monotonic() < deadline and sorted(stored) != sorted(DECLARED):
            stored = list(db.session.scalars(sa.text(f"SELECT id FROM {JOBS_TABLE}")))  # noqa: S608 - the scheduler's own table name
        assert sorted(stored) == sorted(DECLARED)
