"""Single sign-on: a person's verified claims become their account, role and units.

The provider is the source of truth for the accounts it signs in. The first sign-in creates the
account, without a password; every sign-in after that rewrites its role and units from the
person's groups through the group map. An existing password account with the same (verified)
email is linked on its first single sign-on and from then on follows the provider too; it keeps
its password only where ``WELLBEING_OIDC_KEEP_PASSWORDS`` says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, session, url_for

from wellbeing import config as settings
from wellbeing.auth import oidc, service
from wellbeing.auth.group_map import Grant, GroupMap
from wellbeing.auth.models import Role, User
from wellbeing.auth.oidc import SignInError
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.types import utcnow

logger = logging.getLogger(__name__)

_NEXT_KEY = "sso_next"


class NotAllowed(SignInError):
    """The provider vouched for the person, but this deployment does not let them in."""

    status = 403
    title = "You cannot use Wellbeing Pulse yet"
    summary = "Your sign-in worked, but it does not give you access to Wellbeing Pulse."
    advice = (
        "Ask your administrator to add you to a Wellbeing Pulse group at your organisation's "
        "sign-in provider, then sign in again."
    )


class NoMappedGroup(NotAllowed):
    """None of the person's groups is in the group map."""


class UnitsMissing(NotAllowed):
    """The person's leader groups name only units that are not on the roster."""

    advice = (
        "Ask your administrator to check the Wellbeing Pulse group map: the units your group "
        "gives you are not in Wellbeing Pulse yet."
    )


class EmailUnusable(NotAllowed):
    """The provider sent no email address, an invalid one, or one it has not verified."""

    title = "Your email address could not be used"
    advice = (
        "Verify your email address with your organisation's sign-in provider, or ask your "
        "administrator to, then sign in again."
    )


class AccountUnavailable(NotAllowed):
    """The matching account is deactivated, or already belongs to another sign-in."""

    title = "This account cannot be signed in to"
    advice = "Ask your administrator of Wellbeing Pulse to look at your account."


def enabled() -> bool:
    """Whether this deployment offers single sign-on."""
    return settings.sso_enabled(current_app.config)


def provider_name() -> str:
    return str(current_app.config["OIDC_PROVIDER_NAME"])


def callback_url() -> str:
    """The address the provider sends people back to; register it with the provider."""
    return str(current_app.config["BASE_URL"]).rstrip("/") + url_for("auth.sso_callback")


def keep_passwords() -> bool:
    return bool(current_app.config["OIDC_KEEP_PASSWORDS"])


def start(next_path: str) -> Response:
    """Send the browser to the provider; ``next_path`` is where to land once signed in."""
    session[_NEXT_KEY] = next_path
    try:
        return oidc.authorization_redirect(callback_url())
    except SignInError as exc:
        _log_refusal(exc)
        raise


def landing_path(default: str) -> str:
    """Where the sign-in started from (a path already checked to be on this site)."""
    return str(session.pop(_NEXT_KEY, "") or default)


def complete_sign_in() -> User:
    """The account for the callback's verified claims, created or brought up to date."""
    try:
        return account_for(oidc.verified_claims())
    except SignInError as exc:
        _log_refusal(exc)
        raise


def account_for(claims: Mapping[str, Any]) -> User:
    """Find, link or create the account these verified claims describe, with its grant."""
    subject = str(claims["sub"])
    email = _verified_email(claims)
    groups = _groups(claims)
    grant = _group_map().resolve(groups)
    if grant is None:
        raise NoMappedGroup(
            "no mapped group",
            f"{email} (groups: {', '.join(groups) or 'none'})",
            message=f"You signed in as {email}, but none of your groups gives access to "
            "Wellbeing Pulse.",
        )
    units = _units(grant, email)
    user = _find_or_link(subject, email)
    if user is None:
        try:
            user = service.create_user(email, grant.role, None, [u.path for u in units])
        except service.AccountError as exc:
            raise AccountUnavailable("account not created", str(exc)) from exc
        user.oidc_subject = subject
        logger.info(
            "user %s created by single sign-on from groups %s", user.id, ", ".join(grant.groups)
        )
    else:
        _apply_grant(user, grant, units)
    user.last_login_at = utcnow()
    db.session.flush()
    logger.info(
        "user %s signed in with single sign-on as %s (scope: %s)",
        user.id,
        user.role.value,
        ", ".join(u.path for u in user.units) or "all units",
    )
    return user


def _group_map() -> GroupMap:
    group_map: GroupMap = current_app.config["OIDC_GROUP_MAP"]
    return group_map


def _verified_email(claims: Mapping[str, Any]) -> str:
    raw = claims.get("email")
    if not isinstance(raw, str) or not raw.strip():
        raise EmailUnusable(
            "no email",
            f"subject {claims.get('sub')!r} has no email claim",
            message="Your sign-in provider did not share your email address with Wellbeing "
            "Pulse (the 'email' scope may be missing).",
        )
    verified = claims.get("email_verified", True)
    if verified is not True and str(verified).lower() != "true":
        raise EmailUnusable(
            "email not verified",
            raw,
            message=f"Your sign-in provider says {raw} is not verified yet.",
        )
    try:
        return service.normalise_email(raw)
    except service.AccountError as exc:
        raise EmailUnusable(
            "invalid email", str(exc), message=f"{raw} is not a usable email address."
        ) from exc


def _groups(claims: Mapping[str, Any]) -> list[str]:
    """The person's groups from the configured claim; a dotted name reaches into objects."""
    value: Any = claims
    for part in str(current_app.config["OIDC_GROUPS_CLAIM"]).split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [g for g in value if isinstance(g, str)]
    return []


def _units(grant: Grant, email: str) -> list[Unit]:
    """The grant's units that exist on the roster; a leader with none of them is refused."""
    if not grant.unit_paths:
        return []
    units = list(
        db.session.scalars(
            sa.select(Unit).where(Unit.path.in_(grant.unit_paths)).order_by(Unit.path)
        )
    )
    if missing := sorted(set(grant.unit_paths) - {u.path for u in units}):
        logger.warning(
            "group map: groups %s name units not on the roster: %s",
            ", ".join(grant.groups),
            "; ".join(missing),
        )
    if grant.role is Role.LEADER and not units:
        raise UnitsMissing(
            "units missing",
            f"{email}: groups {', '.join(grant.groups)}",
            message="Your group gives you units that are not in Wellbeing Pulse yet.",
        )
    return units


def _find_or_link(subject: str, email: str) -> User | None:
    """The account already linked to ``subject``, else an unlinked one with ``email``."""
    user = db.session.scalar(sa.select(User).where(User.oidc_subject == subject))
    holder = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None and holder is not None:
        if holder.oidc_subject is not None:
            raise AccountUnavailable(
                "email linked to another subject",
                f"user {holder.id}",
                message=f"The account for {email} already belongs to another single sign-on "
                "identity.",
            )
        user = holder
        user.oidc_subject = subject
        logger.info("user %s linked to single sign-on", user.id)
    elif user is not None and user.email != email:
        if holder is not None:
            raise AccountUnavailable(
                "email taken",
                f"user {user.id} would become {email}, held by user {holder.id}",
                message=f"Another account already uses {email}.",
            )
        logger.info("user %s: email changed at the sign-in provider", user.id)
        user.email = email
    if user is not None and not user.active:
        raise AccountUnavailable(
            "deactivated", f"user {user.id}", message=f"The account for {email} is deactivated."
        )
    return user


def _apply_grant(user: User, grant: Grant, units: list[Unit]) -> None:
    """The provider decides: role and units become what the groups give now."""
    before = (user.role, [u.path for u in user.units])
    user.role = grant.role
    user.units = units
    after = (user.role, [u.path for u in units])
    if before != after:
        logger.info(
            "user %s: role %s -> %s, units [%s] -> [%s] from groups %s",
            user.id,
            before[0].value,
            after[0].value,
            "; ".join(before[1]),
            "; ".join(after[1]),
            ", ".join(grant.groups),
        )
    if user.password_hash is not None and not keep_passwords():
        user.password_hash = None
        logger.info("user %s: password removed, single sign-on only", user.id)


def _log_refusal(exc: SignInError) -> None:
    logger.warning(
        "single sign-on refused with %s (%s)%s",
        exc.status,
        exc.reason,
        f": {exc.detail}" if exc.detail else "",
    )
