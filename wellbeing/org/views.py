"""Roster pages for coordinators: find a person and pause or resume their invitations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from wellbeing.auth.access import requires
from wellbeing.auth.access_log import log_changes
from wellbeing.org import service

bp = Blueprint("org", __name__)
log_changes(bp)


@bp.get("/staff")
@requires("manage_roster")
def staff() -> ResponseReturnValue:
    query = request.args.get("q", "")[:200]
    return render_template("org/staff.html", query=query, people=service.find_people(query))


@bp.post("/staff/<int:person_id>/<any(pause, resume):change>")
@requires("manage_roster")
def pause(person_id: int, change: str) -> ResponseReturnValue:
    try:
        person = service.set_paused(person_id, change == "pause")
    except service.PersonNotFound:
        abort(404)
    state = (
        "paused: they get no invitations until resumed"
        if person.paused
        else "receiving invitations again"
    )
    flash(f"{person.email} is {state}.", "info")
    return redirect(url_for("org.staff", q=request.form.get("q", person.email)))
