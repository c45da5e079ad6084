"""Signed-in sessions end after a spell without activity, and when the account's password changes.

The session cookie carries when it was last used and a fingerprint of the password it was
opened with; both are signed with the secret key, so an old copy of the cookie stops working
once it has been idle too long, and every copy stops working when the password is changed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user, user_logged_in

from wellbeing.auth.models import User

LAST_SEEN = "_seen"
OPENED_WITH = "_opened_with"
# Requests that never need a signed-in user, and must not count as activity.
UNTRACKED_ENDPOINTS = frozenset({"static", "assets.plotly_js", "health.healthz"})


def clock() -> float:
    """Seconds since the epoch; tests replace it to move time on."""
    return time.time()


def install_session_rules(app: Flask) -> None:
    user_logged_in.connect(_stamp_new_session, app)
    app.before_request(end_stale_sessions)


def password_stamp(user: User) -> str:
    """A short keyed fingerprint of the password hash: it changes whenever the password does."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, (user.password_hash or "").encode(), hashlib.sha256).hexdigest()[:16]


def keep_signed_in(user: User) -> None:
    """After people change their own password, this session goes on under the new one."""
    session[OPENED_WITH] = password_stamp(user)


def _stamp_new_session(app: Flask, user: User, **extra: object) -> None:
    session[LAST_SEEN] = int(clock())
    session[OPENED_WITH] = password_stamp(user)


def end_stale_sessions() -> ResponseReturnValue | None:
    """Sign out a session that was idle too long or opened with an old password."""
    if "_user_id" not in session or request.endpoint in UNTRACKED_ENDPOINTS:
        return None
    now = int(clock())
    seen = session.get(LAST_SEEN)
    idle_minutes = float(current_app.config["SESSION_IDLE_MINUTES"])
    if not isinstance(seen, int) or now - seen > idle_minutes * 60:
        return _sign_out(
            f"You were signed out after {idle_minutes:g} minutes without activity. "
            "Sign in again to carry on."
        )
    if current_user.is_authenticated and session.get(OPENED_WITH) != password_stamp(current_user):
        return _sign_out("Your password was changed. Sign in with the new one.")
    session[LAST_SEEN] = now
    return None


def _sign_out(message: str) -> ResponseReturnValue | None:
    logout_user()
    session.pop(LAST_SEEN, None)
    session.pop(OPENED_WITH, None)
    view = current_app.view_functions.get(request.endpoint or "")
    needs_login = bool(getattr(view, "needs_login", False))
    if needs_login or (request.endpoint == "auth.login" and request.method == "GET"):
        flash(message, "info")
    if not needs_login:
        # A public page (a survey, the login page) simply goes on without the account.
        return None
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))
