"""Running the scheduler: stand by until this process holds the scheduler lock, then run the jobs.

One scheduler is active per database (see ``lock.py``); any other waits as hot standby, checking
the lock every heartbeat, and takes over when the active one dies. The active one renews its
lock every heartbeat and stops its jobs at once if it ever loses it. Jobs live in APScheduler's
persistent SQLAlchemy job store, reconciled against ``jobs.JOBS`` each time a process becomes
active, so their next run times survive restarts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, timedelta

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from wellbeing.config import ConfigError
from wellbeing.extensions import db
from wellbeing.processes import process_name, run_until_signalled
from wellbeing.scheduler import JOBS_TABLE, jobs
from wellbeing.scheduler.lock import SchedulerLock, lock_for
from wellbeing.types import utcnow

logger = logging.getLogger(__name__)

JOB_OPTIONS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}


class Scheduler:
    """One scheduler process: standby until it holds the lock, active while it does."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.holder = process_name()
        lease = float(app.config["SCHEDULER_LEASE_SECONDS"])
        self.heartbeat = float(app.config["SCHEDULER_HEARTBEAT_SECONDS"])
        if not 0 < self.heartbeat * 2 <= lease:
            raise ConfigError(
                "WELLBEING_SCHEDULER_HEARTBEAT_SECONDS must be positive and at most half of "
                "WELLBEING_SCHEDULER_LEASE_SECONDS, or the lease runs out between renewals"
            )
        self.lease = timedelta(seconds=lease)
        self.active = threading.Event()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Stand by or run the jobs until ``stop()`` is called; blocks the calling thread."""
        jobs.bind(self.app)
        with self.app.app_context():
            engine = db.engine
        lock = lock_for(engine, self.holder, self.lease)
        logger.info("scheduler %s started", self.holder)
        waiting_logged = False
        try:
            while not self._stopping.is_set():
                if self._try(lock.acquire):
                    try:
                        self._run_active(engine, lock)
                    except sa.exc.SQLAlchemyError as exc:
                        # Starting the job store failed (SQLite busy, the database restarting):
                        # keep the lock and try again, rather than end the process.
                        logger.error(
                            "scheduler %s could not start its jobs (%s); trying again in %s s",
                            self.holder,
                            type(exc).__name__,
                            self.heartbeat,
                        )
                        self._stopping.wait(self.heartbeat)
                    waiting_logged = False
                    continue
                if not waiting_logged:
                    logger.info(
                        "scheduler %s is standby while another scheduler runs the jobs; "
                        "checking again every %s s",
                        self.holder,
                        self.heartbeat,
                    )
                    waiting_logged = True
                self._stopping.wait(self.heartbeat)
        finally:
            lock.dispose()
            self._stopped.set()
            logger.info("scheduler %s stopped", self.holder)

    def _run_active(self, engine: sa.Engine, lock: SchedulerLock) -> None:
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
            executors={"default": ThreadPoolExecutor(len(jobs.JOBS))},
            job_defaults=JOB_OPTIONS,
            timezone=UTC,
        )
        scheduler.start(paused=True)
        try:
            declared = jobs.declared(self.app.config)
            reconcile(scheduler, declared)
            scheduler.resume()
            self.active.set()
            logger.info("scheduler %s is active", self.holder)
            if len(declared) < len(jobs.JOBS):
                logger.info(
                    "scheduler %s leaves sending email to the sender workers "
                    "(WELLBEING_SCHEDULER_SENDS is off)",
                    self.holder,
                )
            while not self._stopping.wait(self.heartbeat):
                if not self._try(lock.still_held):
                    logger.error(
                        "scheduler %s lost the scheduler lock; stopping its jobs", self.holder
                    )
                    break
        finally:
            self.active.clear()
            scheduler.shutdown(wait=True)

    def _try(self, check: Callable[[], bool]) -> bool:
        """Ask the lock; a database error counts as not holding it."""
        try:
            return bool(check())
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("scheduler lock check failed: %s", type(exc).__name__)
            return False

    def start(self) -> None:
        """Run in a background thread of this process."""
        self._thread = threading.Thread(target=self.run, name="wellbeing-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the scheduler to finish its running jobs, give up the lock and return."""
        self._stopping.set()

    def shutdown(self, timeout: float = 60) -> None:
        """Stop and wait until the scheduler has finished."""
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self._stopped.wait(timeout)


def reconcile(
    scheduler: BackgroundScheduler, declared: list[jobs.ScheduledJob] | None = None
) -> None:
    """Make the job store hold exactly the declared jobs, keeping unchanged ones' next run."""
    specs = jobs.JOBS if declared is None else declared
    wanted = {spec.id for spec in specs}
    for existing in scheduler.get_jobs():
        if existing.id not in wanted:
            scheduler.remove_job(existing.id)
            logger.info("removed job %s: it is not declared for this deployment", existing.id)
    for spec in specs:
        existing = scheduler.get_job(spec.id)
        if existing is not None and _unchanged(existing, spec):
            continue
        scheduler.add_job(
            spec.reference,
            trigger=IntervalTrigger(seconds=spec.every.total_seconds(), timezone=UTC),
            id=spec.id,
            name=spec.description,
            replace_existing=True,
            next_run_time=utcnow(),
            **JOB_OPTIONS,
        )
        logger.info("%s job %s", "updated" if existing else "added", spec.id)


def _unchanged(job: Job, spec: jobs.ScheduledJob) -> bool:
    trigger = job.trigger
    return (
        job.func_ref == spec.reference
        and job.name == spec.description
        and isinstance(trigger, IntervalTrigger)
        and trigger.interval == spec.every
        and all(getattr(job, option) == value for option, value in JOB_OPTIONS.items())
    )


def start_in_process(app: Flask) -> Scheduler:
    """Start the scheduler in a background thread of this process (the demo's way to run it)."""
    scheduler = Scheduler(app)
    scheduler.start()
    return scheduler


def run_in_foreground(app: Flask) -> None:
    """Run the scheduler in this thread until SIGINT or SIGTERM (``wellbeing scheduler``)."""
    scheduler = Scheduler(app)
    run_until_signalled(f"scheduler {scheduler.holder}", scheduler.run, scheduler.stop)
