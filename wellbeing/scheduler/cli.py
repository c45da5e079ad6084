"""``wellbeing scheduler``: run the periodic jobs in the foreground, in their own process."""

from __future__ import annotations

import click
from flask import current_app

from wellbeing.config import ConfigError
from wellbeing.logging import log_to_stderr
from wellbeing.scheduler.runner import run_in_foreground


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler until stopped (Ctrl+C or SIGTERM).

    Start one on each machine you like: one is active per database, the others wait as hot
    standby and take over within seconds if it stops.
    """
    log_to_stderr()
    try:
        run_in_foreground(current_app._get_current_object())  # type: ignore[attr-defined]
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
