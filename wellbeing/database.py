"""Engine settings that make SQLite behave like a real transactional database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from flask import Flask, has_request_context, request

from wellbeing.extensions import db

# Set while a unit of work outside a request (a sender's claim) must write after it reads.
_writing: ContextVar[bool] = ContextVar("writing", default=False)


@contextmanager
def write_lock() -> Iterator[None]:
    """Begin a transaction started in this block with SQLite's write lock (no-op elsewhere)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def configure_engine(app: Flask) -> None:
    """Turn on SQLite's foreign keys and proper BEGIN/SAVEPOINT handling."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see the
        # "Serializable isolation / Savepoints" notes in SQLAlchemy's SQLite dialect docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A request that reads and then writes (posting answers, signing in) cannot wait for
        # another worker's write once its snapshot is stale: SQLite refuses at once. Taking the
        # write lock up front makes such requests queue on busy_timeout instead. GETs never
        # write, so they keep reading concurrently.
        writing = _writing.get() or (
            has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        )
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
