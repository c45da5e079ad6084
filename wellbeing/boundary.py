"""The request is the unit of work: one commit at its end, a rollback on any error."""

from __future__ import annotations

import logging
import math
import time

import sqlalchemy as sa
from flask import Flask, Response, make_response, render_template, request
from flask_limiter.errors import RateLimitExceeded

from wellbeing.extensions import db, limiter

logger = logging.getLogger(__name__)

# How long a client told "please try again" waits: a database restart takes a few seconds.
RETRY_AFTER_SECONDS = 5


def retry_after_seconds(exc: Exception) -> int:
    """How long a refused client should wait: until the limit it went over starts afresh."""
    if isinstance(exc, RateLimitExceeded):
        current = limiter.current_limit
        if current is not None:
            return max(1, math.ceil(current.reset_at - time.time()))
        return int(exc.limit.limit.get_expiry())
    return 60


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is away, so the client should try again: the one rule."""
    # A connection refused or cut (PostgreSQL restarting, a failover) surfaces as
    # OperationalError, InterfaceError or another driver error on an invalidated connection;
    # SQLite being busy is an OperationalError too. Anything else is a bug, not an outage.
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def _roll_back() -> None:
    """End the unit of work unwritten; a connection the database dropped has nothing to undo."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError as exc:
        logger.warning("rollback failed, the connection is dropped: %s", type(exc).__name__)
        db.session.close()


def _retry_page() -> Response:
    # Someone answering a survey gets the page in their own language and the survey's layout.
    template = "survey/retry.html" if request.blueprint == "survey" else "errors/retry.html"
    response = make_response(render_template(template), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install_request_boundary(app: Flask) -> None:
    @app.after_request
    def commit_unit_of_work(response: Response) -> Response:
        if response.status_code >= 400:
            _roll_back()
            return response
        try:
            db.session.commit()
        except sa.exc.SQLAlchemyError as exc:
            # The change is not confirmed: nothing was written, or (a reply lost in a crash) it
            # was and the once-only guards answer the retry. Raising here would skip the error
            # handlers (Flask would send a bare 500), so the retry page is answered directly.
            _roll_back()
            logger.error("commit failed, nothing written: %s", type(exc).__name__)
            return _retry_page()
        return response

    @app.errorhandler(sa.exc.DBAPIError)
    def retry_later(exc: sa.exc.DBAPIError) -> Response:
        _roll_back()
        if not database_unavailable(exc):
            raise exc
        logger.error("the database is unavailable, nothing written: %s", type(exc).__name__)
        return _retry_page()

    @app.errorhandler(404)
    def not_found(exc: Exception) -> tuple[str, int]:
        return render_template("errors/not_found.html"), 404

    @app.errorhandler(429)
    def too_many(exc: Exception) -> tuple[str, int, dict[str, str]]:
        wait = retry_after_seconds(exc)
        return render_template("errors/too_many.html"), 429, {"Retry-After": str(wait)}

    @app.errorhandler(413)
    def too_large(exc: Exception) -> tuple[str, int]:
        return render_template("errors/too_large.html"), 413

    @app.errorhandler(400)
    def bad_request(exc: Exception) -> tuple[str, int]:
        return render_template(
            "errors/bad_request.html", detail=getattr(exc, "description", "")
        ), 400
