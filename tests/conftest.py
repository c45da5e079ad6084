"""Fixtures: an app on SQLite or PostgreSQL, each test inside a transaction rolled back at its end."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade

from wellbeing import create_app
from wellbeing.extensions import db

BACKEND = os.environ.get("WELLBEING_TEST_DB", "sqlite")

# The real SMTP server on loopback (``smtp_server``) that mail tests send to.
pytest_plugins = ["tests.smtp"]


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if BACKEND == "postgres":
        url = os.environ.get("WELLBEING_TEST_DATABASE_URL")
        if not url:
            pytest.exit(
                "WELLBEING_TEST_DB=postgres needs WELLBEING_TEST_DATABASE_URL", returncode=2
            )
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def _reset_database(url: str) -> None:
    """An empty database: PostgreSQL's public schema dropped, or a fresh SQLite file."""
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


def test_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "WELLBEING_ENV": "testing",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "http://pulse.test",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 9,  # discard: a test that would really send must start its own server
        "RATELIMIT_ENABLED": True,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    """The test database, created by running every migration (as `wellbeing db upgrade` does)."""
    _reset_database(database_url)
    app = create_app(test_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture
def app(migrated: str) -> Iterator[Flask]:
    """An app whose every query runs in one transaction, rolled back after the test."""
    with rolled_back(create_app(test_config(migrated))) as app:
        yield app


@contextmanager
def rolled_back(app: Flask) -> Iterator[Flask]:
    """``app`` in its context, every query in one transaction that is rolled back at the end.

    Flask-SQLAlchemy picks the engine per model, so the engine itself is swapped for a
    connection holding the outer transaction; commits become savepoint releases.
    """
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection  # type: ignore[assignment]
        original = db.session
        db.session = db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        try:
            yield app
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()
            engines[None] = engine
            engine.dispose()


@pytest.fixture
def committed_app(migrated: str) -> Iterator[Flask]:
    """An app whose writes really commit (for other threads and processes); emptied afterwards."""
    with emptied_afterwards(create_app(test_config(migrated))) as app:
        yield app


@contextmanager
def emptied_afterwards(app: Flask) -> Iterator[Flask]:
    """``app`` as it is, its writes really committed; every table emptied at the end."""
    try:
        yield app
    finally:
        _empty_tables(app)


def _empty_tables(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # units refer to units
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def surveys_copy(tmp_path: Path) -> Path:
    """A writable copy of the real ``surveys/`` folder, for tests that break it on purpose."""
    target = tmp_path / "surveys"
    shutil.copytree(Path(__file__).resolve().parent.parent / "surveys", target)
    return target
