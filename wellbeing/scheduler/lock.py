"""The scheduler lock: which one scheduler process may run jobs against a database.

PostgreSQL: a session-level advisory lock, taken with ``pg_try_advisory_lock`` on a connection
kept open for as long as the process is active; the database frees it when that connection
dies, whatever killed the process. SQLite (one machine): a lease row renewed by a heartbeat;
another process takes over once the lease has expired.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from wellbeing.pulse.models import SchedulerLease
from wellbeing.types import utcnow

logger = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
# A fixed 64-bit key for pg_try_advisory_lock, derived from a name so it is easy to recognise.
ADVISORY_KEY = int.from_bytes(
    hashlib.sha256(b"wellbeing-pulse:scheduler").digest()[:8], "big", signed=True
)


class SchedulerLock(Protocol):
    """Held by at most one scheduler process per database."""

    def acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it."""

    def still_held(self) -> bool:
        """Renew or check the lock; False means this process must stop running jobs."""

    def release(self) -> None:
        """Give the lock up (if held) so a standby can take over at once."""


class AdvisoryLock:
    """PostgreSQL advisory lock on a dedicated connection held for the process's active life."""

    def __init__(self, engine: sa.Engine) -> None:
        # Its own engine without a pool: the connection is never recycled or shared.
        self._engine = sa.create_engine(
            engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        self._connection: sa.Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            return self.still_held()
        connection = self._engine.connect()
        try:
            got = bool(
                connection.scalar(
                    sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
                )
            )
        except BaseException:
            connection.close()
            raise
        if got:
            self._connection = connection
        else:
            connection.close()
        return got

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            # Session-level advisory locks last as long as the session: alive means held.
            self._connection.scalar(sa.text("SELECT 1"))
        except sa.exc.DBAPIError as exc:
            logger.error("lost the scheduler lock's database connection: %s", type(exc).__name__)
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        # If the session is already gone, so is the lock.
        with contextlib.suppress(sa.exc.DBAPIError):
            self._connection.scalar(
                sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
            )
        self._drop()

    def dispose(self) -> None:
        self.release()
        self._engine.dispose()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):  # already broken: nothing to free
                connection.close()


class LeaseLock:
    """A lease row (``scheduler_lease``): held while renewed, free once ``expires_at`` passes."""

    def __init__(
        self,
        engine: sa.Engine,
        holder: str,
        duration: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self.holder = holder
        self.duration = duration
        self._clock = clock

    def acquire(self) -> bool:
        now = self._clock()
        try:
            with self._engine.begin() as conn:
                taken = conn.execute(
                    sa.update(SchedulerLease)
                    .where(
                        SchedulerLease.name == LOCK_NAME,
                        sa.or_(
                            SchedulerLease.holder == self.holder, SchedulerLease.expires_at <= now
                        ),
                    )
                    .values(holder=self.holder, expires_at=now + self.duration)
                ).rowcount
                if taken:
                    return True
                exists = conn.scalar(
                    sa.select(SchedulerLease.name).where(SchedulerLease.name == LOCK_NAME)
                )
                if exists is not None:
                    return False
                conn.execute(
                    sa.insert(SchedulerLease).values(
                        name=LOCK_NAME, holder=self.holder, expires_at=now + self.duration
                    )
                )
            return True
        except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            # Another process wrote the row at the same moment (or holds the database): it won.
            logger.debug("the scheduler lease is busy: %s", type(exc).__name__)
            return False

    def still_held(self) -> bool:
        now = self._clock()
        try:
            with self._engine.begin() as conn:
                renewed = conn.execute(
                    sa.update(SchedulerLease)
                    .where(
                        SchedulerLease.name == LOCK_NAME,
                        SchedulerLease.holder == self.holder,
                        SchedulerLease.expires_at > now,
                    )
                    .values(expires_at=now + self.duration)
                ).rowcount
        except sa.exc.OperationalError as exc:
            # The database was busy this once: carry on while the lease still has time left.
            logger.warning("could not renew the scheduler lease: %s", type(exc).__name__)
            return self._unexpired(now)
        return bool(renewed)

    def _unexpired(self, now: datetime) -> bool:
        try:
            with self._engine.connect() as conn:
                row = conn.execute(
                    sa.select(SchedulerLease.holder, SchedulerLease.expires_at).where(
                        SchedulerLease.name == LOCK_NAME
                    )
                ).first()
        except sa.exc.OperationalError:
            return False
        margin = timedelta(seconds=1)
        return row is not None and row.holder == self.holder and row.expires_at > now + margin

    def release(self) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    sa.delete(SchedulerLease).where(
                        SchedulerLease.name == LOCK_NAME, SchedulerLease.holder == self.holder
                    )
                )
        except sa.exc.OperationalError as exc:
            logger.warning("could not give the scheduler lease up: %s", type(exc).__name__)

    def dispose(self) -> None:
        self.release()


def lock_for(engine: sa.Engine, holder: str, lease: timedelta) -> AdvisoryLock | LeaseLock:
    """The lock that fits the database: an advisory lock on PostgreSQL, a lease elsewhere."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    return LeaseLock(engine, holder, lease)
