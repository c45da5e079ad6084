"""``/api/v1``: released results as JSON, for a personal token, within the owner's scope.

Read-only. Every call is authenticated by ``Authorization: Bearer <token>``, answers 404 for
anything outside the token owner's scope, and is written to the access log. ``openapi.yaml``
beside this module describes every route; a test holds the two together.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import BadRequest

from wellbeing.auth import api_tokens
from wellbeing.auth.access import AccessDenied
from wellbeing.auth.access_log import log_views
from wellbeing.auth.models import User
from wellbeing.boundary import (
    MAX_ID,
    NOT_FOUND_MESSAGE,
    is_row_id,
    json_error,
    retry_after_seconds,
)
from wellbeing.extensions import csrf, limiter
from wellbeing.releases.gate import ReleasedCell, UnknownRequest, released_cells, released_comments
from wellbeing.reports import service
from wellbeing.reports.runchart import RunChart

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
log_views(bp, "api")


def _calls_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


# One budget per token across the whole API (per address for calls without a token); going
# over it answers a JSON 429. Tokens are far too long to guess, so failures need no count.
limiter.shared_limit(_calls_limit, scope="api", key_func=api_tokens.rate_limit_key)(bp)

MAX_FILTER_VALUES = 50
DESCRIPTION = Path(__file__).with_name("openapi.yaml")


def _viewer() -> User:
    user: User = g.api_user
    return user


@bp.before_request
def authenticate() -> ResponseReturnValue | None:
    user = api_tokens.authenticate(request.headers.get("Authorization"))
    if user is None:
        response = jsonify(
            error="unauthorized",
            message="Send a personal token as 'Authorization: Bearer <token>'. "
            "An administrator issues one with: wellbeing users token EMAIL",
        )
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="wellbeing"'
        return response
    g.api_user = user
    return None


@bp.errorhandler(service.NotInScope)
@bp.errorhandler(AccessDenied)
def not_found(exc: Exception) -> ResponseReturnValue:
    return json_error(404, "not_found", NOT_FOUND_MESSAGE)


@bp.errorhandler(UnknownRequest)
def unknown(exc: UnknownRequest) -> ResponseReturnValue:
    return json_error(400, "bad_request", str(exc))


@bp.errorhandler(BadRequest)
def bad_request(exc: BadRequest) -> ResponseReturnValue:
    return json_error(400, "bad_request", exc.description or "The request could not be read.")


@bp.errorhandler(404)
def no_route(exc: Exception) -> ResponseReturnValue:
    return json_error(404, "not_found", NOT_FOUND_MESSAGE)


@bp.errorhandler(RateLimitExceeded)
def too_many(exc: RateLimitExceeded) -> ResponseReturnValue:
    response = jsonify(
        error="too_many_requests",
        message=f"Too many requests ({exc.description}). Wait, then try again.",
    )
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after_seconds(exc))
    return response


def cell_json(cell: ReleasedCell) -> dict[str, Any]:
    """A released cell as the API gives it; hidden cells carry only their reason."""
    return {
        "cell_id": cell.cell_id,
        "wave_id": cell.wave_id,
        "release_id": cell.release_id,
        "unit_id": cell.unit_id,
        "unit_path": cell.unit_path,
        "scope": cell.scope.value,
        "cut": cell.cut,
        "cut_value": cell.cut_value,
        "measure": cell.measure,
        "metric": cell.metric,
        "value": cell.value,
        "ci_low": cell.ci_low,
        "ci_high": cell.ci_high,
        "n_band": cell.n_band,
        "hidden": cell.hidden,
        "reason": cell.reason,
        "change": cell.change,
        "change_value": cell.change_value,
    }


def runchart_json(run: RunChart) -> dict[str, Any]:
    return {
        "points": run.points,
        "evaluated": run.evaluated,
        "median": run.median,
        "longest_run": run.longest_run,
        "run_limit": run.run_limit,
        "run_side": run.run_side,
        "shift": run.shift,
        "crossings": run.crossings,
        "crossings_minimum": run.crossings_minimum,
        "too_few_crossings": run.too_few_crossings,
        "possible_trend": run.possible_trend,
        "summary": run.summary(),
    }


def _wave_json(wave: service.WaveInfo) -> dict[str, Any]:
    return {
        "id": wave.id,
        "program": wave.program_key,
        "sequence": wave.sequence,
        "scheduled_for": wave.iso,
        "cells": url_for("api.wave_cells", wave_id=wave.id),
    }


def _id(name: str) -> int | None:
    """The id a query parameter names, if given; anything but a row id is refused (400)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and is_row_id(int(raw))):
        raise UnknownRequest(f"{name} must be an id, a whole number from 1 to {MAX_ID}")
    return int(raw)


def _filter(name: str) -> list[str] | None:
    values = [v[:64] for v in request.args.getlist(name) if v][:MAX_FILTER_VALUES]
    return values or None


def _program_waves() -> tuple[Any, list[service.WaveInfo]]:
    key = request.args.get("program")
    program = service.choose_program(key[:64] if key else None)
    return program, service.released_waves(program) if program else []


@bp.get("/")
def index() -> ResponseReturnValue:
    return jsonify(
        version=1,
        viewer={"email": _viewer().email, "role": _viewer().role.value},
        links={
            "programs": url_for("api.programs"),
            "units": url_for("api.units"),
            "waves": url_for("api.waves"),
            "heatmap": url_for("api.heatmap"),
            "openapi": url_for("api.openapi"),
        },
    )


@cache
def description() -> dict[str, Any]:
    """The OpenAPI description of this API, read once from ``openapi.yaml``."""
    loaded: dict[str, Any] = yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))
    return loaded


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(description())


@bp.get("/programs")
def programs() -> ResponseReturnValue:
    return jsonify(
        programs=[
            {"key": p.key, "name": p.name, "waves": url_for("api.waves", program=p.key)}
            for p in service.released_programs()
        ]
    )


@bp.get("/units")
def units() -> ResponseReturnValue:
    return jsonify(
        units=[
            {
                "id": u.id,
                "path": u.path,
                "name": u.name,
                "parent_id": u.parent_id,
                "depth": u.depth,
                "trends": url_for("api.unit_trends", unit_id=u.id),
            }
            for u in service.units_in_scope(_viewer())
        ]
    )


@bp.get("/waves")
def waves() -> ResponseReturnValue:
    program, found = _program_waves()
    return jsonify(program=program.key if program else None, waves=[_wave_json(w) for w in found])


def _released_wave(wave_id: int) -> service.WaveInfo:
    for program in service.released_programs():
        for wave in service.released_waves(program):
            if wave.id == wave_id:
                return wave
    raise service.NotInScope(f"no released wave {wave_id}")


@bp.get("/waves/<int:wave_id>/cells")
def wave_cells(wave_id: int) -> ResponseReturnValue:
    unit_id = _id("unit")
    wave = _released_wave(wave_id)
    cells = released_cells(
        _viewer(),
        wave_id=wave.id,
        unit_id=unit_id,
        scope=request.args.get("scope") or None,
        cut=request.args.get("cut"),
        measures=_filter("measure"),
        metrics=_filter("metric"),
    )
    return jsonify(wave=_wave_json(wave), cells=[cell_json(c) for c in cells])


@bp.get("/waves/<int:wave_id>/comments")
def wave_comments(wave_id: int) -> ResponseReturnValue:
    unit_id = _id("unit")
    wave = _released_wave(wave_id)
    comments = released_comments(_viewer(), wave_id=wave.id, unit_id=unit_id)
    return jsonify(
        wave=_wave_json(wave),
        comments=[
            {
                "unit_id": c.unit_id,
                "unit_path": c.unit_path,
                "body": c.body,
                "topics": list(c.topics),
            }
            for c in comments
        ],
    )


@bp.get("/units/<int:unit_id>/trends")
def unit_trends(unit_id: int) -> ResponseReturnValue:
    unit = service.unit_for(_viewer(), unit_id)
    program, found = _program_waves()
    trends = service.unit_trends(_viewer(), unit, found)
    return jsonify(
        unit={"id": unit.id, "path": unit.path},
        program=program.key if program else None,
        waves=[_wave_json(w) for w in found],
        trends=[
            {
                "measure": t.measure,
                "metric": t.metric,
                "name": t.name,
                "points": [
                    {"wave_id": p.wave.id, "cell": cell_json(p.cell) if p.cell else None}
                    for p in t.points
                ],
                "runchart": runchart_json(t.runchart),
            }
            for t in trends
            if t.has_data
        ],
    )


@bp.get("/heatmap")
def heatmap() -> ResponseReturnValue:
    key = request.args.get("program")
    report = service.heatmap(_viewer(), program_key=key[:64] if key else None, wave_id=_id("wave"))
    return jsonify(
        wave=_wave_json(report.wave) if report.wave else None,
        measures=[d.id for d in report.measures],
        rows=[
            {
                "unit_id": row.unit.id,
                "unit_path": row.unit.path,
                "depth": row.depth,
                "cells": {m: cell_json(c) for m, c in row.cells.items()},
            }
            for row in report.rows
        ],
    )
