"""A large organisation with two years of biweekly releases, for the dashboard and export benches.

One wave is answered and released through the product itself; the other 51 are copies of its
release with their values moved a little, inserted in bulk. Copies keep the real release's shape
exactly (which cells exist, which are hidden), so pages and exports read what they would read.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bench import common

WAVES = 52
CADENCE = timedelta(days=14)
CUTS = {
    "role_type": ["direct_service", "supervisor", "manager_leadership", "administrative_support"],
    "tenure_band": ["years_under_1", "years_1_to_3", "years_3_to_5", "years_5_plus"],
    "language": ["english", "spanish", "english_and_spanish", "no_family_contact"],
}
PERCENT_METRICS = {"index", "prevalence_pct", "rate"}
KEY = ("unit_id", "scope", "cut", "cut_value", "measure", "metric")


@dataclass(frozen=True)
class Organisation:
    """What was built: where it is and how big it is."""

    url: str
    staff: int
    units: int
    waves: int
    cells_per_wave: int
    program_unit_id: int


def sizes(scale: float) -> tuple[int, int]:
    """Staff and teams: 2,000 staff in 138 teams, 11 programs and the agency make 150 units."""
    return max(20, int(2000 * scale)), max(2, int(138 * scale))


def answered_wave(staff: int, teams: int, rng: random.Random) -> Any:
    """Roster, a program over the agency, one wave answered by three in four staff, closed."""
    from wellbeing.extensions import db
    from wellbeing.pulse import service as pulse
    from wellbeing.pulse.models import Invitation
    from wellbeing.responses import service as answers

    common.import_roster(common.roster_csv(staff, teams))
    wave = pulse.get_wave(common.open_wave_now())
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
    return wave


@contextlib.contextmanager
def organisation(scale: float = 1.0) -> Iterator[Organisation]:
    """The organisation in a SQLite database of its own, removed afterwards."""
    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.org.models import Unit

    staff, teams = sizes(scale)
    rng = random.Random(2026)
    with common.database("sqlite") as url:
        app = create_app(common.bench_config(url))
        with app.app_context():
            wave = answered_wave(staff, teams, rng)
            from wellbeing.releases import service as releases

            release = releases.compute_release(wave)
            db.session.commit()
            cells = _copy_history(wave, release, rng)
            units = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
            program_unit = db.session.scalar(
                sa.select(Unit.id).where(Unit.depth == 1).order_by(Unit.path).limit(1)
            )
            db.session.commit()
            db.engine.dispose()
        yield Organisation(url, staff, int(units or 0), WAVES, cells, int(program_unit or 0))


def _copy_history(wave: Any, release: Any, rng: random.Random) -> int:
    """Waves 2..52 after the real one, each with a jittered copy of its release."""
    from wellbeing.extensions import db
    from wellbeing.pulse.models import Wave, WaveStatus
    from wellbeing.releases.models import Release, ReleaseCell, ReleasedComment

    cell_table = ReleaseCell.__table__
    comment_table = ReleasedComment.__table__
    original = [
        dict(row._mapping)
        for row in db.session.execute(
            sa.select(cell_table).where(cell_table.c.release_id == release.id)
        )
    ]
    comments = [
        dict(row._mapping)
        for row in db.session.execute(
            sa.select(comment_table).where(comment_table.c.release_id == release.id)
        )
    ]
    drift: dict[tuple[Any, ...], float] = {}
    for sequence in range(2, WAVES + 1):
        shift = CADENCE * (sequence - 1)
        copy = Wave(
            program_id=wave.program_id,
            sequence=sequence,
            scheduled_for=wave.scheduled_for + shift,
            module=wave.module,
            item_ids=list(wave.item_ids),
            opens_at=wave.opens_at + shift,
            closes_at=wave.closes_at + shift,
            status=WaveStatus.RELEASED,
            closed_at=(wave.closed_at or wave.closes_at) + shift,
        )
        db.session.add(copy)
        db.session.flush()
        copied = Release(
            wave_id=copy.id,
            version=1,
            min_group_size=release.min_group_size,
            audit=dict(release.audit),
        )
        db.session.add(copied)
        db.session.flush()
        rows = []
        for cell in original:
            row = {k: v for k, v in cell.items() if k != "id"}
            row["release_id"] = copied.id
            if row["value"] is not None and row["metric"] in PERCENT_METRICS:
                key = tuple(row[k] for k in KEY)
                drift[key] = max(-15.0, min(15.0, drift.get(key, 0.0) + rng.gauss(0, 1.5)))
                move = drift[key] + rng.gauss(0, 1)
                row["value"] = _percent(row["value"] + move)
                for bound in ("ci_low", "ci_high"):
                    if row[bound] is not None:
                        row[bound] = _percent(row[bound] + move)
            rows.append(row)
        db.session.execute(cell_table.insert(), rows)
        if comments:
            db.session.execute(
                comment_table.insert(),
                [
                    {**{k: v for k, v in c.items() if k != "id"}, "release_id": copied.id}
                    for c in comments
                ],
            )
        db.session.commit()
    return len(original)


def _percent(value: float) -> float:
    return round(max(0.0, min(100.0, value)), 1)
