"""The scheduler: periodic jobs (open waves, send emails, close waves), one active per database.

Run by ``wellbeing scheduler`` in its own process (or by the demo in-process); ``create_app``
never starts it. See ``jobs.py`` for the job list and ``runner.py`` for the active/standby rule.
"""

from __future__ import annotations

from typing import Any

# APScheduler's persistent job store keeps its own table, outside our models and migrations.
JOBS_TABLE = "apscheduler_jobs"


def include_in_migrations(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object`` hook: leave the job store's table to APScheduler."""
    return not (type_ == "table" and name == JOBS_TABLE)
