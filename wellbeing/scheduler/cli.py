"""``wellbeing scheduler``: run the periodic jobs in the foreground, in their own process."""

from __future__ import annotations

import logging

import click
from flask import current_app

from wellbeing.config import ConfigError
from wellbeing.logging import install_log_scrubber
from wellbeing.scheduler.runner import run_in_foreground


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler until stopped (Ctrl+C or SIGTERM).

    Start one on each machine you like: one is active per database, the others wait as hot
    standby and take over within seconds if it stops.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # APScheduler reports every run at INFO; its warnings and job errors still come through.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    install_log_scrubber()  # the handler just added must scrub survey tokens too
    try:
        run_in_foreground(current_app._get_current_object())  # type: ignore[attr-defined]
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
