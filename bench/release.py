"""Release computation plus audit for a large organisation, with time and peak memory."""

from __future__ import annotations

import random
import time

import sqlalchemy as sa

from bench import common

CUTS = {
    "role_type": ["direct_service", "supervisor", "manager_leadership", "administrative_support"],
    "tenure_band": ["years_under_1", "years_1_to_3", "years_3_to_5", "years_5_plus"],
    "language": ["english", "spanish", "english_and_spanish", "no_family_contact"],
}


def run(scale: float = 1.0) -> str:
    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.org.models import Unit
    from wellbeing.pulse import service as pulse
    from wellbeing.pulse.models import Invitation
    from wellbeing.releases import service as releases
    from wellbeing.responses import service as answers

    staff, teams = max(20, int(2000 * scale)), max(2, int(138 * scale))
    rng = random.Random(2026)
    with common.database("sqlite") as url:
        app = create_app(common.bench_config(url))
        with app.app_context():
            common.import_roster(common.roster_csv(staff, teams))
            wave = pulse.get_wave(common.open_wave_now())
            units = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
            leaning = {team: rng.choice([2, 3, 3, 4, 4]) for team in range(teams)}
            invitations = db.session.scalars(
                sa.select(Invitation.id).where(Invitation.wave_id == wave.id)
            ).all()
            for number, invitation_id in enumerate(invitations):
                if rng.random() > 0.75:
                    continue
                centre = leaning[number % teams]
                raw = {
                    item: str(min(5, max(1, centre + rng.choice([-1, 0, 0, 1, 1]))))
                    for item in wave.item_ids
                }
                cuts = {cut: rng.choice(values) for cut, values in CUTS.items()}
                answers.submit(invitation_id, answers.check_answers(wave, raw, None, cuts))
            pulse.close_wave(wave)
            answers.flush_buffer(wave.id)
            db.session.commit()

            before = common.peak_rss_mb()
            started = time.perf_counter()
            release = releases.compute_release(wave)
            db.session.commit()
            elapsed = time.perf_counter() - started
            peak = common.peak_rss_mb()
            audit = dict(release.audit)
            db.engine.dispose()
    return common.table(
        f"Release of one wave: {staff:,} staff, {units} units, {len(CUTS)} cuts (SQLite)",
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
