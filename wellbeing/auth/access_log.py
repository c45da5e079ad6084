"""The access log: every view of results and every change is written down (who, what, when).

Blueprints that show results call ``log_views(bp, channel)``; blueprints whose forms change
things (programs, waves, the roster, users and tokens, actions, practices) call
``log_changes(bp)``; command-line commands that change things are decorated with ``audited``.
Each record joins the unit of work it describes, so it is committed with that work or not at
all, and a request or command that wrote nothing leaves no change record. Only admins read
the log.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

import click
import sqlalchemy as sa
from flask import Blueprint, Response, g, request
from flask_login import current_user
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from wellbeing.auth.access import has_permission
from wellbeing.auth.models import AccessRecord, User
from wellbeing.boundary import MAX_ID
from wellbeing.extensions import db

logger = logging.getLogger(__name__)

CHANNELS = ("page", "api", "export", "change")
PAGE_SIZE = 100
CHANGE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Form fields and command options whose values never reach the log.
SECRET_WORDS = ("csrf", "password", "confirm", "current", "token", "secret")
FIELD_CHARS = 60
WHAT_CHARS = 500
_WROTE = "wellbeing.wrote"

P = ParamSpec("P")
R = TypeVar("R")


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
    return _add(user.id, user.email, user.role.value, scope_of(user), channel, what)


def _add(
    user_id: int | None, email: str, role: str, scope: str, channel: str, what: str
) -> AccessRecord:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    entry = AccessRecord(
        user_id=user_id,
        user_email=email[:320],
        role=role[:32],
        channel=channel,
        what=what[:WHAT_CHARS],
        scope=scope[:1000],
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
            if request.method not in CHANGE_METHODS:
                record(user, channel, what)  # a form's post is logged as a change instead
        elif response.status_code == 404:
            logger.warning("user %s was refused %s", user.id, what)
        return response


def log_changes(bp: Blueprint) -> None:
    """Record every request of ``bp`` that changed something: who, what they sent, and when."""

    @bp.before_request
    def forget_earlier_writes() -> None:
        db.session().info.pop(_WROTE, None)

    @bp.after_request
    def write_change_record(response: Response) -> Response:
        user = viewer()
        if (
            user is None
            or request.method not in CHANGE_METHODS
            or response.status_code >= 400
            or not _wrote_anything(db.session())
        ):
            return response
        record(user, "change", _describe_request(response))
        return response


def audited(command: Callable[P, R]) -> Callable[P, R]:
    """A command-line command whose changes are logged under the operator's account name.

    The record is added just before the command's first commit of a change, so a command that
    fails, rolls back or only checks (``--dry-run``) leaves none.
    """

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        what = _describe_command(click.get_current_context())
        session = db.session()
        session.info.pop(_WROTE, None)
        added = False

        def add_record(committing: Session) -> None:
            nonlocal added
            if added or not _wrote_anything(committing):
                return
            added = True
            _add(None, f"command line ({_operator()})", "operator", "all units", "change", what)

        sa.event.listen(session, "before_commit", add_record)
        try:
            return command(*args, **kwargs)
        finally:
            sa.event.remove(session, "before_commit", add_record)

    return run


@sa.event.listens_for(Session, "after_flush")
def _note_flush(session: Session, context: UOWTransaction) -> None:
    if session.new or session.dirty or session.deleted:
        session.info[_WROTE] = True


@sa.event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def _wrote_anything(session: Session) -> bool:
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= FIELD_CHARS else text[: FIELD_CHARS - 1] + "…"


def _describe_request(response: Response) -> str:
    """What was asked, where it led, and the fields sent (never passwords or tokens)."""
    what = f"{request.method} {request.path}"
    if response.status_code in (301, 302, 303, 307, 308) and response.location:
        what += f" → {response.location}"
    fields = [
        f"{name}={_short(', '.join(request.form.getlist(name)))}"
        for name in request.form
        if not _secret(name)
    ]
    return what + (f" ({'; '.join(fields)})" if fields else "")


def _describe_command(ctx: click.Context) -> str:
    """The command and its arguments and options as typed (never a password or token)."""
    parts = ctx.command_path.split()[1:]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or value is False or value == () or value == []:
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
        if isinstance(param, click.Argument):
            parts.append(shown)
            continue
        flag = max(param.opts, key=len)
        if value is True:
            parts.append(flag)
        else:
            parts.append(f"{flag}=" + ("…" if _secret(param.name or "") else shown))
    return " ".join(parts)


def _operator() -> str:
    """The server account that ran a command, as far as the system can tell."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass(frozen=True)
class AccessPage:
    records: list[AccessRecord]
    page: int
    has_next: bool
    user_email: str
    channel: str


# Past this the offset would not fit the database's integers; no log is that long.
LAST_PAGE = MAX_ID // PAGE_SIZE


def read(page: int = 1, user_email: str = "", channel: str = "") -> AccessPage:
    """A page of the log, newest first, optionally for one user or one channel."""
    query = sa.select(AccessRecord).order_by(AccessRecord.at.desc(), AccessRecord.id.desc())
    if user_email:
        query = query.where(AccessRecord.user_email == user_email.strip().lower())
    if channel in CHANNELS:
        query = query.where(AccessRecord.channel == channel)
    page = min(max(1, page), LAST_PAGE)
    rows = list(db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return AccessPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE, user_email, channel)
