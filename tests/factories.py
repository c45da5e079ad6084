"""Small builders for test data, written through the same services the product uses."""

from __future__ import annotations

from wellbeing.auth import service as accounts
from wellbeing.auth.models import Role, User
from wellbeing.extensions import db
from wellbeing.org.models import Person, Unit
from wellbeing.org.service import ensure_unit

PASSWORD = "correct horse battery staple"


def unit(path: str) -> Unit:
    return ensure_unit(path)


def person(email: str, path: str, **fields: object) -> Person:
    p = Person(email=email.lower(), unit=ensure_unit(path), **fields)
    db.session.add(p)
    db.session.flush()
    return p


def user(email: str, role: Role = Role.ADMIN, units: list[str] | None = None) -> User:
    for path in units or []:
        ensure_unit(path)
    return accounts.create_user(email, role, PASSWORD, units or [])
