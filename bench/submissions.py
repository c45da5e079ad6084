"""Survey submissions per second through gunicorn, next to a trivial endpoint on the same setup."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
import sqlalchemy as sa

from bench import common

CLIENTS = 8  # concurrent browsers


def run(staff: int, kinds: list[str]) -> str:
    rows: list[list[object]] = []
    for kind in kinds:
        rows += _measure(kind, staff)
    return common.table(
        f"Submissions through gunicorn (2 workers, {CLIENTS} clients), {staff:,} each",
        ["database", "what", "per second", "p50 ms", "p99 ms"],
        rows,
    )


def _measure(kind: str, staff: int) -> list[list[object]]:
    with common.database(kind) as url:
        tokens = _links(url, staff)
        with common.gunicorn(url) as base:
            trivial = _drive(lambda _: _trivial(base), range(staff))
            submit = _drive(lambda token: _submit(base, token), tokens)
        answered = _answered(url)
    if answered != staff:
        raise RuntimeError(f"{answered} of {staff} submissions were recorded on {kind}")
    ratio = submit[0] / trivial[0]
    return [
        [kind, "GET /healthz (trivial endpoint)", *trivial],
        [kind, "link visit + form + answer post", *submit],
        [kind, "ratio submissions / trivial (target ≥ 0.33)", f"{ratio:.2f}", "", ""],
    ]


def _links(url: str, staff: int) -> list[str]:
    """Emailed-link tokens for everyone in an open wave, stored hashed as the mailer stores them."""
    from wellbeing import create_app
    from wellbeing.extensions import db

    app = create_app(common.bench_config(url))
    with app.app_context():
        common.import_roster(common.roster_csv(staff, teams=60))
        tokens = list(common.link_tokens(common.open_wave_now()))
        db.engine.dispose()
    return tokens


def _answered(url: str) -> int:
    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.pulse.models import Invitation

    app = create_app(common.bench_config(url))
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(Invitation).where(Invitation.responded)
        )
        db.engine.dispose()
    return int(count or 0)


def _trivial(base: str) -> None:
    response = requests.get(f"{base}/healthz", timeout=30)
    response.raise_for_status()


def _submit(base: str, token: str) -> None:
    with requests.Session() as browser:
        page = browser.get(f"{base}/s/{token}", timeout=30)
        page.raise_for_status()
        data = common.form_answers(page.text)
        sent = browser.post(f"{base}/survey", data=data, timeout=30, allow_redirects=False)
        if sent.status_code != 303:
            raise RuntimeError(f"submission answered {sent.status_code}")


def _drive(task: Callable[[str], None], work: object) -> tuple[float, float, float]:
    """Run ``task`` over ``work`` from CLIENTS threads: rate, p50 and p99 latency."""
    items = list(work)  # type: ignore[call-overload]
    samples: list[float] = []

    def timed(item: str) -> None:
        started = time.perf_counter()
        task(item)
        samples.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(timed, items))
    elapsed = time.perf_counter() - started
    latencies = common.Latencies(samples)
    return len(items) / elapsed, latencies.p50, latencies.percentile(99)
