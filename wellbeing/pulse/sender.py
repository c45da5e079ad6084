"""Sender workers: processes that send due invitations and reminders until they are stopped.

Run by ``wellbeing sender``, as many as the organisation needs, on one machine or several. Each
pass claims batches with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite makes the
claims queue for its write lock), so workers share the sending and no email goes out twice. A
stop signal lets the batch in hand finish; no claim is left behind.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from flask import Flask

from wellbeing.extensions import db
from wellbeing.processes import process_name, run_until_signalled
from wellbeing.pulse import mailer

logger = logging.getLogger(__name__)


class SenderWorker:
    """One sender process: a sending pass every ``every`` seconds until ``stop()``."""

    def __init__(self, app: Flask, every: float, batch_size: int = mailer.BATCH_SIZE) -> None:
        if every <= 0 or batch_size <= 0:
            raise ValueError("the pause between passes and the batch size must be above 0")
        self.app = app
        self.every = every
        self.batch_size = batch_size
        self.name = process_name()
        self.sent = 0
        self._stopping = threading.Event()
        self._mail_down = False

    def run(self) -> None:
        """Send what is due, pause, and again, until ``stop()``; blocks the calling thread."""
        logger.info(
            "sender %s started: sending due email every %s s through %s:%s",
            self.name,
            self.every,
            self.app.config["MAIL_SERVER"],
            self.app.config["MAIL_PORT"],
        )
        while not self._stopping.is_set():
            self.run_pass()
            self._stopping.wait(self.every)
        logger.info("sender %s stopped after sending %s emails", self.name, self.sent)

    def run_pass(self) -> mailer.SendingReport | None:
        """One sending pass in its own app context; None when the database could not be used."""
        with self.app.app_context():
            try:
                report = mailer.send_due(batch_size=self.batch_size, stop=self._stopping.is_set)
            except sa.exc.SQLAlchemyError as exc:
                logger.error(
                    "sender %s could not use the database (%s); trying again in %s s",
                    self.name,
                    type(exc).__name__,
                    self.every,
                )
                return None
            finally:
                db.session.remove()
        self._note(report)
        return report

    def _note(self, report: mailer.SendingReport) -> None:
        """Log the mail server going down once, and coming back once, not every pass."""
        self.sent += report.sent
        if report.smtp_error is not None:
            if not self._mail_down:
                logger.error(
                    "sender %s: the mail server %s:%s cannot take mail (%s); the emails wait "
                    "and are tried again from %s",
                    self.name,
                    self.app.config["MAIL_SERVER"],
                    self.app.config["MAIL_PORT"],
                    report.smtp_error,
                    report.retry_at.isoformat() if report.retry_at else "later",
                )
            self._mail_down = True
        elif self._mail_down and report.sent:
            logger.info("sender %s: the mail server takes mail again", self.name)
            self._mail_down = False

    def stop(self) -> None:
        """Finish the batch in hand, then return from ``run()``."""
        self._stopping.set()


def run_in_foreground(app: Flask, every: float, batch_size: int) -> None:
    """Run a sender in this thread until SIGINT or SIGTERM (``wellbeing sender``)."""
    worker = SenderWorker(app, every, batch_size)
    run_until_signalled(f"sender {worker.name}", worker.run, worker.stop)
