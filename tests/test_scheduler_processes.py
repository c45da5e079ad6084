"""Real processes: no email is sent twice, a standby scheduler takes over, senders share a wave.

The processes share the test database (a SQLite file, or PostgreSQL with WELLBEING_TEST_DB)
and the loopback SMTP server with the test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import pulse_helpers as h
from tests.smtp import SmtpServer
from wellbeing.database import write_lock
from wellbeing.extensions import db
from wellbeing.pulse import mailer
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import DeliveryStatus, Invitation
from wellbeing.types import utcnow

# A sending pass at a given time, in a process of its own.
SENDER = """
import json, logging, sys
from datetime import datetime
from wellbeing import create_app
from wellbeing.logging import install_log_scrubber
from wellbeing.pulse import mailer

app = create_app(json.loads(sys.argv[1]))
logging.basicConfig(level=logging.INFO, stream=sys.stdout, force=True)
install_log_scrubber()
with app.app_context():
    report = mailer.send_due(now=datetime.fromisoformat(sys.argv[2]))
print("sent", report.sent, flush=True)
"""
WELLBEING = str(Path(sys.executable).parent / "wellbeing")


def child_config(app: Flask, smtp: SmtpServer) -> dict[str, Any]:
    config = {
        key: app.config[key]
        for key in ("WELLBEING_ENV", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "BASE_URL")
    }
    config.update(
        TESTING=True,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_SUPPRESS_SEND=False,
    )
    return config


class Child:
    """A child process whose output goes to a file the test can watch."""

    def __init__(self, log: Path, command: list[str], env: dict[str, str] | None = None) -> None:
        self.log = log
        self._out = log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=log.parent,
            env={**os.environ, **(env or {})},
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"the process ended before {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout} s:\n{self.output()}")
            time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def finish(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._out.close()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.close()


def _send(children: list[Child], tmp_path: Path, config: dict[str, Any], now: datetime) -> Child:
    command = [sys.executable, "-c", SENDER, json.dumps(config), now.isoformat()]
    child = Child(tmp_path / f"send-{len(children)}.log", command)
    children.append(child)
    return child


def test_a_sender_killed_mid_batch_sends_each_invitation_once_after_restart(
    committed_app: Flask, smtp_server: SmtpServer, tmp_path: Path, children: list[Child]
) -> None:
    with committed_app.app_context():
        emails = h.staff("North", 8)
        wave_id = pulse.open_wave(h.program(), h.NOW).id
        db.session.commit()
    config = child_config(committed_app, smtp_server)
    smtp_server.stall_at(4)

    first = _send(children, tmp_path, config, h.NOW)
    assert smtp_server.stalled.wait(90), first.output()  # a busy machine starts it slowly
    first.kill()  # while the server holds the fourth message, before accepting it
    smtp_server.release()
    assert len(smtp_server.messages) == 3

    # While the dead sender's claim lease lasts, no other sender takes its invitations ...
    smtp_server.serve(committed_app)
    with committed_app.app_context():
        assert mailer.send_due(now=h.NOW + timedelta(minutes=5)).sent == 0
    # ... and once it has run out, a restarted sender sends exactly the rest.
    restarted = _send(children, tmp_path, config, h.NOW + timedelta(minutes=11))
    assert restarted.finish() == 0, restarted.output()
    assert "sent 5" in restarted.output()

    assert smtp_server.recipients() == sorted(emails)  # each person exactly once
    with committed_app.app_context():
        statuses = db.session.scalars(
            sa.select(Invitation.status).where(Invitation.wave_id == wave_id)
        ).all()
        assert statuses == [DeliveryStatus.SENT] * 8
    tokens = {t for m in smtp_server.messages for t in re.findall(r"/s/([\w-]+)", m.text)}
    assert len(tokens) == 8
    for child in children:
        assert not any(token in child.output() for token in tokens)


def _active_and_standby(pair: list[Child], timeout: float = 60) -> tuple[Child, Child]:
    """The active and the standby scheduler, once both have said so (starting takes a while)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = [c for c in pair if "is active" in c.output()]
        waiting = [c for c in pair if "is standby" in c.output()]
        if active and waiting:
            assert len(active) == 1 and active[0] is not waiting[0]
            return active[0], waiting[0]
        assert all(c.process.poll() is None for c in pair), [c.output() for c in pair]
        time.sleep(0.05)
    raise AssertionError([c.output() for c in pair])


def command_env(app: Flask, **settings: str) -> dict[str, str]:
    """The environment a ``wellbeing`` command needs to work on the test database."""
    return {
        "WELLBEING_ENV": "testing",
        "WELLBEING_SECRET_KEY": app.config["SECRET_KEY"],
        "WELLBEING_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "WELLBEING_BASE_URL": app.config["BASE_URL"],
        "WELLBEING_MAIL_SERVER": "127.0.0.1",
        "WELLBEING_MAIL_PORT": "9",
        "WELLBEING_SCHEDULER_LEASE_SECONDS": "2",
        "WELLBEING_SCHEDULER_HEARTBEAT_SECONDS": "0.2",
        **settings,
    }


def _start(
    children: list[Child], tmp_path: Path, name: str, command: list[str], env: dict[str, str]
) -> Child:
    (tmp_path / name).mkdir()
    child = Child(tmp_path / name / "out.log", [WELLBEING, *command], env)
    children.append(child)
    return child


def test_two_schedulers_one_active_and_the_standby_takes_over_when_it_dies(
    committed_app: Flask, tmp_path: Path, children: list[Child]
) -> None:
    # A lease a loaded machine cannot miss by accident; the takeover still comes within seconds.
    env = command_env(
        committed_app,
        WELLBEING_SCHEDULER_LEASE_SECONDS="6",
        WELLBEING_SCHEDULER_HEARTBEAT_SECONDS="0.5",
    )
    pair = [_start(children, tmp_path, name, ["scheduler"], env) for name in "ab"]
    active, standby = _active_and_standby(pair)

    time.sleep(2)  # four heartbeats: the active one keeps the lock, the other keeps waiting
    assert "is active" not in standby.output()

    active.kill()
    standby.wait_for("is active", timeout=60)
    standby.process.send_signal(signal.SIGTERM)
    assert standby.finish() == 0, standby.output()
    assert "stopped" in standby.output()


WAVE_SIZE = 200
_SENT = re.compile(r"stopped after sending (\d+) emails")


def test_two_schedulers_and_two_senders_send_a_large_wave_once_and_share_it(
    committed_app: Flask, smtp_server: SmtpServer, tmp_path: Path, children: list[Child]
) -> None:
    with committed_app.app_context():
        emails = h.staff("North", WAVE_SIZE)
        db.session.commit()
    smtp_server.delay = 0.005  # a relay takes a few milliseconds a message, so senders overlap
    # No takeover here: a lease long enough that a busy machine cannot make one happen.
    scheduler_env = command_env(
        committed_app,
        WELLBEING_SCHEDULER_SENDS="false",
        WELLBEING_SCHEDULER_LEASE_SECONDS="20",
        WELLBEING_SCHEDULER_HEARTBEAT_SECONDS="0.5",
    )
    schedulers = [
        _start(children, tmp_path, f"scheduler-{n}", ["scheduler"], scheduler_env) for n in "ab"
    ]
    sender_env = command_env(committed_app, WELLBEING_MAIL_PORT=str(smtp_server.port))
    senders = [
        _start(
            children,
            tmp_path,
            f"sender-{n}",
            ["sender", "--every", "0.2", "--batch-size", "20"],
            sender_env,
        )
        for n in "ab"
    ]
    active, standby = _active_and_standby(schedulers)
    for sender in senders:
        sender.wait_for("started: sending due email", timeout=60)

    # Everyone is up and waiting; now a wave opens with every invitation due at once. (The
    # schedulers write their lock meanwhile: on SQLite this reads, then writes, under lock.)
    with committed_app.app_context(), write_lock():
        wave = pulse.open_wave(h.program(), utcnow())
        mailer.invite_now(wave)
        wave_id = wave.id
        db.session.commit()
    _wait_until_sent(committed_app, wave_id)

    for child in children:
        child.process.send_signal(signal.SIGTERM)
    for child in children:
        assert child.finish() == 0, child.output()

    assert smtp_server.recipients() == sorted(emails)  # each person exactly once
    shares = [int(_SENT.search(sender.output()).group(1)) for sender in senders]  # type: ignore[union-attr]
    assert sum(shares) == WAVE_SIZE
    # Both took part, on SQLite too: there the claims queue for the write lock instead of
    # skipping locked rows, and each sender claims what the other has not.
    assert all(share > 0 for share in shares), shares
    tokens = {t for m in smtp_server.messages for t in re.findall(r"/s/([\w-]+)", m.text)}
    assert len(tokens) == WAVE_SIZE
    assert not any(token in child.output() for child in children for token in tokens)
    assert "leaves sending email to the sender workers" in active.output()
    assert "is active" not in standby.output()
    for scheduler in schedulers:
        assert "sending pass" not in scheduler.output()


def _wait_until_sent(app: Flask, wave_id: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            pending = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Invitation)
                .where(Invitation.wave_id == wave_id, Invitation.status != DeliveryStatus.SENT)
            )
            db.session.rollback()
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{pending} invitations still unsent after {timeout} s")
            time.sleep(0.1)
