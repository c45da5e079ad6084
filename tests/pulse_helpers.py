"""Builders for pulse tests: an organisation, a program and an open wave."""

from __future__ import annotations

from datetime import UTC, datetime

from tests import factories
from wellbeing.bank import current_bank
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import PulseProgram, Wave

AGENCY = "Riverside"
NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # a Tuesday afternoon in UTC


def staff(
    team: str, n: int, *, locale: str = "en", time_zone: str = "UTC", start: int = 0
) -> list[str]:
    emails = []
    for i in range(start, start + n):
        email = f"{team.lower().replace(' ', '').replace('/', '.')}{i}@example.org"
        factories.person(email, f"{AGENCY}/{team}", locale=locale, time_zone=time_zone)
        emails.append(email)
    return emails


def program(key: str = "standard", units: list[str] | None = None) -> PulseProgram:
    settings = pulse.default_settings(current_bank(), "Standard pulse", units or [AGENCY])
    return pulse.create_program(key, settings)


def open_wave(n_north: int = 8, n_south: int = 0) -> Wave:
    staff("North", n_north)
    if n_south:
        staff("South", n_south)
    return pulse.open_wave(program(), NOW)
