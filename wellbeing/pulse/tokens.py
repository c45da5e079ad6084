"""Survey link tokens: random, single use, and stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app

TOKEN_BYTES = 32


def derive_key(purpose: str) -> bytes:
    """A key for one purpose, derived from the deployment's secret key."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"wellbeing:{purpose}".encode(), hashlib.sha256).digest()


def new_token() -> str:
    """A fresh unguessable token for one emailed link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The keyed hash stored in place of the token (64 hex characters)."""
    return hmac.new(derive_key("invitation-token"), token.encode(), hashlib.sha256).hexdigest()


def looks_like_token(value: str) -> bool:
    """Cheap shape check before any database work."""
    return 20 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)
