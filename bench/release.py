"""Release computation plus audit for a large organisation, with time and peak memory."""

from __future__ import annotations

import random
import time

import sqlalchemy as sa

from bench import common, history


def run(scale: float = 1.0) -> str:
    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.org.models import Unit
    from wellbeing.releases import service as releases

    staff, teams = history.sizes(scale)
    with common.database("sqlite") as url:
        app = create_app(common.bench_config(url))
        with app.app_context():
            wave = history.answered_wave(staff, teams, random.Random(2026))
            units = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
            before = common.peak_rss_mb()
            started = time.perf_counter()
            release = releases.compute_release(wave)
            db.session.commit()
            elapsed = time.perf_counter() - started
            peak = common.peak_rss_mb()
            audit = dict(release.audit)
            db.engine.dispose()
    return common.table(
        f"Release of one wave: {staff:,} staff, {units} units, {len(history.CUTS)} cuts (SQLite)",
        ["what", "value"],
        [
            ["compute + audit + store, seconds (target < 30)", elapsed],
            [f"peak memory of the process, MB (before: {before:.0f})", peak],
            ["audit rounds", audit.get("rounds")],
            ["groups (hidden)", f"{audit.get('groups')} ({audit.get('hidden_groups')})"],
            ["cells (hidden)", f"{audit.get('cells')} ({audit.get('hidden_cells')})"],
            [
                "cut families hidden because the audit could not clear them in time",
                ", ".join(audit.get("cut_families_hidden") or []) or "none",
            ],
            ["audit passed", audit.get("passed")],
        ],
    )
