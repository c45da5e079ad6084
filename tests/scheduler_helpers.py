"""A stand-in for the release step, so scheduler and CLI tests can see when it runs."""

from __future__ import annotations

import pytest

from wellbeing.extensions import db
from wellbeing.pulse.models import Wave, WaveStatus
from wellbeing.releases import service
from wellbeing.releases.models import Release


def with_recorded_releases(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A stand-in release computation that records which waves it released."""
    released: list[int] = []

    def compute_release(wave: Wave) -> None:
        released.append(wave.id)
        db.session.add(Release(wave_id=wave.id, min_group_size=5))
        wave.move_to(WaveStatus.RELEASED)
        db.session.flush()

    monkeypatch.setattr(service, "compute_release", compute_release)
    return released
