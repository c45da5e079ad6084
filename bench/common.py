"""Shared pieces for the benchmarks: databases, a gunicorn server, timing and tables."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
POSTGRES_URL = os.environ.get(
    "WELLBEING_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/wellbeing_bench"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_available() -> bool:
    admin = POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
    try:
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            name = POSTGRES_URL.rsplit("/", 1)[1]
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except sa.exc.OperationalError:
        return False
    return True


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    """An empty database of ``kind`` ('sqlite' or 'postgresql'), migrated to head."""
    folder = Path(tempfile.mkdtemp(prefix="wellbeing-bench-"))
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'bench.sqlite'}"
    else:
        url = POSTGRES_URL
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    migrate(url, folder)
    try:
        yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def migrate(url: str, instance: Path | None = None) -> None:
    """Bring the empty database at ``url`` to the newest schema."""
    from flask_migrate import upgrade

    from wellbeing import create_app
    from wellbeing.extensions import db

    app = create_app(bench_config(url), instance_path=str(instance) if instance else None)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@contextlib.contextmanager
def private_postgres() -> Iterator[Any]:
    """A PostgreSQL server of the bench's own (``tests/pg_instance.py``), migrated to head.

    Yields the ``PostgresInstance``, whose ``crash_and_restart`` the load bench uses; nothing
    else shares it, so crashing it disturbs no other database.
    """
    from tests.pg_instance import PostgresInstance, binaries

    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL's initdb and pg_ctl are not installed")
    with PostgresInstance(bindir) as instance:
        migrate(instance.url)
        yield instance


SECRET = "bench-secret-key-not-for-production"


def bench_config(url: str, **extra: Any) -> dict[str, Any]:
    config = {
        "WELLBEING_ENV": "testing",
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": url,
        "BASE_URL": "http://127.0.0.1",
        "RATELIMIT_ENABLED": False,
    }
    config.update(extra)
    return config


@contextlib.contextmanager
def gunicorn(
    url: str, workers: int = 2, log: Path | None = None, pids: list[int] | None = None
) -> Iterator[str]:
    """The app under gunicorn on a free loopback port; yields its base URL.

    With ``log``, gunicorn's and the app's output (tracebacks included) goes to that file; with
    ``pids``, the master's process id is appended to it.
    """
    port = free_port()
    env = dict(os.environ)
    env.update(
        WELLBEING_ENV="development",
        WELLBEING_SECRET_KEY=SECRET,
        WELLBEING_DATABASE_URL=url,
        WELLBEING_BASE_URL=f"http://127.0.0.1:{port}",
        # Every bench client shares one address; the limit is still counted, as in production.
        WELLBEING_SURVEY_RATE_LIMIT="1000000 per minute",
    )
    output = log.open("ab") if log else None
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",  # as the deployment guide runs it
            "wellbeing:create_app()",
        ],
        env=env,
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
    )
    if pids is not None:
        pids.append(process.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        # Each worker builds the app on its own, several CPU-seconds apiece.
        wait = 30 + 15 * workers
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not start within {wait} s")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        if output:
            output.close()


@dataclass
class Latencies:
    """Request latencies in seconds, summarised in milliseconds."""

    samples: list[float]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.samples)
        index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return 1000 * ordered[index]

    @property
    def p50(self) -> float:
        return 1000 * statistics.median(self.samples)


def table(title: str, headers: list[str], rows: list[list[object]]) -> str:
    """A markdown table."""
    lines = [f"### {title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


AGENCY = "Bench Agency"


def roster_csv(staff: int, teams: int) -> str:
    """A roster of ``staff`` people spread over ``teams`` teams in a few programs."""
    lines = ["email,unit,name,locale,time_zone"]
    programs = max(1, teams // 12)
    for i in range(staff):
        team = i % teams
        program = team % programs
        locale = "es" if i % 7 == 0 else "en"
        lines.append(
            f"person{i}@bench.example,{AGENCY}/Program {program}/Team {team},Person {i},"
            f"{locale},America/Chicago"
        )
    return "\n".join(lines) + "\n"


def import_roster(text: str) -> None:
    """Import a roster through the product's own validation and import."""
    from wellbeing.extensions import db
    from wellbeing.org import roster

    check = roster.check_roster(text)
    if check.problems:
        raise RuntimeError(f"bench roster is invalid: {check.problems[:3]}")
    roster.apply_roster(check.rows, deactivate_missing=False)
    db.session.commit()


def open_wave_now(key: str = "bench") -> int:
    """A program over the whole agency and a wave whose invitations are due now."""
    from wellbeing.bank import current_bank
    from wellbeing.extensions import db
    from wellbeing.pulse import mailer
    from wellbeing.pulse import service as pulse

    program = pulse.create_program(
        key, pulse.default_settings(current_bank(), "Bench pulse", [AGENCY])
    )
    wave = pulse.open_wave(program)
    mailer.invite_now(wave)
    db.session.commit()
    return int(wave.id)


def link_tokens(wave_id: int) -> dict[str, int]:
    """An emailed-link token for each invitation of the wave, stored hashed as the mailer does.

    Returns token → invitation id, so a bench can check afterwards whose answers are in.
    """
    from wellbeing.extensions import db
    from wellbeing.pulse.models import Invitation, InvitationToken, Wave
    from wellbeing.pulse.tokens import new_token, token_hash

    wave = db.session.get_one(Wave, wave_id)
    tokens: dict[str, int] = {}
    for invitation_id in db.session.scalars(
        sa.select(Invitation.id).where(Invitation.wave_id == wave_id)
    ):
        token = new_token()
        db.session.add(
            InvitationToken(
                token_hash=token_hash(token), invitation_id=invitation_id, expires_at=wave.closes_at
            )
        )
        tokens[token] = int(invitation_id)
    db.session.commit()
    return tokens


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_OPTION = re.compile(r'name="(answer-[\w-]+)" value="([^"]+)"')


def form_answers(page: str) -> dict[str, str]:
    """What a person sends from the survey page: each item's first option and the CSRF token."""
    csrf = _CSRF.search(page)
    if csrf is None:
        raise RuntimeError("the survey page carries no CSRF token")
    data: dict[str, str] = {}
    for name, value in _OPTION.findall(page):
        data.setdefault(name, value)  # each item's first option: always on its scale
    data["csrf_token"] = csrf.group(1)
    return data


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd's discarding handler in its own process on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ]
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the SMTP sink did not start within 15 s")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
