"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from wellbeing.extensions import db
from wellbeing.resources import resource_dir
from wellbeing.scheduler import include_in_migrations


def test_models_and_migrations_agree(app: Flask) -> None:
    context = MigrationContext.configure(
        db.session.connection(),
        opts={"compare_type": True, "include_object": include_in_migrations},
    )
    differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_db_upgrade_is_idempotent(committed_app: Flask) -> None:
    runner = committed_app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with committed_app.app_context(), db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    script = ScriptDirectory(str(resource_dir("migrations")))
    assert current == script.get_current_head()


def test_privacy_invariants_are_database_constraints(app: Flask) -> None:
    inspector = sa.inspect(db.session.connection())
    response_columns = {c["name"] for c in inspector.get_columns("response")}
    invitation_columns = {c["name"] for c in inspector.get_columns("invitation")}
    assert response_columns == {"id", "wave_id", "unit_id", "cuts"}
    shared = (response_columns & invitation_columns) - {"id", "wave_id", "unit_id"}
    assert shared == set()
    for table in ("response", "answer", "comment", "submission_buffer"):
        for fk in inspector.get_foreign_keys(table):
            assert fk["referred_table"] not in {"invitation", "invitation_token", "person"}, table
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert not columns & {
            "created_at",
            "submitted_at",
            "person_id",
            "invitation_id",
            "token_hash",
        }
