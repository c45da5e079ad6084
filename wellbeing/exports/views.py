"""Download buttons: ``/results/export/<format>`` with the page's program, unit and waves.

Query parameters: ``program`` (key), ``unit`` (id: that unit and everything below it),
``wave`` (one wave) or ``from`` and ``to`` (ISO dates, a period). Outside one's scope is 404,
as on the pages; a request that cannot be met is 400 with what to change.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    send_file,
    stream_with_context,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from wellbeing.auth.access import AccessDenied, login_required
from wellbeing.auth.access_log import log_views
from wellbeing.auth.models import User
from wellbeing.exports import service
from wellbeing.exports.selection import FORMATS, ExportError, NotInScope, select
from wellbeing.exports.tidy import csv_chunks
from wellbeing.extensions import db

bp = Blueprint("exports", __name__, url_prefix="/results/export")
log_views(bp, "export")
SPOOL_BYTES = 8 * 1024 * 1024  # larger files go to a temporary file on disk


def _date(name: str) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        abort(400, description=f"“{name}” must be a date such as 2026-01-31.")


@bp.errorhandler(NotInScope)
@bp.errorhandler(AccessDenied)
def not_in_scope(exc: Exception) -> ResponseReturnValue:
    """Outside one's scope and non-existent look the same."""
    return render_template("errors/not_found.html"), 404


@bp.get("/<fmt>")
@login_required
def download(fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    wanted: dict[str, Any] = {
        "program_key": request.args.get("program") or None,
        "unit_id": request.args.get("unit", type=int),
        "wave_id": request.args.get("wave", type=int),
        "date_from": _date("from"),
        "date_to": _date("to"),
    }
    try:
        selection = select(current_user, **wanted)
    except ExportError as exc:
        abort(400, description=str(exc))
    name = service.filename(selection, fmt)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(
            stream_with_context(_csv_for(current_user.id, wanted)),
            mimetype=service.MEDIA_TYPES["csv"],
            headers=disposition,
        )
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (send_file closes it)
    service.write(selection, fmt, spool)
    spool.seek(0)
    return send_file(
        spool, mimetype=service.MEDIA_TYPES[fmt], as_attachment=True, download_name=name
    )


def _csv_for(user_id: int, wanted: dict[str, Any]) -> Iterator[bytes]:
    """The CSV, streamed once the request has ended: it reads in a session of its own.

    The request's session (and every object it loaded) is gone by the time the body is sent,
    so the viewer and the selection are read again here; the view already checked both.
    """
    viewer = db.session.get(User, user_id)
    if viewer is None:
        return
    yield from csv_chunks(select(viewer, **wanted))
