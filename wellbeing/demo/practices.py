"""The demo's practice indicators and self-assessments, recorded through the practices service.

Months follow the same stories as the survey history: Intake & Assessment's caseloads climb until
the cap on new assignments, and Ongoing Services' reflective supervision comes back. The whole
agency fills in the practices checklist twice, with more in place the second time.
"""

from __future__ import annotations

import random
from datetime import date, datetime

import sqlalchemy as sa

from wellbeing.auth.models import Role, User
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.practices import service as practices
from wellbeing.practices.models import ChecklistRating

SEED = 20261001


def _months(first: date, last: date) -> list[date]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def record(first: datetime, last: datetime) -> None:
    """Monthly figures for two teams over the history, and two agency self-assessments."""
    coordinator = db.session.scalar(sa.select(User).where(User.role == Role.COORDINATOR).limit(1))
    agency = db.session.scalar(sa.select(Unit).where(Unit.depth == 0).order_by(Unit.path))
    if coordinator is None or agency is None:
        return
    rng = random.Random(SEED)  # noqa: S311 - made-up figures, not security
    months = _months(first.date(), last.date())
    for team in ("Intake & Assessment", "Ongoing Services"):
        unit = db.session.scalar(sa.select(Unit).where(Unit.name == team))
        if unit is None:
            continue
        for number, month in enumerate(months):
            if team == "Intake & Assessment":
                caseload = 12 + 1.2 * min(number, 4) - 0.8 * max(0, number - 4)
                supervision = 70.0
            else:
                caseload = 16 + rng.uniform(-1, 1)
                supervision = 45.0 if number < 2 else 90.0
            values = {
                "caseload": round(caseload + rng.uniform(-0.5, 0.5), 1),
                "staff_per_supervisor": float(rng.choice([6, 7, 7, 8])),
                "reflective_supervision": round(supervision + rng.uniform(-5, 5), 0),
                "turnover": round(rng.uniform(18, 34), 0),
            }
            practices.record_month(coordinator, unit, month, values)
    ratings = list(ChecklistRating)
    items = [i.id for i in practices.checklist_items()]
    for when, better in ((first.date(), 0), (last.date(), 1)):
        answers = {
            item: practices.Answer(
                ratings[min(2, rng.choice([0, 0, 1, 1, 2]) + better * rng.choice([0, 1]))]
            )
            for item in items
        }
        practices.save_assessment(coordinator, agency, when, answers)
