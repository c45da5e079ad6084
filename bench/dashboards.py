"""Server time of the results pages against the raw SQL that reads the same released cells.

An admin is signed in through the login page and each page is asked for through the app's own
request handling (no network in between), so the time is what the server spends. The raw read is
plain SQLAlchemy Core on the same tables with the same filters and order the gate applies,
returning tuples: the floor any page built on those cells could reach.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import sqlalchemy as sa

from bench import common
from bench.history import Organisation

RUNS = 25
WARM_UP = 3
PASSWORD = "bench-dashboards-Password-2026"
TARGET_MS = 300
TARGET_RATIO = 3.0


def run(org: Organisation) -> str:
    from wellbeing import create_app
    from wellbeing.auth.models import Role
    from wellbeing.auth.service import create_user
    from wellbeing.extensions import db

    app = create_app(common.bench_config(org.url))
    with app.app_context():
        create_user("bench.admin@bench.example", Role.ADMIN, PASSWORD, [])
        db.session.commit()
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        token = match.group(1) if match else ""
        signed_in = client.post(
            "/login",
            data={"email": "bench.admin@bench.example", "password": PASSWORD, "csrf_token": token},
        )
        if signed_in.status_code != 302:
            raise RuntimeError("the bench admin could not sign in")
        raw = RawReads(db.engine, org.program_unit_id)
        pages: list[tuple[str, str, Callable[[], int]]] = [
            ("overview", "/results/", raw.overview),
            (f"unit page ({org.waves} waves)", f"/results/units/{org.program_unit_id}", raw.unit),
            ("heatmap", "/results/heatmap", raw.heatmap),
        ]
        statements = StatementCounter(db.engine)
        rows = []
        for name, path, raw_read in pages:
            page_times, count = _time_page(client, path, statements)
            raw_times, cells = _time(raw_read)
            page_p95, raw_p95 = page_times.percentile(95), raw_times.percentile(95)
            ratio = page_p95 / raw_p95 if raw_p95 else float("inf")
            met = page_p95 < TARGET_MS and ratio <= TARGET_RATIO
            rows.append(
                [
                    name,
                    page_times.p50,
                    page_p95,
                    raw_times.p50,
                    raw_p95,
                    f"{ratio:.1f}×",
                    count,
                    f"{cells:,}",
                    "yes" if met else "no",
                ]
            )
        db.engine.dispose()
    return common.table(
        f"Results pages: {org.staff:,} staff, {org.units} units, {org.waves} biweekly waves, "
        f"{org.cells_per_wave:,} cells a wave (SQLite, {RUNS} requests each, admin)",
        [
            "page",
            "p50 ms",
            "p95 ms",
            "raw SQL p50 ms",
            "raw SQL p95 ms",
            "p95 ÷ raw p95",
            "SQL statements a request",
            "cells read",
            f"target met (< {TARGET_MS} ms, ≤ {TARGET_RATIO:.0f}× raw)",
        ],
        rows,
    )


class StatementCounter:
    """Counts the SQL statements the engine runs."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: object) -> None:
        self.count += 1


def _time_page(
    client: object, path: str, statements: StatementCounter
) -> tuple[common.Latencies, int]:
    from flask.testing import FlaskClient

    assert isinstance(client, FlaskClient)
    for _ in range(WARM_UP):
        _get(client, path)
    before = statements.count
    _get(client, path)
    count = statements.count - before
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        _get(client, path)
        samples.append(time.perf_counter() - started)
    return common.Latencies(samples), count


def _get(client: object, path: str) -> None:
    from flask.testing import FlaskClient

    assert isinstance(client, FlaskClient)
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    response.get_data()


def _time(read: Callable[[], int]) -> tuple[common.Latencies, int]:
    for _ in range(WARM_UP):
        read()
    samples = []
    cells = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        cells = read()
        samples.append(time.perf_counter() - started)
    return common.Latencies(samples), cells


class RawReads:
    """The released cells each page reads, fetched with Core SQL and nothing else."""

    def __init__(self, engine: sa.Engine, unit_id: int) -> None:
        from wellbeing.pulse.models import Wave, WaveStatus
        from wellbeing.reports.service import PREVALENCE_MEASURES, report_measures

        self.engine = engine
        self.unit_id = unit_id
        domains = {d.id for d in report_measures()}
        self.trend_measures = domains | set(PREVALENCE_MEASURES) | {"respondents", "participation"}
        self.trend_metrics = {"index", "prevalence_pct", "count", "rate"}
        self.watch_measures = domains | set(PREVALENCE_MEASURES)
        self.domains = domains
        with engine.connect() as conn:
            self.waves = list(
                conn.scalars(
                    sa.select(Wave.id)
                    .where(Wave.status == WaveStatus.RELEASED)
                    .order_by(Wave.sequence)
                )
            )
            self.root = int(conn.scalar(sa.text("SELECT id FROM unit WHERE depth = 0")) or 0)

    def _cells(
        self,
        conn: sa.Connection,
        waves: list[int],
        unit_id: int | None = None,
        measures: set[str] | None = None,
        metrics: set[str] | None = None,
    ) -> int:
        from wellbeing.org.models import Unit
        from wellbeing.releases.models import CellScope, Release, ReleaseCell

        cell = ReleaseCell.__table__
        release = Release.__table__
        unit = Unit.__table__
        versions = conn.execute(
            sa.select(release.c.wave_id, release.c.version, release.c.id).where(
                release.c.wave_id.in_(waves)
            )
        ).all()
        latest: dict[int, tuple[int, int]] = {}
        for wave_id, version, release_id in versions:
            if wave_id not in latest or version > latest[wave_id][0]:
                latest[wave_id] = (version, release_id)
        query = (
            sa.select(*cell.c, release.c.wave_id, unit.c.path)
            .join(release, release.c.id == cell.c.release_id)
            .join(unit, unit.c.id == cell.c.unit_id)
            .where(
                cell.c.release_id.in_([r for _, r in latest.values()]),
                cell.c.scope == CellScope.SUBTREE,
                cell.c.cut == "",
            )
            .order_by(release.c.wave_id, unit.c.path, cell.c.cut_value, cell.c.id)
        )
        if unit_id is not None:
            query = query.where(cell.c.unit_id == unit_id)
        if measures is not None:
            query = query.where(cell.c.measure.in_(measures))
        if metrics is not None:
            query = query.where(cell.c.metric.in_(metrics))
        return len(conn.execute(query).all())

    def _counts(self, conn: sa.Connection) -> int:
        """The respondent counts every page reads to say where hidden units are counted."""
        return self._cells(conn, self.waves[-1:], measures={"respondents"})

    def overview(self) -> int:
        with self.engine.connect() as conn:
            return (
                self._counts(conn)
                + self._cells(conn, self.waves, self.root, self.trend_measures, self.trend_metrics)
                + self._cells(conn, self.waves[-1:], self.root, {"respondents"}, {"count"})
                + self._cells(
                    conn, self.waves[-1:], None, self.watch_measures, {"index", "prevalence_pct"}
                )
            )

    def unit(self) -> int:
        from wellbeing.releases.models import ReleasedComment

        with self.engine.connect() as conn:
            cells = (
                self._counts(conn)
                + self._cells(
                    conn, self.waves, self.unit_id, self.trend_measures, self.trend_metrics
                )
                + self._cells(conn, self.waves[-1:], self.unit_id)
            )
            comments = ReleasedComment.__table__
            release = sa.text("SELECT max(id) FROM release WHERE wave_id = :w")
            latest = conn.scalar(release, {"w": self.waves[-1]})
            conn.execute(sa.select(comments).where(comments.c.release_id == latest)).all()
            return cells

    def heatmap(self) -> int:
        with self.engine.connect() as conn:
            return self._cells(conn, self.waves[-1:], None, self.domains, {"index"})
