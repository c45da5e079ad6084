"""Builders for survey tests: an open wave and emailed links, made as the mailer makes them."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests import pulse_helpers as h
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation, InvitationToken, Wave
from wellbeing.pulse.tokens import new_token, token_hash
from wellbeing.types import utcnow


def open_wave(n: int = 6, *, locale: str = "en", team: str = "North") -> Wave:
    """A wave opened now (so its links are live) for ``n`` people in one team."""
    h.staff(team, n, locale=locale)
    return pulse.open_wave(h.program(), utcnow())


def invitations(wave: Wave) -> list[Invitation]:
    return list(
        db.session.scalars(
            sa.select(Invitation).where(Invitation.wave_id == wave.id).order_by(Invitation.id)
        )
    )


def link_token(invitation: Invitation) -> str:
    """A fresh emailed-link token for ``invitation``, stored as the mailer stores it: hashed."""
    token = new_token()
    db.session.add(
        InvitationToken(
            token_hash=token_hash(token),
            invitation_id=invitation.id,
            expires_at=invitation.wave.closes_at,
        )
    )
    db.session.flush()
    return token


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)
