"""The access log: every view of results is written down (who, what, in what scope, when).

Blueprints that show results call ``log_views(bp, channel)``; each successful response adds
one record to the request's unit of work, so it is committed with the request or not at all.
Only admins read the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, Response, g, request
from flask_login import current_user

from wellbeing.auth.access import has_permission
from wellbeing.auth.models import AccessRecord, User
from wellbeing.extensions import db

logger = logging.getLogger(__name__)

CHANNELS = ("page", "api", "export")
PAGE_SIZE = 100


def viewer() -> User | None:
    """The signed-in user, or the API token's owner for API requests."""
    api_user: User | None = g.get("api_user")
    if api_user is not None:
        return api_user
    if current_user and current_user.is_authenticated:
        user: User = current_user._get_current_object()
        return user
    return None


def scope_of(user: User) -> str:
    """The user's scope in words: every unit, or the paths of the units they lead."""
    if has_permission(user, "see_all_units"):
        return "all units"
    return ", ".join(u.path for u in user.units) or "no units"


def record(user: User, channel: str, what: str) -> AccessRecord:
    """Add one access record to the unit of work."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    entry = AccessRecord(
        user_id=user.id,
        user_email=user.email,
        role=user.role.value,
        channel=channel,
        what=what[:500],
        scope=scope_of(user)[:1000],
    )
    db.session.add(entry)
    return entry


def log_views(bp: Blueprint, channel: str) -> None:
    """Record every successful response of ``bp``; refusals go to the application log."""

    @bp.after_request
    def write_access_record(response: Response) -> Response:
        user = viewer()
        if user is None:
            return response
        what = f"{request.method} {request.full_path.rstrip('?')}"
        if response.status_code < 400:
            record(user, channel, what)
        elif response.status_code == 404:
            logger.warning("user %s was refused %s", user.id, what)
        return response


@dataclass(frozen=True)
class AccessPage:
    records: list[AccessRecord]
    page: int
    has_next: bool
    user_email: str
    channel: str


def read(page: int = 1, user_email: str = "", channel: str = "") -> AccessPage:
    """A page of the log, newest first, optionally for one user or one channel."""
    query = sa.select(AccessRecord).order_by(AccessRecord.at.desc(), AccessRecord.id.desc())
    if user_email:
        query = query.where(AccessRecord.user_email == user_email.strip().lower())
    if channel in CHANNELS:
        query = query.where(AccessRecord.channel == channel)
    page = max(1, page)
    rows = list(db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return AccessPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE, user_email, channel)
