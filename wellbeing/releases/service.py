"""Releases for operators and jobs: compute one for a closed wave, and summarise it."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from wellbeing.actions import follow_up
from wellbeing.bank import QuestionBank
from wellbeing.extensions import db
from wellbeing.pulse.models import Wave
from wellbeing.releases.models import Release, ReleaseCell, ReleasedComment, ReleaseError
from wellbeing.releases.suppression import HIDDEN_REASON

__all__ = ["ReleaseError", "ReleaseSummary", "compute_release", "latest_release", "release_summary"]


def compute_release(
    wave: Wave, *, recompute: bool = False, bank: QuestionBank | None = None
) -> Release:
    """Compute, audit and store the release of a closed wave (see ``compute``).

    The computation needs scipy's statistics and solver, loaded only here: pages, exports and
    the API never pay the memory for them.
    """
    from wellbeing.releases import compute

    bank = follow_up.bank_for(wave, bank=bank)
    return compute.compute_release(wave, recompute=recompute, bank=bank)


def latest_release(wave_id: int) -> Release | None:
    """The release in force for a wave: its latest version."""
    return db.session.scalar(
        sa.select(Release)
        .where(Release.wave_id == wave_id)
        .order_by(Release.version.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class ReleaseSummary:
    """What a release holds, counted, without any hidden value."""

    wave: Wave
    release: Release
    cells: int
    hidden_cells: int
    hidden_groups: int
    groups: int
    comments: int
    comment_groups: int
    reason: str


def release_summary(wave: Wave) -> ReleaseSummary:
    release = latest_release(wave.id)
    if release is None:
        raise ReleaseError(f"wave {wave.id} has no release yet")
    total, hidden = db.session.execute(
        sa.select(
            sa.func.count(), sa.func.sum(sa.case((ReleaseCell.hidden.is_(True), 1), else_=0))
        ).where(ReleaseCell.release_id == release.id)
    ).one()
    comments, comment_groups = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(ReleasedComment.unit_id))).where(
            ReleasedComment.release_id == release.id
        )
    ).one()
    audit = release.audit or {}
    return ReleaseSummary(
        wave=wave,
        release=release,
        cells=int(total or 0),
        hidden_cells=int(hidden or 0),
        hidden_groups=int(audit.get("hidden_groups", 0)),
        groups=int(audit.get("groups", 0)),
        comments=int(comments or 0),
        comment_groups=int(comment_groups or 0),
        reason=HIDDEN_REASON,
    )
