"""The request is the unit of work: one commit at its end, a rollback on any error."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    session,
)
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import IntegerConverter

from wellbeing.extensions import db, limiter

logger = logging.getLogger(__name__)

# How long a client told "please try again" waits: a database restart takes a few seconds.
RETRY_AFTER_SECONDS = 5
# Row ids are 32-bit integers (PostgreSQL's ``integer``): a larger id names no row.
MAX_ID = 2**31 - 1
# PostgreSQL text cannot hold NUL, and no form or link of the product sends one.
UNSTORABLE = "\x00"


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in a route: a row id, so a number too large for one matches no route (404)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


def install_url_converters(app: Flask) -> None:
    """Before any route is added: every ``int`` in a route is a row id."""
    app.url_map.converters["int"] = RowIdConverter


def _holds_unstorable(fields: Iterable[tuple[str, str]]) -> bool:
    return any(UNSTORABLE in key or UNSTORABLE in value for key, value in fields)


def refuse_unstorable_text() -> None:
    """Refuse, before any view reads it, a request whose address or form holds a NUL."""
    fields = list(request.args.items(multi=True))
    if request.method in ("POST", "PUT", "PATCH"):
        fields += request.form.items(multi=True)
    if UNSTORABLE in request.path or _holds_unstorable(fields):
        abort(400, description="The request holds a null character (\\0), which no field can take.")


def is_row_id(number: int) -> bool:
    """Whether a number could be a row's id; one outside this range names no row."""
    return 1 <= number <= MAX_ID


def query_id(name: str) -> int | None:
    """An id from the query string, None when absent or not a number; 404 when no row has it."""
    value = request.args.get(name, type=int)
    if value is not None and not is_row_id(value):
        abort(404)
    return value


# The JSON API answers in JSON even where no route matches (an id too large, a typo).
JSON_PREFIX = "/api/"
NOT_FOUND_MESSAGE = "No such thing in your scope."


def json_error(status: int, error: str, message: str) -> Response:
    """An error as the JSON API gives every error: a code word and a sentence."""
    response = jsonify(error=error, message=message)
    response.status_code = status
    return response


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


def _forget_session_changes() -> None:
    """The session goes back to what the request brought: it must not say what was not saved."""
    brought = current_app.session_interface.open_session(current_app, request)
    session.clear()
    session.update(brought or {})


def _retry_page() -> Response:
    if request.path.startswith(JSON_PREFIX):
        response = json_error(503, "unavailable", "The database is away; call again shortly.")
    else:
        # Someone answering a survey gets the page in their language and the survey's layout.
        template = "survey/retry.html" if request.blueprint == "survey" else "errors/retry.html"
        response = make_response(render_template(template), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install_request_boundary(app: Flask) -> None:
    app.before_request(refuse_unstorable_text)

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
            _forget_session_changes()
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
    def not_found(exc: Exception) -> ResponseReturnValue:
        if request.path.startswith(JSON_PREFIX):
            return json_error(404, "not_found", NOT_FOUND_MESSAGE)
        return render_template("errors/not_found.html"), 404

    @app.errorhandler(405)
    def wrong_method(exc: MethodNotAllowed) -> ResponseReturnValue:
        if not request.path.startswith(JSON_PREFIX):
            return exc
        response = json_error(405, "method_not_allowed", "The API only reads: use GET.")
        response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        return response

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
