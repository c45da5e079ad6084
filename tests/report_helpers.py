"""An organisation with released history, for the results pages, the API and their tests.

Riverside has two programs: Child Welfare (North 12, South 11, East 3 people: East is always
hidden) and Home Visiting (West 12). Four biweekly waves are answered, closed and released
through the real services; North's answers drop from the third wave on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from tests import factories
from tests import pulse_helpers as h
from tests import release_helpers as rh
from wellbeing.auth.models import Role, User
from wellbeing.bank import current_bank
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.pulse.models import PulseProgram, Wave
from wellbeing.releases import service as releases

TEAMS = {
    "Child Welfare/North": 12,
    "Child Welfare/South": 11,
    "Child Welfare/East": 3,
    "Home Visiting/West": 12,
}
WAVES = 4


@dataclass
class History:
    program: PulseProgram
    waves: list[Wave]
    admin: User
    cw_lead: User  # leads Child Welfare
    hv_lead: User  # leads Home Visiting

    def unit(self, path: str) -> Unit:
        full = f"{h.AGENCY}/{path}" if path else h.AGENCY
        found = db.session.scalar(sa.select(Unit).where(Unit.path == full))
        assert found is not None, full
        return found


def answers(wave_index: int, north_drop_at: int = 2) -> rh.Answerer:
    """Varied answers; North drops from wave ``north_drop_at`` on, East always answers low."""

    def answer(
        i: int, unit: str, items: list[str]
    ) -> tuple[dict[str, str], str | None, dict[str, str]]:
        base = 4
        if unit.endswith("/North") and wave_index >= north_drop_at:
            base = 2
        if unit.endswith("/East"):
            base = 2
        values = {}
        for n, item in enumerate(items):
            options = current_bank().scale_of(item).values
            wanted = base + ((i + n) % 3) - 1 + (1 if (i + wave_index) % 5 == 0 else 0)
            values[item] = str(min(options[-1], max(options[0], wanted)))
        comment = None
        if unit.endswith("/North") and i % 3 == 0:
            comment = "Caseloads are too high and supervision keeps getting cancelled."
        return values, comment, {}

    return answer


def build_history(waves: int = WAVES, north_drop_at: int = 2) -> History:
    for path, n in TEAMS.items():
        h.staff(path, n)
    program = h.program()
    made = []
    for index in range(waves):
        wave = rh.run_wave(
            program,
            answers(index, north_drop_at),
            seed=index,
            now=h.NOW + timedelta(days=14 * index),
        )
        releases.compute_release(wave)
        made.append(wave)
    db.session.flush()
    return History(
        program=program,
        waves=made,
        admin=factories.user("admin@example.org", Role.ADMIN),
        cw_lead=factories.user("cw.lead@example.org", Role.LEADER, [f"{h.AGENCY}/Child Welfare"]),
        hv_lead=factories.user("hv.lead@example.org", Role.LEADER, [f"{h.AGENCY}/Home Visiting"]),
    )
