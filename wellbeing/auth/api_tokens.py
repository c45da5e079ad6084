"""Personal API tokens: shown once when issued, stored only as a hash, revocable at any time."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from flask import request

from wellbeing.auth.models import ApiToken, User
from wellbeing.extensions import db
from wellbeing.types import utcnow

PREFIX = "wbp_"
MAX_TOKEN_LENGTH = 200


class TokenError(ValueError):
    """The token cannot be issued or revoked; the message says why."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(email: str, label: str = "") -> tuple[ApiToken, str]:
    """A new token for an active user; the plain token is returned once and never stored."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise TokenError(f"no user {email!r}; create one with `wellbeing users create`")
    if not user.active:
        raise TokenError(f"{user.email} is not active")
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, token_hash=_digest(plain), label=label.strip()[:100])
    db.session.add(token)
    db.session.flush()
    return token, plain


def tokens_of(email: str) -> list[ApiToken]:
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise TokenError(f"no user {email!r}")
    return list(
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        )
    )


def revoke(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise TokenError(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def rate_limit_key() -> str:
    """Whose budget an API call spends: its token's (by digest, never the token), else its address."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "token:" + _digest(header[len("Bearer ") :].strip()[:MAX_TOKEN_LENGTH])[:32]
    return "address:" + (request.remote_addr or "unknown")


def authenticate(header: str | None) -> User | None:
    """The active user an ``Authorization: Bearer …`` header belongs to, else None."""
    if not header or not header.startswith("Bearer "):
        return None
    plain = header[len("Bearer ") :].strip()
    if not plain.startswith(PREFIX) or len(plain) > MAX_TOKEN_LENGTH:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(plain)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    token.last_used_at = utcnow()
    return token.user
