"""Shared pieces for the benchmarks: databases, a gunicorn server, timing and tables."""

from __future__ import annotations

import contextlib
import os
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
    from flask_migrate import upgrade

    from wellbeing import create_app
    from wellbeing.extensions import db

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
    app = create_app(bench_config(url), instance_path=str(folder))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    try:
        yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
def gunicorn(url: str, workers: int = 2) -> Iterator[str]:
    """The app under gunicorn on a free loopback port; yields its base URL."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        WELLBEING_ENV="testing",
        WELLBEING_SECRET_KEY=SECRET,
        WELLBEING_DATABASE_URL=url,
        WELLBEING_BASE_URL=f"http://127.0.0.1:{port}",
    )
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
            "wellbeing:create_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start within 30 s")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


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
