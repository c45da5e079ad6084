"""The request is the unit of work: one commit at its end, a rollback on any error."""

from __future__ import annotations

import logging
import math
import time

import sqlalchemy as sa
from flask import Flask, Response, render_template
from flask_limiter.errors import RateLimitExceeded

from wellbeing.extensions import db, limiter

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """The database could not take the change; nothing was written and the client may retry."""


def retry_after_seconds(exc: Exception) -> int:
    """How long a refused client should wait: until the limit it went over starts afresh."""
    if isinstance(exc, RateLimitExceeded):
        current = limiter.current_limit
        if current is not None:
            return max(1, math.ceil(current.reset_at - time.time()))
        return int(exc.limit.limit.get_expiry())
    return 60


def install_request_boundary(app: Flask) -> None:
    @app.after_request
    def commit_unit_of_work(response: Response) -> Response:
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except sa.exc.SQLAlchemyError as exc:
            db.session.rollback()
            logger.error("commit failed, nothing written: %s", type(exc).__name__)
            raise RetryLater from exc
        return response

    @app.errorhandler(RetryLater)
    @app.errorhandler(sa.exc.OperationalError)
    def retry_later(exc: Exception) -> tuple[str, int, dict[str, str]]:
        db.session.rollback()
        return render_template("errors/retry.html"), 503, {"Retry-After": "5"}

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
