"""Who may reach what: the one place that decides it.

The raising checks are the rule; the yes/no helpers call them and catch, so the two can never
disagree. Where a thing's existence is itself sensitive the answer is 404, not 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import flask_login
from flask import abort
from flask_login import current_user

from wellbeing.auth.models import Role, User
from wellbeing.org.models import PATH_SEPARATOR, Unit

View = TypeVar("View", bound=Callable[..., object])

# What each role may do. Unknown roles raise: nothing defaults to allowed.
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {"manage_programs", "manage_roster", "see_all_units", "manage_users", "read_access_log"}
    ),
    Role.COORDINATOR: frozenset({"manage_programs", "manage_roster", "see_all_units"}),
    Role.LEADER: frozenset(),
}


class AccessDenied(Exception):
    """The user may not do or see this."""


def login_required(view: View) -> View:
    """Flask-Login's guard, with its type kept for the checker.

    The view is marked, so a session that ends on the way in can send its user to sign in.
    """
    guarded = flask_login.login_required(view)
    guarded.needs_login = True
    return cast(View, guarded)


def check_permission(user: User, permission: str) -> None:
    """Raise AccessDenied unless the user's role grants ``permission``."""
    try:
        granted = PERMISSIONS[user.role]
    except KeyError as exc:
        raise AccessDenied(f"unknown role {user.role!r}") from exc
    if permission not in granted:
        raise AccessDenied(f"{user.role.value} may not {permission}")


def has_permission(user: User, permission: str) -> bool:
    try:
        check_permission(user, permission)
    except AccessDenied:
        return False
    return True


def check_unit(user: User, unit: Unit) -> None:
    """Raise AccessDenied unless ``unit`` is in the user's scope (theirs, or below theirs)."""
    if not in_scope(user, unit.id, unit.path):
        raise AccessDenied("unit outside the user's scope")


def in_scope(user: User, unit_id: int, unit_path: str) -> bool:
    """Whether a unit is in the user's scope; see ``scope_of``."""
    return scope_of(user)(unit_id, unit_path)


def scope_of(user: User) -> Callable[[int, str], bool]:
    """The scope rule, worked out once for a user: a test of a unit's id and path.

    Everything for those who see all units, else the user's own units and everything below them.
    """
    if has_permission(user, "see_all_units"):
        return lambda unit_id, unit_path: True
    tops = [(top.id, top.path + PATH_SEPARATOR) for top in user.units]

    def covers(unit_id: int, unit_path: str) -> bool:
        return any(unit_id == top or unit_path.startswith(below) for top, below in tops)

    return covers


def can_see_unit(user: User, unit: Unit) -> bool:
    try:
        check_unit(user, unit)
    except AccessDenied:
        return False
    return True


def requires(permission: str) -> Callable[[View], View]:
    """A view decorator: signed in and holding ``permission``, else 404."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> object:
            try:
                check_permission(current_user, permission)
            except AccessDenied:
                abort(404)
            return view(*args, **kwargs)

        return login_required(cast(View, guarded))

    return decorate


def template_helpers() -> dict[str, Callable[[str], bool]]:
    """``can('permission')`` in templates, for showing only the links a user may follow."""

    def can(permission: str) -> bool:
        return bool(current_user.is_authenticated) and has_permission(current_user, permission)

    return {"can": can}
