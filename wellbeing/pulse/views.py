"""Coordinator pages: pulse programs, opening a wave, and banded participation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from wellbeing.auth.access import requires
from wellbeing.auth.access_log import log_changes
from wellbeing.bank import current_bank
from wellbeing.org import service as org
from wellbeing.privacy import min_group_size
from wellbeing.pulse import service as pulse
from wellbeing.pulse.forms import LANGUAGE_NAMES, WEEKDAYS, ProgramForm
from wellbeing.pulse.models import PulseProgram

bp = Blueprint("pulse", __name__)
log_changes(bp)


@bp.get("/programs")
@requires("manage_programs")
def programs() -> ResponseReturnValue:
    return render_template(
        "pulse/programs.html", overview=pulse.program_overview(), weekdays=WEEKDAYS
    )


def _program_form(program_key: str | None) -> ProgramForm:
    form = ProgramForm()
    form.units.choices = [SelectChoice(u.path, u.path) for u in org.all_units()]
    return form


@bp.route("/programs/new", methods=["GET", "POST"])
@requires("manage_programs")
def new_program() -> ResponseReturnValue:
    form = _program_form(None)
    if request.method == "GET":
        plan = current_bank().program
        form.cadence_days.data = plan.cadence_days
        form.invite_weekday.data = plan.invite_weekday
        form.invite_hour.data = plan.invite_hour
        form.window_days.data = plan.window_days
        form.reminder_days.data = ", ".join(str(d) for d in plan.reminder_days)
        form.languages.data = list(plan.languages)
    elif form.validate_on_submit():
        try:
            program = pulse.create_program(form.key.data, _settings(form))
        except pulse.PulseError as exc:
            flash(f"The program was not saved: {exc}.", "error")
        else:
            flash(f"Program “{program.name}” created.", "info")
            return redirect(url_for("pulse.programs"))
    status = 422 if request.method == "POST" else 200
    return render_template("pulse/program_form.html", form=form, editing=None), status


@bp.route("/programs/<key>/edit", methods=["GET", "POST"])
@requires("manage_programs")
def edit_program(key: str) -> ResponseReturnValue:
    program = _program_or_404(key)
    form = _program_form(key)
    form.key.data = program.key
    if request.method == "GET":
        form.name.data = program.name
        form.units.data = [u.path for u in program.units]
        form.cadence_days.data = program.cadence_days
        form.invite_weekday.data = program.invite_weekday
        form.invite_hour.data = program.invite_hour
        form.window_days.data = program.window_days
        form.reminder_days.data = ", ".join(str(d) for d in program.reminder_days)
        form.languages.data = list(program.languages)
    elif form.validate_on_submit():
        try:
            pulse.apply_settings(program, _settings(form))
        except pulse.PulseError as exc:
            flash(f"The changes were not saved: {exc}.", "error")
        else:
            flash("Changes saved. They apply from the next wave.", "info")
            return redirect(url_for("pulse.programs"))
    status = 422 if request.method == "POST" else 200
    return render_template("pulse/program_form.html", form=form, editing=program), status


@bp.post("/programs/<key>/open")
@requires("manage_programs")
def open_wave(key: str) -> ResponseReturnValue:
    program = _program_or_404(key)
    try:
        wave = pulse.open_wave(program)
    except pulse.PulseError as exc:
        flash(f"No wave was opened: {exc}.", "error")
        return redirect(url_for("pulse.programs"))
    flash(f"Wave {wave.sequence} of “{program.name}” is open; invitations go out shortly.", "info")
    return redirect(url_for("pulse.wave", wave_id=wave.id))


@bp.get("/waves/<int:wave_id>")
@requires("manage_programs")
def wave(wave_id: int) -> ResponseReturnValue:
    try:
        found = pulse.get_wave(wave_id)
    except pulse.PulseError:
        abort(404)
    return render_template(
        "pulse/wave.html",
        wave=found,
        rows=pulse.participation_by_unit(found),
        delivery=pulse.delivery_summary(found),
        k=min_group_size(),
        bank=current_bank(),
    )


def _program_or_404(key: str) -> PulseProgram:
    try:
        return pulse.get_program(key)
    except pulse.PulseError:
        abort(404)


def _settings(form: ProgramForm) -> pulse.ProgramSettings:
    return pulse.ProgramSettings(
        name=form.name.data or "",
        unit_paths=list(form.units.data or []),
        cadence_days=form.cadence_days.data or 0,
        invite_weekday=form.invite_weekday.data or 0,
        invite_hour=form.invite_hour.data if form.invite_hour.data is not None else -1,
        window_days=form.window_days.data or 0,
        reminder_days=form.reminder_list(),
        languages=[lang for lang in LANGUAGE_NAMES if lang in (form.languages.data or [])],
    )
