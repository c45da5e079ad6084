"""Login accounts: creating them, checking passwords, and which units a user may see."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email

from wellbeing.auth.models import Role, User
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.types import utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
_hasher = PasswordHasher()
# Verified against when the email is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password, only for constant-time checks")


class AccountError(ValueError):
    """A user account cannot be created or changed as asked; the message says why."""


def normalise_email(raw: str) -> str:
    """The canonical lowercase form of an email address, or AccountError."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(f"{raw.strip()!r} is not a valid email address: {exc}") from exc


def check_password_rules(password: str, email: str) -> None:
    """Refuse passwords that are short or built from the account's own email."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters long")
    local = email.split("@", 1)[0]
    if local and len(local) >= 4 and local in password.lower():
        raise AccountError("the password must not contain the email address")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def set_password(user: User, password: str) -> None:
    """Give an existing account a new password, under the same rules as a new account's."""
    check_password_rules(password, user.email)
    user.password_hash = hash_password(password)
    db.session.flush()
    logger.info("user %s has a new password", user.id)


def password_matches(user: User, password: str) -> bool:
    """Whether ``password`` is the account's current one."""
    if not user.password_hash:
        return False
    try:
        return bool(_hasher.verify(user.password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the active user with this id, if any."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def find_units(paths: list[str]) -> list[Unit]:
    units = []
    for path in paths:
        unit = db.session.scalar(sa.select(Unit).where(Unit.path == path.strip().strip("/")))
        if unit is None:
            raise AccountError(f"no unit has the path {path!r}; import the roster first")
        units.append(unit)
    return units


def create_user(email: str, role: Role, password: str | None, unit_paths: list[str]) -> User:
    """A new login account. Leaders need at least one unit; others see everything."""
    address = normalise_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == address)) is not None:
        raise AccountError(f"a user with the email {address} already exists")
    if role is Role.LEADER and not unit_paths:
        raise AccountError("a leader needs at least one --unit they are responsible for")
    units = find_units(unit_paths)
    if password is not None:
        check_password_rules(password, address)
    user = User(
        email=address,
        role=role,
        password_hash=hash_password(password) if password is not None else None,
        units=units,
    )
    db.session.add(user)
    db.session.flush()
    logger.info("user %s created with role %s", user.id, role.value)
    return user


def find_user(email: str) -> User:
    """The account with this email, or AccountError."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError(f"no user has the email {email.strip()!r}")
    return user


def get_user(user_id: int) -> User:
    """The account with this id, or AccountError."""
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError(f"no user {user_id}")
    return user


def all_users() -> list[User]:
    """Every account, admins first, then coordinators and leaders, each by email."""
    ranks = {role: rank for rank, role in enumerate(Role)}
    users = db.session.scalars(sa.select(User).order_by(User.email))
    return sorted(users, key=lambda u: ranks[u.role])


def change_user(
    user: User, *, role: Role, unit_paths: list[str], active: bool, by: User
) -> list[str]:
    """Change an account's role, units and whether it may sign in; returns what changed."""
    if user.id == by.id and (role is not user.role or not active):
        raise AccountError(
            "you cannot change your own role or deactivate your own account; "
            "another administrator can"
        )
    if role is Role.LEADER and not unit_paths:
        raise AccountError("a leader needs at least one unit they are responsible for")
    units = find_units(unit_paths) if role is Role.LEADER else []
    changes = []
    if role is not user.role:
        changes.append(f"role {user.role.value} → {role.value}")
        user.role = role
    if {u.id for u in units} != {u.id for u in user.units}:
        changes.append("units " + (", ".join(u.path for u in units) or "none"))
        user.units = units
    if active != user.active:
        changes.append("active" if active else "deactivated")
        user.active = active
    db.session.flush()
    if changes:
        logger.info("user %s changed: %s", user.id, "; ".join(changes))
    return changes


def authenticate(email: str, password: str, *, allow_linked: bool = True) -> User | None:
    """The active user whose password matches, or None. Takes the same time either way.

    ``allow_linked=False`` refuses accounts linked to single sign-on, whatever their password.
    """
    address = email.strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == address))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or not user.password_hash:
        return None
    if user.oidc_subject is not None and not allow_linked:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def visible_units(user: User) -> list[Unit]:
    """The top units of a user's scope: everything for admins and coordinators."""
    if user.role in (Role.ADMIN, Role.COORDINATOR):
        return list(
            db.session.scalars(sa.select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.path))
        )
    if user.role is Role.LEADER:
        return list(user.units)
    raise AccountError(f"unknown role {user.role!r}")
